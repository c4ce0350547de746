//! The `meta` table: facts about the ledger file itself, written once at creation. Today
//! only its mode: sandbox and live records never mix (product.md "Sandbox mode"), so a
//! file created for one mode refuses to open as the other.

use super::error::Failure;
use crate::app_info::Mode;
use rusqlite::{Connection, OptionalExtension};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta
BEGIN SELECT RAISE(ABORT, 'ledger meta is write-once'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta
BEGIN SELECT RAISE(ABORT, 'ledger meta is write-once'); END;
";

pub(crate) fn mode_text(mode: Mode) -> &'static str {
    match mode {
        Mode::Sandbox => "sandbox",
        Mode::Live => "live",
    }
}

pub(crate) fn write_mode(conn: &Connection, mode: Mode) -> Result<(), Failure> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('mode', ?1)",
        [mode_text(mode)],
    )?;
    Ok(())
}

pub(crate) fn read_mode(conn: &Connection) -> Result<Mode, Failure> {
    let text: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'mode'", [], |r| {
            r.get(0)
        })
        .optional()?;
    match text.as_deref() {
        Some("sandbox") => Ok(Mode::Sandbox),
        Some("live") => Ok(Mode::Live),
        Some(other) => Err(Failure::Corrupt(format!("the ledger's mode is {other:?}"))),
        None => Err(Failure::Corrupt(
            "the ledger does not say its mode".to_owned(),
        )),
    }
}
