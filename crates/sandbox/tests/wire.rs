//! The wire format. Part 1 (this file's tests) talks to
//! the sandbox over loopback with hand-built requests signed by the core's own signing
//! functions: documented answer shapes, signature checks, state, replay and faults.
//! Part 2 (`contract`) runs one list of scenarios through the real core clients.

#[path = "contract/mod.rs"]
mod contract;

use redeemdesk_core::channel::zvcms::TokenNaming;
use redeemdesk_core::channel::{allinpay, liantuofu, shoubei, yhtd, zvcms, ChannelKind};
use redeemdesk_core::clock::ManualClock;
use redeemdesk_core::money::Fen;
use redeemdesk_sandbox::reading::{AllinpayShape, AllinpaySign, YhtdResend, ZvcmsReading};
use redeemdesk_sandbox::{
    Fault, FaultRule, Operation, Readings, RunningSandbox, Sandbox, SandboxOptions,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// 2026-11-22 10:00:00 +08:00.
pub const NOW_MS: i64 = 1_795_312_800_000;

pub async fn start() -> (RunningSandbox, Arc<ManualClock>) {
    start_with_delay(Duration::from_secs(3)).await
}

pub async fn start_with_delay(fault_delay: Duration) -> (RunningSandbox, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let sandbox = Sandbox::start(SandboxOptions {
        clock: clock.clone(),
        fault_delay,
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts on a free loopback port");
    (sandbox, clock)
}

fn http() -> reqwest::Client {
    http_with(Duration::from_secs(10))
}

/// A raw client from outside the desk, as a channel's other callers would be: these tests
/// hold the emulator's wire format, not the desk's HTTP policy (channel/http.rs).
#[allow(clippy::disallowed_methods)]
fn http_with(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

async fn post_json(url: &str, body: &Value) -> (u16, String) {
    let r = http()
        .post(url)
        .json(body)
        .send()
        .await
        .expect("the sandbox answers");
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_form(url: &str, form: &BTreeMap<String, String>) -> (u16, String) {
    let r = http()
        .post(url)
        .form(form)
        .send()
        .await
        .expect("the sandbox answers");
    (r.status().as_u16(), r.text().await.unwrap())
}

fn parse(body: &str) -> Map<String, Value> {
    match serde_json::from_str(body) {
        Ok(Value::Object(m)) => m,
        _ => panic!("expected a JSON object, got {body:?}"),
    }
}

// ------------------------------------------------------------------ request builders

/// A signed 收呗 request body.
fn shoubei_body(
    sb: &RunningSandbox,
    code: &str,
    trace: Option<&str>,
    key: &str,
) -> Map<String, Value> {
    let c = &sb.demo().shoubei;
    let mut m = Map::new();
    m.insert("inst_no".into(), json!(c.inst_no));
    m.insert("merchant_no".into(), json!(c.merchant_no));
    m.insert("shop_no".into(), json!(c.shop_no));
    if let Some(t) = trace {
        m.insert("wf_trace_no".into(), json!(t));
    }
    m.insert("ts".into(), json!("20261122100000"));
    m.insert("coupon_code".into(), json!(code));
    m.insert("amount".into(), json!("1000"));
    m.insert("exc_discount_flag".into(), json!("0"));
    let sign = shoubei::sign(&m, key);
    m.insert("sign".into(), json!(sign));
    m
}

async fn shoubei_call(
    sb: &RunningSandbox,
    path: &str,
    code: &str,
    trace: Option<&str>,
) -> Map<String, Value> {
    let body = shoubei_body(sb, code, trace, &sb.demo().shoubei.key);
    let url = format!(
        "{}/openpay/coupon/{path}",
        sb.base_url(ChannelKind::Shoubei)
    );
    let (status, text) = post_json(&url, &Value::Object(body)).await;
    assert_eq!(status, 200, "收呗 answers 200: {text}");
    let answer = parse(&text);
    assert!(
        shoubei::verify(&answer, &sb.demo().shoubei.key),
        "every 收呗 answer is signed with the institution key: {text}"
    );
    answer
}

fn zvcms_envelope(
    sb: &RunningSandbox,
    action: &str,
    params: Value,
    secret: &str,
    nonce: &str,
) -> Value {
    let c = &sb.demo().zvcms;
    let ts = "1795312800";
    let token = zvcms::token(
        secret,
        &c.open_id,
        &c.grant_code,
        ts,
        nonce,
        TokenNaming::LowerCamel,
    );
    json!({
        "OpenId": c.open_id, "GrantCode": c.grant_code, "Token": token,
        "Timestamp": ts, "Nonce": nonce, "Action": action, "Params": params,
    })
}

static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1000);

fn fresh_nonce() -> String {
    NONCE
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        .to_string()
}

async fn zvcms_call(sb: &RunningSandbox, action: &str, params: Value) -> Map<String, Value> {
    let env = zvcms_envelope(sb, action, params, &sb.demo().zvcms.secret, &fresh_nonce());
    let url = format!("{}/api/v2", sb.base_url(ChannelKind::Zvcms));
    let (status, text) = post_json(&url, &env).await;
    assert_eq!(status, 200, "zvcms answers 200: {text}");
    parse(&text)
}

fn zvcms_redeem_params(code: &str, biz_id: &str, use_count: Option<u32>) -> Value {
    json!({
        "bizId": biz_id, "channel": "", "customerId": "", "groupId": "",
        "couponsCardList": [code], "type": 1,
        "ext": {"channelType": 3, "multiStoreId": "", "multiStoreMark": "MS0001", "orderNo": "", "reason": ""},
        "useCount": use_count.map(|n| json!(n)).unwrap_or(json!("")),
        "tradeMarks": "", "amount": "", "orderAmount": "",
    })
}

fn liantuofu_form(
    sb: &RunningSandbox,
    extra: &[(&str, &str)],
    key: &str,
) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert("appId".to_owned(), sb.demo().liantuofu.app_id.clone());
    p.insert("random".to_owned(), "12345678".to_owned());
    for (k, v) in extra {
        p.insert((*k).to_owned(), (*v).to_owned());
    }
    let sign = liantuofu::sign(&p, key);
    p.insert("sign".to_owned(), sign);
    p
}

async fn liantuofu_call(
    sb: &RunningSandbox,
    path: &str,
    extra: &[(&str, &str)],
) -> Map<String, Value> {
    let form = liantuofu_form(sb, extra, &sb.demo().liantuofu.key);
    let url = format!(
        "{}/open/timescard/{path}",
        sb.base_url(ChannelKind::Liantuofu)
    );
    let (status, text) = post_form(&url, &form).await;
    assert_eq!(status, 200, "联拓富 answers 200: {text}");
    parse(&text)
}

fn consume_form(sb: &RunningSandbox, card: &str, count: &str) -> BTreeMap<String, String> {
    let merchant = sb.demo().liantuofu.merchant_code.clone();
    liantuofu_form(
        sb,
        &[
            ("cardNo", card),
            ("count", count),
            ("consumeSource", "1"),
            ("consumeMerchantCode", &merchant),
            ("remark", "pos"),
        ],
        &sb.demo().liantuofu.key,
    )
}

fn allinpay_form(
    sb: &RunningSandbox,
    method: &str,
    biz: Value,
    req_seq: &str,
    key: &rsa::RsaPrivateKey,
) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    for (k, v) in [
        ("appId", sb.demo().allinpay.app_id.as_str()),
        ("method", method),
        ("charset", "UTF-8"),
        ("format", "JSON"),
        ("signType", "RSA2"),
        ("timestamp", "2026-11-22 10:00:00"),
        ("version", "1.0"),
        ("reqSeq", req_seq),
    ] {
        p.insert(k.to_owned(), v.to_owned());
    }
    p.insert("bizContent".to_owned(), biz.to_string());
    let sign = allinpay::sign(&p, key);
    p.insert("sign".to_owned(), sign);
    p
}

/// Calls the allinpay gateway and checks the answer's RSA2 signature.
async fn allinpay_call(
    sb: &RunningSandbox,
    method: &str,
    biz: Value,
    req_seq: &str,
) -> Map<String, Value> {
    let form = allinpay_form(
        sb,
        method,
        biz,
        req_seq,
        &sb.demo().allinpay_keys.merchant_private,
    );
    let url = format!("{}/gateway", sb.base_url(ChannelKind::Allinpay));
    let (status, text) = post_form(&url, &form).await;
    assert_eq!(status, 200, "the gateway answers 200: {text}");
    assert!(
        allinpay::verify_response(&text, &sb.demo().allinpay_keys.platform_public),
        "every gateway answer verifies with the platform public key: {text}"
    );
    parse(&text)
}

const PREPARE: &str = "allinpay.shopoint.thirdCouponService.prepare";
const CONSUME: &str = "allinpay.shopoint.thirdCouponService.consume";
const HISTORY: &str = "allinpay.shopoint.thirdCouponService.verifyHistory";

/// Sends raw bytes and reads until the server closes: `Ok(bytes)` or the read error kind.
async fn raw_exchange(
    sb: &RunningSandbox,
    request: Vec<u8>,
) -> Result<Vec<u8>, std::io::ErrorKind> {
    let mut stream = tokio::net::TcpStream::connect(sb.addr()).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut out = Vec::new();
    match tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await {
        Ok(Ok(_)) => Ok(out),
        Ok(Err(e)) => Err(e.kind()),
        Err(_) => panic!("the sandbox neither answered nor closed within 10 s"),
    }
}

fn raw_json_post(sb: &RunningSandbox, path: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sb.addr(),
        body.len()
    )
    .into_bytes()
}

// ------------------------------------------------------------------ 收呗

#[tokio::test]
async fn shoubei_redeems_a_valid_coupon_with_a_signed_answer_in_the_documented_shape() {
    let (sb, _) = start().await;
    let a = shoubei_call(
        &sb,
        "wf",
        "679533922928",
        Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
    )
    .await;
    assert_eq!(
        a["result_code"], "SUCCESS",
        "the decision is in result_code: {a:?}"
    );
    assert_eq!(a["return_code"], "SUCCESS");
    assert_eq!(a["codes"], "679533922928");
    assert_eq!(a["amount"], "1000", "face value in fen, as text");
    assert!(
        a.get("settle_amount").or(a.get("settleAmount")) == Some(&json!("990")),
        "settle amount under one of its two spellings: {a:?}"
    );
    assert!(
        a["order_no"].as_str().is_some_and(|o| o.len() == 24),
        "a write-off record number"
    );
    assert_eq!(
        sb.ground_truth()
            .uses_of(ChannelKind::Shoubei, "679533922928"),
        1
    );
}

#[tokio::test]
async fn shoubei_refunded_coupon_fails_with_the_seeds_own_answer() {
    let (sb, _) = start().await;
    let a = shoubei_call(&sb, "wf", "679533920028", Some("a1")).await;
    assert_eq!(
        a["return_code"], "0205",
        "the seed's example: 0205 券码已退款"
    );
    assert_eq!(a["return_msg"], "券码已退款");
    assert_eq!(a["result_code"], "FAIL");
    assert!(
        a["order_no"].is_null() && a["amount"].is_null() && a["settleAmount"].is_null(),
        "nulls as in the seed"
    );
    for (code, rc) in [
        ("679533920011", "0202"),
        ("679533920035", "0203"),
        ("000000000000", "0201"),
    ] {
        let a = shoubei_call(&sb, "wf", code, None).await;
        assert_eq!(
            (a["result_code"].as_str(), a["return_code"].as_str()),
            (Some("FAIL"), Some(rc)),
            "{code}"
        );
    }
    assert!(
        sb.ground_truth().consumptions.is_empty(),
        "a refusal consumes nothing"
    );
}

#[tokio::test]
async fn shoubei_repeated_trace_number_replays_the_original_answer_and_consumes_once() {
    let (sb, _) = start().await;
    let body = Value::Object(shoubei_body(
        &sb,
        "679533922935",
        Some("trace-1"),
        &sb.demo().shoubei.key,
    ));
    let url = format!("{}/openpay/coupon/wf", sb.base_url(ChannelKind::Shoubei));
    let first = post_json(&url, &body).await;
    let second = post_json(&url, &body).await;
    assert_eq!(
        first, second,
        "a repeated wf_trace_no gets the original bytes back"
    );
    assert_eq!(
        sb.ground_truth()
            .uses_of(ChannelKind::Shoubei, "679533922935"),
        1,
        "and consumes once"
    );
    let other = shoubei_call(&sb, "wf", "679533922928", Some("trace-1")).await;
    assert_eq!(
        other["result_code"], "FAIL",
        "the same trace number for another code is refused"
    );
}

#[tokio::test]
async fn shoubei_wrong_key_gets_a_signature_error_without_result_code() {
    let (sb, _) = start().await;
    let body = shoubei_body(
        &sb,
        "679533922928",
        Some("t"),
        "00000000000000000000000000000000",
    );
    let url = format!("{}/openpay/coupon/wf", sb.base_url(ChannelKind::Shoubei));
    let (_, text) = post_json(&url, &Value::Object(body)).await;
    let a = parse(&text);
    assert_eq!(a["return_code"], "FAIL");
    assert!(
        a.get("sign").is_none(),
        "answered before authentication: unsigned"
    );
    assert!(
        a["return_msg"].as_str().unwrap().contains("签名"),
        "the message names the signature: {text}"
    );
    assert!(
        a.get("result_code").is_none(),
        "no business result for a bad signature"
    );
    assert!(
        sb.ground_truth().consumptions.is_empty(),
        "nothing consumed"
    );
}

#[tokio::test]
async fn shoubei_query_finds_the_record_and_cancel_undoes_it() {
    let (sb, _) = start().await;
    let trace = "5f7c0d3e0b8a4a8f9d1c2b3a4f5e6d7c";
    let missing = shoubei_call(&sb, "quary", "679533922928", Some(trace)).await;
    assert_eq!(
        missing["result_code"], "FAIL",
        "no record under an unused trace number"
    );
    let redeemed = shoubei_call(&sb, "wf", "679533922928", Some(trace)).await;
    let found = shoubei_call(&sb, "quary", "679533922928", Some(trace)).await;
    assert_eq!(
        found["result_code"], "SUCCESS",
        "quary finds the record by wf_trace_no"
    );
    assert_eq!(found["order_no"], redeemed["order_no"], "the same record");
    let cancelled = shoubei_call(&sb, "cancel", "679533922928", Some(trace)).await;
    assert_eq!(cancelled["result_code"], "SUCCESS");
    let again = shoubei_call(&sb, "cancel", "679533922928", Some(trace)).await;
    assert_eq!(again["result_code"], "FAIL", "a record is cancelled once");
    let after = shoubei_call(&sb, "quary", "679533922928", Some(trace)).await;
    assert_eq!(
        after["result_code"], "FAIL",
        "a cancelled record no longer counts"
    );
    assert_eq!(
        sb.uses_left(ChannelKind::Shoubei, "679533922928"),
        Some(1),
        "the coupon is usable again"
    );
}

#[tokio::test]
async fn shoubei_soda_coupon_is_refused_after_an_independent_discount() {
    let (sb, _) = start().await;
    let mut body = shoubei_body(&sb, "679533920059", None, "x");
    body.insert("exc_discount_flag".into(), json!("1"));
    body.remove("sign");
    let sign = shoubei::sign(&body, &sb.demo().shoubei.key);
    body.insert("sign".into(), json!(sign));
    let url = format!("{}/openpay/coupon/wf", sb.base_url(ChannelKind::Shoubei));
    let a = parse(&post_json(&url, &Value::Object(body)).await.1);
    assert_eq!(
        a["result_code"], "FAIL",
        "苏打优选 with exc_discount_flag=1 is refused (seed 001)"
    );
}

// ------------------------------------------------------------------ 智迈

#[tokio::test]
async fn zvcms_redeems_a_write_off_code_with_the_seeds_quirks() {
    let (sb, _) = start().await;
    let a = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708451328", "biz-1", None),
    )
    .await;
    assert_eq!(
        a["status"],
        json!("true"),
        "status as the string \"true\": {a:?}"
    );
    assert_eq!(a["code"], json!("0"), "code as the string \"0\"");
    let data = a["data"].as_object().unwrap();
    assert!(
        data["bizId"].is_u64(),
        "the answer's bizId is an integer: {data:?}"
    );
    assert!(
        data["bizId"].as_u64().unwrap() > 1 << 53,
        "beyond f64's exact range, on purpose"
    );
    assert_eq!(
        data["cardIdList"],
        json!("[390962138708451328]"),
        "a string holding a list"
    );
    assert_eq!(
        data["userInfo"]["customer_id"],
        json!(""),
        "ints sent as empty strings"
    );
    let used = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708451328", "biz-2", None),
    )
    .await;
    assert_eq!(
        used["status"],
        json!(true),
        "a business refusal has status true…"
    );
    assert_ne!(used["code"], json!("0"), "…and a non-zero code");
}

#[tokio::test]
async fn zvcms_preview_shows_status_validity_and_remaining_uses() {
    let (sb, _) = start().await;
    let p = zvcms_call(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708450042"}),
    )
    .await;
    let d = &p["data"];
    assert_eq!(
        (d["status"].as_i64(), d["remain_count"].as_u64()),
        (Some(0), Some(5)),
        "{p:?}"
    );
    assert_eq!(d["coupon"]["title"], "洗车次券(5次)");
    assert!(d["end_at"].is_i64(), "validity in Unix seconds");
    let a = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708450042", "b3", Some(2)),
    )
    .await;
    assert_eq!(a["code"], json!("0"), "2 of 5 uses: {a:?}");
    let over = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708450042", "b4", Some(4)),
    )
    .await;
    assert_eq!(
        over["code"],
        json!("120105"),
        "4 asked of 3 left is refused: {over:?}"
    );
    let p = zvcms_call(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708450042"}),
    )
    .await;
    assert_eq!(p["data"]["remain_count"], json!(3));
    let locked = zvcms_call(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708450028"}),
    )
    .await;
    assert_eq!(locked["data"]["status"], json!(2), "locked is status 2");
    let discount = zvcms_call(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708451335"}),
    )
    .await;
    assert_eq!(
        (
            discount["data"]["coupon"]["amount"].as_str(),
            discount["data"]["coupon"]["coupon_type"].as_i64()
        ),
        (Some("8.5"), Some(1))
    );
    let single = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708451328", "b5", None),
    )
    .await;
    assert_eq!(single["code"], json!("0"));
    let p = zvcms_call(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708451328"}),
    )
    .await;
    assert_eq!(
        p["data"]["status"],
        json!(1),
        "status 1 once used: this is how an Unknown is resolved"
    );
}

#[tokio::test]
async fn zvcms_refuses_a_wrong_secret_and_a_replayed_nonce() {
    let (sb, _) = start().await;
    let url = format!("{}/api/v2", sb.base_url(ChannelKind::Zvcms));
    let bad = zvcms_envelope(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708451328"}),
        "wrong-secret",
        "77",
    );
    let a = parse(&post_json(&url, &bad).await.1);
    assert_eq!(
        (a["status"].as_bool(), a["code"].as_str()),
        (Some(false), Some("110004")),
        "{a:?}"
    );
    assert!(a["message"].as_str().unwrap().contains("验签"));
    let good = zvcms_envelope(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708451328"}),
        &sb.demo().zvcms.secret,
        "78",
    );
    let first = parse(&post_json(&url, &good).await.1);
    assert_eq!(first["code"], json!(0));
    let replayed = parse(&post_json(&url, &good).await.1);
    assert_eq!(
        replayed["code"],
        json!("110007"),
        "the same Nonce and Timestamp twice is a replay"
    );
}

#[tokio::test]
async fn zvcms_repeated_biz_id_replays_the_original_answer() {
    let (sb, _) = start().await;
    let first = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708450059", "same-biz", None),
    )
    .await;
    let second = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708450059", "same-biz", None),
    )
    .await;
    assert_eq!(first, second, "same bizId, same answer");
    assert_eq!(first["code"], json!("0"));
    assert_eq!(
        sb.ground_truth()
            .uses_of(ChannelKind::Zvcms, "390962138708450059"),
        1,
        "consumed once"
    );
}

#[tokio::test]
async fn zvcms_without_type_1_needs_the_member() {
    let (sb, _) = start().await;
    let mut params = zvcms_redeem_params("390962138708451328", "b", None);
    params["type"] = json!("");
    params["couponsCardList"] = json!("[390962138708451328]");
    let a = zvcms_call(&sb, "communal.user.coupons-vertify", params).await;
    assert_eq!(
        a["code"],
        json!("120003"),
        "user coupon ids need customerId (seed 002): {a:?}"
    );
}

// ------------------------------------------------------------------ 联拓富

#[tokio::test]
async fn liantuofu_shows_remaining_uses_and_consumes_again_without_an_idempotency_key() {
    let (sb, _) = start().await;
    let card = "914095353294404024";
    let d = liantuofu_call(&sb, "userTimesCardDetail", &[("cardNo", card)]).await;
    assert_eq!(d["code"], "SUCCESS");
    assert_eq!(d["suplusTimes"], json!(10), "the vendor's spelling");
    assert_eq!(d["cardName"], "游泳次卡(10次)");
    assert_eq!(d["endDate"], "2030-12-31 23:59:59");
    let url = format!(
        "{}/open/timescard/userTimesCardConsume",
        sb.base_url(ChannelKind::Liantuofu)
    );
    let form = consume_form(&sb, card, "3");
    let first = parse(&post_form(&url, &form).await.1);
    let second = parse(&post_form(&url, &form).await.1);
    assert_eq!(
        (first["code"].as_str(), second["code"].as_str()),
        (Some("SUCCESS"), Some("SUCCESS"))
    );
    let d = liantuofu_call(&sb, "userTimesCardDetail", &[("cardNo", card)]).await;
    assert_eq!(
        d["suplusTimes"],
        json!(4),
        "the same request twice consumed twice: 10 − 3 − 3"
    );
    let over = parse(&post_form(&url, &consume_form(&sb, card, "5")).await.1);
    assert_eq!(
        (over["code"].as_str(), over["msg"].as_str()),
        (Some("FAILED"), Some("剩余次数不足")),
        "the seed's own failure"
    );
}

#[tokio::test]
async fn liantuofu_refuses_a_wrong_key_and_a_non_digit_random() {
    let (sb, _) = start().await;
    let url = format!(
        "{}/open/timescard/userTimesCardDetail",
        sb.base_url(ChannelKind::Liantuofu)
    );
    let bad = liantuofu_form(&sb, &[("cardNo", "914095353294404024")], "wrong");
    let a = parse(&post_form(&url, &bad).await.1);
    assert_eq!(
        (a["code"].as_str(), a["msg"].as_str()),
        (Some("FAILED"), Some("签名错误"))
    );
    let mut odd = BTreeMap::new();
    odd.insert("appId".to_owned(), sb.demo().liantuofu.app_id.clone());
    odd.insert("random".to_owned(), "liantuo123".to_owned());
    odd.insert("cardNo".to_owned(), "914095353294404024".to_owned());
    let sign = liantuofu::sign(&odd, &sb.demo().liantuofu.key);
    odd.insert("sign".to_owned(), sign);
    let a = parse(&post_form(&url, &odd).await.1);
    assert_eq!(
        a["code"], "FAILED",
        "random must be digits (the seed's example would be refused)"
    );
}

#[tokio::test]
async fn liantuofu_refunded_and_expired_cards_are_refused() {
    let (sb, _) = start().await;
    let url = format!(
        "{}/open/timescard/userTimesCardConsume",
        sb.base_url(ChannelKind::Liantuofu)
    );
    let expired = parse(
        &post_form(&url, &consume_form(&sb, "914095353294400025", "1"))
            .await
            .1,
    );
    assert_eq!(expired["msg"], "次卡已过期");
    let refunded = parse(
        &post_form(&url, &consume_form(&sb, "914095353294400032", "1"))
            .await
            .1,
    );
    assert_eq!(refunded["msg"], "次卡已退卡");
    assert!(sb.ground_truth().consumptions.is_empty());
}

// ------------------------------------------------------------------ 通联

#[tokio::test]
async fn allinpay_prepare_answers_each_platform_in_its_documented_shape() {
    let (sb, _) = start().await;
    let mt = allinpay_call(
        &sb,
        PREPARE,
        json!({"type": "meituan", "couponNo": "594828681117", "shopId": "147"}),
        "p1",
    )
    .await;
    assert_eq!(mt["code"], json!("0"), "code as a string: {mt:?}");
    let d = &mt["data"];
    assert_eq!(
        d["couponValue"],
        json!("90"),
        "couponValue a string in 元 in prepare"
    );
    assert_eq!(
        d["initAmount"],
        json!(3),
        "initAmount is the redeemable count"
    );
    assert_eq!(d["meiTuan"]["count"], json!(3));
    assert_eq!(
        d["meiTuan"]["dealPrice"],
        json!(66),
        "Bigdecimal in 元 as a number"
    );
    let mtdz = allinpay_call(
        &sb,
        PREPARE,
        json!({"type": "mtdz", "couponNo": "694828681100", "shopId": 147}),
        "p2",
    )
    .await;
    assert_eq!(mtdz["data"]["couponName"], "0.1团10百货券");
    assert_eq!(
        mtdz["data"]["couponBuyPrice"],
        json!("0.1"),
        "the seed's example"
    );
    assert_eq!(
        mtdz["data"]["validityBeginDate"],
        json!(""),
        "empty strings for absent dates"
    );
    assert!(mtdz["data"]["mtdz"].is_object(), "keyed mtdz");
    let dp = allinpay_call(
        &sb,
        PREPARE,
        json!({"type": "dianping", "couponNo": "730512846629", "shopId": "147"}),
        "p3",
    )
    .await;
    assert!(
        dp["data"]["mtdz"].is_object() && dp["data"].get("dianPing").is_none(),
        "点评 is keyed mtdz too, not dianPing"
    );
    let tt = allinpay_call(
        &sb,
        PREPARE,
        json!({"type": "tiktok", "couponNo": "802436197254310", "shopId": "147"}),
        "p4",
    )
    .await;
    let certs = tt["data"]["tikTok"]["tiktokCertificateList"]
        .as_array()
        .unwrap();
    assert_eq!(certs.len(), 3, "a Douyin voucher with several certificates");
    assert_eq!(
        tt["data"]["initAmount"],
        json!(3),
        "one use per certificate"
    );
    assert_eq!(
        certs[0]["sku"]["marketPrice"],
        json!("29800"),
        "marketPrice in 分 as text"
    );
    let link = allinpay_call(
        &sb,
        PREPARE,
        json!({"type": "tiktok", "couponNo": "https://v.douyin.com/iRNBm6Yq/", "shopId": "147"}),
        "p5",
    )
    .await;
    assert_eq!(
        link["code"],
        json!("0"),
        "a short link is a code, never truncated"
    );
    let wrong = allinpay_call(
        &sb,
        PREPARE,
        json!({"type": "tiktok", "couponNo": "594828681117", "shopId": "147"}),
        "p6",
    )
    .await;
    assert_eq!(
        wrong["code"],
        json!("3"),
        "a Meituan code asked as Douyin is not found"
    );
    for (code, msg) in [
        ("594828680011", "券码已核销"),
        ("594828680028", "券码已退款"),
        ("594828680035", "券码已过期"),
    ] {
        let a = allinpay_call(
            &sb,
            PREPARE,
            json!({"type": "meituan", "couponNo": code, "shopId": "147"}),
            "p7",
        )
        .await;
        assert_eq!(
            (a["code"].as_str(), a["msg"].as_str()),
            (Some("3"), Some(msg)),
            "{code}"
        );
    }
}

#[tokio::test]
async fn allinpay_consume_replays_a_repeated_order_id_and_history_lists_the_day() {
    let (sb, clock) = start().await;
    let biz = json!({"type": "meituan", "orderId": "order-1", "couponNo": "594828681117", "num": 2, "shopId": "147", "operUserId": "wangfang", "remark": ""});
    let first = allinpay_call(&sb, CONSUME, biz.clone(), "order-1").await;
    assert_eq!(first["code"], json!("0"), "{first:?}");
    assert_eq!(
        first["data"]["couponValue"],
        json!(180),
        "couponValue a number in consume (2 × 90 元)"
    );
    assert_eq!(
        first["data"]["consumeTime"], "2026-11-22 10:00:00",
        "+08:00 time"
    );
    let again = allinpay_call(&sb, CONSUME, biz, "order-1").await;
    assert_eq!(first, again, "a repeated orderId gets the original answer");
    assert_eq!(
        sb.uses_left(ChannelKind::Allinpay, "594828681117"),
        Some(1),
        "consumed once"
    );
    let over = allinpay_call(&sb, CONSUME, json!({"type": "meituan", "orderId": "order-2", "couponNo": "594828681117", "num": 2, "shopId": "147"}), "order-2").await;
    assert_eq!(over["code"], json!("3"), "2 asked of 1 left");
    let tiktok = allinpay_call(&sb, CONSUME, json!({"type": "tiktok", "orderId": "order-3", "couponNo": "802436197254310", "num": 2, "shopId": "147",
        "tiktokCertificateList": [{"certificateId": "7301284619204573184", "num": 1}, {"certificateId": "7301284619204573186", "num": 1}]}), "order-3").await;
    assert_eq!(tiktok["code"], json!("0"), "{tiktok:?}");
    assert_eq!(
        sb.uses_left(ChannelKind::Allinpay, "802436197254310"),
        Some(1),
        "one certificate left"
    );
    // 23:59 on the 22nd (+08:00) is still the 22nd; 00:30 on the 23rd is not.
    clock.set_ms(NOW_MS + 14 * 3_600_000 - 60_000);
    allinpay_call(&sb, CONSUME, json!({"type": "mtdz", "orderId": "order-4", "couponNo": "694828681100", "num": 1, "shopId": "147"}), "order-4").await;
    clock.set_ms(NOW_MS + 14 * 3_600_000 + 1_800_000);
    allinpay_call(&sb, CONSUME, json!({"type": "dianping", "orderId": "order-5", "couponNo": "730512846629", "num": 1, "shopId": "147"}), "order-5").await;
    let h = allinpay_call(
        &sb,
        HISTORY,
        json!({"shopId": "147", "date": "2026-11-22", "pageNo": 1, "pageSize": 2}),
        "h1",
    )
    .await;
    assert_eq!(
        h["data"]["total"],
        json!(3),
        "three consumptions on the 22nd in +08:00: {h:?}"
    );
    let lines = h["data"]["couponVerifyHistoryList"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "a page of 2");
    assert_eq!(lines[0]["couponCode"], "594828681117");
    assert_eq!(lines[0]["verifyAcct"], "wangfang");
    let page2 = allinpay_call(
        &sb,
        HISTORY,
        json!({"shopId": "147", "date": "2026-11-22", "pageNo": 2, "pageSize": 2}),
        "h2",
    )
    .await;
    assert_eq!(
        page2["data"]["couponVerifyHistoryList"][0]["couponCode"],
        "694828681100"
    );
    let next_day = allinpay_call(
        &sb,
        HISTORY,
        json!({"shopId": "147", "date": "2026-11-23", "pageNo": 1, "pageSize": 200}),
        "h3",
    )
    .await;
    assert_eq!(next_day["data"]["total"], json!(1));
    assert_eq!(
        next_day["data"]["couponVerifyHistoryList"][0]["couponCancelStatus"],
        json!(0),
        "点评 cannot be undone"
    );
    let too_big = allinpay_call(
        &sb,
        HISTORY,
        json!({"shopId": "147", "date": "2026-11-22", "pageNo": 1, "pageSize": 201}),
        "h4",
    )
    .await;
    assert_eq!(too_big["code"], json!("3"), "pageSize ≤ 200");
}

#[tokio::test]
async fn allinpay_refuses_a_request_signed_with_another_key() {
    let (sb, _) = start().await;
    let wrong_key = sb.demo().allinpay_keys.platform_private.clone();
    let form = allinpay_form(
        &sb,
        PREPARE,
        json!({"type": "meituan", "couponNo": "594828681100", "shopId": "147"}),
        "x",
        &wrong_key,
    );
    let url = format!("{}/gateway", sb.base_url(ChannelKind::Allinpay));
    let a = parse(&post_form(&url, &form).await.1);
    assert_eq!(
        (a["code"].as_str(), a["msg"].as_str()),
        (Some("1003"), Some("验签失败")),
        "{a:?}"
    );
}

// ------------------------------------------------------------------ 增值券

fn yhtd_order(serial: &str, phone: &str, count: &str, sum: &str) -> Value {
    json!({
        "orderNo": "1616911217380890", "productNo": "2112291922150704074", "productNm": "畅玩单人联票",
        "consumeName": "王刚", "consumePhone": phone, "dealSerial": serial, "byNumber": count, "sumMoney": sum,
    })
}

#[tokio::test]
async fn yhtd_accepts_an_order_once_and_counts_resends() {
    let (sb, _) = start().await;
    let url = format!("{}/couponsCallBack", sb.base_url(ChannelKind::Yhtd));
    let order = yhtd_order("KJ88955451212154", "13566662456", "2", "6000");
    let (_, first) = post_json(&url, &order).await;
    assert_eq!(
        parse(&first),
        parse(r#"{"resultCode":"0000","resultMsg":"成功"}"#),
        "the seed's answer"
    );
    let (_, second) = post_json(&url, &order).await;
    assert_eq!(
        first, second,
        "a resent dealSerial gets the original answer"
    );
    let truth = sb.ground_truth();
    assert_eq!(truth.notifications.len(), 1, "one order");
    assert_eq!(truth.notifications[0].received, 2, "received twice");
    assert_eq!(truth.notifications[0].sum_money, Fen(6000));
    let bad_phone = parse(
        &post_json(&url, &yhtd_order("S2", "23566662456", "1", "3000"))
            .await
            .1,
    );
    assert_ne!(bad_phone["resultCode"], "0000", "a phone must start with 1");
    let bad_sum = parse(
        &post_json(&url, &yhtd_order("S3", "13566662456", "1", "2999"))
            .await
            .1,
    );
    assert_ne!(
        bad_sum["resultCode"], "0000",
        "sumMoney must be price × byNumber"
    );
    let mut numeric = yhtd_order("S4", "13566662456", "1", "3000");
    numeric["byNumber"] = json!(1);
    let numeric = parse(&post_json(&url, &numeric).await.1);
    assert_ne!(
        numeric["resultCode"], "0000",
        "every field is a string (seed 000)"
    );
}

// ------------------------------------------------------------------ faults

#[tokio::test]
async fn a_reset_fault_really_resets_the_connection_and_consumes_nothing() {
    let (sb, _) = start().await;
    let body = Value::Object(shoubei_body(
        &sb,
        "679533929002",
        Some("r1"),
        &sb.demo().shoubei.key,
    ));
    let result = raw_exchange(&sb, raw_json_post(&sb, "/shoubei/openpay/coupon/wf", &body)).await;
    assert_eq!(
        result,
        Err(std::io::ErrorKind::ConnectionReset),
        "a TCP RST, not a clean close"
    );
    assert!(
        sb.ground_truth().consumptions.is_empty(),
        "reset strikes before processing"
    );
    let query = shoubei_call(&sb, "quary", "679533929002", Some("r1")).await;
    assert_eq!(
        query["result_code"], "FAIL",
        "queries are not faulted: there is no record"
    );
}

#[tokio::test]
async fn commit_then_drop_commits_and_sends_not_a_single_byte() {
    let (sb, _) = start().await;
    let biz = json!({"type": "meituan", "orderId": "drop-1", "couponNo": "594828689006", "num": 1, "shopId": "147"});
    let form = allinpay_form(
        &sb,
        CONSUME,
        biz.clone(),
        "drop-1",
        &sb.demo().allinpay_keys.merchant_private,
    );
    let body = serde_urlencoded::to_string(&form).unwrap();
    let request = format!(
        "POST /allinpay/gateway HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let result = raw_exchange(&sb, request.into_bytes()).await;
    assert_eq!(
        result,
        Ok(Vec::new()),
        "the connection closes with no answer at all"
    );
    let truth = sb.ground_truth();
    assert_eq!(
        truth.uses_of(ChannelKind::Allinpay, "594828689006"),
        1,
        "but the redemption was committed"
    );
    assert_eq!(
        truth.consumptions[0].idempotency_key.as_deref(),
        Some("drop-1")
    );
    let retry = allinpay_call(&sb, CONSUME, biz, "drop-1").await;
    assert_eq!(
        retry["code"],
        json!("0"),
        "the same orderId again gets the original success"
    );
    assert_eq!(
        sb.ground_truth()
            .uses_of(ChannelKind::Allinpay, "594828689006"),
        1,
        "and consumes nothing more"
    );
    let h = allinpay_call(
        &sb,
        HISTORY,
        json!({"shopId": "147", "date": "2026-11-22", "pageNo": 1, "pageSize": 200}),
        "h",
    )
    .await;
    assert_eq!(
        h["data"]["couponVerifyHistoryList"][0]["couponCode"], "594828689006",
        "history shows it"
    );
}

#[tokio::test]
async fn http_500_and_garbage_consume_nothing() {
    let (sb, _) = start().await;
    let url = format!(
        "{}/open/timescard/userTimesCardConsume",
        sb.base_url(ChannelKind::Liantuofu)
    );
    let (status, _) = post_form(&url, &consume_form(&sb, "914095353294409003", "1")).await;
    assert_eq!(status, 500);
    let (status, body) = post_form(&url, &consume_form(&sb, "914095353294409004", "1")).await;
    assert_eq!(status, 200, "garbage comes with a 200");
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "and is not JSON: {body}"
    );
    assert!(
        sb.ground_truth().consumptions.is_empty(),
        "both strike before processing"
    );
    let d = liantuofu_call(
        &sb,
        "userTimesCardDetail",
        &[("cardNo", "914095353294409003")],
    )
    .await;
    assert_eq!(
        d["suplusTimes"],
        json!(10),
        "the detail call still answers, uses untouched"
    );
}

#[tokio::test]
async fn a_bad_signature_fault_commits_but_the_answer_does_not_verify() {
    let (sb, _) = start().await;
    let body = Value::Object(shoubei_body(
        &sb,
        "679533929005",
        Some("bs"),
        &sb.demo().shoubei.key,
    ));
    let url = format!("{}/openpay/coupon/wf", sb.base_url(ChannelKind::Shoubei));
    let (_, text) = post_json(&url, &body).await;
    let a = parse(&text);
    assert_eq!(a["result_code"], "SUCCESS");
    assert!(
        !shoubei::verify(&a, &sb.demo().shoubei.key),
        "the 收呗 sign is wrong"
    );
    let form = allinpay_form(
        &sb,
        CONSUME,
        json!({"type": "meituan", "orderId": "bs2", "couponNo": "594828689005", "num": 1, "shopId": "147"}),
        "bs2",
        &sb.demo().allinpay_keys.merchant_private,
    );
    let (_, text) = post_form(
        &format!("{}/gateway", sb.base_url(ChannelKind::Allinpay)),
        &form,
    )
    .await;
    assert!(
        !allinpay::verify_response(&text, &sb.demo().allinpay_keys.platform_public),
        "the RSA2 sign is wrong"
    );
    assert_eq!(
        sb.ground_truth().consumptions.len(),
        2,
        "both were committed"
    );
}

#[tokio::test]
async fn a_delay_fault_commits_and_answers_after_the_client_gave_up() {
    let (sb, _) = start_with_delay(Duration::from_secs(2)).await;
    let env = zvcms_envelope(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708459001", "d1", None),
        &sb.demo().zvcms.secret,
        "5",
    );
    let client = http_with(Duration::from_millis(300));
    let err = client
        .post(format!("{}/api/v2", sb.base_url(ChannelKind::Zvcms)))
        .json(&env)
        .send()
        .await
        .expect_err("the answer comes after the client's timeout");
    assert!(err.is_timeout(), "a timeout, not another error: {err}");
    assert_eq!(
        sb.ground_truth()
            .uses_of(ChannelKind::Zvcms, "390962138708459001"),
        1,
        "committed before the delay"
    );
}

#[tokio::test]
async fn a_control_endpoint_rule_strikes_the_next_request_only() {
    let (sb, _) = start().await;
    let rule = json!({"channel": "yhtd", "fault": "http500", "times": 1});
    let (status, _) = post_json(&format!("http://{}/_control/faults", sb.addr()), &rule).await;
    assert_eq!(status, 200);
    let url = format!("{}/couponsCallBack", sb.base_url(ChannelKind::Yhtd));
    let order = yhtd_order("C1", "13566662456", "1", "3000");
    assert_eq!(
        post_json(&url, &order).await.0,
        500,
        "the rule strikes once"
    );
    assert_eq!(
        post_json(&url, &order).await.0,
        200,
        "then the channel answers again"
    );
    sb.inject_fault(FaultRule {
        channel: ChannelKind::Yhtd,
        code: Some("C2".into()),
        fault: Fault::CommitThenDrop,
        times: 1,
        operation: Operation::Redeem,
        delay_ms: None,
    });
    let order = yhtd_order("C2", "13566662456", "1", "3000");
    let raw = raw_exchange(&sb, raw_json_post(&sb, "/yhtd/couponsCallBack", &order)).await;
    assert_eq!(raw, Ok(Vec::new()), "dropped without an answer");
    assert_eq!(
        post_json(&url, &order).await.0,
        200,
        "the outbox's resend is answered"
    );
    let truth = sb.ground_truth();
    let c2 = truth
        .notifications
        .iter()
        .find(|n| n.deal_serial == "C2")
        .unwrap();
    assert_eq!(
        c2.received, 2,
        "the platform had it from the first, dropped, delivery"
    );
    let gt: Value = http()
        .get(format!("http://{}/_control/ground-truth", sb.addr()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gt["notifications"].as_array().unwrap().len(), 2);
}

// ------------------------------------------------------------------ ground truth & time

#[tokio::test]
async fn planted_mismatches_change_the_channels_record_but_not_the_ground_truth() {
    let (sb, _) = start().await;
    let a = allinpay_call(&sb, CONSUME, json!({"type": "meituan", "orderId": "o", "couponNo": "594828681100", "num": 1, "shopId": "147"}), "o").await;
    let tran_no = a["data"]["tranNo"].as_str().unwrap().to_owned();
    assert!(
        sb.alter_record(&tran_no, |r| r.price = Fen(1)),
        "the record exists"
    );
    let elsewhere = sb
        .consume_elsewhere(ChannelKind::Allinpay, "730512846629", 1)
        .expect("a valid code");
    let h = allinpay_call(
        &sb,
        HISTORY,
        json!({"shopId": "147", "date": "2026-11-22", "pageNo": 1, "pageSize": 200}),
        "h",
    )
    .await;
    let lines = h["data"]["couponVerifyHistoryList"].as_array().unwrap();
    assert_eq!(
        lines[0]["couponBuyPrice"],
        json!("0.01"),
        "the channel now reports the altered amount"
    );
    assert_eq!(
        lines[1]["couponCode"], "730512846629",
        "and a redemption the app never made"
    );
    let truth = sb.ground_truth();
    assert_eq!(
        truth.consumptions[0].price,
        Fen(8800),
        "ground truth keeps what really happened"
    );
    assert!(
        truth.consumptions[1].foreign && elsewhere.foreign,
        "marked as made elsewhere"
    );
}

#[tokio::test]
async fn moving_the_clock_past_the_end_date_expires_a_valid_coupon() {
    let (sb, clock) = start().await;
    clock.set_ms(1_924_963_200_000); // 2031-01-01 00:00 +08:00: after 2030-12-31 23:59:59
    let a = shoubei_call(&sb, "wf", "679533922928", None).await;
    assert_eq!(
        a["return_code"], "0203",
        "expired by the sandbox's clock: {a:?}"
    );
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let (sb, _) = start().await;
    let addr = sb.addr();
    sb.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn shoubei_answers_use_both_spellings_of_the_settle_amount() {
    let (sb, _) = start().await;
    let first = shoubei_call(&sb, "wf", "679533922928", Some("s1")).await;
    let second = shoubei_call(&sb, "wf", "679533922935", Some("s2")).await;
    let spelled = |a: &Map<String, Value>| a.contains_key("settleAmount");
    assert_ne!(
        spelled(&first),
        spelled(&second),
        "consecutive records alternate settle_amount and settleAmount (channels.md §2 quirk)"
    );
}

#[test]
fn a_running_sandbox_can_live_in_the_apps_shared_state() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<RunningSandbox>();
    shareable::<redeemdesk_sandbox::GroundTruth>();
}

#[tokio::test]
async fn starting_the_sandbox_is_cheap_enough_for_the_apps_start_up() {
    let started = std::time::Instant::now();
    let (sb, _) = start().await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(500),
        "no blocking work at start (parsing embedded data only): took {elapsed:?}"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_rule_can_target_the_history_call_that_settles_an_unknown() {
    let (sb, _) = start().await;
    sb.inject_fault(FaultRule {
        channel: ChannelKind::Allinpay,
        code: None,
        fault: Fault::Http500,
        times: 1,
        operation: Operation::Query,
        delay_ms: None,
    });
    let form = allinpay_form(
        &sb,
        HISTORY,
        json!({"shopId": "147", "date": "2026-11-22", "pageNo": 1, "pageSize": 200}),
        "h",
        &sb.demo().allinpay_keys.merchant_private,
    );
    let url = format!("{}/gateway", sb.base_url(ChannelKind::Allinpay));
    assert_eq!(
        post_form(&url, &form).await.0,
        500,
        "the query rule strikes verifyHistory"
    );
    let consume = allinpay_call(
        &sb,
        CONSUME,
        json!({"type": "meituan", "orderId": "q1", "couponNo": "594828681100", "num": 1, "shopId": "147"}),
        "q1",
    )
    .await;
    assert_eq!(
        consume["code"],
        json!("0"),
        "a query rule leaves redemptions alone"
    );
    assert_eq!(post_form(&url, &form).await.0, 200, "and it was used up");
}

#[tokio::test]
async fn zvcms_checks_the_token_with_the_configured_naming() {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let sb = Sandbox::start(SandboxOptions {
        clock,
        readings: Readings {
            zvcms: ZvcmsReading {
                token: TokenNaming::PascalCase,
                ..ZvcmsReading::default()
            },
            ..Readings::default()
        },
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let url = format!("{}/api/v2", sb.base_url(ChannelKind::Zvcms));
    let lower = zvcms_envelope(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708451328"}),
        &sb.demo().zvcms.secret,
        "901",
    );
    let a = parse(&post_json(&url, &lower).await.1);
    assert_eq!(
        a["code"],
        json!("110004"),
        "a lower-camel Token fails where PascalCase is expected"
    );
    let c = &sb.demo().zvcms;
    let token = zvcms::token(
        &c.secret,
        &c.open_id,
        &c.grant_code,
        "1795312800",
        "902",
        TokenNaming::PascalCase,
    );
    let mut pascal = zvcms_envelope(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708451328"}),
        &c.secret,
        "902",
    );
    pascal["Token"] = json!(token);
    let a = parse(&post_json(&url, &pascal).await.1);
    assert_eq!(a["code"], json!(0), "a PascalCase Token passes: {a:?}");
}

async fn start_with_state(path: &std::path::Path) -> RunningSandbox {
    Sandbox::start(SandboxOptions {
        clock: Arc::new(ManualClock::new(NOW_MS)),
        state_file: Some(path.to_owned()),
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts with a state file")
}

#[tokio::test]
async fn a_state_file_carries_redemptions_and_replays_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox-state.json");
    let sb = start_with_state(&path).await;
    let first = shoubei_call(&sb, "wf", "679533922928", Some("persisted-trace")).await;
    assert_eq!(first["result_code"], "SUCCESS");
    sb.shutdown().await;

    let sb = start_with_state(&path).await;
    assert_eq!(
        sb.uses_left(ChannelKind::Shoubei, "679533922928"),
        Some(0),
        "still used after a restart"
    );
    let query = shoubei_call(&sb, "quary", "679533922928", Some("persisted-trace")).await;
    assert_eq!(
        query["result_code"], "SUCCESS",
        "the record survives: an Unknown resolves to the truth"
    );
    let replay = shoubei_call(&sb, "wf", "679533922928", Some("persisted-trace")).await;
    assert_eq!(replay, first, "and so does the replayable answer");
    assert_eq!(sb.ground_truth().consumptions.len(), 1);
    let next = shoubei_call(&sb, "wf", "679533922935", Some("after-restart")).await;
    assert_ne!(
        next["order_no"], first["order_no"],
        "record numbers do not repeat after a restart"
    );
    drop(sb); // dropping without shutdown still writes the last state

    let sb = start_with_state(&path).await;
    assert_eq!(
        sb.ground_truth().consumptions.len(),
        2,
        "the drop flushed the second redemption"
    );
}

#[tokio::test]
async fn an_unreadable_state_file_is_moved_aside_and_the_demo_data_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sandbox-state.json");
    std::fs::write(&path, b"{ not json").unwrap();
    let sb = start_with_state(&path).await;
    assert_eq!(
        sb.uses_left(ChannelKind::Shoubei, "679533922928"),
        Some(1),
        "fresh demo data"
    );
    assert!(
        dir.path().join("sandbox-state.json.corrupt").exists(),
        "the bad file is kept for a look"
    );
}

// ------------------------------------------------------------------ readings

/// A sandbox started under one reading set from text (`channel.key=value`).
async fn start_reading(assignments: &[&str]) -> RunningSandbox {
    let mut readings = Readings::default();
    for a in assignments {
        readings.set(a).expect("a reading the sandbox knows");
    }
    Sandbox::start(SandboxOptions {
        clock: Arc::new(ManualClock::new(NOW_MS)),
        readings,
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts")
}

#[tokio::test]
async fn the_readings_control_endpoint_shows_and_merges_per_channel() {
    let (sb, _) = start().await;
    let url = format!("http://{}/_control/readings", sb.addr());
    let shown: Value = http().get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        shown,
        serde_json::to_value(Readings::default()).unwrap(),
        "a fresh sandbox reads everything the default way"
    );
    assert_eq!(shown["zvcms"]["token"], "lower_camel", "snake_case values");
    let mut start = Readings::default();
    start.allinpay.sign = AllinpaySign::BizContent;
    start.yhtd.resend = YhtdResend::CountAgain;
    sb.set_readings(start);
    let merged: Readings = http()
        .post(&url)
        .json(&json!({"allinpay": {"shape": "envelope"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(merged.allinpay.shape, AllinpayShape::Envelope);
    assert_eq!(
        merged.allinpay.sign,
        AllinpaySign::Fields,
        "a channel object given replaces that channel's reading, missing fields default"
    );
    assert_eq!(
        merged.yhtd.resend,
        YhtdResend::CountAgain,
        "channels not given keep theirs"
    );
    assert_eq!(sb.readings(), merged, "the Rust API sees the same readings");
    let shown: Readings = http().get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown, merged, "GET shows what POST set");
    let refused = http()
        .post(&url)
        .json(&json!({"allinpay": {"shape": "round"}}))
        .send()
        .await
        .unwrap();
    assert!(
        refused.status().is_client_error(),
        "an unknown value is refused, not ignored"
    );
    assert_eq!(sb.readings(), merged, "and changes nothing");
}

#[tokio::test]
async fn shoubei_by_code_queries_and_cancels_the_codes_latest_record_whatever_the_trace() {
    let sb = start_reading(&["shoubei.query=by_code"]).await;
    let code = "679533922928";
    let wf = shoubei_call(&sb, "wf", code, Some("trace-of-the-write-off")).await;
    assert_eq!(wf["result_code"], "SUCCESS");
    let q = shoubei_call(&sb, "quary", code, Some("another-trace")).await;
    assert_eq!(q["result_code"], "SUCCESS", "found by the code: {q:?}");
    assert_eq!(q["order_no"], wf["order_no"], "it describes THAT record");
    assert_eq!(
        q["wf_trace_no"], "trace-of-the-write-off",
        "with its own trace number, not the one asked"
    );
    let c = shoubei_call(&sb, "cancel", code, Some("yet-another")).await;
    assert_eq!(
        c["result_code"], "SUCCESS",
        "the record is cancelled: {c:?}"
    );
    assert_eq!(
        sb.uses_left(ChannelKind::Shoubei, code),
        Some(1),
        "the coupon is usable again"
    );
    let gone = shoubei_call(&sb, "quary", code, Some("trace-of-the-write-off")).await;
    assert_eq!(gone["result_code"], "FAIL", "no live record left");
    assert_eq!(gone["return_code"], "0211");
    assert!(
        !gone.contains_key("wf_trace_no"),
        "a by-code miss names no trace: {gone:?}"
    );
}

#[tokio::test]
async fn shoubei_processed_queries_say_success_and_list_what_they_found() {
    let sb = start_reading(&["shoubei.query=processed"]).await;
    let code = "679533922928";
    let none = shoubei_call(&sb, "quary", code, Some("never-sent")).await;
    assert_eq!(
        none["result_code"], "SUCCESS",
        "SUCCESS only says the query was processed"
    );
    assert_eq!(
        none["wf_trace_no"], "never-sent",
        "the request's trace echoed"
    );
    assert!(!none.contains_key("order_no"), "no top-level order_no");
    assert_eq!(none["records"], json!([]), "nothing found");
    let wf = shoubei_call(&sb, "wf", code, Some("t-processed")).await;
    let found = shoubei_call(&sb, "quary", code, Some("t-processed")).await;
    assert_eq!(
        found["records"],
        json!([{"order_no": wf["order_no"], "wf_trace_no": "t-processed", "codes": code, "status": "1"}]),
        "the record, written off"
    );
    let c = shoubei_call(&sb, "cancel", code, Some("t-processed")).await;
    let bare: Vec<&str> = c.keys().map(String::as_str).collect();
    assert_eq!(
        bare,
        ["result_code", "return_code", "return_msg", "sign"],
        "a bare SUCCESS: {c:?}"
    );
    assert_eq!(c["result_code"], "SUCCESS");
    assert_eq!(
        sb.uses_left(ChannelKind::Shoubei, code),
        Some(1),
        "cancelled"
    );
    let after = shoubei_call(&sb, "quary", code, Some("t-processed")).await;
    assert_eq!(after["records"][0]["status"], "2", "listed as cancelled");
    let c = shoubei_call(&sb, "cancel", code, Some("never-sent")).await;
    assert_eq!(
        c["result_code"], "SUCCESS",
        "the same bare SUCCESS when there was nothing to cancel"
    );
}

#[tokio::test]
async fn zvcms_no_counts_hides_the_counts_and_echo_answers_the_requests_biz_id() {
    let sb = start_reading(&["zvcms.counts=no_counts", "zvcms.biz_id=echo"]).await;
    let p = zvcms_call(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708450042"}),
    )
    .await;
    assert_eq!(p["code"], json!(0), "{p:?}");
    assert!(
        p["data"].get("total_count").is_none() && p["data"].get("remain_count").is_none(),
        "no count fields under no_counts: {p:?}"
    );
    let biz_id = "5b0c9e1d2a3f4e5d6c7b8a9f0e1d2c3b";
    let r = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708451328", biz_id, None),
    )
    .await;
    assert_eq!(r["code"], "0", "{r:?}");
    assert_eq!(
        r["data"]["bizId"],
        json!(biz_id),
        "the request's bizId string comes back, as in the seed's example"
    );
    assert_eq!(
        sb.ground_truth().consumptions[0].record_id,
        biz_id,
        "and the write-off is recorded under it"
    );
    let (sb, _) = start().await;
    let p = zvcms_call(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708450042"}),
    )
    .await;
    assert_eq!(
        p["data"]["remain_count"],
        json!(5),
        "the default shows counts"
    );
}

#[tokio::test]
async fn liantuofu_kept_signs_empty_values_and_dropped_does_not() {
    let detail = |sb: &RunningSandbox, keep_empty: bool| {
        let mut p = BTreeMap::new();
        p.insert("appId".to_owned(), sb.demo().liantuofu.app_id.clone());
        p.insert("random".to_owned(), "12345678".to_owned());
        p.insert("cardNo".to_owned(), "914095353294404024".to_owned());
        p.insert("remark".to_owned(), String::new());
        let sign = if keep_empty {
            redeemdesk_core::channel::signing::md5_with_key(
                p.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                &sb.demo().liantuofu.key,
            )
        } else {
            liantuofu::sign(&p, &sb.demo().liantuofu.key)
        };
        p.insert("sign".to_owned(), sign);
        p
    };
    for (reading, accepted_with_empty_kept) in [("dropped", false), ("kept", true)] {
        let sb = start_reading(&[&format!("liantuofu.empty_in_sign={reading}")]).await;
        let url = format!(
            "{}/open/timescard/userTimesCardDetail",
            sb.base_url(ChannelKind::Liantuofu)
        );
        for keep_empty in [false, true] {
            let a = parse(&post_form(&url, &detail(&sb, keep_empty)).await.1);
            let expect = if keep_empty == accepted_with_empty_kept {
                "SUCCESS"
            } else {
                "FAILED"
            };
            assert_eq!(
                a["code"],
                expect,
                "{reading}: a sign {} the empty remark: {a:?}",
                if keep_empty { "over" } else { "without" }
            );
        }
    }
}

/// The raw answer of the gateway, unverified.
async fn allinpay_raw(sb: &RunningSandbox, method: &str, biz: Value, req_seq: &str) -> String {
    let form = allinpay_form(
        sb,
        method,
        biz,
        req_seq,
        &sb.demo().allinpay_keys.merchant_private,
    );
    let url = format!("{}/gateway", sb.base_url(ChannelKind::Allinpay));
    let (status, text) = post_form(&url, &form).await;
    assert_eq!(status, 200, "the gateway answers 200: {text}");
    text
}

/// An RSA2 signature over exactly `text`, checked with the platform's public key.
fn rsa2_verifies(sb: &RunningSandbox, text: &str, sign: &Value) -> bool {
    use base64::Engine as _;
    use rsa::signature::Verifier as _;
    let Some(bytes) = sign
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
    else {
        return false;
    };
    let Ok(signature) = rsa::pkcs1v15::Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(
        sb.demo().allinpay_keys.platform_public.clone(),
    )
    .verify(text.as_bytes(), &signature)
    .is_ok()
}

fn allinpay_prepare_biz() -> Value {
    json!({"type": "meituan", "couponNo": "594828681100", "shopId": "147"})
}

/// `k=v&…` over the answer's fields but `sign` (and `signType` unless `with_sign_type`).
fn fields_text(a: &Map<String, Value>, with_sign_type: bool) -> String {
    let texts: BTreeMap<&str, String> = a
        .iter()
        .filter(|(k, _)| *k != "sign" && (with_sign_type || *k != "signType"))
        .map(|(k, v)| {
            let t = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.as_str(), t)
        })
        .filter(|(_, t)| !t.is_empty())
        .collect();
    texts
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn allinpay_envelope_answers_carry_the_business_answer_as_json_text() {
    let sb = start_reading(&["allinpay.shape=envelope"]).await;
    let text = allinpay_raw(&sb, PREPARE, allinpay_prepare_biz(), "seq-envelope-1").await;
    let a = parse(&text);
    for (k, v) in [
        ("appId", "21001130"),
        ("method", PREPARE),
        ("charset", "UTF-8"),
        ("format", "JSON"),
        ("signType", "RSA2"),
        ("version", "1.0"),
        ("reqSeq", "seq-envelope-1"),
        ("timestamp", "2026-11-22 10:00:00"),
    ] {
        assert_eq!(a[k], v, "the envelope's {k}: {a:?}");
    }
    assert!(
        a["respSeq"].as_str().is_some_and(|s| !s.is_empty()),
        "a response sequence"
    );
    assert!(!a.contains_key("code"), "the business answer is not flat");
    let biz: Value = serde_json::from_str(a["bizContent"].as_str().unwrap()).unwrap();
    assert_eq!(biz["code"], "0", "bizContent holds {{code, msg, data}}");
    assert_eq!(biz["data"]["couponName"], "双人午市套餐");
    assert!(
        allinpay::verify_response(&text, &sb.demo().allinpay_keys.platform_public),
        "signed over the envelope's fields but sign and signType, as today's rule"
    );
    let again = parse(&allinpay_raw(&sb, PREPARE, allinpay_prepare_biz(), "seq-envelope-2").await);
    assert_ne!(
        again["respSeq"], a["respSeq"],
        "respSeq is fresh per answer"
    );
    // Gateway-level errors come in the configured shape too.
    let mut form = allinpay_form(
        &sb,
        PREPARE,
        allinpay_prepare_biz(),
        "seq-bad",
        &sb.demo().allinpay_keys.platform_private,
    );
    form.insert("appId".into(), sb.demo().allinpay.app_id.clone());
    let url = format!("{}/gateway", sb.base_url(ChannelKind::Allinpay));
    let bad = parse(&post_form(&url, &form).await.1);
    let biz: Value = serde_json::from_str(bad["bizContent"].as_str().unwrap()).unwrap();
    assert_eq!(
        biz["code"], "1003",
        "a signature refusal, enveloped: {bad:?}"
    );
    assert_eq!(bad["reqSeq"], "seq-bad");
}

#[tokio::test]
async fn allinpay_sign_readings_change_what_the_answer_signature_covers() {
    for (assignments, expect) in [
        (
            &["allinpay.sign=fields_with_sign_type"][..],
            "flat fields with signType",
        ),
        (&["allinpay.sign=biz_content"][..], "flat data"),
        (
            &[
                "allinpay.shape=envelope",
                "allinpay.sign=fields_with_sign_type",
            ][..],
            "envelope fields with signType",
        ),
        (
            &["allinpay.shape=envelope", "allinpay.sign=biz_content"][..],
            "envelope bizContent",
        ),
    ] {
        let sb = start_reading(assignments).await;
        let text = allinpay_raw(&sb, PREPARE, allinpay_prepare_biz(), "seq-sign").await;
        let a = parse(&text);
        let covered = match expect {
            "flat fields with signType" => {
                assert_eq!(a["signType"], "RSA2", "a flat answer carries signType");
                fields_text(&a, true)
            }
            "flat data" => a["data"].to_string(),
            "envelope fields with signType" => fields_text(&a, true),
            _ => a["bizContent"].as_str().unwrap().to_owned(),
        };
        assert!(
            rsa2_verifies(&sb, &covered, &a["sign"]),
            "{expect}: the signature covers exactly that text: {text}"
        );
        assert!(
            allinpay::verify_response(&text, &sb.demo().allinpay_keys.platform_public),
            "{expect}: the client verifies it under this reading too"
        );
    }
    let sb = start_reading(&["allinpay.sign=biz_content"]).await;
    let text = allinpay_raw(
        &sb,
        PREPARE,
        json!({"type": "meituan", "couponNo": "594828680011", "shopId": "147"}),
        "seq-no-data",
    )
    .await;
    let a = parse(&text);
    assert!(!a.contains_key("data"), "a refusal has no data: {a:?}");
    assert!(
        rsa2_verifies(&sb, "{}", &a["sign"]),
        "without data the signature is over {{}}"
    );
}

#[tokio::test]
async fn allinpay_encrypted_refuses_every_plain_biz_content_and_consumes_nothing() {
    let sb = start_reading(&["allinpay.biz_content=encrypted"]).await;
    for (method, biz) in [
        (PREPARE, allinpay_prepare_biz()),
        (
            CONSUME,
            json!({"type": "meituan", "couponNo": "594828681100", "num": 1, "shopId": "147", "orderId": "enc-1"}),
        ),
        (
            HISTORY,
            json!({"shopId": "147", "date": "2026-11-22", "pageNo": 1, "pageSize": 200}),
        ),
    ] {
        let text = allinpay_raw(&sb, method, biz, "seq-enc").await;
        let a = parse(&text);
        assert_eq!(
            (a["code"].as_str(), a["msg"].as_str()),
            (Some("1006"), Some("bizContent解密失败")),
            "{method}: refused"
        );
        assert!(
            allinpay::verify_response(&text, &sb.demo().allinpay_keys.platform_public),
            "signed as usual"
        );
    }
    assert!(
        sb.ground_truth().consumptions.is_empty(),
        "nothing consumed"
    );
}

#[tokio::test]
async fn yhtd_md5_required_refuses_unsigned_orders_and_accepts_signed_ones() {
    let sb = start_reading(&["yhtd.sign=md5_required"]).await;
    let url = format!("{}/couponsCallBack", sb.base_url(ChannelKind::Yhtd));
    let order = yhtd_order("MD5-1", "13566662456", "1", "3000");
    let a = parse(&post_json(&url, &order).await.1);
    assert_eq!(
        (a["resultCode"].as_str(), a["resultMsg"].as_str()),
        (Some("1005"), Some("签名错误")),
        "unsigned is refused"
    );
    let mut wrong = order.clone();
    wrong["sign"] = json!("0123456789abcdef0123456789abcdef");
    let a = parse(&post_json(&url, &wrong).await.1);
    assert_eq!(a["resultCode"], "1005", "a wrong sign is refused");
    assert!(
        sb.ground_truth().notifications.is_empty(),
        "nothing recorded"
    );
    let fields: BTreeMap<String, String> = order
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let mut signed = order.clone();
    signed["sign"] = json!(yhtd::sign(&fields, &sb.demo().yhtd.key));
    let a = parse(&post_json(&url, &signed).await.1);
    assert_eq!(
        a["resultCode"], "0000",
        "the §7 signature with the demo key passes"
    );
    let (sb, _) = start().await;
    let url = format!("{}/couponsCallBack", sb.base_url(ChannelKind::Yhtd));
    let a = parse(&post_json(&url, &wrong).await.1);
    assert_eq!(
        a["resultCode"], "0000",
        "by default a sign field is ignored"
    );
}

#[tokio::test]
async fn yhtd_count_again_records_every_resend_as_a_new_order() {
    for (reading, orders) in [("dedup", 1), ("count_again", 3)] {
        let sb = start_reading(&[&format!("yhtd.resend={reading}")]).await;
        let url = format!("{}/couponsCallBack", sb.base_url(ChannelKind::Yhtd));
        let order = yhtd_order("RESEND-1", "13566662456", "1", "3000");
        for _ in 0..3 {
            let a = parse(&post_json(&url, &order).await.1);
            assert_eq!(
                a["resultCode"], "0000",
                "{reading}: every arrival is answered 0000"
            );
        }
        let truth = sb.ground_truth();
        assert_eq!(truth.notifications.len(), 1, "one entry per dealSerial");
        assert_eq!(
            truth.notifications[0].received, 3,
            "{reading}: arrived 3 times"
        );
        assert_eq!(
            truth.notifications[0].orders, orders,
            "{reading}: orders recorded under the dealSerial"
        );
    }
}

#[tokio::test]
async fn a_refuse_redeem_coupon_previews_valid_and_is_refused_in_each_channels_shape() {
    let (sb, _) = start().await;
    // 收呗: no remote preview; the write-off is refused with FAIL 0212.
    let a = shoubei_call(&sb, "wf", "679533928001", Some("refused-trace")).await;
    assert_eq!(
        (a["result_code"].as_str(), a["return_code"].as_str()),
        (Some("FAIL"), Some("0212")),
        "收呗 refuses: {a:?}"
    );
    // 智迈: status true with a non-zero code on the write-off itself.
    let p = zvcms_call(
        &sb,
        "coupon.off-coupon",
        json!({"code": "390962138708458001"}),
    )
    .await;
    assert_eq!(
        p["data"]["status"],
        json!(0),
        "智迈 previews it unused: {p:?}"
    );
    let r = zvcms_call(
        &sb,
        "communal.user.coupons-vertify",
        zvcms_redeem_params("390962138708458001", "refused-biz", None),
    )
    .await;
    assert_eq!(
        r,
        parse(r#"{"status": true, "code": "120108", "message": "该券不适用于当前门店"}"#),
        "智迈's refusal inside a success"
    );
    // 联拓富: the card shows its uses, the consume is FAILED.
    let d = liantuofu_call(
        &sb,
        "userTimesCardDetail",
        &[("cardNo", "914095353294408001")],
    )
    .await;
    assert_eq!(d["suplusTimes"], json!(5), "联拓富 previews 5 left: {d:?}");
    let url = format!(
        "{}/open/timescard/userTimesCardConsume",
        sb.base_url(ChannelKind::Liantuofu)
    );
    let c = parse(
        &post_form(&url, &consume_form(&sb, "914095353294408001", "1"))
            .await
            .1,
    );
    assert_eq!(c, parse(r#"{"code":"FAILED","msg":"该次卡暂不可核销"}"#));
    // 通联: prepare is code 0, consume code 3.
    let p = allinpay_call(
        &sb,
        PREPARE,
        json!({"type": "meituan", "couponNo": "594828688001", "shopId": "147"}),
        "seq-r1",
    )
    .await;
    assert_eq!(p["code"], "0", "通联 prepares it: {p:?}");
    let c = allinpay_call(
        &sb,
        CONSUME,
        json!({"type": "meituan", "couponNo": "594828688001", "num": 1, "shopId": "147", "orderId": "refused-order"}),
        "refused-order",
    )
    .await;
    assert_eq!(c["code"], "3", "通联 refuses: {c:?}");
    assert!(
        c["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "with a msg"
    );
    assert!(
        sb.ground_truth().consumptions.is_empty(),
        "nothing consumed on any channel"
    );
}

#[test]
fn the_standalone_sandbox_refuses_an_unknown_reading() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_redeemdesk-sandbox"))
        .args(["--reading", "allinpay.shape=round"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("allinpay.shape"),
        "naming the reading"
    );
}
