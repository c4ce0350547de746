//! The `audit` table: what managers did (decisions on unknowns, undos, sign-offs, exports,
//! settings), who, when, and the detail. Append-only: triggers abort UPDATE and DELETE.

use super::error::Failure;
use super::state::Actor;
use crate::clock::UnixMs;
use rusqlite::{params, Connection};
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
    if e.action.trim().is_empty() {
        return Err(Failure::Invalid(
            "an audit entry needs an action".to_owned(),
        ));
    }
    conn.prepare_cached(
        "INSERT INTO audit (time_ms, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        e.time_ms,
        e.actor.encode(),
        e.action,
        e.subject,
        e.detail
    ])?;
    Ok(conn.last_insert_rowid())
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
