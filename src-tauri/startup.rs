//! Everything that happens before the window opens: find and lock the data directory,
//! start logging, choose the mode, open the ledger, start the embedded sandbox (sandbox
//! mode) and the desk with its background work. A failure here does not panic and does not
//! leave a blank window: the window opens on a page that says what is wrong, and the process
//! exits non-zero when it closes. Nothing in the data directory is changed by a failure.

use crate::error::UiError;
use redeemdesk_core::app_info::{AppInfo, Mode, StartupWarning};
use redeemdesk_core::clock::{Clock, SystemClock};
use redeemdesk_core::data_dir::{self, DataDir};
use redeemdesk_core::desk::{Background, Desk, ManagerUnlock};
use redeemdesk_core::file_modes;
use redeemdesk_core::roles::RoleError;
use redeemdesk_sandbox::boot::{boot, start_virtual_printer, ChannelSource};
use redeemdesk_sandbox::printer::VirtualPrinter;
use redeemdesk_sandbox::RunningSandbox;
use std::path::PathBuf;
use std::sync::Arc;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// A desk that started: its data directory (locked), its mode and the running desk.
pub struct Ready {
    pub data_dir: DataDir,
    pub mode: Mode,
    pub desk: Arc<Desk>,
    /// The in-process emulator in sandbox mode; stops with the app.
    _sandbox: Option<RunningSandbox>,
    /// The virtual printer in sandbox mode (issue 22).
    printer: Option<VirtualPrinter>,
    _background: Background,
    /// Found before the desk opened (the single-instance name held by another program).
    early_warnings: Vec<StartupWarning>,
    /// Chain mode's uploader, when config.toml has `[hq]` (the sync badge reads its state).
    pub hq: Option<Arc<redeemdesk_core::hq_sync::Uploader>>,
    _hq_task: Option<redeemdesk_core::hq_sync::UploaderTask>,
    /// The token of the manager session the window unlocked (`manager_unlock`): manager
    /// commands hand it to the core, which alone decides whether it still holds.
    unlock: std::sync::Mutex<Option<ManagerUnlock>>,
    /// Chain mode's reads of the store at HQ (the 门店 tab, the cross-till check).
    pub hq_store: Option<Arc<redeemdesk_hq::till::StoreLink>>,
    /// This till's name at HQ (`[hq] till`).
    pub hq_till: Option<String>,
}

impl std::fmt::Debug for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ready")
            .field("data_dir", &self.data_dir)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Ready {
    /// The window's manager token for a manager-only core method; without one the session
    /// is locked.
    pub fn unlock(&self) -> Result<ManagerUnlock, UiError> {
        self.unlock
            .lock()
            .expect("manager token")
            .clone()
            .ok_or_else(|| RoleError::Locked.into())
    }

    /// Keeps the token of a session just unlocked, or forgets it (`None`) when locked.
    pub fn keep_unlock(&self, unlock: Option<ManagerUnlock>) {
        *self.unlock.lock().expect("manager token") = unlock;
    }

    /// The unlocked manager's name by the desk's rule, for a command whose work is not a
    /// desk method (a ledger read, a file, a restart): the token goes to the core.
    pub fn manager(&self) -> Result<String, UiError> {
        Ok(self.desk.manager(&self.unlock()?)?)
    }

    pub fn printer(&self) -> Option<&VirtualPrinter> {
        self.printer.as_ref()
    }

    pub fn info(&self) -> AppInfo {
        AppInfo {
            halted: self.desk.halted(),
            channels: self.desk.channel_kinds(),
            ..AppInfo::new(
                self.mode,
                self.data_dir.root(),
                self.desk.ledger().business_day_rule(),
                self.desk.clock().now_ms(),
            )
            .with_clock_skew(self.desk.clock_skew())
            .with_warnings(&file_modes::exposed_secrets(self.data_dir.root()))
            .with_more_warnings(&self.early_warnings)
        }
    }
}

/// The outcome of start-up, kept as the app's state for its whole life.
#[derive(Debug)]
pub enum Startup {
    Ready(Box<Ready>),
    Failed(UiError),
}

impl Startup {
    /// Opens the data directory named by `REDEEMDESK_DATA_DIR` or the platform default, and
    /// everything in it. Runs on Tauri's async runtime, which the sandbox and the
    /// background work then keep using.
    /// Logging starts as soon as the data directory is known, so the rest of start-up is
    /// in the log file; the returned guard must live as long as the app.
    pub fn open() -> (Startup, Option<WorkerGuard>) {
        let data_dir = match data_dir::resolve().and_then(|root| DataDir::open(&root)) {
            Ok(dir) => dir,
            Err(e) => return (Startup::Failed(UiError::from(e)), init_logging(None)),
        };
        let guard = init_logging(Some(data_dir.root()));
        // A new ledger asked for from the window (ledger_commands.rs): with the directory
        // locked and before anything opens the ledger.
        let set_aside = take_new_ledger_request(data_dir.root());
        let startup = match tauri::async_runtime::block_on(open_desk(data_dir)) {
            Ok(ready) => Startup::Ready(Box::new(ready)).with_warning(set_aside),
            Err(e) => Startup::Failed(e),
        };
        (startup, guard)
    }

    /// Adds a warning found before start-up to what the cashier screen shows.
    pub fn with_warning(mut self, warning: Option<StartupWarning>) -> Startup {
        if let (Startup::Ready(ready), Some(w)) = (&mut self, warning) {
            ready.early_warnings.push(w);
        }
        self
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Startup::Failed(_))
    }

    /// The desk, or the start-up failure for a command to return.
    pub fn ready(&self) -> Result<&Ready, UiError> {
        match self {
            Startup::Ready(r) => Ok(r),
            Startup::Failed(e) => Err(e.clone()),
        }
    }

    /// Where the webview keeps its own storage: inside the data directory, so that a test's
    /// temporary data directory isolates everything. A failed start uses a temporary one.
    pub fn webview_dir(&self) -> PathBuf {
        match self {
            Startup::Ready(r) => r.data_dir.root().join("webview"),
            Startup::Failed(_) => {
                std::env::temp_dir().join(format!("redeemdesk-webview-{}", std::process::id()))
            }
        }
    }
}

/// Carries out a new-ledger request, and says what came of it on the till's warning line.
fn take_new_ledger_request(root: &std::path::Path) -> Option<StartupWarning> {
    use redeemdesk_core::new_ledger::{take_request, Taken};
    let mode = if root
        .join(redeemdesk_core::channel_setup::CONFIG_FILE)
        .exists()
    {
        Mode::Live
    } else {
        Mode::Sandbox
    };
    let taken = take_request(root, mode, SystemClock.now_ms())?;
    Some(match taken {
        Taken::Started { archive, carried } => {
            let roles = carried.is_some_and(|c| c.manager_pin);
            StartupWarning {
                code: "ledger_set_aside".into(),
                message: format!(
                    "A new ledger was started; the damaged one is kept as {}{}",
                    archive.display(),
                    if roles {
                        ""
                    } else {
                        " (its manager PIN could not be read: set one again)"
                    }
                ),
                detail: Some(serde_json::json!({
                    "archive": archive.display().to_string(),
                    "manager_pin_carried": roles,
                })),
            }
        }
        Taken::NotDamaged => StartupWarning {
            code: "ledger_not_damaged".into(),
            message: "The ledger is whole: no new ledger was started".into(),
            detail: None,
        },
        Taken::Failed(e) => StartupWarning {
            code: e.code().into(),
            message: format!("No new ledger was started: {e}"),
            detail: None,
        },
    })
}

pub(crate) async fn open_desk(data_dir: DataDir) -> Result<Ready, UiError> {
    let booted = boot(data_dir.root(), ChannelSource::Auto, Arc::new(SystemClock))
        .await
        .map_err(UiError::from)?;
    if let Err(e) = crate::integrity_check::spawn(booted.desk.clone()) {
        tracing::warn!("the ledger integrity check did not start: {e}");
    }
    let printer = if booted.sandbox.is_some() {
        start_virtual_printer(data_dir.root(), &booted.desk).await
    } else {
        None
    };
    let background = booted.desk.start_background();
    // HQ being unreachable is only the uploader's backoff; a bad [hq] is logged, and the
    // till redeems as without it.
    let (hq, hq_task) = match booted.hq.as_ref().map(|hq| {
        let desk = booted.desk.clone();
        redeemdesk_hq::till::start_uploader(
            booted.desk.ledger().clone(),
            booted.desk.clock().clone(),
            Some(Arc::new(move || desk.channel_clock())),
            hq,
            env!("CARGO_PKG_VERSION"),
        )
    }) {
        Some(Ok((u, task))) => (Some(u), Some(task)),
        Some(Err(e)) => {
            tracing::error!("chain mode did not start: {e}");
            (None, None)
        }
        None => (None, None),
    };
    let hq_store = match (&hq, booted.hq.as_ref()) {
        (Some(u), Some(cfg)) => match redeemdesk_hq::till::StoreLink::new(cfg, u.desk_id()) {
            Ok(link) => {
                let link = Arc::new(link);
                booted.desk.ask_other_tills(link.clone());
                let warm = link.clone();
                tauri::async_runtime::spawn(async move { warm.warm().await });
                Some(link)
            }
            Err(e) => {
                tracing::error!("the store's reads at HQ did not start: {e}");
                None
            }
        },
        _ => None,
    };
    let hq_till = hq.as_ref().and(booted.hq.as_ref()).map(|c| c.till.clone());
    Ok(Ready {
        data_dir,
        mode: booted.mode,
        desk: booted.desk,
        _sandbox: booted.sandbox,
        printer,
        _background: background,
        early_warnings: Vec::new(),
        hq,
        _hq_task: hq_task,
        unlock: std::sync::Mutex::new(None),
        hq_store,
        hq_till,
    })
}

/// Logs go to stderr and, when the data directory is usable, to a daily-rotated file in
/// `<data dir>/logs`. The guard must live as long as the app so the file is flushed.
pub fn init_logging(root: Option<&std::path::Path>) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_env("REDEEMDESK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,redeemdesk=info,redeemdesk_core=info"));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let (file_layer, guard) = match root {
        Some(root) => {
            let appender = tracing_appender::rolling::daily(root.join("logs"), "redeemdesk.log");
            // The appender has created today's file with the umask's mode: make it private.
            if let Err(e) = file_modes::tighten_data_dir(root, &root.join("logs")) {
                eprintln!("cannot make the log files private: {e}");
            }
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (
                Some(fmt::layer().with_writer(writer).with_ansi(false)),
                Some(guard),
            )
        }
        None => (None, None),
    };
    // A second init (tests build several apps in one process) is harmless: keep the first.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file_layer)
        .try_init();
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts on a data directory holding these files, as the app does after the lock.
    fn start_on(files: &[(&str, &str)]) -> Result<Ready, UiError> {
        let tmp = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(tmp.path().join(name), text).unwrap();
        }
        let dir = DataDir::open(tmp.path()).unwrap();
        tauri::async_runtime::block_on(open_desk(dir))
    }

    #[cfg(unix)]
    #[test]
    fn after_start_the_data_dir_is_0700_the_ledger_0600_and_a_readable_secrets_file_is_warned_about(
    ) {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        let secrets = tmp.path().join("secrets.toml");
        std::fs::write(&secrets, "[shoubei]\nkey = \"x\"\n").unwrap();
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = DataDir::open(tmp.path()).unwrap();
        let ready = tauri::async_runtime::block_on(open_desk(dir)).expect("sandbox starts");
        assert_eq!(mode(tmp.path()), 0o700, "the data directory is the owner's");
        let ledger = tmp
            .path()
            .join(redeemdesk_core::ledger::file_name(Mode::Sandbox));
        assert_eq!(
            mode(&ledger),
            0o600,
            "the ledger holds PIN hashes and codes"
        );
        let warnings = ready.info().warnings;
        assert_eq!(
            warnings.len(),
            1,
            "the 0644 secrets file reaches the UI as a warning: {warnings:?}"
        );
        assert_eq!(warnings[0].code, "secret_readable_by_others");
        assert_eq!(
            mode(&secrets),
            0o644,
            "the operator's file is left as it is"
        );
    }

    #[test]
    fn a_config_toml_without_a_channel_opens_the_start_up_page_with_its_own_code() {
        let err = start_on(&[("config.toml", "[business]\nutc_offset_minutes = 480\n")])
            .expect_err("live mode with no channel must not start");
        assert_eq!(
            err.code, "config_no_channel",
            "the page shows what to do for this code: {err:?}"
        );
        assert!(err.message.contains("设置"), "{err:?}");
    }

    #[test]
    fn a_demo_key_in_the_live_config_reaches_the_start_up_page_naming_the_field() {
        let err = start_on(&[
            (
                "config.toml",
                "[channels.liantuofu]\nbase_url = \"http://127.0.0.1:9/liantuofu\"\n\
                 app_id = \"EW_N5946005323\"\nconsume_merchant_code = \"EW_N2949193145\"\n\
                 secrets = \"secrets.toml\"\n",
            ),
            (
                "secrets.toml",
                "[liantuofu]\nkey = \"beb2c94ff04754360ef131dde7bb3017\"\n",
            ),
        ])
        .expect_err("a published key must not go live");
        assert_eq!(err.code, "config_invalid", "{err:?}");
        assert_eq!(
            err.field.as_deref(),
            Some("channels.liantuofu.key"),
            "the field is structured data for the page, not only text: {err:?}"
        );
    }
}
