//! Benchmark 2 (issue 7): signing a request and decoding an answer, per channel, with the
//! payloads the channels really exchange (key pairs made for the run; 通联 is RSA-2048).
//! `make bench` runs this first (`redeemdesk-bench-signing --bench`, what `cargo bench`
//! would run); the bench binary copies criterion's estimates into BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, Criterion};
use redeemdesk_core::channel::zvcms::TokenNaming;
use redeemdesk_core::channel::{allinpay, liantuofu, shoubei, yhtd, zvcms};
use redeemdesk_core::channel::{CouponCode, NotifyOutcome, Outcome, RedeemRequest, RedemptionId};
use redeemdesk_sandbox::demo_keys::AllinpayKeys;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::hint::black_box;

const KEY: &str = "5f0c3d7e9a1b4c6d8e2f0a1b3c5d7e9f";

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn texts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn signing(c: &mut Criterion) {
    let shoubei_req = map(
        json!({"inst_no": "90002401", "merchant_no": "851811130002", "shop_no": "862010110001",
        "wf_trace_no": "d2b835b796e54fc89500d1c9d5c4b928", "ts": "20261122120300", "coupon_code": "679533922928",
        "channel_type": "10003", "amount": "1000", "real_amount": "1000"}),
    );
    c.bench_function("sign/shoubei", |b| {
        b.iter(|| shoubei::sign(black_box(&shoubei_req), KEY))
    });
    c.bench_function("sign/zvcms", |b| {
        b.iter(|| {
            zvcms::token(
                black_box("sandbox-demo-zvcms-secret-0001"),
                "6dc05b4ac175cf316d226252b05cf685",
                "782c281f62",
                "1795000000",
                "658965",
                TokenNaming::LowerCamel,
            )
        })
    });
    let ltf = texts(&[
        ("appId", "EW_N5946005323"),
        ("random", "48213377"),
        ("consumeSource", "1"),
        ("cardNo", "914095353294404024"),
        ("count", "1"),
        ("consumeMerchantCode", "EW_N2949193145"),
    ]);
    c.bench_function("sign/liantuofu", |b| {
        b.iter(|| liantuofu::sign(black_box(&ltf), KEY))
    });
    let merchant = AllinpayKeys::ephemeral().merchant_private;
    let allin = texts(&[
        ("appId", "21001130"),
        ("method", "allinpay.shopoint.thirdCouponService.consume"),
        ("charset", "UTF-8"),
        ("format", "JSON"),
        ("signType", "RSA2"),
        ("timestamp", "2026-11-22 12:03:00"),
        ("version", "1.0"),
        ("reqSeq", "d2b835b796e54fc89500d1c9d5c4b928"),
        (
            "bizContent",
            r#"{"type":"meituan","orderId":"d2b835b796e54fc89500d1c9d5c4b928","couponNo":"594828681100","num":1,"shopId":"147"}"#,
        ),
    ]);
    c.bench_function("sign/allinpay (RSA2)", |b| {
        b.iter(|| allinpay::sign(black_box(&allin), &merchant))
    });
    let order = texts(&[
        ("orderNo", "1616911217380890"),
        ("productNo", "2112291922150704074"),
        ("productNm", "畅玩单人联票"),
        ("consumeName", "王刚"),
        ("consumePhone", "13566662456"),
        ("dealSerial", "d2b835b796e54fc89500d1c9d5c4b928"),
        ("byNumber", "1"),
        ("sumMoney", "3000"),
    ]);
    c.bench_function("sign/yhtd (optional MD5)", |b| {
        b.iter(|| yhtd::sign(black_box(&order), KEY))
    });
}

fn decoding(c: &mut Criterion) {
    let mut answer = map(
        json!({"return_code": "SUCCESS", "return_msg": "操作成功", "result_code": "SUCCESS",
        "order_no": "516375643352141195430506", "wf_trace_no": "d2b835b796e54fc89500d1c9d5c4b928",
        "codes": "679533922928", "amount": "1000", "settle_amount": "990"}),
    );
    let sign = shoubei::sign(&answer, KEY);
    answer.insert("sign".into(), Value::String(sign));
    let shoubei_body = serde_json::to_string(&answer).unwrap();
    // Each benchmark measures the success path it names, so check it is one.
    assert!(matches!(
        shoubei::redeem_outcome(&shoubei_body, KEY, &request("679533922928")),
        Outcome::Succeeded(_)
    ));
    let shoubei_req = request("679533922928");
    c.bench_function("decode/shoubei redeem", |b| {
        b.iter(|| shoubei::redeem_outcome(black_box(&shoubei_body), KEY, &shoubei_req))
    });

    let req = request("390962138708451328");
    let zvcms_body = r#"{"status":"true","code":"0","message":"成功","data":{"bizId":123456789,"cardIdList":"[390962138708451328]","userInfo":{"customer_id":"","username":""}}}"#;
    assert!(matches!(
        zvcms::redeem_outcome(zvcms_body, &req),
        Outcome::Succeeded(_)
    ));
    c.bench_function("decode/zvcms redeem", |b| {
        b.iter(|| zvcms::redeem_outcome(black_box(zvcms_body), &req))
    });

    let ltf_body = r#"{"code":"SUCCESS","msg":"成功"}"#;
    assert!(matches!(
        liantuofu::redeem_outcome(ltf_body, 1),
        Outcome::Succeeded(_)
    ));
    c.bench_function("decode/liantuofu redeem", |b| {
        b.iter(|| liantuofu::redeem_outcome(black_box(ltf_body), 1))
    });

    let keys = AllinpayKeys::ephemeral();
    let (platform, public) = (keys.platform_private, keys.platform_public);
    let mut consume = map(
        json!({"code": "0", "msg": "成功", "data": {"tranNo": "T2026112212030001",
        "couponNo": "594828681100", "couponName": "美团50元代金券", "couponValue": 50.0, "couponBuyPrice": 45.0,
        "consumeTime": "2026-11-22 12:03:00"}}),
    );
    let sign = allinpay::sign_response(&consume, &platform);
    consume.insert("sign".into(), Value::String(sign));
    let allin_body = serde_json::to_string(&consume).unwrap();
    let allin_req = request("594828681100");
    let checked = allinpay::redeem_outcome(&allin_body, &public, &allin_req);
    assert!(matches!(checked, Outcome::Succeeded(_)), "{checked:?}");
    c.bench_function("decode/allinpay consume (RSA2 verify)", |b| {
        b.iter(|| allinpay::redeem_outcome(black_box(&allin_body), &public, &allin_req))
    });

    let yhtd_body = r#"{"resultCode":"0000","resultMsg":"成功"}"#;
    assert_eq!(yhtd::notify_outcome(yhtd_body), NotifyOutcome::Delivered);
    c.bench_function("decode/yhtd notify", |b| {
        b.iter(|| yhtd::notify_outcome(black_box(yhtd_body)))
    });
}

// Shorter than criterion's default (3 s warm-up, 5 s of samples): every function here is
// µs or ms, so 1 s still gives 100 samples of hundreds of calls or more (criterion stretches
// the time when a sample needs it, as for RSA signing), and the whole of `make bench` has 20
// minutes on two cores.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = signing, decoding
}
criterion_main!(benches);

/// The request the decoded answers are to (its id is the one in the shoubei answer).
fn request(code: &str) -> RedeemRequest {
    RedeemRequest {
        id: RedemptionId::parse("d2b835b796e54fc89500d1c9d5c4b928").unwrap(),
        code: CouponCode::new(code).unwrap(),
        count: 1,
        platform: None,
        certificates: vec![],
        order_amount: None,
        paid_amount: None,
        remaining_before: None,
        cashier: None,
        remark: None,
        attempted_at_ms: 1_795_000_000_000,
    }
}
