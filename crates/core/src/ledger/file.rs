//! The ledger as files on a disk: how a new one is created, how it is closed, when its WAL is
//! folded back in, and the head sidecar that remembers how long it was.
//!
//! Invariants:
//! - A ledger file is created only under a name nobody else holds: it is built in a temp file
//!   opened with `create_new`, then linked into place (`link(2)` fails if the name exists).
//!   An existing file is never initialised, whatever it holds: 0 bytes or no tables is damage.
//! - At idle (no write for [`LedgerOptions::checkpoint_after_idle`]) and at close the WAL is
//!   checkpointed with TRUNCATE, so the main file alone holds the ledger and a lost `-wal`
//!   loses nothing. The checkpoint runs on the keeper thread, never inside a redemption.
//! - `<ledger>.head` holds the last head seen (last event id and hash, the settings and audit
//!   row counts). It is only ever behind the ledger: rewritten after each write seen by the
//!   keeper (no fsync: it protects against a lost `-wal` after a process kill), after each
//!   checkpoint and at close (fsync). Opening a ledger that holds less is refused
//!   (`BehindHead`), so a deleted `-wal` or an older copy is said, not silently accepted.
//!
//! [`LedgerOptions::checkpoint_after_idle`]: super::LedgerOptions

use super::error::{sql_error, Failure};
use super::{Inner, LedgerError, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The sidecar beside a ledger file: `ledger-live.sqlite` → `ledger-live.sqlite.head`.
pub fn head_path(ledger: &Path) -> PathBuf {
    sibling(ledger, ".head")
}

/// SQLite's write-ahead log beside a ledger file.
pub fn wal_path(ledger: &Path) -> PathBuf {
    sibling(ledger, "-wal")
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

// ----- the head ---------------------------------------------------------------------------

/// How long the ledger was: every count only grows (the tables are insert-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The last event's id (ids start at 1 and have no gaps: the event count).
    pub events: i64,
    /// The last event's hash, or empty for a ledger without events.
    pub hash: String,
    pub settings: i64,
    pub audit: i64,
}

impl Head {
    pub(crate) fn of(conn: &Connection) -> Result<Head, Failure> {
        Ok(conn.query_row(
            "SELECT (SELECT ifnull(max(id), 0) FROM events),
                    (SELECT hash FROM events ORDER BY id DESC LIMIT 1),
                    (SELECT ifnull(max(id), 0) FROM settings),
                    (SELECT ifnull(max(id), 0) FROM audit)",
            [],
            |r| {
                Ok(Head {
                    events: r.get(0)?,
                    hash: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    settings: r.get(2)?,
                    audit: r.get(3)?,
                })
            },
        )?)
    }

    fn to_text(&self) -> String {
        format!(
            "# RedeemDesk: what this ledger held when last seen; a shorter ledger is refused\n\
             events {}\nhash {}\nsettings {}\naudit {}\n",
            self.events, self.hash, self.settings, self.audit
        )
    }

    fn parse(text: &str) -> Option<Head> {
        let mut head = Head {
            events: -1,
            hash: String::new(),
            settings: -1,
            audit: -1,
        };
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (key, value) = line.split_once(' ')?;
            match key {
                "events" => head.events = value.parse().ok()?,
                "hash" => head.hash = value.to_owned(),
                "settings" => head.settings = value.parse().ok()?,
                "audit" => head.audit = value.parse().ok()?,
                _ => return None,
            }
        }
        (head.events >= 0 && head.settings >= 0 && head.audit >= 0).then_some(head)
    }

    fn short_hash(&self) -> &str {
        &self.hash[..self.hash.len().min(12)]
    }
}

/// Reads the sidecar of `ledger`: `None` when there is none. A sidecar that cannot be read
/// is damage too: refusing is safer than guessing that nothing was lost.
pub(crate) fn read_head(ledger: &Path) -> Result<Option<Head>> {
    let path = head_path(ledger);
    match fs::read_to_string(&path) {
        Ok(text) => Head::parse(&text).map(Some).ok_or(LedgerError::Corrupt {
            path,
            detail: "the head sidecar cannot be read".to_owned(),
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LedgerError::Corrupt {
            path,
            detail: e.to_string(),
        }),
    }
}

/// Writes the sidecar atomically (temp file, rename); with `durable` also fsyncs the file
/// and its directory.
pub(crate) fn write_head(ledger: &Path, head: &Head, durable: bool) -> std::io::Result<()> {
    let path = head_path(ledger);
    let tmp = sibling(&path, ".tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(head.to_text().as_bytes())?;
    if durable {
        f.sync_all()?;
    }
    drop(f);
    fs::rename(&tmp, &path)?;
    if durable {
        sync_dir(&path)?;
    }
    Ok(())
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        #[cfg(unix)]
        Some(dir) => File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?
        .sync_all(),
        _ => Ok(()),
    }
}

/// Refuses a ledger that holds less than its sidecar says it held: records were lost (a
/// deleted `-wal`, an older copy put back) or rewritten.
pub(crate) fn check_head(path: &Path, conn: &Connection, recorded: &Head) -> Result<Head> {
    let at = |f: Failure| f.at(path);
    let found = Head::of(conn).map_err(at)?;
    let hash_then: Option<String> = if recorded.events > 0 {
        conn.query_row(
            "SELECT hash FROM events WHERE id = ?1",
            [recorded.events],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| sql_error(path.to_owned(), e))?
    } else {
        Some(String::new())
    };
    let behind = found.events < recorded.events
        || found.settings < recorded.settings
        || found.audit < recorded.audit
        || hash_then.as_deref() != Some(recorded.hash.as_str());
    if behind {
        return Err(behind_head(path, recorded, &found));
    }
    Ok(found)
}

fn behind_head(path: &Path, recorded: &Head, found: &Head) -> LedgerError {
    LedgerError::BehindHead {
        path: path.to_owned(),
        recorded_events: recorded.events,
        recorded_hash: recorded.short_hash().to_owned(),
        found_events: found.events,
        recorded_settings: recorded.settings,
        found_settings: found.settings,
    }
}

/// A ledger file that is missing while its sidecar says it held something: refused, so a
/// lost file is never silently replaced by an empty one.
pub(crate) fn check_missing(path: &Path) -> Result<()> {
    match read_head(path)? {
        Some(recorded) if recorded.events > 0 || recorded.settings > 0 || recorded.audit > 0 => {
            let nothing = Head {
                events: 0,
                hash: String::new(),
                settings: 0,
                audit: 0,
            };
            Err(behind_head(path, &recorded, &nothing))
        }
        _ => Ok(()),
    }
}

// ----- creating ---------------------------------------------------------------------------

/// Makes a new, initialised ledger at `path`, which must not exist. `init` gets a
/// connection on an empty temp file and sets it up (WAL, migrations, mode); the result is
/// linked into place only when complete, so a crash leaves no half-made ledger behind.
/// Returns `false` when another process created `path` meanwhile (then nothing was done).
pub(crate) fn create(path: &Path, init: impl FnOnce(Connection) -> Result<()>) -> Result<bool> {
    let cannot = |source: Option<rusqlite::Error>| LedgerError::CannotOpen {
        path: path.to_owned(),
        source,
    };
    let tmp = sibling(path, &format!(".creating-{}", std::process::id()));
    let _ = fs::remove_file(&tmp); // only this process's own leftover has this name
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| io_error(path, e))?;
    drop(file);
    let made = (|| {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&tmp, flags).map_err(|e| sql_error(path.to_owned(), e))?;
        init(conn)?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_error(path, e))?;
        // link(2) is the exclusive create of a name that already has content.
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(_) => copy_new(&tmp, path).map_err(|e| io_error(path, e)),
        }
    })();
    let _ = fs::remove_file(&tmp);
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(sibling(&tmp, suffix));
    }
    let made = made?;
    sync_dir(path).map_err(|_| cannot(None))?;
    Ok(made)
}

/// Where hard links are not supported (FAT): an exclusive create and a copy.
fn copy_new(from: &Path, to: &Path) -> std::io::Result<bool> {
    let mut out = match OpenOptions::new().write(true).create_new(true).open(to) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    };
    out.write_all(&fs::read(from)?)?;
    out.sync_all()?;
    Ok(true)
}

fn io_error(path: &Path, e: std::io::Error) -> LedgerError {
    match e.kind() {
        ErrorKind::ReadOnlyFilesystem => LedgerError::ReadOnly {
            path: path.to_owned(),
            source: None,
        },
        _ => LedgerError::CannotOpen {
            path: path.to_owned(),
            source: None,
        },
    }
}

/// An existing file that SQLite would happily treat as an empty database.
pub(crate) fn refuse_empty(path: &Path) -> Result<()> {
    let len = fs::metadata(path).map_err(|e| io_error(path, e))?.len();
    if len == 0 {
        return Err(LedgerError::Corrupt {
            path: path.to_owned(),
            detail: "the file is empty (0 bytes): a ledger always holds its tables".to_owned(),
        });
    }
    Ok(())
}

// ----- reading an archive -----------------------------------------------------------------

/// Opens `path` for reading as an immutable file (`?immutable=1`): no lock, no `-shm`, no
/// `-wal` is created or read, nothing beside it is touched. For a copy on read-only media.
/// Refused when a `-wal` with content lies beside it: its records would be invisible.
pub(crate) fn open_immutable(path: &Path) -> Result<Connection> {
    if fs::metadata(wal_path(path)).is_ok_and(|m| m.len() > 0) {
        return Err(LedgerError::WalNotCheckpointed {
            path: path.to_owned(),
        });
    }
    refuse_empty(path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(immutable_uri(path), flags)
        .map_err(|e| sql_error(path.to_owned(), e))
}

/// `file:` URI of a path, percent-encoding everything but unreserved characters and `/`.
fn immutable_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut uri = String::from("file:");
    for b in absolute.as_os_str().as_encoded_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(*b))
            }
            _ => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

// ----- checkpoints and the keeper ---------------------------------------------------------

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Folds the WAL into the main file and truncates it, then records the head durably.
/// Returns whether the WAL is now empty (a reader's old snapshot can hold part of it back;
/// the next idle moment tries again). `wait` is how long to wait for readers.
pub(crate) fn checkpoint(path: &Path, inner: &mut Inner, wait: Duration) -> Result<bool> {
    let conn = &inner.conn;
    let err = |e| sql_error(path.to_owned(), e);
    conn.busy_timeout(wait).map_err(err)?;
    let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    });
    conn.busy_timeout(inner.busy_timeout).map_err(err)?;
    let complete = done.map_err(err)? == 0;
    let head = Head::of(conn).map_err(|f| f.at(path))?;
    write_head(path, &head, true).map_err(|e| io_error(path, e))?;
    Ok(complete)
}

#[derive(Debug, Default)]
struct Activity {
    writes: u64,
    stop: bool,
}

/// The background thread of a writable ledger: notes the head after writes, checkpoints at
/// idle. Stopped (and joined) by `stop`, before the ledger closes.
#[derive(Debug)]
pub(crate) struct Keeper {
    activity: Arc<(Mutex<Activity>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Keeper {
    pub(crate) fn start(path: PathBuf, inner: Arc<Mutex<Inner>>, idle: Duration) -> Keeper {
        let activity = Arc::new((Mutex::new(Activity::default()), Condvar::new()));
        let shared = activity.clone();
        let thread = std::thread::Builder::new()
            .name("ledger-keeper".to_owned())
            .spawn(move || keep(&path, &inner, &shared, idle))
            .map_err(|e| tracing::warn!("no idle checkpoints for the ledger: {e}"))
            .ok();
        Keeper {
            activity,
            thread: Mutex::new(thread),
        }
    }

    /// Called after every commit: a counter and a wake-up, nothing that waits.
    pub(crate) fn wrote(&self) {
        lock(&self.activity.0).writes += 1;
        self.activity.1.notify_one();
    }

    pub(crate) fn stop(&self) {
        lock(&self.activity.0).stop = true;
        self.activity.1.notify_one();
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

enum Wake {
    Wrote,
    Idle,
    Stop,
}

fn next_wake(
    activity: &(Mutex<Activity>, Condvar),
    seen: &mut u64,
    dirty: bool,
    idle: Duration,
) -> Wake {
    let deadline = Instant::now() + idle;
    let mut state = lock(&activity.0);
    loop {
        if state.stop {
            return Wake::Stop;
        }
        if state.writes != *seen {
            *seen = state.writes;
            return Wake::Wrote;
        }
        if !dirty {
            state = activity
                .1
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            continue;
        }
        let now = Instant::now();
        if now >= deadline {
            return Wake::Idle;
        }
        state = activity
            .1
            .wait_timeout(state, deadline - now)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

fn keep(path: &Path, inner: &Mutex<Inner>, activity: &(Mutex<Activity>, Condvar), idle: Duration) {
    let mut seen = 0;
    let mut dirty = false;
    loop {
        match next_wake(activity, &mut seen, dirty, idle) {
            Wake::Stop => return,
            Wake::Wrote => {
                dirty = true;
                let head = {
                    let inner = lock(inner);
                    if inner.closed {
                        return;
                    }
                    Head::of(&inner.conn)
                };
                match head {
                    Ok(head) => {
                        if let Err(e) = write_head(path, &head, false) {
                            tracing::warn!("the ledger head sidecar was not written: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("the ledger head was not read: {}", e.at(path)),
                }
            }
            Wake::Idle => {
                let mut inner = lock(inner);
                if inner.closed {
                    return;
                }
                // No waiting for readers: a scan must not queue behind the checkpoint.
                match checkpoint(path, &mut inner, Duration::ZERO) {
                    Ok(complete) => dirty = !complete,
                    Err(e) => tracing::warn!("idle checkpoint failed: {e}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_reads_back_as_written_and_garbage_is_not_a_head() {
        let head = Head {
            events: 42,
            hash: "ab".repeat(32),
            settings: 3,
            audit: 7,
        };
        assert_eq!(Head::parse(&head.to_text()), Some(head));
        assert_eq!(
            Head::parse("events 1\nhash x\n"),
            None,
            "every count is needed"
        );
        assert_eq!(Head::parse("events -\nhash x\nsettings 1\naudit 1\n"), None);
    }

    #[test]
    fn an_immutable_uri_escapes_what_sqlite_would_read_as_query_or_fragment() {
        let uri = immutable_uri(Path::new("/media/cd/店 1?#%.sqlite"));
        assert_eq!(
            uri, "file:/media/cd/%E5%BA%97%201%3F%23%25.sqlite?immutable=1",
            "a ? or # in a folder name must not cut the path short"
        );
    }
}
