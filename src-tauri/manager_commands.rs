//! The manager screens' own commands (流水 export, 需处理 actions, 对账 statements and
//! reports). Like commands.rs: thin, each refused with `manager_locked` unless a manager is
//! unlocked, each a call into the core.
//!
//! Exports are written by the Rust side: the native save dialog picks the file and the bytes
//! never pass through the window. The one test seam: with `REDEEMDESK_EXPORT_DIR` set the
//! dialog is skipped and the file is written there under the dialog's default name, because
//! an end-to-end test cannot drive a native GTK file chooser.

use crate::error::UiError;
use crate::startup::Startup;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::desk::{Desk, ManagerUnlock};
use redeemdesk_core::export::{self, ExportFormat, ExportKind};
use redeemdesk_core::ledger::{
    Actor, Attempt, AuditEntry, ChainAnchor, DayFilter, Notification, StoredReconciliation,
};
use redeemdesk_core::reconcile::{read_statement, Report, StatementMapping, StatementProblem};
use redeemdesk_core::statement::{self, StatementError};
use redeemdesk_core::words::Lang;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{AppHandle, Runtime, State};

/// The environment variable of the export test seam (see the module comment).
pub const EXPORT_DIR_ENV: &str = "REDEEMDESK_EXPORT_DIR";

/// The desk and the manager's name, once the core has found the window's token good.
fn manager_desk<'a>(startup: &'a State<'_, Startup>) -> Result<(&'a Desk, String), UiError> {
    let ready = startup.ready()?;
    let name = ready.manager()?;
    Ok((&ready.desk, name))
}

/// Runs a manager command's work on the blocking pool: a sync command runs on the window's
/// main thread, and a large statement or report there freezes the window.
pub(crate) async fn off_main<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| UiError::new("command_stopped", e.to_string()))?
}

/// The desk, shareable with a blocking-pool thread, and the window's manager token for
/// the core to judge.
fn manager_arc(startup: &State<'_, Startup>) -> Result<(Arc<Desk>, ManagerUnlock), UiError> {
    let ready = startup.ready()?;
    Ok((ready.desk.clone(), ready.unlock()?))
}

/// A statement as the window sends it: a picked file as base64 of its bytes, or pasted text.
#[derive(Debug, Default, Deserialize)]
pub struct StatementContent {
    #[serde(default)]
    pub base64: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

impl StatementContent {
    /// The file's bytes; refused before decoding when it is over the size limit.
    pub fn into_bytes(self) -> Result<Vec<u8>, UiError> {
        let encoded = match (self.base64, self.text) {
            (Some(base64), _) => base64,
            (None, Some(text)) => return Ok(text.into_bytes()),
            (None, None) => {
                return Err(UiError::new(
                    "statement_invalid",
                    "no statement: pick a file or paste its text",
                ))
            }
        };
        if encoded.len() as u64 / 4 * 3 > statement::MAX_BYTES + 3 {
            return Err(StatementError::TooLarge.into());
        }
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| {
                UiError::new(
                    "statement_invalid",
                    format!("the file did not arrive whole: {e}"),
                )
            })
    }
}

/// 需处理 "retry now" on an unknown attempt: asks its channel at once.
#[tauri::command]
pub async fn retry_unknown(
    startup: State<'_, Startup>,
    attempt_id: String,
) -> Result<Attempt, UiError> {
    let (desk, unlock) = manager_arc(&startup)?;
    let id = crate::args::attempt_id(&attempt_id)?;
    desk.retry_unknown(&id, &unlock)
        .await
        .map_err(UiError::from)
}

/// 需处理 "retry now" on a failing 增值券 notification.
#[tauri::command]
pub async fn retry_notification(
    startup: State<'_, Startup>,
    notification_id: String,
) -> Result<Notification, UiError> {
    let (desk, unlock) = manager_arc(&startup)?;
    let id = crate::args::notification_id(&notification_id)?;
    desk.retry_notification(&id, &unlock)
        .await
        .map_err(UiError::from)
}

/// 需处理: settles a notification by hand (delivered or given up) with a reason.
#[tauri::command]
pub async fn settle_notification(
    startup: State<'_, Startup>,
    notification_id: String,
    delivered: bool,
    reason: String,
) -> Result<Notification, UiError> {
    let (desk, unlock) = manager_arc(&startup)?;
    let id = crate::args::notification_id(&notification_id)?;
    off_main(move || {
        desk.settle_notification(&id, delivered, &unlock, &reason)
            .map_err(UiError::from)
    })
    .await
}

/// The statement column mapping saved for a channel, if any.
#[tauri::command]
pub async fn statement_mapping(
    startup: State<'_, Startup>,
    channel: ChannelKind,
) -> Result<Option<StatementMapping>, UiError> {
    let (desk, unlock) = manager_arc(&startup)?;
    desk.manager(&unlock)?;
    off_main(move || Ok(desk.statement_mapping(channel)?)).await
}

#[tauri::command]
pub async fn save_statement_mapping(
    startup: State<'_, Startup>,
    channel: ChannelKind,
    mapping: StatementMapping,
) -> Result<StatementMapping, UiError> {
    let (desk, unlock) = manager_arc(&startup)?;
    off_main(move || {
        desk.save_statement_mapping(channel, &mapping, &unlock)
            .map_err(UiError::from)
    })
    .await
}

/// What a statement file holds under a mapping, before reconciling: its columns (for the
/// mapping form), its encoding, how many rows read, and one problem per row that does not.
/// A mapping that does not fit the file is one problem without a row.
#[derive(Debug, Serialize)]
pub struct StatementCheck {
    pub columns: Vec<String>,
    pub encoding: &'static str,
    pub lines: usize,
    pub problems: Vec<StatementProblem>,
}

#[tauri::command]
pub async fn check_statement(
    startup: State<'_, Startup>,
    text: Option<String>,
    base64: Option<String>,
    mapping: StatementMapping,
) -> Result<StatementCheck, UiError> {
    manager_desk(&startup)?;
    let bytes = StatementContent { base64, text }.into_bytes()?;
    off_main(move || {
        let columns = statement::statement_columns(&bytes[..])?;
        Ok(match read_statement(&bytes[..], &mapping) {
            Ok(read) => StatementCheck {
                columns,
                encoding: read.encoding,
                lines: read.lines.len(),
                problems: read.problems,
            },
            Err(StatementError::Unusable(problem)) => StatementCheck {
                columns,
                encoding: "",
                lines: 0,
                problems: vec![problem],
            },
            Err(e) => return Err(e.into()),
        })
    })
    .await
}

/// Every reconciliation run of one business day, every channel, with its sign-off.
#[tauri::command]
pub async fn day_reconciliations(
    startup: State<'_, Startup>,
    day: String,
) -> Result<Vec<StoredReconciliation>, UiError> {
    let (desk, unlock) = manager_arc(&startup)?;
    desk.manager(&unlock)?;
    let day = crate::args::day(&day)?;
    off_main(move || {
        let mut out = Vec::new();
        for kind in desk.channel_kinds() {
            out.extend(desk.ledger().reconciliations(day, kind)?);
        }
        Ok(out)
    })
    .await
}

/// Where an export goes: the test seam's directory, or the path the manager picks in the
/// native save dialog (`None`: cancelled).
async fn save_path<R: Runtime>(
    app: &AppHandle<R>,
    default_name: &str,
    format: ExportFormat,
) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(EXPORT_DIR_ENV) {
        return Some(PathBuf::from(dir).join(default_name));
    }
    use tauri_plugin_dialog::DialogExt;
    let (filter_name, ext) = match format {
        ExportFormat::Csv => ("CSV", "csv"),
        ExportFormat::Xlsx => ("Excel", "xlsx"),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(default_name)
        .add_filter(filter_name, &[ext])
        .save_file(move |picked| {
            let _ = tx.send(picked.and_then(|p| p.into_path().ok()));
        });
    rx.await.ok().flatten()
}

/// Writes an export and audits it with the chain head it printed; answers the file's path,
/// or `None` when cancelled.
#[allow(clippy::too_many_arguments)]
async fn write_export<R: Runtime>(
    app: &AppHandle<R>,
    desk: &Desk,
    manager: &str,
    what: &str,
    default_name: String,
    format: ExportFormat,
    bytes: Vec<u8>,
    head: Option<ChainAnchor>,
) -> Result<Option<String>, UiError> {
    let Some(path) = save_path(app, &default_name, format).await else {
        return Ok(None);
    };
    std::fs::write(&path, bytes).map_err(|e| {
        UiError::new(
            "export_write_failed",
            format!("{} cannot be written: {e}", path.display()),
        )
    })?;
    desk.ledger().record_audit_at_head(
        &AuditEntry {
            time_ms: desk.clock().now_ms(),
            actor: Actor::Manager(manager.to_owned()),
            action: what.to_owned(),
            subject: Some(default_name),
            detail: Some(path.display().to_string()),
        },
        head.as_ref(),
    )?;
    Ok(Some(path.display().to_string()))
}

/// Exports one day's log under the filter the manager is looking at.
#[tauri::command]
pub async fn export_day_log<R: Runtime>(
    app: AppHandle<R>,
    startup: State<'_, Startup>,
    day: String,
    filter: DayFilter,
    format: ExportFormat,
    lang: Option<Lang>,
) -> Result<Option<String>, UiError> {
    let (desk, manager) = manager_desk(&startup)?;
    let day = crate::args::day(&day)?;
    let lang = lang.unwrap_or_default();
    let log = desk.ledger().day_log(day, &filter)?;
    let head = desk.ledger().chain_anchor()?;
    let bytes = export::export_day_log(desk.ledger(), &log, head.as_ref(), format, lang)?;
    let name = export::file_name(lang, ExportKind::DayLog, day, format);
    write_export(
        &app,
        desk,
        &manager,
        "export_day_log",
        name,
        format,
        bytes,
        head,
    )
    .await
}

/// Exports a kept reconciliation report.
#[tauri::command]
pub async fn export_reconciliation<R: Runtime>(
    app: AppHandle<R>,
    startup: State<'_, Startup>,
    day: String,
    channel: ChannelKind,
    reconciliation_id: i64,
    format: ExportFormat,
    lang: Option<Lang>,
) -> Result<Option<String>, UiError> {
    let lang = lang.unwrap_or_default();
    let (desk, manager) = manager_desk(&startup)?;
    let day = crate::args::day(&day)?;
    let stored = desk
        .ledger()
        .reconciliations(day, channel)?
        .into_iter()
        .find(|r| r.id == reconciliation_id)
        .ok_or_else(|| {
            UiError::new(
                "not_found",
                format!("no reconciliation {reconciliation_id} of {channel} on {day}"),
            )
        })?;
    let report: Report = serde_json::from_str(&stored.run.report)
        .map_err(|e| UiError::new("export_failed", format!("the kept report: {e}")))?;
    let head = desk.ledger().chain_anchor()?;
    let bytes = export::export_report(&report, head.as_ref(), format, lang)?;
    let name = export::file_name(lang, ExportKind::Reconciliation(channel), day, format);
    write_export(
        &app,
        desk,
        &manager,
        "export_reconciliation",
        name,
        format,
        bytes,
        head,
    )
    .await
}

#[cfg(test)]
mod tests {
    //! The manager commands on Tauri's mock runtime: the real IPC through the real
    //! capabilities, a real ledger file and the embedded sandbox on loopback.
    use crate::startup::{open_desk, Startup};
    use redeemdesk_core::data_dir::DataDir;
    use serde_json::{json, Value};
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
    use tauri::webview::InvokeRequest;
    use tauri::WebviewWindowBuilder;

    fn call(
        window: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        args: Value,
    ) -> Result<Value, Value> {
        get_ipc_response(
            window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }

    #[test]
    fn the_manager_commands_are_refused_locked_and_an_export_lands_in_the_seams_directory() {
        let dir = tempfile::tempdir().unwrap();
        let exports = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let startup = Startup::Ready(Box::new(
            tauri::async_runtime::block_on(open_desk(data)).expect("a fresh desk opens"),
        ));
        let app = crate::with_commands(mock_builder(), startup)
            .build(tauri::generate_context!())
            .unwrap();
        let w = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        let day = "2026-11-22";
        for (cmd, args) in [
            ("day_reconciliations", json!({"day": day})),
            ("statement_mapping", json!({"channel": "shoubei"})),
            (
                "export_day_log",
                json!({"day": day, "filter": {}, "format": "csv"}),
            ),
            (
                "retry_unknown",
                json!({"attemptId": "00000000000000000000000000000000"}),
            ),
        ] {
            let err = call(&w, cmd, args).expect_err("locked");
            assert_eq!(err["code"], "manager_locked", "{cmd}: {err}");
        }
        call(
            &w,
            "set_manager_pin",
            json!({"current": null, "newPin": "246813", "name": "李店长"}),
        )
        .unwrap();
        call(
            &w,
            "manager_unlock",
            json!({"pin": "246813", "name": "李店长"}),
        )
        .unwrap();

        let check = call(
            &w,
            "check_statement",
            json!({"text": "券码,金额\n679533922928,10.00\n679533922935,abc\n",
                   "mapping": {"code": "券码", "face_value": "金额"}}),
        )
        .unwrap();
        assert_eq!(check["columns"], json!(["券码", "金额"]), "{check}");
        assert_eq!(check["lines"], 1);
        assert_eq!(
            check["problems"][0]["row"], 3,
            "the broken row is named: {check}"
        );

        // The test seam: no dialog, the file goes to REDEEMDESK_EXPORT_DIR. Only this test
        // sets it, and nothing else in this process exports.
        std::env::set_var(super::EXPORT_DIR_ENV, exports.path());
        let path = call(
            &w,
            "export_day_log",
            json!({"day": day, "filter": {}, "format": "csv"}),
        )
        .unwrap();
        std::env::remove_var(super::EXPORT_DIR_ENV);
        let expected = exports.path().join(format!("核销流水-{day}.csv"));
        assert_eq!(path, json!(expected.display().to_string()));
        let csv = std::fs::read_to_string(&expected).unwrap();
        assert!(csv.contains("核销流水 2026-11-22"), "{csv}");
        // In the language asked for: the name and the words, with the same id columns.
        std::env::set_var(super::EXPORT_DIR_ENV, exports.path());
        call(
            &w,
            "export_day_log",
            json!({"day": day, "filter": {}, "format": "csv", "lang": "en"}),
        )
        .unwrap();
        std::env::remove_var(super::EXPORT_DIR_ENV);
        let csv = std::fs::read_to_string(exports.path().join(format!("redemption-log-{day}.csv")))
            .unwrap();
        assert!(csv.contains("Redemption log 2026-11-22"), "{csv}");
    }

    #[test]
    fn no_manager_command_runs_on_the_windows_main_thread() {
        // Tauri runs a sync command on the main thread; a statement or a report there freezes
        // the window (issue 18: 22 s per inbox open). Every manager command is async.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri");
        let manager_screens = ["reconcile_day", "sign_off_day", "inbox", "day_log"];
        let mut seen = Vec::new();
        for file in ["manager_commands.rs", "commands.rs"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let mut lines = text.lines();
            while let Some(line) = lines.next() {
                if line.trim() != "#[tauri::command]" {
                    continue;
                }
                let decl = lines.by_ref().find(|l| l.contains(" fn ")).unwrap();
                let name = decl.split(" fn ").nth(1).unwrap();
                let name = name.split(['(', '<']).next().unwrap().to_owned();
                if file == "manager_commands.rs" || manager_screens.contains(&name.as_str()) {
                    assert!(
                        decl.contains("async fn"),
                        "{file}: {name} must be async (off the main thread): {decl}"
                    );
                    seen.push(name);
                }
            }
        }
        assert!(
            seen.len() >= 12,
            "the check found the manager commands: {seen:?}"
        );
    }
}
