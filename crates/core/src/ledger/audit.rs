//! The `audit` table: what managers did (decisions on unknowns, undos, sign-offs, exports,
//! settings), who, when, and the detail. Append-only: triggers abort UPDATE and DELETE;
//! each entry is sealed into the chain (`seals.rs`). An entry for something that printed
//! the chain head (an export, a shift end) keeps that head, which `verify_chain` compares
//! with the chain.

use super::canon::{Canon, Val};
use super::chain_report::ChainAnchor;
use super::error::Failure;
use super::seals::{self, SealKind};
use super::state::Actor;
use crate::clock::UnixMs;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (length(action) > 0),
    subject TEXT,
    detail TEXT
);
CREATE INDEX audit_by_time ON audit(time_ms);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// The head an export or a shift end printed, kept with its entry.
pub(crate) const MIGRATION_CHAIN_HEAD: &str = "
ALTER TABLE audit ADD COLUMN chain_head_id INTEGER;
ALTER TABLE audit ADD COLUMN chain_head_hash TEXT;
";

/// One manager action to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time_ms: UnixMs,
    pub actor: Actor,
    /// What was done, a stable snake_case word: `decide_unknown`, `undo`, `sign_off_day`,
    /// `export`, `change_setting`…
    pub action: String,
    /// What it was done to (an attempt id, a business day, a setting key).
    pub subject: Option<String>,
    /// Free text or JSON: the reason, the filter of an export…
    pub detail: Option<String>,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

pub(crate) fn append(conn: &Connection, e: &AuditEntry) -> Result<i64, Failure> {
    append_at_head(conn, e, None)
}

/// Appends an entry that keeps the chain head `head` printed (an export's, a shift end's).
pub(crate) fn append_at_head(
    conn: &Connection,
    e: &AuditEntry,
    head: Option<&ChainAnchor>,
) -> Result<i64, Failure> {
    if e.action.trim().is_empty() {
        return Err(Failure::Invalid(
            "an audit entry needs an action".to_owned(),
        ));
    }
    conn.prepare_cached(
        "INSERT INTO audit (time_ms, actor, action, subject, detail, chain_head_id, chain_head_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.time_ms,
        e.actor.encode(),
        e.action,
        e.subject,
        e.detail,
        head.map(|h| h.id),
        head.map(|h| h.hash.as_str()),
    ])?;
    let id = conn.last_insert_rowid();
    seals::seal(conn, SealKind::Audit, id, digest(conn, id)?)?;
    Ok(id)
}

/// The digest of one stored entry, every column included.
pub(crate) fn digest(conn: &Connection, id: i64) -> Result<Option<String>, Failure> {
    type Columns = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
    );
    let row: Option<Columns> = conn
        .prepare_cached(
            "SELECT time_ms, actor, action, subject, detail, chain_head_id, chain_head_hash
             FROM audit WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    Ok(row.map(
        |(time_ms, actor, action, subject, detail, head_id, head_hash)| {
            let mut c = Canon::new("redeemdesk.ledger.audit.v1");
            c.field("id", Val::Int(id));
            c.field("time_ms", Val::Int(time_ms));
            c.field("actor", Val::Text(&actor));
            c.field("action", Val::Text(&action));
            c.field("subject", Val::opt_text(subject.as_deref()));
            c.field("detail", Val::opt_text(detail.as_deref()));
            c.field("chain_head_id", Val::opt_int(head_id));
            c.field("chain_head_hash", Val::opt_text(head_hash.as_deref()));
            c.finish()
        },
    ))
}

/// Every head an entry kept: `(audit id, action, head id, head hash)`.
pub(crate) fn recorded_heads(
    conn: &Connection,
) -> Result<Vec<(i64, String, i64, String)>, Failure> {
    let mut stmt = conn.prepare(
        "SELECT id, action, chain_head_id, chain_head_hash FROM audit
         WHERE chain_head_id IS NOT NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Entries with `from_ms <= time_ms < to_ms`, oldest first.
pub(crate) fn between(
    conn: &Connection,
    from_ms: UnixMs,
    to_ms: UnixMs,
) -> Result<Vec<AuditRecord>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, time_ms, actor, action, subject, detail FROM audit
         WHERE time_ms >= ?1 AND time_ms < ?2 ORDER BY time_ms, id",
    )?;
    let mut rows = stmt.query(params![from_ms, to_ms])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let actor: String = r.get(2)?;
        out.push(AuditRecord {
            id: r.get(0)?,
            entry: AuditEntry {
                time_ms: r.get(1)?,
                actor: Actor::decode(&actor)?,
                action: r.get(3)?,
                subject: r.get(4)?,
                detail: r.get(5)?,
            },
        });
    }
    Ok(out)
}
