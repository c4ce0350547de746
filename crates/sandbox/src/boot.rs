//! How a front end (the app, the CLI) gets a desk for a data directory: the live channel
//! configuration (`config.toml`) when there is one, otherwise every channel pointed at this
//! sandbox running in-process (product.md "Sandbox mode — the default on a fresh install").
//! One ledger file per mode, so sandbox records never mix into live ones. A `config.toml` that
//! is there but configures no channel, or carries a sandbox secret, stops the start with the
//! refusal (`ConfigError`) rather than falling back to either mode on its own.

use crate::demo_keys::{AllinpayKeys, KEYS_DIR};
use crate::printer::{PrinterOptions, VirtualPrinter};
use crate::{DemoData, RunningSandbox, Sandbox, SandboxOptions};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::ChannelError;
use redeemdesk_core::channel::Timeouts;
use redeemdesk_core::clock::Clock;
use redeemdesk_core::config::{Config, ConfigError};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::{self, Ledger};
use redeemdesk_core::scan::ScanRules;
use redeemdesk_core::slip::{Paper, PrinterSettings, PrinterTarget};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The live channel configuration's file name in the data directory.
pub use redeemdesk_core::channel_setup::CONFIG_FILE;

/// The in-process sandbox's own state (its coupons and records) in the data directory.
pub const SANDBOX_STATE_FILE: &str = "sandbox-state.json";
/// Which reading of each channel's documents the embedded sandbox answers under
/// (`reading::Readings`: a table per channel, e.g. `[allinpay] shape = "envelope"`). Absent:
/// the demo data's `[readings]`, themselves the defaults the seeds support.
pub const SANDBOX_READINGS_FILE: &str = "sandbox-readings.toml";

/// The install's readings file, if there is one.
fn install_readings(root: &Path) -> Result<Option<crate::reading::Readings>, BootError> {
    let path = root.join(SANDBOX_READINGS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .map(Some)
            .map_err(|e| BootError::Readings {
                file: path.display().to_string(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BootError::Readings {
            file: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}

/// Which channels to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelSource {
    /// `config.toml` in the data directory if present, else the sandbox (what the app does).
    Auto,
    /// The sandbox, whatever is configured (the CLI's `--sandbox`).
    Sandbox,
    /// This configuration file (the CLI's `--config`).
    Config(PathBuf),
    /// A sandbox already running elsewhere (the standalone `redeemdesk-sandbox`, or a test
    /// that keeps the sandbox alive across the front end's crashes), sharing the data
    /// directory's key pairs (`keys/`).
    SandboxAt(SocketAddr),
}

/// A desk and what keeps it running.
pub struct BootedDesk {
    pub mode: Mode,
    pub desk: Arc<Desk>,
    /// The in-process emulator in sandbox mode; the channels stop answering when dropped.
    pub sandbox: Option<RunningSandbox>,
    /// `[hq]` of a live configuration: chain mode's uploader is the front end's to start.
    pub hq: Option<redeemdesk_core::config::HqConfig>,
}

/// Where the virtual printer keeps its slips, in the data directory.
pub const VIRTUAL_PRINTER_DIR: &str = "virtual-printer";

/// Why no desk could be opened. `code()` is what the UI branches on.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// The live configuration was refused; it names the field where there is one.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A validated configuration's channel could not be built.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("the sandbox could not start: {0}")]
    Sandbox(#[from] crate::SandboxError),
    /// The install's `sandbox-readings.toml` could not be read.
    #[error("{file}: {message}")]
    Readings { file: String, message: String },
    #[error(transparent)]
    Ledger(#[from] redeemdesk_core::ledger::LedgerError),
}

impl BootError {
    pub fn code(&self) -> &'static str {
        match self {
            BootError::Config(e) => e.code(),
            BootError::Channel(_) => "config_invalid",
            BootError::Sandbox(_) => "sandbox_failed",
            BootError::Readings { .. } => "sandbox_readings_invalid",
            BootError::Ledger(e) => e.code(),
        }
    }

    /// The setting a refusal is about (`channels.shoubei.key`), for the UI to point at.
    pub fn field(&self) -> Option<String> {
        match self {
            BootError::Config(e) => e.field().map(str::to_owned),
            BootError::Channel(ChannelError::Config { field, .. }) => Some(field.clone()),
            _ => None,
        }
    }
}

impl redeemdesk_core::refusal::Refusal for BootError {
    fn code(&self) -> &'static str {
        BootError::code(self)
    }
    fn field(&self) -> Option<String> {
        BootError::field(self)
    }
}

/// The demo data with this install's allinpay key pairs, made in `<root>/sandbox-keys/` on the
/// first start in sandbox mode (a second or so, once) and read back afterwards. A sandbox
/// started elsewhere for this data directory (`redeemdesk-sandbox --keys <root>/sandbox-keys`)
/// reads the same files.
fn install_demo(root: &Path) -> Result<DemoData, crate::SandboxError> {
    let keys = AllinpayKeys::in_dir(&root.join(KEYS_DIR))?;
    Ok(DemoData::embedded_with(keys)?)
}

/// Opens the ledger of the chosen mode in `root` (a locked data directory) and the desk on
/// it; must run inside a tokio runtime (the sandbox serves from it).
pub async fn boot(
    root: &Path,
    source: ChannelSource,
    clock: Arc<dyn Clock>,
) -> Result<BootedDesk, BootError> {
    let live = match &source {
        ChannelSource::Config(path) => Some(path.clone()),
        ChannelSource::Sandbox | ChannelSource::SandboxAt(_) => None,
        ChannelSource::Auto => Some(root.join(CONFIG_FILE)).filter(|p| p.exists()),
    };
    let (mode, config, sandbox) = match (live, source) {
        (Some(path), _) => {
            let config = Config::load(&path, root)?;
            (Mode::Live, config, None)
        }
        (None, ChannelSource::SandboxAt(addr)) => {
            let demo = install_demo(root)?;
            let config = crate::demo_config::config(&demo, addr, Timeouts::default());
            (Mode::Sandbox, config, None)
        }
        (None, _) => {
            // The emulator's state lives beside the ledger: after a crash and a restart the
            // resolver must find what the sandbox already committed, as a real channel would.
            let demo = install_demo(root)?;
            let readings = install_readings(root)?.unwrap_or(demo.readings);
            let sandbox = Sandbox::start(SandboxOptions {
                state_file: Some(root.join(SANDBOX_STATE_FILE)),
                demo: Some(demo),
                readings,
                ..Default::default()
            })
            .await?;
            (Mode::Sandbox, sandbox.demo_config(), Some(sandbox))
        }
    };
    let channels = config.build_channels(clock.clone())?;
    let hq = config.hq.clone();
    let ledger = Arc::new(Ledger::open(&root.join(ledger::file_name(mode)), mode)?);
    if mode == Mode::Live {
        carry_roles_from_the_sandbox(root, &ledger, clock.now_ms())?;
    }
    let desk = Desk::open(ledger, channels, clock, ScanRules::default())?;
    Ok(BootedDesk {
        mode,
        desk: Arc::new(desk),
        sandbox,
        hq,
    })
}

/// The manager PIN and the cashiers set while practising come along into a live ledger that
/// has none (core going_live.rs). A sandbox ledger that exists but cannot be read stops the
/// start: carrying on would let the first person at F9 set a new manager PIN.
fn carry_roles_from_the_sandbox(
    root: &Path,
    live: &Ledger,
    now_ms: redeemdesk_core::clock::UnixMs,
) -> Result<(), BootError> {
    let path = root.join(ledger::file_name(Mode::Sandbox));
    if !path.exists() {
        return Ok(());
    }
    let sandbox = Ledger::open_read_only(&path, Mode::Sandbox)?;
    let carried = redeemdesk_core::going_live::carry_roles_over(&sandbox, live, now_ms)?;
    if carried.manager_pin || carried.cashiers {
        tracing::info!(
            ?carried,
            "the manager PIN and cashiers came over from the sandbox ledger"
        );
    }
    Ok(())
}

/// Sandbox mode prints to the virtual printer by default, so a new user sees a real
/// receipt; a printer the manager saves in 设置 wins. No printer is not a failed start. The
/// app calls it for its embedded sandbox (src-tauri/startup.rs); the CLI, which prints
/// nothing, does not. The printer stops when the returned value is dropped.
pub async fn start_virtual_printer(root: &Path, desk: &Desk) -> Option<VirtualPrinter> {
    let dir = root.join(VIRTUAL_PRINTER_DIR);
    // The port of the last run first: a manager who saved this printer in 设置 keeps it.
    let port_file = dir.join("port");
    let last: u16 = std::fs::read_to_string(&port_file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    let options = |port| PrinterOptions {
        dir: dir.clone(),
        columns: Paper::Mm58.columns(),
        port,
    };
    let started = match VirtualPrinter::start(options(last)).await {
        Ok(p) => Ok(p),
        Err(_) if last != 0 => VirtualPrinter::start(options(0)).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(p) => {
            if let Err(e) = std::fs::write(&port_file, p.addr().port().to_string()) {
                tracing::warn!("the virtual printer's port was not kept: {e}");
            }
            desk.set_printer_fallback(PrinterSettings {
                target: Some(PrinterTarget::Network {
                    address: p.addr().to_string(),
                }),
                paper: Paper::Mm58,
                auto_print: true,
                store: "沙箱演示店".into(),
                till: "1 号收银台".into(),
            });
            Some(p)
        }
        Err(e) => {
            tracing::warn!("the virtual printer did not start: {e}");
            None
        }
    }
}
