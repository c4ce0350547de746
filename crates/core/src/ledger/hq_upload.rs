//! Chain mode's part of the ledger: the desk id, made once per ledger and kept in
//! `meta`, and the `hq_upload` row, the uploader's acknowledged cursor. Operational state
//! like the resolver's schedule, so not sealed into the chain; a trigger keeps the cursor
//! from moving back.

use super::error::Failure;
use crate::clock::UnixMs;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// One position of the ledger's chain as HQ receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainRow {
    /// The chain position (the ledger's event or seal id), from 1.
    pub seq: i64,
    /// `event` or `seal`.
    pub kind: String,
    pub prev_hash: String,
    pub hash: String,
    /// The till's clock at the event; seals carry none.
    pub time_ms: Option<UnixMs>,
    /// The row's other columns (raw channel exchanges left out: they stay on the till), as
    /// the ledger wrote the JSON: the uploader sends it on without parsing it into a tree.
    pub body: Box<serde_json::value::RawValue>,
    /// On an attempt's creating event: the attempt's identity, for HQ's reports.
    pub attempt: Option<serde_json::Value>,
}

impl ChainRow {
    /// The body as a JSON tree.
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_str(self.body.get()).expect("a raw value is valid JSON")
    }

    /// Replaces the body (a test's rewritten ledger).
    pub fn set_body(&mut self, body: &serde_json::Value) {
        self.body = serde_json::value::to_raw_value(body).expect("a JSON tree serialises");
    }
}

impl PartialEq for ChainRow {
    fn eq(&self, other: &ChainRow) -> bool {
        (
            self.seq,
            &self.kind,
            &self.prev_hash,
            &self.hash,
            self.time_ms,
            self.body.get(),
            &self.attempt,
        ) == (
            other.seq,
            &other.kind,
            &other.prev_hash,
            &other.hash,
            other.time_ms,
            other.body.get(),
            &other.attempt,
        )
    }
}

/// A random UUID v4 per ledger, made by SQLite's CSPRNG when the migration runs (on a new
/// ledger and on every older one at its next open), then write-once like all of `meta`.
pub(crate) const MIGRATION_CREATE: &str = "
INSERT INTO meta (key, value)
    SELECT 'desk_id', substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3)
        || '-' || substr('89ab', 1 + abs(random() % 4), 1) || substr(h, 18, 3) || '-'
        || substr(h, 21, 12)
    FROM (SELECT lower(hex(randomblob(16))) AS h);
CREATE TABLE hq_upload (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    acked_seq INTEGER NOT NULL CHECK (acked_seq >= 0),
    acked_hash TEXT NOT NULL,
    acked_ms INTEGER NOT NULL,
    fork TEXT,
    fork_ms INTEGER
);
INSERT INTO hq_upload (id, acked_seq, acked_hash, acked_ms)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0);
CREATE TRIGGER hq_upload_only_forward BEFORE UPDATE OF acked_seq ON hq_upload
WHEN NEW.acked_seq < OLD.acked_seq
BEGIN SELECT RAISE(ABORT, 'the HQ cursor only moves forward'); END;
CREATE TRIGGER hq_upload_no_delete BEFORE DELETE ON hq_upload
BEGIN SELECT RAISE(ABORT, 'the HQ cursor is never deleted'); END;
";

/// How far HQ has acknowledged this ledger's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HqCursor {
    /// Every position 1..=acked_seq is committed at HQ.
    pub acked_seq: i64,
    pub acked_hash: String,
    pub acked_ms: i64,
    /// Set when HQ reported a fork: what it said.
    pub fork: Option<String>,
}

pub(crate) fn desk_id(conn: &Connection) -> Result<String, Failure> {
    conn.query_row("SELECT value FROM meta WHERE key = 'desk_id'", [], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| Failure::Corrupt("the ledger has no desk id".to_owned()))
}

pub(crate) fn cursor(conn: &Connection) -> Result<HqCursor, Failure> {
    Ok(conn
        .prepare_cached("SELECT acked_seq, acked_hash, acked_ms, fork FROM hq_upload WHERE id = 1")?
        .query_row([], |r| {
            Ok(HqCursor {
                acked_seq: r.get(0)?,
                acked_hash: r.get(1)?,
                acked_ms: r.get(2)?,
                fork: r.get(3)?,
            })
        })?)
}

pub(crate) fn advance(conn: &Connection, seq: i64, hash: &str, at_ms: i64) -> Result<(), Failure> {
    conn.prepare_cached(
        "UPDATE hq_upload SET acked_seq = ?1, acked_hash = ?2, acked_ms = ?3
         WHERE id = 1 AND acked_seq < ?1",
    )?
    .execute(params![seq, hash, at_ms])?;
    Ok(())
}

pub(crate) fn mark_fork(conn: &Connection, detail: &str, at_ms: i64) -> Result<(), Failure> {
    conn.prepare_cached("UPDATE hq_upload SET fork = ?1, fork_ms = ?2 WHERE id = 1")?
        .execute(params![detail, at_ms])?;
    Ok(())
}

/// Up to `limit` chain positions after `after`, in chain order: events with their columns
/// (less the raw channel exchanges) and, on an attempt's creating event, the attempt's
/// identity; seals with their kind, row and digest.
pub(crate) fn rows_after(
    conn: &Connection,
    after: i64,
    limit: usize,
) -> Result<Vec<ChainRow>, Failure> {
    // Each side takes its own first `limit` positions by its primary key and the merge
    // keeps the first `limit` of both: the rows read and turned into JSON stay within twice
    // the batch, however long the backlog behind it (one ORDER BY over the union sorted
    // the whole backlog at every batch).
    let mut stmt = conn.prepare_cached(
        "SELECT * FROM (
            SELECT e.id AS id, 'event' AS kind, e.prev_hash, e.hash, e.time_ms,
                json_object('attempt_id', e.attempt_id, 'notification_id', e.notification_id,
                    'seq', e.seq, 'state', e.state, 'actor', e.actor, 'reason', e.reason,
                    'channel_ids', e.channel_ids, 'face_value_fen', e.face_value_fen,
                    'settled_fen', e.settled_fen, 'http_status', e.http_status,
                    'subject_digest', e.subject_digest) AS body,
                CASE WHEN e.seq = 0 AND a.id IS NOT NULL THEN
                    json_object('id', a.id, 'business_day', a.business_day,
                        'created_ms', a.created_ms, 'channel', a.channel, 'code', a.code,
                        'count', a.count, 'cashier', a.cashier,
                        'face_value_fen', a.face_value_fen, 'price_fen', a.price_fen)
                END AS attempt
            FROM events e LEFT JOIN attempts a ON a.id = e.attempt_id
            WHERE e.id > ?1 ORDER BY e.id LIMIT ?2)
         UNION ALL
         SELECT * FROM (
            SELECT s.id, 'seal', s.prev_hash, s.hash, NULL,
                json_object('kind', s.kind, 'row_id', s.row_id, 'digest', s.digest), NULL
            FROM seals s WHERE s.id > ?1 ORDER BY s.id LIMIT ?2)
         ORDER BY 1 LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![after, limit as i64])?;
    let mut out = Vec::new();
    let json = |text: String| {
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| Failure::Corrupt(format!("chain row as JSON: {e}")))
    };
    while let Some(r) = rows.next()? {
        let body: String = r.get(5)?;
        let attempt: Option<String> = r.get(6)?;
        out.push(ChainRow {
            seq: r.get(0)?,
            kind: r.get(1)?,
            prev_hash: r.get(2)?,
            hash: r.get(3)?,
            time_ms: r.get(4)?,
            body: serde_json::value::RawValue::from_string(body)
                .map_err(|e| Failure::Corrupt(format!("chain row as JSON: {e}")))?,
            attempt: attempt.map(json).transpose()?,
        });
    }
    Ok(out)
}

/// The hash at one chain position, `None` when the ledger no longer has it.
pub(crate) fn hash_at(conn: &Connection, seq: i64) -> Result<Option<String>, Failure> {
    Ok(conn
        .prepare_cached(
            "SELECT hash FROM events WHERE id = ?1 UNION ALL SELECT hash FROM seals WHERE id = ?1",
        )?
        .query_row([seq], |r| r.get(0))
        .optional()?)
}
