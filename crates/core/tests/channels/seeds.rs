//! The seed documents' own examples (fixtures/seeds/), decoded into what channels.md says
//! they mean.

use crate::support::*;
use redeemdesk_core::channel::{
    allinpay, liantuofu, shoubei, yhtd, zvcms, BusinessZone, CouponCode, NotifyOutcome, Outcome,
    Platform, Prepared, UnknownReason, Warning,
};
use redeemdesk_core::money::Fen;
use serde_json::Value;

#[test]
fn shoubei_seed_answer_verbatim_is_not_json_and_so_unknown() {
    let body = fixture("seeds/shoubei_response.json");
    assert_eq!(
        shoubei::redeem_outcome(&body, SHOUBEI_KEY, &redeem_request("679533922928")),
        Outcome::Unknown {
            reason: UnknownReason::NotJson
        },
        "the seed quotes codes with single quotes; we do not guess"
    );
}

fn repaired_shoubei_seed() -> serde_json::Map<String, Value> {
    let body = fixture("seeds/shoubei_response.json").replace('\'', "\"");
    serde_json::from_str(&body).expect("with double quotes the seed answer is JSON")
}

#[test]
fn shoubei_seed_answer_signed_with_the_vendors_unknown_key_is_unknown() {
    let body = Value::Object(repaired_shoubei_seed()).to_string();
    assert_eq!(
        shoubei::redeem_outcome(&body, SHOUBEI_KEY, &redeem_request("679533922928")),
        Outcome::Unknown {
            reason: UnknownReason::BadSignature
        },
        "a signature that does not verify is never trusted, even for a refusal (§0)"
    );
}

#[test]
fn shoubei_seed_answer_is_a_rejection_decided_on_result_code_not_return_code() {
    let mut fields = repaired_shoubei_seed();
    fields.remove("sign");
    let body = shoubei_answer(fields);
    assert_eq!(
        shoubei::redeem_outcome(&body, SHOUBEI_KEY, &redeem_request("679533922928")),
        Outcome::Rejected {
            code: "0205".into(),
            message: "券码已退款".into(),
            config_error: false
        },
        "§2: result_code FAIL is a rejection; the caption 成功返回结果 is wrong"
    );
}

#[test]
fn shoubei_seed_request_uses_fields_we_send_except_its_documented_typos() {
    let req: serde_json::Map<String, Value> =
        serde_json::from_str(&fixture("seeds/shoubei_request.json")).unwrap();
    let theirs: std::collections::BTreeSet<&str> = req.keys().map(String::as_str).collect();
    for expected in [
        "inst_no",
        "merchant_no",
        "shop_no",
        "channel_type",
        "amount",
        "sign",
        "ts",
    ] {
        assert!(theirs.contains(expected), "the seed request has {expected}");
    }
    assert!(
        theirs.contains("couponCode") && theirs.contains("writeOff_tyep"),
        "the seed's quirks (§2) are as recorded"
    );
}

#[test]
fn zvcms_seed_success_is_succeeded_with_the_long_card_id_intact() {
    let req = redeem_request("390962138708451328");
    match zvcms::redeem_outcome(&fixture("seeds/zvcms_response_success.json"), &req) {
        Outcome::Succeeded(r) => {
            let refs: Vec<(&str, &str)> = r
                .channel_refs
                .iter()
                .map(|c| (c.name.as_str(), c.value.as_str()))
                .collect();
            assert_eq!(
                refs,
                vec![("bizId", "paywewre121"), ("cardId", "390962138708451328")],
                "status \"true\" and code \"0\" are truthy; the 18-digit id stays exact (§3)"
            );
        }
        other => panic!("the seed success must be Succeeded, got {other:?}"),
    }
}

#[test]
fn zvcms_seed_exception_with_status_true_is_a_rejection() {
    let req = redeem_request("390962138708451328");
    assert!(
        matches!(
            zvcms::redeem_outcome(&fixture("seeds/zvcms_response_exception.json"), &req),
            Outcome::Rejected { .. }
        ),
        "§3: status true with a non-zero code is a business refusal"
    );
}

#[test]
fn zvcms_seed_system_error_with_status_false_is_unknown() {
    let req = redeem_request("390962138708451328");
    assert!(
        matches!(
            zvcms::redeem_outcome(&fixture("seeds/zvcms_response_system_error.json"), &req),
            Outcome::Unknown {
                reason: UnknownReason::ChannelBusy { .. }
            }
        ),
        "§3: status false with a system code is Unknown"
    );
}

#[test]
fn zvcms_seed_request_token_is_a_url_escaped_base64_of_20_bytes() {
    let req: Value = serde_json::from_str(&fixture("seeds/zvcms_request.json")).unwrap();
    let token = req["Token"].as_str().unwrap();
    let ours = zvcms::token("x", "a", "b", "1", "2", zvcms::TokenNaming::LowerCamel);
    assert!(
        token.ends_with("%3D") && ours.ends_with("%3D"),
        "an HMAC-SHA1 in Base64 ends with one escaped '='"
    );
    assert_eq!(
        token
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=")
            .len(),
        28,
        "20 bytes in Base64"
    );
    assert_eq!(
        req["Params"]["couponsCardList"], "[390962138708451328]",
        "the list-in-a-string quirk (§3)"
    );
}

#[test]
fn liantuofu_seed_answers_are_success_and_rejection() {
    assert!(
        matches!(liantuofu::redeem_outcome(&fixture("seeds/liantuofu_response_success.json"), 6), Outcome::Succeeded(ref r) if r.count == 6),
        "code SUCCESS consumed the requested count"
    );
    assert_eq!(
        liantuofu::redeem_outcome(&fixture("seeds/liantuofu_response_failed.json"), 6),
        Outcome::rejected("FAILED", "剩余次数不足"),
        "§4: FAILED is a rejection with the vendor's reason"
    );
}

#[test]
fn liantuofu_seed_request_is_a_signed_form_with_the_documented_fields() {
    let form: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(fixture("seeds/liantuofu_request.txt").trim().as_bytes())
            .into_owned()
            .collect();
    assert_eq!(
        form["cardNo"], "914095353294404024",
        "an 18-digit card number stays text"
    );
    assert_eq!(form["sign"].len(), 32, "an MD5 hex signature");
    assert!(
        !form["random"].bytes().all(|b| b.is_ascii_digit()),
        "the seed's random has letters; ours never does (§4)"
    );
}

/// The seed page indents its example with no-break spaces (U+00A0), which JSON does not
/// allow; a gateway sends plain whitespace.
fn allinpay_seed_answer() -> String {
    fixture("seeds/allinpay_prepare_response.json").replace('\u{a0}', " ")
}

#[test]
fn allinpay_seed_prepare_answer_verbatim_is_not_json_because_of_its_no_break_spaces() {
    let code = CouponCode::new("5948286811").unwrap();
    assert_eq!(
        allinpay::prepare_answer(
            &fixture("seeds/allinpay_prepare_response.json"),
            &platform_public(),
            "",
            &code,
            Platform::Mtdz
        ),
        Prepared::Unknown {
            reason: UnknownReason::NotJson
        },
        "U+00A0 is not JSON whitespace; we do not guess"
    );
}

#[test]
fn allinpay_seed_prepare_answer_without_a_signature_is_unknown() {
    let code = CouponCode::new("5948286811").unwrap();
    assert_eq!(
        allinpay::prepare_answer(
            &allinpay_seed_answer(),
            &platform_public(),
            "",
            &code,
            Platform::Mtdz
        ),
        Prepared::Unknown {
            reason: UnknownReason::UnsignedSuccess
        },
        "an unsigned success is not trusted (§5 [assumed])"
    );
}

#[test]
fn allinpay_seed_prepare_answer_signed_is_the_preview_of_a_mtdz_voucher() {
    let fields: serde_json::Map<String, Value> =
        serde_json::from_str(&allinpay_seed_answer()).unwrap();
    let body = allinpay_answer(fields);
    let code = CouponCode::new("5948286811").unwrap();
    match allinpay::prepare_answer(&body, &platform_public(), "", &code, Platform::Mtdz) {
        Prepared::Ready(p) => {
            assert_eq!(p.name.as_deref(), Some("0.1团10百货券"));
            assert_eq!(
                p.face_value,
                Some(Fen(10)),
                "couponValue \"0.1\" 元 is exactly 10 fen"
            );
            assert_eq!(p.price_paid, Some(Fen(10)));
            assert_eq!(
                p.redeemable_count,
                Some(1),
                "initAmount means the redeemable count (§5)"
            );
            assert_eq!(p.valid_until, None, "an empty date is absent");
            assert!(
                p.warnings.contains(&Warning::MeituanUndoIssuesNewCode),
                "美团到综 is a Meituan code"
            );
        }
        other => panic!("the signed seed answer must be a preview, got {other:?}"),
    }
}

#[test]
fn allinpay_seed_prepare_request_has_the_documented_business_fields() {
    let req: Value = serde_json::from_str(&fixture("seeds/allinpay_prepare_request.json")).unwrap();
    assert_eq!(
        req["type"],
        Platform::Mtdz.as_str(),
        "our platform names are the wire's"
    );
    assert_eq!(
        req["shopId"], "147",
        "shopId arrives as a string (§5 quirk)"
    );
}

#[test]
fn yhtd_seed_answer_is_delivered_and_seed_request_is_a_valid_notification() {
    assert_eq!(
        yhtd::notify_outcome(&fixture("seeds/yhtd_response.json")),
        NotifyOutcome::Delivered,
        "0000 → delivered (§1)"
    );
    let req: Value = serde_json::from_str(&fixture("seeds/yhtd_request.json")).unwrap();
    let product = yhtd::Product {
        no: "2112291922150704074".into(),
        name: "畅玩单人联票".into(),
        unit_price: Fen(3000),
    };
    let n = yhtd::Notification::new(
        redeemdesk_core::channel::RedemptionId::new_v4(),
        &product,
        req["consumeName"].as_str().unwrap(),
        req["consumePhone"].as_str().unwrap(),
        1,
    )
    .expect("the seed's consumer is valid");
    let fields = n.wire_fields();
    let ours: std::collections::BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    let theirs: std::collections::BTreeSet<&str> = req
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ours, theirs, "we send exactly the seed's fields");
    assert_eq!(
        fields["sumMoney"], req["sumMoney"],
        "the total is computed in fen like the seed's"
    );
    let _ = BusinessZone::CHINA;
}
