//! What an insider with the sqlite3 shell does to a ledger file, shared by the tests that
//! must catch it (cli.rs: `verify-log --anchor`; against_hq.rs: `--against-hq`).

use std::path::Path;

/// Cuts the ledger at `ledger` from the first event of `code` on, consistently: the append-
/// only triggers dropped, the events, seals, sealed settings and audit rows, and the attempt
/// rows left without events deleted, so nothing inside the file shows the cut. Returns the
/// id of the first event removed.
pub fn cut_from_code(ledger: &Path, code: &str) -> i64 {
    let db = rusqlite::Connection::open(ledger).unwrap();
    let cut_from: i64 = db
        .query_row(
            "SELECT e.id FROM events e JOIN attempts a ON a.id = e.attempt_id
             WHERE e.seq = 0 AND a.code = ?1",
            [code],
            |r| r.get(0),
        )
        .unwrap();
    db.execute_batch(&format!(
        "DROP TRIGGER events_no_delete; DROP TRIGGER seals_no_delete;
         DROP TRIGGER attempts_no_delete; DROP TRIGGER settings_no_delete;
         DROP TRIGGER audit_no_delete;
         DELETE FROM settings WHERE id IN
             (SELECT row_id FROM seals WHERE kind = 'setting' AND id >= {cut_from});
         DELETE FROM audit WHERE id IN
             (SELECT row_id FROM seals WHERE kind = 'audit' AND id >= {cut_from});
         DELETE FROM seals WHERE id >= {cut_from};
         DELETE FROM events WHERE id >= {cut_from};
         DELETE FROM resolver_schedule WHERE attempt_id NOT IN
             (SELECT attempt_id FROM events WHERE attempt_id IS NOT NULL);
         DELETE FROM attempts WHERE id NOT IN
             (SELECT attempt_id FROM events WHERE attempt_id IS NOT NULL);"
    ))
    .unwrap();
    cut_from
}
