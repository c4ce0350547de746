//! The `resolver_schedule` table: when each `unknown` attempt is next checked, so that a
//! restart continues the resolver's backoff instead of starting over or forgetting
//! (product.md "Resolving the unknown").
//!
//! This table is a work queue, not evidence: its rows are updated in place. What the
//! resolver learned is appended as events; an attempt's row here is created in the same
//! transaction as the event that made it `unknown`, and its `next_check_ms` is cleared in the
//! same transaction as the event that settles it.

use super::attempts::Attempt;
use super::error::Failure;
use crate::clock::UnixMs;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE resolver_schedule (
    attempt_id TEXT PRIMARY KEY NOT NULL REFERENCES attempts(id),
    tries INTEGER NOT NULL DEFAULT 0,
    next_check_ms INTEGER,
    last_check_ms INTEGER,
    handed_over_ms INTEGER,
    handed_over_reason TEXT
) WITHOUT ROWID;
CREATE INDEX resolver_due ON resolver_schedule(next_check_ms) WHERE next_check_ms IS NOT NULL;
";

/// Checks at 5 s intervals first (most unknowns are a dropped connection that the channel
/// has long since settled), then every 40 s, then hourly.
pub const RESOLVER_FAST_TRIES: u32 = 5;
pub const RESOLVER_MEDIUM_TRIES: u32 = 10;
/// After this many checks an unknown also appears in the manager's inbox (about 7.5
/// minutes of checking); the resolver keeps checking hourly.
pub const RESOLVER_INBOX_AFTER_TRIES: u32 = RESOLVER_FAST_TRIES + RESOLVER_MEDIUM_TRIES;

/// How long to wait before the next check of an unknown that has been checked `tries`
/// times: 5 s × 5, then 40 s × 10, then every hour.
pub fn resolver_backoff(tries: u32) -> i64 {
    if tries < RESOLVER_FAST_TRIES {
        5_000
    } else if tries < RESOLVER_INBOX_AFTER_TRIES {
        40_000
    } else {
        RESOLVER_MAX_BACKOFF_MS
    }
}

/// The longest wait between two checks. A next check further ahead than this was scheduled
/// by a clock that has since gone back (an RTC reset to 2000): it is due now, or every
/// unknown would sleep for the years the clock lost.
pub const RESOLVER_MAX_BACKOFF_MS: i64 = 3_600_000;

/// An unknown attempt whose next check is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueCheck {
    pub attempt: Attempt,
    /// Checks done so far.
    pub tries: u32,
    pub next_check_ms: UnixMs,
}

/// Where the resolver stands on one unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolverStatus {
    pub tries: u32,
    /// `None` once the resolver handed the attempt to a manager.
    pub next_check_ms: Option<UnixMs>,
    pub last_check_ms: Option<UnixMs>,
    /// When and why the resolver gave up (the channel cannot answer this one).
    pub handed_over_ms: Option<UnixMs>,
    pub handed_over_reason: Option<String>,
}

/// Starts the schedule of an attempt that just became unknown.
pub(crate) fn start(
    conn: &Connection,
    attempt_id: &str,
    next_check_ms: UnixMs,
) -> Result<(), Failure> {
    conn.prepare_cached(
        "INSERT INTO resolver_schedule (attempt_id, tries, next_check_ms) VALUES (?1, 0, ?2)",
    )?
    .execute(params![attempt_id, next_check_ms])?;
    Ok(())
}

/// Stops checking an attempt that has been settled.
pub(crate) fn stop(conn: &Connection, attempt_id: &str) -> Result<(), Failure> {
    conn.prepare_cached("UPDATE resolver_schedule SET next_check_ms = NULL WHERE attempt_id = ?1")?
        .execute([attempt_id])?;
    Ok(())
}

/// Sets the next check; returns false if there is no schedule (the attempt never was unknown).
pub(crate) fn reschedule(
    conn: &Connection,
    attempt_id: &str,
    next_check_ms: UnixMs,
    tries: u32,
    checked_ms: Option<UnixMs>,
) -> Result<bool, Failure> {
    let n = conn
        .prepare_cached(
            "UPDATE resolver_schedule
             SET next_check_ms = ?2, tries = ?3, last_check_ms = coalesce(?4, last_check_ms)
             WHERE attempt_id = ?1",
        )?
        .execute(params![attempt_id, next_check_ms, tries, checked_ms])?;
    Ok(n == 1)
}

pub(crate) fn hand_over(
    conn: &Connection,
    attempt_id: &str,
    at_ms: UnixMs,
    reason: &str,
) -> Result<bool, Failure> {
    let n = conn
        .prepare_cached(
            "UPDATE resolver_schedule
             SET next_check_ms = NULL, handed_over_ms = ?2, handed_over_reason = ?3
             WHERE attempt_id = ?1",
        )?
        .execute(params![attempt_id, at_ms, reason])?;
    Ok(n == 1)
}

pub(crate) fn status(
    conn: &Connection,
    attempt_id: &str,
) -> Result<Option<ResolverStatus>, Failure> {
    Ok(conn
        .prepare_cached(
            "SELECT tries, next_check_ms, last_check_ms, handed_over_ms, handed_over_reason
             FROM resolver_schedule WHERE attempt_id = ?1",
        )?
        .query_row([attempt_id], |r| {
            Ok(ResolverStatus {
                tries: r.get(0)?,
                next_check_ms: r.get(1)?,
                last_check_ms: r.get(2)?,
                handed_over_ms: r.get(3)?,
                handed_over_reason: r.get(4)?,
            })
        })
        .optional()?)
}

/// `(attempt id, tries, next_check_ms)` of every check due at `now_ms`, earliest first;
/// a check scheduled beyond the longest backoff from `now_ms` counts as due.
pub(crate) fn due(
    conn: &Connection,
    now_ms: UnixMs,
) -> Result<Vec<(String, u32, UnixMs)>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.attempt_id, s.tries, s.next_check_ms
         FROM resolver_schedule s JOIN attempts a ON a.id = s.attempt_id
         WHERE s.next_check_ms IS NOT NULL
           AND (s.next_check_ms <= ?1 OR s.next_check_ms > ?2)
         ORDER BY s.next_check_ms, a.seq",
    )?;
    let rows = stmt
        .query_map(
            params![now_ms, now_ms.saturating_add(RESOLVER_MAX_BACKOFF_MS)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_five_seconds_five_times_then_forty_seconds_then_hourly() {
        let delays: Vec<i64> = (0..17).map(resolver_backoff).collect();
        assert_eq!(&delays[..5], &[5_000; 5], "five quick checks");
        assert_eq!(&delays[5..15], &[40_000; 10], "then every 40 s");
        assert_eq!(&delays[15..], &[3_600_000; 2], "then hourly, forever");
        assert_eq!(
            resolver_backoff(u32::MAX),
            3_600_000,
            "no overflow at the end"
        );
    }
}
