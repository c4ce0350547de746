//! End to end: slips from the real window to the virtual printer the app starts in
//! sandbox mode. A redemption prints its 核销凭证 (the PNG the printer drew is copied to
//! target/e2e/slips-receipt.png), 交班 prints the 交班单, and a printer that refuses the
//! connection leaves the answer green with 打印失败，可重打 and a reprint that works.

use redeemdesk_e2e::{screenshot_dir, wait_for_file, Desk, Launch, QUICK, SCANNER};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const F1: &str = "\u{E031}";

fn printer_dir(desk: &Desk) -> std::path::PathBuf {
    desk.data_dir.join("virtual-printer")
}

/// The grid of the virtual printer's slip `seq`, once it has arrived.
async fn slip_text(dir: &Path, seq: u32) -> String {
    wait_for_file(&dir.join(format!("slip-{seq:04}.txt")), QUICK)
        .await
        .unwrap_or_else(|| panic!("slip {seq} reached the virtual printer"))
}

/// Copies the PNG the virtual printer drew of slip `seq` to target/e2e/`name`.png.
async fn keep_png(dir: &Path, seq: u32, name: &str) -> std::path::PathBuf {
    let from = dir.join(format!("slip-{seq:04}.png"));
    for _ in 0..100 {
        if from.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let to = screenshot_dir().join(format!("{name}.png"));
    std::fs::copy(&from, &to).expect("the slip's PNG");
    to
}

async fn redeem(desk: &Desk, code: &str) {
    desk.scan(F1, SCANNER).await;
    desk.scan_and_redeem(code, "succeeded").await;
}

async fn print_state(desk: &Desk, state: &str) -> String {
    let got = desk
        .wait_until(
            &format!(
                "(() => {{ const b = document.getElementById('result-print');
                   return b && !b.hidden && b.dataset.state === '{state}'
                     && document.getElementById('print-status').textContent; }})()"
            ),
            QUICK,
            &format!("the print line to say {state}"),
        )
        .await;
    got.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_redemption_prints_its_receipt_on_the_virtual_printer() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = Desk::launch(Launch::at(tmp.path().join("data"))).await;
    redeem(&desk, "679533922928").await;
    assert_eq!(print_state(&desk, "printed").await, "凭证已打印");
    let dir = printer_dir(&desk);
    let text = slip_text(&dir, 1).await;
    for want in [
        "核  销  凭  证",
        "沙箱演示店",
        "收呗",
        "6795…2928",
        "共 ￥10.00",
        "链头",
    ] {
        assert!(text.contains(want), "{want:?} on the receipt:\n{text}");
    }
    assert!(
        !text.contains("679533922928"),
        "the code is masked:\n{text}"
    );
    for line in text.lines().filter(|l| !l.starts_with("[QR ")) {
        let cols: usize = line.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum();
        assert!(cols <= 32, "{line:?} is {cols} columns on 58 mm paper");
    }
    let png = keep_png(&dir, 1, "slips-receipt").await;
    eprintln!("the receipt as printed: {}", png.display());
    desk.screenshot("slips-receipt-answer").await;

    // The manager's 流水 reprints it, marked 重打; 单据 (F6) shows the slips as pictures.
    desk.set_pin_and_open_manager("李店长", "246810").await;
    desk.wait_until(
        "document.querySelector('[data-testid=log-reprint]')",
        QUICK,
        "the log row's 重打",
    )
    .await;
    desk.screenshot("slips-manager-log").await;
    desk.click("[data-testid='log-reprint']").await;
    let text = slip_text(&dir, 2).await;
    assert!(text.contains("重打时间"), "the reprint says so:\n{text}");
    desk.scan("\u{E036}", SCANNER).await; // F6
    desk.wait_until(
        "document.querySelectorAll('#slips-pictures img').length >= 2 && \
         document.querySelectorAll('[data-testid=slip-row]').length >= 2",
        QUICK,
        "单据 with the two slips as pictures",
    )
    .await;
    desk.screenshot("slips-manager").await;
    desk.close().await;
}

#[tokio::test]
async fn shift_end_prints_the_handover_slip() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let desk = Desk::launch(Launch::at(data.clone())).await;
    desk.set_pin_and_open_manager("李店长", "246810").await;
    let set = desk
        .invoke(
            "set_cashiers",
            json!({"list": [{"name": "王芳", "pin": null}, {"name": "张伟", "pin": null}]}),
        )
        .await;
    assert!(set.get("error").is_none(), "{set}");
    desk.close().await;

    let desk = Desk::launch(Launch::at(data)).await;
    desk.scan("1", SCANNER).await;
    desk.wait_until(
        "document.body.dataset.ready === 'cashier'",
        QUICK,
        "the cashier screen for 王芳",
    )
    .await;
    redeem(&desk, "679533922928").await;
    print_state(&desk, "printed").await;
    desk.click("[data-testid='end-shift']").await;
    let dir = printer_dir(&desk);
    let text = slip_text(&dir, 2).await;
    for want in [
        "交  班  单",
        "王芳",
        "收呗",
        "合计",
        "￥10.00",
        "未结待确认",
        "撤销",
        "链头",
    ] {
        assert!(
            text.contains(want),
            "{want:?} on the handover slip:\n{text}"
        );
    }
    let png = keep_png(&dir, 2, "slips-handover").await;
    eprintln!("the handover slip as printed: {}", png.display());
    desk.close().await;
}

#[tokio::test]
async fn a_refused_printer_leaves_the_answer_green_with_a_note_and_a_working_reprint() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = Desk::launch(Launch::at(tmp.path().join("data"))).await;
    desk.set_pin_and_open_manager("李店长", "246810").await;
    let virtual_printer = desk.invoke("printer_settings", json!({})).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().to_string();
    drop(closed);
    let mut refused = virtual_printer.clone();
    refused["target"] = json!({"kind": "network", "address": dead});
    let saved = desk
        .invoke("save_printer_settings", json!({"settings": refused}))
        .await;
    assert!(saved.get("error").is_none(), "{saved}");
    desk.scan("\u{E039}", SCANNER).await; // F9 locks and returns to the till
    desk.wait_until(
        "document.body.dataset.screen !== 'manager-log'",
        QUICK,
        "the till again",
    )
    .await;

    redeem(&desk, "679533922928").await;
    let note = print_state(&desk, "failed").await;
    assert_eq!(note, "打印失败，可重打");
    assert_eq!(
        desk.js("return document.getElementById('result-panel').dataset.state")
            .await,
        "succeeded",
        "the redemption stays green"
    );
    desk.screenshot("slips-print-failed").await;

    // The printer is back: the same button reprints, marked 重打.
    let unlocked = desk
        .invoke("manager_unlock", json!({"pin": "246810", "name": "李店长"}))
        .await;
    assert!(unlocked.is_null(), "{unlocked}");
    let saved = desk
        .invoke(
            "save_printer_settings",
            json!({"settings": virtual_printer}),
        )
        .await;
    assert!(saved.get("error").is_none(), "{saved}");
    desk.invoke("manager_lock", json!({})).await;
    desk.click("[data-testid='print-again']").await;
    assert_eq!(print_state(&desk, "printed").await, "已重打");
    let text = slip_text(&printer_dir(&desk), 1).await;
    assert!(text.contains("重打时间"), "the reprint says so:\n{text}");
    keep_png(&printer_dir(&desk), 1, "slips-reprint").await;
    desk.close().await;
}

#[tokio::test]
async fn the_printer_settings_show_the_virtual_printer_and_print_a_test_page() {
    let tmp = tempfile::tempdir().unwrap();
    let desk = Desk::launch(Launch::at(tmp.path().join("data"))).await;
    desk.set_pin_and_open_manager("李店长", "246810").await;
    desk.click("#tab-settings").await;
    desk.wait_until(
        "document.querySelector('[data-testid=settings-pane]')?.dataset.loaded === 'true'",
        QUICK,
        "the settings",
    )
    .await;
    desk.click("[data-testid='set-section-desk']").await;
    desk.wait_until(
        "document.querySelector('[data-testid=set-printer]')?.dataset.loaded === 'true'",
        QUICK,
        "the printer settings",
    )
    .await;
    let address = desk
        .js("return document.querySelector('[data-testid=set-printer-address]').value")
        .await;
    assert!(
        address
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "sandbox mode prints to the virtual printer on loopback: {address}"
    );
    assert_eq!(
        desk.js("return document.querySelector('[data-testid=set-printer-auto]').checked")
            .await,
        true
    );
    desk.click("[data-testid='set-printer-test']").await;
    let text = slip_text(&printer_dir(&desk), 1).await;
    for want in [
        "打  印  测  试  页",
        "58 mm · 32 列",
        "12345678901234567890123456789012",
    ] {
        assert!(text.contains(want), "{want:?} on the test page:\n{text}");
    }
    keep_png(&printer_dir(&desk), 1, "slips-test-page").await;
    desk.screenshot("slips-printer-settings").await;
    desk.close().await;
}
