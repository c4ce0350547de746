//! The 设置 screen's commands: the desk's own settings (scanner
//! prefix/suffix, business day), 测试连接 for a channel's settings as typed, whether the next
//! start is live, and the restart that switches modes. Channel setup and the cashier list
//! are in commands.rs; every one here needs the manager unlocked.

use crate::error::UiError;
use crate::startup::Startup;
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel_check::{self, ConnectionCheck};
use redeemdesk_core::channel_setup::{self, ChannelEdit};
use redeemdesk_core::desk_settings::DeskSettings;
use redeemdesk_core::slip::print::ShiftEndAnswer;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use tauri::{AppHandle, Runtime, State};

#[tauri::command]
pub fn desk_settings(startup: State<'_, Startup>) -> Result<DeskSettings, UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    Ok(ready.desk.desk_settings())
}

/// Saves the scanner prefix/suffix and the business day; a refusal names the field and
/// changes nothing.
#[tauri::command]
pub fn save_desk_settings(
    startup: State<'_, Startup>,
    settings: DeskSettings,
) -> Result<DeskSettings, UiError> {
    let ready = startup.ready()?;
    Ok(ready.desk.save_desk_settings(&ready.unlock()?, &settings)?)
}

/// One harmless call to the channel with the settings as typed (keys left blank are the
/// saved ones); nothing is saved.
#[tauri::command]
pub async fn test_channel_connection(
    startup: State<'_, Startup>,
    edit: ChannelEdit,
) -> Result<ConnectionCheck, UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    let config = channel_setup::dry_run(ready.data_dir.root(), &edit)?;
    let clock = ready.desk.clock().clone();
    channel_check::check_connection(&config, edit.channel, clock)
        .await
        .map_err(|e| UiError::new("connection_test_failed", e.to_string()))
}

/// 交班: ends the open shift and prints its 交班单 (issue 22); the UI then shows the
/// shift-start chooser.
#[tauri::command]
pub fn end_shift(startup: State<'_, Startup>) -> Result<Option<ShiftEndAnswer>, UiError> {
    Ok(startup.ready()?.desk.end_shift_with_slip()?)
}

/// The mode running now and the one the next start will run in.
#[derive(Debug, Serialize)]
pub struct ModeStatus {
    pub running: Mode,
    pub next_start: Mode,
}

#[tauri::command]
pub fn mode_status(startup: State<'_, Startup>) -> Result<ModeStatus, UiError> {
    let ready = startup.ready()?;
    let next_start = if channel_setup::is_configured(ready.data_dir.root()) {
        Mode::Live
    } else {
        Mode::Sandbox
    };
    Ok(ModeStatus {
        running: ready.mode,
        next_start,
    })
}

static RESTART: AtomicBool = AtomicBool::new(false);

/// With this set, a restart only exits (see [`relaunch_if_asked`]).
pub const NO_RELAUNCH_ENV: &str = "REDEEMDESK_NO_RELAUNCH";

/// Restarts the app so saved channel settings (and a switch to live mode) take effect.
/// A manager action: a cashier cannot bounce the desk. The window closes first and the new
/// process starts only once this one has let go of the data directory's lock and its
/// single-instance name (see [`relaunch_if_asked`]); Tauri's own restart spawns the new
/// process while the old one still holds both, and the new one would refuse to start.
#[tauri::command]
pub fn restart_app<R: Runtime>(
    app: AppHandle<R>,
    startup: State<'_, Startup>,
) -> Result<(), UiError> {
    let ready = startup.ready()?;
    let manager = ready.manager()?;
    tracing::info!(manager = %manager, "restart asked from the settings screen");
    RESTART.store(true, Ordering::SeqCst);
    app.exit(0);
    Ok(())
}

/// Asks `run` to start the app again once this process has let go of the data directory.
pub fn restart_after_exit() {
    RESTART.store(true, Ordering::SeqCst);
}

/// Called by `run` after the app (and with it the lock) is gone: starts the same binary
/// with the same arguments and environment when a restart was asked for.
pub fn relaunch_if_asked() {
    if !RESTART.load(Ordering::SeqCst) {
        return;
    }
    // The end-to-end tests' seam: WebDriver cannot follow a process the app starts itself,
    // so a test starts the next one (and sees what its start-up did).
    if std::env::var_os(NO_RELAUNCH_ENV).is_some() {
        tracing::info!(
            "restart asked; {NO_RELAUNCH_ENV} is set, so the next start is left to the caller"
        );
        return;
    }
    let started = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .spawn()
    });
    if let Err(e) = started {
        tracing::error!("the restart could not start the app again: {e}");
    }
}
