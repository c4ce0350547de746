//! The `seals` table: the chain's record of every row that is not an event — each settings
//! change (PIN hashes, lock-out counters, cut-off, scanner rules), audit entry,
//! reconciliation run and sign-off. A seal takes the next position in the ledger's one
//! chain (ids shared with `events`, enforced by triggers both ways) and carries a digest of
//! its row, so editing, deleting or slipping in such a row breaks verification like an
//! edited event does.
//!
//! Invariants: every row of those tables written by this program is sealed in the same
//! transaction that writes it (the table modules call [`seal`]); rows written before this
//! table existed are listed in `meta` as `sealed_after.<kind>` and are not sealed.

use super::canon::{Canon, Val};
use super::error::Failure;
use super::events;
use rusqlite::{params, Connection, OptionalExtension};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE seals (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('setting', 'audit', 'reconciliation', 'sign_off')),
    row_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (kind, row_id)
);
CREATE TRIGGER seals_no_update BEFORE UPDATE ON seals
BEGIN SELECT RAISE(ABORT, 'ledger seals are append-only'); END;
CREATE TRIGGER seals_no_delete BEFORE DELETE ON seals
BEGIN SELECT RAISE(ABORT, 'ledger seals are append-only'); END;
CREATE TRIGGER seals_take_the_next_position BEFORE INSERT ON seals
WHEN EXISTS (SELECT 1 FROM events WHERE id >= NEW.id)
BEGIN SELECT RAISE(ABORT, 'a seal only takes the next position in the chain'); END;
CREATE TRIGGER events_take_the_next_position BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM seals WHERE id >= NEW.id)
BEGIN SELECT RAISE(ABORT, 'an event only takes the next position in the chain'); END;
INSERT INTO meta (key, value)
    SELECT 'sealed_after.setting', coalesce(max(id), 0) FROM settings;
INSERT INTO meta (key, value)
    SELECT 'sealed_after.audit', coalesce(max(id), 0) FROM audit;
INSERT INTO meta (key, value)
    SELECT 'sealed_after.reconciliation', coalesce(max(id), 0) FROM reconciliations;
INSERT INTO meta (key, value)
    SELECT 'sealed_after.sign_off', coalesce(max(reconciliation_id), 0) FROM sign_offs;
";

/// Which table a seal's row is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SealKind {
    Setting,
    Audit,
    Reconciliation,
    SignOff,
}

impl SealKind {
    pub(crate) const ALL: [SealKind; 4] = [
        SealKind::Setting,
        SealKind::Audit,
        SealKind::Reconciliation,
        SealKind::SignOff,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SealKind::Setting => "setting",
            SealKind::Audit => "audit",
            SealKind::Reconciliation => "reconciliation",
            SealKind::SignOff => "sign_off",
        }
    }

    fn parse(s: &str) -> Result<SealKind, Failure> {
        SealKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Failure::Corrupt(format!("a seal of unknown kind {s:?}")))
    }

    /// The table and its row key: a sign-off's key is its reconciliation's id.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            SealKind::Setting => ("settings", "id"),
            SealKind::Audit => ("audit", "id"),
            SealKind::Reconciliation => ("reconciliations", "id"),
            SealKind::SignOff => ("sign_offs", "reconciliation_id"),
        }
    }

    /// How a report names the row: `setting 7 (manager.pin_hash)`, `audit 3 (export_day_log)`.
    pub(crate) fn describe(self, conn: &Connection, row_id: i64) -> Result<String, Failure> {
        let what: Option<String> = match self {
            SealKind::Setting => conn
                .query_row("SELECT key FROM settings WHERE id = ?1", [row_id], |r| {
                    r.get(0)
                })
                .optional()?,
            SealKind::Audit => conn
                .query_row("SELECT action FROM audit WHERE id = ?1", [row_id], |r| {
                    r.get(0)
                })
                .optional()?,
            SealKind::Reconciliation | SealKind::SignOff => None,
        };
        let noun = match self {
            SealKind::SignOff => "sign-off of reconciliation",
            other => other.as_str(),
        };
        Ok(match what {
            Some(w) => format!("{noun} {row_id} ({w})"),
            None => format!("{noun} {row_id}"),
        })
    }
}

/// Every stored column of a seal except `hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealRecord {
    pub id: i64,
    pub kind: SealKind,
    pub row_id: i64,
    pub digest: String,
    pub prev_hash: String,
}

impl SealRecord {
    pub(crate) fn hash(&self) -> String {
        let mut c = Canon::new("redeemdesk.ledger.seal.v1");
        c.field("id", Val::Int(self.id));
        c.field("kind", Val::Text(self.kind.as_str()));
        c.field("row_id", Val::Int(self.row_id));
        c.field("digest", Val::Text(&self.digest));
        c.field("prev_hash", Val::Text(&self.prev_hash));
        c.finish()
    }
}

/// Seals a row just written, at the end of the chain, with `digest`: the row's digest as its
/// table module reads it back (`None`: the row is not there). Must run in the row's
/// transaction.
pub(crate) fn seal(
    conn: &Connection,
    kind: SealKind,
    row_id: i64,
    digest: Option<String>,
) -> Result<(), Failure> {
    let digest = digest
        .ok_or_else(|| Failure::Invalid(format!("{} {row_id} was not written", kind.as_str())))?;
    let head = events::head(conn)?;
    let record = SealRecord {
        id: head.last_id + 1,
        kind,
        row_id,
        digest,
        prev_hash: head.last_hash,
    };
    let hash = record.hash();
    conn.prepare_cached(
        "INSERT INTO seals (id, kind, row_id, digest, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        record.id,
        kind.as_str(),
        row_id,
        record.digest,
        record.prev_hash,
        hash
    ])?;
    Ok(())
}

/// Every seal in chain order, each with its stored hash.
pub(crate) fn all(conn: &Connection) -> Result<Vec<(SealRecord, String)>, Failure> {
    let mut stmt =
        conn.prepare("SELECT id, kind, row_id, digest, prev_hash, hash FROM seals ORDER BY id")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(1)?;
        out.push((
            SealRecord {
                id: r.get(0)?,
                kind: SealKind::parse(&kind)?,
                row_id: r.get(2)?,
                digest: r.get(3)?,
                prev_hash: r.get(4)?,
            },
            r.get(5)?,
        ));
    }
    Ok(out)
}

/// The first row of `kind` written by this program that has no seal.
pub(crate) fn first_unsealed(conn: &Connection, kind: SealKind) -> Result<Option<i64>, Failure> {
    let watermark: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [format!("sealed_after.{}", kind.as_str())],
            |r| r.get(0),
        )
        .optional()?;
    let Some(watermark) = watermark else {
        return Err(Failure::Corrupt(format!(
            "the ledger does not say from where its {} rows are sealed",
            kind.as_str()
        )));
    };
    let after: i64 = watermark.parse().map_err(|_| {
        Failure::Corrupt(format!("sealed_after.{} is {watermark:?}", kind.as_str()))
    })?;
    let (table, key) = kind.table();
    let sql = format!(
        "SELECT {key} FROM {table} WHERE {key} > ?1
         AND {key} NOT IN (SELECT row_id FROM seals WHERE kind = ?2) ORDER BY {key} LIMIT 1"
    );
    Ok(conn
        .query_row(&sql, params![after, kind.as_str()], |r| r.get(0))
        .optional()?)
}

/// The hash at one position of the chain (an event or a seal), `None` past its end.
pub(crate) fn hash_at(conn: &Connection, id: i64) -> Result<Option<String>, Failure> {
    Ok(conn
        .query_row(
            "SELECT hash FROM events WHERE id = ?1
             UNION ALL SELECT hash FROM seals WHERE id = ?1 LIMIT 1",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}
