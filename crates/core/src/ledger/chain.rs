//! The ledger's hash chain: the canonical encoding that is hashed, and the verification that
//! walks the whole chain and names the first broken link.
//!
//! The encoding is length-prefixed and typed (a NULL, an integer and a text never encode
//! alike, and no choice of values can make two different rows encode the same), with a
//! domain string per kind of record so an event hash can never be mistaken for a subject
//! digest. Changing it would break every shipped chain: a new encoding gets a new domain
//! string (`…v2`) and verification keeps reading `v1`.

use super::error::Failure;
use super::events::{EventRecord, GENESIS_HASH, RECORD_COLUMNS};
use super::{attempts, notifications};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// One hashed value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

impl<'a> Val<'a> {
    pub(crate) fn opt_text(v: Option<&'a str>) -> Val<'a> {
        v.map_or(Val::Null, Val::Text)
    }
    pub(crate) fn opt_int(v: Option<i64>) -> Val<'a> {
        v.map_or(Val::Null, Val::Int)
    }
}

/// A SHA-256 over `domain` and named, typed fields in a fixed order.
pub(crate) struct Canon(Sha256);

impl Canon {
    pub(crate) fn new(domain: &str) -> Canon {
        let mut c = Canon(Sha256::new());
        c.bytes(domain.as_bytes());
        c
    }

    fn bytes(&mut self, b: &[u8]) {
        self.0.update((b.len() as u64).to_be_bytes());
        self.0.update(b);
    }

    pub(crate) fn field(&mut self, name: &str, value: Val<'_>) {
        self.bytes(name.as_bytes());
        match value {
            Val::Null => self.0.update([0u8]),
            Val::Int(i) => {
                self.0.update([1u8]);
                self.0.update(i.to_be_bytes());
            }
            Val::Text(t) => {
                self.0.update([2u8]);
                self.bytes(t.as_bytes());
            }
        }
    }

    /// Lowercase hex, as stored.
    pub(crate) fn finish(self) -> String {
        let digest = self.0.finalize();
        let mut out = String::with_capacity(64);
        for b in digest {
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        out
    }
}

/// The outcome of [`super::Ledger::verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    pub events_checked: u64,
    /// The last event's id and hash: written down elsewhere (an export, a sign-off), it
    /// also proves that no events were cut off the end.
    pub head_id: i64,
    pub head_hash: String,
    /// `None` when every link holds and every cached state matches its events.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// The first place where the ledger's history does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The event where the chain breaks (`None` for a problem found on a row with no event).
    pub event_id: Option<i64>,
    /// `attempt <id>` or `notification <id>`.
    pub subject: String,
    pub seq: Option<u32>,
    pub problem: BreakProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreakProblem {
    /// The link to the previous event does not hold: an event before this one was removed,
    /// inserted or reordered.
    PrevHashMismatch { expected: String, found: String },
    /// This event's own columns were changed after it was written.
    EventAltered {
        stored_hash: String,
        recomputed_hash: String,
    },
    /// The immutable columns of the attempt or notification this creating event describes
    /// were changed after it was written.
    SubjectAltered {
        stored_digest: String,
        recomputed_digest: String,
    },
    /// The creating event's attempt or notification row is gone (deleted or its id changed).
    SubjectMissing,
    /// An attempt or notification has no creating event.
    CreatingEventMissing,
    /// A cached column of the attempt or notification row disagrees with its events.
    CacheMismatch {
        column: String,
        cached: String,
        from_events: String,
    },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.event_id, self.seq) {
            (Some(id), Some(seq)) => write!(f, "event {id} ({} seq {seq}): ", self.subject)?,
            _ => write!(f, "{}: ", self.subject)?,
        }
        match &self.problem {
            BreakProblem::PrevHashMismatch { expected, found } => write!(
                f,
                "links to {found} but the previous event's hash is {expected} (an event was removed, inserted or reordered)"
            ),
            BreakProblem::EventAltered {
                stored_hash,
                recomputed_hash,
            } => write!(
                f,
                "the event's columns were changed (stored hash {stored_hash}, recomputed {recomputed_hash})"
            ),
            BreakProblem::SubjectAltered {
                stored_digest,
                recomputed_digest,
            } => write!(
                f,
                "the immutable columns of the {} were changed (digest at creation {stored_digest}, now {recomputed_digest})",
                self.subject
            ),
            BreakProblem::SubjectMissing => write!(f, "the row this event created is missing"),
            BreakProblem::CreatingEventMissing => write!(f, "has no creating event"),
            BreakProblem::CacheMismatch {
                column,
                cached,
                from_events,
            } => write!(
                f,
                "cached {column} is {cached} but its events say {from_events}"
            ),
        }
    }
}

fn subject_of(rec: &EventRecord) -> String {
    match (&rec.attempt_id, &rec.notification_id) {
        (Some(a), _) => format!("attempt {a}"),
        (None, Some(n)) => format!("notification {n}"),
        (None, None) => "event without subject".to_owned(),
    }
}

/// Walks every event in chain order, then checks every attempt's and notification's cached
/// columns against its events. Runs inside one read transaction on `conn`, so it sees one
/// consistent snapshot while the app keeps writing on its own connection.
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
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut head_id = 0;
    let mut checked = 0u64;
    let mut first_break = None;
    while let Some(row) = rows.next()? {
        let rec = EventRecord::from_row(row, 0)?;
        let stored_hash: String = row.get(16)?;
        checked += 1;
        let brk = |problem| ChainBreak {
            event_id: Some(rec.id),
            subject: subject_of(&rec),
            seq: Some(rec.seq as u32),
            problem,
        };
        if rec.prev_hash != expected_prev {
            first_break = Some(brk(BreakProblem::PrevHashMismatch {
                expected: expected_prev.clone(),
                found: rec.prev_hash.clone(),
            }));
            break;
        }
        let recomputed = rec.hash();
        if recomputed != stored_hash {
            first_break = Some(brk(BreakProblem::EventAltered {
                stored_hash,
                recomputed_hash: recomputed,
            }));
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
                    first_break = Some(brk(BreakProblem::SubjectMissing));
                    break;
                }
                (Some(now), Some(then)) if &now != then => {
                    first_break = Some(brk(BreakProblem::SubjectAltered {
                        stored_digest: then.clone(),
                        recomputed_digest: now,
                    }));
                    break;
                }
                (Some(now), None) => {
                    first_break = Some(brk(BreakProblem::SubjectAltered {
                        stored_digest: "(none)".to_owned(),
                        recomputed_digest: now,
                    }));
                    break;
                }
                _ => {}
            }
        }
        expected_prev = stored_hash;
        head_id = rec.id;
    }
    drop(rows);
    if first_break.is_none() {
        first_break = attempts::first_cache_mismatch(conn)?;
    }
    if first_break.is_none() {
        first_break = notifications::first_cache_mismatch(conn)?;
    }
    Ok(ChainReport {
        events_checked: checked,
        head_id,
        head_hash: expected_prev,
        first_break,
    })
}

/// The chain's last event, for showing or exporting as an anchor.
pub(crate) fn head_of(conn: &Connection) -> Result<Option<(i64, String)>, Failure> {
    Ok(conn
        .query_row(
            "SELECT id, hash FROM events ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(fields: &[(&str, Val<'_>)]) -> String {
        let mut c = Canon::new("test");
        for (n, v) in fields {
            c.field(n, *v);
        }
        c.finish()
    }

    #[test]
    fn null_empty_text_and_zero_encode_differently() {
        let a = digest(&[("x", Val::Null)]);
        let b = digest(&[("x", Val::Text(""))]);
        let c = digest(&[("x", Val::Int(0))]);
        assert!(
            a != b && b != c && a != c,
            "a NULL reason must not hash like an empty one"
        );
    }

    #[test]
    fn moving_bytes_between_adjacent_fields_changes_the_hash() {
        let a = digest(&[("a", Val::Text("ab")), ("b", Val::Text("c"))]);
        let b = digest(&[("a", Val::Text("a")), ("b", Val::Text("bc"))]);
        assert_ne!(a, b, "length prefixes keep field boundaries");
    }

    #[test]
    fn the_encoding_is_stable_across_releases() {
        // A golden value: if this changes, every shipped chain stops verifying.
        let d = digest(&[
            ("id", Val::Int(1)),
            ("code", Val::Text("券码")),
            ("r", Val::Null),
        ]);
        assert_eq!(d.len(), 64);
        assert_eq!(
            d, "700f846ba686cb26ac99d017da2bf87c3cf5d7df6a20d673b6728401493d60a4",
            "the canonical encoding changed"
        );
    }
}
