//! Everything that happens before the window opens: find and lock the data directory, start
//! logging. A failure here does not panic and does not leave a blank window: the window
//! opens on a page that says what is wrong, and the process exits non-zero when it closes.

use crate::error::UiError;
use redeemdesk_core::app_info::{AppInfo, Mode};
use redeemdesk_core::data_dir::{self, DataDir};
use std::path::PathBuf;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// The desk, once the data directory is open and locked.
#[derive(Debug)]
pub struct Desk {
    pub data_dir: DataDir,
    pub mode: Mode,
}

impl Desk {
    pub fn info(&self) -> AppInfo {
        AppInfo::new(self.mode, self.data_dir.root())
    }
}

/// The outcome of start-up, kept as the app's state for its whole life.
#[derive(Debug)]
pub enum Startup {
    Ready(Desk),
    Failed(UiError),
}

/// The single-instance name for the data directory this launch would use.
pub fn instance_id() -> String {
    match data_dir::resolve() {
        Ok(root) => data_dir::instance_id(&root),
        Err(_) => data_dir::APP_IDENTIFIER.to_owned(),
    }
}

impl Startup {
    /// Opens the data directory named by `REDEEMDESK_DATA_DIR` or the platform default.
    pub fn open() -> Startup {
        match data_dir::resolve().and_then(|root| DataDir::open(&root)) {
            // Sandbox until a live channel is configured (issue 6 adds live configuration).
            Ok(dir) => Startup::Ready(Desk {
                data_dir: dir,
                mode: Mode::Sandbox,
            }),
            Err(e) => Startup::Failed(UiError::from(&e)),
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Startup::Failed(_))
    }

    /// Where the webview keeps its own storage: inside the data directory, so that a test's
    /// temporary data directory isolates everything. A failed start uses a temporary one.
    pub fn webview_dir(&self) -> PathBuf {
        match self {
            Startup::Ready(desk) => desk.data_dir.root().join("webview"),
            Startup::Failed(_) => {
                std::env::temp_dir().join(format!("redeemdesk-webview-{}", std::process::id()))
            }
        }
    }
}

/// Logs go to stderr and, when the data directory is usable, to a daily-rotated file in
/// `<data dir>/logs`. The guard must live as long as the app so the file is flushed.
pub fn init_logging(startup: &Startup) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_env("REDEEMDESK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,redeemdesk=info,redeemdesk_core=info"));
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let (file_layer, guard) = match startup {
        Startup::Ready(desk) => {
            let appender =
                tracing_appender::rolling::daily(desk.data_dir.logs_dir(), "redeemdesk.log");
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (
                Some(fmt::layer().with_writer(writer).with_ansi(false)),
                Some(guard),
            )
        }
        Startup::Failed(_) => (None, None),
    };
    // A second init (tests build several apps in one process) is harmless: keep the first.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file_layer)
        .try_init();
    guard
}
