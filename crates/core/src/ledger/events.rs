//! The `events` table: the append-only history of every attempt and every notification, one
//! row per step, in one hash chain for the whole ledger (shared with `seals.rs`, which
//! chains the settings, audit, reconciliation and sign-off rows).
//!
//! Invariants: rows are only ever inserted (triggers abort UPDATE and DELETE); `id` is the
//! chain order; each row's `prev_hash` is the previous row's `hash`; `hash` is SHA-256 over
//! a canonical encoding of every other column, and the creating event (`seq` 0) also
//! carries `subject_digest`, a SHA-256 of its attempt's or notification's immutable
//! columns, so editing those is as visible as editing an event (`chain.rs` verifies).

use super::canon::{Canon, Val};
use super::error::Failure;
use super::state::{decode_state, Actor};
use crate::clock::UnixMs;
use crate::money::Fen;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    attempt_id TEXT REFERENCES attempts(id),
    notification_id TEXT REFERENCES notifications(id),
    seq INTEGER NOT NULL CHECK (seq >= 0),
    state TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    channel_ids TEXT,
    face_value_fen INTEGER,
    settled_fen INTEGER,
    raw_request TEXT,
    raw_response TEXT,
    http_status INTEGER,
    subject_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    CHECK ((attempt_id IS NULL) <> (notification_id IS NULL))
);
CREATE UNIQUE INDEX events_by_attempt ON events(attempt_id, seq) WHERE attempt_id IS NOT NULL;
CREATE UNIQUE INDEX events_by_notification ON events(notification_id, seq)
    WHERE notification_id IS NOT NULL;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
";

/// The `prev_hash` of the very first event.
pub(crate) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// One request and its response as sent and received, with secrets already removed by the
/// channel module (channels.md §0 "Secrets": keys never reach the ledger).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    pub request: Option<String>,
    pub response: Option<String>,
    pub http_status: Option<u16>,
}

/// The ledger keeps one request/response pair per event: several exchanges (a paged call)
/// are kept one after the other, each headed by its method and URL.
impl From<&[crate::channel::Exchange]> for Exchange {
    fn from(exchanges: &[crate::channel::Exchange]) -> Exchange {
        match exchanges {
            [] => Exchange::default(),
            [one] => Exchange {
                request: Some(format!("{} {}\n{}", one.method, one.url, one.request)),
                response: one.response.clone(),
                http_status: one.http_status,
            },
            many => Exchange {
                request: Some(
                    many.iter()
                        .map(|e| format!("{} {}\n{}", e.method, e.url, e.request))
                        .collect::<Vec<_>>()
                        .join("\n\n"),
                ),
                response: Some(
                    many.iter()
                        .map(|e| e.response.clone().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("\n\n"),
                ),
                http_status: many.last().and_then(|e| e.http_status),
            },
        }
    }
}

/// One step in the history of an attempt (`S` = `AttemptState`) or a notification
/// (`S` = `NotificationState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event<S> {
    /// Position in the ledger's one chain.
    pub id: i64,
    /// Position in this attempt's (or notification's) own history, from 0.
    pub seq: u32,
    /// The state after this event.
    pub state: S,
    pub time_ms: UnixMs,
    pub actor: Actor,
    pub reason: Option<String>,
    /// The kind of a reason the desk wrote itself (reason_text.rs), for a front end to say
    /// in its own language, and the part of it that is data; `None` for another's text.
    #[serde(default, skip_deserializing)]
    pub reason_kind: Option<&'static str>,
    #[serde(default, skip_deserializing)]
    pub reason_detail: Option<String>,
    /// Ids the channel returned (`order_no`, `tranNo`, `bizId`…), keyed by their wire name.
    pub channel_ids: BTreeMap<String, String>,
    pub face_value: Option<Fen>,
    pub settled: Option<Fen>,
    pub exchange: Exchange,
    pub prev_hash: String,
    pub hash: String,
}

/// What an event is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    Attempt(&'a str),
    Notification(&'a str),
}

/// Every stored column of an event except `hash`, which is computed from these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventRecord {
    pub id: i64,
    pub attempt_id: Option<String>,
    pub notification_id: Option<String>,
    pub seq: i64,
    pub state: String,
    pub time_ms: i64,
    pub actor: String,
    pub reason: Option<String>,
    pub channel_ids: Option<String>,
    pub face_value_fen: Option<i64>,
    pub settled_fen: Option<i64>,
    pub raw_request: Option<String>,
    pub raw_response: Option<String>,
    pub http_status: Option<i64>,
    pub subject_digest: Option<String>,
    pub prev_hash: String,
}

impl EventRecord {
    /// SHA-256 over the canonical encoding of every column, `prev_hash` included, so the
    /// chain breaks at the first event that was edited, inserted, removed or reordered.
    pub(crate) fn hash(&self) -> String {
        let mut c = Canon::new("redeemdesk.ledger.event.v1");
        c.field("id", Val::Int(self.id));
        c.field("attempt_id", Val::opt_text(self.attempt_id.as_deref()));
        c.field(
            "notification_id",
            Val::opt_text(self.notification_id.as_deref()),
        );
        c.field("seq", Val::Int(self.seq));
        c.field("state", Val::Text(&self.state));
        c.field("time_ms", Val::Int(self.time_ms));
        c.field("actor", Val::Text(&self.actor));
        c.field("reason", Val::opt_text(self.reason.as_deref()));
        c.field("channel_ids", Val::opt_text(self.channel_ids.as_deref()));
        c.field("face_value_fen", Val::opt_int(self.face_value_fen));
        c.field("settled_fen", Val::opt_int(self.settled_fen));
        c.field("raw_request", Val::opt_text(self.raw_request.as_deref()));
        c.field("raw_response", Val::opt_text(self.raw_response.as_deref()));
        c.field("http_status", Val::opt_int(self.http_status));
        c.field(
            "subject_digest",
            Val::opt_text(self.subject_digest.as_deref()),
        );
        c.field("prev_hash", Val::Text(&self.prev_hash));
        c.finish()
    }

    /// The columns in `SELECT` order of [`RECORD_COLUMNS`], starting at `at`.
    pub(crate) fn from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<EventRecord> {
        Ok(EventRecord {
            id: row.get(at)?,
            attempt_id: row.get(at + 1)?,
            notification_id: row.get(at + 2)?,
            seq: row.get(at + 3)?,
            state: row.get(at + 4)?,
            time_ms: row.get(at + 5)?,
            actor: row.get(at + 6)?,
            reason: row.get(at + 7)?,
            channel_ids: row.get(at + 8)?,
            face_value_fen: row.get(at + 9)?,
            settled_fen: row.get(at + 10)?,
            raw_request: row.get(at + 11)?,
            raw_response: row.get(at + 12)?,
            http_status: row.get(at + 13)?,
            subject_digest: row.get(at + 14)?,
            prev_hash: row.get(at + 15)?,
        })
    }
}

/// The columns `EventRecord::from_row` reads, then `hash`.
pub(crate) const RECORD_COLUMNS: &str = "e.id, e.attempt_id, e.notification_id, e.seq, e.state, \
    e.time_ms, e.actor, e.reason, e.channel_ids, e.face_value_fen, e.settled_fen, e.raw_request, \
    e.raw_response, e.http_status, e.subject_digest, e.prev_hash, e.hash";

/// The end of the chain: the next event links to `last_hash` and takes id `last_id + 1`.
/// Read once per write transaction (an index lookup, not a scan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainHead {
    pub last_id: i64,
    pub last_hash: String,
}

pub(crate) fn head(conn: &Connection) -> Result<ChainHead, Failure> {
    // Events and seals share the one chain; its end is the later of their two ends.
    let found = conn
        .prepare_cached(
            "SELECT id, hash FROM (SELECT id, hash FROM events ORDER BY id DESC LIMIT 1)
             UNION ALL SELECT id, hash FROM (SELECT id, hash FROM seals ORDER BY id DESC LIMIT 1)
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row([], |r| {
            Ok(ChainHead {
                last_id: r.get(0)?,
                last_hash: r.get(1)?,
            })
        })
        .optional()?;
    Ok(found.unwrap_or(ChainHead {
        last_id: 0,
        last_hash: GENESIS_HASH.to_owned(),
    }))
}

/// What a caller wants to append; `append` fills in the chain position and the hashes.
pub(crate) struct NewEvent<'a> {
    pub subject: Subject<'a>,
    pub seq: u32,
    pub state: &'static str,
    pub time_ms: UnixMs,
    pub actor: &'a Actor,
    pub reason: Option<&'a str>,
    pub channel_ids: &'a BTreeMap<String, String>,
    pub face_value: Option<Fen>,
    pub settled: Option<Fen>,
    pub exchange: &'a Exchange,
    pub subject_digest: Option<String>,
}

/// No channel ids, no exchange: what most events carry.
static NO_IDS: BTreeMap<String, String> = BTreeMap::new();
static NO_EXCHANGE: Exchange = Exchange {
    request: None,
    response: None,
    http_status: None,
};

impl<'a> NewEvent<'a> {
    /// An event that only moves its subject to `state`: no reason, ids, amounts, exchange
    /// or digest. The others start from it and set what they carry.
    pub(crate) fn step(
        subject: Subject<'a>,
        seq: u32,
        state: &'static str,
        time_ms: UnixMs,
        actor: &'a Actor,
    ) -> NewEvent<'a> {
        NewEvent {
            subject,
            seq,
            state,
            time_ms,
            actor,
            reason: None,
            channel_ids: &NO_IDS,
            face_value: None,
            settled: None,
            exchange: &NO_EXCHANGE,
            subject_digest: None,
        }
    }
}

/// Appends one event at the end of the chain and advances `head`. Must run inside the
/// write transaction that also writes the subject's cached state.
pub(crate) fn append(
    conn: &Connection,
    head: &mut ChainHead,
    ev: NewEvent<'_>,
) -> Result<i64, Failure> {
    let (attempt_id, notification_id) = match ev.subject {
        Subject::Attempt(id) => (Some(id.to_owned()), None),
        Subject::Notification(id) => (None, Some(id.to_owned())),
    };
    let channel_ids = if ev.channel_ids.is_empty() {
        None
    } else {
        // A BTreeMap serialises with sorted keys, so the stored text is canonical.
        Some(serde_json::to_string(ev.channel_ids).map_err(|e| Failure::Invalid(e.to_string()))?)
    };
    let record = EventRecord {
        id: head.last_id + 1,
        attempt_id,
        notification_id,
        seq: i64::from(ev.seq),
        state: ev.state.to_owned(),
        time_ms: ev.time_ms,
        actor: ev.actor.encode(),
        reason: ev.reason.map(str::to_owned),
        channel_ids,
        face_value_fen: ev.face_value.map(|f| f.0),
        settled_fen: ev.settled.map(|f| f.0),
        raw_request: ev.exchange.request.clone(),
        raw_response: ev.exchange.response.clone(),
        http_status: ev.exchange.http_status.map(i64::from),
        subject_digest: ev.subject_digest,
        prev_hash: head.last_hash.clone(),
    };
    let hash = record.hash();
    conn.prepare_cached(
        "INSERT INTO events (id, attempt_id, notification_id, seq, state, time_ms, actor, reason,
             channel_ids, face_value_fen, settled_fen, raw_request, raw_response, http_status,
             subject_digest, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        record.id,
        record.attempt_id,
        record.notification_id,
        record.seq,
        record.state,
        record.time_ms,
        record.actor,
        record.reason,
        record.channel_ids,
        record.face_value_fen,
        record.settled_fen,
        record.raw_request,
        record.raw_response,
        record.http_status,
        record.subject_digest,
        record.prev_hash,
        hash,
    ])?;
    head.last_id = record.id;
    head.last_hash = hash;
    Ok(record.id)
}

/// The next `seq` for a subject (its number of events so far).
pub(crate) fn next_seq(conn: &Connection, subject: Subject<'_>) -> Result<u32, Failure> {
    let (sql, id) = match subject {
        Subject::Attempt(id) => ("SELECT max(seq) FROM events WHERE attempt_id = ?1", id),
        Subject::Notification(id) => ("SELECT max(seq) FROM events WHERE notification_id = ?1", id),
    };
    let max: Option<i64> = conn.prepare_cached(sql)?.query_row([id], |r| r.get(0))?;
    Ok(max.map_or(0, |m| m as u32 + 1))
}

fn decode<S: FromStr<Err = String>>(row: &Row<'_>) -> Result<Event<S>, Failure> {
    let rec = EventRecord::from_row(row, 0)?;
    let hash: String = row.get(16)?;
    let channel_ids = match &rec.channel_ids {
        None => BTreeMap::new(),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            Failure::Corrupt(format!("event {} has unreadable channel ids: {e}", rec.id))
        })?,
    };
    let read = rec.reason.as_deref().and_then(super::reason_text::read);
    let (reason_kind, reason_detail) = match read {
        Some((kind, detail)) => (Some(kind), Some(detail.to_owned())),
        None => (None, None),
    };
    Ok(Event {
        reason_kind,
        reason_detail,
        id: rec.id,
        seq: rec.seq as u32,
        state: decode_state(&rec.state)?,
        time_ms: rec.time_ms,
        actor: Actor::decode(&rec.actor)?,
        reason: rec.reason,
        channel_ids,
        face_value: rec.face_value_fen.map(Fen),
        settled: rec.settled_fen.map(Fen),
        exchange: Exchange {
            request: rec.raw_request,
            response: rec.raw_response,
            http_status: rec.http_status.and_then(|s| u16::try_from(s).ok()),
        },
        prev_hash: rec.prev_hash,
        hash,
    })
}

/// Every event of one subject, oldest first.
pub(crate) fn of_subject<S: FromStr<Err = String>>(
    conn: &Connection,
    subject: Subject<'_>,
) -> Result<Vec<Event<S>>, Failure> {
    let (filter, id) = match subject {
        Subject::Attempt(id) => ("e.attempt_id = ?1", id),
        Subject::Notification(id) => ("e.notification_id = ?1", id),
    };
    let sql = format!("SELECT {RECORD_COLUMNS} FROM events e WHERE {filter} ORDER BY e.seq");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}
