//! Every response decoder, fed arbitrary bytes and arbitrary JSON, never panics and never
//! invents a success: garbage is an Unknown (or, for history, a typed error).
//!
//! 10,000 cases per decoder with a fixed seed, so a run is reproducible. For a longer run:
//! `REDEEMDESK_PROPTEST_CASES=200000 cargo test -p redeemdesk-core --test channels decoding`.

use crate::support::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use redeemdesk_core::channel::{
    allinpay, liantuofu, shoubei, yhtd, zvcms, BusinessZone, CancelOutcome, CancelRequest,
    CouponCode, NotifyOutcome, Outcome, Platform, Prepared, RedeemRequest, Resolution,
    UnknownReason,
};
use serde_json::Value;
use std::sync::OnceLock;

fn config() -> Config {
    let cases = std::env::var("REDEEMDESK_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    Config {
        cases,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x5EED_C0DE),
        failure_persistence: None,
        ..Config::default()
    }
}

fn public() -> &'static rsa::RsaPublicKey {
    static KEY: OnceLock<rsa::RsaPublicKey> = OnceLock::new();
    KEY.get_or_init(platform_public)
}

/// Field names the decoders look at, so arbitrary objects reach past the first check.
const NAMES: &[&str] = &[
    "code",
    "msg",
    "message",
    "status",
    "data",
    "sign",
    "return_code",
    "return_msg",
    "result_code",
    "order_no",
    "codes",
    "amount",
    "settle_amount",
    "settleAmount",
    "bizId",
    "cardIdList",
    "coupon",
    "start_at",
    "title",
    "coupon_type",
    "suplusTimes",
    "cardNo",
    "cardName",
    "couponValue",
    "couponBuyPrice",
    "initAmount",
    "mtdz",
    "meiTuan",
    "tikTok",
    "tiktokCertificateList",
    "sku",
    "marketPrice",
    "tranNo",
    "total",
    "couponVerifyHistoryList",
    "couponCode",
    "resultCode",
    "resultMsg",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just("0".to_owned()),
            Just("3".to_owned()),
            Just("SUCCESS".to_owned()),
            Just("FAIL".to_owned()),
            Just("true".to_owned()),
            Just("".to_owned()),
            Just("[390962138708451328]".to_owned()),
            Just("0.105".to_owned()),
            Just("{\"a\":1}".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(NAMES), inner.clone()), 0..6).prop_map(
                |kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            ),
            prop::collection::vec((".{0,6}", inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn bytes() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..200)
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn is_json(body: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok()
}

fn cancel_request(req: &RedeemRequest) -> CancelRequest {
    CancelRequest {
        id: req.id.clone(),
        code: req.code.clone(),
        record_ids: Vec::new(),
    }
}

fn code() -> CouponCode {
    CouponCode::new("679533922928").unwrap()
}

/// Runs every decoder of every channel on one body. Signed channels must never answer
/// Succeeded to a body we did not sign; non-JSON must be Unknown(NotJson) everywhere.
fn check_all(body: &str) {
    let json = is_json(body);
    let req = redeem_request("679533922928");
    let not_json = |r: &UnknownReason| *r == UnknownReason::NotJson;

    let o = shoubei::redeem_outcome(body, SHOUBEI_KEY, &redeem_request("679533922928"));
    assert!(
        !matches!(o, Outcome::Succeeded(_)),
        "an unsigned body never succeeds on 收呗: {o:?}"
    );
    assert!(
        json || matches!(o, Outcome::Unknown { ref reason } if not_json(reason)),
        "{o:?}"
    );
    let r = shoubei::query_resolution(body, SHOUBEI_KEY, &req);
    assert!(!matches!(r, Resolution::Succeeded(_)), "{r:?}");
    let c = shoubei::cancel_outcome(body, SHOUBEI_KEY, &cancel_request(&req));
    assert!(!matches!(c, CancelOutcome::Cancelled { .. }), "{c:?}");

    let o = zvcms::redeem_outcome(body, &req);
    assert!(
        json || matches!(o, Outcome::Unknown { ref reason } if not_json(reason)),
        "{o:?}"
    );
    let p = zvcms::prepare_answer(body, &code(), BusinessZone::CHINA);
    assert!(json || matches!(p, Prepared::Unknown { .. }), "{p:?}");
    let r = zvcms::coupon_resolution(body, &req);
    assert!(
        json || matches!(r, Resolution::StillUnknown { .. }),
        "{r:?}"
    );

    let p = liantuofu::prepare_answer(body, &code());
    assert!(json || matches!(p, Prepared::Unknown { .. }), "{p:?}");
    let o = liantuofu::redeem_outcome(body, 1);
    assert!(json || matches!(o, Outcome::Unknown { .. }), "{o:?}");
    let r = liantuofu::remaining_resolution(body, "679533922928", 5, 1);
    assert!(
        json || matches!(r, Resolution::StillUnknown { .. }),
        "{r:?}"
    );

    let p = allinpay::prepare_answer(body, public(), "", &code(), Platform::Tiktok);
    assert!(
        !matches!(p, Prepared::Ready(_)),
        "an unsigned body never previews on 通联: {p:?}"
    );
    let o = allinpay::redeem_outcome(body, public(), &req);
    assert!(!matches!(o, Outcome::Succeeded(_)), "{o:?}");
    assert!(
        allinpay::history_page(body, public(), "").is_err(),
        "an unsigned page is an error"
    );
    let _ = allinpay::response_sign_fields(body);
    assert!(
        !allinpay::verify_response(body, public()),
        "nothing unsigned verifies"
    );

    let n = yhtd::notify_outcome(body);
    assert!(json || matches!(n, NotifyOutcome::Unknown { .. }), "{n:?}");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_and_are_unknown(body in bytes()) {
        check_all(&body);
    }

    #[test]
    fn arbitrary_json_never_panics_and_never_fakes_a_signed_success(value in json_value()) {
        check_all(&value.to_string());
    }

    #[test]
    fn a_signed_shoubei_answer_with_arbitrary_fields_never_panics(value in json_value()) {
        if let Value::Object(fields) = value {
            let body = shoubei_answer(fields);
            let _ = shoubei::redeem_outcome(&body, SHOUBEI_KEY, &redeem_request("679533922928"));
        }
    }
}
