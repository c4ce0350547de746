//! The ledger's hash chain verified: the walk over the whole chain (events and seals, in one
//! order) that names the first broken link, the head, and the check of a head written down
//! earlier. The encoding it recomputes is `canon`; what it answers is `chain_report`.
//!
//! A chain kept in the same file as the data proves nothing against someone who can
//! rewrite the file: they can recompute every hash. What does hold is a head written down
//! outside the file earlier ([`ChainAnchor`], printed on exports, sign-offs and shift ends):
//! a rewrite or cut before it no longer reproduces it. The heads the ledger recorded itself
//! are compared too, which catches a rewrite that did not also fix every one of them.

use super::chain_report::{AnchorCheck, BreakProblem, ChainAnchor, ChainBreak, ChainReport};
use super::error::Failure;
use super::events::{self, EventRecord, GENESIS_HASH, RECORD_COLUMNS};
use super::seals::{self, SealKind, SealRecord};
use super::{attempts, audit, notifications, reconciliations, settings};
use rusqlite::Connection;
use std::collections::BTreeMap;

/// The digest of a sealed row as it is stored now, `None` when it is gone.
fn digest_of(kind: SealKind, conn: &Connection, row_id: i64) -> Result<Option<String>, Failure> {
    match kind {
        SealKind::Setting => settings::digest(conn, row_id),
        SealKind::Audit => audit::digest(conn, row_id),
        SealKind::Reconciliation => reconciliations::digest(conn, row_id),
        SealKind::SignOff => reconciliations::sign_off_digest(conn, row_id),
    }
}

fn subject_of(rec: &EventRecord) -> String {
    match (&rec.attempt_id, &rec.notification_id) {
        (Some(a), _) => format!("attempt {a}"),
        (None, Some(n)) => format!("notification {n}"),
        (None, None) => "event without subject".to_owned(),
    }
}

/// A head the ledger recorded, and which row recorded it.
struct Recorded {
    by: String,
    hash: String,
}

fn recorded_heads(conn: &Connection) -> Result<BTreeMap<i64, Vec<Recorded>>, Failure> {
    let mut out: BTreeMap<i64, Vec<Recorded>> = BTreeMap::new();
    for (reconciliation, id, hash) in reconciliations::recorded_heads(conn)? {
        let by = SealKind::SignOff.describe(conn, reconciliation)?;
        out.entry(id).or_default().push(Recorded { by, hash });
    }
    for (entry, action, id, hash) in audit::recorded_heads(conn)? {
        let by = format!("audit {entry} ({action})");
        out.entry(id).or_default().push(Recorded { by, hash });
    }
    Ok(out)
}

/// Where the walk along the chain stands.
struct Walk {
    expected_prev: String,
    head_id: i64,
    recorded: BTreeMap<i64, Vec<Recorded>>,
    recorded_checked: u64,
    seals_checked: u64,
}

impl Walk {
    /// The link at `id` holds: it becomes the head, and every head recorded at `id` must
    /// be its hash.
    fn passed(&mut self, id: i64, hash: &str) -> Option<ChainBreak> {
        self.expected_prev = hash.to_owned();
        self.head_id = id;
        for r in self.recorded.remove(&id).unwrap_or_default() {
            self.recorded_checked += 1;
            if r.hash != hash {
                return Some(ChainBreak {
                    event_id: Some(id),
                    subject: r.by,
                    seq: None,
                    problem: BreakProblem::RecordedHeadMismatch {
                        recorded: ChainAnchor { id, hash: r.hash }.to_string(),
                        found: Some(hash.to_owned()),
                    },
                });
            }
        }
        None
    }

    fn seal(
        &mut self,
        conn: &Connection,
        rec: &SealRecord,
        stored_hash: &str,
    ) -> Result<Option<ChainBreak>, Failure> {
        self.seals_checked += 1;
        let subject = rec.kind.describe(conn, rec.row_id)?;
        let brk = |problem| {
            Some(ChainBreak {
                event_id: Some(rec.id),
                subject: subject.clone(),
                seq: None,
                problem,
            })
        };
        if rec.prev_hash != self.expected_prev {
            return Ok(brk(BreakProblem::PrevHashMismatch {
                expected: self.expected_prev.clone(),
                found: rec.prev_hash.clone(),
            }));
        }
        let recomputed = rec.hash();
        if recomputed != stored_hash {
            return Ok(brk(BreakProblem::EventAltered {
                stored_hash: stored_hash.to_owned(),
                recomputed_hash: recomputed,
            }));
        }
        match digest_of(rec.kind, conn, rec.row_id)? {
            None => return Ok(brk(BreakProblem::SubjectMissing)),
            Some(now) if now != rec.digest => {
                return Ok(brk(BreakProblem::SubjectAltered {
                    stored_digest: rec.digest.clone(),
                    recomputed_digest: now,
                }))
            }
            Some(_) => {}
        }
        Ok(self.passed(rec.id, stored_hash))
    }
}

/// Walks the whole chain in order — every event and every seal — then checks that every
/// settings, audit, reconciliation and sign-off row is sealed, and every attempt's and
/// notification's cached columns against its events. Runs inside one read transaction on
/// `conn`, so it sees one consistent snapshot while the app keeps writing on its own
/// connection.
pub(crate) fn verify(conn: &Connection) -> Result<ChainReport, Failure> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS}, {a}, {n}
         FROM events e
         LEFT JOIN attempts a ON e.seq = 0 AND a.id = e.attempt_id
         LEFT JOIN notifications n ON e.seq = 0 AND n.id = e.notification_id
         ORDER BY e.id",
        a = attempts::IMMUTABLE_COLUMNS,
        n = notifications::IMMUTABLE_COLUMNS,
    );
    let attempt_at = 17;
    let notification_at = attempt_at + attempts::IMMUTABLE_COLUMN_COUNT;
    let all_seals = seals::all(conn)?;
    let mut seals = all_seals.iter().peekable();
    let mut walk = Walk {
        expected_prev: GENESIS_HASH.to_owned(),
        head_id: 0,
        recorded: recorded_heads(conn)?,
        recorded_checked: 0,
        seals_checked: 0,
    };
    let mut first_break = walk.passed(0, GENESIS_HASH);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut checked = 0u64;
    'chain: while first_break.is_none() {
        let Some(row) = rows.next()? else { break };
        let rec = EventRecord::from_row(row, 0)?;
        while let Some((seal, hash)) = seals.next_if(|(s, _)| s.id < rec.id) {
            first_break = walk.seal(conn, seal, hash)?;
            if first_break.is_some() {
                break 'chain;
            }
        }
        let stored_hash: String = row.get(16)?;
        checked += 1;
        let brk = |problem| {
            Some(ChainBreak {
                event_id: Some(rec.id),
                subject: subject_of(&rec),
                seq: Some(rec.seq as u32),
                problem,
            })
        };
        if rec.prev_hash != walk.expected_prev {
            first_break = brk(BreakProblem::PrevHashMismatch {
                expected: walk.expected_prev.clone(),
                found: rec.prev_hash.clone(),
            });
            break;
        }
        let recomputed = rec.hash();
        if recomputed != stored_hash {
            first_break = brk(BreakProblem::EventAltered {
                stored_hash,
                recomputed_hash: recomputed,
            });
            break;
        }
        if rec.seq == 0 {
            let digest = if rec.attempt_id.is_some() {
                attempts::digest_of_row(row, attempt_at)?
            } else {
                notifications::digest_of_row(row, notification_at)?
            };
            match (digest, &rec.subject_digest) {
                (None, _) => {
                    first_break = brk(BreakProblem::SubjectMissing);
                    break;
                }
                (Some(now), Some(then)) if &now != then => {
                    first_break = brk(BreakProblem::SubjectAltered {
                        stored_digest: then.clone(),
                        recomputed_digest: now,
                    });
                    break;
                }
                (Some(now), None) => {
                    first_break = brk(BreakProblem::SubjectAltered {
                        stored_digest: "(none)".to_owned(),
                        recomputed_digest: now,
                    });
                    break;
                }
                _ => {}
            }
        }
        first_break = walk.passed(rec.id, &stored_hash);
    }
    drop(rows);
    if first_break.is_none() {
        for (seal, hash) in seals {
            first_break = walk.seal(conn, seal, hash)?;
            if first_break.is_some() {
                break;
            }
        }
    }
    if first_break.is_none() {
        // A head recorded at a position the chain no longer has.
        if let Some((&id, list)) = walk.recorded.iter().next() {
            walk.recorded_checked += 1;
            first_break = Some(ChainBreak {
                event_id: Some(id),
                subject: list[0].by.clone(),
                seq: None,
                problem: BreakProblem::RecordedHeadMismatch {
                    recorded: ChainAnchor {
                        id,
                        hash: list[0].hash.clone(),
                    }
                    .to_string(),
                    found: None,
                },
            });
        }
    }
    for kind in SealKind::ALL {
        if first_break.is_some() {
            break;
        }
        if let Some(row_id) = seals::first_unsealed(conn, kind)? {
            first_break = Some(ChainBreak {
                event_id: None,
                subject: kind.describe(conn, row_id)?,
                seq: None,
                problem: BreakProblem::NotInChain,
            });
        }
    }
    if first_break.is_none() {
        first_break = attempts::first_cache_mismatch(conn)?;
    }
    if first_break.is_none() {
        first_break = notifications::first_cache_mismatch(conn)?;
    }
    Ok(ChainReport {
        events_checked: checked,
        seals_checked: walk.seals_checked,
        recorded_heads_checked: walk.recorded_checked,
        head_id: walk.head_id,
        head_hash: walk.expected_prev,
        first_break,
    })
}

/// The chain's last link (an event or a seal), for showing or exporting as an anchor.
pub(crate) fn head_of(conn: &Connection) -> Result<Option<ChainAnchor>, Failure> {
    let head = events::head(conn)?;
    Ok((head.last_id > 0).then_some(ChainAnchor {
        id: head.last_id,
        hash: head.last_hash,
    }))
}

/// Whether a head written down earlier is still in the chain.
pub(crate) fn check_anchor(
    conn: &Connection,
    anchor: &ChainAnchor,
) -> Result<AnchorCheck, Failure> {
    let found = if anchor.id == 0 {
        Some(GENESIS_HASH.to_owned())
    } else {
        seals::hash_at(conn, anchor.id)?
    };
    Ok(match found {
        Some(hash) if hash.starts_with(&anchor.hash) => AnchorCheck::Holds,
        Some(found) => AnchorCheck::Differs { found },
        None => {
            let chain_ends_at = events::head(conn)?.last_id;
            if chain_ends_at > anchor.id {
                AnchorCheck::Missing
            } else {
                AnchorCheck::Cut { chain_ends_at }
            }
        }
    })
}
