//! The CLI end to end: the real binary, `--sandbox` (an in-process emulator on loopback).

use std::process::Command;

fn cli(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_redeemdesk-cli"))
        .args(args)
        .output()
        .expect("the binary runs");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn redeeming_a_valid_sandbox_code_prints_a_success_and_exits_zero() {
    let (status, json, err) = cli(&[
        "redeem",
        "--sandbox",
        "--channel",
        "allinpay",
        "--platform",
        "meituan",
        "--code",
        "594828681117",
        "--count",
        "2",
    ]);
    assert_eq!(status, 0, "a success exits 0: {json} {err}");
    assert_eq!(json["result"]["state"], "succeeded");
    assert_eq!(json["result"]["count"], 2, "two of the three vouchers");
    assert_eq!(
        json["id"].as_str().map(str::len),
        Some(32),
        "our redemption id is printed"
    );
}

#[test]
fn a_refused_code_exits_one_and_says_why() {
    let (status, json, _) = cli(&[
        "redeem",
        "--sandbox",
        "--channel",
        "zvcms",
        "--code",
        "390962138708450011",
    ]);
    assert_eq!(status, 1, "a rejection exits 1");
    assert_eq!(json["result"]["state"], "rejected");
    assert_eq!(json["result"]["message"], "优惠券已使用");
}

#[test]
fn a_preview_shows_a_times_cards_remaining_uses() {
    let (status, json, _) = cli(&[
        "prepare",
        "--sandbox",
        "--channel",
        "liantuofu",
        "--code",
        "914095353294404031",
    ]);
    assert_eq!(status, 0);
    assert_eq!(json["result"]["times_remaining"], 2, "2 of 20 uses left");
}

#[test]
fn without_a_config_or_the_sandbox_it_is_a_usage_error() {
    let (status, _, err) = cli(&["prepare", "--channel", "shoubei", "--code", "679533922928"]);
    assert_eq!(status, 2, "usage errors exit 2");
    assert!(
        err.contains("--config") && err.contains("--sandbox"),
        "the message says what to give: {err}"
    );
}
