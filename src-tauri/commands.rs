//! The Tauri commands: each takes the state, calls one core function and maps the error.
//! They live in a module (not the crate root) because a `pub` command at the root clashes
//! with the macro's generated items (E0255).

use crate::error::UiError;
use crate::startup::Startup;
use redeemdesk_core::app_info::AppInfo;
use redeemdesk_core::channel::yhtd::Product;
use redeemdesk_core::channel::{self, Capabilities, ChannelKind};
use redeemdesk_core::channel_setup::{self, ChannelEdit, ChannelView};
use redeemdesk_core::desk::reconcile::{Reconciliation, SignedOff, Statement};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::{Attempt, AttemptTimeline, DayFilter, DayLog, Inbox, Notification};
use redeemdesk_core::outbox::OrderInput;
use redeemdesk_core::reconcile::StatementMapping;
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemInput, Redemption};
use redeemdesk_core::resolver::Decision;
use redeemdesk_core::roles::{Cashier, CashierEdit};
use redeemdesk_core::undo::UndoPreview;
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

/// Version, mode and data directory for the About box; on a failed start, the reason.
#[tauri::command]
pub fn app_info(startup: State<'_, Startup>) -> Result<AppInfo, UiError> {
    Ok(startup.ready()?.info())
}

/// The 试用券码 panel of sandbox mode: each demo code with what it does. Live mode has none.
#[tauri::command]
pub fn demo_codes(
    startup: State<'_, Startup>,
) -> Result<Vec<redeemdesk_sandbox::demo::DemoCode>, UiError> {
    if startup.ready()?.mode != redeemdesk_core::app_info::Mode::Sandbox {
        return Err(UiError::new(
            "not_sandbox",
            "demo codes exist in sandbox mode only",
        ));
    }
    redeemdesk_sandbox::demo::demo_codes()
        .map_err(|e| UiError::new("sandbox_failed", e.to_string()))
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

/// One configured channel and what it can do, for the chooser and the manager screens.
#[derive(Debug, Serialize)]
pub struct ChannelInfo {
    pub kind: ChannelKind,
    pub capabilities: Capabilities,
}

#[tauri::command]
pub fn channels(startup: State<'_, Startup>) -> Result<Vec<ChannelInfo>, UiError> {
    let desk = &startup.ready()?.desk;
    Ok(desk
        .channel_kinds()
        .into_iter()
        .map(|kind| ChannelInfo {
            kind,
            capabilities: channel::capabilities(kind),
        })
        .collect())
}

#[tauri::command]
pub async fn prepare(
    startup: State<'_, Startup>,
    input: PrepareInput,
) -> Result<Prepared, UiError> {
    Ok(startup.ready()?.desk.prepare(input).await?)
}

#[tauri::command]
pub async fn redeem(
    startup: State<'_, Startup>,
    input: RedeemInput,
) -> Result<Redemption, UiError> {
    Ok(startup.ready()?.desk.redeem(input).await?)
}

#[tauri::command]
pub fn recent_attempts(
    startup: State<'_, Startup>,
    cashier: Option<String>,
    limit: usize,
) -> Result<Vec<Attempt>, UiError> {
    let ledger = startup.ready()?.desk.ledger();
    Ok(ledger.recent_attempts(cashier.as_deref(), limit.min(200))?)
}

/// A day's log as the manager screen loads it: the day's totals and `total` attempts, of
/// which `attempts` holds the first `first` when asked (the screen shows its first rows
/// from a small answer, then asks for the whole day).
#[derive(Debug, Serialize)]
pub struct DayLogPage {
    #[serde(flatten)]
    pub log: DayLog,
    pub total: usize,
}

/// Async, and the query on a blocking-pool thread: a sync command runs on the window's main
/// thread, where it would wait behind (and hold up) the drawing of the frame before (bench 7).
#[tauri::command]
pub async fn day_log(
    startup: State<'_, Startup>,
    day: String,
    filter: DayFilter,
    first: Option<usize>,
) -> Result<DayLogPage, UiError> {
    let day = crate::args::day(&day)?;
    let ready = startup.ready()?;
    ready.manager()?;
    let ledger = ready.desk.ledger().clone();
    let page = tauri::async_runtime::spawn_blocking(move || match first {
        Some(first) => ledger.day_log_first(day, &filter, first),
        None => ledger.day_log(day, &filter).map(|log| {
            let total = log.attempts.len();
            (log, total)
        }),
    })
    .await
    .map_err(|e| UiError::new("day_log_stopped", e.to_string()))??;
    Ok(DayLogPage {
        log: page.0,
        total: page.1,
    })
}

#[tauri::command]
pub fn code_timeline(
    startup: State<'_, Startup>,
    code: String,
) -> Result<Vec<AttemptTimeline>, UiError> {
    Ok(manager_desk(&startup)?
        .ledger()
        .code_timeline(code.trim())?)
}

/// Async, off the main thread: it reads every reconciliation waiting for review.
#[tauri::command]
pub async fn inbox(startup: State<'_, Startup>) -> Result<Inbox, UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    let desk = ready.desk.clone();
    crate::manager_commands::off_main(move || Ok(desk.ledger().inbox()?)).await
}

#[tauri::command]
pub fn decide(
    startup: State<'_, Startup>,
    attempt_id: String,
    decision: Decision,
    reason: String,
) -> Result<Attempt, UiError> {
    let ready = startup.ready()?;
    let id = crate::args::attempt_id(&attempt_id)?;
    Ok(ready
        .desk
        .decide(&id, decision, &ready.unlock()?, &reason)?)
}

/// The desk, once the core has found the window's manager token good (`manager_locked`
/// when no manager is unlocked or the session has been idle too long).
fn manager_desk<'a>(startup: &'a State<'_, Startup>) -> Result<&'a Desk, UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    Ok(&ready.desk)
}

/// Whether a manager PIN exists yet (the first one is set without one).
#[tauri::command]
pub fn manager_pin_is_set(startup: State<'_, Startup>) -> Result<bool, UiError> {
    Ok(startup.ready()?.desk.manager_pin_is_set()?)
}

/// Sets the first manager PIN, or changes it given the current one.
#[tauri::command]
pub fn set_manager_pin(
    startup: State<'_, Startup>,
    current: Option<String>,
    new_pin: String,
    name: String,
) -> Result<(), UiError> {
    let desk = &startup.ready()?.desk;
    Ok(desk.set_manager_pin(current.as_deref(), &new_pin, &name)?)
}

#[tauri::command]
pub fn manager_unlock(
    startup: State<'_, Startup>,
    pin: String,
    name: String,
) -> Result<(), UiError> {
    let ready = startup.ready()?;
    let unlock = ready.desk.unlock_manager(&pin, &name)?;
    ready.keep_unlock(Some(unlock));
    Ok(())
}

#[tauri::command]
pub fn manager_lock(startup: State<'_, Startup>) -> Result<(), UiError> {
    let ready = startup.ready()?;
    ready.desk.lock_manager();
    ready.keep_unlock(None);
    Ok(())
}

#[tauri::command]
pub fn undo_preview(
    startup: State<'_, Startup>,
    attempt_id: String,
) -> Result<UndoPreview, UiError> {
    let ready = startup.ready()?;
    let id = crate::args::attempt_id(&attempt_id)?;
    Ok(ready.desk.undo_preview(&ready.unlock()?, &id)?)
}

#[tauri::command]
pub async fn undo(
    startup: State<'_, Startup>,
    attempt_id: String,
    reason: String,
) -> Result<Attempt, UiError> {
    let ready = startup.ready()?;
    let id = crate::args::attempt_id(&attempt_id)?;
    Ok(ready.desk.undo(&id, &ready.unlock()?, &reason).await?)
}

/// A statement the manager picked or pasted, with its column mapping: a picked file comes
/// as base64 of its bytes (it may be GBK or UTF-16, which the window must not decode), pasted
/// text as text.
#[derive(Debug, serde::Deserialize)]
pub struct StatementInput {
    pub file: String,
    #[serde(flatten)]
    pub content: crate::manager_commands::StatementContent,
    pub mapping: StatementMapping,
}

#[tauri::command]
pub async fn reconcile_day(
    startup: State<'_, Startup>,
    day: String,
    channel: ChannelKind,
    statement: Option<StatementInput>,
) -> Result<Reconciliation, UiError> {
    let ready = startup.ready()?;
    let unlock = ready.unlock()?;
    let desk = ready.desk.clone();
    let day = crate::args::day(&day)?;
    let statement = match statement {
        None => None,
        Some(s) => Some((s.file, s.content.into_bytes()?, s.mapping)),
    };
    // On a worker thread, never the window's: reading a statement is seconds of work.
    tauri::async_runtime::spawn(async move {
        let statement = statement.as_ref().map(|(file, bytes, mapping)| Statement {
            file: file.clone(),
            source: Box::new(&bytes[..]),
            mapping: mapping.clone(),
        });
        Ok(desk.reconcile_day(day, channel, statement, &unlock).await?)
    })
    .await
    .map_err(|e| UiError::new("reconcile_stopped", e.to_string()))?
}

/// Answers what was signed off: the mismatches, unreadable statement rows among them.
#[tauri::command]
pub async fn sign_off_day(
    startup: State<'_, Startup>,
    reconciliation_id: i64,
    note: Option<String>,
) -> Result<SignedOff, UiError> {
    let ready = startup.ready()?;
    let unlock = ready.unlock()?;
    let desk = ready.desk.clone();
    crate::manager_commands::off_main(move || {
        Ok(desk.sign_off_day(reconciliation_id, &unlock, note.as_deref())?)
    })
    .await
}

/// The cashier list for the shift-start chooser.
#[tauri::command]
pub fn cashiers(startup: State<'_, Startup>) -> Result<Vec<Cashier>, UiError> {
    Ok(startup.ready()?.desk.cashiers()?)
}

/// Replaces the cashier list (an unlocked manager only).
#[tauri::command]
pub fn set_cashiers(
    startup: State<'_, Startup>,
    list: Vec<CashierEdit>,
) -> Result<Vec<Cashier>, UiError> {
    let ready = startup.ready()?;
    Ok(ready.desk.set_cashiers(&ready.unlock()?, &list)?)
}

/// Starts a cashier's shift (with the cashier's PIN when one is set).
#[tauri::command]
pub fn start_shift(
    startup: State<'_, Startup>,
    name: String,
    pin: Option<String>,
) -> Result<String, UiError> {
    Ok(startup.ready()?.desk.start_shift(&name, pin.as_deref())?)
}

/// Every channel's setup form and what is saved for it, keys masked.
#[tauri::command]
pub fn channel_setup(startup: State<'_, Startup>) -> Result<Vec<ChannelView>, UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    Ok(channel_setup::view(ready.data_dir.root())?)
}

/// Saves one channel's setup if the whole configuration then loads; takes effect at the
/// next start (which switches to live mode once a channel is configured). The first save
/// is that switch: refused (`live_switch_unconfirmed`) unless the manager confirmed it, and
/// only for an edit that validates, so the confirmation is never asked for a refused one.
#[tauri::command]
pub fn save_channel_setup(
    startup: State<'_, Startup>,
    edit: ChannelEdit,
    confirm_live: Option<bool>,
) -> Result<(), UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    let root = ready.data_dir.root();
    if !channel_setup::is_configured(root) && confirm_live != Some(true) {
        channel_setup::dry_run(root, &edit)?;
        return Err(UiError::new(
            "live_switch_unconfirmed",
            "the first channel saved switches the desk to live mode: confirm it first",
        ));
    }
    channel_setup::save(root, &edit)?;
    Ok(())
}

#[tauri::command]
pub fn products(startup: State<'_, Startup>) -> Result<Vec<Product>, UiError> {
    Ok(startup.ready()?.desk.products())
}

#[tauri::command]
pub fn submit_order(
    startup: State<'_, Startup>,
    input: OrderInput,
) -> Result<Notification, UiError> {
    Ok(startup.ready()?.desk.submit_order(input)?)
}

#[cfg(test)]
mod tests {
    //! The command layer on Tauri's mock runtime: real IPC requests through the real
    //! capabilities (generate_context! embeds capabilities/), a real ledger file and the
    //! embedded sandbox on loopback; no window system.
    use crate::startup::{open_desk, Startup};
    use redeemdesk_core::data_dir::DataDir;
    use serde_json::{json, Value};
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
    use tauri::webview::InvokeRequest;
    use tauri::{WebviewWindow, WebviewWindowBuilder};

    struct Rig {
        _app: tauri::App<MockRuntime>,
        window: WebviewWindow<MockRuntime>,
        _dir: tempfile::TempDir,
    }

    fn rig_with(label: &str, startup: impl FnOnce(&std::path::Path) -> Startup) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let app = crate::with_commands(mock_builder(), startup(dir.path()))
            .build(tauri::generate_context!())
            .expect("the app builds on the mock runtime");
        let window = WebviewWindowBuilder::new(&app, label, Default::default())
            .build()
            .expect("a mock window");
        Rig {
            _app: app,
            window,
            _dir: dir,
        }
    }

    fn healthy(root: &std::path::Path) -> Startup {
        let dir = DataDir::open(root).unwrap();
        Startup::Ready(Box::new(
            tauri::async_runtime::block_on(open_desk(dir)).expect("a fresh desk opens"),
        ))
    }

    impl Rig {
        fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
            get_ipc_response(
                &self.window,
                InvokeRequest {
                    cmd: cmd.into(),
                    callback: CallbackFn(0),
                    error: CallbackFn(1),
                    // On Linux the IPC origin is tauri://localhost.
                    url: "tauri://localhost".parse().unwrap(),
                    body: InvokeBody::Json(args),
                    headers: Default::default(),
                    invoke_key: INVOKE_KEY.to_string(),
                },
            )
            .map(|body| body.deserialize::<Value>().unwrap())
        }
    }

    #[test]
    fn app_info_returns_version_sandbox_mode_and_data_directory_on_a_fresh_install() {
        let rig = rig_with("main", healthy);
        let info = rig.call("app_info", json!({})).expect("app_info answers");
        assert_eq!(info["mode"], "sandbox", "no config.toml: sandbox mode");
        assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(info["data_dir"], rig._dir.path().display().to_string());
        assert!(
            rig._dir.path().join("ledger-sandbox.sqlite").exists(),
            "sandbox records go to their own ledger file"
        );
    }

    #[test]
    fn app_info_after_a_failed_start_returns_the_reason_as_code_and_message() {
        let rig = rig_with("main", |_| {
            Startup::Failed(crate::error::UiError::new(
                "data_dir_unwritable",
                "/x cannot be written",
            ))
        });
        let err = rig
            .call("app_info", json!({}))
            .expect_err("a failed start is an error for the UI");
        assert_eq!(
            err["code"], "data_dir_unwritable",
            "the UI branches on the code: {err}"
        );
        assert_eq!(err["message"], "/x cannot be written");
        let err = rig
            .call(
                "prepare",
                json!({"input": {"channel": "shoubei", "platform": null, "raw_code": "679533922928"}}),
            )
            .expect_err("nothing redeems on a failed start");
        assert_eq!(
            err["code"], "data_dir_unwritable",
            "the same reason, not a crash: {err}"
        );
    }

    #[test]
    fn quit_is_refused_when_the_app_started_normally() {
        let rig = rig_with("main", healthy);
        let err = rig
            .call("quit_after_fatal", json!({}))
            .expect_err("a healthy desk stays open");
        assert_eq!(err["code"], "not_failed");
    }

    #[test]
    fn a_window_the_capabilities_do_not_name_cannot_call_the_app_commands() {
        let rig = rig_with("intruder", healthy);
        let err = rig.call("app_info", json!({}));
        assert!(
            err.is_err(),
            "capabilities grant app_info to the main window only: {err:?}"
        );
    }

    #[test]
    fn a_demo_code_is_previewed_redeemed_and_listed_through_the_ipc() {
        let rig = rig_with("main", healthy);
        let channels = rig.call("channels", json!({})).unwrap();
        assert_eq!(
            channels.as_array().unwrap().len(),
            5,
            "sandbox mode configures every channel"
        );
        let prepared = rig
            .call(
                "prepare",
                json!({"input": {"channel": "zvcms", "platform": null, "raw_code": "３９０９６２１３８７０８４５１３２８\r\n"}}),
            )
            .expect("prepare answers");
        assert_eq!(
            prepared["state"], "ready",
            "full-width digits and CRLF normalise: {prepared}"
        );
        let token = prepared["token"].as_str().unwrap();
        // The UI (or anything that reaches the IPC) naming a cashier changes nothing: the
        // desk records the cashier of its open shift, and without one it refuses.
        let forged =
            json!({"input": {"token": token, "count": 1, "certificates": [], "cashier": "王芳"}});
        let err = rig
            .call("redeem", forged.clone())
            .expect_err("no shift is open");
        assert_eq!(err["code"], "no_shift", "{err}");
        rig.call("start_shift", json!({"name": "收银员", "pin": null}))
            .expect("with no cashier list the default cashier opens the shift");
        let done = rig.call("redeem", forged).expect("redeem answers");
        assert_eq!(done["attempt"]["state"], "succeeded", "{done}");
        assert_eq!(
            done["attempt"]["cashier"], "收银员",
            "the shift's cashier, not the name in the call: {done}"
        );
        let recent = rig
            .call("recent_attempts", json!({"cashier": "收银员", "limit": 10}))
            .unwrap();
        assert_eq!(
            recent.as_array().unwrap().len(),
            1,
            "the strip shows it: {recent}"
        );
    }

    #[test]
    fn manager_commands_are_refused_until_the_manager_pin_unlocks_them() {
        let rig = rig_with("main", healthy);
        let err = rig.call("inbox", json!({})).expect_err("locked");
        assert_eq!(err["code"], "manager_locked", "{err}");
        rig.call(
            "set_manager_pin",
            json!({"current": null, "newPin": "246813", "name": "李店长"}),
        )
        .expect("the first PIN is set without one");
        let err = rig
            .call("manager_unlock", json!({"pin": "1111", "name": "李店长"}))
            .expect_err("a wrong PIN");
        assert_eq!(err["code"], "pin_wrong", "{err}");
        rig.call("manager_unlock", json!({"pin": "246813", "name": "李店长"}))
            .expect("the right PIN unlocks");
        let inbox = rig.call("inbox", json!({})).expect("open now");
        assert!(inbox["unknowns"].is_array(), "{inbox}");
        rig.call("manager_lock", json!({})).unwrap();
        assert_eq!(
            rig.call("inbox", json!({})).unwrap_err()["code"],
            "manager_locked"
        );
    }

    #[test]
    fn a_manager_undoes_a_redemption_through_the_ipc_once() {
        let rig = rig_with("main", healthy);
        let prepared = rig
            .call(
                "prepare",
                json!({"input": {"channel": "shoubei", "platform": null, "raw_code": "679533922935"}}),
            )
            .unwrap();
        rig.call("start_shift", json!({"name": "收银员", "pin": null}))
            .unwrap();
        let done = rig
            .call(
                "redeem",
                json!({"input": {"token": prepared["token"], "count": 1, "certificates": []}}),
            )
            .unwrap();
        let id = done["attempt"]["id"].as_str().unwrap().to_owned();
        let err = rig
            .call("undo", json!({"attemptId": id, "reason": "x"}))
            .unwrap_err();
        assert_eq!(
            err["code"], "manager_locked",
            "a cashier cannot undo: {err}"
        );
        rig.call(
            "set_manager_pin",
            json!({"current": null, "newPin": "246813", "name": "李店长"}),
        )
        .unwrap();
        rig.call("manager_unlock", json!({"pin": "246813", "name": "李店长"}))
            .unwrap();
        let preview = rig.call("undo_preview", json!({"attemptId": id})).unwrap();
        assert_eq!(
            preview["via"], "channel",
            "收呗 has a cancel call: {preview}"
        );
        let undone = rig
            .call(
                "undo",
                json!({"attemptId": id, "reason": "customer changed their mind"}),
            )
            .unwrap();
        assert_eq!(undone["state"], "cancelled", "{undone}");
        let again = rig
            .call("undo", json!({"attemptId": id, "reason": "again"}))
            .unwrap_err();
        assert_eq!(again["code"], "already_undone", "{again}");
    }

    #[test]
    fn the_first_channel_saved_switches_to_live_only_when_confirmed_and_a_refusal_names_its_field()
    {
        let rig = rig_with("main", healthy);
        rig.call(
            "set_manager_pin",
            json!({"current": null, "newPin": "246813", "name": "李店长"}),
        )
        .unwrap();
        rig.call("manager_unlock", json!({"pin": "246813", "name": "李店长"}))
            .unwrap();
        let edit = |merchant: &str| {
            json!({"channel": "shoubei", "settings": {"base_url": "https://open.51shoubei.com",
                "inst_no": "60000001", "merchant_no": merchant, "shop_no": "862010110001"},
                "secrets": {"key": "8a9bd64e6585c6d8016585c6c8980002"}})
        };
        let config = rig._dir.path().join("config.toml");
        let err = rig
            .call("save_channel_setup", json!({"edit": edit("85x")}))
            .expect_err("an invalid edit");
        assert_eq!(
            err["field"], "channels.shoubei.merchant_no",
            "refused for its field before the switch is asked for: {err}"
        );
        let err = rig
            .call("save_channel_setup", json!({"edit": edit("851811130002")}))
            .expect_err("not confirmed");
        assert_eq!(err["code"], "live_switch_unconfirmed", "{err}");
        assert!(!config.exists(), "still sandbox at the next start");
        let status = rig.call("mode_status", json!({})).unwrap();
        assert_eq!(
            status,
            json!({"running": "sandbox", "next_start": "sandbox"})
        );
        rig.call(
            "save_channel_setup",
            json!({"edit": edit("851811130002"), "confirmLive": true}),
        )
        .expect("confirmed");
        let status = rig.call("mode_status", json!({})).unwrap();
        assert_eq!(status, json!({"running": "sandbox", "next_start": "live"}));
        let err = rig
            .call("save_channel_setup", json!({"edit": edit("85x")}))
            .expect_err("a malformed merchant number");
        assert_eq!(err["field"], "channels.shoubei.merchant_no", "{err}");
        let err = rig
            .call(
                "save_desk_settings",
                json!({"settings": {"scan_prefix": "a b", "scan_suffix": "",
                    "cutoff_minutes": 240, "utc_offset_minutes": 480}}),
            )
            .expect_err("a prefix with a space");
        assert_eq!(err["field"], "scan_prefix", "{err}");
        rig.call("manager_lock", json!({})).unwrap();
        let err = rig.call("restart_app", json!({})).expect_err("locked");
        assert_eq!(
            err["code"], "manager_locked",
            "a cashier cannot restart the desk"
        );
    }

    #[test]
    fn a_bad_code_is_refused_with_a_code_the_ui_can_translate() {
        let rig = rig_with("main", healthy);
        for (raw, code) in [("", "code_empty"), ("12😀", "code_bad_character")] {
            let err = rig
                .call(
                    "prepare",
                    json!({"input": {"channel": "shoubei", "platform": null, "raw_code": raw}}),
                )
                .expect_err("refused before any channel call");
            assert_eq!(err["code"], code, "{raw:?}: {err}");
        }
    }
}
