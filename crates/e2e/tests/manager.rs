//! End to end: the manager side on the real window against the embedded sandbox —
//! the PIN (first set, then the lock-out delay), the daily log with per-channel totals and a
//! code's timeline, the undo screen, reconciliation against a pasted statement and against
//! the channel's history, the inbox, the XLSX export read back, and no demo secret on any
//! manager screen. Screenshots land in target/e2e/manager-*.png.

use fantoccini::Locator;
use redeemdesk_e2e::{sandbox_secrets, Desk, Launch};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const QUICK: Duration = Duration::from_secs(15);
const PIN: &str = "246813";
const MANAGER: &str = "李店长";
const ESC: &str = "\u{E00C}";

/// Launches the app (with the export seam's directory when given). A session request cut
/// by tauri-driver is retried once by the harness (`Desk::launch`).
async fn launch(data: &Path, export_dir: Option<&Path>) -> Desk {
    let mut env = Vec::new();
    if let Some(dir) = export_dir {
        env.push(("REDEEMDESK_EXPORT_DIR", dir.display().to_string()));
    }
    Desk::launch(Launch {
        env,
        ..Launch::at(data.to_path_buf())
    })
    .await
}

/// Previews and redeems one code through the real IPC; answers the attempt.
async fn redeem(desk: &Desk, channel: &str, platform: Option<&str>, code: &str) -> Value {
    let prepared = desk
        .invoke(
            "prepare",
            json!({"input": {"channel": channel, "platform": platform, "raw_code": code, "cashier": "王芳"}}),
        )
        .await;
    assert_eq!(prepared["state"], "ready", "{code}: {prepared}");
    let done = desk
        .invoke(
            "redeem",
            json!({"input": {"token": prepared["token"], "count": 1, "certificates": [], "cashier": "王芳"}}),
        )
        .await;
    done["attempt"].clone()
}

/// Searches the whole visible text, every input's value and every <pre> (the timeline's
/// exchanges, even folded) for the demo secrets.
async fn assert_no_secret(desk: &Desk, screen: &str) {
    let text = desk
        .js(
            "return [document.body.innerText,
                     ...Array.from(document.querySelectorAll('input, textarea, select')).map((i) => i.value),
                     ...Array.from(document.querySelectorAll('pre')).map((p) => p.textContent)].join('\\n');",
        )
        .await;
    let text = text.as_str().unwrap_or_default();
    assert!(text.len() > 50, "{screen}: the screen has text to search");
    let visible = desk.js("return document.body.innerText").await;
    let visible = visible.as_str().unwrap_or_default();
    for raw in ["mgr.", "undefined", "[object", "NaN"] {
        assert!(
            !visible.contains(raw),
            "{screen}: {raw:?} on the screen (an untranslated key or a missing value)"
        );
    }
    for secret in sandbox_secrets(&desk.data_dir) {
        assert!(
            !text.contains(&secret),
            "{screen}: a demo secret is on the screen"
        );
    }
}

async fn type_into(desk: &Desk, css: &str, text: &str) {
    let el = desk
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    el.clear().await.ok();
    el.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
}

async fn screen(desk: &Desk) -> String {
    desk.js("return document.body.dataset.screen || ''")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Opens the manager side from the till (F9) on a desk without a manager PIN and sets the
/// first one in the dialog, key by key (the other tests set it through the IPC:
/// `Desk::set_pin_and_open_manager`).
async fn set_pin_in_the_dialog(desk: &Desk) {
    desk.scan("\u{E039}", Duration::from_millis(2)).await; // F9
    desk.wait_until(
        "document.body.dataset.screen === 'manager-pin' && !document.getElementById('manager-pin').hidden \
         && document.getElementById('manager-pin').dataset.mode",
        QUICK,
        "the PIN dialog",
    )
    .await;
    let setting = desk
        .js("return !document.getElementById('pin-again').closest('label').hidden")
        .await;
    assert_eq!(setting, json!(true), "the set-PIN form while no PIN is set");
    type_into(desk, "#pin-name", MANAGER).await;
    type_into(desk, "#pin-input", PIN).await;
    type_into(desk, "#pin-again", PIN).await;
    desk.screenshot("manager-pin-set").await;
    desk.client
        .find(Locator::Css("#pin-input"))
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    desk.wait_until(
        "document.body.dataset.screen === 'manager-log'",
        QUICK,
        "the manager log after unlocking",
    )
    .await;
}

/// Chooses a business day in the log the way the date picker does, and waits for its table.
async fn choose_day(desk: &Desk, day: &str) {
    desk.pick_log_day(day).await;
    desk.wait_until(
        &format!(
            "document.getElementById('manager-log').dataset.loadedDay === '{day}' \
             && document.getElementById('log-status').textContent.length > 0"
        ),
        QUICK,
        "the day's log",
    )
    .await;
}

/// The totals table as shown: channel → (count, units, face value text, settled text).
async fn shown_totals(desk: &Desk) -> BTreeMap<String, (u64, String, String)> {
    let rows = desk
        .js(
            "return Array.from(document.querySelectorAll('#log-totals-table tbody tr')).map((tr) =>
               [tr.dataset.channel, ...Array.from(tr.cells).map((c) => c.textContent)]);",
        )
        .await;
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r: Vec<String> = r
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap_or_default().to_owned())
                .collect();
            (
                r[0].clone(),
                (r[2].parse().unwrap(), r[4].clone(), r[5].clone()),
            )
        })
        .collect()
}

/// A total as the log shows it (issue 20 item 12): "—" when no row reported an amount, the
/// sum with "（n 笔未报）" when some did not.
fn shown_amount(fen: i64, missing: u64, rows: u64) -> String {
    if rows > 0 && missing >= rows {
        "—".to_owned()
    } else if missing > 0 {
        format!("{} （{missing} 笔未报）", yuan(fen))
    } else {
        yuan(fen)
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

#[tokio::test]
async fn a_day_on_every_channel_is_logged_undone_reconciled_and_exported_without_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let exports = tmp.path().join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    let desk = launch(&tmp.path().join("data"), Some(&exports)).await;

    let kept = redeem(&desk, "shoubei", None, "679533922928").await;
    let to_undo = redeem(&desk, "shoubei", None, "679533922935").await;
    let dropped = redeem(&desk, "shoubei", None, "679533929006").await;
    assert_eq!(dropped["state"], "unknown", "commit-then-drop: {dropped}");
    for (channel, platform, code) in [
        ("zvcms", None, "390962138708451328"),
        ("liantuofu", None, "914095353294404024"),
        ("allinpay", Some("meituan"), "594828681100"),
        ("allinpay", Some("dianping"), "730512846629"),
    ] {
        let a = redeem(&desk, channel, platform, code).await;
        assert_eq!(a["state"], "succeeded", "{code}: {a}");
    }
    assert_eq!(kept["state"], "succeeded");
    assert_eq!(to_undo["state"], "succeeded");
    let day = kept["business_day"].as_str().unwrap().to_owned();
    // The background resolver settles the dropped one with the channel's own call.
    let dropped_id = dropped["id"].as_str().unwrap();
    desk.wait_until(
        &format!(
            "window.__TAURI__.core.invoke('recent_attempts', {{cashier: null, limit: 50}}).then((l) => \
             window.__resolved = l.some((a) => a.id === '{dropped_id}' && a.state === 'succeeded')) \
             && window.__resolved"
        ),
        Duration::from_secs(40),
        "the resolver to settle the commit-then-drop attempt",
    )
    .await;

    set_pin_in_the_dialog(&desk).await;
    choose_day(&desk, &day).await;

    // ---- undo through the undo screen, from the log row
    desk.click(
        "#log-table tbody:not([hidden]) tr[data-code='679533922935'] button[data-action='undo']",
    )
    .await;
    desk.wait_until(
        "document.body.dataset.screen === 'manager-undo' && document.getElementById('undo-facts')",
        QUICK,
        "the undo preview",
    )
    .await;
    assert_eq!(
        desk.text("#undo-via").await,
        "通过渠道撤销（渠道接口）",
        "收呗 has a cancel call"
    );
    let detail = desk.text("#undo-detail").await;
    assert!(
        !detail.contains("null"),
        "nothing absent shows as text: {detail}"
    );
    type_into(&desk, "#undo-reason", "顾客退单").await;
    assert_no_secret(&desk, "undo").await;
    desk.screenshot("manager-undo").await;
    desk.click("#undo-confirm").await;
    desk.wait_until(
        "document.getElementById('undo-done')",
        QUICK,
        "the undo to be done",
    )
    .await;

    // ---- the log: per-channel totals as the attempts add up
    desk.click("#tab-log").await;
    desk.wait_until(
        "document.querySelector(\"#log-table tbody:not([hidden]) tr[data-code='679533922935']\")?.dataset.state === 'cancelled'",
        QUICK,
        "the log to show the undone row",
    )
    .await;
    let log = desk
        .invoke(
            "day_log",
            json!({"day": day, "filter": {"channel": null, "state": null, "cashier": null, "code": null}}),
        )
        .await;
    let attempts = log["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 7, "{log}");
    // Expected totals summed here from the attempts themselves (successes not undone).
    // (count, face, settled, rows without face, rows without settled)
    let mut expected: BTreeMap<String, (u64, i64, i64, u64, u64)> = BTreeMap::new();
    for a in attempts.iter().filter(|a| a["state"] == "succeeded") {
        let e = expected
            .entry(a["channel"].as_str().unwrap().to_owned())
            .or_default();
        e.0 += 1;
        e.1 += a["settled_face_value"].as_i64().unwrap_or(0);
        e.2 += a["settled"].as_i64().unwrap_or(0);
        e.3 += u64::from(a["settled_face_value"].is_null());
        e.4 += u64::from(a["settled"].is_null());
    }
    assert_eq!(
        expected.get("shoubei").map(|e| e.0),
        Some(2),
        "收呗: the kept one and the resolved one; the undone one counts nowhere"
    );
    assert_eq!(expected.get("allinpay").map(|e| e.0), Some(2));
    assert_eq!(expected.len(), 4, "{expected:?}");
    let shown = shown_totals(&desk).await;
    for (channel, (n, face, settled, no_face, no_settled)) in &expected {
        assert_eq!(
            shown.get(channel),
            Some(&(
                *n,
                shown_amount(*face, *no_face, *n),
                shown_amount(*settled, *no_settled, *n)
            )),
            "{channel}: the UI totals {shown:?}"
        );
    }
    let all = expected.values().fold((0, 0, 0, 0, 0), |s, e| {
        (s.0 + e.0, s.1 + e.1, s.2 + e.2, s.3 + e.3, s.4 + e.4)
    });
    assert_eq!(
        shown.get("all"),
        Some(&(
            all.0,
            shown_amount(all.1, all.3, all.0),
            shown_amount(all.2, all.4, all.0)
        )),
        "the sum row"
    );
    let right_aligned = desk
        .js("return getComputedStyle(document.querySelector('#log-totals-table td.num')).textAlign")
        .await;
    assert_eq!(right_aligned, json!("right"), "amounts are right-aligned");
    assert_no_secret(&desk, "log").await;
    desk.screenshot("manager-log").await;

    // ---- the export, read back
    desk.click("#log-export-xlsx").await;
    let path = desk
        .wait_until(
            "document.getElementById('manager-log').dataset.exported",
            QUICK,
            "the export to be written",
        )
        .await;
    let path = path.as_str().unwrap().to_owned();
    assert_eq!(
        Path::new(&path),
        exports.join(format!("核销流水-{day}.xlsx")),
        "the dialog's default name in the seam's directory"
    );
    check_xlsx(Path::new(&path), &expected);
    desk.click("#log-export-csv").await;
    desk.wait_until(
        "(document.getElementById('manager-log').dataset.exported || '').endsWith('.csv')",
        QUICK,
        "the CSV export to be written",
    )
    .await;

    // ---- a code's timeline: every request and answer, secret-free
    desk.click("#log-table tbody:not([hidden]) tr[data-code='679533929006'] td.code")
        .await;
    desk.wait_until(
        "document.getElementById('manager-timeline').dataset.loaded === 'true'",
        QUICK,
        "the timeline",
    )
    .await;
    let states = desk
        .js("return Array.from(document.querySelectorAll('#timeline-body .tl-event .state')).map((s) => s.textContent)")
        .await;
    let states: Vec<&str> = states
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"待确认") && states.last() == Some(&"成功"),
        "unknown first, then settled: {states:?}"
    );
    let exchanges = desk
        .js("return document.querySelectorAll('#timeline-body pre').length")
        .await;
    assert!(
        exchanges.as_u64().unwrap() >= 2,
        "the requests and answers are there to read"
    );
    desk.js("document.querySelectorAll('#timeline-body details').forEach((d) => d.open = true); return 1")
        .await;
    assert_no_secret(&desk, "timeline").await;
    desk.screenshot("manager-timeline").await;
    desk.scan(ESC, Duration::from_millis(2)).await;
    desk.wait_until(
        "document.getElementById('manager-timeline').hidden",
        QUICK,
        "Esc to close the timeline",
    )
    .await;

    // ---- reconcile 收呗 against a pasted statement with a broken row
    desk.click("#tab-reconcile").await;
    desk.wait_until(
        "document.body.dataset.screen === 'manager-reconcile' && document.querySelector('#rec-channel option')",
        QUICK,
        "the reconcile screen",
    )
    .await;
    desk.js(
        "const c = document.getElementById('rec-channel'); c.value = 'shoubei'; \
         c.dispatchEvent(new Event('change')); return 1",
    )
    .await;
    let statement = "券码,金额,状态\n679533922928,9.00,已核销\n679533999999,abc,已核销\n679533920059,5.00,已核销\n";
    desk.js(&format!(
        "const p = document.getElementById('rec-text'); p.value = {}; \
         p.dispatchEvent(new Event('change')); return 1",
        json!(statement)
    ))
    .await;
    desk.wait_until(
        "document.querySelectorAll('#rec-map-code option').length > 3",
        QUICK,
        "the statement's columns in the mapping form",
    )
    .await;
    desk.js(
        "for (const [id, v] of [['rec-map-code', '券码'], ['rec-map-face_value', '金额'], ['rec-map-state', '状态']]) { \
           const s = document.getElementById(id); s.value = v; s.dispatchEvent(new Event('change')); } return 1",
    )
    .await;
    desk.click("#rec-save-mapping").await;
    desk.wait_until(
        "document.getElementById('rec-status').textContent.includes('已保存')",
        QUICK,
        "the mapping to be saved",
    )
    .await;
    desk.click("#rec-run").await;
    desk.wait_until(
        "document.querySelector('#rec-table tbody tr')",
        QUICK,
        "the report",
    )
    .await;
    let verdicts = desk
        .js("return Array.from(document.querySelectorAll('#rec-table tr[data-verdict]')).map((r) => r.dataset.verdict + ' ' + r.dataset.code)")
        .await;
    let verdicts: Vec<&str> = verdicts
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for want in [
        "amount_differs 679533922928",
        "only_at_channel 679533920059",
        "only_here 679533929006",
    ] {
        assert!(verdicts.contains(&want), "{want} in {verdicts:?}");
    }
    let skipped = desk.text("#rec-skipped").await;
    assert!(
        skipped.contains("第 3 行") && skipped.contains("abc"),
        "the broken row is named with its reason: {skipped}"
    );
    let mapping = desk
        .invoke("statement_mapping", json!({"channel": "shoubei"}))
        .await;
    assert_eq!(mapping["code"], "券码", "saved per channel: {mapping}");
    assert_no_secret(&desk, "reconcile").await;
    desk.screenshot("manager-reconcile").await;

    // ---- 通联 against its history, signed off
    desk.js(
        "const c = document.getElementById('rec-channel'); c.value = 'allinpay'; \
         c.dispatchEvent(new Event('change')); return 1",
    )
    .await;
    desk.click("#rec-history").await;
    desk.wait_until(
        "document.getElementById('rec-report').textContent.includes('渠道核销记录') && document.querySelector('#rec-table tbody tr')",
        QUICK,
        "the history report",
    )
    .await;
    let matched = desk
        .js("return document.querySelectorAll(\"#rec-table tr[data-verdict='matched']\").length")
        .await;
    assert_eq!(
        matched,
        json!(2),
        "both 通联 redemptions are in its history"
    );
    desk.click("#rec-sign").await;
    desk.wait_until(
        "document.getElementById('rec-signed')",
        QUICK,
        "the sign-off",
    )
    .await;
    desk.screenshot("manager-reconcile-history").await;
    desk.click("#rec-export-xlsx").await;
    desk.wait_until(
        "document.getElementById('rec-status').textContent.startsWith('已导出')",
        QUICK,
        "the report export",
    )
    .await;
    {
        use calamine::{Data, Reader, Xlsx};
        let file = exports.join(format!("对账-通联-{day}.xlsx"));
        let mut book: Xlsx<_> = calamine::open_workbook(&file).expect("the report as XLSX");
        let sheet = book.worksheet_range("对账").expect("the report sheet");
        // Verdict, its id, then the code.
        let codes: Vec<Data> = sheet.rows().skip(2).take(2).map(|r| r[2].clone()).collect();
        assert!(
            codes.contains(&Data::String("594828681100".into())),
            "codes stay text in the report: {codes:?}"
        );
    }

    // ---- the inbox: the unsigned 收呗 mismatch waits there
    desk.scan("\u{E032}", Duration::from_millis(2)).await; // F2
    desk.wait_until(
        "document.getElementById('manager-inbox').dataset.loaded === 'true' && \
         document.querySelector('#inbox-reconciliations .inbox-card')",
        QUICK,
        "the inbox with the reconciliation to review",
    )
    .await;
    let cards = desk
        .js("return document.querySelectorAll('#inbox-reconciliations .inbox-card').length")
        .await;
    assert_eq!(cards, json!(1), "only the unsigned run with mismatches");
    assert_no_secret(&desk, "inbox").await;
    desk.screenshot("manager-inbox").await;

    // ---- the core locks the session (as after idling): the UI goes back to the PIN
    desk.invoke("manager_lock", json!({})).await;
    desk.click("#tab-log").await;
    desk.wait_until(
        "document.body.dataset.screen === 'manager-pin' && \
         document.getElementById('pin-lead').textContent.includes('自动锁定')",
        QUICK,
        "the PIN dialog saying the screens locked",
    )
    .await;
    desk.screenshot("manager-autolocked").await;
    desk.close().await;

    // ---- no demo secret in an export (every cell of every workbook, every CSV), in the
    // ledger files or in the log, after a day on every channel
    let secrets = sandbox_secrets(&tmp.path().join("data"));
    let mut searched = 0;
    for dir in [exports.clone(), tmp.path().join("data")] {
        for file in files_below(&dir) {
            let text = file_text(&file);
            searched += 1;
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "a demo secret in {}",
                    file.display()
                );
            }
        }
    }
    let exported = std::fs::read_dir(&exports).unwrap().count();
    assert!(
        exported >= 3,
        "the log as XLSX and CSV and the report: {exported}"
    );
    assert!(
        searched > exported + 2,
        "the ledger and the log searched too"
    );
}

/// Every file below `dir` (the webview's own storage excepted: it holds no desk data).
fn files_below(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                // sandbox-keys/ holds the sandbox's key pairs: the one place they belong
                if path
                    .file_name()
                    .is_some_and(|n| n != "webview" && n != "sandbox-keys")
                {
                    todo.push(path);
                }
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// What a reader would find in a file: every cell of a workbook (its XML is zipped), the
/// bytes of anything else (the ledger's pages, the log, a CSV) read as text.
fn file_text(path: &Path) -> String {
    use calamine::{Reader, Xlsx};
    if path.extension().is_some_and(|e| e == "xlsx") {
        let mut book: Xlsx<_> = calamine::open_workbook(path).expect("a real XLSX");
        let mut text = String::new();
        for name in book.sheet_names() {
            let sheet = book.worksheet_range(&name).expect("a sheet");
            for cell in sheet.used_cells() {
                text.push_str(&cell.2.to_string());
                text.push('\n');
            }
        }
        assert!(!text.is_empty(), "{}: cells to search", path.display());
        text
    } else {
        String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
    }
}

/// The exported log: codes and ids are text cells, amounts are numbers with two decimals,
/// and the totals section says what the UI said.
fn check_xlsx(path: &Path, expected: &BTreeMap<String, (u64, i64, i64, u64, u64)>) {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = calamine::open_workbook(path).expect("a real XLSX");
    let sheet = book.worksheet_range("流水").expect("the log sheet");
    let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    let body: Vec<&Vec<Data>> = rows[2..9].iter().collect();
    for r in &body {
        assert!(matches!(&r[5], Data::String(_)), "a code is text: {r:?}");
        assert!(
            matches!(&r[12], Data::String(s) if s.len() == 32),
            "our id is text: {r:?}"
        );
        // The channel and the state in words, each beside its stable id (issue 20 item 10).
        assert!(
            matches!((&r[1], &r[2]), (Data::String(name), Data::String(id))
                if !name.is_ascii() && id.is_ascii()),
            "the channel in words beside its id: {r:?}"
        );
        assert!(
            matches!((&r[8], &r[9]), (Data::String(word), Data::String(id))
                if !word.is_ascii() && id.is_ascii()),
            "the state in words beside its id: {r:?}"
        );
    }
    assert!(
        body.iter()
            .any(|r| r[5] == Data::String("914095353294404024".into())),
        "an 18-digit code reads back exactly"
    );
    let mut amounts = 0;
    for r in &body {
        if let Data::Float(v) = r[10] {
            amounts += 1;
            assert!(
                ((v * 100.0).round() - v * 100.0).abs() < 1e-9,
                "two decimals: {v}"
            );
        }
    }
    assert!(amounts >= 5, "the face values are numbers");
    let at = rows
        .iter()
        .position(|r| matches!(&r[0], Data::String(s) if s.starts_with("合计")))
        .expect("a totals section");
    // An amount no row reported is "—" (issue 20 item 12); the last two columns count the
    // rows without one.
    let amount = |d: &Data| match d {
        Data::Float(v) => Some(Some((v * 100.0).round() as i64)),
        Data::String(s) if s == "—" => Some(None),
        _ => None,
    };
    let mut read_back = BTreeMap::new();
    for r in &rows[at + 2..] {
        if let (
            Data::String(ch),
            Data::Float(n),
            Some(face),
            Some(settled),
            Data::Float(nf),
            Data::Float(ns),
        ) = (&r[1], &r[2], amount(&r[4]), amount(&r[5]), &r[6], &r[7])
        {
            read_back.insert(
                ch.clone(),
                (*n as u64, face, settled, *nf as u64, *ns as u64),
            );
        }
    }
    let wanted: BTreeMap<String, _> = expected
        .iter()
        .map(|(ch, &(n, face, settled, no_face, no_settled))| {
            (
                ch.clone(),
                (
                    n,
                    (no_face < n).then_some(face),
                    (no_settled < n).then_some(settled),
                    no_face,
                    no_settled,
                ),
            )
        })
        .collect();
    assert_eq!(read_back, wanted, "the same totals as the screen");
}

#[tokio::test]
async fn wrong_pins_lock_the_manager_screens_out_and_the_dialog_shows_the_delay() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = launch(&tmp.path().join("data"), None).await;
    let set = desk
        .invoke(
            "set_manager_pin",
            json!({"current": null, "newPin": PIN, "name": MANAGER}),
        )
        .await;
    assert!(set.is_null(), "{set}");
    desk.click("#manager-open").await;
    desk.wait_until(
        "document.body.dataset.screen === 'manager-pin' && document.getElementById('manager-pin').dataset.mode === 'unlock'",
        QUICK,
        "the unlock form (a PIN is set)",
    )
    .await;
    type_into(&desk, "#pin-name", MANAGER).await;
    for (i, left) in [(1, Some(2)), (2, Some(1)), (3, None)] {
        type_into(&desk, "#pin-input", "1111\u{E007}").await;
        let msg = desk
            .wait_until(
                &format!(
                    "(() => {{ const m = document.getElementById('pin-message').textContent; \
                       return m.includes({}) && m; }})()",
                    match left {
                        Some(n) => format!("'再试 {n} 次'"),
                        None => "'秒后再试'".to_owned(),
                    }
                ),
                QUICK,
                &format!("the answer to wrong PIN #{i}"),
            )
            .await;
        println!("wrong PIN #{i}: {msg}");
    }
    let msg = desk.text("#pin-message").await;
    let seconds: u32 = msg
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    assert!(
        (25..=30).contains(&seconds),
        "the 30 s lock-out counts down: {msg}"
    );
    let disabled = desk
        .js("return document.getElementById('pin-submit').disabled && document.getElementById('pin-input').disabled")
        .await;
    assert_eq!(disabled, json!(true), "nothing to type while locked out");
    // Even the right PIN is refused by the core during the lock-out.
    let refused = desk
        .invoke("manager_unlock", json!({"pin": PIN, "name": MANAGER}))
        .await;
    assert_eq!(refused["error"]["code"], "pin_locked_out", "{refused}");
    assert_eq!(screen(&desk).await, "manager-pin");
    assert_no_secret(&desk, "pin").await;
    desk.screenshot("manager-pin").await;
    // Issue 20 item 13: Esc still leaves the dialog during the lock-out.
    desk.scan("\u{E00C}", std::time::Duration::from_millis(2))
        .await;
    desk.wait_until(
        "document.body.dataset.screen === 'capture'",
        QUICK,
        "the till after Esc during the lock-out",
    )
    .await;
    desk.close().await;
}

#[tokio::test]
async fn a_generated_day_of_hundreds_of_attempts_shows_its_totals_and_renders_fast() {
    use redeemdesk_core::app_info::Mode;
    use redeemdesk_core::ledger::{self, generate, Ledger};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let first: redeemdesk_core::business_day::BusinessDay = "2026-03-02".parse().unwrap();
    let generated = {
        let ledger = Ledger::open(&data.join(ledger::file_name(Mode::Sandbox)), Mode::Sandbox)
            .expect("a fresh sandbox ledger in the data directory");
        generate::fill(
            &ledger,
            &generate::Synthetic {
                attempts: 800,
                first_day: first,
                per_day: 400,
                seed: 6,
            },
        )
        .unwrap()
    };
    let second = generated.last_day;
    assert_ne!(first, second, "two days of 400 attempts");
    let desk = launch(&data, None).await;
    desk.set_pin_and_open_manager(MANAGER, PIN).await;
    // Alternate the two days: every choice loads and renders a whole day.
    for round in 0..3 {
        for day in [first, second] {
            choose_day(&desk, &day.to_string()).await;
            // The first frame of a day holds only the rows in view; the margin around them
            // comes with the rest of the day.
            let first = desk
                .wait_until(
                    &format!(
                        "(() => {{ const e = window.__redeemdesk_stats.managerLog.filter((x) => \
                             x.day === '{day}').pop(); \
                           return e && e.allMs !== undefined && e.firstRows; }})()"
                    ),
                    QUICK,
                    "the rest of the day",
                )
                .await
                .as_u64()
                .unwrap();
            let rows = desk
                .js("const b = document.getElementById('log-table-box'); \
                     const r = document.querySelector('#log-table tbody tr[data-id]'); \
                     return [document.getElementById('manager-log').dataset.rows, \
                            document.querySelectorAll('#log-table tbody tr[data-id]').length, \
                            Math.ceil(b.clientHeight / r.getBoundingClientRect().height)]")
                .await;
            // The whole day is loaded; the table holds the rows in view and a margin.
            assert_eq!(
                rows[0],
                json!("400"),
                "round {round}: every attempt of {day}"
            );
            let in_table = rows[1].as_u64().unwrap();
            let in_view = rows[2].as_u64().unwrap();
            assert!(
                (1..=in_view).contains(&first),
                "round {round}: the first frame holds the {in_view} rows in view at most: {first}"
            );
            assert!(
                in_table > in_view && (15..200).contains(&in_table),
                "round {round}: a window of rows with a margin, not all 400: {in_table}"
            );
        }
    }
    // The totals shown are the generator's own (computed as it wrote the rows).
    let shown = shown_totals(&desk).await;
    for t in &generated.totals[&second] {
        let ch = t.channel.unwrap().as_str().to_owned();
        assert_eq!(
            shown.get(&ch),
            Some(&(
                t.succeeded,
                shown_amount(t.face_value.0, t.face_value_unreported, t.succeeded),
                shown_amount(t.settled.0, t.settled_unreported, t.succeeded)
            )),
            "{ch}: {shown:?}"
        );
    }
    // Times are the store's (+08:00, cut-off 04:00), whatever zone the till's clock is set to
    // (UTC on the CI machine): the first attempt of the day is on its date, after 04:00.
    let first_time = desk
        .js("return document.querySelector('#log-table tr[data-index=\"0\"] td').textContent")
        .await;
    let first_time = first_time.as_str().unwrap();
    let (date, clock) = first_time.split_once(' ').expect("MM-DD HH:MM:SS");
    let iso = second.to_string();
    assert_eq!(
        date,
        &iso[5..],
        "the day's first row is on its date: {first_time}"
    );
    assert!(
        clock >= "04:00:00",
        "after the 04:00 cut-off in the business zone: {first_time}"
    );
    desk.screenshot("manager-log-400").await;
    // Scrolling to the end shows the day's last attempts; the arrow keys walk past the
    // window's edge.
    desk.js("const b = document.getElementById('log-table-box'); b.scrollTop = b.scrollHeight; return true")
        .await;
    desk.wait_until(
        "document.querySelector('#log-table tr[data-index=\"399\"]') !== null",
        QUICK,
        "the last row after scrolling to the end",
    )
    .await;
    desk.js("const b = document.getElementById('log-table-box'); b.scrollTop = 0; return true")
        .await;
    desk.wait_until(
        "document.querySelector('#log-table tr[data-index=\"0\"]') !== null",
        QUICK,
        "the first row again",
    )
    .await;
    desk.js("document.querySelector('#log-table tr[data-index=\"0\"]').focus(); return true")
        .await;
    desk.scan(&"\u{E015}".repeat(60), Duration::from_millis(5)) // ArrowDown × 60
        .await;
    let focused = desk
        .js("return document.activeElement && document.activeElement.dataset.index")
        .await;
    assert_eq!(focused, json!("60"), "sixty rows down from the first");
    let times = desk.js("return window.__redeemdesk_stats.managerLog").await;
    let mut built: Vec<f64> = times
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["rows"] == 400 && e["chosen"] == true)
        .map(|e| e["ms"].as_f64().unwrap())
        .collect();
    let mut painted: Vec<f64> = times
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["rows"] == 400 && e["chosen"] == true)
        .filter_map(|e| e["paintedMs"].as_f64())
        .collect();
    let ipc: Vec<f64> = times
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["rows"] == 400 && e["chosen"] == true)
        .filter_map(|e| e["ipcMs"].as_f64())
        .collect();
    println!("of which the day_log call answered after: {ipc:?} ms");
    built.sort_by(f64::total_cmp);
    painted.sort_by(f64::total_cmp);
    assert_eq!(built.len(), 6, "{times}");
    let median = built[built.len() / 2];
    println!(
        "day chosen → 400-row log table built: median {median:.1} ms, all {built:?}; \
         → next frame painted: {painted:?}"
    );
    // The target is 50 ms; the bound here only catches a regression by an order of
    // magnitude on a loaded test machine.
    assert!(median < 500.0, "median {median} ms");
    desk.close().await;
}

/// Plants what the inbox is for, before the app starts: an unknown attempt the resolver
/// handed over, and two 增值券 notifications that failed three times (their next try an
/// hour away, so the outbox leaves them to the manager).
fn plant_inbox(data: &Path) -> (String, String, String) {
    use redeemdesk_core::app_info::Mode;
    use redeemdesk_core::channel::ChannelKind;
    use redeemdesk_core::ledger::{
        self, Actor, AttemptState, DeliveryAttempt, DeliveryResult, Exchange, Ledger, NewAttempt,
        NewNotification, Transition,
    };
    use redeemdesk_core::money::Fen;
    let ledger = Ledger::open(&data.join(ledger::file_name(Mode::Sandbox)), Mode::Sandbox)
        .expect("a fresh sandbox ledger");
    let now = redeemdesk_core::clock::Clock::now_ms(&redeemdesk_core::clock::SystemClock);
    let unknown = ledger
        .begin_attempt(NewAttempt {
            created_ms: now - 60_000,
            channel: ChannelKind::Shoubei,
            platform: None,
            code: "679533922935".into(),
            count: 1,
            cashier: "王芳".into(),
            face_value: Some(Fen(5000)),
            price: None,
            remaining_before: None,
            prepare: Exchange::default(),
        })
        .unwrap();
    ledger
        .record(
            &unknown,
            Transition::new(AttemptState::Unknown, now - 59_000, Actor::System)
                .reason("the answer never came"),
        )
        .unwrap();
    assert!(ledger
        .hand_to_manager(&unknown, now - 58_000, "the channel cannot tell")
        .unwrap());
    let mut notifications = Vec::new();
    for (name, phone) in [("张三", "13800138000"), ("李四", "13900139000")] {
        let id = ledger
            .enqueue_notification(NewNotification {
                created_ms: now - 50_000,
                cashier: "王芳".into(),
                order_no: None,
                product_no: "2112291922150704074".into(),
                product_name: "畅玩单人联票".into(),
                consumer_name: name.into(),
                consumer_phone: phone.into(),
                quantity: 1,
                total: Fen(3000),
            })
            .unwrap();
        for i in 0..3 {
            ledger
                .record_delivery_attempt(
                    &id,
                    DeliveryAttempt {
                        at_ms: now - 40_000 + i * 1000,
                        result: DeliveryResult::Failed {
                            error: "connection refused".into(),
                        },
                        exchange: Exchange::default(),
                    },
                    // Within the outbox's longest backoff: a retry time further ahead is
                    // taken for a clock that went back, and is due at once.
                    Some(now + 600_000),
                )
                .unwrap();
        }
        notifications.push(id.to_string());
    }
    (
        unknown.to_string(),
        notifications[0].clone(),
        notifications[1].clone(),
    )
}

/// Waits until the inbox has loaded without the card `id` (after an action on it).
async fn card_gone(desk: &Desk, id: &str, what: &str) {
    desk.wait_until(
        &format!(
            "document.getElementById('manager-inbox').dataset.loaded === 'true' && \
             !document.querySelector('.inbox-card[data-id=\"{id}\"]')"
        ),
        QUICK,
        what,
    )
    .await;
}

#[tokio::test]
async fn the_inbox_buttons_retry_decide_resend_and_settle_with_reasons_and_every_action_is_audited()
{
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (unknown, resend, settle) = plant_inbox(&data);
    let desk = launch(&data, None).await;
    desk.set_pin_and_open_manager(MANAGER, PIN).await;
    desk.scan("\u{E032}", Duration::from_millis(2)).await; // F2: 需处理
    desk.wait_until(
        &format!(
            "document.getElementById('manager-inbox').dataset.count === '3' && \
             document.querySelector('.inbox-card[data-id=\"{unknown}\"]') && \
             document.querySelector('.inbox-card[data-id=\"{resend}\"]') && \
             document.querySelector('.inbox-card[data-id=\"{settle}\"]')"
        ),
        QUICK,
        "the handed-over unknown and the two failing notifications",
    )
    .await;
    desk.screenshot("manager-inbox-actions").await;
    let card = |id: &str, rest: &str| format!(".inbox-card[data-id=\"{id}\"] {rest}");

    // "Retry now" asks the channel at once: whatever it says is recorded, and the card
    // either stays (still unknown) or goes (settled).
    desk.click(&card(&unknown, "button[data-action=retry]"))
        .await;
    desk.wait_until(
        "document.getElementById('inbox-status').textContent === '已向渠道确认，列表已更新'",
        QUICK,
        "the retry to be answered",
    )
    .await;
    let after_retry = desk
        .invoke("code_timeline", json!({"code": "679533922935"}))
        .await;
    let state = after_retry[0]["attempt"]["state"].clone();
    println!("after retry now: {state}");
    if state == json!("unknown") {
        // A decision needs a reason: refused in the card's own words, nothing recorded.
        desk.click(&card(&unknown, "button[data-action=decide-rejected]"))
            .await;
        assert_eq!(
            desk.text(&card(&unknown, ".card-message")).await,
            "请填写原因"
        );
        type_into(
            &desk,
            &format!("#reason-{unknown}"),
            "顾客未到店，渠道后台无记录",
        )
        .await;
        desk.click(&card(&unknown, "button[data-action=decide-rejected]"))
            .await;
        card_gone(&desk, &unknown, "the decided unknown to leave the inbox").await;
        let decided = desk
            .invoke("code_timeline", json!({"code": "679533922935"}))
            .await;
        assert_eq!(decided[0]["attempt"]["state"], "rejected", "{decided}");
    } else {
        card_gone(&desk, &unknown, "the settled unknown to leave the inbox").await;
    }

    // "Resend now" delivers the queued sale whatever its backoff says.
    desk.click(&card(&resend, "button[data-action=resend]"))
        .await;
    card_gone(&desk, &resend, "the resent notification to be delivered").await;
    assert_eq!(
        desk.text("#inbox-status").await,
        "已重发，列表已更新",
        "the resend is confirmed"
    );

    // Settling by hand needs a reason too.
    desk.click(&card(&settle, "button[data-action=mark-delivered]"))
        .await;
    assert_eq!(
        desk.text(&card(&settle, ".card-message")).await,
        "请填写原因"
    );
    type_into(&desk, &format!("#reason-{settle}"), "平台后台已显示出票").await;
    desk.click(&card(&settle, "button[data-action=mark-delivered]"))
        .await;
    card_gone(
        &desk,
        &settle,
        "the settled notification to leave the inbox",
    )
    .await;
    desk.wait_until(
        "document.getElementById('manager-inbox').dataset.count === '0'",
        QUICK,
        "an empty inbox",
    )
    .await;
    assert_no_secret(&desk, "inbox-empty").await;
    desk.close().await;

    // Every action is in the audit log under the manager's name; the notifications' states
    // are the ones the buttons said.
    use redeemdesk_core::app_info::Mode;
    use redeemdesk_core::ledger::{self, Actor, Ledger, NotificationId, NotificationState};
    let ledger =
        Ledger::open_read_only(&data.join(ledger::file_name(Mode::Sandbox)), Mode::Sandbox)
            .unwrap();
    let audit: Vec<(String, Option<String>)> = ledger
        .audit_between(0, i64::MAX)
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.actor == Actor::Manager(MANAGER.into()))
        .map(|r| (r.entry.action, r.entry.subject))
        .collect();
    for (action, subject) in [("retry_unknown", &unknown), ("retry_notification", &resend)] {
        assert!(
            audit
                .iter()
                .any(|(a, s)| a == action && s.as_deref() == Some(subject.as_str())),
            "{action} on {subject} audited: {audit:?}"
        );
    }
    assert!(
        audit
            .iter()
            .any(|(_, s)| s.as_deref() == Some(settle.as_str())),
        "the settled notification audited: {audit:?}"
    );
    let state = |id: &str| {
        ledger
            .notification(&NotificationId::parse(id).unwrap())
            .unwrap()
            .unwrap()
            .state
    };
    assert_eq!(state(&resend), NotificationState::Delivered);
    assert_eq!(state(&settle), NotificationState::Delivered);
}

/// Issue 20 item 13: the business day is shown and typed as YYYY-MM-DD (WebKit's own date
/// picker showed MM/DD/YYYY); a date typed another common way is read, an impossible one is
/// marked and changes nothing; ◀ ▶ step a day. In 对账 the file chooser speaks the UI's
/// language, and a statement whose columns are named as the mapping's hints has them
/// preselected (券码 / 面值 / 状态), while a column the manager chose is kept.
#[tokio::test]
async fn the_day_reads_yyyy_mm_dd_and_the_statement_mapping_preselects_named_columns() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let desk = launch(&data, None).await;
    desk.set_pin_and_open_manager(MANAGER, PIN).await;
    let today = desk
        .js("return document.getElementById('log-day').value")
        .await;
    let today = today.as_str().unwrap_or_default().to_owned();
    assert!(
        today.len() == 10 && &today[4..5] == "-" && &today[7..8] == "-",
        "the day shows as YYYY-MM-DD: {today:?}"
    );
    type_into(&desk, "#log-day", "2026/11/3\u{E007}").await;
    desk.wait_until(
        "document.getElementById('manager-log').dataset.loadedDay === '2026-11-03'",
        QUICK,
        "the typed day's log",
    )
    .await;
    assert_eq!(
        desk.js("return document.getElementById('log-day').value")
            .await,
        json!("2026-11-03")
    );
    type_into(&desk, "#log-day", "2026-02-30\u{E007}").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        desk.js("return [document.getElementById('log-day').getAttribute('aria-invalid'), document.getElementById('manager-log').dataset.loadedDay]").await,
        json!(["true", "2026-11-03"]),
        "an impossible date is marked and loads nothing"
    );
    desk.screenshot("manager-day-invalid").await;
    desk.click("#manager-log .day-step:last-of-type").await;
    desk.wait_until(
        "document.getElementById('manager-log').dataset.loadedDay === '2026-11-04'",
        QUICK,
        "the next day after ▶",
    )
    .await;

    desk.scan("\u{E034}", Duration::from_millis(2)).await; // F4: 对账
    desk.wait_until(
        "document.body.dataset.screen === 'manager-reconcile'",
        QUICK,
        "对账",
    )
    .await;
    desk.js(
        "const c = document.getElementById('rec-channel'); c.value = 'shoubei'; \
         c.dispatchEvent(new Event('change')); return 1",
    )
    .await;
    assert_eq!(desk.text("#rec-file-pick").await, "选择文件…");
    assert_eq!(desk.text("#rec-file-name").await, "未选择文件");
    let statement = "券码,面值,状态,备注\n679533922928,10.00,已核销,x\n";
    desk.js(&format!(
        "const p = document.getElementById('rec-text'); p.value = {}; \
         p.dispatchEvent(new Event('change')); return 1",
        json!(statement)
    ))
    .await;
    let picked = desk
        .wait_until(
            "(() => { const v = ['code', 'face_value', 'state', 'channel_id', 'time'] \
               .map((k) => document.getElementById(`rec-map-${k}`).value); \
             return v[0] ? v : null; })()",
            QUICK,
            "the preselected columns",
        )
        .await;
    assert_eq!(picked, json!(["券码", "面值", "状态", "", ""]));
    // A choice of the manager's is not undone by the next check.
    desk.js(
        "const s = document.getElementById('rec-map-state'); s.value = ''; \
         s.dispatchEvent(new Event('change')); document.getElementById('rec-check').click(); return 1",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        desk.js("return document.getElementById('rec-map-state').value")
            .await,
        json!("")
    );
    desk.screenshot("manager-mapping-preselected").await;
    desk.close().await;
}
