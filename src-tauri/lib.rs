//! The Tauri shell: builder, setup and state. Glue only; the work is in `redeemdesk-core`.

mod commands;
mod error;
mod startup;
#[cfg(test)]
mod ui_conventions;

use startup::Startup;
use tauri::{Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// The exit code when the app could not start (data directory unusable, ledger corrupt…).
pub const FATAL_EXIT_CODE: i32 = 2;

pub const WINDOW_TITLE: &str = "核销台 RedeemDesk";

/// Adds the state and the commands; shared by the real app and the command-layer tests,
/// which run it on the mock runtime.
pub fn with_commands<R: Runtime>(
    builder: tauri::Builder<R>,
    startup: Startup,
) -> tauri::Builder<R> {
    builder
        .manage(startup)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::quit_after_fatal
        ])
}

/// Starts the app and returns the process exit code.
pub fn run() -> i32 {
    let startup = Startup::open();
    let _log_guard = startup::init_logging(&startup);
    let failed = startup.is_failed();
    match &startup {
        Startup::Ready(desk) => {
            tracing::info!(data_dir = %desk.data_dir.root().display(), mode = ?desk.mode, "starting")
        }
        Startup::Failed(e) => tracing::error!(code = e.code, "cannot start: {}", e.message),
    }
    let webview_dir = startup.webview_dir();

    let builder = tauri::Builder::default()
        // First plugin, as its docs require: a second launch on the same data directory
        // focuses this window and exits. Scoped per data directory, so a test's or a second
        // profile's desk is a separate instance (the data directory lock is the backstop).
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(startup::instance_id())
                .callback(|app, _argv, _cwd| {
                    if let Some(w) = app.get_webview_window("main") {
                        let _ = w.unminimize();
                        let _ = w.set_focus();
                    }
                })
                .build(),
        );
    let app = with_commands(builder, startup)
        .setup(move |app| {
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                .title(WINDOW_TITLE)
                .inner_size(1024.0, 768.0)
                .min_inner_size(1024.0, 700.0)
                .data_directory(webview_dir.clone())
                .focused(true)
                .build()?;
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
    let code = app.run_return(|_, _| {});
    if failed {
        FATAL_EXIT_CODE
    } else {
        code
    }
}
