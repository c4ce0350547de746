//! The Tauri commands: each takes the state, calls one core function and maps the error.
//! They live in a module (not the crate root) because a `pub` command at the root clashes
//! with the macro's generated items (E0255).

use crate::error::UiError;
use crate::startup::Startup;
use redeemdesk_core::app_info::AppInfo;
use tauri::{AppHandle, Runtime, State};

/// Version, mode and data directory for the About box; on a failed start, the reason.
#[tauri::command]
pub fn app_info(startup: State<'_, Startup>) -> Result<AppInfo, UiError> {
    match startup.inner() {
        Startup::Ready(desk) => Ok(desk.info()),
        Startup::Failed(e) => Err(e.clone()),
    }
}

/// The "退出 Quit" button of the start-up failure page. Refused when the app is healthy, so a
/// stray call can never close a working desk.
#[tauri::command]
pub fn quit_after_fatal<R: Runtime>(
    app: AppHandle<R>,
    startup: State<'_, Startup>,
) -> Result<(), UiError> {
    if !startup.is_failed() {
        return Err(UiError::new("not_failed", "the app started normally"));
    }
    app.exit(crate::FATAL_EXIT_CODE);
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The command layer on Tauri's mock runtime: real IPC requests through the real
    //! capabilities (generate_context! embeds capabilities/), no window system.
    use crate::startup::{Desk, Startup};
    use redeemdesk_core::app_info::Mode;
    use redeemdesk_core::data_dir::DataDir;
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
    use tauri::webview::InvokeRequest;
    use tauri::WebviewWindowBuilder;

    fn invoke(startup: Startup, cmd: &str) -> Result<serde_json::Value, serde_json::Value> {
        invoke_from("main", startup, cmd)
    }

    fn invoke_from(
        label: &str,
        startup: Startup,
        cmd: &str,
    ) -> Result<serde_json::Value, serde_json::Value> {
        let app = crate::with_commands(mock_builder(), startup)
            .build(tauri::generate_context!())
            .expect("the app builds on the mock runtime");
        let webview = WebviewWindowBuilder::new(&app, label, Default::default())
            .build()
            .expect("a mock window");
        get_ipc_response(
            &webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                // On Linux the IPC origin is tauri://localhost.
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::default(),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<serde_json::Value>().unwrap())
    }

    #[test]
    fn app_info_returns_version_mode_and_data_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let desk = Desk {
            data_dir: DataDir::open(tmp.path()).unwrap(),
            mode: Mode::Sandbox,
        };
        let info = invoke(Startup::Ready(desk), "app_info").expect("app_info answers");
        assert_eq!(info["mode"], "sandbox", "a fresh desk is in sandbox mode");
        assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(info["data_dir"], tmp.path().display().to_string());
    }

    #[test]
    fn app_info_after_a_failed_start_returns_the_reason_as_code_and_message() {
        let failed = Startup::Failed(crate::error::UiError::new(
            "data_dir_unwritable",
            "/x cannot be written",
        ));
        let err = invoke(failed, "app_info").expect_err("a failed start is an error for the UI");
        assert_eq!(
            err["code"], "data_dir_unwritable",
            "the UI branches on the code: {err}"
        );
        assert_eq!(err["message"], "/x cannot be written");
    }

    #[test]
    fn quit_is_refused_when_the_app_started_normally() {
        let tmp = tempfile::tempdir().unwrap();
        let desk = Desk {
            data_dir: DataDir::open(tmp.path()).unwrap(),
            mode: Mode::Sandbox,
        };
        let err = invoke(Startup::Ready(desk), "quit_after_fatal")
            .expect_err("a healthy desk stays open");
        assert_eq!(err["code"], "not_failed");
    }

    #[test]
    fn a_window_the_capabilities_do_not_name_cannot_call_the_app_commands() {
        let tmp = tempfile::tempdir().unwrap();
        let desk = Desk {
            data_dir: DataDir::open(tmp.path()).unwrap(),
            mode: Mode::Sandbox,
        };
        let err = invoke_from("intruder", Startup::Ready(desk), "app_info");
        assert!(
            err.is_err(),
            "capabilities grant app_info to the main window only: {err:?}"
        );
    }
}
