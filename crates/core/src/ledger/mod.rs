//! The ledger: one SQLite file per mode (`ledger-sandbox.sqlite`, `ledger-live.sqlite`) that
//! durably records every redemption attempt, every 增值券 notification, the settings and the
//! managers' actions.
//!
//! Invariants:
//! - An attempt is committed as `pending` before any byte goes to a channel, and its outcome
//!   in a second commit: exactly two durable commits per redemption (`synchronous=FULL` in
//!   WAL mode makes each commit durable).
//! - Nothing in the history is edited or deleted: events, audit, settings and meta are
//!   insert-only (SQLite triggers abort UPDATE and DELETE); the cached state on an attempt
//!   or notification row changes only in the transaction that appends its event.
//! - Every event carries the hash of the one before it (one chain for the whole ledger);
//!   every settings, audit, reconciliation and sign-off row is sealed into that chain in
//!   its own transaction; `verify_chain` finds the first broken link and compares the heads
//!   the ledger recorded, `check_anchor` a head written down outside it.
//! - Illegal state steps are refused in code before anything is written (`state.rs`).
//! - A file that is not a healthy ledger is never overwritten, migrated into or recreated;
//!   a new ledger is made only where no file exists, and the ledger's files on disk (the
//!   WAL's checkpoints, the clean close, the head sidecar) are `file.rs`'s.
//! - Opening does no scans: PRAGMAs, the schema version and the mode row only. The slow
//!   checks (`quick_check`, `verify_chain`) run on their own read connection, so the app can
//!   run them in the background while it redeems.
//!
//! All SQL lives in this module's table files (`attempts.rs`, `events.rs`, …), each with
//! its table's migration, row type and queries.

mod attempts;
mod audit;
mod canon;
mod chain;
mod chain_report;
mod error;
mod events;
mod file;
#[cfg(feature = "generate")]
pub mod generate;
mod hq_upload;
mod meta;
mod migrations;
mod notifications;
mod print_jobs;
mod reason_text;
mod reconciliations;
mod schedule;
mod seals;
mod set_aside;
mod settings;
mod state;

pub use attempts::{Attempt, ChannelTotals, CodeFilter, DayFilter, NewAttempt};
pub use audit::{AuditEntry, AuditRecord};
pub use chain_report::{
    AnchorCheck, BreakProblem, ChainAnchor, ChainBreak, ChainReport, MIN_ANCHOR_HEX,
};
pub use error::LedgerError;
pub use events::{Event, Exchange};
pub use file::{head_path, wal_path, Head};
pub use hq_upload::{ChainRow, HqCursor};
pub use notifications::{
    notification_backoff, DeliveryResult, NewNotification, Notification, HELD_FOR_MANAGER_MS,
    NOTIFICATION_INBOX_AFTER_ATTEMPTS,
};
pub use print_jobs::{NewPrintJob, PrintJob, PrintState};
pub use reconciliations::{NewReconciliation, SignOff, StoredReconciliation};
pub use schedule::{
    resolver_backoff, DueCheck, ResolverStatus, RESOLVER_FAST_TRIES, RESOLVER_INBOX_AFTER_TRIES,
    RESOLVER_MAX_BACKOFF_MS, RESOLVER_MEDIUM_TRIES,
};
pub use set_aside::{SetAside, SetAsideError};
pub use settings::{SettingChange, BUSINESS_DAY_CUTOFF_KEY, BUSINESS_DAY_OFFSET_KEY};
pub use state::{
    Actor, AttemptId, AttemptState, InvalidId, NotificationId, NotificationState, Platform,
};

use crate::app_info::Mode;
use crate::business_day::{BusinessDay, BusinessDayRule};
use crate::channel::ChannelKind;
use crate::clock::UnixMs;
use crate::money::Fen;
use error::{sql_error, Failure};
use events::{NewEvent, Subject};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// One step in an attempt's history.
pub type AttemptEvent = Event<AttemptState>;
/// One step in a notification's history.
pub type NotificationEvent = Event<NotificationState>;

/// The ledger file's name for a mode. The app keeps one file per mode so that sandbox
/// records can never appear in a live report.
pub fn file_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Sandbox => "ledger-sandbox.sqlite",
        Mode::Live => "ledger-live.sqlite",
    }
}

/// `PRAGMA cache_size` of a ledger connection (negative: KiB): 32 MiB.
pub(crate) const CACHE_SIZE: i64 = -32_768;

/// How to open a ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerOptions {
    /// How long a write waits for another connection's lock before `Locked`.
    pub busy_timeout: Duration,
    /// How long without a write before the WAL is checkpointed into the main file. Short:
    /// a till waits for the next customer far longer, and until then the day sits in `-wal`.
    pub checkpoint_after_idle: Duration,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            busy_timeout: Duration::from_secs(5),
            checkpoint_after_idle: Duration::from_secs(3),
        }
    }
}

/// Amounts a channel reported with an outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts {
    /// Total face value of what was consumed; for a success without it, the ledger uses the
    /// preview's unit face value × count.
    pub face_value: Option<Fen>,
    /// What the merchant receives, where the channel says.
    pub settled: Option<Fen>,
}

/// A step to record on an attempt: its new state and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub to: AttemptState,
    pub at_ms: UnixMs,
    pub actor: Actor,
    /// Required for a manager's decision and for an undo; the channel's message otherwise.
    pub reason: Option<String>,
    /// Ids the channel returned, by their wire names (`order_no`, `tranNo`, `bizId`…).
    pub channel_ids: BTreeMap<String, String>,
    pub amounts: Amounts,
    pub exchange: Exchange,
}

impl Transition {
    pub fn new(to: AttemptState, at_ms: UnixMs, actor: Actor) -> Transition {
        Transition {
            to,
            at_ms,
            actor,
            reason: None,
            channel_ids: BTreeMap::new(),
            amounts: Amounts::default(),
            exchange: Exchange::default(),
        }
    }
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    pub fn channel_id(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.channel_ids.insert(name.into(), value.into());
        self
    }
    pub fn amounts(mut self, amounts: Amounts) -> Self {
        self.amounts = amounts;
        self
    }
    pub fn exchange(mut self, exchange: Exchange) -> Self {
        self.exchange = exchange;
        self
    }
}

/// A resolver check that did not settle the attempt (the channel could not say yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub at_ms: UnixMs,
    /// What was learned, in words (e.g. "query timed out").
    pub note: Option<String>,
    pub exchange: Exchange,
    pub next_check_ms: UnixMs,
}

/// One delivery of a notification and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub at_ms: UnixMs,
    pub result: DeliveryResult,
    pub exchange: Exchange,
}

/// What the redeem use case needs to know about a code before redeeming it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeStatus {
    /// The latest attempt on this code and channel (the same-code debounce looks at its time).
    pub last: Option<Attempt>,
    /// The latest success not undone ("already redeemed here at 12:03 by 王芳").
    pub last_succeeded: Option<Attempt>,
    /// A `pending` or `unknown` attempt ("an earlier attempt is still unresolved": blocks).
    pub unresolved: Option<Attempt>,
}

/// One business day's log and its totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayLog {
    pub day: BusinessDay,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
    /// Per channel, only successes that were not undone (see [`ChannelTotals`]).
    pub totals: Vec<ChannelTotals>,
}

/// An attempt with every event, oldest first: a customer dispute's evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptTimeline {
    pub attempt: Attempt,
    pub events: Vec<AttemptEvent>,
}

/// An unknown attempt that needs a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxUnknown {
    pub attempt: Attempt,
    pub resolver: Option<ResolverStatus>,
    /// The resolver handed it over, or its fast checks are spent: a manager should decide.
    /// Otherwise the system is still checking, and the card says so (issue 20 item 5).
    #[serde(default)]
    pub needs_manager: bool,
}

/// The manager's 需处理 list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    /// Every unknown, oldest first: a cashier's amber answer is in 需处理 at once. Those the
    /// resolver handed over or still has not settled after its fast checks
    /// ([`RESOLVER_INBOX_AFTER_TRIES`]) are marked as needing the manager.
    pub unknowns: Vec<InboxUnknown>,
    /// Queued notifications that failed at least [`NOTIFICATION_INBOX_AFTER_ATTEMPTS`] times.
    pub failing_notifications: Vec<Notification>,
    /// The latest reconciliation of a day and channel, where it found mismatches and no
    /// manager has signed it off yet.
    pub reconciliations_to_review: Vec<StoredReconciliation>,
}

struct Inner {
    conn: Connection,
    rule: BusinessDayRule,
    busy_timeout: Duration,
    /// After `close`: `conn` is a stand-in and every call is refused with `Closed`.
    closed: bool,
}

impl Inner {
    fn new(conn: Connection, rule: BusinessDayRule, options: &LedgerOptions) -> Mutex<Inner> {
        Mutex::new(Inner {
            conn,
            rule,
            busy_timeout: options.busy_timeout,
            closed: false,
        })
    }
}

/// An open ledger. `Send + Sync`: share it in an `Arc`. Each method is one short
/// transaction on the writer connection; the engine may call it from async code (each call
/// is a few milliseconds, two of them an fsync).
pub struct Ledger {
    path: PathBuf,
    in_memory: bool,
    mode: Mode,
    options: LedgerOptions,
    /// Opened `?immutable=1` (an archive on read-only media): the aside readers must be too.
    immutable: bool,
    inner: Arc<Mutex<Inner>>,
    /// A writable ledger file's checkpoints and head sidecar; `None` in memory and read-only.
    keeper: Option<file::Keeper>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens (or creates) the ledger file for `mode`.
    pub fn open(path: &Path, mode: Mode) -> Result<Ledger> {
        Ledger::open_with(path, mode, LedgerOptions::default())
    }

    /// A missing file is created (exclusively, complete or not at all) unless its head
    /// sidecar says a ledger with records was there: then `BehindHead`. An existing file is
    /// never initialised: 0 bytes or no tables is `Corrupt`.
    pub fn open_with(path: &Path, mode: Mode, options: LedgerOptions) -> Result<Ledger> {
        if path.is_dir() {
            return Err(LedgerError::CannotOpen {
                path: path.to_owned(),
                source: None,
            });
        }
        if !path.exists() {
            file::check_missing(path)?;
            file::create(path, |conn| {
                let opts = options.clone();
                Ledger::set_up(conn, path.to_owned(), false, mode, opts, true).map(drop)
            })?;
        }
        file::refuse_empty(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| sql_error(path.to_owned(), e))?;
        let mut ledger = Ledger::set_up(conn, path.to_owned(), false, mode, options, false)?;
        {
            let inner = ledger.lock();
            let found = match file::read_head(path)? {
                Some(recorded) => Some((file::check_head(path, &inner.conn, &recorded)?, recorded)),
                None => None,
            };
            if found
                .as_ref()
                .is_none_or(|(found, recorded)| found != recorded)
            {
                let head = match found {
                    Some((found, _)) => found,
                    None => Head::of(&inner.conn).map_err(|f| f.at(path))?,
                };
                // Not durable: only a note that the next checkpoint makes durable.
                if let Err(e) = file::write_head(path, &head, false) {
                    tracing::warn!("the ledger head sidecar was not written: {e}");
                }
            }
        }
        let idle = ledger.options.checkpoint_after_idle;
        ledger.keeper = Some(file::Keeper::start(
            path.to_owned(),
            ledger.inner.clone(),
            idle,
        ));
        // SQLite gives the WAL and SHM the main file's mode: 0600 here makes all three private.
        for file in crate::file_modes::ledger_files(path) {
            // A file the desk cannot chmod (another owner) still opens; the log says so.
            if let Err(e) = crate::file_modes::private_file(&file) {
                tracing::warn!(path = %file.display(), "cannot make the ledger file private: {e}");
            }
        }
        Ok(ledger)
    }

    /// A ledger that lives only in memory: for tests.
    pub fn open_in_memory(mode: Mode) -> Result<Ledger> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| sql_error(path.clone(), e))?;
        Ledger::set_up(conn, path, true, mode, LedgerOptions::default(), true)
    }

    /// Opens an existing ledger without writing anything (for reading a ledger another
    /// program holds, or a copy). Every write method then fails with `ReadOnly`.
    pub fn open_read_only(path: &Path, mode: Mode) -> Result<Ledger> {
        if !path.is_file() {
            return Err(LedgerError::CannotOpen {
                path: path.to_owned(),
                source: None,
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| sql_error(path.to_owned(), e))?;
        Ledger::reading(conn, path, mode, false)
    }

    /// Opens a ledger copied to read-only media (a CD, a write-protected stick, a backup
    /// mounted read-only): SQLite's `immutable`, so nothing is locked or created beside the
    /// file. It must have been closed cleanly (or checkpointed): a `-wal` with content
    /// beside it is refused as `WalNotCheckpointed`, since its records would be invisible.
    pub fn open_archive(path: &Path, mode: Mode) -> Result<Ledger> {
        if !path.is_file() {
            return Err(LedgerError::CannotOpen {
                path: path.to_owned(),
                source: None,
            });
        }
        let conn = file::open_immutable(path)?;
        Ledger::reading(conn, path, mode, true)
    }

    fn reading(conn: Connection, path: &Path, mode: Mode, immutable: bool) -> Result<Ledger> {
        let err = |e| sql_error(path.to_owned(), e);
        let options = LedgerOptions::default();
        conn.busy_timeout(options.busy_timeout).map_err(err)?;
        let at = |f: Failure| f.at(path);
        let version = migrations::version(&conn).map_err(at)?;
        Ledger::check_version(path, &conn, version)?;
        if version < migrations::latest_version() {
            // Reading would need the missing tables, and a read-only file cannot be migrated.
            return Err(LedgerError::ReadOnly {
                path: path.to_owned(),
                source: None,
            });
        }
        Ledger::check_mode(path, &conn, mode)?;
        let rule = settings::business_day_rule(&conn).map_err(at)?;
        Ok(Ledger {
            path: path.to_owned(),
            in_memory: false,
            mode,
            immutable,
            inner: Arc::new(Inner::new(conn, rule, &options)),
            options,
            keeper: None,
        })
    }

    fn check_version(path: &Path, conn: &Connection, version: i64) -> Result<()> {
        Ledger::check_version_of(path, conn, version, false)
    }

    /// `fresh`: a file this process just made, the only kind a ledger is written into from
    /// version 0. An existing file without the ledger's tables lost them: damage.
    fn check_version_of(path: &Path, conn: &Connection, version: i64, fresh: bool) -> Result<()> {
        if version == 0 {
            let tables: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(|e| sql_error(path.to_owned(), e))?;
            if tables > 0 {
                return Err(LedgerError::NotALedger {
                    path: path.to_owned(),
                });
            }
            if !fresh {
                return Err(LedgerError::Corrupt {
                    path: path.to_owned(),
                    detail: "the file holds none of the ledger's tables".to_owned(),
                });
            }
        }
        if version > migrations::latest_version() {
            return Err(LedgerError::TooNew {
                path: path.to_owned(),
                found: version,
                supported: migrations::latest_version(),
            });
        }
        Ok(())
    }

    fn check_mode(path: &Path, conn: &Connection, mode: Mode) -> Result<()> {
        let found = meta::read_mode(conn).map_err(|f| f.at(path))?;
        if found != mode {
            return Err(LedgerError::ModeMismatch {
                path: path.to_owned(),
                expected: mode,
                found,
            });
        }
        Ok(())
    }

    fn set_up(
        mut conn: Connection,
        path: PathBuf,
        in_memory: bool,
        mode: Mode,
        options: LedgerOptions,
        fresh: bool,
    ) -> Result<Ledger> {
        let err = |e| sql_error(path.clone(), e);
        conn.busy_timeout(options.busy_timeout).map_err(err)?;
        if !fresh {
            // Before anything can change the file (even its journal mode in the header).
            let version = migrations::version(&conn).map_err(|f| f.at(&path))?;
            Ledger::check_version_of(&path, &conn, version, false)?;
        }
        // The first statement reads the header: a file of garbage fails here, before
        // anything could be written to it.
        let journal: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(err)?;
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(err)? {
            return Err(LedgerError::ReadOnly { path, source: None });
        }
        if !in_memory && !journal.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::Invalid {
                path,
                what: format!("the ledger could not switch to WAL (journal mode {journal:?})"),
            });
        }
        // FULL: a commit is on disk before the redeem call goes out (product.md: "pending
        // written before any network call").
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(err)?;
        // 32 MiB of page cache (SQLite's default is 2 MiB): a day's log with its indexes
        // stays in memory between the manager's filter changes.
        conn.pragma_update(None, "cache_size", CACHE_SIZE)
            .map_err(err)?;
        // Taking the write lock now proves the file is writable and not held by another
        // program, instead of discovering it at the first redemption.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let at = |f: Failure| f.at(&path);
        let version = migrations::version(&tx).map_err(at)?;
        Ledger::check_version_of(&path, &tx, version, fresh)?;
        if version >= 1 {
            Ledger::check_mode(&path, &tx, mode)?;
        }
        migrations::apply(&tx, version).map_err(at)?;
        if version == 0 {
            meta::write_mode(&tx, mode).map_err(at)?;
        }
        let rule = settings::business_day_rule(&tx).map_err(at)?;
        tx.commit().map_err(err)?;
        Ok(Ledger {
            path,
            in_memory,
            mode,
            immutable: false,
            inner: Arc::new(Inner::new(conn, rule, &options)),
            options,
            keeper: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic inside a transaction dropped (rolled back) it; the connection is fine.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The connection, unless the ledger was closed.
    fn open_inner(&self) -> Result<MutexGuard<'_, Inner>> {
        let inner = self.lock();
        if inner.closed {
            return Err(LedgerError::Closed {
                path: self.path.clone(),
            });
        }
        Ok(inner)
    }

    /// Folds the WAL into the main file now and records the head durably (the keeper does
    /// this at idle by itself). Waits for readers up to the busy timeout. Returns whether
    /// the WAL is empty afterwards.
    pub fn checkpoint(&self) -> Result<bool> {
        if self.keeper.is_none() {
            return Ok(false);
        }
        let mut inner = self.open_inner()?;
        let wait = inner.busy_timeout;
        file::checkpoint(&self.path, &mut inner, wait)
    }

    /// Closes the ledger cleanly: the keeper stops, the WAL is checkpointed into the main
    /// file and truncated, the head is recorded durably, and the connection closes (SQLite
    /// then removes `-wal` and `-shm`). Every later call is refused with `Closed`. Dropping
    /// the last handle does the same; the app calls this at exit because its state may
    /// outlive the event loop.
    pub fn close(&self) -> Result<()> {
        if let Some(keeper) = &self.keeper {
            keeper.stop();
        }
        let mut inner = self.lock();
        if inner.closed {
            return Ok(());
        }
        let checkpointed = if self.keeper.is_some() {
            let wait = inner.busy_timeout;
            file::checkpoint(&self.path, &mut inner, wait).map(drop)
        } else {
            Ok(())
        };
        let stand_in = Connection::open_in_memory().map_err(|e| sql_error(self.path.clone(), e))?;
        let conn = std::mem::replace(&mut inner.conn, stand_in);
        inner.closed = true;
        let closed = conn
            .close()
            .map_err(|(_, e)| sql_error(self.path.clone(), e));
        checkpointed.and(closed)
    }

    /// Runs `f` in one write transaction and commits it (one durable commit).
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, BusinessDayRule) -> Result<T, Failure>,
    ) -> Result<T> {
        let mut inner = self.open_inner()?;
        let rule = inner.rule;
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql_error(self.path.clone(), e))?;
        let out = f(&tx, rule).map_err(|e| e.at(&self.path))?;
        tx.commit().map_err(|e| sql_error(self.path.clone(), e))?;
        drop(inner);
        if let Some(keeper) = &self.keeper {
            keeper.wrote();
        }
        Ok(out)
    }

    /// Runs `f` in one read transaction, so several queries see one snapshot.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Failure>) -> Result<T> {
        let mut inner = self.open_inner()?;
        let tx = inner
            .conn
            .transaction()
            .map_err(|e| sql_error(self.path.clone(), e))?;
        let out = f(&tx).map_err(|e| e.at(&self.path))?;
        tx.commit().map_err(|e| sql_error(self.path.clone(), e))?;
        Ok(out)
    }

    /// Runs a long check on a connection of its own, so redemptions go on meanwhile (WAL
    /// lets one writer and many readers work at once). In memory there is only one.
    fn read_aside<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Failure>) -> Result<T> {
        if self.in_memory {
            return self.read(f);
        }
        let err = |e| sql_error(self.path.clone(), e);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = if self.immutable {
            file::open_immutable(&self.path)?
        } else {
            Connection::open_with_flags(&self.path, flags).map_err(err)?
        };
        conn.busy_timeout(self.options.busy_timeout).map_err(err)?;
        let tx = conn.transaction().map_err(err)?;
        let out = f(&tx).map_err(|e| e.at(&self.path))?;
        tx.commit().map_err(err)?;
        Ok(out)
    }

    // ----- integrity -------------------------------------------------------------------

    /// SQLite's `PRAGMA quick_check` over the whole file: `Corrupt` with SQLite's findings
    /// when it is damaged. Takes seconds on a large ledger: the app runs it in the
    /// background after opening, the CLI on demand. Never repairs or rewrites anything.
    pub fn quick_check(&self) -> Result<()> {
        self.read_aside(|conn| {
            let mut stmt = conn.prepare("PRAGMA quick_check")?;
            let findings = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            if findings.len() == 1 && findings[0] == "ok" {
                Ok(())
            } else {
                Err(Failure::Corrupt(format!(
                    "quick_check: {}",
                    findings.join("; ")
                )))
            }
        })
    }

    /// Walks the whole hash chain and checks every cached state against its events.
    /// The report names the first broken link; `Err` only when the ledger cannot be read.
    pub fn verify_chain(&self) -> Result<ChainReport> {
        self.read_aside(chain::verify)
    }

    /// Compares the ledger with its head sidecar (`<ledger>.head`), as opening for writing
    /// does: `BehindHead` when it holds less than when last seen. `Ok(None)`: no sidecar.
    pub fn check_head(&self) -> Result<Option<Head>> {
        let Some(recorded) = file::read_head(&self.path)? else {
            return Ok(None);
        };
        let inner = self.open_inner()?;
        file::check_head(&self.path, &inner.conn, &recorded).map(Some)
    }

    /// The last link's id and hash, or `None` for an empty ledger.
    pub fn chain_head(&self) -> Result<Option<(i64, String)>> {
        Ok(self.chain_anchor()?.map(|a| (a.id, a.hash)))
    }

    /// The chain's head to print (exports, sign-offs, shift ends), `None` for an empty
    /// ledger.
    pub fn chain_anchor(&self) -> Result<Option<ChainAnchor>> {
        self.read(chain::head_of)
    }

    /// Whether a head printed earlier (`verify-log --anchor`) is still in the chain.
    pub fn check_anchor(&self, anchor: &ChainAnchor) -> Result<AnchorCheck> {
        self.read_aside(|conn| chain::check_anchor(conn, anchor))
    }

    // ----- chain mode (issue 21) -------------------------------------------------------

    /// This ledger's desk id (a UUID made once, kept in `meta`): its name at HQ.
    pub fn desk_id(&self) -> Result<String> {
        self.read(hq_upload::desk_id)
    }

    /// The schema version (`PRAGMA user_version`), which HQ records per till.
    pub fn schema_version(&self) -> Result<i64> {
        self.read(migrations::version)
    }

    /// The last chain position (0 for an empty ledger), read aside like the rows.
    pub fn chain_end(&self) -> Result<i64> {
        self.read_aside(|conn| Ok(events::head(conn)?.last_id))
    }

    /// The hash at chain position `seq`, `None` when the ledger no longer holds it.
    pub fn chain_hash_at(&self, seq: i64) -> Result<Option<String>> {
        self.read_aside(|conn| hq_upload::hash_at(conn, seq))
    }

    /// How far HQ has acknowledged the chain.
    pub fn hq_cursor(&self) -> Result<HqCursor> {
        self.read_aside(hq_upload::cursor)
    }

    /// Up to `limit` chain positions after `after`, in order, for the uploader. Read on a
    /// connection of its own: a redemption never waits for it.
    pub fn chain_rows_after(&self, after: i64, limit: usize) -> Result<Vec<ChainRow>> {
        self.read_aside(|conn| hq_upload::rows_after(conn, after, limit))
    }

    /// Moves the acknowledged cursor forward to what HQ committed (never back).
    pub fn advance_hq_cursor(&self, seq: i64, hash: &str, at_ms: UnixMs) -> Result<()> {
        self.write(|tx, _| hq_upload::advance(tx, seq, hash, at_ms))
    }

    /// Records that HQ reported a fork of this chain; the uploader stops on it.
    pub fn mark_hq_fork(&self, detail: &str, at_ms: UnixMs) -> Result<()> {
        self.write(|tx, _| hq_upload::mark_fork(tx, detail, at_ms))
    }

    // ----- the redeem use case ---------------------------------------------------------

    /// Writes a new `pending` attempt and its creating event and commits durably: the
    /// write-ahead record that must exist before the channel is called. The returned id is
    /// the idempotency key to send.
    pub fn begin_attempt(&self, new: NewAttempt) -> Result<AttemptId> {
        self.write(|tx, rule| {
            validate_new_attempt(&new)?;
            let id = AttemptId::new_v4();
            let digest = attempts::insert(tx, &id, rule.day_of(new.created_ms), &new)?;
            let mut head = events::head(tx)?;
            events::append(
                tx,
                &mut head,
                NewEvent {
                    face_value: new.face_value,
                    exchange: &new.prepare,
                    subject_digest: Some(digest),
                    ..NewEvent::step(
                        Subject::Attempt(id.as_str()),
                        0,
                        AttemptState::Pending.as_str(),
                        new.created_ms,
                        &Actor::Cashier(new.cashier.clone()),
                    )
                },
            )?;
            Ok(id)
        })
    }

    /// Records a step of an attempt: the channel's answer, the resolver's conclusion, a
    /// manager's decision or an undo. Refuses steps the state machine does not allow
    /// (`IllegalTransition`, `ReasonRequired`) without writing anything. One durable commit;
    /// returns the attempt as it now stands.
    pub fn record(&self, id: &AttemptId, t: Transition) -> Result<Attempt> {
        self.write(|tx, _| record_in(tx, id, &t))
    }

    /// At start-up, before the first scan: every attempt still `pending` was cut off by a
    /// crash mid-call, so the channel may or may not have consumed it. Each becomes
    /// `unknown` (an event by `system`) with its first check due at `now_ms`.
    pub fn mark_pending_as_unknown(&self, now_ms: UnixMs) -> Result<Vec<AttemptId>> {
        self.write(|tx, _| {
            let ids = attempts::pending_ids(tx)?;
            let mut head = events::head(tx)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let seq = events::next_seq(tx, Subject::Attempt(&id))?;
                events::append(
                    tx,
                    &mut head,
                    NewEvent {
                        reason: Some(
                            "the program stopped before the channel's answer was recorded",
                        ),
                        ..NewEvent::step(
                            Subject::Attempt(&id),
                            seq,
                            AttemptState::Unknown.as_str(),
                            now_ms,
                            &Actor::System,
                        )
                    },
                )?;
                attempts::set_cache(tx, &id, AttemptState::Unknown, now_ms, None, None)?;
                schedule::start(tx, &id, now_ms)?;
                out.push(AttemptId::parse(&id).map_err(|e| Failure::Corrupt(e.to_string()))?);
            }
            Ok(out)
        })
    }

    /// The latest attempt on this code through this channel.
    pub fn last_attempt_for_code(
        &self,
        channel: ChannelKind,
        code: &str,
    ) -> Result<Option<Attempt>> {
        self.read(|conn| attempts::last_for_code(conn, channel, code))
    }

    /// Everything the pre-redeem checks need about a code on a channel, in one snapshot.
    pub fn code_status(&self, channel: ChannelKind, code: &str) -> Result<CodeStatus> {
        self.read(|conn| {
            Ok(CodeStatus {
                last: attempts::last_for_code(conn, channel, code)?,
                last_succeeded: attempts::last_for_code_in_state(
                    conn,
                    channel,
                    code,
                    &[AttemptState::Succeeded],
                )?,
                unresolved: attempts::last_for_code_in_state(
                    conn,
                    channel,
                    code,
                    &[AttemptState::Pending, AttemptState::Unknown],
                )?,
            })
        })
    }

    // ----- the resolver ----------------------------------------------------------------

    /// Unknown attempts whose next check is due at `now_ms`, earliest first. Persisted: a
    /// restart continues where the schedule stood.
    pub fn unknowns_due(&self, now_ms: UnixMs) -> Result<Vec<DueCheck>> {
        self.read(|conn| {
            let mut out = Vec::new();
            for (id, tries, next_check_ms) in schedule::due(conn, now_ms)? {
                if let Some(attempt) = attempts::get(conn, &id)? {
                    if attempt.state == AttemptState::Unknown {
                        out.push(DueCheck {
                            attempt,
                            tries,
                            next_check_ms,
                        });
                    }
                }
            }
            Ok(out)
        })
    }

    /// Sets when an unknown is next checked and how many checks were done (use
    /// [`resolver_backoff`]`(tries)` for the delay). Returns `false`, writing nothing, when
    /// the attempt is no longer unknown (settled meanwhile).
    pub fn schedule_next_check(
        &self,
        id: &AttemptId,
        next_check_ms: UnixMs,
        tries: u32,
    ) -> Result<bool> {
        self.write(|tx, _| {
            let attempt = attempts::get(tx, id.as_str())?.ok_or_else(|| not_found_attempt(id))?;
            if attempt.state != AttemptState::Unknown {
                return Ok(false);
            }
            schedule::reschedule(tx, id.as_str(), next_check_ms, tries, None)
        })
    }

    /// Records a check that did not settle the attempt (its request and response are
    /// evidence) and schedules the next one, in one commit.
    pub fn record_check(&self, id: &AttemptId, check: Check) -> Result<()> {
        self.write(|tx, _| {
            let attempt = attempts::get(tx, id.as_str())?.ok_or_else(|| not_found_attempt(id))?;
            if attempt.state != AttemptState::Unknown {
                return Err(Failure::Illegal {
                    subject: format!("attempt {id}"),
                    from: attempt.state.as_str().to_owned(),
                    to: AttemptState::Unknown.as_str().to_owned(),
                    why: "only an unknown attempt is checked",
                });
            }
            let seq = events::next_seq(tx, Subject::Attempt(id.as_str()))?;
            let mut head = events::head(tx)?;
            events::append(
                tx,
                &mut head,
                NewEvent {
                    reason: check.note.as_deref(),
                    exchange: &check.exchange,
                    ..NewEvent::step(
                        Subject::Attempt(id.as_str()),
                        seq,
                        AttemptState::Unknown.as_str(),
                        check.at_ms,
                        &Actor::Resolver,
                    )
                },
            )?;
            attempts::set_cache(
                tx,
                id.as_str(),
                AttemptState::Unknown,
                check.at_ms,
                None,
                None,
            )?;
            let tries = schedule::status(tx, id.as_str())?.map_or(0, |s| s.tries);
            schedule::reschedule(
                tx,
                id.as_str(),
                check.next_check_ms,
                tries + 1,
                Some(check.at_ms),
            )?;
            Ok(())
        })
    }

    /// The resolver gives up on an attempt its channel cannot settle (e.g. 联拓富's
    /// remaining count moved by something else): it stops being checked and waits in the
    /// inbox for a manager. Returns `false` if it was not unknown.
    pub fn hand_to_manager(&self, id: &AttemptId, at_ms: UnixMs, reason: &str) -> Result<bool> {
        self.write(|tx, _| {
            let attempt = attempts::get(tx, id.as_str())?.ok_or_else(|| not_found_attempt(id))?;
            if attempt.state != AttemptState::Unknown {
                return Ok(false);
            }
            schedule::hand_over(tx, id.as_str(), at_ms, reason)
        })
    }

    pub fn resolver_status(&self, id: &AttemptId) -> Result<Option<ResolverStatus>> {
        self.read(|conn| schedule::status(conn, id.as_str()))
    }

    // ----- the 增值券 outbox --------------------------------------------------------------

    /// Validates and stores a sale to notify (channels.md §1), queued and due at once.
    /// The returned id is its `dealSerial`.
    pub fn enqueue_notification(&self, n: NewNotification) -> Result<NotificationId> {
        self.write(|tx, rule| {
            notifications::validate(&n)?;
            let id = NotificationId::generate();
            let digest = notifications::insert(tx, &id, rule.day_of(n.created_ms), &n)?;
            let mut head = events::head(tx)?;
            events::append(
                tx,
                &mut head,
                NewEvent {
                    face_value: Some(n.total),
                    subject_digest: Some(digest),
                    ..NewEvent::step(
                        Subject::Notification(id.as_str()),
                        0,
                        NotificationState::Queued.as_str(),
                        n.created_ms,
                        &Actor::Cashier(n.cashier.clone()),
                    )
                },
            )?;
            Ok(id)
        })
    }

    /// Queued notifications whose next try is due at `now_ms`, earliest first.
    pub fn notifications_due(&self, now_ms: UnixMs) -> Result<Vec<Notification>> {
        self.read(|conn| notifications::due(conn, now_ms))
    }

    /// Records one delivery by the outbox. `Delivered` and `Rejected` are final; `Failed`
    /// stays queued until `next_retry_ms` (default: [`notification_backoff`] of the tries
    /// so far). Returns the notification as it now stands.
    pub fn record_delivery_attempt(
        &self,
        id: &NotificationId,
        attempt: DeliveryAttempt,
        next_retry_ms: Option<UnixMs>,
    ) -> Result<Notification> {
        self.write(|tx, _| {
            let (to, reason) = match &attempt.result {
                DeliveryResult::Delivered => (NotificationState::Delivered, None),
                DeliveryResult::Rejected { reason } => {
                    (NotificationState::Rejected, Some(reason.as_str()))
                }
                DeliveryResult::Failed { error } => {
                    (NotificationState::Queued, Some(error.as_str()))
                }
            };
            let tries_after = |n: &Notification| n.attempts + 1;
            let next = |n: &Notification| {
                (to == NotificationState::Queued).then(|| {
                    next_retry_ms.unwrap_or(attempt.at_ms + notification_backoff(tries_after(n)))
                })
            };
            step_notification(
                tx,
                id,
                to,
                attempt.at_ms,
                &Actor::Outbox,
                reason,
                &attempt.exchange,
                true,
                next,
            )
        })
    }

    /// Marks a notification as being sent, held for a manager until its answer is
    /// recorded: on a platform that counts a resent `dealSerial` again, a desk that stops
    /// between the send and the answer must not resend it by itself (issue 17 soak).
    /// Not a try; the answer's own record follows.
    pub fn mark_notification_sending(
        &self,
        id: &NotificationId,
        at_ms: UnixMs,
    ) -> Result<Notification> {
        self.write(|tx, _| {
            step_notification(
                tx,
                id,
                NotificationState::Queued,
                at_ms,
                // Not the outbox's: the chain counts the outbox's events as its tries.
                &Actor::System,
                Some("sending; held for a manager if the desk stops before the answer"),
                &Exchange::default(),
                false,
                |_| Some(HELD_FOR_MANAGER_MS),
            )
        })
    }

    /// A manager settles a notification by hand (e.g. confirmed in the platform's back
    /// office, or given up on), with a reason. Also written to the audit log.
    pub fn mark_notification(
        &self,
        id: &NotificationId,
        to: NotificationState,
        actor: &Actor,
        reason: &str,
        at_ms: UnixMs,
    ) -> Result<Notification> {
        self.write(|tx, _| {
            if to == NotificationState::Queued {
                return Err(Failure::Invalid(
                    "a notification is marked delivered or rejected".to_owned(),
                ));
            }
            if !matches!(actor, Actor::Manager(name) if !name.trim().is_empty()) {
                return Err(Failure::Illegal {
                    subject: format!("notification {id}"),
                    from: "queued".to_owned(),
                    to: to.as_str().to_owned(),
                    why: "only a named manager settles a notification by hand",
                });
            }
            if reason.trim().is_empty() {
                return Err(Failure::ReasonRequired {
                    subject: format!("notification {id}"),
                });
            }
            let n = step_notification(
                tx,
                id,
                to,
                at_ms,
                actor,
                Some(reason),
                &Exchange::default(),
                false,
                |_| None,
            )?;
            audit::append(
                tx,
                &AuditEntry {
                    time_ms: at_ms,
                    actor: actor.clone(),
                    action: "mark_notification".to_owned(),
                    subject: Some(id.to_string()),
                    detail: Some(format!("{}: {reason}", to.as_str())),
                },
            )?;
            Ok(n)
        })
    }

    pub fn notification(&self, id: &NotificationId) -> Result<Option<Notification>> {
        self.read(|conn| notifications::get(conn, id.as_str()))
    }

    pub fn notification_events(&self, id: &NotificationId) -> Result<Vec<NotificationEvent>> {
        self.read(|conn| events::of_subject(conn, Subject::Notification(id.as_str())))
    }

    // ----- the manager side ------------------------------------------------------------

    pub fn attempt(&self, id: &AttemptId) -> Result<Option<Attempt>> {
        self.read(|conn| attempts::get(conn, id.as_str()))
    }

    /// Every event of one attempt, oldest first.
    pub fn attempt_events(&self, id: &AttemptId) -> Result<Vec<AttemptEvent>> {
        self.read(|conn| events::of_subject(conn, Subject::Attempt(id.as_str())))
    }

    /// One business day's attempts matching `filter` (oldest first) and the day's
    /// per-channel totals under the same filter (its `state` aside: totals count only
    /// successes that were not undone).
    pub fn day_log(&self, day: BusinessDay, filter: &DayFilter) -> Result<DayLog> {
        self.read(|conn| {
            Ok(DayLog {
                day,
                attempts: attempts::day(conn, day, filter, None)?,
                totals: attempts::totals(conn, day, filter)?,
            })
        })
    }

    /// The day's log with only its first `first` attempts, and how many match in all: the
    /// manager's screen paints from this small answer, then asks for the rest.
    pub fn day_log_first(
        &self,
        day: BusinessDay,
        filter: &DayFilter,
        first: usize,
    ) -> Result<(DayLog, usize)> {
        self.read(|conn| {
            let log = DayLog {
                day,
                attempts: attempts::day(conn, day, filter, Some(first))?,
                totals: attempts::totals(conn, day, filter)?,
            };
            Ok((log, attempts::count_day(conn, day, filter)?))
        })
    }

    /// Per-channel totals of one business day. Only attempts whose state is `succeeded`
    /// count: an undone success (`cancelled`), a rejection and an unresolved `unknown`
    /// count nowhere. `filter.state` is ignored.
    pub fn day_totals(&self, day: BusinessDay, filter: &DayFilter) -> Result<Vec<ChannelTotals>> {
        self.read(|conn| attempts::totals(conn, day, filter))
    }

    /// Every attempt on a code (any channel) with every event, oldest first.
    pub fn code_timeline(&self, code: &str) -> Result<Vec<AttemptTimeline>> {
        self.read(|conn| {
            attempts::by_code(conn, code)?
                .into_iter()
                .map(|attempt| {
                    let events = events::of_subject(conn, Subject::Attempt(attempt.id.as_str()))?;
                    Ok(AttemptTimeline { attempt, events })
                })
                .collect()
        })
    }

    /// The 需处理 list: unknowns that need a manager and notifications that keep failing.
    pub fn inbox(&self) -> Result<Inbox> {
        self.read(|conn| {
            let mut unknowns = Vec::new();
            for attempt in attempts::unknown(conn)? {
                let resolver = schedule::status(conn, attempt.id.as_str())?;
                let needs_manager = match &resolver {
                    None => true,
                    Some(s) => s.handed_over_ms.is_some() || s.tries >= RESOLVER_INBOX_AFTER_TRIES,
                };
                unknowns.push(InboxUnknown {
                    attempt,
                    resolver,
                    needs_manager,
                });
            }
            Ok(Inbox {
                unknowns,
                failing_notifications: notifications::failing(
                    conn,
                    NOTIFICATION_INBOX_AFTER_ATTEMPTS,
                )?,
                reconciliations_to_review: reconciliations::to_review(conn)?,
            })
        })
    }

    /// The latest `limit` attempts, newest first, of one cashier (the shift strip) or of
    /// everyone.
    pub fn recent_attempts(&self, cashier: Option<&str>, limit: usize) -> Result<Vec<Attempt>> {
        self.read(|conn| attempts::recent(conn, cashier, limit))
    }

    /// A shift's attempts: the cashier's, made in `[from_ms, to_ms]`, oldest first.
    pub fn cashier_attempts_between(
        &self,
        cashier: &str,
        from_ms: UnixMs,
        to_ms: UnixMs,
    ) -> Result<Vec<Attempt>> {
        self.read(|conn| attempts::of_cashier_between(conn, cashier, from_ms, to_ms))
    }

    // ----- the slip queue (issue 22) ---------------------------------------------------

    /// Queues a slip; committed before any byte goes to the printer.
    pub fn enqueue_print(&self, job: &NewPrintJob) -> Result<PrintJob> {
        self.write(|tx, _| {
            let id = print_jobs::insert(tx, job)?;
            Ok(print_jobs::get(tx, id)?.expect("a job just inserted reads back"))
        })
    }

    /// The jobs no worker has taken yet, oldest first.
    pub fn queued_prints(&self) -> Result<Vec<PrintJob>> {
        self.read(print_jobs::queued)
    }

    /// Takes a queued job for sending: commits `sending` and answers `true`, or answers
    /// `false` if it was taken already (it is then never sent again by a worker).
    pub fn begin_print(&self, id: i64, at_ms: UnixMs) -> Result<bool> {
        self.write(|tx, _| {
            if print_jobs::state_of(tx, id)? != Some(PrintState::Queued) {
                return Ok(false);
            }
            print_jobs::append_step(tx, id, PrintState::Sending, at_ms, None)?;
            Ok(true)
        })
    }

    /// Records how a job's sending ended.
    pub fn finish_print(
        &self,
        id: i64,
        printed: bool,
        at_ms: UnixMs,
        detail: Option<&str>,
    ) -> Result<PrintJob> {
        let step = if printed {
            PrintState::Printed
        } else {
            PrintState::Failed
        };
        self.write(|tx, _| {
            print_jobs::append_step(tx, id, step, at_ms, detail)?;
            Ok(print_jobs::get(tx, id)?.expect("a job being finished exists"))
        })
    }

    /// Jobs a stop left `sending` become `failed`: they may or may not have printed, so
    /// they are offered for a reprint (marked 重打), never sent again as they were.
    pub fn fail_interrupted_prints(&self, at_ms: UnixMs, detail: &str) -> Result<Vec<i64>> {
        self.write(|tx, _| {
            let ids: Vec<i64> = print_jobs::sending(tx)?.iter().map(|j| j.id).collect();
            for id in &ids {
                print_jobs::append_step(tx, *id, PrintState::Failed, at_ms, Some(detail))?;
            }
            Ok(ids)
        })
    }

    pub fn print_job(&self, id: i64) -> Result<Option<PrintJob>> {
        self.read(|conn| print_jobs::get(conn, id))
    }

    /// Every job about an attempt, oldest first.
    pub fn prints_for_attempt(&self, attempt_id: &str) -> Result<Vec<PrintJob>> {
        self.read(|conn| print_jobs::for_attempt(conn, attempt_id))
    }

    /// The latest jobs, newest first.
    pub fn recent_prints(&self, limit: usize) -> Result<Vec<PrintJob>> {
        self.read(|conn| print_jobs::recent(conn, limit))
    }

    // ----- settings and audit ----------------------------------------------------------

    /// The business-day rule new attempts are booked with.
    pub fn business_day_rule(&self) -> BusinessDayRule {
        self.lock().rule
    }

    /// Changes the cut-off and zone for attempts created from now on; attempts already
    /// written keep the business day they were booked on.
    pub fn set_business_day_rule(
        &self,
        rule: BusinessDayRule,
        actor: &Actor,
        at_ms: UnixMs,
    ) -> Result<()> {
        let rule = BusinessDayRule::new(rule.cutoff_minutes, rule.offset_minutes).map_err(|e| {
            LedgerError::Invalid {
                path: self.path.clone(),
                what: e.to_string(),
            }
        })?;
        self.write(|tx, _| {
            settings::set(
                tx,
                BUSINESS_DAY_CUTOFF_KEY,
                Some(&rule.cutoff_minutes.to_string()),
                actor,
                at_ms,
            )?;
            settings::set(
                tx,
                BUSINESS_DAY_OFFSET_KEY,
                Some(&rule.offset_minutes.to_string()),
                actor,
                at_ms,
            )?;
            Ok(())
        })?;
        self.lock().rule = rule;
        Ok(())
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.read(|conn| settings::get(conn, key))
    }

    /// Appends a new value (`None` removes the key); the history keeps every old one.
    pub fn set_setting(
        &self,
        key: &str,
        value: Option<&str>,
        actor: &Actor,
        at_ms: UnixMs,
    ) -> Result<()> {
        if key == BUSINESS_DAY_CUTOFF_KEY || key == BUSINESS_DAY_OFFSET_KEY {
            return Err(LedgerError::Invalid {
                path: self.path.clone(),
                what: "the business-day rule is changed with set_business_day_rule".to_owned(),
            });
        }
        self.write(|tx, _| settings::set(tx, key, value, actor, at_ms))
    }

    pub fn setting_history(&self, key: &str) -> Result<Vec<SettingChange>> {
        self.read(|conn| settings::history(conn, key))
    }

    /// Records a manager action that is not itself a state step (sign-off, export…).
    pub fn record_audit(&self, entry: &AuditEntry) -> Result<i64> {
        self.write(|tx, _| audit::append(tx, entry))
    }

    /// Records an action that printed the chain head `head` (an export, a shift end) and
    /// keeps that head with it, for `verify_chain` to compare later.
    pub fn record_audit_at_head(
        &self,
        entry: &AuditEntry,
        head: Option<&ChainAnchor>,
    ) -> Result<i64> {
        self.write(|tx, _| audit::append_at_head(tx, entry, head))
    }

    /// Keeps a reconciliation run (its whole report) and returns its id.
    pub fn record_reconciliation(&self, run: &NewReconciliation) -> Result<i64> {
        self.write(|tx, _| reconciliations::insert(tx, run))
    }

    /// A manager signs a reconciliation off; the ledger's chain head is kept with it, and
    /// the sign-off is an audit event in the same commit. Signing twice is refused.
    /// Answers the head kept, to show the manager.
    pub fn sign_off(
        &self,
        reconciliation_id: i64,
        manager: &str,
        note: Option<&str>,
        at_ms: UnixMs,
    ) -> Result<ChainAnchor> {
        self.write(|tx, _| {
            let head = events::head(tx)?;
            let anchor = ChainAnchor {
                id: head.last_id,
                hash: head.last_hash.clone(),
            };
            reconciliations::sign(
                tx,
                reconciliation_id,
                &SignOff {
                    signed_ms: at_ms,
                    manager: manager.to_owned(),
                    note: note.map(str::to_owned),
                    chain_head_id: Some(head.last_id),
                    chain_head_hash: Some(head.last_hash),
                },
            )?;
            audit::append(
                tx,
                &AuditEntry {
                    time_ms: at_ms,
                    actor: Actor::Manager(manager.to_owned()),
                    action: "sign_off_day".into(),
                    subject: Some(format!("reconciliation {reconciliation_id}")),
                    detail: note.map(str::to_owned),
                },
            )?;
            Ok(anchor)
        })
    }

    /// One reconciliation run by its id, with its sign-off.
    pub fn reconciliation(&self, id: i64) -> Result<StoredReconciliation> {
        self.read(|conn| reconciliations::by_id(conn, id))
    }

    /// Every reconciliation run of one day and channel, oldest first, with sign-offs.
    pub fn reconciliations(
        &self,
        day: BusinessDay,
        channel: ChannelKind,
    ) -> Result<Vec<StoredReconciliation>> {
        self.read(|conn| reconciliations::of_day(conn, day, channel))
    }

    /// Audit entries with `from_ms <= time_ms < to_ms`, oldest first.
    pub fn audit_between(&self, from_ms: UnixMs, to_ms: UnixMs) -> Result<Vec<AuditRecord>> {
        self.read(|conn| audit::between(conn, from_ms, to_ms))
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!("the ledger did not close cleanly: {e}");
        }
    }
}

fn not_found_attempt(id: &AttemptId) -> Failure {
    Failure::NotFound {
        what: "attempt",
        id: id.to_string(),
    }
}

/// The longest code the ledger accepts: far above any channel's (Douyin short links are
/// the longest), low enough that a stuck scanner cannot fill the disk.
const MAX_CODE_CHARS: usize = 2048;
/// The longest cashier name any writer may store (the desk's own limit is narrower).
const MAX_CASHIER_CHARS: usize = 100;

fn validate_new_attempt(new: &NewAttempt) -> Result<(), Failure> {
    let invalid = |what: &str| Err(Failure::Invalid(what.to_owned()));
    if new.code.trim().is_empty() {
        return invalid("the code is empty");
    }
    if new.code.chars().count() > MAX_CODE_CHARS {
        return invalid("the code is longer than 2048 characters");
    }
    if new.code.chars().any(char::is_control) {
        return invalid("the code contains control characters");
    }
    if new.count == 0 {
        return invalid("the count must be at least 1");
    }
    if new.cashier.trim().is_empty() {
        return invalid("an attempt needs the cashier's name");
    }
    // The desk takes the name from the open shift, already within its 20 characters; this
    // is the backstop for any other writer (as wide as the outbox's), so no row can break
    // an export (issue 18 item 7).
    if new.cashier.chars().count() > MAX_CASHIER_CHARS {
        return invalid("the cashier's name is longer than 100 characters");
    }
    if new.channel == ChannelKind::Yhtd {
        return invalid("增值券 sales are notifications (enqueue_notification), not redemptions");
    }
    match (new.channel, new.platform) {
        (ChannelKind::Allinpay, None) => return invalid("an allinpay attempt needs its platform"),
        (c, Some(_)) if c != ChannelKind::Allinpay => {
            return invalid("only allinpay attempts have a platform")
        }
        _ => {}
    }
    if new.face_value.is_some_and(|f| f.0 < 0) || new.price.is_some_and(|f| f.0 < 0) {
        return invalid("amounts cannot be negative");
    }
    Ok(())
}

fn record_in(tx: &Transaction<'_>, id: &AttemptId, t: &Transition) -> Result<Attempt, Failure> {
    let mut attempt = attempts::get(tx, id.as_str())?.ok_or_else(|| not_found_attempt(id))?;
    let subject = format!("attempt {id}");
    state::check_attempt_step(&subject, attempt.state, t.to, &t.actor, t.reason.as_deref())?;
    let from = attempt.state;
    // A success is worth the channel's figure, else what the preview said × count.
    let face_value = match t.to {
        AttemptState::Succeeded => t.amounts.face_value.or_else(|| {
            attempt
                .face_value
                .map(|f| Fen(f.0 * i64::from(attempt.count)))
        }),
        _ => t.amounts.face_value,
    };
    let seq = events::next_seq(tx, Subject::Attempt(id.as_str()))?;
    let mut head = events::head(tx)?;
    events::append(
        tx,
        &mut head,
        NewEvent {
            reason: t.reason.as_deref(),
            channel_ids: &t.channel_ids,
            face_value,
            settled: t.amounts.settled,
            exchange: &t.exchange,
            ..NewEvent::step(
                Subject::Attempt(id.as_str()),
                seq,
                t.to.as_str(),
                t.at_ms,
                &t.actor,
            )
        },
    )?;
    // The cache holds the success's figures; an undo keeps them (the totals drop a
    // cancelled attempt by its state) so the timeline still shows what was undone.
    let (settled_face, settled) = match t.to {
        AttemptState::Succeeded => (face_value, t.amounts.settled),
        AttemptState::Cancelled => (attempt.settled_face_value, attempt.settled),
        _ => (None, None),
    };
    attempts::set_cache(tx, id.as_str(), t.to, t.at_ms, settled_face, settled)?;
    if t.to == AttemptState::Unknown {
        schedule::start(tx, id.as_str(), t.at_ms + resolver_backoff(0))?;
    }
    if from == AttemptState::Unknown {
        schedule::stop(tx, id.as_str())?;
    }
    if let Actor::Manager(_) = &t.actor {
        audit::append(
            tx,
            &AuditEntry {
                time_ms: t.at_ms,
                actor: t.actor.clone(),
                action: if t.to == AttemptState::Cancelled {
                    "undo"
                } else {
                    "decide_unknown"
                }
                .to_owned(),
                subject: Some(id.to_string()),
                detail: Some(format!(
                    "{}: {}",
                    t.to.as_str(),
                    t.reason.as_deref().unwrap_or("")
                )),
            },
        )?;
    }
    attempt.state = t.to;
    attempt.state_ms = t.at_ms;
    attempt.settled_face_value = settled_face;
    attempt.settled = settled;
    Ok(attempt)
}

#[allow(clippy::too_many_arguments)]
fn step_notification(
    tx: &Transaction<'_>,
    id: &NotificationId,
    to: NotificationState,
    at_ms: UnixMs,
    actor: &Actor,
    reason: Option<&str>,
    exchange: &Exchange,
    counts_as_try: bool,
    next_retry: impl FnOnce(&Notification) -> Option<UnixMs>,
) -> Result<Notification, Failure> {
    let mut n = notifications::get(tx, id.as_str())?.ok_or_else(|| Failure::NotFound {
        what: "notification",
        id: id.to_string(),
    })?;
    state::check_notification_step(&format!("notification {id}"), n.state, to)?;
    let next_retry_ms = next_retry(&n);
    let seq = events::next_seq(tx, Subject::Notification(id.as_str()))?;
    let mut head = events::head(tx)?;
    events::append(
        tx,
        &mut head,
        NewEvent {
            reason,
            exchange,
            ..NewEvent::step(
                Subject::Notification(id.as_str()),
                seq,
                to.as_str(),
                at_ms,
                actor,
            )
        },
    )?;
    if counts_as_try {
        n.attempts += 1;
    }
    let last_error = match to {
        NotificationState::Delivered => None,
        _ => reason.map(str::to_owned).or(n.last_error.take()),
    };
    notifications::set_cache(
        tx,
        id.as_str(),
        to,
        at_ms,
        n.attempts,
        next_retry_ms,
        last_error.as_deref(),
    )?;
    n.state = to;
    n.state_ms = at_ms;
    n.next_retry_ms = next_retry_ms;
    n.last_error = last_error;
    Ok(n)
}
