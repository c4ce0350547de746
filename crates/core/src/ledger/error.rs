//! Why the ledger refused or failed. Each variant has a stable `code()` the UI maps to a
//! message in its language; the English `Display` names the file so a support call can
//! start from the log line alone.

use crate::app_info::Mode;
use rusqlite::ErrorCode;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Not a SQLite database, or SQLite found damage. The file is left exactly as it was:
    /// it may be the only record of a day's redemptions.
    #[error("the ledger {path} is damaged and was not changed: {detail}")]
    Corrupt { path: PathBuf, detail: String },

    /// A SQLite database that is not a RedeemDesk ledger (tables but no ledger schema).
    #[error("{path} is a database but not a RedeemDesk ledger; it was not changed")]
    NotALedger { path: PathBuf },

    /// Written by a newer RedeemDesk (more migrations than this build knows).
    #[error("the ledger {path} has schema version {found}, newer than this program's {supported}; update RedeemDesk")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// The file, its directory or the disk does not allow writing.
    #[error("the ledger {path} cannot be written (read-only file, directory or disk)")]
    ReadOnly {
        path: PathBuf,
        #[source]
        source: Option<rusqlite::Error>,
    },

    /// Another process (or connection) holds the write lock past the busy timeout.
    #[error("the ledger {path} is locked by another program")]
    Locked {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// The file cannot be opened or created (missing directory, no permission, a directory
    /// where the file should be).
    #[error("the ledger {path} cannot be opened or created")]
    CannotOpen {
        path: PathBuf,
        #[source]
        source: Option<rusqlite::Error>,
    },

    #[error("the disk holding the ledger {path} is full")]
    DiskFull {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// Sandbox and live records never mix: each mode has its own file.
    #[error("the ledger {path} belongs to {found:?} mode, not {expected:?}")]
    ModeMismatch {
        path: PathBuf,
        expected: Mode,
        found: Mode,
    },

    /// The state machine of `product.md` "States of one attempt" forbids this step.
    #[error("in the ledger {path}: {subject} cannot go from {from} to {to}: {why}")]
    IllegalTransition {
        path: PathBuf,
        subject: String,
        from: String,
        to: String,
        why: &'static str,
    },

    /// A manager's decision or an undo without a reason.
    #[error("in the ledger {path}: {subject}: a reason is required")]
    ReasonRequired { path: PathBuf, subject: String },

    #[error("in the ledger {path}: no {what} {id}")]
    NotFound {
        path: PathBuf,
        what: &'static str,
        id: String,
    },

    /// Input the ledger refuses to store (empty code, count 0, bad phone number…).
    #[error("in the ledger {path}: {what}")]
    Invalid { path: PathBuf, what: String },

    /// The ledger holds less than its head sidecar says it held when last seen: records
    /// were lost (a deleted `-wal`, an older copy put back, a missing file) or rewritten.
    /// Nothing was changed; the way out is to restore the file with its `-wal`, or to move
    /// the ledger and its `.head` aside and start a new one knowingly.
    #[error("the ledger {path} holds less than when it was last seen: {found_events} events and {found_settings} setting changes, where it held {recorded_events} events (the last one's hash {recorded_hash}…) and {recorded_settings} setting changes. Records were lost (a deleted -wal file, an older copy) or rewritten; nothing was changed. Restore the ledger with its -wal file, or move the ledger and its .head file aside to start a new one")]
    BehindHead {
        path: PathBuf,
        recorded_events: i64,
        recorded_hash: String,
        found_events: i64,
        recorded_settings: i64,
        found_settings: i64,
    },

    /// An archive opened immutable has a `-wal` beside it whose records it would not see.
    #[error("the ledger {path} has a -wal file with records a read-only open cannot see: copy both files to writable storage and open the copy there")]
    WalNotCheckpointed { path: PathBuf },

    /// The ledger was closed (the app is quitting); nothing more is written.
    #[error("the ledger {path} is closed")]
    Closed { path: PathBuf },

    #[error("the ledger {path} failed: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl LedgerError {
    /// A stable code the UI branches on. Never change a shipped one.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Corrupt { .. } => "ledger_corrupt",
            LedgerError::NotALedger { .. } => "ledger_not_a_ledger",
            LedgerError::TooNew { .. } => "ledger_too_new",
            LedgerError::ReadOnly { .. } => "ledger_read_only",
            LedgerError::Locked { .. } => "ledger_locked",
            LedgerError::CannotOpen { .. } => "ledger_cannot_open",
            LedgerError::DiskFull { .. } => "ledger_disk_full",
            LedgerError::ModeMismatch { .. } => "ledger_mode_mismatch",
            LedgerError::IllegalTransition { .. } => "ledger_illegal_transition",
            LedgerError::ReasonRequired { .. } => "ledger_reason_required",
            LedgerError::NotFound { .. } => "ledger_not_found",
            LedgerError::Invalid { .. } => "ledger_invalid_input",
            LedgerError::BehindHead { .. } => "ledger_behind_head",
            LedgerError::WalNotCheckpointed { .. } => "ledger_wal_not_checkpointed",
            LedgerError::Closed { .. } => "ledger_closed",
            LedgerError::Sql { .. } => "ledger_sql",
        }
    }

    /// The ledger file this error is about (`:memory:` for an in-memory ledger).
    pub fn path(&self) -> &Path {
        match self {
            LedgerError::Corrupt { path, .. }
            | LedgerError::NotALedger { path }
            | LedgerError::TooNew { path, .. }
            | LedgerError::ReadOnly { path, .. }
            | LedgerError::Locked { path, .. }
            | LedgerError::CannotOpen { path, .. }
            | LedgerError::DiskFull { path, .. }
            | LedgerError::ModeMismatch { path, .. }
            | LedgerError::IllegalTransition { path, .. }
            | LedgerError::ReasonRequired { path, .. }
            | LedgerError::NotFound { path, .. }
            | LedgerError::Invalid { path, .. }
            | LedgerError::BehindHead { path, .. }
            | LedgerError::WalNotCheckpointed { path }
            | LedgerError::Closed { path }
            | LedgerError::Sql { path, .. } => path,
        }
    }
}

/// What went wrong inside the ledger before the file's path is attached. Internal code
/// returns this so that every query does not have to carry the path around.
#[derive(Debug)]
pub(crate) enum Failure {
    Sql(rusqlite::Error),
    Corrupt(String),
    Illegal {
        subject: String,
        from: String,
        to: String,
        why: &'static str,
    },
    ReasonRequired {
        subject: String,
    },
    NotFound {
        what: &'static str,
        id: String,
    },
    Invalid(String),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl Failure {
    pub(crate) fn at(self, path: &Path) -> LedgerError {
        let path = path.to_owned();
        match self {
            Failure::Sql(e) => sql_error(path, e),
            Failure::Corrupt(detail) => LedgerError::Corrupt { path, detail },
            Failure::Illegal {
                subject,
                from,
                to,
                why,
            } => LedgerError::IllegalTransition {
                path,
                subject,
                from,
                to,
                why,
            },
            Failure::ReasonRequired { subject } => LedgerError::ReasonRequired { path, subject },
            Failure::NotFound { what, id } => LedgerError::NotFound { path, what, id },
            Failure::Invalid(what) => LedgerError::Invalid { path, what },
        }
    }
}

/// Sorts a SQLite error into the variants the UI can explain.
pub(crate) fn sql_error(path: PathBuf, e: rusqlite::Error) -> LedgerError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => LedgerError::Corrupt {
            path,
            detail: e.to_string(),
        },
        Some(ErrorCode::ReadOnly) => LedgerError::ReadOnly {
            path,
            source: Some(e),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            LedgerError::Locked { path, source: e }
        }
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => LedgerError::CannotOpen {
            path,
            source: Some(e),
        },
        Some(ErrorCode::DiskFull) => LedgerError::DiskFull { path, source: e },
        _ => LedgerError::Sql { path, source: e },
    }
}
