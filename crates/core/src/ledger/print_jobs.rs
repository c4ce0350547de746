//! The `print_jobs` and `print_job_steps` tables: the slip queue, in the
//! outbox's style. A job is the slip to print (its model as JSON: a slip has no secret
//! field) written before any byte goes to the printer; each step of sending it is a row
//! appended after it.
//!
//! Invariants: both tables are insert-only (triggers abort UPDATE and DELETE); a job's
//! state is its latest step (`queued` with none). A job is sent at most once: the worker
//! takes only `queued` jobs and commits `sending` before the first byte leaves, so a crash
//! or a dropped connection leaves `sending` or `failed`, never a job sent again by itself;
//! printing again is a reprint, a new job marked 重打.

use super::error::Failure;
use crate::clock::UnixMs;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE print_jobs (
    id INTEGER PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    attempt_id TEXT,
    slip TEXT NOT NULL,
    actor TEXT NOT NULL,
    reprint_of INTEGER REFERENCES print_jobs(id),
    reprint_ms INTEGER
);
CREATE INDEX print_jobs_by_attempt ON print_jobs(attempt_id) WHERE attempt_id IS NOT NULL;
CREATE TABLE print_job_steps (
    seq INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES print_jobs(id),
    time_ms INTEGER NOT NULL,
    step TEXT NOT NULL CHECK (step IN ('sending', 'printed', 'failed')),
    detail TEXT
);
CREATE INDEX print_job_steps_by_job ON print_job_steps(job_id, seq);
CREATE TRIGGER print_jobs_are_immutable BEFORE UPDATE ON print_jobs
BEGIN SELECT RAISE(ABORT, 'print jobs never change'); END;
CREATE TRIGGER print_jobs_no_delete BEFORE DELETE ON print_jobs
BEGIN SELECT RAISE(ABORT, 'print jobs are never deleted'); END;
CREATE TRIGGER print_job_steps_are_immutable BEFORE UPDATE ON print_job_steps
BEGIN SELECT RAISE(ABORT, 'print job steps never change'); END;
CREATE TRIGGER print_job_steps_no_delete BEFORE DELETE ON print_job_steps
BEGIN SELECT RAISE(ABORT, 'print job steps are never deleted'); END;
";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintState {
    Queued,
    /// Bytes may have reached the printer; the worker never sends it again.
    Sending,
    Printed,
    Failed,
}

impl PrintState {
    fn parse(s: Option<&str>) -> PrintState {
        match s {
            Some("sending") => PrintState::Sending,
            Some("printed") => PrintState::Printed,
            Some("failed") => PrintState::Failed,
            _ => PrintState::Queued,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PrintState::Queued => "queued",
            PrintState::Sending => "sending",
            PrintState::Printed => "printed",
            PrintState::Failed => "failed",
        }
    }
}

/// A slip to print, as queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPrintJob {
    pub created_ms: UnixMs,
    pub kind: String,
    pub attempt_id: Option<String>,
    /// The slip model as JSON.
    pub slip: String,
    pub actor: String,
    pub reprint_of: Option<i64>,
    pub reprint_ms: Option<UnixMs>,
}

/// A queued slip and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrintJob {
    pub id: i64,
    pub created_ms: UnixMs,
    pub kind: String,
    pub attempt_id: Option<String>,
    #[serde(skip)]
    pub slip: String,
    pub actor: String,
    pub reprint_of: Option<i64>,
    pub reprint_ms: Option<UnixMs>,
    pub state: PrintState,
    pub state_ms: UnixMs,
    /// Why it failed, in words for the till.
    pub detail: Option<String>,
}

const SELECT: &str =
    "SELECT j.id, j.created_ms, j.kind, j.attempt_id, j.slip, j.actor, j.reprint_of,
    j.reprint_ms, s.step, s.time_ms, s.detail
    FROM print_jobs j LEFT JOIN print_job_steps s ON s.seq =
        (SELECT max(seq) FROM print_job_steps WHERE job_id = j.id)";

fn from_row(r: &Row<'_>) -> rusqlite::Result<PrintJob> {
    let created_ms: i64 = r.get(1)?;
    let step: Option<String> = r.get(8)?;
    Ok(PrintJob {
        id: r.get(0)?,
        created_ms,
        kind: r.get(2)?,
        attempt_id: r.get(3)?,
        slip: r.get(4)?,
        actor: r.get(5)?,
        reprint_of: r.get(6)?,
        reprint_ms: r.get(7)?,
        state: PrintState::parse(step.as_deref()),
        state_ms: r.get::<_, Option<i64>>(9)?.unwrap_or(created_ms),
        detail: r.get(10)?,
    })
}

pub(crate) fn insert(conn: &Connection, j: &NewPrintJob) -> Result<i64, Failure> {
    conn.prepare_cached(
        "INSERT INTO print_jobs (created_ms, kind, attempt_id, slip, actor, reprint_of, reprint_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        j.created_ms,
        j.kind,
        j.attempt_id,
        j.slip,
        j.actor,
        j.reprint_of,
        j.reprint_ms
    ])?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn get(conn: &Connection, id: i64) -> Result<Option<PrintJob>, Failure> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE j.id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

pub(crate) fn state_of(conn: &Connection, id: i64) -> Result<Option<PrintState>, Failure> {
    Ok(get(conn, id)?.map(|j| j.state))
}

pub(crate) fn append_step(
    conn: &Connection,
    id: i64,
    step: PrintState,
    time_ms: UnixMs,
    detail: Option<&str>,
) -> Result<(), Failure> {
    conn.prepare_cached(
        "INSERT INTO print_job_steps (job_id, time_ms, step, detail) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![id, time_ms, step.as_str(), detail])?;
    Ok(())
}

fn collect(
    stmt: &mut rusqlite::CachedStatement<'_>,
    p: impl rusqlite::Params,
) -> Result<Vec<PrintJob>, Failure> {
    Ok(stmt
        .query_map(p, from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(crate) fn queued(conn: &Connection) -> Result<Vec<PrintJob>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE NOT EXISTS (SELECT 1 FROM print_job_steps WHERE job_id = j.id)
         ORDER BY j.id"
    ))?;
    collect(&mut stmt, [])
}

pub(crate) fn sending(conn: &Connection) -> Result<Vec<PrintJob>, Failure> {
    let mut stmt =
        conn.prepare_cached(&format!("{SELECT} WHERE s.step = 'sending' ORDER BY j.id"))?;
    collect(&mut stmt, [])
}

pub(crate) fn for_attempt(conn: &Connection, attempt_id: &str) -> Result<Vec<PrintJob>, Failure> {
    let mut stmt =
        conn.prepare_cached(&format!("{SELECT} WHERE j.attempt_id = ?1 ORDER BY j.id"))?;
    collect(&mut stmt, [attempt_id])
}

pub(crate) fn recent(conn: &Connection, limit: usize) -> Result<Vec<PrintJob>, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY j.id DESC LIMIT ?1"))?;
    collect(&mut stmt, [limit])
}
