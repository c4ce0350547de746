//! Issue 20 items 10 and 11: every screen in Chinese, then every screen in English, in the
//! real window, and no string of ours in the other language. "Ours" is every visible text,
//! placeholder, title and label except what the page marks as someone else's
//! (`data-theirs`: a channel's own words, a coupon's name, a code, a person's name) or as
//! deliberately in both languages (`data-bilingual`: the SANDBOX badge, the language
//! switch). Screenshots land in target/e2e/lang-*.png.

use redeemdesk_e2e::{english_words, has_han, Desk, Launch, ENTER, QUICK, SCANNER};
use std::time::Duration;

const F5: &str = "\u{E035}";
const F1: &str = "\u{E031}";
const ESC: &str = "\u{E00C}";
/// 收呗: valid, single use (two of them: one per language), already used, bad character.
const VALID: [&str; 2] = ["679533922928", "679533922935"];
const USED: &str = "679533920011";
/// 收呗: the write-off times out (amber, and it stays in 需处理, so the inbox is walked with
/// a card in it), then one that commits and loses its connection (amber, then resolved).
const CUT: [&str; 2] = ["679533929001", "679533929006"];

/// What is wrong on the screen now: English words in Chinese, Chinese in English.
async fn strays(desk: &Desk, lang: &str) -> Vec<String> {
    desk.our_visible_texts()
        .await
        .into_iter()
        .filter(|s| match lang {
            "zh" => !english_words(s).is_empty(),
            _ => has_han(s),
        })
        .collect()
}

async fn look(desk: &Desk, lang: &str, screen: &str, found: &mut Vec<String>) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    for s in strays(desk, lang).await {
        found.push(format!("{lang} {screen}: {s:?}"));
    }
    desk.screenshot(&format!("lang-{lang}-{screen}")).await;
}

async fn walk(desk: &Desk, lang: &str, first: bool, found: &mut Vec<String>) {
    let i = usize::from(!first);
    look(desk, lang, "idle", found).await;
    desk.scan(&format!("{}{ENTER}", VALID[i]), SCANNER).await;
    desk.wait_preview().await;
    look(desk, lang, "preview", found).await;
    desk.scan(ENTER, SCANNER).await;
    desk.wait_result("succeeded", QUICK).await;
    look(desk, lang, "succeeded", found).await;
    // 收呗 has no look-up before the write-off: the refusal comes after Enter.
    desk.scan_and_redeem(USED, "rejected").await;
    look(desk, lang, "rejected", found).await;
    desk.scan(&format!("6795#3392{ENTER}"), SCANNER).await;
    desk.wait_until(
        "document.getElementById('result-panel').dataset.state === 'malformed' && \
         document.getElementById('result-text').textContent.includes('#')",
        QUICK,
        "the malformed code refused",
    )
    .await;
    look(desk, lang, "malformed", found).await;
    desk.scan(&format!("{}{ENTER}", CUT[i]), SCANNER).await;
    desk.wait_preview().await;
    desk.scan(ENTER, SCANNER).await;
    desk.wait_result("unknown", Duration::from_secs(20)).await;
    look(desk, lang, "unknown", found).await;
    desk.scan(F5, SCANNER).await;
    desk.wait_until(
        "!document.getElementById('sale-form').hidden",
        QUICK,
        "the sale form",
    )
    .await;
    look(desk, lang, "sale", found).await;
    desk.scan(F1, SCANNER).await;
    desk.click("#about-open").await;
    look(desk, lang, "about", found).await;
    desk.scan(ESC, SCANNER).await;
    desk.click("#mode-badge").await;
    desk.wait_until(
        "document.querySelectorAll('#demo-rows tr').length",
        QUICK,
        "the demo codes",
    )
    .await;
    look(desk, lang, "demo-codes", found).await;
    desk.scan(ESC, SCANNER).await;

    if first {
        desk.set_pin_and_open_manager("李店长", "246813").await;
    } else {
        desk.open_manager("李店长", "246813").await;
    }
    for tab in ["log", "inbox", "undo", "reconcile", "settings", "slips"] {
        desk.click(&format!("#tab-{tab}")).await;
        desk.wait_until(
            &format!("document.body.dataset.screen === 'manager-{tab}'"),
            QUICK,
            &format!("the manager's {tab} screen"),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        look(desk, lang, &format!("manager-{tab}"), found).await;
        if tab == "log" {
            desk.click(&format!(
                "#log-table tbody:not([hidden]) tr[data-code='{}'] td.code",
                CUT[i]
            ))
            .await;
            desk.wait_until(
                "document.getElementById('manager-timeline').dataset.loaded === 'true'",
                QUICK,
                "the timeline",
            )
            .await;
            look(desk, lang, "manager-timeline", found).await;
            desk.scan(ESC, SCANNER).await;
        }
        if tab == "reconcile" {
            // A statement with a mismatch of each kind: the evidence is read in words.
            desk.js(
                "const c = document.getElementById('rec-channel'); c.value = 'shoubei'; \
                 c.dispatchEvent(new Event('change')); return 1",
            )
            .await;
            let statement = format!(
                "券码,面值,状态\n{},9.00,已核销\n679533999999,abc,已核销\n679533988888,5.00,已核销\n",
                VALID[i]
            );
            desk.js(&format!(
                "const p = document.getElementById('rec-text'); p.value = {}; \
                 p.dispatchEvent(new Event('change')); return 1",
                serde_json::json!(statement)
            ))
            .await;
            desk.wait_until(
                "document.getElementById('rec-map-code').value === '券码'",
                QUICK,
                "the preselected mapping",
            )
            .await;
            desk.click("#rec-run").await;
            desk.wait_until(
                "document.querySelectorAll('#rec-table tr[data-verdict]').length >= 3",
                QUICK,
                "the report's lines",
            )
            .await;
            look(desk, lang, "manager-reconcile-report", found).await;
        }
        if tab == "settings" {
            for section in ["desk", "people", "general"] {
                desk.click(&format!("[data-testid=set-section-{section}]"))
                    .await;
                desk.wait_until(
                    &format!(
                        "document.querySelector('[data-testid=settings-pane]').dataset.section === '{section}'"
                    ),
                    QUICK,
                    "the settings section",
                )
                .await;
                look(desk, lang, &format!("settings-{section}"), found).await;
            }
            desk.click("[data-testid=set-section-channels]").await;
        }
    }
    desk.click("#tab-log").await; // the manager side opens where it was left
    desk.click("#manager-lock").await;
    desk.wait_until(
        "document.body.dataset.screen === 'capture'",
        QUICK,
        "the till again",
    )
    .await;
}

#[tokio::test]
async fn every_screen_in_chinese_then_in_english_shows_no_string_of_ours_in_the_other() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let desk = Desk::launch(Launch::at(tmp.path().join("data"))).await;
    let mut found = Vec::new();
    walk(&desk, "zh", true, &mut found).await;
    desk.click("#lang-toggle").await;
    walk(&desk, "en", false, &mut found).await;
    desk.close().await;
    assert!(
        found.is_empty(),
        "strings of the other language:\n{}",
        found.join("\n")
    );
}
