//! The ledger's story: opening files good and bad, the write-ahead redeem, the state
//! machine, the resolver's persisted schedule, the outbox, the manager's queries and the
//! hash chain catching edits made behind the ledger's back.

use redeemdesk_core::app_info::Mode;
use redeemdesk_core::business_day::{BusinessDay, BusinessDayRule};
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::ledger::generate::{self, Synthetic};
use redeemdesk_core::ledger::{
    self, resolver_backoff, Actor, Amounts, AttemptId, AttemptState, AuditEntry, BreakProblem,
    ChainRow, Check, CodeFilter, DayFilter, DeliveryAttempt, DeliveryResult, Exchange, Ledger,
    LedgerError, LedgerOptions, NewAttempt, NewNotification, NotificationState, Platform,
    Transition, RESOLVER_INBOX_AFTER_TRIES, RESOLVER_MAX_BACKOFF_MS,
};
use redeemdesk_core::money::Fen;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// 2026-11-22 12:03 at +08:00.
const NOON: i64 = 1_795_305_600_000 + 4 * 3_600_000 + 3 * 60_000;
const MINUTE: i64 = 60_000;

fn day(s: &str) -> BusinessDay {
    s.parse().unwrap()
}

fn temp_ledger() -> (tempfile::TempDir, PathBuf, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::file_name(Mode::Sandbox));
    let l = Ledger::open(&path, Mode::Sandbox).expect("a fresh file opens");
    (dir, path, l)
}

fn memory() -> Ledger {
    Ledger::open_in_memory(Mode::Sandbox).unwrap()
}

fn attempt(channel: ChannelKind, code: &str, at_ms: i64) -> NewAttempt {
    NewAttempt {
        created_ms: at_ms,
        channel,
        platform: (channel == ChannelKind::Allinpay).then_some(Platform::Meituan),
        code: code.to_owned(),
        count: 1,
        cashier: "王芳".to_owned(),
        face_value: Some(Fen(1_000)),
        price: Some(Fen(10)),
        remaining_before: None,
        prepare: Exchange::default(),
    }
}

fn cashier() -> Actor {
    Actor::Cashier("王芳".to_owned())
}

fn manager() -> Actor {
    Actor::Manager("李店长".to_owned())
}

fn succeed(l: &Ledger, id: &AttemptId, at: i64) {
    l.record(
        id,
        Transition::new(AttemptState::Succeeded, at, cashier())
            .channel_id("order_no", "WO123")
            .amounts(Amounts {
                face_value: None,
                settled: Some(Fen(900)),
            }),
    )
    .expect("pending → succeeded is legal");
}

fn raw(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

fn event_count(path: &Path) -> i64 {
    raw(path)
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap()
}

// ----- opening ---------------------------------------------------------------------------

#[test]
fn each_mode_has_its_own_file_name() {
    assert_eq!(ledger::file_name(Mode::Sandbox), "ledger-sandbox.sqlite");
    assert_eq!(ledger::file_name(Mode::Live), "ledger-live.sqlite");
}

#[test]
fn a_fresh_ledger_is_in_wal_mode_and_records_its_mode() {
    let (_dir, path, l) = temp_ledger();
    let conn = raw(&path);
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal", "WAL is persistent in the file, set at open");
    let mode: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'mode'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(mode, "sandbox", "the mode is stored at creation");
    assert_eq!(l.mode(), Mode::Sandbox);
    drop(l);
    assert!(
        Ledger::open(&path, Mode::Sandbox).is_ok(),
        "reopening in the same mode works"
    );
}

#[test]
fn opening_a_sandbox_file_as_live_is_refused() {
    let (_dir, path, l) = temp_ledger();
    drop(l);
    let err = Ledger::open(&path, Mode::Live).unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::ModeMismatch {
                expected: Mode::Live,
                found: Mode::Sandbox,
                ..
            }
        ),
        "sandbox records must never appear in a live ledger: {err}"
    );
    assert_eq!(err.code(), "ledger_mode_mismatch");
    assert!(
        err.to_string().contains("ledger-sandbox.sqlite"),
        "the message names the file: {err}"
    );
}

#[test]
fn a_file_of_garbage_is_corrupt_and_left_byte_for_byte_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger-live.sqlite");
    let garbage: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Ledger::open(&path, Mode::Live).unwrap_err();
    assert_eq!(err.code(), "ledger_corrupt", "{err}");
    assert!(
        err.to_string().contains("ledger-live.sqlite"),
        "the message names the file: {err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "a damaged ledger may be the only record of a day: never overwrite it"
    );
    assert!(
        Ledger::open(&path, Mode::Live).is_err(),
        "and a second try does not recreate it"
    );
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn a_foreign_sqlite_database_is_not_migrated_into() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.sqlite");
    raw(&path)
        .execute_batch("CREATE TABLE orders (id INTEGER);")
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Ledger::open(&path, Mode::Live).unwrap_err();
    assert_eq!(err.code(), "ledger_not_a_ledger", "{err}");
    let tables: i64 = raw(&path)
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'attempts'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        tables, 0,
        "no ledger tables were added to someone else's database"
    );
    assert_eq!(std::fs::read(&path).unwrap().len(), before.len());
}

#[test]
fn a_ledger_from_a_newer_program_is_refused() {
    let (_dir, path, l) = temp_ledger();
    drop(l);
    raw(&path).pragma_update(None, "user_version", 999).unwrap();
    let err = Ledger::open(&path, Mode::Sandbox).unwrap_err();
    assert!(
        matches!(err, LedgerError::TooNew { found: 999, .. }),
        "{err}"
    );
    assert_eq!(err.code(), "ledger_too_new");
}

#[test]
fn a_ledger_another_program_holds_is_reported_as_locked() {
    let (_dir, path, l) = temp_ledger();
    drop(l);
    let other = raw(&path);
    other.execute_batch("BEGIN EXCLUSIVE;").unwrap();
    let opts = LedgerOptions {
        busy_timeout: Duration::from_millis(100),
        ..LedgerOptions::default()
    };
    let err = Ledger::open_with(&path, Mode::Sandbox, opts.clone()).unwrap_err();
    assert_eq!(err.code(), "ledger_locked", "{err}");
    assert!(err.to_string().contains("locked"), "{err}");
    other.execute_batch("COMMIT;").unwrap();
    assert!(
        Ledger::open_with(&path, Mode::Sandbox, opts).is_ok(),
        "free once the other lets go"
    );
}

#[test]
fn a_write_while_another_connection_holds_the_lock_is_locked_not_lost() {
    let (_dir, path, _) = temp_ledger();
    let l = Ledger::open_with(
        &path,
        Mode::Sandbox,
        LedgerOptions {
            busy_timeout: Duration::from_millis(100),
            ..LedgerOptions::default()
        },
    )
    .unwrap();
    let other = raw(&path);
    other.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let err = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .unwrap_err();
    assert_eq!(
        err.code(),
        "ledger_locked",
        "the cashier is told, nothing is half-written: {err}"
    );
    other.execute_batch("ROLLBACK;").unwrap();
    assert!(l
        .begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .is_ok());
}

#[cfg(unix)]
#[test]
fn the_ledger_its_wal_and_shm_are_0600_when_created_and_after_a_start() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let (_dir, path, l) = temp_ledger();
    l.begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .unwrap();
    let files = redeemdesk_core::file_modes::ledger_files(&path);
    for f in &files {
        assert_eq!(mode(f), 0o600, "{} holds PIN hashes and codes", f.display());
    }
    drop(l);
    // A ledger left at 0644 by an older version is corrected at the next start.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let l = Ledger::open(&path, Mode::Sandbox).unwrap();
    l.begin_attempt(attempt(ChannelKind::Shoubei, "6796", NOON))
        .unwrap();
    for f in &files {
        assert_eq!(mode(f), 0o600, "{} is corrected at start", f.display());
    }
}

#[cfg(unix)]
#[test]
fn a_read_only_file_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path, l) = temp_ledger();
    drop(l);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // root ignores permission bits; then there is nothing to observe here (the read-only
    // connection test below covers the mapping).
    if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
        return;
    }
    let err = Ledger::open(&path, Mode::Sandbox).unwrap_err();
    assert!(
        matches!(err.code(), "ledger_read_only" | "ledger_cannot_open"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_is_a_clear_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::File::create(ro.join("probe")).is_ok() {
        return; // root
    }
    let err = Ledger::open(&ro.join("ledger-live.sqlite"), Mode::Live).unwrap_err();
    assert!(
        matches!(err.code(), "ledger_read_only" | "ledger_cannot_open"),
        "{err}"
    );
}

#[test]
fn writing_to_a_ledger_opened_read_only_is_refused_as_read_only() {
    let (_dir, path, l) = temp_ledger();
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .unwrap();
    let ro =
        Ledger::open_read_only(&path, Mode::Sandbox).expect("an existing ledger opens read-only");
    assert_eq!(ro.attempt(&id).unwrap().unwrap().code, "6795", "reads work");
    let err = ro
        .begin_attempt(attempt(ChannelKind::Shoubei, "1", NOON))
        .unwrap_err();
    assert_eq!(err.code(), "ledger_read_only", "{err}");
    assert!(err.to_string().contains("ledger-sandbox.sqlite"), "{err}");
}

#[test]
fn a_directory_where_the_file_should_be_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let err = Ledger::open(dir.path(), Mode::Live).unwrap_err();
    assert_eq!(err.code(), "ledger_cannot_open", "{err}");
}

#[test]
fn quick_check_passes_on_a_healthy_ledger() {
    let (_dir, _path, l) = temp_ledger();
    l.begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .unwrap();
    l.quick_check().expect("a fresh ledger is healthy");
    memory().quick_check().expect("in memory too");
}

#[test]
fn quick_check_reports_damage_inside_the_file_and_changes_nothing() {
    let (_dir, path, l) = temp_ledger();
    let g = generate::fill(
        &l,
        &Synthetic {
            attempts: 2_000,
            first_day: day("2026-11-01"),
            per_day: 500,
            seed: 7,
        },
    )
    .unwrap();
    assert_eq!(g.attempts, 2_000);
    drop(l);
    // Fold the WAL into the main file so the damage below is what SQLite reads.
    raw(&path)
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(
        bytes.len() > 40 * page,
        "enough pages to damage one in the middle"
    );
    let middle = bytes.len() / page / 2 * page;
    for b in &mut bytes[middle..middle + page] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    match Ledger::open(&path, Mode::Sandbox) {
        Ok(l) => {
            let err = l.quick_check().unwrap_err();
            assert_eq!(err.code(), "ledger_corrupt", "{err}");
            drop(l);
        }
        Err(err) => assert_eq!(err.code(), "ledger_corrupt", "{err}"),
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "checking never repairs or rewrites"
    );
}

#[test]
fn the_ledger_can_be_shared_between_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Ledger>();
    let l = std::sync::Arc::new(memory());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let id = l
                        .begin_attempt(attempt(ChannelKind::Zvcms, &format!("{t}-{i}"), NOON))
                        .unwrap();
                    succeed(&l, &id, NOON + 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(l.recent_attempts(None, 1_000).unwrap().len(), 100);
    assert!(
        l.verify_chain().unwrap().is_intact(),
        "concurrent writers keep one unbroken chain"
    );
}

// ----- the file on disk: WAL, clean close, head sidecar, archives ------------------------

/// The child of the kill tests: this test binary run again with `LEDGER_CHILD_PATH` set.
/// It writes `LEDGER_CHILD_ATTEMPTS` attempts through the real `Ledger`, says so on stdout
/// and waits to be killed (without it set, this test does nothing).
#[test]
fn child_writes_attempts_then_waits_to_be_killed() {
    let Ok(path) = std::env::var("LEDGER_CHILD_PATH") else {
        return;
    };
    let idle_ms: u64 = std::env::var("LEDGER_CHILD_IDLE_MS")
        .unwrap()
        .parse()
        .unwrap();
    let n: i64 = std::env::var("LEDGER_CHILD_ATTEMPTS")
        .unwrap()
        .parse()
        .unwrap();
    let options = LedgerOptions {
        checkpoint_after_idle: Duration::from_millis(idle_ms),
        ..LedgerOptions::default()
    };
    let l = Ledger::open_with(Path::new(&path), Mode::Sandbox, options).unwrap();
    for i in 0..n {
        let id = l
            .begin_attempt(attempt(ChannelKind::Shoubei, &format!("K{i}"), NOON + i))
            .unwrap();
        succeed(&l, &id, NOON + i);
    }
    println!("wrote {n}");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Runs the child on `path`, waits until it has written, then `settle` more, and SIGKILLs it.
fn write_in_a_child_and_kill_it(path: &Path, attempts: i64, idle_ms: u64, settle: Duration) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writes_attempts_then_waits_to_be_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LEDGER_CHILD_PATH", path)
        .env("LEDGER_CHILD_IDLE_MS", idle_ms.to_string())
        .env("LEDGER_CHILD_ATTEMPTS", attempts.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let wrote = stdout
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("wrote "));
    assert!(wrote, "the child wrote its attempts");
    std::thread::sleep(settle);
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on unix: no destructor runs
    child.wait().unwrap();
}

fn len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn delete_wal(path: &Path) {
    let _ = std::fs::remove_file(ledger::wal_path(path));
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    let _ = std::fs::remove_file(PathBuf::from(shm));
}

#[test]
fn a_killed_writer_whose_wal_is_deleted_is_refused_as_shorter_than_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::file_name(Mode::Sandbox));
    // No idle checkpoint during the test: the day is in the -wal when the kill comes.
    write_in_a_child_and_kill_it(&path, 23, 600_000, Duration::from_millis(300));
    let wal = len(&ledger::wal_path(&path));
    assert!(wal > 0, "the killed writer left its records in the -wal");
    delete_wal(&path);
    let before = std::fs::read(&path).unwrap();
    let err = Ledger::open(&path, Mode::Sandbox).unwrap_err();
    println!("after the kill: -wal {wal} bytes deleted; open: {err}");
    assert_eq!(err.code(), "ledger_behind_head", "{err}");
    assert!(
        matches!(err, LedgerError::BehindHead { recorded_events: 46, found_events, .. } if found_events < 46),
        "23 attempts are 46 events, and the file alone has fewer: {err}"
    );
    assert!(
        std::fs::read(&path).unwrap() == before,
        "the refused file is left as it was, for a restore of its -wal"
    );
    let ro = Ledger::open_read_only(&path, Mode::Sandbox).unwrap();
    assert_eq!(
        ro.check_head().unwrap_err().code(),
        "ledger_behind_head",
        "verify-log's check says it too"
    );
    assert!(
        Ledger::open(&path, Mode::Sandbox).is_err(),
        "a second start does not accept it either"
    );
}

#[test]
fn a_killed_writer_after_an_idle_checkpoint_loses_nothing_when_its_wal_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::file_name(Mode::Sandbox));
    write_in_a_child_and_kill_it(&path, 23, 200, Duration::from_millis(1_500));
    let wal = len(&ledger::wal_path(&path));
    assert_eq!(
        wal, 0,
        "the idle checkpoint truncated the -wal before the kill"
    );
    delete_wal(&path);
    let l = Ledger::open(&path, Mode::Sandbox).expect("nothing was lost: it opens");
    let log = l.day_log(day("2026-11-22"), &DayFilter::default()).unwrap();
    println!(
        "after the idle checkpoint and the kill: -wal {wal} bytes; {} attempts in the main file",
        log.attempts.len()
    );
    assert_eq!(log.attempts.len(), 23, "every attempt is in the main file");
    assert!(
        log.attempts
            .iter()
            .all(|a| a.state == AttemptState::Succeeded),
        "with its outcome"
    );
}

#[test]
fn a_clean_close_leaves_the_whole_ledger_in_the_main_file() {
    let (dir, path, l) = temp_ledger();
    for i in 0..20 {
        let id = l
            .begin_attempt(attempt(ChannelKind::Shoubei, &format!("C{i}"), NOON + i))
            .unwrap();
        succeed(&l, &id, NOON + i);
    }
    assert!(
        len(&ledger::wal_path(&path)) > 0,
        "before the close, the -wal holds the day"
    );
    l.close().expect("a clean close");
    assert!(
        !ledger::wal_path(&path).exists(),
        "no -wal is left to lose after a clean close"
    );
    let err = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "late", NOON))
        .unwrap_err();
    assert_eq!(
        err.code(),
        "ledger_closed",
        "nothing is written after the close"
    );
    // A backup that copies only the .sqlite (and a careless cleanup) loses nothing now.
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(&path, copy.join(ledger::file_name(Mode::Sandbox))).unwrap();
    let c = Ledger::open(&copy.join(ledger::file_name(Mode::Sandbox)), Mode::Sandbox).unwrap();
    assert_eq!(
        c.chain_head().unwrap().unwrap().0,
        40,
        "20 attempts, 40 events"
    );
    let head = std::fs::read_to_string(ledger::head_path(&path)).unwrap();
    assert!(
        head.contains("events 40\n"),
        "the sidecar has the head: {head}"
    );
}

#[test]
fn a_ledger_truncated_to_zero_bytes_is_refused_as_damaged_and_not_reinitialised() {
    let (_dir, path, l) = temp_ledger();
    l.begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .unwrap();
    l.close().unwrap();
    std::fs::File::create(&path).unwrap(); // truncates to 0 bytes
    for _ in 0..2 {
        let err = Ledger::open(&path, Mode::Sandbox).unwrap_err();
        assert_eq!(err.code(), "ledger_corrupt", "{err}");
        assert!(err.to_string().contains("0 bytes"), "{err}");
        assert_eq!(len(&path), 0, "the file was not made into a new ledger");
    }
    assert!(
        !ledger::wal_path(&path).exists(),
        "not even a -wal was started beside it"
    );
}

#[test]
fn a_ledger_file_without_its_tables_is_refused_as_damaged_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::file_name(Mode::Live));
    raw(&path)
        .execute_batch("CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    assert!(!before.is_empty(), "a SQLite file with no tables");
    let err = Ledger::open(&path, Mode::Live).unwrap_err();
    assert_eq!(err.code(), "ledger_corrupt", "{err}");
    assert!(
        std::fs::read(&path).unwrap() == before,
        "never initialised in place, not even switched to WAL"
    );
}

#[test]
fn a_missing_ledger_whose_head_remembers_records_is_not_silently_recreated() {
    let (_dir, path, l) = temp_ledger();
    l.set_setting("manager_pin", Some("hash"), &manager(), NOON)
        .unwrap();
    l.close().unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = Ledger::open(&path, Mode::Sandbox).unwrap_err();
    assert_eq!(err.code(), "ledger_behind_head", "{err}");
    assert!(!path.exists(), "no fresh ledger took the lost one's place");
    std::fs::remove_file(ledger::head_path(&path)).unwrap();
    assert!(
        Ledger::open(&path, Mode::Sandbox).is_ok(),
        "moving the head aside is the knowing way to start anew"
    );
}

#[test]
fn a_new_ledger_is_created_only_where_no_file_exists_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::file_name(Mode::Sandbox));
    Ledger::open(&path, Mode::Sandbox).unwrap().close().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["ledger-sandbox.sqlite", "ledger-sandbox.sqlite.head"],
        "the ledger and its head, nothing half-made"
    );
}

#[test]
fn a_cleanly_closed_ledger_on_read_only_media_reads_without_touching_anything() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path, l) = temp_ledger();
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .unwrap();
    succeed(&l, &id, NOON);
    l.close().unwrap();
    let media = dir.path().join("cd");
    std::fs::create_dir(&media).unwrap();
    let copy = media.join(ledger::file_name(Mode::Sandbox));
    std::fs::copy(&path, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&media, std::fs::Permissions::from_mode(0o555)).unwrap();
    let before = std::fs::read(&copy).unwrap();

    let a = Ledger::open_archive(&copy, Mode::Sandbox).expect("an archive opens");
    let log = a.day_log(day("2026-11-22"), &DayFilter::default()).unwrap();
    assert_eq!(log.attempts.len(), 1, "the day reads");
    assert_eq!(a.code_timeline("6795").unwrap()[0].events.len(), 2);
    assert!(a.verify_chain().unwrap().is_intact(), "the chain verifies");
    a.quick_check().expect("quick_check runs on an archive");
    let err = a
        .begin_attempt(attempt(ChannelKind::Shoubei, "1", NOON))
        .unwrap_err();
    assert_eq!(err.code(), "ledger_read_only", "{err}");
    drop(a);
    // Root ignores the permission bits: what shows nothing was touched is the directory.
    let names: Vec<_> = std::fs::read_dir(&media)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "no -wal, -shm or journal beside the archive: {names:?}"
    );
    assert!(
        std::fs::read(&copy).unwrap() == before,
        "its bytes are unchanged"
    );
    std::fs::set_permissions(&media, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_archive_with_records_left_in_its_wal_is_refused_not_read_short() {
    let (dir, path, l) = temp_ledger();
    l.begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .unwrap();
    let media = dir.path().join("copy");
    std::fs::create_dir(&media).unwrap();
    let copy = media.join(ledger::file_name(Mode::Sandbox));
    std::fs::copy(&path, &copy).unwrap();
    std::fs::copy(ledger::wal_path(&path), ledger::wal_path(&copy)).unwrap();
    let err = Ledger::open_archive(&copy, Mode::Sandbox).unwrap_err();
    assert_eq!(err.code(), "ledger_wal_not_checkpointed", "{err}");
    drop(l);
}

// ----- the redeem write path -------------------------------------------------------------

#[test]
fn begin_attempt_commits_a_pending_attempt_before_anything_else_happens() {
    let (_dir, path, l) = temp_ledger();
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "67952928", NOON))
        .unwrap();
    assert_eq!(
        id.as_str().len(),
        32,
        "the id is the channel's 32-char idempotency key"
    );
    // Another connection sees it at once: it is committed, not buffered.
    let (state, code): (String, String) = raw(&path)
        .query_row(
            "SELECT state, code FROM attempts WHERE id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((state.as_str(), code.as_str()), ("pending", "67952928"));
    let events = l.attempt_events(&id).unwrap();
    assert_eq!(events.len(), 1, "the creating event");
    assert_eq!(events[0].state, AttemptState::Pending);
    assert_eq!(events[0].actor, cashier());
    assert_eq!(
        l.attempt(&id).unwrap().unwrap().business_day,
        day("2026-11-22")
    );
}

#[test]
fn an_attempt_is_booked_on_the_business_day_of_its_creation() {
    let l = memory();
    let four_am = 1_795_305_600_000 - 4 * 3_600_000; // 2026-11-22 04:00 +08:00
    let before = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "a", four_am - MINUTE))
        .unwrap();
    let after = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "b", four_am))
        .unwrap();
    assert_eq!(
        l.attempt(&before).unwrap().unwrap().business_day,
        day("2026-11-21"),
        "03:59 is yesterday"
    );
    assert_eq!(
        l.attempt(&after).unwrap().unwrap().business_day,
        day("2026-11-22"),
        "04:00 is today"
    );
}

/// Counts commit frames in the WAL file: each is one durable commit (an fsync under
/// `synchronous=FULL`).
fn wal_commits(path: &Path) -> usize {
    let wal = std::fs::read(path.with_extension("sqlite-wal")).unwrap_or_default();
    if wal.len() < 32 {
        return 0;
    }
    let page = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
    let mut at = 32;
    let mut commits = 0;
    while at + 24 + page <= wal.len() {
        if u32::from_be_bytes(wal[at + 4..at + 8].try_into().unwrap()) != 0 {
            commits += 1;
        }
        at += 24 + page;
    }
    commits
}

#[test]
fn a_redemption_costs_exactly_two_durable_commits() {
    let (_dir, path, l) = temp_ledger();
    let warm = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "warm", NOON))
        .unwrap();
    succeed(&l, &warm, NOON);
    let before = wal_commits(&path);
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "67952928", NOON))
        .unwrap();
    assert_eq!(
        wal_commits(&path) - before,
        1,
        "the write-ahead pending is one commit"
    );
    succeed(&l, &id, NOON + 900);
    assert_eq!(
        wal_commits(&path) - before,
        2,
        "the outcome is the second; nothing more"
    );
}

#[test]
fn recording_the_outcome_updates_the_cached_state_with_its_event() {
    let l = memory();
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "67952928", NOON))
        .unwrap();
    let exchange = Exchange {
        request: Some(r#"{"coupon_code":"67952928"}"#.into()),
        response: Some(r#"{"result_code":"SUCCESS","order_no":"WO123"}"#.into()),
        http_status: Some(200),
    };
    let now = l
        .record(
            &id,
            Transition::new(AttemptState::Succeeded, NOON + 800, cashier())
                .channel_id("order_no", "WO123")
                .amounts(Amounts {
                    face_value: Some(Fen(1_000)),
                    settled: Some(Fen(950)),
                })
                .exchange(exchange.clone()),
        )
        .unwrap();
    assert_eq!(now.state, AttemptState::Succeeded);
    assert_eq!(now.settled, Some(Fen(950)));
    assert_eq!(
        l.attempt(&id).unwrap().unwrap(),
        now,
        "the returned row is what is stored"
    );
    let events = l.attempt_events(&id).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].state, AttemptState::Succeeded);
    assert_eq!(
        events[1].channel_ids.get("order_no").map(String::as_str),
        Some("WO123")
    );
    assert_eq!(
        events[1].exchange, exchange,
        "the raw answer is kept for disputes"
    );
    assert_eq!(
        events[1].prev_hash, events[0].hash,
        "each event links to the one before"
    );
}

#[test]
fn a_success_without_the_channels_face_value_uses_the_preview_times_count() {
    let l = memory();
    let mut new = attempt(ChannelKind::Liantuofu, "TC1", NOON);
    new.count = 3;
    new.face_value = Some(Fen(500));
    let id = l.begin_attempt(new).unwrap();
    let a = l
        .record(
            &id,
            Transition::new(AttemptState::Succeeded, NOON, cashier()),
        )
        .unwrap();
    assert_eq!(a.settled_face_value, Some(Fen(1_500)), "3 × ¥5.00");
    assert_eq!(a.settled, None, "联拓富 reports no settled amount");
}

#[test]
fn an_undo_can_never_be_applied_twice() {
    let l = memory();
    let id = l
        .begin_attempt(attempt(ChannelKind::Allinpay, "5948", NOON))
        .unwrap();
    succeed(&l, &id, NOON);
    let undo =
        || Transition::new(AttemptState::Cancelled, NOON + MINUTE, manager()).reason("wrong item");
    l.record(&id, undo()).expect("the first undo is legal");
    let head = l.chain_head().unwrap();
    let err = l.record(&id, undo()).unwrap_err();
    assert_eq!(err.code(), "ledger_illegal_transition", "{err}");
    assert!(err.to_string().contains("cancelled"), "{err}");
    assert_eq!(
        l.chain_head().unwrap(),
        head,
        "a refused step writes nothing"
    );
}

#[test]
fn a_decided_attempt_cannot_be_decided_again() {
    let l = memory();
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "1", NOON))
        .unwrap();
    l.record(
        &id,
        Transition::new(AttemptState::Rejected, NOON, cashier()).reason("券码已使用"),
    )
    .unwrap();
    for to in [
        AttemptState::Succeeded,
        AttemptState::Rejected,
        AttemptState::Unknown,
        AttemptState::Pending,
    ] {
        let err = l
            .record(&id, Transition::new(to, NOON, manager()).reason("x"))
            .unwrap_err();
        assert!(
            matches!(err, LedgerError::IllegalTransition { .. }),
            "rejected → {to}: {err}"
        );
    }
    assert_eq!(l.attempt_events(&id).unwrap().len(), 2);
}

#[test]
fn an_undo_needs_a_named_manager_and_a_reason() {
    let l = memory();
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "1", NOON))
        .unwrap();
    succeed(&l, &id, NOON);
    let err = l
        .record(
            &id,
            Transition::new(AttemptState::Cancelled, NOON, manager()),
        )
        .unwrap_err();
    assert_eq!(err.code(), "ledger_reason_required", "{err}");
    let err = l
        .record(
            &id,
            Transition::new(AttemptState::Cancelled, NOON, cashier()).reason("x"),
        )
        .unwrap_err();
    assert_eq!(
        err.code(),
        "ledger_illegal_transition",
        "a cashier cannot undo: {err}"
    );
    let a = l
        .record(
            &id,
            Transition::new(AttemptState::Cancelled, NOON + MINUTE, manager()).reason("顾客退货"),
        )
        .unwrap();
    assert_eq!(a.state, AttemptState::Cancelled);
    let audit = l.audit_between(0, i64::MAX).unwrap();
    assert_eq!(audit.len(), 1, "the undo is in the audit log");
    assert_eq!(audit[0].entry.action, "undo");
    assert_eq!(audit[0].entry.actor, manager());
    assert_eq!(audit[0].entry.subject.as_deref(), Some(id.as_str()));
}

#[test]
fn a_manager_decides_an_unknown_with_a_reason_and_it_is_audited() {
    let l = memory();
    let id = l
        .begin_attempt(attempt(ChannelKind::Zvcms, "Z1", NOON))
        .unwrap();
    l.record(
        &id,
        Transition::new(AttemptState::Unknown, NOON, cashier()).reason("timeout"),
    )
    .unwrap();
    let err = l
        .record(
            &id,
            Transition::new(AttemptState::Succeeded, NOON, manager()),
        )
        .unwrap_err();
    assert_eq!(err.code(), "ledger_reason_required");
    l.record(
        &id,
        Transition::new(AttemptState::Succeeded, NOON + MINUTE, manager())
            .reason("智迈后台显示已核销"),
    )
    .unwrap();
    let events = l.attempt_events(&id).unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        last.actor,
        manager(),
        "the manager's name is on the decision"
    );
    assert_eq!(last.reason.as_deref(), Some("智迈后台显示已核销"));
    assert_eq!(
        l.audit_between(0, i64::MAX).unwrap()[0].entry.action,
        "decide_unknown"
    );
    assert!(
        l.unknowns_due(i64::MAX).unwrap().is_empty(),
        "a decided attempt leaves the schedule"
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let l = memory();
    let cases = vec![
        NewAttempt {
            code: "  ".into(),
            ..attempt(ChannelKind::Shoubei, "", NOON)
        },
        NewAttempt {
            count: 0,
            ..attempt(ChannelKind::Shoubei, "1", NOON)
        },
        NewAttempt {
            code: "12\u{7}34".into(),
            ..attempt(ChannelKind::Shoubei, "", NOON)
        },
        NewAttempt {
            code: "9".repeat(2_049),
            ..attempt(ChannelKind::Shoubei, "", NOON)
        },
        NewAttempt {
            cashier: "".into(),
            ..attempt(ChannelKind::Shoubei, "1", NOON)
        },
        attempt(ChannelKind::Yhtd, "1", NOON),
        NewAttempt {
            platform: None,
            ..attempt(ChannelKind::Allinpay, "1", NOON)
        },
        NewAttempt {
            platform: Some(Platform::Tiktok),
            ..attempt(ChannelKind::Shoubei, "1", NOON)
        },
        NewAttempt {
            face_value: Some(Fen(-1)),
            ..attempt(ChannelKind::Shoubei, "1", NOON)
        },
    ];
    for new in cases {
        let err = l.begin_attempt(new.clone()).unwrap_err();
        assert_eq!(err.code(), "ledger_invalid_input", "{new:?}: {err}");
    }
    assert_eq!(l.chain_head().unwrap(), None, "nothing was written");
    assert!(l.recent_attempts(None, 10).unwrap().is_empty());
}

#[test]
fn sql_and_html_in_a_code_are_stored_and_returned_verbatim() {
    let l = memory();
    for code in [
        "'; DROP TABLE attempts; --",
        "<img src=x onerror=alert(1)>",
        "50%_off",
        "https://v.douyin.com/iRNBho6u/",
    ] {
        let id = l
            .begin_attempt(attempt(ChannelKind::Shoubei, code, NOON))
            .unwrap();
        assert_eq!(l.attempt(&id).unwrap().unwrap().code, code);
        assert_eq!(
            l.code_timeline(code).unwrap().len(),
            1,
            "{code:?} is found exactly"
        );
    }
    let filter = DayFilter {
        code: Some(CodeFilter::Contains("%_".into())),
        ..DayFilter::default()
    };
    let found = l.day_log(day("2026-11-22"), &filter).unwrap().attempts;
    assert_eq!(
        found.len(),
        1,
        "% and _ are literal in a substring search, not wildcards"
    );
    assert_eq!(found[0].code, "50%_off");
}

// ----- start-up and the resolver ---------------------------------------------------------

#[test]
fn after_a_crash_every_pending_attempt_becomes_unknown_and_is_due_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger-live.sqlite");
    let l = Ledger::open(&path, Mode::Live).unwrap();
    let a = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "A", NOON))
        .unwrap();
    let b = l
        .begin_attempt(attempt(ChannelKind::Allinpay, "B", NOON + 1))
        .unwrap();
    let done = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "C", NOON + 2))
        .unwrap();
    succeed(&l, &done, NOON + 3);
    drop(l); // the process dies mid-call: no outcome for a and b
    let l = Ledger::open(&path, Mode::Live).unwrap();
    let restart = NOON + 10 * MINUTE;
    let marked = l.mark_pending_as_unknown(restart).unwrap();
    assert_eq!(
        marked,
        vec![a.clone(), b.clone()],
        "exactly the attempts cut off mid-call"
    );
    for id in [&a, &b] {
        let events = l.attempt_events(id).unwrap();
        assert_eq!(events.last().unwrap().state, AttemptState::Unknown);
        assert_eq!(events.last().unwrap().actor, Actor::System);
    }
    let due: Vec<_> = l
        .unknowns_due(restart)
        .unwrap()
        .into_iter()
        .map(|d| d.attempt.id)
        .collect();
    assert_eq!(
        due,
        vec![a, b],
        "resolved at start-up before the first scan"
    );
    assert!(
        l.mark_pending_as_unknown(restart).unwrap().is_empty(),
        "a second run finds none"
    );
}

/// 2000-01-01 00:00 UTC: where a dead RTC battery puts the clock.
const RTC_RESET: i64 = 946_684_800_000;

#[test]
fn a_clock_set_26_years_back_does_not_park_the_unknowns_or_the_outbox() {
    let (_dir, path, l) = temp_ledger();
    let mut ids = Vec::new();
    for (n, code) in ["A", "B", "C"].into_iter().enumerate() {
        let id = l
            .begin_attempt(attempt(ChannelKind::Zvcms, code, NOON + n as i64))
            .unwrap();
        l.record(
            &id,
            Transition::new(AttemptState::Unknown, NOON, cashier()).reason("timeout"),
        )
        .unwrap();
        ids.push(id);
    }
    // One already on the hourly rhythm, the others on their first 5 s.
    assert!(l
        .schedule_next_check(&ids[2], NOON + RESOLVER_MAX_BACKOFF_MS, 20)
        .unwrap());
    let sale_id = l.enqueue_notification(sale(NOON)).unwrap();
    l.record_delivery_attempt(&sale_id, failed(NOON), Some(NOON + 900_000))
        .unwrap();
    drop(l);
    // The machine restarts with its clock in 2000.
    let l = Ledger::open(&path, Mode::Sandbox).unwrap();
    let due: Vec<_> = l
        .unknowns_due(RTC_RESET)
        .unwrap()
        .into_iter()
        .map(|d| d.attempt.id)
        .collect();
    assert_eq!(
        due.len(),
        3,
        "a next check 26 years ahead is further than the longest backoff: due now, not in 2026"
    );
    for id in &ids {
        assert!(due.contains(id), "{id} is checked at once");
    }
    assert_eq!(
        l.notifications_due(RTC_RESET).unwrap().len(),
        1,
        "the outbox's retry is not parked for 26 years either"
    );
    assert!(
        l.unknowns_due(NOON + 1_000).unwrap().is_empty(),
        "with a right clock, checks 4 s and an hour ahead still wait their turn"
    );
}

#[test]
fn the_resolver_schedule_survives_a_restart() {
    let (_dir, path, l) = temp_ledger();
    let id = l
        .begin_attempt(attempt(ChannelKind::Zvcms, "Z", NOON))
        .unwrap();
    l.record(
        &id,
        Transition::new(AttemptState::Unknown, NOON, cashier()).reason("timeout"),
    )
    .unwrap();
    assert!(
        l.unknowns_due(NOON + 4_999).unwrap().is_empty(),
        "first check after 5 s"
    );
    let due = l.unknowns_due(NOON + resolver_backoff(0)).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].tries, 0);
    // Three checks that settle nothing.
    let mut at = NOON + 5_000;
    for tries in 1..=3u32 {
        let next = at + resolver_backoff(tries);
        l.record_check(
            &id,
            Check {
                at_ms: at,
                note: Some("query timed out".into()),
                exchange: Exchange {
                    request: Some("{}".into()),
                    ..Exchange::default()
                },
                next_check_ms: next,
            },
        )
        .unwrap();
        at = next;
    }
    drop(l);
    let l = Ledger::open(&path, Mode::Sandbox).unwrap();
    assert!(
        l.unknowns_due(at - 1).unwrap().is_empty(),
        "the restart keeps the next check time"
    );
    let due = l.unknowns_due(at).unwrap();
    assert_eq!(due[0].tries, 3, "and the number of checks done");
    assert_eq!(
        l.attempt_events(&id).unwrap().len(),
        5,
        "pending, unknown and three checks"
    );
    assert!(l.schedule_next_check(&id, at + 3_600_000, 20).unwrap());
    assert_eq!(l.resolver_status(&id).unwrap().unwrap().tries, 20);
    l.record(
        &id,
        Transition::new(AttemptState::Succeeded, at, Actor::Resolver),
    )
    .unwrap();
    assert!(
        l.unknowns_due(i64::MAX).unwrap().is_empty(),
        "a settled attempt is never checked again"
    );
    assert!(
        !l.schedule_next_check(&id, at, 21).unwrap(),
        "scheduling a settled attempt is a no-op"
    );
    let err = l
        .record_check(
            &id,
            Check {
                at_ms: at,
                note: None,
                exchange: Exchange::default(),
                next_check_ms: at,
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "ledger_illegal_transition");
}

#[test]
fn the_inbox_holds_unknowns_the_resolver_gave_up_on_and_failing_notifications() {
    let l = memory();
    let quick = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "Q", NOON))
        .unwrap();
    let stubborn = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "S", NOON))
        .unwrap();
    let handed = l
        .begin_attempt(attempt(ChannelKind::Liantuofu, "L", NOON))
        .unwrap();
    for id in [&quick, &stubborn, &handed] {
        l.record(id, Transition::new(AttemptState::Unknown, NOON, cashier()))
            .unwrap();
    }
    let fresh = l.inbox().unwrap().unknowns;
    assert_eq!(fresh.len(), 3, "every unknown is in 需处理 at once");
    assert!(
        fresh.iter().all(|u| !u.needs_manager),
        "fresh unknowns are still the resolver's"
    );
    l.schedule_next_check(&stubborn, NOON + 3_600_000, RESOLVER_INBOX_AFTER_TRIES)
        .unwrap();
    assert!(l
        .hand_to_manager(&handed, NOON + MINUTE, "剩余次数与核销前不符")
        .unwrap());
    let inbox = l.inbox().unwrap();
    let ids: Vec<_> = inbox
        .unknowns
        .iter()
        .filter(|u| u.needs_manager)
        .map(|u| u.attempt.id.clone())
        .collect();
    assert_eq!(
        ids,
        vec![stubborn, handed.clone()],
        "the stubborn and the handed-over need the manager, not the fresh one"
    );
    assert!(inbox
        .unknowns
        .iter()
        .any(|u| u.attempt.id == quick && !u.needs_manager));
    let status = inbox
        .unknowns
        .iter()
        .find(|u| u.attempt.id == handed)
        .and_then(|u| u.resolver.clone())
        .unwrap();
    assert_eq!(
        status.handed_over_reason.as_deref(),
        Some("剩余次数与核销前不符")
    );
    assert!(
        !l.unknowns_due(i64::MAX)
            .unwrap()
            .iter()
            .any(|d| d.attempt.id == handed),
        "a handed-over attempt is no longer checked"
    );
    let n = l.enqueue_notification(sale(NOON)).unwrap();
    for i in 0..3 {
        l.record_delivery_attempt(&n, failed(NOON + i), None)
            .unwrap();
    }
    assert_eq!(
        l.inbox().unwrap().failing_notifications.len(),
        1,
        "three failures reach the inbox"
    );
}

#[test]
fn code_status_tells_the_pre_redeem_checks_what_happened_to_a_code() {
    let l = memory();
    assert_eq!(
        l.code_status(ChannelKind::Shoubei, "C").unwrap(),
        Default::default()
    );
    let first = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "C", NOON))
        .unwrap();
    succeed(&l, &first, NOON + 1);
    let second = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "C", NOON + MINUTE))
        .unwrap();
    l.record(
        &second,
        Transition::new(AttemptState::Unknown, NOON + MINUTE, cashier()),
    )
    .unwrap();
    let s = l.code_status(ChannelKind::Shoubei, "C").unwrap();
    assert_eq!(
        s.last.as_ref().map(|a| &a.id),
        Some(&second),
        "the latest, for the debounce"
    );
    let ok = s.last_succeeded.unwrap();
    assert_eq!(
        (ok.id, ok.cashier.as_str(), ok.state_ms),
        (first, "王芳", NOON + 1),
        "who and when for the message"
    );
    assert_eq!(
        s.unresolved.map(|a| a.id),
        Some(second.clone()),
        "blocks the code"
    );
    assert!(
        l.last_attempt_for_code(ChannelKind::Zvcms, "C")
            .unwrap()
            .is_none(),
        "the same text on another channel is another coupon"
    );
    assert_eq!(
        l.last_attempt_for_code(ChannelKind::Shoubei, "C")
            .unwrap()
            .unwrap()
            .id,
        second
    );
}

// ----- the outbox ------------------------------------------------------------------------

fn sale(at: i64) -> NewNotification {
    NewNotification {
        created_ms: at,
        cashier: "王芳".into(),
        order_no: None,
        product_no: "P001".into(),
        product_name: "畅玩单人联票".into(),
        consumer_name: "张三".into(),
        consumer_phone: "13800138000".into(),
        quantity: 2,
        total: Fen(19_800),
    }
}

fn failed(at: i64) -> DeliveryAttempt {
    DeliveryAttempt {
        at_ms: at,
        result: DeliveryResult::Failed {
            error: "connection reset".into(),
        },
        exchange: Exchange {
            request: Some("{}".into()),
            ..Exchange::default()
        },
    }
}

#[test]
fn a_notification_is_retried_until_delivered_and_then_is_final() {
    let (_dir, path, l) = temp_ledger();
    let id = l.enqueue_notification(sale(NOON)).unwrap();
    let n = l.notification(&id).unwrap().unwrap();
    assert_eq!(
        n.order_no,
        id.as_str(),
        "without an order number the dealSerial is used"
    );
    assert_eq!(l.notifications_due(NOON).unwrap().len(), 1, "due at once");
    let n = l
        .record_delivery_attempt(&id, failed(NOON + 1_000), Some(NOON + 60_000))
        .unwrap();
    assert_eq!(
        (n.state, n.attempts, n.next_retry_ms),
        (NotificationState::Queued, 1, Some(NOON + 60_000))
    );
    assert_eq!(n.last_error.as_deref(), Some("connection reset"));
    drop(l);
    let l = Ledger::open(&path, Mode::Sandbox).unwrap();
    assert!(
        l.notifications_due(NOON + 59_999).unwrap().is_empty(),
        "the retry time survives a restart"
    );
    assert_eq!(l.notifications_due(NOON + 60_000).unwrap()[0].attempts, 1);
    let ok = DeliveryAttempt {
        at_ms: NOON + 60_000,
        result: DeliveryResult::Delivered,
        exchange: Exchange {
            request: Some("{}".into()),
            response: Some(r#"{"resultCode":"0000","resultMsg":"成功"}"#.into()),
            http_status: Some(200),
        },
    };
    let n = l.record_delivery_attempt(&id, ok.clone(), None).unwrap();
    assert_eq!(
        (n.state, n.attempts, n.next_retry_ms),
        (NotificationState::Delivered, 2, None)
    );
    assert!(l.notifications_due(i64::MAX).unwrap().is_empty());
    let err = l.record_delivery_attempt(&id, ok, None).unwrap_err();
    assert_eq!(
        err.code(),
        "ledger_illegal_transition",
        "delivered is final: {err}"
    );
    let events = l.notification_events(&id).unwrap();
    let states: Vec<_> = events.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            NotificationState::Queued,
            NotificationState::Queued,
            NotificationState::Delivered
        ]
    );
    assert!(
        l.verify_chain().unwrap().is_intact(),
        "notifications share the chain"
    );
}

#[test]
fn a_rejected_notification_is_final_and_a_manager_can_settle_one_by_hand() {
    let l = memory();
    let rejected = l.enqueue_notification(sale(NOON)).unwrap();
    let n = l
        .record_delivery_attempt(
            &rejected,
            DeliveryAttempt {
                at_ms: NOON,
                result: DeliveryResult::Rejected {
                    reason: "9999 商品不存在".into(),
                },
                exchange: Exchange::default(),
            },
            None,
        )
        .unwrap();
    assert_eq!(
        (n.state, n.next_retry_ms),
        (NotificationState::Rejected, None),
        "never retried"
    );
    let stuck = l.enqueue_notification(sale(NOON)).unwrap();
    let err = l
        .mark_notification(&stuck, NotificationState::Delivered, &manager(), " ", NOON)
        .unwrap_err();
    assert_eq!(err.code(), "ledger_reason_required");
    let err = l
        .mark_notification(&stuck, NotificationState::Delivered, &cashier(), "x", NOON)
        .unwrap_err();
    assert_eq!(err.code(), "ledger_illegal_transition");
    let n = l
        .mark_notification(
            &stuck,
            NotificationState::Delivered,
            &manager(),
            "平台后台已出券",
            NOON,
        )
        .unwrap();
    assert_eq!(n.state, NotificationState::Delivered);
    assert_eq!(
        l.audit_between(0, i64::MAX).unwrap()[0].entry.action,
        "mark_notification"
    );
}

#[test]
fn a_notification_with_a_bad_phone_number_is_not_stored() {
    let l = memory();
    let err = l
        .enqueue_notification(NewNotification {
            consumer_phone: "1380013800".into(),
            ..sale(NOON)
        })
        .unwrap_err();
    assert_eq!(err.code(), "ledger_invalid_input", "{err}");
    assert!(l.notifications_due(i64::MAX).unwrap().is_empty());
}

// ----- the manager's queries -------------------------------------------------------------

#[test]
fn the_day_log_filters_and_totals_count_only_successes_not_undone() {
    let l = memory();
    let d = day("2026-11-22");
    let mut ids = Vec::new();
    for (i, (channel, cashier_name)) in [
        (ChannelKind::Shoubei, "王芳"),
        (ChannelKind::Shoubei, "李娜"),
        (ChannelKind::Shoubei, "王芳"),
        (ChannelKind::Allinpay, "王芳"),
        (ChannelKind::Zvcms, "李娜"),
        (ChannelKind::Shoubei, "王芳"),
    ]
    .into_iter()
    .enumerate()
    {
        let new = NewAttempt {
            cashier: cashier_name.into(),
            ..attempt(channel, &format!("67952928{i}"), NOON + i as i64 * MINUTE)
        };
        ids.push(l.begin_attempt(new).unwrap());
    }
    succeed(&l, &ids[0], NOON);
    succeed(&l, &ids[1], NOON);
    succeed(&l, &ids[2], NOON);
    l.record(
        &ids[2],
        Transition::new(AttemptState::Cancelled, NOON, manager()).reason("undo"),
    )
    .unwrap();
    succeed(&l, &ids[3], NOON);
    l.record(
        &ids[4],
        Transition::new(AttemptState::Rejected, NOON, cashier()),
    )
    .unwrap();
    l.record(
        &ids[5],
        Transition::new(AttemptState::Unknown, NOON, cashier()),
    )
    .unwrap();
    // Another day's success must not leak in.
    let tomorrow = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "x", NOON + 86_400_000))
        .unwrap();
    succeed(&l, &tomorrow, NOON + 86_400_000);

    let log = l.day_log(d, &DayFilter::default()).unwrap();
    assert_eq!(
        log.attempts.len(),
        6,
        "every attempt of the day, whatever its state"
    );
    assert!(
        log.attempts
            .windows(2)
            .all(|w| w[0].created_ms <= w[1].created_ms),
        "oldest first"
    );
    assert_eq!(log.totals.len(), 2, "zvcms had no success: no row");
    let shoubei = &log.totals[0];
    assert_eq!(shoubei.channel, Some(ChannelKind::Shoubei));
    assert_eq!(
        shoubei.succeeded, 2,
        "the undone, the unknown and tomorrow's do not count"
    );
    assert_eq!(shoubei.face_value, Fen(2_000));
    assert_eq!(shoubei.settled, Fen(1_800));
    assert_eq!(log.totals[1].channel, Some(ChannelKind::Allinpay));

    let by = |f: DayFilter| l.day_log(d, &f).unwrap();
    assert_eq!(
        by(DayFilter {
            channel: Some(ChannelKind::Zvcms),
            ..Default::default()
        })
        .attempts
        .len(),
        1
    );
    let cancelled = by(DayFilter {
        state: Some(AttemptState::Cancelled),
        ..Default::default()
    });
    assert_eq!(cancelled.attempts.len(), 1);
    assert_eq!(
        cancelled.totals, log.totals,
        "the state filter does not change what totals mean"
    );
    let li = by(DayFilter {
        cashier: Some("李娜".into()),
        ..Default::default()
    });
    assert_eq!(li.attempts.len(), 2);
    assert_eq!(
        li.totals.iter().map(|t| t.succeeded).sum::<u64>(),
        1,
        "her one success"
    );
    let exact = by(DayFilter {
        code: Some(CodeFilter::Exact("679529283".into())),
        ..Default::default()
    });
    assert_eq!(exact.attempts.len(), 1);
    let part = by(DayFilter {
        code: Some(CodeFilter::Contains("7952928".into())),
        ..Default::default()
    });
    assert_eq!(part.attempts.len(), 6);
    assert_eq!(l.day_totals(d, &DayFilter::default()).unwrap(), log.totals);

    // The first page: the oldest attempts that match, the full count and the full totals.
    let wang = DayFilter {
        cashier: Some("王芳".into()),
        ..Default::default()
    };
    let (page, total) = l.day_log_first(d, &wang, 2).unwrap();
    let whole = by(wang.clone());
    assert_eq!(total, 4, "王芳 has four attempts that day");
    assert_eq!(
        page.attempts,
        whole.attempts[..2],
        "the first two, oldest first"
    );
    assert_eq!(page.totals, whole.totals, "totals are of the whole day");
    let (all, total) = l.day_log_first(d, &wang, 50).unwrap();
    assert_eq!(
        (all.attempts, total),
        (whole.attempts, 4),
        "a page larger than the day"
    );
}

#[test]
fn a_codes_timeline_shows_every_attempt_and_event_oldest_first() {
    let l = memory();
    let first = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "T", NOON))
        .unwrap();
    l.record(
        &first,
        Transition::new(AttemptState::Unknown, NOON + 1, cashier()),
    )
    .unwrap();
    l.record(
        &first,
        Transition::new(AttemptState::Rejected, NOON + 2, Actor::Resolver),
    )
    .unwrap();
    let second = l
        .begin_attempt(attempt(ChannelKind::Allinpay, "T", NOON + MINUTE))
        .unwrap();
    succeed(&l, &second, NOON + MINUTE + 1);
    l.begin_attempt(attempt(ChannelKind::Shoubei, "other", NOON))
        .unwrap();
    let timeline = l.code_timeline("T").unwrap();
    assert_eq!(timeline.len(), 2, "both channels, not the other code");
    assert_eq!(timeline[0].attempt.id, first);
    let states: Vec<_> = timeline[0].events.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            AttemptState::Pending,
            AttemptState::Unknown,
            AttemptState::Rejected
        ]
    );
    assert_eq!(timeline[1].attempt.id, second);
    assert_eq!(timeline[1].events.len(), 2);
}

#[test]
fn recent_attempts_are_the_cashiers_latest_newest_first() {
    let l = memory();
    for i in 0..15 {
        let who = if i % 3 == 0 { "李娜" } else { "王芳" };
        let new = NewAttempt {
            cashier: who.into(),
            ..attempt(ChannelKind::Shoubei, &i.to_string(), NOON + i)
        };
        l.begin_attempt(new).unwrap();
    }
    let mine = l.recent_attempts(Some("王芳"), 10).unwrap();
    assert_eq!(mine.len(), 10);
    assert!(mine.iter().all(|a| a.cashier == "王芳"));
    assert_eq!(mine[0].code, "14", "newest first");
    assert_eq!(l.recent_attempts(None, 3).unwrap().len(), 3);
}

#[test]
fn twenty_thousand_generated_attempts_give_the_expected_totals_and_an_intact_chain() {
    let (_dir, path, l) = temp_ledger();
    let (_fresh_dir, fresh_path, fresh) = temp_ledger();
    drop(fresh);
    let g = generate::fill(
        &l,
        &Synthetic {
            attempts: 20_000,
            first_day: day("2026-01-01"),
            per_day: 1_000,
            seed: 42,
        },
    )
    .unwrap();
    assert_eq!(g.last_day, day("2026-01-20"), "1 000 a day for 20 days");
    assert_eq!(g.totals.len(), 20);
    for (d, expected) in &g.totals {
        let log = l.day_log(*d, &DayFilter::default()).unwrap();
        assert_eq!(
            log.attempts.len(),
            1_000,
            "{d}: every attempt on its own business day"
        );
        assert_eq!(
            &log.totals, expected,
            "{d}: totals match what was generated"
        );
        // And match a recount from the rows themselves.
        let from_rows: i64 = log
            .attempts
            .iter()
            .filter(|a| a.state == AttemptState::Succeeded)
            .map(|a| a.settled_face_value.unwrap().0)
            .sum();
        assert_eq!(
            from_rows,
            expected.iter().map(|t| t.face_value.0).sum::<i64>()
        );
    }
    let report = l.verify_chain().unwrap();
    assert!(
        report.is_intact(),
        "the generator writes a valid chain: {:?}",
        report.first_break
    );
    assert_eq!(report.events_checked, g.events);
    l.quick_check().unwrap();
    // The generator drops the secondary indexes while it inserts and makes them again.
    let schema = |p: &Path| -> Vec<(String, String, Option<String>)> {
        Connection::open(p)
            .unwrap()
            .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    drop(l);
    let generated = schema(&path);
    assert!(generated
        .iter()
        .any(|(_, name, _)| name == "attempts_by_code"));
    assert_eq!(generated, schema(&fresh_path), "the schema of a new ledger");
}

#[test]
fn a_generated_ledger_extended_to_more_attempts_is_the_ledger_generated_at_that_size() {
    let spec = |attempts| Synthetic {
        attempts,
        first_day: day("2026-02-01"),
        per_day: 400,
        seed: 9,
    };
    let (_d1, _p1, whole) = temp_ledger();
    let all = generate::fill(&whole, &spec(2_000)).unwrap();
    let (_d2, _p2, grown) = temp_ledger();
    let first = generate::fill(&grown, &spec(700)).unwrap();
    let rest = generate::extend(&grown, &spec(2_000), 700).unwrap();
    assert_eq!(
        (first.attempts, rest.attempts),
        (700, 1_300),
        "each call says what it added"
    );
    assert_eq!(first.events + rest.events, all.events);
    assert_eq!(first.unknown + rest.unknown, all.unknown);
    assert_eq!(rest.last_day, all.last_day);
    let key = |l: &Ledger, d: BusinessDay| {
        let log = l.day_log(d, &DayFilter::default()).unwrap();
        let rows: Vec<_> = log
            .attempts
            .iter()
            .map(|a| (a.id.clone(), a.code.clone(), a.state, a.created_ms))
            .collect();
        (rows, log.totals)
    };
    for d in all.totals.keys() {
        assert_eq!(key(&grown, *d), key(&whole, *d), "{d}: the same attempts");
    }
    assert_eq!(all.totals.len(), 5, "five days of 400");
    let report = grown.verify_chain().unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.events_checked, all.events);
}

// ----- append-only and the hash chain ----------------------------------------------------

fn small_history(l: &Ledger) -> Vec<AttemptId> {
    let a = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "A", NOON))
        .unwrap();
    succeed(l, &a, NOON + 1);
    let b = l
        .begin_attempt(attempt(ChannelKind::Allinpay, "B", NOON + 2))
        .unwrap();
    l.record(
        &b,
        Transition::new(AttemptState::Rejected, NOON + 3, cashier()).reason("已使用"),
    )
    .unwrap();
    let c = l
        .begin_attempt(attempt(ChannelKind::Zvcms, "C", NOON + 4))
        .unwrap();
    succeed(l, &c, NOON + 5);
    l.enqueue_notification(sale(NOON + 6)).unwrap();
    l.record_audit(&AuditEntry {
        time_ms: NOON + 7,
        actor: manager(),
        action: "sign_off_day".into(),
        subject: Some("2026-11-22".into()),
        detail: None,
    })
    .unwrap();
    vec![a, b, c]
}

#[test]
fn events_and_audit_cannot_be_updated_or_deleted_even_with_plain_sql() {
    let (_dir, path, l) = temp_ledger();
    small_history(&l);
    l.set_setting("language", Some("zh"), &manager(), NOON)
        .unwrap();
    let conn = raw(&path);
    for sql in [
        "UPDATE events SET reason = 'x' WHERE id = 1",
        "DELETE FROM events WHERE id = 1",
        "UPDATE audit SET actor = 'manager:someone else'",
        "DELETE FROM audit",
        "UPDATE attempts SET code = 'other' WHERE code = 'A'",
        "DELETE FROM attempts",
        "UPDATE settings SET value = 'x'",
        "UPDATE meta SET value = 'live'",
        "UPDATE notifications SET consumer_phone = '13900000000'",
    ] {
        let err = conn.execute(sql, []).expect_err(sql);
        assert!(
            err.to_string().contains("never")
                || err.to_string().contains("only")
                || err.to_string().contains("once"),
            "{sql}: {err}"
        );
    }
    assert!(
        l.verify_chain().unwrap().is_intact(),
        "the refused edits left no trace"
    );
}

#[test]
fn verify_chain_accepts_an_untouched_ledger_and_reports_its_head() {
    let (_dir, path, l) = temp_ledger();
    small_history(&l);
    let report = l.verify_chain().unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.events_checked as i64, event_count(&path));
    assert_eq!(
        Some((report.head_id, report.head_hash)),
        l.chain_head().unwrap()
    );
}

#[test]
fn verify_chain_finds_an_event_edited_behind_the_ledgers_back() {
    let (_dir, path, l) = temp_ledger();
    small_history(&l);
    let conn = raw(&path);
    conn.execute_batch(
        "DROP TRIGGER events_no_update;
         UPDATE events SET reason = '未使用' WHERE id = 4;",
    )
    .unwrap();
    let brk = l
        .verify_chain()
        .unwrap()
        .first_break
        .expect("the edit must be found");
    assert_eq!(brk.event_id, Some(4), "the edited event is named: {brk}");
    assert_eq!(brk.seq, Some(1));
    assert!(
        matches!(brk.problem, BreakProblem::EventAltered { .. }),
        "{brk}"
    );
    assert!(brk.to_string().contains("event 4"), "{brk}");
}

#[test]
fn verify_chain_finds_an_attempts_immutable_field_edited_behind_the_ledgers_back() {
    let (_dir, path, l) = temp_ledger();
    let ids = small_history(&l);
    raw(&path)
        .execute_batch(
            "DROP TRIGGER attempts_identity_is_immutable;
             UPDATE attempts SET face_value_fen = 100000 WHERE code = 'C';",
        )
        .unwrap();
    let brk = l
        .verify_chain()
        .unwrap()
        .first_break
        .expect("the edit must be found");
    assert_eq!(brk.subject, format!("attempt {}", ids[2]), "{brk}");
    assert_eq!(brk.seq, Some(0), "found at the attempt's creating event");
    assert!(
        matches!(brk.problem, BreakProblem::SubjectAltered { .. }),
        "{brk}"
    );
}

#[test]
fn verify_chain_finds_a_deleted_event() {
    let (_dir, path, l) = temp_ledger();
    small_history(&l);
    raw(&path)
        .execute_batch("DROP TRIGGER events_no_delete; DELETE FROM events WHERE id = 2;")
        .unwrap();
    let brk = l
        .verify_chain()
        .unwrap()
        .first_break
        .expect("the gap must be found");
    assert_eq!(
        brk.event_id,
        Some(3),
        "the event after the gap no longer links: {brk}"
    );
    assert!(
        matches!(brk.problem, BreakProblem::PrevHashMismatch { .. }),
        "{brk}"
    );
}

#[test]
fn verify_chain_finds_a_cached_state_or_amount_that_disagrees_with_the_events() {
    let (_dir, path, l) = temp_ledger();
    let ids = small_history(&l);
    let conn = raw(&path);
    conn.execute(
        "UPDATE attempts SET settled_fen = 1 WHERE id = ?1",
        [ids[0].as_str()],
    )
    .unwrap();
    let brk = l
        .verify_chain()
        .unwrap()
        .first_break
        .expect("a doctored total must be found");
    assert_eq!(brk.subject, format!("attempt {}", ids[0]));
    assert!(
        matches!(&brk.problem, BreakProblem::CacheMismatch { column, .. } if column == "settled_fen"),
        "{brk}"
    );
    conn.execute(
        "UPDATE attempts SET settled_fen = 900 WHERE id = ?1",
        [ids[0].as_str()],
    )
    .unwrap();
    conn.execute(
        "UPDATE attempts SET state = 'succeeded' WHERE id = ?1",
        [ids[1].as_str()],
    )
    .unwrap();
    let brk = l
        .verify_chain()
        .unwrap()
        .first_break
        .expect("a rejection turned success must be found");
    assert!(
        matches!(&brk.problem, BreakProblem::CacheMismatch { column, .. } if column == "state"),
        "{brk}"
    );
}

#[test]
fn verify_chain_finds_a_notifications_order_edited() {
    let (_dir, path, l) = temp_ledger();
    small_history(&l);
    raw(&path)
        .execute_batch(
            "DROP TRIGGER notifications_order_is_immutable;
             UPDATE notifications SET total_fen = 1;",
        )
        .unwrap();
    let brk = l
        .verify_chain()
        .unwrap()
        .first_break
        .expect("the edit must be found");
    assert!(brk.subject.starts_with("notification "), "{brk}");
    assert!(
        matches!(brk.problem, BreakProblem::SubjectAltered { .. }),
        "{brk}"
    );
}

// ----- settings and audit ----------------------------------------------------------------

#[test]
fn settings_keep_their_history_and_the_business_day_rule_persists() {
    let (_dir, path, l) = temp_ledger();
    l.set_setting("scanner.prefix", Some("]C1"), &manager(), NOON)
        .unwrap();
    l.set_setting("scanner.prefix", None, &manager(), NOON + 1)
        .unwrap();
    assert_eq!(
        l.setting("scanner.prefix").unwrap(),
        None,
        "the latest change removed it"
    );
    let history = l.setting_history("scanner.prefix").unwrap();
    assert_eq!(history.len(), 2, "the old value is kept");
    assert_eq!(history[0].value.as_deref(), Some("]C1"));
    assert_eq!(l.business_day_rule(), BusinessDayRule::default());
    let err = l
        .set_setting(ledger::BUSINESS_DAY_CUTOFF_KEY, Some("0"), &manager(), NOON)
        .unwrap_err();
    assert_eq!(
        err.code(),
        "ledger_invalid_input",
        "the rule has its own validated setter"
    );
    let err = l.set_business_day_rule(
        BusinessDayRule {
            cutoff_minutes: 2_000,
            offset_minutes: 480,
        },
        &manager(),
        NOON,
    );
    assert_eq!(err.unwrap_err().code(), "ledger_invalid_input");
    let six = BusinessDayRule::new(6 * 60, 8 * 60).unwrap();
    l.set_business_day_rule(six, &manager(), NOON).unwrap();
    drop(l);
    let l = Ledger::open(&path, Mode::Sandbox).unwrap();
    assert_eq!(l.business_day_rule(), six, "the cut-off survives a restart");
    let five_am = 1_795_305_600_000 - 3 * 3_600_000; // 2026-11-22 05:00 +08:00
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "x", five_am))
        .unwrap();
    assert_eq!(
        l.attempt(&id).unwrap().unwrap().business_day,
        day("2026-11-21"),
        "05:00 is before a 06:00 cut-off"
    );
}

#[test]
fn audit_entries_are_returned_by_time() {
    let l = memory();
    for (t, action) in [
        (NOON + 2, "export"),
        (NOON, "sign_off_day"),
        (NOON + 5, "late"),
    ] {
        l.record_audit(&AuditEntry {
            time_ms: t,
            actor: manager(),
            action: action.into(),
            subject: None,
            detail: Some(r#"{"day":"2026-11-22"}"#.into()),
        })
        .unwrap();
    }
    let got: Vec<_> = l
        .audit_between(NOON, NOON + 5)
        .unwrap()
        .into_iter()
        .map(|r| r.entry.action)
        .collect();
    assert_eq!(
        got,
        ["sign_off_day", "export"],
        "ordered by time, end exclusive"
    );
    let err = l
        .record_audit(&AuditEntry {
            time_ms: 0,
            actor: manager(),
            action: " ".into(),
            subject: None,
            detail: None,
        })
        .unwrap_err();
    assert_eq!(err.code(), "ledger_invalid_input");
}

// ----- the benchmark's year --------------------------------------------------------------

/// A year at 10 000 attempts a day: 3.65 M attempts. Slow to build, so ignored; run with
/// `cargo test --release -p redeemdesk-core --test ledger -- --ignored --nocapture a_year`.
/// `REDEEMDESK_BENCH_LEDGER=<path>` keeps the file and reuses it on the next run;
/// `REDEEMDESK_BENCH_ATTEMPTS` changes the size.
#[test]
#[ignore]
fn a_year_of_attempts_opens_fast_and_answers_a_day_with_totals_fast() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("REDEEMDESK_BENCH_LEDGER")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("ledger-sandbox.sqlite"));
    let n: u64 = std::env::var("REDEEMDESK_BENCH_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3_650_000);
    if !path.exists() {
        let l = Ledger::open(&path, Mode::Sandbox).unwrap();
        let t = Instant::now();
        let g = generate::fill(
            &l,
            &Synthetic {
                attempts: n,
                first_day: day("2026-01-01"),
                per_day: 10_000,
                seed: 2026,
            },
        )
        .unwrap();
        println!(
            "generated {} attempts, {} events in {:?}",
            g.attempts,
            g.events,
            t.elapsed()
        );
    }
    let t = Instant::now();
    let l = Ledger::open(&path, Mode::Sandbox).unwrap();
    let open = t.elapsed();
    let t = Instant::now();
    l.mark_pending_as_unknown(NOON).unwrap();
    let startup = t.elapsed();
    println!("open {open:?}, start-up pending sweep {startup:?}");
    let d = day("2026-06-15");
    let mut best = Duration::MAX;
    let mut log = None;
    for _ in 0..5 {
        let t = Instant::now();
        log = Some(l.day_log(d, &DayFilter::default()).unwrap());
        best = best.min(t.elapsed());
    }
    let log = log.unwrap();
    println!(
        "day log: {} attempts + {} channel totals in {best:?}",
        log.attempts.len(),
        log.totals.len()
    );
    let t = Instant::now();
    let filtered = l
        .day_log(
            d,
            &DayFilter {
                channel: Some(ChannelKind::Shoubei),
                cashier: Some("王芳".into()),
                ..Default::default()
            },
        )
        .unwrap();
    println!(
        "filtered day log: {} attempts in {:?}",
        filtered.attempts.len(),
        t.elapsed()
    );
    let t = Instant::now();
    let totals = l.day_totals(d, &DayFilter::default()).unwrap();
    println!("totals alone in {:?}", t.elapsed());
    let code = log.attempts[5_000].code.clone();
    let t = Instant::now();
    l.code_status(log.attempts[5_000].channel, &code).unwrap();
    l.code_timeline(&code).unwrap();
    println!("code status + timeline in {:?}", t.elapsed());
    let t = Instant::now();
    let inbox = l.inbox().unwrap();
    l.recent_attempts(Some("王芳"), 10).unwrap();
    println!(
        "inbox ({} unknowns) + recent in {:?}",
        inbox.unknowns.len(),
        t.elapsed()
    );
    assert_eq!(totals, log.totals);
    if std::env::var_os("REDEEMDESK_BENCH_VERIFY").is_some() {
        let t = Instant::now();
        l.quick_check().unwrap();
        println!("quick_check in {:?}", t.elapsed());
        let t = Instant::now();
        let report = l.verify_chain().unwrap();
        println!(
            "verify_chain over {} events in {:?}",
            report.events_checked,
            t.elapsed()
        );
        assert!(report.is_intact(), "{:?}", report.first_break);
    }
    if !cfg!(debug_assertions) {
        assert!(
            open < Duration::from_millis(200),
            "opening must not scan: {open:?}"
        );
        assert!(
            best < Duration::from_millis(20),
            "a day's log with totals: {best:?}"
        );
    }
}

// ----- an insider with the file and a SQLite shell ----------------------------------------
//
// Each test below does what a dishonest insider would: edit rows with plain SQL and then
// recompute the whole chain with the ledger's own (public, unkeyed) algorithm, written out
// here as they would write it. Inside the file that rewrite is consistent; what catches it
// is a head written down earlier — by the ledger itself (an export's audit entry) or outside
// it (the anchor printed on the export).

/// The ledger's canonical encoding, as an insider would re-implement it from the source.
struct InsiderCanon(sha2::Sha256);

impl InsiderCanon {
    fn new(domain: &str) -> Self {
        let mut c = InsiderCanon(<sha2::Sha256 as sha2::Digest>::new());
        c.bytes(domain.as_bytes());
        c
    }
    fn bytes(&mut self, b: &[u8]) {
        sha2::Digest::update(&mut self.0, (b.len() as u64).to_be_bytes());
        sha2::Digest::update(&mut self.0, b);
    }
    fn field(&mut self, name: &str, v: &rusqlite::types::Value) {
        use rusqlite::types::Value;
        self.bytes(name.as_bytes());
        match v {
            Value::Null => sha2::Digest::update(&mut self.0, [0u8]),
            Value::Integer(i) => {
                sha2::Digest::update(&mut self.0, [1u8]);
                sha2::Digest::update(&mut self.0, i.to_be_bytes());
            }
            Value::Text(t) => {
                sha2::Digest::update(&mut self.0, [2u8]);
                self.bytes(t.as_bytes());
            }
            other => panic!("the ledger hashes no {other:?}"),
        }
    }
    fn finish(self) -> String {
        sha2::Digest::finalize(self.0)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

const EVENT_FIELDS: [&str; 15] = [
    "id",
    "attempt_id",
    "notification_id",
    "seq",
    "state",
    "time_ms",
    "actor",
    "reason",
    "channel_ids",
    "face_value_fen",
    "settled_fen",
    "raw_request",
    "raw_response",
    "http_status",
    "subject_digest",
];

/// Renumbers events and seals into one gapless order and recomputes every link, as the
/// ledger would have written them had the tampered rows always been so.
fn rechain(conn: &Connection) {
    use rusqlite::types::Value;
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS seals_no_update;",
    )
    .unwrap();
    let mut links: Vec<(i64, &str)> = conn
        .prepare("SELECT id, 'event' FROM events UNION ALL SELECT id, 'seal' FROM seals ORDER BY 1")
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                if r.get::<_, String>(1)? == "event" {
                    "event"
                } else {
                    "seal"
                },
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    links.sort();
    let mut prev = "0".repeat(64);
    for (n, (old_id, table)) in links.into_iter().enumerate() {
        let id = n as i64 + 1;
        conn.execute(
            &format!("UPDATE {table}s SET id = ?1 WHERE id = ?2"),
            [id, old_id],
        )
        .unwrap();
        let hash = if table == "event" {
            let cols = EVENT_FIELDS.join(", ");
            let values: Vec<Value> = conn
                .query_row(
                    &format!("SELECT {cols} FROM events WHERE id = ?1"),
                    [id],
                    |r| (0..EVENT_FIELDS.len()).map(|i| r.get(i)).collect(),
                )
                .unwrap();
            let mut c = InsiderCanon::new("redeemdesk.ledger.event.v1");
            for (name, v) in EVENT_FIELDS.iter().zip(&values) {
                c.field(name, v);
            }
            c.field("prev_hash", &Value::Text(prev.clone()));
            c.finish()
        } else {
            let (kind, row_id, digest): (String, i64, String) = conn
                .query_row(
                    "SELECT kind, row_id, digest FROM seals WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            let mut c = InsiderCanon::new("redeemdesk.ledger.seal.v1");
            c.field("id", &Value::Integer(id));
            c.field("kind", &Value::Text(kind));
            c.field("row_id", &Value::Integer(row_id));
            c.field("digest", &Value::Text(digest));
            c.field("prev_hash", &Value::Text(prev.clone()));
            c.finish()
        };
        conn.execute(
            &format!("UPDATE {table}s SET prev_hash = ?1, hash = ?2 WHERE id = ?3"),
            rusqlite::params![prev, hash, id],
        )
        .unwrap();
        prev = hash;
    }
}

/// A day with a ¥10, a ¥50 and a ¥10 redemption, then an export that printed its head
/// (the ledger keeps that head in the export's audit entry). Answers the ¥50 attempt and
/// the head as printed on the file.
fn exported_day(l: &Ledger) -> (AttemptId, ledger::ChainAnchor) {
    let mut ids = Vec::new();
    for (i, (code, fen)) in [("A10", 1_000), ("B50", 5_000), ("C10", 1_000)]
        .into_iter()
        .enumerate()
    {
        let at = NOON + i as i64 * MINUTE;
        let mut new = attempt(ChannelKind::Shoubei, code, at);
        new.face_value = Some(Fen(fen));
        let id = l.begin_attempt(new).unwrap();
        succeed(l, &id, at + 1);
        ids.push(id);
    }
    let head = l.chain_anchor().unwrap().expect("the day wrote events");
    l.record_audit_at_head(
        &AuditEntry {
            time_ms: NOON + 10 * MINUTE,
            actor: manager(),
            action: "export_day_log".into(),
            subject: Some("核销流水-2026-11-22.xlsx".into()),
            detail: None,
        },
        Some(&head),
    )
    .unwrap();
    assert!(
        l.verify_chain().unwrap().is_intact(),
        "untouched, it verifies"
    );
    let printed: ledger::ChainAnchor = head.to_string().parse().unwrap();
    (ids.swap_remove(1), printed)
}

/// Verification fails on the head the export recorded, and on the head it printed.
fn assert_rewrite_caught(l: &Ledger, printed: &ledger::ChainAnchor, what: &str) {
    let report = l.verify_chain().unwrap();
    let brk = report
        .first_break
        .unwrap_or_else(|| panic!("{what}, rechained, must not verify"));
    assert!(
        matches!(brk.problem, BreakProblem::RecordedHeadMismatch { .. })
            && brk.subject.contains("export_day_log"),
        "{what}: the head the export recorded no longer matches, and the report names it: {brk}"
    );
    let check = l.check_anchor(printed).unwrap();
    assert!(
        !check.holds(),
        "{what}: the head printed on the export is no longer in the chain: {check:?}"
    );
}

#[test]
fn deleting_a_50_yuan_redemption_and_recomputing_the_chain_is_caught_by_the_recorded_and_printed_heads(
) {
    let (_dir, path, l) = temp_ledger();
    let (b50, printed) = exported_day(&l);
    let conn = raw(&path);
    conn.execute_batch("DROP TRIGGER events_no_delete; DROP TRIGGER attempts_no_delete;")
        .unwrap();
    conn.execute("DELETE FROM events WHERE attempt_id = ?1", [b50.as_str()])
        .unwrap();
    conn.execute("DELETE FROM attempts WHERE id = ?1", [b50.as_str()])
        .unwrap();
    rechain(&conn);
    let total: i64 = conn
        .query_row("SELECT sum(settled_face_fen) FROM attempts", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(total, 2_000, "the ¥50 is gone from the day's total");
    assert_rewrite_caught(&l, &printed, "a deleted ¥50 redemption");
}

#[test]
fn turning_a_success_into_a_rejection_and_recomputing_the_chain_is_caught() {
    let (_dir, path, l) = temp_ledger();
    let (b50, printed) = exported_day(&l);
    let conn = raw(&path);
    conn.execute_batch("DROP TRIGGER events_no_update;")
        .unwrap();
    conn.execute(
        "UPDATE events SET state = 'rejected', face_value_fen = NULL, settled_fen = NULL,
             channel_ids = NULL, reason = '已使用' WHERE attempt_id = ?1 AND seq = 1",
        [b50.as_str()],
    )
    .unwrap();
    conn.execute(
        "UPDATE attempts SET state = 'rejected', settled_face_fen = NULL, settled_fen = NULL
         WHERE id = ?1",
        [b50.as_str()],
    )
    .unwrap();
    rechain(&conn);
    assert_eq!(
        l.attempt(&b50).unwrap().unwrap().state,
        AttemptState::Rejected,
        "the ledger now shows the ¥50 as rejected"
    );
    assert_rewrite_caught(&l, &printed, "a success turned into a rejection");
}

#[test]
fn changing_an_attempts_cashier_and_recomputing_every_digest_and_the_chain_is_caught() {
    use rusqlite::types::Value;
    let (_dir, path, l) = temp_ledger();
    let (b50, printed) = exported_day(&l);
    let conn = raw(&path);
    conn.execute_batch(
        "DROP TRIGGER attempts_identity_is_immutable; DROP TRIGGER events_no_update;",
    )
    .unwrap();
    conn.execute(
        "UPDATE attempts SET cashier = '张伟' WHERE id = ?1",
        [b50.as_str()],
    )
    .unwrap();
    conn.execute(
        "UPDATE events SET actor = 'cashier:张伟' WHERE attempt_id = ?1 AND actor = 'cashier:王芳'",
        [b50.as_str()],
    )
    .unwrap();
    // The creating event's digest of the attempt's identity, recomputed to match.
    let names = [
        "id",
        "created_ms",
        "business_day",
        "channel",
        "platform",
        "code",
        "count",
        "cashier",
        "face_value_fen",
        "price_fen",
        "remaining_before",
    ];
    let values: Vec<Value> = conn
        .query_row(
            &format!("SELECT {} FROM attempts WHERE id = ?1", names.join(", ")),
            [b50.as_str()],
            |r| (0..names.len()).map(|i| r.get(i)).collect(),
        )
        .unwrap();
    let mut c = InsiderCanon::new("redeemdesk.ledger.attempt.v1");
    for (n, v) in names.iter().zip(&values) {
        c.field(n, v);
    }
    conn.execute(
        "UPDATE events SET subject_digest = ?1 WHERE attempt_id = ?2 AND seq = 0",
        [c.finish(), b50.as_str().to_owned()],
    )
    .unwrap();
    rechain(&conn);
    assert_eq!(
        l.attempt(&b50).unwrap().unwrap().cashier,
        "张伟",
        "the ledger now blames another cashier"
    );
    assert_rewrite_caught(&l, &printed, "a changed cashier");
}

#[test]
fn replacing_the_manager_pin_hash_in_the_settings_table_is_caught_without_touching_the_events() {
    const PIN: &str = "manager.pin_hash";
    let (_dir, path, l) = temp_ledger();
    small_history(&l);
    l.set_setting(PIN, Some("$argon2id$v=19$the-real-one"), &manager(), NOON)
        .unwrap();
    let conn = raw(&path);
    conn.execute_batch("DROP TRIGGER settings_no_update;")
        .unwrap();
    conn.execute(
        "UPDATE settings SET value = '$argon2id$v=19$the-insiders-own' WHERE key = ?1",
        [PIN],
    )
    .unwrap();
    let brk = l
        .verify_chain()
        .unwrap()
        .first_break
        .expect("an edited PIN hash must not verify");
    assert!(
        matches!(brk.problem, BreakProblem::SubjectAltered { .. }) && brk.subject.contains(PIN),
        "the report names the setting whose row was changed: {brk}"
    );

    // The same with a new row rather than an edit: no trigger stands in the way, but the
    // row has no seal in the chain.
    let (_dir2, path2, l2) = temp_ledger();
    small_history(&l2);
    raw(&path2)
        .execute(
            "INSERT INTO settings (key, value, time_ms, actor)
             VALUES (?1, '$argon2id$v=19$the-insiders-own', ?2, 'manager:李店长')",
            rusqlite::params![PIN, NOON],
        )
        .unwrap();
    assert_eq!(
        l2.setting(PIN).unwrap().as_deref(),
        Some("$argon2id$v=19$the-insiders-own"),
        "the slipped-in row is the PIN the desk would check"
    );
    let brk = l2
        .verify_chain()
        .unwrap()
        .first_break
        .expect("a slipped-in PIN hash must not verify");
    assert!(
        brk.problem == BreakProblem::NotInChain && brk.subject.contains(PIN),
        "the report names the setting that is not in the chain: {brk}"
    );
}

#[test]
fn a_reconciliation_and_its_sign_off_are_in_the_chain_and_the_sign_off_keeps_the_head() {
    let (_dir, path, l) = temp_ledger();
    small_history(&l);
    let id = l
        .record_reconciliation(&ledger::NewReconciliation {
            business_day: day("2026-11-22"),
            channel: ChannelKind::Shoubei,
            run_ms: NOON + MINUTE,
            actor: "manager:李店长".into(),
            source: "statement.csv".into(),
            lines: 3,
            mismatches: 1,
            report: "{}".into(),
        })
        .unwrap();
    let head = l.sign_off(id, "李店长", None, NOON + 2 * MINUTE).unwrap();
    let report = l.verify_chain().unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(
        report.recorded_heads_checked, 1,
        "the sign-off's head {head} is compared with the chain"
    );
    assert!(
        l.check_anchor(&head).unwrap().holds(),
        "the head shown at sign-off holds"
    );
    let conn = raw(&path);
    conn.execute_batch(
        "DROP TRIGGER reconciliations_no_update;
         UPDATE reconciliations SET mismatches = 0;",
    )
    .unwrap();
    let brk = l
        .verify_chain()
        .unwrap()
        .first_break
        .expect("an edited run must not verify");
    assert!(
        matches!(brk.problem, BreakProblem::SubjectAltered { .. })
            && brk.subject == format!("reconciliation {id}"),
        "names the reconciliation that was changed: {brk}"
    );
}

#[test]
fn a_printed_head_reads_back_and_checks_against_the_chain() {
    let l = memory();
    small_history(&l);
    let head = l.chain_anchor().unwrap().unwrap();
    let printed = head.to_string();
    assert!(printed.starts_with(&format!("#{}:", head.id)) && printed.ends_with('…'));
    let read: ledger::ChainAnchor = printed.parse().expect("what is printed parses back");
    assert!(l.check_anchor(&read).unwrap().holds());
    let far: ledger::ChainAnchor = format!("{}:{}", head.id + 5, &head.hash[..8])
        .parse()
        .unwrap();
    assert_eq!(
        l.check_anchor(&far).unwrap(),
        ledger::AnchorCheck::Cut {
            chain_ends_at: head.id
        },
        "a head past the end means the tail was cut"
    );
    let wrong: ledger::ChainAnchor = format!("{}:00000000", head.id).parse().unwrap();
    assert!(
        matches!(
            l.check_anchor(&wrong).unwrap(),
            ledger::AnchorCheck::Differs { .. }
        ),
        "another hash at that position means a rewrite"
    );
    assert!(
        "12:9f3a".parse::<ledger::ChainAnchor>().is_err(),
        "too short to mean anything"
    );
}

// ---- statements (issue 18 item 8): nothing a statement holds vanishes, nothing grows unbounded

fn statement_desk(ledger: Ledger) -> redeemdesk_core::desk::Desk {
    let clock = std::sync::Arc::new(redeemdesk_core::clock::ManualClock::new(NOON + MINUTE));
    redeemdesk_core::desk::Desk::open(
        std::sync::Arc::new(ledger),
        Vec::new(),
        clock,
        redeemdesk_core::scan::ScanRules::default(),
    )
    .unwrap()
}

fn code_only() -> redeemdesk_core::reconcile::StatementMapping {
    redeemdesk_core::reconcile::StatementMapping {
        code: "券码".into(),
        face_value: Some("面值".into()),
        state: None,
        channel_id: None,
        time: None,
        amounts_in_fen: false,
        cancelled_values: Vec::new(),
    }
}

fn reconcile_statement(
    desk: &redeemdesk_core::desk::Desk,
    source: impl std::io::Read + Send,
) -> Result<
    redeemdesk_core::desk::reconcile::Reconciliation,
    redeemdesk_core::desk::reconcile::ReconcileError,
> {
    use redeemdesk_core::desk::reconcile::Statement;
    let statement = Statement {
        file: "shoubei.csv".into(),
        source: Box::new(source),
        mapping: code_only(),
    };
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(desk.reconcile_day(
            day("2026-11-22"),
            ChannelKind::Shoubei,
            Some(statement),
            &unlocked(desk),
        ))
}

/// The manager's token on `desk`: the PIN set on first use, then unlocked.
fn unlocked(desk: &redeemdesk_core::desk::Desk) -> redeemdesk_core::desk::ManagerUnlock {
    if !desk.manager_pin_is_set().unwrap() {
        desk.set_manager_pin(None, "246813", "李店长").unwrap();
    }
    desk.unlock_manager("246813", "李店长").unwrap()
}

/// The process's peak resident memory so far, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn ledger_bytes(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn garbage_statement_rows_are_mismatches_in_the_inbox_and_the_sign_off_counts_them() {
    let l = memory();
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "679533922928", NOON))
        .unwrap();
    succeed(&l, &id, NOON + 1);
    let desk = statement_desk(l);
    // The one good row matches; the rest is what a broken export or a hand edit leaves.
    let csv = "券码,面值\n679533922928,10.00\n679533999999,ten\n,5.00\n\u{1}\"\u{2},=,\n";
    let done = reconcile_statement(&desk, csv.as_bytes()).expect("some rows read");
    let r = &done.report;
    assert_eq!(
        r.counts.get(&redeemdesk_core::reconcile::Verdict::Matched),
        Some(&1)
    );
    assert_eq!(
        r.unreadable_count(),
        3,
        "every unreadable row is counted: {:?}",
        r.lines
    );
    let inbox = desk.ledger().inbox().unwrap();
    let waiting = inbox
        .reconciliations_to_review
        .iter()
        .find(|s| s.id == done.id)
        .expect("a day with only unreadable rows wrong still waits in the inbox");
    assert_eq!(waiting.run.mismatches, 3, "the inbox counts them");
    assert!(
        waiting.run.report.contains("679533999999,ten"),
        "the inbox's report holds the row's text as evidence"
    );
    let signed = desk.sign_off_day(done.id, &unlocked(&desk), None).unwrap();
    assert_eq!(
        (signed.mismatches, signed.unreadable_rows),
        (3, 3),
        "the sign-off says what was signed: three unreadable rows"
    );
}

#[test]
fn a_100_mb_gbk_statement_is_refused_with_bounded_memory_and_a_large_one_grows_the_ledger_little() {
    use redeemdesk_core::desk::reconcile::ReconcileError;
    use redeemdesk_core::statement::{StatementError, MAX_BYTES};
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    // A back office's export in GBK, written to disk row by row (never whole in memory here).
    let write_gbk = |path: &Path, rows: usize| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let (header, _, _) = encoding_rs::GBK.encode("券码,面值,状态,门店,备注\n");
        f.write_all(&header).unwrap();
        let (tail, _, _) = encoding_rs::GBK.encode(
            ",10.00,已核销,上海徐汇店,团购券核销（抖音）补录，门店收银台二号机，\
             顾客自带券码，核对无误后由店长确认，备注长度接近真实后台导出的说明栏\n",
        );
        for i in 0..rows {
            write!(f, "{:018}", 914_095_353_294_404_024u64 + i as u64).unwrap();
            f.write_all(&tail).unwrap();
        }
        f.flush().unwrap();
    };
    let huge = tmp.path().join("huge.csv");
    write_gbk(&huge, 700_000);
    let huge_bytes = std::fs::metadata(&huge).unwrap().len();
    assert!(huge_bytes > 100 * 1024 * 1024, "{huge_bytes} bytes");

    let (_dir, path, l) = temp_ledger();
    let desk = statement_desk(l);
    let before_kib = peak_rss_kib();
    let size_before = ledger_bytes(&path);
    let err = reconcile_statement(&desk, std::fs::File::open(&huge).unwrap())
        .expect_err("a 100 MB statement is refused");
    let after_kib = peak_rss_kib();
    assert!(
        matches!(err, ReconcileError::StatementFile(StatementError::TooLarge)),
        "{err}"
    );
    assert_eq!(err.code(), "statement_too_large");
    assert!(err.to_string().contains("20 MB"), "says the limit: {err}");
    let growth_mib = after_kib.saturating_sub(before_kib) / 1024;
    println!(
        "100 MB GBK statement ({huge_bytes} bytes): peak RSS {} MiB before, {} MiB after (+{growth_mib} MiB)",
        before_kib / 1024,
        after_kib / 1024
    );
    assert!(
        growth_mib < 200,
        "streamed: peak memory grew by {growth_mib} MiB (3.9 GB before issue 18)"
    );
    assert_eq!(
        desk.ledger()
            .inbox()
            .unwrap()
            .reconciliations_to_review
            .len(),
        0,
        "a refused statement leaves nothing behind"
    );

    // Just within the limits: 120,000 rows the till never saw, about 19 MB.
    let large = tmp.path().join("large.csv");
    write_gbk(&large, 120_000);
    let large_bytes = std::fs::metadata(&large).unwrap().len();
    assert!(large_bytes < MAX_BYTES, "{large_bytes}");
    let done = reconcile_statement(&desk, std::fs::File::open(&large).unwrap()).unwrap();
    assert_eq!(
        done.report.mismatch_count(),
        120_000,
        "every row is counted, listed or not"
    );
    let grown = ledger_bytes(&path).saturating_sub(size_before);
    let started = std::time::Instant::now();
    let inbox = desk.ledger().inbox().unwrap();
    let inbox_ms = started.elapsed().as_millis();
    println!(
        "{large_bytes}-byte statement of 120,000 rows: ledger grew by {grown} bytes; inbox opened in {inbox_ms} ms; peak RSS {} MiB",
        peak_rss_kib() / 1024
    );
    assert_eq!(inbox.reconciliations_to_review.len(), 1);
    assert!(
        grown < 2 * 1024 * 1024,
        "the stored report keeps the evidence, not the statement: grew {grown} bytes (611 MB before)"
    );
}

// ----- the way out: a new ledger that keeps the old one (issue 18 item 3) -------------------

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_damaged_ledger_is_set_aside_byte_for_byte_with_its_sidecars_and_a_new_one_starts() {
    let (dir, path, l) = temp_ledger();
    generate::fill(
        &l,
        &Synthetic {
            attempts: 2_000,
            first_day: day("2026-11-01"),
            per_day: 500,
            seed: 7,
        },
    )
    .unwrap();
    l.close().unwrap();
    drop(l);
    // A page in the middle overwritten: what a broken disk does.
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 4096 / 2 * 4096;
    for b in &mut bytes[middle..middle + 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let head_before = std::fs::read(ledger::head_path(&path)).unwrap();

    let now = 1_796_176_984_000; // 2026-12-02 02:03:04 UTC
    let (fresh, aside) =
        Ledger::start_new_keeping_old(&path, Mode::Sandbox, now).expect("set aside");
    println!("{aside:?}");
    assert_eq!(
        aside.archive,
        dir.path()
            .join("ledger-sandbox.damaged-20261202T020304Z.sqlite"),
        "named with when it was set aside"
    );
    assert_eq!(
        std::fs::read(&aside.archive).unwrap(),
        bytes,
        "the damaged file is kept byte for byte, never deleted or repaired"
    );
    assert_eq!(
        std::fs::read(ledger::head_path(&aside.archive)).unwrap(),
        head_before,
        "its head sidecar moved with it"
    );
    assert!(aside.damage.contains("damaged") || !aside.damage.is_empty());
    assert_eq!(
        fresh.recent_attempts(None, 10).unwrap().len(),
        0,
        "the new ledger is empty"
    );
    fresh.quick_check().expect("and whole");
    fresh.close().unwrap();
    drop(fresh);
    Ledger::open(&path, Mode::Sandbox).expect("the new ledger opens at the old name");
    println!("files after: {:?}", files_in(dir.path()));
}

#[test]
fn an_older_copy_put_back_is_set_aside_and_stays_readable_as_an_archive() {
    let (dir, path, l) = temp_ledger();
    for (i, code) in ["679533922928", "679533922935"].iter().enumerate() {
        let id = l
            .begin_attempt(attempt(
                ChannelKind::Shoubei,
                code,
                NOON + i as i64 * MINUTE,
            ))
            .unwrap();
        succeed(&l, &id, NOON + i as i64 * MINUTE + 1_000);
    }
    l.close().unwrap();
    drop(l);
    let older = std::fs::read(&path).unwrap();
    let l = Ledger::open(&path, Mode::Sandbox).unwrap();
    let id = l
        .begin_attempt(attempt(
            ChannelKind::Shoubei,
            "679533920042",
            NOON + 5 * MINUTE,
        ))
        .unwrap();
    succeed(&l, &id, NOON + 6 * MINUTE);
    l.close().unwrap();
    drop(l);
    std::fs::write(&path, &older).unwrap(); // an older backup put back
    let refused = Ledger::open(&path, Mode::Sandbox).unwrap_err();
    assert_eq!(refused.code(), "ledger_behind_head", "{refused}");

    // A healthy ledger is never set aside.
    let other = dir.path().join("healthy.sqlite");
    Ledger::open(&other, Mode::Sandbox)
        .unwrap()
        .close()
        .unwrap();
    let err = Ledger::start_new_keeping_old(&other, Mode::Sandbox, NOON).unwrap_err();
    assert_eq!(err.code(), "ledger_not_damaged", "{err}");
    assert!(other.exists(), "nothing moved");

    let (fresh, aside) = Ledger::start_new_keeping_old(&path, Mode::Sandbox, NOON).unwrap();
    assert!(
        aside.damage.contains("shorter") || aside.damage.contains("head"),
        "{}",
        aside.damage
    );
    let archive = Ledger::open_archive(&aside.archive, Mode::Sandbox)
        .expect("the old ledger opens as an archive");
    let kept = archive.recent_attempts(None, 10).unwrap();
    assert_eq!(kept.len(), 2, "its records read as they were");
    assert!(
        archive.verify_chain().unwrap().first_break.is_none(),
        "and its chain verifies"
    );
    assert!(fresh.recent_attempts(None, 10).unwrap().is_empty());
    println!("files after: {:?}", files_in(dir.path()));
}

// ----- chain mode (issue 21) ---------------------------------------------------------------

#[test]
fn a_ledger_has_one_desk_id_made_once_and_kept_across_opens() {
    let (_dir, path, l) = temp_ledger();
    let id = l.desk_id().unwrap();
    let parsed = uuid::Uuid::parse_str(&id).expect("a UUID");
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
    l.close().unwrap();
    drop(l);
    let again = Ledger::open(&path, Mode::Sandbox).unwrap();
    assert_eq!(
        again.desk_id().unwrap(),
        id,
        "the same ledger, the same desk"
    );
    let (_d2, _p2, other) = temp_ledger();
    assert_ne!(other.desk_id().unwrap(), id, "another ledger, another desk");
    let err = raw(&path)
        .execute("UPDATE meta SET value = 'x' WHERE key = 'desk_id'", [])
        .expect_err("meta is write-once");
    assert!(err.to_string().contains("write-once"), "{err}");
}

#[test]
fn the_hq_cursor_only_moves_forward_and_the_chain_rows_come_in_order() {
    let (_dir, path, l) = temp_ledger();
    let id = l
        .begin_attempt(attempt(ChannelKind::Shoubei, "6795", NOON))
        .unwrap();
    succeed(&l, &id, NOON + MINUTE);
    l.set_setting("scan.prefix", Some("X"), &manager(), NOON + 2 * MINUTE)
        .unwrap();
    let end = l.chain_end().unwrap();
    let rows = l.chain_rows_after(0, 100).unwrap();
    assert_eq!(rows.len() as i64, end);
    assert_eq!(rows[0].prev_hash, "0".repeat(64));
    for w in rows.windows(2) {
        assert_eq!(w[1].seq, w[0].seq + 1);
        assert_eq!(
            w[1].prev_hash, w[0].hash,
            "each row links to the one before"
        );
    }
    let first = rows[0]
        .attempt
        .as_ref()
        .expect("the creating event carries the attempt");
    assert_eq!(first["code"], "6795");
    assert!(rows[1].attempt.is_none());
    let body = rows[1].body_json();
    assert_eq!(body["state"], "succeeded");
    assert_eq!(body["settled_fen"], 900);
    assert!(
        body.get("raw_request").is_none(),
        "exchanges stay on the till"
    );
    assert_eq!(l.chain_rows_after(1, 100).unwrap()[0].seq, 2);
    // Paged in batches smaller than the chain (events and the seal each limited on their
    // own side), the pages put together are the chain.
    for limit in 1..=3 {
        let mut paged = Vec::new();
        loop {
            let after = paged.last().map_or(0, |r: &ChainRow| r.seq);
            let page = l.chain_rows_after(after, limit).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= limit);
            paged.extend(page);
        }
        assert_eq!(paged, rows, "pages of {limit}");
    }
    let last = rows.last().unwrap();
    assert_eq!(last.kind, "seal", "seals are in the chain HQ receives");
    assert!(last.time_ms.is_none());
    assert_eq!(
        l.chain_hash_at(2).unwrap().as_deref(),
        Some(rows[1].hash.as_str())
    );
    assert_eq!(l.chain_hash_at(end + 1).unwrap(), None);

    assert_eq!(l.hq_cursor().unwrap().acked_seq, 0);
    l.advance_hq_cursor(2, &rows[1].hash, NOON).unwrap();
    l.advance_hq_cursor(1, &rows[0].hash, NOON).unwrap();
    assert_eq!(l.hq_cursor().unwrap().acked_seq, 2, "never back");
    let err = raw(&path)
        .execute("UPDATE hq_upload SET acked_seq = 0", [])
        .expect_err("the trigger refuses a cursor moved back");
    assert!(err.to_string().contains("only moves forward"), "{err}");
    l.mark_hq_fork("HQ holds another row at 2", NOON).unwrap();
    assert!(l.hq_cursor().unwrap().fork.is_some());
}
