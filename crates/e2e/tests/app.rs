//! End to end: the real window on the cashier screen, the IPC round trip, the
//! language switch, the start-up failure page, and the single instance per data directory.

use fantoccini::Locator;
use redeemdesk_e2e::{app_binary, sandbox_secrets, wait_for_file, Desk, Launch};
use std::time::Duration;

/// The top bar's tabs and chips, each of which must stay readable and clickable.
const TOPBAR_ITEMS: &str = ".brand, #channel-chooser .channel, .topbar-right > *";

async fn launch_fresh() -> (Desk, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let desk = Desk::launch(Launch::at(tmp.path().join("data"))).await;
    (desk, tmp)
}

#[tokio::test]
async fn the_window_opens_on_the_cashier_screen_with_the_code_field_focused() {
    let (desk, _tmp) = launch_fresh().await;
    let c = &desk.client;
    assert_eq!(
        c.title().await.unwrap(),
        "核销台 RedeemDesk",
        "the window title names the product"
    );
    assert_eq!(
        c.execute("return document.body.dataset.ready", vec![])
            .await
            .unwrap(),
        "cashier",
        "a healthy start shows the cashier screen"
    );
    let focused = c
        .execute(
            "return document.activeElement && document.activeElement.id",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        focused, "code-input",
        "the scanner types into the focused code field"
    );
    let channels = c
        .find_all(Locator::Css("#channel-chooser .channel"))
        .await
        .unwrap();
    let mut labels = Vec::new();
    for b in &channels {
        labels.push(b.text().await.unwrap());
    }
    let joined = labels.join("|");
    for name in ["收呗", "智迈", "联拓富", "通联", "增值券"] {
        assert!(joined.contains(name), "the chooser shows {name}: {joined}");
    }
    assert!(
        joined.contains("F1") && joined.contains("F5"),
        "each channel shows its key: {joined}"
    );
    assert_eq!(
        desk.text("#mode-badge").await,
        "沙箱 SANDBOX",
        "a fresh install runs in sandbox mode"
    );
    assert_eq!(
        desk.text("#result-text").await,
        "请扫码或输入券码，按 Enter 查询",
        "the result panel starts empty"
    );
    assert_eq!(
        desk.text("#recent-empty").await,
        "本班次暂无核销记录",
        "no attempts yet this shift"
    );
    assert_eq!(c.windows().await.unwrap().len(), 1, "one window");
    let crowded = desk.overlaps(TOPBAR_ITEMS).await;
    assert!(
        crowded.is_empty(),
        "every tab and chip of the top bar stays clear of the others at 1024 px: {crowded:?}"
    );
    let shot = desk.screenshot("cashier").await;
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real screenshot, not a blank"
    );

    // F3 picks 联拓富 from the keyboard alone; F4 twice cycles 通联's platform.
    let input = c.find(Locator::Id("code-input")).await.unwrap();
    input.send_keys("\u{E033}").await.unwrap(); // F3
    assert!(
        desk.text("#channel-chooser .channel.active")
            .await
            .contains("联拓富"),
        "F3 chooses 联拓富"
    );
    input.send_keys("\u{E034}").await.unwrap(); // F4
    input.send_keys("\u{E034}").await.unwrap(); // F4 again
    assert!(
        desk.text("#channel-chooser .channel.active")
            .await
            .contains("通联·抖音"),
        "F4 again cycles 美团 → 抖音"
    );
    desk.close().await;
}

#[tokio::test]
async fn app_info_round_trips_through_the_ipc_and_shows_in_the_about_box() {
    let (desk, _tmp) = launch_fresh().await;
    let c = &desk.client;
    let info = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI__.core.invoke('app_info').then(done, (e) => done({error: e}));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        info["mode"], "sandbox",
        "the Rust side reports sandbox mode: {info}"
    );
    assert_eq!(
        info["version"],
        env!("CARGO_PKG_VERSION"),
        "the version comes from Cargo: {info}"
    );
    let data_dir = desk.data_dir.display().to_string();
    assert_eq!(
        info["data_dir"],
        data_dir.as_str(),
        "REDEEMDESK_DATA_DIR is honoured: {info}"
    );

    desk.click("#about-open").await;
    assert_eq!(
        desk.text("[data-testid=about-version]").await,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(desk.text("[data-testid=about-data-dir]").await, data_dir);
    desk.screenshot("about").await;
    assert!(
        desk.data_dir.join("logs").is_dir(),
        "the daily log file lives in the data directory"
    );
    desk.close().await;
}

#[tokio::test]
async fn the_language_switch_changes_the_visible_strings_and_back() {
    let (desk, _tmp) = launch_fresh().await;
    assert_eq!(
        desk.text("label[for=code-input]").await,
        "扫码或输入券码",
        "Chinese by default"
    );
    desk.click("#lang-toggle").await;
    assert_eq!(
        desk.text("label[for=code-input]").await,
        "Scan or type a coupon code"
    );
    assert!(
        desk.text("#channel-chooser").await.contains("Shoubei"),
        "channel names switch too"
    );
    assert_eq!(desk.text("#mode-badge").await, "SANDBOX 沙箱");
    let crowded = desk.overlaps(TOPBAR_ITEMS).await;
    assert!(
        crowded.is_empty(),
        "the longer English labels fit the top bar too: {crowded:?}"
    );
    desk.screenshot("cashier-en").await;
    desk.click("#lang-toggle").await;
    assert_eq!(
        desk.text("label[for=code-input]").await,
        "扫码或输入券码",
        "and back to Chinese"
    );
    desk.close().await;
}

#[tokio::test]
async fn a_data_directory_that_cannot_be_used_shows_a_clear_message_and_exits_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    // A file where the data directory should be: the same for root and for a normal user
    // (permission bits do not stop root, so they cannot make this test honest in CI).
    let blocked = tmp.path().join("data");
    std::fs::write(&blocked, b"not a directory").unwrap();
    let exit_file = tmp.path().join("exit-code");
    let desk = Desk::launch(Launch {
        exit_code_file: Some(exit_file.clone()),
        ..Launch::at(blocked.clone())
    })
    .await;
    let c = &desk.client;
    assert_eq!(
        c.execute("return document.body.dataset.ready", vec![])
            .await
            .unwrap(),
        "fatal",
        "the failure page, not the cashier screen"
    );
    let zh = desk.text("[data-testid=fatal-reason-zh]").await;
    let en = desk.text("[data-testid=fatal-reason-en]").await;
    assert!(zh.contains("数据目录"), "a Chinese reason first: {zh}");
    assert!(en.contains("data directory"), "and English too: {en}");
    let detail = desk.text("[data-testid=fatal-detail]").await;
    assert!(
        detail.contains(&blocked.display().to_string()),
        "the detail names the path: {detail}"
    );
    desk.screenshot("fatal-data-dir").await;
    // The app exits while the driver is still waiting for the click to finish, so the
    // driver may report an error: the exit-code file is the evidence that counts.
    let quit = desk
        .client
        .find(Locator::Css("[data-testid=fatal-quit]"))
        .await
        .unwrap();
    let _ = quit.click().await;
    let code = wait_for_file(&exit_file, Duration::from_secs(20)).await;
    assert_eq!(
        code.as_deref(),
        Some("2"),
        "the process exits with the fatal code"
    );
    assert_eq!(
        std::fs::read(&blocked).unwrap(),
        b"not a directory",
        "what was there is untouched"
    );
    desk.close().await;
}

#[tokio::test]
async fn a_corrupt_ledger_file_shows_a_clear_message_exits_non_zero_and_is_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let ledger = data.join("ledger-sandbox.sqlite");
    std::fs::write(&ledger, &garbage).unwrap();
    let exit_file = tmp.path().join("exit-code");
    let desk = Desk::launch(Launch {
        exit_code_file: Some(exit_file.clone()),
        ..Launch::at(data.clone())
    })
    .await;
    assert_eq!(
        desk.client
            .execute("return document.body.dataset.ready", vec![])
            .await
            .unwrap(),
        "fatal",
        "a damaged ledger stops the desk before any scan"
    );
    let detail = desk.text("[data-testid=fatal-detail]").await;
    assert!(
        detail.starts_with("ledger_"),
        "a ledger error code: {detail}"
    );
    let zh = desk.text("[data-testid=fatal-reason-zh]").await;
    assert!(
        zh.contains("核销记录"),
        "the Chinese reason names the log: {zh}"
    );
    desk.screenshot("fatal-ledger-corrupt").await;
    let quit = desk
        .client
        .find(Locator::Css("[data-testid=fatal-quit]"))
        .await
        .unwrap();
    let _ = quit.click().await;
    let code = wait_for_file(&exit_file, Duration::from_secs(20)).await;
    assert_eq!(
        code.as_deref(),
        Some("2"),
        "the process exits with the fatal code"
    );
    assert_eq!(
        std::fs::read(&ledger).unwrap(),
        garbage,
        "the damaged file is never overwritten"
    );
    desk.close().await;
}

#[tokio::test]
async fn the_embedded_sandbox_answers_a_demo_code_through_the_real_ipc() {
    let (desk, _tmp) = launch_fresh().await;
    let answer = desk
        .invoke(
            "prepare",
            serde_json::json!({"input": {"channel": "liantuofu", "platform": null,
                "raw_code": "914095353294404024", "cashier": "王芳"}}),
        )
        .await;
    assert_eq!(
        answer["state"], "ready",
        "a demo times card previews out of the box: {answer}"
    );
    assert_eq!(
        answer["preview"]["times_remaining"], 10,
        "the sandbox's remaining uses: {answer}"
    );
    assert!(
        desk.data_dir.join("ledger-sandbox.sqlite").exists(),
        "sandbox mode uses its own ledger"
    );
    desk.close().await;
}

#[tokio::test]
async fn a_data_directory_that_cannot_be_created_is_reported_as_unwritable() {
    let tmp = tempfile::tempdir().unwrap();
    // Nothing can be created under /proc, not even by root: an honest unwritable place.
    let nowhere = std::path::PathBuf::from("/proc/redeemdesk-e2e/data");
    let exit_file = tmp.path().join("exit-code");
    let desk = Desk::launch(Launch {
        exit_code_file: Some(exit_file.clone()),
        ..Launch::at(nowhere)
    })
    .await;
    assert_eq!(
        desk.text("[data-testid=fatal-reason-zh]").await,
        "数据目录无法写入（权限不足或磁盘只读）。"
    );
    assert!(desk
        .text("[data-testid=fatal-reason-en]")
        .await
        .contains("cannot be written"));
    assert!(desk
        .text("[data-testid=fatal-detail]")
        .await
        .starts_with("data_dir_unwritable"));
    desk.screenshot("fatal-data-dir-unwritable").await;
    let quit = desk
        .client
        .find(Locator::Css("[data-testid=fatal-quit]"))
        .await
        .unwrap();
    let _ = quit.click().await;
    let code = wait_for_file(&exit_file, Duration::from_secs(20)).await;
    assert_eq!(
        code.as_deref(),
        Some("2"),
        "the process exits with the fatal code"
    );
    desk.close().await;
}

#[tokio::test]
async fn no_secret_reaches_the_log_or_the_ledger_even_at_debug_level() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = Desk::launch(Launch {
        log: "debug",
        ..Launch::at(tmp.path().join("data"))
    })
    .await;
    // One redemption on every code channel and one 增值券 order, all through the real IPC.
    for (channel, platform, code) in [
        ("shoubei", None, "679533922928"),
        ("zvcms", None, "390962138708451328"),
        ("liantuofu", None, "914095353294404024"),
        ("allinpay", Some("meituan"), "594828681100"),
    ] {
        let prepared = desk
            .invoke(
                "prepare",
                serde_json::json!({"input": {"channel": channel, "platform": platform,
                    "raw_code": code, "cashier": "王芳"}}),
            )
            .await;
        assert_eq!(prepared["state"], "ready", "{channel}: {prepared}");
        let done = desk
            .invoke(
                "redeem",
                serde_json::json!({"input": {"token": prepared["token"], "count": 1,
                    "certificates": [], "cashier": "王芳"}}),
            )
            .await;
        assert_eq!(done["attempt"]["state"], "succeeded", "{channel}: {done}");
    }
    let order = desk
        .invoke(
            "submit_order",
            serde_json::json!({"input": {"product_no": "2112291922150704074", "consumer_name": "王刚",
                "consumer_phone": "13566662456", "quantity": 1, "cashier": "王芳"}}),
        )
        .await;
    assert_eq!(order["state"], "queued", "{order}");
    let data = desk.data_dir.clone();
    desk.close().await;

    let secrets = sandbox_secrets(&data);
    let mut searched = Vec::new();
    let mut files = vec![
        data.join("ledger-sandbox.sqlite"),
        data.join("ledger-sandbox.sqlite-wal"),
    ];
    for entry in std::fs::read_dir(data.join("logs")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files.iter().filter(|f| f.exists()) {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a demo secret is in {}",
                file.display()
            );
        }
        if file.starts_with(data.join("logs")) {
            assert!(
                text.contains("channel request"),
                "the debug log holds the exchanges themselves"
            );
        }
        searched.push((file.display().to_string(), bytes.len()));
    }
    let log_bytes: usize = searched
        .iter()
        .filter(|(f, _)| f.contains("logs"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        log_bytes > 1_000,
        "the debug log really logged the exchanges ({log_bytes} bytes)"
    );
    println!(
        "searched for {} demo secrets in: {searched:?}",
        secrets.len()
    );
}

#[tokio::test]
async fn the_window_hears_of_every_change_to_an_attempt_through_the_desk_event() {
    let (desk, _tmp) = launch_fresh().await;
    desk.client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__heard = [];
             window.__TAURI__.event.listen('desk', (e) => window.__heard.push(e.payload)).then(() => done(true));",
            vec![],
        )
        .await
        .expect("the page may listen to the desk event");
    let prepared = desk
        .invoke(
            "prepare",
            serde_json::json!({"input": {"channel": "shoubei", "platform": null,
                "raw_code": "679533929006", "cashier": "王芳"}}),
        )
        .await;
    let done = desk
        .invoke(
            "redeem",
            serde_json::json!({"input": {"token": prepared["token"], "count": 1,
                "certificates": [], "cashier": "王芳"}}),
        )
        .await;
    assert_eq!(
        done["attempt"]["state"], "unknown",
        "commit-then-drop: {done}"
    );
    // The background resolver settles it within its first checks (5 s apart).
    let mut heard = serde_json::Value::Null;
    for _ in 0..100 {
        heard = desk
            .client
            .execute("return window.__heard", vec![])
            .await
            .unwrap();
        if heard
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["attempt"]["state"] == "succeeded"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let states: Vec<&str> = heard
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["attempt"]["state"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        states,
        ["unknown", "succeeded"],
        "the window hears the unknown and then the resolver's answer, by itself"
    );
    desk.close().await;
}

#[tokio::test]
async fn a_second_launch_on_the_same_data_focuses_the_first_window_instead_of_opening_one() {
    let (desk, _tmp) = launch_fresh().await;
    let mut second = tokio::process::Command::new(app_binary())
        .env("REDEEMDESK_DATA_DIR", &desk.data_dir)
        .kill_on_drop(true)
        .spawn()
        .expect("the second launch starts");
    let status = tokio::time::timeout(Duration::from_secs(30), second.wait()).await;
    let Ok(Ok(status)) = status else {
        let _ = second.kill().await;
        desk.close().await;
        panic!("the second launch must hand over to the first and exit, not open a window");
    };
    assert!(status.success(), "handing over is not an error: {status}");
    // The first desk heard the second launch (src-tauri/single_instance.rs logs it before it
    // raises the window; the log file is written by a background writer, hence the wait).
    let heard = || {
        std::fs::read_dir(desk.data_dir.join("logs"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|f| {
                std::fs::read_to_string(f.path())
                    .is_ok_and(|t| t.contains("a second launch on this data directory"))
            })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !heard() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(heard(), "the running desk is told to come to the front");
    assert_eq!(
        desk.client.windows().await.unwrap().len(),
        1,
        "still exactly one window"
    );
    assert_eq!(
        desk.client
            .execute("return document.body.dataset.ready", vec![])
            .await
            .unwrap(),
        "cashier",
        "the first desk keeps working"
    );
    desk.close().await;
}

/// Issue 18 item 10: a process that squats the single-instance name and never answers
/// neither keeps the app from opening nor makes a later launch exit silently. The first
/// launch opens its window and says on it why a second launch cannot come to it; the second
/// launch says so on stderr and, the data directory being in use, does not run a second
/// desk on it.
#[tokio::test]
async fn a_squatted_single_instance_name_neither_hangs_the_app_nor_makes_a_launch_exit_silently() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener};
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let name = redeemdesk_core::data_dir::instance_id(&data);
    // The squatter: binds the name, accepts nothing, answers nothing.
    let _squatter = UnixListener::bind_addr(
        &SocketAddr::from_abstract_name(format!("{name}.instance")).unwrap(),
    )
    .expect("the name is free to squat");
    let started = std::time::Instant::now();
    let desk = Desk::launch(Launch::at(data.clone())).await;
    let ready = desk
        .client
        .execute("return document.body.dataset.ready", vec![])
        .await
        .unwrap();
    assert_eq!(ready, "cashier", "the app opens its window regardless");
    let banner = desk.text("#warnings-text").await;
    assert!(
        banner.contains("没有应答") && banner.contains("does not answer"),
        "the window says why a second launch cannot reach it: {banner:?}"
    );
    println!(
        "window ready {:?} after launch with the name squatted",
        started.elapsed()
    );
    desk.screenshot("single-instance-squatted").await;

    let mut second = tokio::process::Command::new(app_binary())
        .env("REDEEMDESK_DATA_DIR", &data)
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the second launch starts");
    let mut stderr = second.stderr.take().unwrap();
    let mut said = String::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 4096];
        while !said.contains("does not answer") {
            match stderr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => said.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
    .await;
    assert!(
        read.is_ok() && said.contains("没有应答") && said.contains("does not answer"),
        "the second launch says why on stderr: {said}"
    );
    // It does not run a second desk: its start-up page says the directory is in use and it
    // exits non-zero when told to; it never exits 0 as if it had handed over.
    let early = tokio::time::timeout(Duration::from_secs(3), second.wait()).await;
    if let Ok(Ok(status)) = early {
        assert!(!status.success(), "not a silent hand-over: {status}");
    } else {
        let _ = second.kill().await;
    }
    assert_eq!(
        desk.client
            .execute("return document.body.dataset.ready", vec![])
            .await
            .unwrap(),
        "cashier",
        "the first desk keeps working"
    );
    desk.close().await;
}
