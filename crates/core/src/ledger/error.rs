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
