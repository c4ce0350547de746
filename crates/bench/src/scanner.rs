//! Benchmark 6, the scanner path in the real UI (issue 7): the release app under Xvfb,
//! driven through WebDriver with the end-to-end harness (crates/e2e). A keyboard-wedge
//! scanner's burst — 60 characters and Enter, 1 ms between keys, in one WebDriver actions
//! call so that the gap is the scanner's — into the cashier screen's capture field, again
//! and again. Per burst: the time from the Enter's keydown (its `event.timeStamp`) to the
//! look-up request leaving the page (`window.__redeemdesk_stats.keyToPrepareMs`, written
//! by ui/api.js), and how many of the 60 characters reached the look-up
//! (`lastRawCode`). Every burst is a different code, so no burst is a double read.

use redeemdesk_e2e::{Desk, Launch};
use serde_json::Value;
use std::time::{Duration, Instant};

const BURST_LEN: usize = 60;
const PER_KEY: Duration = Duration::from_millis(1);
const ENTER: &str = "\u{E007}";
/// 智迈 (zvcms), the channel the cashier tests send their 60-character burst to (F2).
const CHANNEL_KEY: &str = "\u{E032}";
/// Bursts before the measured ones, so the page's first-call costs (JIT, first IPC) are
/// not counted as a scanner's latency.
const WARMUP: usize = 2;
/// Past this without a look-up the Enter is counted as lost.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Burst {
    pub enter_to_prepare_ms: Option<f64>,
    pub chars_lost: usize,
}

pub struct Result {
    pub bursts: Vec<Burst>,
    /// The step of the page's clock (`performance.now()`), ms: WebKit coarsens it, so a
    /// latency below one step reads 0.
    pub clock_step_ms: f64,
}

/// A different 60-digit code per burst: a fixed linear congruential sequence, so every run
/// types the same codes.
fn code(i: usize) -> String {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ (i as u64 + 1);
    (0..BURST_LEN)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'0' + ((x >> 33) % 10) as u8)
        })
        .collect()
}

/// Characters of `sent` that did not arrive in order in `got`: the length of `sent` minus
/// the longest common subsequence.
pub fn lost(sent: &str, got: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (sent.chars().collect(), got.chars().collect());
    let mut row = vec![0usize; b.len() + 1];
    for &ca in &a {
        let mut diag = 0;
        for (j, &cb) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if ca == cb { diag + 1 } else { up.max(row[j]) };
            diag = up;
        }
    }
    a.len() - row[b.len()]
}

pub async fn run(bursts: usize) -> Result {
    let tmp = tempfile::tempdir().expect("temp dir");
    let desk = Desk::launch(Launch::at(tmp.path().join("data"))).await;
    let clock_step_ms = desk
        .js("let a = performance.now(), b = a; \
             while (b === a) b = performance.now(); \
             return b - a;")
        .await
        .as_f64()
        .unwrap_or(f64::NAN);
    desk.scan(CHANNEL_KEY, PER_KEY).await;
    let mut out = Vec::new();
    for i in 0..WARMUP + bursts {
        let b = burst(&desk, &code(i)).await;
        if i >= WARMUP {
            eprintln!(
                "  burst {}: Enter → prepare {:?} ms, {} lost",
                i - WARMUP + 1,
                b.enter_to_prepare_ms,
                b.chars_lost
            );
            out.push(b);
        }
    }
    desk.close().await;
    Result {
        bursts: out,
        clock_step_ms,
    }
}

async fn stats(desk: &Desk) -> Value {
    desk.js("return window.__redeemdesk_stats").await
}

async fn burst(desk: &Desk, code: &str) -> Burst {
    let before = stats(desk).await["prepare"].as_u64().unwrap_or(0);
    desk.scan(&format!("{code}{ENTER}"), PER_KEY).await;
    let deadline = Instant::now() + LOOKUP_TIMEOUT;
    let seen = loop {
        let s = stats(desk).await;
        if s["prepare"].as_u64().unwrap_or(0) > before {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let Some(seen) = seen else {
        // The Enter never arrived: nothing of the burst reached a look-up. Empty the field
        // so the next burst starts clean.
        desk.js("document.getElementById('code-input').value = ''; return true")
            .await;
        return Burst {
            enter_to_prepare_ms: None,
            chars_lost: BURST_LEN,
        };
    };
    // Let the look-up answer before the next burst, as a cashier waits for the screen.
    desk.wait_until(
        "document.getElementById('result-panel').dataset.state !== 'busy'",
        LOOKUP_TIMEOUT,
        "the look-up to answer",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    Burst {
        enter_to_prepare_ms: seen["keyToPrepareMs"]
            .as_array()
            .and_then(|v| v.last())
            .and_then(Value::as_f64),
        chars_lost: lost(code, seen["lastRawCode"].as_str().unwrap_or_default()),
    }
}

pub fn markdown(r: &Result) -> String {
    let mut ms: Vec<f64> = r
        .bursts
        .iter()
        .filter_map(|b| b.enter_to_prepare_ms)
        .collect();
    ms.sort_by(f64::total_cmp);
    let lost: usize = r.bursts.iter().map(|b| b.chars_lost).sum();
    let no_lookup = r
        .bursts
        .iter()
        .filter(|b| b.enter_to_prepare_ms.is_none())
        .count();
    let latency = if ms.is_empty() {
        "no burst reached a look-up".to_owned()
    } else {
        let s = crate::stats::range(&ms);
        format!(
            "median {:.2} ms, max {:.2} ms (min {:.2} ms, {} bursts)",
            s.median, s.max, s.min, s.runs
        )
    };
    format!(
        "## 6. The scanner path in the real UI\n\n\
         The release app under Xvfb, driven through WebDriver (tauri-driver, the end-to-end \
         harness of `crates/e2e`). {} bursts, each a different {BURST_LEN}-digit code and \
         Enter at {} ms per key in one WebDriver actions call, into the cashier screen's \
         capture field (智迈), after {WARMUP} unmeasured bursts; each look-up is answered \
         before the next burst. Enter → prepare request is from the Enter's keydown \
         (`event.timeStamp`) to the look-up leaving the page (`ui/api.js`, \
         `window.__redeemdesk_stats.keyToPrepareMs`); characters lost compare what was typed \
         with what reached the look-up (`lastRawCode`). The page's clock moves in steps of \
         {:.3} ms, so a latency under one step reads 0.\n\n\
         | what | result |\n|---|---|\n\
         | Enter → prepare request | {latency} |\n\
         | characters lost | **{lost}** of {} typed |\n\
         | bursts whose Enter never reached a look-up | {no_lookup} |\n",
        r.bursts.len(),
        PER_KEY.as_millis(),
        r.clock_step_ms,
        r.bursts.len() * BURST_LEN,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_counts_what_did_not_arrive_in_order() {
        assert_eq!(lost("123456", "123456"), 0);
        assert_eq!(lost("123456", "12456"), 1);
        assert_eq!(lost("123456", ""), 6);
        assert_eq!(
            lost("123456", "1234567"),
            0,
            "an extra character loses none"
        );
        assert_eq!(lost("123456", "213456"), 1, "a swap loses one");
    }

    #[test]
    fn every_burst_is_a_different_code_of_sixty_digits() {
        let codes: Vec<String> = (0..50).map(code).collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == BURST_LEN && c.bytes().all(|b| b.is_ascii_digit())));
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
    }
}
