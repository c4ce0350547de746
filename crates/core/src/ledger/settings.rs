//! The `settings` table: key/value settings with their full history. Every change is a new
//! row (who, when, the new value; `NULL` removes the key); the current value is the latest
//! row. Rows are never updated or deleted (triggers abort it), and each is sealed into the
//! chain (`seals.rs`): a PIN hash or a lock-out counter changed behind the ledger's back is
//! found by `verify_chain`.
//!
//! Secrets (channel keys, private keys) never go here (channels.md §0 "Secrets"); the
//! manager PIN only as a hash.

use super::canon::{Canon, Val};
use super::error::Failure;
use super::seals::{self, SealKind};
use super::state::Actor;
use crate::business_day::BusinessDayRule;
use crate::clock::UnixMs;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE settings (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL CHECK (length(key) > 0),
    value TEXT,
    time_ms INTEGER NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX settings_by_key ON settings(key, id);
CREATE TRIGGER settings_no_update BEFORE UPDATE ON settings
BEGIN SELECT RAISE(ABORT, 'settings history is append-only'); END;
CREATE TRIGGER settings_no_delete BEFORE DELETE ON settings
BEGIN SELECT RAISE(ABORT, 'settings history is append-only'); END;
";

/// Where the business-day rule is stored (minutes, as decimal text).
pub const BUSINESS_DAY_CUTOFF_KEY: &str = "business_day.cutoff_minutes";
pub const BUSINESS_DAY_OFFSET_KEY: &str = "business_day.utc_offset_minutes";

/// One change of one setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingChange {
    pub key: String,
    /// `None`: the setting was removed.
    pub value: Option<String>,
    pub time_ms: UnixMs,
    pub actor: Actor,
}

pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<String>, Failure> {
    let v: Option<Option<String>> = conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1 ORDER BY id DESC LIMIT 1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(v.flatten())
}

pub(crate) fn set(
    conn: &Connection,
    key: &str,
    value: Option<&str>,
    actor: &Actor,
    at_ms: UnixMs,
) -> Result<(), Failure> {
    if key.trim().is_empty() {
        return Err(Failure::Invalid("a setting needs a key".to_owned()));
    }
    conn.prepare_cached(
        "INSERT INTO settings (key, value, time_ms, actor) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![key, value, at_ms, actor.encode()])?;
    let id = conn.last_insert_rowid();
    seals::seal(conn, SealKind::Setting, id, digest(conn, id)?)
}

/// The digest of one stored change, every column included.
pub(crate) fn digest(conn: &Connection, id: i64) -> Result<Option<String>, Failure> {
    let row: Option<(String, Option<String>, i64, String)> = conn
        .prepare_cached("SELECT key, value, time_ms, actor FROM settings WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    Ok(row.map(|(key, value, time_ms, actor)| {
        let mut c = Canon::new("redeemdesk.ledger.setting.v1");
        c.field("id", Val::Int(id));
        c.field("key", Val::Text(&key));
        c.field("value", Val::opt_text(value.as_deref()));
        c.field("time_ms", Val::Int(time_ms));
        c.field("actor", Val::Text(&actor));
        c.finish()
    }))
}

pub(crate) fn history(conn: &Connection, key: &str) -> Result<Vec<SettingChange>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, value, time_ms, actor FROM settings WHERE key = ?1 ORDER BY id",
    )?;
    let mut rows = stmt.query([key])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let actor: String = r.get(3)?;
        out.push(SettingChange {
            key: r.get(0)?,
            value: r.get(1)?,
            time_ms: r.get(2)?,
            actor: Actor::decode(&actor)?,
        });
    }
    Ok(out)
}

/// The stored business-day rule, or the default (04:00 at +08:00) when none is stored.
/// A stored value that does not parse is refused rather than silently replaced: days
/// would shift without anyone noticing.
pub(crate) fn business_day_rule(conn: &Connection) -> Result<BusinessDayRule, Failure> {
    let read = |key: &str, default: i32| -> Result<i32, Failure> {
        match get(conn, key)? {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| Failure::Corrupt(format!("setting {key} is not a number: {text:?}"))),
        }
    };
    let d = BusinessDayRule::default();
    let cutoff = read(BUSINESS_DAY_CUTOFF_KEY, d.cutoff_minutes)?;
    let offset = read(BUSINESS_DAY_OFFSET_KEY, d.offset_minutes)?;
    BusinessDayRule::new(cutoff, offset)
        .map_err(|e| Failure::Corrupt(format!("stored business-day rule: {e}")))
}
