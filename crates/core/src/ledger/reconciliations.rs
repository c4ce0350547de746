//! The `reconciliations` and `sign_offs` tables: every reconciliation a manager ran (the
//! report kept whole, as JSON) and the manager's sign-off of one, with the ledger's chain
//! head at that moment (a later cut-off of the chain is then visible). Both append-only,
//! and each row is sealed into the chain (`seals.rs`).
//! A run with mismatches and no sign-off waits in the inbox.

use super::canon::{Canon, Val};
use super::error::Failure;
use super::seals::{self, SealKind};
use crate::business_day::BusinessDay;
use crate::channel::ChannelKind;
use crate::clock::UnixMs;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE reconciliations (
    id INTEGER PRIMARY KEY,
    business_day TEXT NOT NULL CHECK (length(business_day) = 10),
    channel TEXT NOT NULL,
    run_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    lines INTEGER NOT NULL,
    mismatches INTEGER NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX reconciliations_by_day ON reconciliations(business_day, channel, id);
CREATE TABLE sign_offs (
    reconciliation_id INTEGER PRIMARY KEY REFERENCES reconciliations(id),
    signed_ms INTEGER NOT NULL,
    manager TEXT NOT NULL CHECK (length(manager) > 0),
    note TEXT,
    chain_head_id INTEGER,
    chain_head_hash TEXT
);
CREATE TRIGGER reconciliations_no_update BEFORE UPDATE ON reconciliations
BEGIN SELECT RAISE(ABORT, 'reconciliations are append-only'); END;
CREATE TRIGGER reconciliations_no_delete BEFORE DELETE ON reconciliations
BEGIN SELECT RAISE(ABORT, 'reconciliations are append-only'); END;
CREATE TRIGGER sign_offs_no_update BEFORE UPDATE ON sign_offs
BEGIN SELECT RAISE(ABORT, 'sign-offs are append-only'); END;
CREATE TRIGGER sign_offs_no_delete BEFORE DELETE ON sign_offs
BEGIN SELECT RAISE(ABORT, 'sign-offs are append-only'); END;
";

/// A reconciliation run to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReconciliation {
    pub business_day: BusinessDay,
    pub channel: ChannelKind,
    pub run_ms: UnixMs,
    /// Who ran it (`manager:<name>` style, see `Actor`).
    pub actor: String,
    /// `history` or the statement's file name.
    pub source: String,
    pub lines: u32,
    pub mismatches: u32,
    /// The whole report, as JSON.
    pub report: String,
}

/// A kept run and its sign-off, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReconciliation {
    pub id: i64,
    #[serde(flatten)]
    pub run: NewReconciliation,
    pub sign_off: Option<SignOff>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOff {
    pub signed_ms: UnixMs,
    pub manager: String,
    pub note: Option<String>,
    pub chain_head_id: Option<i64>,
    pub chain_head_hash: Option<String>,
}

pub(crate) fn insert(conn: &Connection, r: &NewReconciliation) -> Result<i64, Failure> {
    conn.prepare_cached(
        "INSERT INTO reconciliations (business_day, channel, run_ms, actor, source, lines, mismatches, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        r.business_day.to_string(),
        r.channel.as_str(),
        r.run_ms,
        r.actor,
        r.source,
        r.lines,
        r.mismatches,
        r.report
    ])?;
    let id = conn.last_insert_rowid();
    seals::seal(conn, SealKind::Reconciliation, id, digest(conn, id)?)?;
    Ok(id)
}

pub(crate) fn sign(conn: &Connection, id: i64, s: &SignOff) -> Result<(), Failure> {
    let exists: Option<i64> = conn
        .query_row("SELECT id FROM reconciliations WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    if exists.is_none() {
        return Err(Failure::NotFound {
            what: "reconciliation",
            id: id.to_string(),
        });
    }
    let signed: Option<i64> = conn
        .query_row(
            "SELECT reconciliation_id FROM sign_offs WHERE reconciliation_id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if signed.is_some() {
        return Err(Failure::Invalid(format!(
            "reconciliation {id} is already signed off"
        )));
    }
    conn.prepare_cached(
        "INSERT INTO sign_offs (reconciliation_id, signed_ms, manager, note, chain_head_id, chain_head_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, s.signed_ms, s.manager, s.note, s.chain_head_id, s.chain_head_hash])?;
    seals::seal(conn, SealKind::SignOff, id, sign_off_digest(conn, id)?)
}

/// The digest of one stored run, every column included as stored.
pub(crate) fn digest(conn: &Connection, id: i64) -> Result<Option<String>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT business_day, channel, run_ms, actor, source, lines, mismatches, report
         FROM reconciliations WHERE id = ?1",
    )?;
    let mut rows = stmt.query([id])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let mut c = Canon::new("redeemdesk.ledger.reconciliation.v1");
    c.field("id", Val::Int(id));
    for (i, name) in ["business_day", "channel"].into_iter().enumerate() {
        c.field(name, Val::Text(&r.get::<_, String>(i)?));
    }
    c.field("run_ms", Val::Int(r.get(2)?));
    c.field("actor", Val::Text(&r.get::<_, String>(3)?));
    c.field("source", Val::Text(&r.get::<_, String>(4)?));
    c.field("lines", Val::Int(r.get(5)?));
    c.field("mismatches", Val::Int(r.get(6)?));
    c.field("report", Val::Text(&r.get::<_, String>(7)?));
    Ok(Some(c.finish()))
}

/// The digest of one stored sign-off (keyed by its reconciliation), every column included.
pub(crate) fn sign_off_digest(conn: &Connection, id: i64) -> Result<Option<String>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT signed_ms, manager, note, chain_head_id, chain_head_hash
         FROM sign_offs WHERE reconciliation_id = ?1",
    )?;
    let mut rows = stmt.query([id])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let mut c = Canon::new("redeemdesk.ledger.sign_off.v1");
    c.field("reconciliation_id", Val::Int(id));
    c.field("signed_ms", Val::Int(r.get(0)?));
    c.field("manager", Val::Text(&r.get::<_, String>(1)?));
    c.field(
        "note",
        Val::opt_text(r.get::<_, Option<String>>(2)?.as_deref()),
    );
    c.field("chain_head_id", Val::opt_int(r.get(3)?));
    c.field(
        "chain_head_hash",
        Val::opt_text(r.get::<_, Option<String>>(4)?.as_deref()),
    );
    Ok(Some(c.finish()))
}

/// Every head a sign-off kept: `(reconciliation id, head id, head hash)`.
pub(crate) fn recorded_heads(conn: &Connection) -> Result<Vec<(i64, i64, String)>, Failure> {
    let mut stmt = conn.prepare(
        "SELECT reconciliation_id, chain_head_id, chain_head_hash FROM sign_offs
         WHERE chain_head_id IS NOT NULL AND chain_head_hash IS NOT NULL ORDER BY reconciliation_id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const SELECT: &str = "SELECT r.id, r.business_day, r.channel, r.run_ms, r.actor, r.source, r.lines,
    r.mismatches, r.report, s.signed_ms, s.manager, s.note, s.chain_head_id, s.chain_head_hash
    FROM reconciliations r LEFT JOIN sign_offs s ON s.reconciliation_id = r.id";

fn row(r: &Row<'_>) -> Result<StoredReconciliation, Failure> {
    let corrupt =
        |what: &str| Failure::Corrupt(format!("a reconciliation's {what} cannot be read"));
    let day: String = r.get(1)?;
    let channel: String = r.get(2)?;
    let signed_ms: Option<i64> = r.get(9)?;
    Ok(StoredReconciliation {
        id: r.get(0)?,
        run: NewReconciliation {
            business_day: day.parse().map_err(|_| corrupt("day"))?,
            channel: channel.parse().map_err(|_| corrupt("channel"))?,
            run_ms: r.get(3)?,
            actor: r.get(4)?,
            source: r.get(5)?,
            lines: r.get(6)?,
            mismatches: r.get(7)?,
            report: r.get(8)?,
        },
        sign_off: match signed_ms {
            None => None,
            Some(signed_ms) => Some(SignOff {
                signed_ms,
                manager: r.get(10)?,
                note: r.get(11)?,
                chain_head_id: r.get(12)?,
                chain_head_hash: r.get(13)?,
            }),
        },
    })
}

fn collect(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<StoredReconciliation>, Failure> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(p)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(out)
}

/// One run by its id.
pub(crate) fn by_id(conn: &Connection, id: i64) -> Result<StoredReconciliation, Failure> {
    collect(conn, &format!("{SELECT} WHERE r.id = ?1"), [id])?
        .pop()
        .ok_or_else(|| Failure::NotFound {
            what: "reconciliation",
            id: id.to_string(),
        })
}

/// Every run of one day and channel, oldest first.
pub(crate) fn of_day(
    conn: &Connection,
    day: BusinessDay,
    channel: ChannelKind,
) -> Result<Vec<StoredReconciliation>, Failure> {
    collect(
        conn,
        &format!("{SELECT} WHERE r.business_day = ?1 AND r.channel = ?2 ORDER BY r.id"),
        params![day.to_string(), channel.as_str()],
    )
}

/// The latest run of each day and channel, where it has mismatches and no sign-off.
pub(crate) fn to_review(conn: &Connection) -> Result<Vec<StoredReconciliation>, Failure> {
    collect(
        conn,
        &format!(
            "{SELECT} WHERE r.id IN (SELECT max(id) FROM reconciliations GROUP BY business_day, channel)
             AND s.reconciliation_id IS NULL AND r.mismatches > 0 ORDER BY r.id"
        ),
        [],
    )
}
