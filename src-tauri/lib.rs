//! The Tauri shell: builder, setup and state. Glue only; the work is in `redeemdesk-core`.

mod args;
#[cfg(test)]
mod command_list;
mod commands;
mod error;
mod hq_commands;
mod integrity_check;
mod ledger_commands;
mod manager_commands;
mod print_commands;
mod ready_probe;
mod rendering;
mod settings_commands;
mod single_instance;
mod startup;
#[cfg(test)]
mod ui_conventions;
mod window_size;

use error::UiError;
use redeemdesk_core::app_info::StartupWarning;
use startup::Startup;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tauri::{Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// The exit code when the app could not start (data directory unusable, ledger corrupt…).
pub const FATAL_EXIT_CODE: i32 = 2;

pub const WINDOW_TITLE: &str = "核销台 RedeemDesk";

/// Adds the state and the commands; the command-layer tests run it on the mock runtime.
pub fn with_commands<R: Runtime>(
    builder: tauri::Builder<R>,
    startup: Startup,
) -> tauri::Builder<R> {
    commands_of(builder).manage(startup)
}

/// The commands alone: the app adds its `Startup` state in `setup`, before any command can
/// be called, because start-up runs beside the window system's own (see `run`).
fn commands_of<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::app_info,
        commands::quit_after_fatal,
        ledger_commands::start_new_ledger,
        commands::demo_codes,
        commands::channels,
        commands::prepare,
        commands::redeem,
        commands::recent_attempts,
        commands::day_log,
        commands::code_timeline,
        commands::inbox,
        commands::decide,
        commands::products,
        commands::submit_order,
        commands::manager_pin_is_set,
        commands::set_manager_pin,
        commands::manager_unlock,
        commands::manager_lock,
        commands::undo_preview,
        commands::undo,
        commands::reconcile_day,
        commands::sign_off_day,
        commands::channel_setup,
        commands::save_channel_setup,
        commands::cashiers,
        commands::set_cashiers,
        commands::start_shift,
        manager_commands::retry_unknown,
        manager_commands::retry_notification,
        manager_commands::settle_notification,
        manager_commands::statement_mapping,
        manager_commands::save_statement_mapping,
        manager_commands::check_statement,
        manager_commands::day_reconciliations,
        manager_commands::export_day_log,
        manager_commands::export_reconciliation,
        settings_commands::desk_settings,
        settings_commands::save_desk_settings,
        settings_commands::test_channel_connection,
        settings_commands::mode_status,
        settings_commands::restart_app,
        settings_commands::end_shift,
        print_commands::printer_settings,
        print_commands::save_printer_settings,
        print_commands::print_test_page,
        print_commands::after_answer,
        print_commands::print_slip,
        print_commands::reprint_slip,
        print_commands::recent_slips,
        print_commands::virtual_slips,
        hq_commands::sync_state,
        hq_commands::store_day
    ])
}

/// The Tauri event the UI listens to for every change of an attempt or a notification
/// (the recent strip, an amber result turning green or red, the outbox state).
pub const DESK_EVENT: &str = "desk";

/// Forwards the desk's change feed to the window. A lagging window misses old changes and
/// re-reads the ledger; it never slows the desk down.
fn forward_desk_events<R: Runtime>(
    app: tauri::AppHandle<R>,
    mut feed: tokio::sync::broadcast::Receiver<redeemdesk_core::desk::DeskEvent>,
) {
    use tauri::Emitter;
    tauri::async_runtime::spawn(async move {
        loop {
            match feed.recv().await {
                Ok(event) => {
                    let _ = app.emit(DESK_EVENT, event);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// SIGTERM (a shutdown, `kill`, a session ending) and SIGINT (Ctrl-C in a terminal) end the
/// app the way its close button does, so the ledger is closed cleanly instead of leaving
/// the day in its `-wal` (issue 18).
fn exit_on_signals<R: Runtime>(app: tauri::AppHandle<R>) {
    #[cfg(unix)]
    tauri::async_runtime::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("SIGTERM and SIGINT will end the app without closing the ledger");
            return;
        };
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!("{name}: quitting");
        app.exit(0);
    });
}

/// The last thing before the process ends, however it was asked to: the WAL folded into the
/// main file, the head sidecar written. Writes still arriving are refused as `ledger_closed`.
fn close_ledger<R: Runtime>(app: &tauri::AppHandle<R>) {
    let Some(startup) = app.try_state::<Startup>() else {
        return;
    };
    if let Startup::Ready(ready) = &*startup {
        match ready.desk.ledger().close() {
            Ok(()) => tracing::info!("the ledger closed cleanly"),
            Err(e) => tracing::error!(code = e.code(), "the ledger did not close cleanly: {e}"),
        }
    }
}

/// Starts the app and returns the process exit code.
pub fn run() -> i32 {
    // Before anything opens the data directory: a desk already running on it is brought
    // to the front instead, and this launch ends (not an error).
    let instance = match single_instance::claim() {
        single_instance::Claim::HandedOver => return 0,
        single_instance::Claim::Run(instance) => instance,
    };
    // A name held by someone else: said at once on stderr, and on the window below. If the
    // desk that holds it also holds the data directory, the start-up page says so (exit 2).
    let unreachable = instance.problem().cloned();
    if let Some(why) = &unreachable {
        eprintln!("核销台 RedeemDesk: {why}");
    }
    // The data directory, the ledger and the embedded sandbox open on their own thread while
    // the window system starts (GTK, the event loop, the single-instance check): the two
    // take about as long, and the window does not need the desk until `setup` (bench 5).
    let opening = std::thread::spawn(move || {
        let (startup, guard) = Startup::open();
        let warning = unreachable.map(|why| StartupWarning {
            code: why.code().to_owned(),
            message: why.to_string(),
            detail: None,
        });
        (startup.with_warning(warning), guard)
    });
    let failed = Arc::new(AtomicBool::new(false));
    // The log writer's guard lives until the app has stopped, so the last lines are flushed.
    let log_guard = Arc::new(Mutex::new(None));

    let builder = single_instance::with_plugin(tauri::Builder::default())
        // The native save dialog of the exports; only Rust calls it (manager_commands.rs).
        .plugin(tauri_plugin_dialog::init());
    let (setup_failed, setup_guard) = (failed.clone(), log_guard.clone());
    let raise = instance.raise_slot();
    let app = commands_of(builder)
        .setup(move |app| {
            let (startup, guard) = opening.join().unwrap_or_else(|_| {
                let e = UiError::new("startup_panicked", "start-up stopped unexpectedly");
                (Startup::Failed(e), None)
            });
            *setup_guard.lock().unwrap_or_else(|p| p.into_inner()) = guard;
            let feed = match &startup {
                Startup::Ready(r) => {
                    tracing::info!(data_dir = %r.data_dir.root().display(), mode = ?r.mode, "started");
                    Some(r.desk.subscribe())
                }
                Startup::Failed(e) => {
                    tracing::error!(code = e.code, "cannot start: {}", e.message);
                    setup_failed.store(true, Ordering::SeqCst);
                    None
                }
            };
            let webview_dir = startup.webview_dir();
            // Managed before the window exists: no command can arrive without it.
            app.manage(startup);
            let window =
                WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                    .title(WINDOW_TITLE)
                    .inner_size(window_size::INNER.0, window_size::INNER.1)
                    .min_inner_size(window_size::MIN_INNER.0, window_size::MIN_INNER.1)
                    .data_directory(webview_dir)
                    .focused(true);
            let window = ready_probe::attach(window).build()?;
            window_size::fit_to_screen(&window)?;
            raise.attach(app.handle().clone());
            rendering::paint_without_gpu_layers(&window)?;
            if let Some(feed) = feed {
                forward_desk_events(app.handle().clone(), feed);
            }
            exit_on_signals(app.handle().clone());
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("the window system could not start: {e}");
            eprintln!("核销台 RedeemDesk: the window system could not start: {e}");
            return FATAL_EXIT_CODE;
        }
    };
    let code = app.run_return(|app, event| {
        if let tauri::RunEvent::Exit = event {
            close_ledger(app);
        }
    });
    // The app and its lock are released by now; the single-instance name is given back
    // here, before a restart's new process looks for it.
    drop(instance);
    settings_commands::relaunch_if_asked();
    drop(log_guard.lock().unwrap_or_else(|p| p.into_inner()).take());
    if failed.load(Ordering::SeqCst) {
        FATAL_EXIT_CODE
    } else {
        code
    }
}
