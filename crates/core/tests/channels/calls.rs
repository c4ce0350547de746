//! Each channel against a local responder on 127.0.0.1:0 (the sandbox's URL layout): what
//! goes on the wire, what comes back, and how transport faults become Unknown.

use crate::support::*;
use redeemdesk_core::channel::{
    allinpay, liantuofu, shoubei, yhtd, zvcms, CancelOutcome, CancelRequest, CertificateChoice,
    Channel, ChannelConfig, ChannelError, CouponCode, NotifyOutcome, Operation, Outcome, Platform,
    Prepared, Resolution, UnknownReason, Warning,
};
use redeemdesk_core::money::Fen;
use serde_json::{json, Value};
use std::time::Duration;

fn shoubei(base: &str) -> Channel {
    Channel::new(ChannelConfig::Shoubei(shoubei_config(base)), ctx()).unwrap()
}

/// Whether an Unknown's reason is the expected one.
type ReasonCheck = fn(&UnknownReason) -> bool;

fn signed_success() -> String {
    shoubei_answer(obj(json!({
        "return_code": "SUCCESS", "return_msg": "操作成功", "result_code": "SUCCESS",
        "order_no": "516375643352141195430506", "codes": "679533922928", "amount": "1000", "settle_amount": 950
    })))
}

#[tokio::test]
async fn shoubei_redeem_sends_a_signed_write_off_keyed_by_our_id_and_keeps_every_returned_id() {
    let r = Responder::start("shoubei", |_| ok(signed_success())).await;
    let mut req = redeem_request("679533922928");
    req.order_amount = Some(Fen(1000));
    let answer = shoubei(&r.base).redeem(&req).await.unwrap();
    match &answer.value {
        Outcome::Succeeded(s) => {
            let names: Vec<&str> = s.channel_refs.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(
                names,
                ["order_no", "codes"],
                "every id the channel returned is kept"
            );
            assert_eq!(
                (s.face_value, s.settled, s.count),
                (Some(Fen(1000)), Some(Fen(950)), 1),
                "fen as number or text"
            );
        }
        other => panic!("a signed SUCCESS must succeed: {other:?}"),
    }
    let sent = r.last();
    assert_eq!(
        sent.path, "/shoubei/openpay/coupon/wf",
        "base_url + the documented path"
    );
    let body = sent.json();
    assert_eq!(
        body["wf_trace_no"],
        req.id.as_str(),
        "our id is always sent as wf_trace_no (§0)"
    );
    assert_eq!(
        body["coupon_code"], "679533922928",
        "coupon_code, not the example's couponCode (§2)"
    );
    assert_eq!(
        body["ts"], "20240408160000",
        "ts is yyyyMMddHHmmss in +08:00 from the clock"
    );
    assert_eq!(body["amount"], "1000");
    assert!(
        shoubei::verify(&body, SHOUBEI_KEY),
        "the request's sign verifies with the key"
    );
    let head = sent.head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: application/json"),
        "JSON body (§2)"
    );
    assert!(
        head.contains("user-agent: redeemdesk/"),
        "the house user agent: {head}"
    );
    let exchange = &answer.exchanges[0];
    assert!(
        !exchange.request.contains(body["sign"].as_str().unwrap()),
        "the stored request has no signature"
    );
    assert!(
        exchange.request.contains(req.id.as_str()),
        "but keeps the business fields for disputes"
    );
    assert_eq!(exchange.http_status, Some(200));
}

#[tokio::test]
async fn shoubei_transport_faults_are_unknown_never_failures() {
    let cases: Vec<(Answer, ReasonCheck, &str)> = vec![
        (
            Answer::Status(502, "bad gateway".into()),
            |r| *r == UnknownReason::HttpStatus { status: 502 },
            "5xx",
        ),
        (
            ok("<html>busy</html>"),
            |r| *r == UnknownReason::NotJson,
            "garbage",
        ),
        (
            Answer::Delay(Duration::from_secs(3), signed_success()),
            |r| *r == UnknownReason::Timeout,
            "past the timeout",
        ),
        (
            Answer::Drop,
            |r| matches!(r, UnknownReason::ConnectionReset { .. }),
            "commit then drop",
        ),
        (
            ok(signed_success().replace("950", "951")),
            |r| *r == UnknownReason::BadSignature,
            "tampered",
        ),
    ];
    for (answer, expected, what) in cases {
        let answer = std::sync::Mutex::new(Some(answer));
        let r = Responder::start("shoubei", move |_| {
            answer.lock().unwrap().take().unwrap_or(Answer::Drop)
        })
        .await;
        let got = shoubei(&r.base)
            .redeem(&redeem_request("679533922928"))
            .await
            .unwrap();
        match &got.value {
            Outcome::Unknown { reason } => {
                assert!(expected(reason), "{what}: unexpected reason {reason:?}")
            }
            other => panic!("{what} must be Unknown, got {other:?}"),
        }
        assert_eq!(
            got.exchanges.len(),
            1,
            "{what}: the attempt's exchange is kept as evidence"
        );
    }
}

#[tokio::test]
async fn a_refused_connection_is_unknown() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/shoubei", listener.local_addr().unwrap());
    drop(listener);
    let got = shoubei(&base)
        .redeem(&redeem_request("679533922928"))
        .await
        .unwrap();
    assert!(
        matches!(
            got.value,
            Outcome::Unknown {
                reason: UnknownReason::ConnectionFailed { .. }
            }
        ),
        "nothing listening is still Unknown, settled later: {:?}",
        got.value
    );
}

#[tokio::test]
async fn shoubei_resolves_by_querying_with_the_same_trace_number() {
    let r = Responder::start("shoubei", |req| {
        if req.path.ends_with("/quary") {
            ok(shoubei_answer(obj(
                json!({"return_code":"FAIL","return_msg":"无此记录","result_code":"FAIL"}),
            )))
        } else {
            ok(signed_success())
        }
    })
    .await;
    let req = redeem_request("679533922928");
    let got = shoubei(&r.base).resolve(&req).await.unwrap();
    assert!(
        matches!(got.value, Resolution::StillUnknown { .. }),
        "§2: a FAIL that names no write-off is no evidence either way"
    );
    let sent = r.last();
    assert_eq!(
        sent.path, "/shoubei/openpay/coupon/quary",
        "the vendor's spelling"
    );
    assert_eq!(
        sent.json()["wf_trace_no"],
        req.id.as_str(),
        "the same idempotency key"
    );
}

#[tokio::test]
async fn shoubei_cancel_is_the_only_undo_call() {
    let r = Responder::start("shoubei", |_| ok(signed_success())).await;
    let req = redeem_request("679533922928");
    let got = shoubei(&r.base)
        .cancel(&CancelRequest {
            id: req.id.clone(),
            code: req.code.clone(),
            record_ids: vec!["516375643352141195430506".into()],
        })
        .await
        .unwrap();
    assert!(
        matches!(got.value, CancelOutcome::Cancelled { .. }),
        "{:?}",
        got.value
    );
    assert_eq!(r.last().path, "/shoubei/openpay/coupon/cancel");

    let z = Channel::new(ChannelConfig::Zvcms(zvcms_config(&r.base)), ctx()).unwrap();
    let refused = z
        .cancel(&CancelRequest {
            id: req.id.clone(),
            code: req.code.clone(),
            record_ids: vec!["516375643352141195430506".into()],
        })
        .await;
    assert!(
        matches!(
            refused,
            Err(ChannelError::Unsupported {
                operation: Operation::Cancel,
                ..
            })
        ),
        "other channels say so instead of pretending"
    );
}

#[tokio::test]
async fn shoubei_prepare_is_local_and_refuses_an_overlong_code() {
    let ch = shoubei("http://127.0.0.1:9/shoubei");
    let ok = ch
        .prepare(&CouponCode::new("679533922928").unwrap(), None)
        .await
        .unwrap();
    assert!(ok.exchanges.is_empty(), "no remote preview exists (§2)");
    assert!(
        matches!(&ok.value, Prepared::Ready(p) if p.warnings.contains(&Warning::NoRemotePreview))
    );
    let long = ch
        .prepare(&CouponCode::new("12345678901234567").unwrap(), None)
        .await
        .unwrap();
    assert!(
        matches!(long.value, Prepared::Rejected { .. }),
        "coupon_code is string(16)"
    );
}

fn zvcms_ok(data: Value) -> String {
    json!({"status": true, "code": 0, "message": "ok", "data": data}).to_string()
}

#[tokio::test]
async fn zvcms_redeem_sends_an_envelope_whose_token_verifies_and_succeeds_on_code_zero() {
    let r = Responder::start("zvcms", |_| {
        ok(zvcms_ok(
            json!({"bizId": 123456789012345678u64, "cardIdList": [390962138708451328u64]}),
        ))
    })
    .await;
    let ch = Channel::new(ChannelConfig::Zvcms(zvcms_config(&r.base)), ctx()).unwrap();
    let mut req = redeem_request("390962138708451328");
    req.count = 3;
    let got = ch.redeem(&req).await.unwrap();
    assert!(
        matches!(&got.value, Outcome::Succeeded(s) if s.channel_refs[0].value == "123456789012345678" && s.count == 3),
        "bizId as a big int stays exact: {:?}",
        got.value
    );
    let sent = r.last();
    assert_eq!(sent.path, "/zvcms/api/v2");
    let env = sent.json();
    let s = |k: &str| env[k].as_str().unwrap().to_owned();
    assert!(
        zvcms::verify_token(
            &s("Token"),
            ZVCMS_SECRET,
            &s("OpenId"),
            &s("GrantCode"),
            &s("Timestamp"),
            &s("Nonce"),
            zvcms::TokenNaming::LowerCamel
        ),
        "the Token verifies over the envelope's own values"
    );
    assert_eq!(s("Timestamp"), "1712563200", "Unix seconds from the clock");
    assert_eq!(s("Action"), zvcms::REDEEM_ACTION);
    let params = &env["Params"];
    assert_eq!(params["bizId"], req.id.as_str(), "our id as bizId");
    assert_eq!(
        params["couponsCardList"],
        json!(["390962138708451328"]),
        "the scanned code, as text"
    );
    assert_eq!(params["type"], 1, "type 1: scanned codes");
    assert_eq!(params["useCount"], 3, "several uses → useCount");
    assert_eq!(
        params["ext"]["multiStoreMark"], "S001",
        "store code on every POS request (§3)"
    );
}

#[tokio::test]
async fn zvcms_busy_codes_are_unknown_and_every_send_has_a_fresh_nonce() {
    let r = Responder::start("zvcms", |_| {
        ok(json!({"status": false, "code": "110004", "message": "签名已使用"}).to_string())
    })
    .await;
    let ch = Channel::new(ChannelConfig::Zvcms(zvcms_config(&r.base)), ctx()).unwrap();
    let req = redeem_request("390962138708451328");
    let first = ch.redeem(&req).await.unwrap();
    let _second = ch.redeem(&req).await.unwrap();
    assert!(
        matches!(
            first.value,
            Outcome::Unknown {
                reason: UnknownReason::ChannelBusy { .. }
            }
        ),
        "110004 → Unknown (§3)"
    );
    let sent = r.requests();
    assert_ne!(
        sent[0].json()["Nonce"],
        sent[1].json()["Nonce"],
        "a retry is never a replay"
    );
    assert_eq!(
        sent[0].json()["Params"]["bizId"],
        sent[1].json()["Params"]["bizId"],
        "same bizId on the retry"
    );
}

#[tokio::test]
async fn zvcms_prepare_previews_and_the_same_call_settles_an_unknown() {
    let coupon = |status: i64| {
        zvcms_ok(
            json!({"status": status.to_string(), "start_at": 1712563200, "end_at": "1735660799",
            "coupon": {"title": "10元代金券", "amount": "10.00", "coupon_type": "0"}}),
        )
    };
    let r = Responder::start("zvcms", move |req| {
        let status = if req.body.contains("\"code\":\"used\"") {
            1
        } else {
            0
        };
        ok(coupon(status))
    })
    .await;
    let ch = Channel::new(ChannelConfig::Zvcms(zvcms_config(&r.base)), ctx()).unwrap();
    let got = ch
        .prepare(&CouponCode::new("fresh").unwrap(), None)
        .await
        .unwrap();
    match got.value {
        Prepared::Ready(p) => {
            assert_eq!(p.name.as_deref(), Some("10元代金券"));
            assert_eq!(
                p.face_value,
                Some(Fen(1000)),
                "amount in 元 for a fixed-amount coupon (§3 [assumed])"
            );
            assert_eq!(
                p.valid_from.as_deref(),
                Some("2024-04-08 16:00:00"),
                "Unix seconds shown in +08:00"
            );
            assert_eq!(p.valid_until.as_deref(), Some("2024-12-31 23:59:59"));
        }
        other => panic!("an unused coupon previews: {other:?}"),
    }
    let used = ch.resolve(&redeem_request("used")).await.unwrap();
    assert!(
        matches!(used.value, Resolution::Succeeded(_)),
        "used after our attempt → Succeeded (§3)"
    );
    let unused = ch.resolve(&redeem_request("fresh")).await.unwrap();
    assert!(
        matches!(unused.value, Resolution::StillUnknown { .. }),
        "still unused proves nothing without uses to compare: a 次券 reads unused after one use"
    );
}

fn liantuofu_detail(left: u32) -> String {
    json!({"code": "SUCCESS", "msg": "成功", "cardNo": "914095353294404024", "cardName": "游泳10次卡",
        "suplusTimes": left.to_string(), "endDate": "2026-12-31"})
    .to_string()
}

#[tokio::test]
async fn liantuofu_signs_a_form_with_digit_randoms_and_never_sends_empty_fields() {
    let r = Responder::start("liantuofu", |_| ok(liantuofu_detail(5))).await;
    let ch = Channel::new(ChannelConfig::Liantuofu(liantuofu_config(&r.base)), ctx()).unwrap();
    let got = ch
        .prepare(&CouponCode::new("914095353294404024").unwrap(), None)
        .await
        .unwrap();
    assert!(
        matches!(&got.value, Prepared::Ready(p) if p.times_remaining == Some(5) && p.redeemable_count == Some(5)),
        "suplusTimes caps the count: {:?}",
        got.value
    );
    let sent = r.last();
    assert_eq!(sent.path, "/liantuofu/open/timescard/userTimesCardDetail");
    assert!(
        sent.head
            .to_ascii_lowercase()
            .contains("application/x-www-form-urlencoded"),
        "a form (§4)"
    );
    let form = sent.form();
    assert!(
        liantuofu::verify(&form, LIANTUOFU_KEY),
        "the form's sign verifies"
    );
    assert!(
        form["random"].len() == 10 && form["random"].bytes().all(|b| b.is_ascii_digit()),
        "digits only (§4)"
    );
    assert!(
        form.values().all(|v| !v.is_empty()),
        "never an empty parameter (§4)"
    );
}

#[tokio::test]
async fn liantuofu_refuses_to_redeem_without_the_remaining_uses_from_the_preview() {
    let r = Responder::start("liantuofu", |_| ok(liantuofu_detail(5))).await;
    let ch = Channel::new(ChannelConfig::Liantuofu(liantuofu_config(&r.base)), ctx()).unwrap();
    let refused = ch.redeem(&redeem_request("914095353294404024")).await;
    assert!(
        matches!(
            refused,
            Err(ChannelError::InvalidInput {
                field: "remaining_before",
                ..
            })
        ),
        "{refused:?}"
    );
    assert!(r.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn liantuofu_settles_an_unknown_by_comparing_remaining_uses() {
    let left = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let l = left.clone();
    let r = Responder::start("liantuofu", move |req| {
        if req.path.ends_with("Consume") {
            Answer::Drop
        } else {
            ok(liantuofu_detail(
                l.load(std::sync::atomic::Ordering::SeqCst),
            ))
        }
    })
    .await;
    let ch = Channel::new(ChannelConfig::Liantuofu(liantuofu_config(&r.base)), ctx()).unwrap();
    let mut req = redeem_request("914095353294404024");
    req.count = 2;
    req.remaining_before = Some(5);
    let sent = ch.redeem(&req).await.unwrap();
    assert!(
        matches!(sent.value, Outcome::Unknown { .. }),
        "a dropped consume is Unknown"
    );
    let form = r.last().form();
    assert_eq!(
        (form["count"].as_str(), form["consumeSource"].as_str()),
        ("2", "1"),
        "count and POS source (§4)"
    );
    for (now, expected) in [(3, "succeeded"), (5, "not_consumed"), (2, "still_unknown")] {
        left.store(now, std::sync::atomic::Ordering::SeqCst);
        let got = ch.resolve(&req).await.unwrap().value;
        let state = serde_json::to_value(&got).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(state, expected, "before 5, count 2, now {now}");
    }
    assert!(
        !ch.capabilities().resend_after_unknown,
        "and the consume itself is never resent (§4)"
    );
}

fn allinpay_ok(data: Value) -> String {
    allinpay_answer(obj(json!({"code": "0", "msg": "成功", "data": data})))
}

#[tokio::test]
async fn allinpay_prepare_lists_douyin_certificates_and_warns_about_the_one_hour_undo() {
    let r = Responder::start("allinpay", |_| {
        ok(allinpay_ok(json!({"couponName": "双人套餐", "couponValue": "99.9", "couponBuyPrice": "59",
            "validityBeginDate": "", "validityEndDate": "2026-12-31 23:59:59",
            "tikTok": {"tiktokCertificateList": [
                {"certificateId": "7000000000000000001", "num": 2, "sku": {"skuId": "s1", "title": "双人套餐", "marketPrice": "9990"}},
                {"certificateId": "7000000000000000002", "sku": {"skuId": "s1", "title": "双人套餐", "marketPrice": 9990}}
            ]}})))
    })
    .await;
    let ch = Channel::new(ChannelConfig::Allinpay(allinpay_config(&r.base)), ctx()).unwrap();
    let code = CouponCode::new("https://v.douyin.com/iJxxxxx/").unwrap();
    assert!(
        matches!(
            ch.prepare(&code, None).await,
            Err(ChannelError::InvalidInput {
                field: "platform",
                ..
            })
        ),
        "the platform is required"
    );
    let got = ch.prepare(&code, Some(Platform::Tiktok)).await.unwrap();
    match got.value {
        Prepared::Ready(p) => {
            assert_eq!(
                (p.face_value, p.price_paid),
                (Some(Fen(9990)), Some(Fen(5900))),
                "元 text read exactly"
            );
            assert_eq!(p.certificates.len(), 2);
            assert_eq!(
                p.certificates[0].market_price,
                Some(Fen(9990)),
                "Douyin marketPrice is already fen (§5)"
            );
            assert_eq!(
                p.redeemable_count,
                Some(3),
                "certificates' counts add up when initAmount is absent"
            );
            assert!(
                p.warnings.contains(&Warning::DouyinUndoWithinOneHour),
                "the cashier must see the 1-hour rule"
            );
        }
        other => panic!("a signed answer previews: {other:?}"),
    }
    let sent = r.last();
    assert_eq!(sent.path, "/allinpay/gateway");
    let form = sent.form();
    assert!(
        allinpay::verify(&form, &form["sign"], &merchant_public()),
        "the request verifies with the merchant's public key"
    );
    assert_eq!(form["signType"], "RSA2");
    assert_eq!(
        form["timestamp"], "2024-04-08 16:00:00",
        "yyyy-MM-dd HH:mm:ss in +08:00"
    );
    let biz: Value = serde_json::from_str(&form["bizContent"]).unwrap();
    assert_eq!(
        biz["couponNo"],
        code.as_str(),
        "the short link is sent whole, never truncated"
    );
}

#[tokio::test]
async fn allinpay_redeem_uses_our_id_as_order_and_request_serial_and_keeps_receipt_codes() {
    let r = Responder::start("allinpay", |_| {
        ok(allinpay_ok(
            json!({"tranNo": "T202404080001", "couponNo": "5948286811", "couponValue": 0.1,
            "mtdz": [{"receiptCode": "R1"}, {"receiptCode": "R2"}]}),
        ))
    })
    .await;
    let ch = Channel::new(ChannelConfig::Allinpay(allinpay_config(&r.base)), ctx()).unwrap();
    let mut req = redeem_request("5948286811");
    req.platform = Some(Platform::Mtdz);
    req.count = 2;
    req.certificates = vec![CertificateChoice {
        id: "c1".into(),
        num: 1,
    }];
    let got = ch.redeem(&req).await.unwrap();
    match got.value {
        Outcome::Succeeded(s) => {
            let refs: Vec<String> = s
                .channel_refs
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect();
            assert_eq!(
                refs,
                [
                    "tranNo=T202404080001",
                    "couponNo=5948286811",
                    "receiptCode=R1",
                    "receiptCode=R2"
                ]
            );
            assert_eq!(
                s.face_value,
                Some(Fen(10)),
                "couponValue as a JSON number 0.1 is exactly 10 fen"
            );
        }
        other => panic!("code 0, signed → Succeeded: {other:?}"),
    }
    let form = r.last().form();
    assert_eq!(
        form["reqSeq"],
        req.id.as_str(),
        "reqSeq is our id for the redeem (§5)"
    );
    let biz: Value = serde_json::from_str(&form["bizContent"]).unwrap();
    assert_eq!(biz["orderId"], req.id.as_str());
    assert_eq!(biz["num"], 2);
    assert_eq!(
        biz["operUserId"], "pos01",
        "the configured operator when the till names none"
    );
    assert_eq!(
        biz["tiktokCertificateList"],
        json!([{"certificateId": "c1", "num": 1}])
    );
}

#[tokio::test]
async fn allinpay_code_three_is_a_rejection_and_a_bad_signature_is_unknown() {
    let r = Responder::start("allinpay", |req| {
        if req.body.contains("USED") {
            ok(allinpay_answer(obj(
                json!({"code": 3, "msg": "券码已使用"}),
            )))
        } else {
            ok(allinpay_ok(json!({"tranNo": "T1"})).replace("T1", "T2"))
        }
    })
    .await;
    let ch = Channel::new(ChannelConfig::Allinpay(allinpay_config(&r.base)), ctx()).unwrap();
    let mut used = redeem_request("USED");
    used.platform = Some(Platform::Meituan);
    assert_eq!(
        ch.redeem(&used).await.unwrap().value,
        Outcome::rejected("3", "券码已使用"),
        "code 3 → Rejected (§5)"
    );
    let mut forged = redeem_request("FORGED");
    forged.platform = Some(Platform::Meituan);
    assert_eq!(
        ch.redeem(&forged).await.unwrap().value,
        Outcome::Unknown {
            reason: UnknownReason::BadSignature
        },
        "an answer whose signature fails is never a success"
    );
}

#[tokio::test]
async fn allinpay_resolves_from_history_but_never_concludes_not_consumed_from_absence() {
    let r = Responder::start("allinpay", |req| {
        let biz: Value = serde_json::from_str(&req.form()["bizContent"]).unwrap();
        assert_eq!(biz["date"], "2024-04-08", "the attempt's business day in +08:00");
        ok(allinpay_ok(json!({"total": 1, "couponVerifyHistoryList": [
            {"couponCode": "5948286811", "couponUseTime": "2024-04-08 15:59:00", "couponCancelStatus": "1",
             "couponBuyPrice": "0.1", "dealTitle": "0.1团10百货券", "dealValue": "10", "verifyAcct": "pos01"}
        ]})))
    })
    .await;
    let ch = Channel::new(ChannelConfig::Allinpay(allinpay_config(&r.base)), ctx()).unwrap();
    let found = ch.resolve(&redeem_request("5948286811")).await.unwrap();
    assert!(
        matches!(found.value, Resolution::Succeeded(ref s) if s.face_value == Some(Fen(1000))),
        "{:?}",
        found.value
    );
    let absent = ch.resolve(&redeem_request("0000000000")).await.unwrap();
    assert!(
        matches!(absent.value, Resolution::StillUnknown { .. }),
        "absence proves nothing (§0)"
    );
    let day = ch
        .history(time::Date::from_calendar_date(2024, time::Month::April, 8).unwrap())
        .await
        .unwrap();
    assert_eq!(day.value.len(), 1);
    assert_eq!(
        day.value[0].can_undo,
        Some(true),
        "couponCancelStatus \"1\" = can still be undone"
    );
}

#[tokio::test]
async fn yhtd_notifies_a_sale_with_the_optional_signature_and_redeems_nothing() {
    let r = Responder::start("yhtd", |_| {
        ok(r#"{"resultCode":"0000","resultMsg":"成功"}"#)
    })
    .await;
    let ch = Channel::new(ChannelConfig::Yhtd(yhtd_config(&r.base, true)), ctx()).unwrap();
    let product = yhtd::Product {
        no: "2112291922150704074".into(),
        name: "畅玩单人联票".into(),
        unit_price: Fen(3000),
    };
    let n = yhtd::Notification::new(
        redeemdesk_core::channel::RedemptionId::new_v4(),
        &product,
        "王刚",
        "13566662456",
        2,
    )
    .unwrap();
    let got = ch.notify(&n).await.unwrap();
    assert_eq!(got.value, NotifyOutcome::Delivered);
    let sent = r.last();
    assert_eq!(sent.path, "/yhtd/couponsCallBack");
    let body: std::collections::BTreeMap<String, String> = sent
        .json()
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(body["sumMoney"], "6000", "computed total in fen, as text");
    assert_eq!(
        body["dealSerial"],
        n.deal_serial.as_str(),
        "our id: the outbox resends with the same serial"
    );
    assert!(
        yhtd::verify(&body, YHTD_KEY),
        "the optional §7 signature verifies"
    );
    assert!(
        matches!(
            ch.redeem(&redeem_request("x")).await,
            Err(ChannelError::Unsupported {
                operation: Operation::Redeem,
                ..
            })
        ),
        "增值券 redeems no code"
    );
}

#[test]
fn a_notification_refuses_a_phone_that_is_not_a_mainland_mobile() {
    let product = yhtd::Product {
        no: "P1".into(),
        name: "联票".into(),
        unit_price: Fen(3000),
    };
    for bad in ["23566662456", "1356666245", "1356666245x", ""] {
        let e = yhtd::Notification::new(
            redeemdesk_core::channel::RedemptionId::new_v4(),
            &product,
            "王刚",
            bad,
            1,
        )
        .unwrap_err();
        assert_eq!(
            e,
            yhtd::NotificationError::Phone,
            "{bad:?} is not 11 digits starting with 1"
        );
    }
    let zero = yhtd::Notification::new(
        redeemdesk_core::channel::RedemptionId::new_v4(),
        &product,
        "王刚",
        "13566662456",
        0,
    );
    assert_eq!(
        zero.unwrap_err(),
        yhtd::NotificationError::Quantity,
        "quantity ≥ 1 (§1)"
    );
}
