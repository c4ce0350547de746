//! 联拓富 emulator (channels.md §4): `POST /open/timescard/userTimesCardDetail` and
//! `/userTimesCardConsume`, form-urlencoded requests with an MD5 `sign`, flat JSON answers
//! (`code` `SUCCESS`/`FAILED`, `msg`). There is no idempotency key and no record id: a
//! repeated consume consumes again, which is why the client must never resend one and
//! settles an Unknown by comparing `suplusTimes` (the vendor's spelling) before and after.
//!
//! Reading (`reading::LiantuofuReading`): `empty_in_sign = kept` verifies the request
//! signature over every field but `sign`, empty values included as `k=` (the doc says they
//! are dropped; whether the gateway does is open).

use super::{json_answer, Shared};
use crate::fault::Operation;
use crate::reading::EmptyInSign;
use crate::server::{self, Conn};
use crate::store::bytes_body::AnswerBytes;
use crate::store::{ConsumeRequest, CouponState, Refusal};
use crate::time;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::Response;
use axum::routing::post;
use axum::{Extension, Router};
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::channel::{liantuofu, signing};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

const KIND: ChannelKind = ChannelKind::Liantuofu;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/open/timescard/userTimesCardDetail", post(detail))
        .route("/open/timescard/userTimesCardConsume", post(consume))
}

fn failed(msg: &str) -> AnswerBytes {
    json_answer(&json!({ "code": "FAILED", "msg": msg }))
}

/// The checks every request goes through: form body, `appId`, `sign`, digits-only `random`
/// (the vendor's rule, although the seed's own example sends `liantuo123`).
fn authenticate(shared: &Shared, body: &[u8]) -> Result<BTreeMap<String, String>, AnswerBytes> {
    let Some(params) = super::form(body) else {
        return Err(failed("参数格式错误"));
    };
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    for required in ["appId", "sign", "random"] {
        if get(required).is_empty() {
            return Err(failed(&format!("缺少参数{required}")));
        }
    }
    let creds = &shared.demo.liantuofu;
    if get("appId") != creds.app_id {
        return Err(failed("appId不存在"));
    }
    let verified = match shared.readings().liantuofu.empty_in_sign {
        EmptyInSign::Dropped => liantuofu::verify(&params, &creds.key),
        EmptyInSign::Kept => verify_keeping_empty(&params, &creds.key),
    };
    if !verified {
        return Err(failed("签名错误"));
    }
    if !get("random").bytes().all(|b| b.is_ascii_digit()) {
        return Err(failed("random只能为数字"));
    }
    Ok(params)
}

/// The signature with empty values kept as `k=` (the `kept` reading).
fn verify_keeping_empty(params: &BTreeMap<String, String>, key: &str) -> bool {
    let expected = signing::md5_with_key(
        params
            .iter()
            .filter(|(k, _)| k.as_str() != "sign")
            .map(|(k, v)| (k.as_str(), v.as_str())),
        key,
    );
    params
        .get("sign")
        .is_some_and(|received| signing::hex_eq(&expected, received))
}

fn refusal_msg(refusal: &Refusal) -> String {
    match refusal {
        Refusal::NotFound | Refusal::UnknownCertificate(_) => "次卡不存在".into(),
        Refusal::Used | Refusal::NotEnoughLeft { .. } | Refusal::CertificateUsed(_) => {
            "剩余次数不足".into()
        }
        Refusal::Expired => "次卡已过期".into(),
        Refusal::NotStarted => "次卡未生效".into(),
        Refusal::Refunded => "次卡已退卡".into(),
        Refusal::Locked => "次卡已冻结".into(),
        Refusal::BadCount | Refusal::CertificatesRequired => "核销次数不正确".into(),
        Refusal::RedeemRefused => "该次卡暂不可核销".into(),
    }
}

/// `userTimesCardDetail` (channels.md §4 [doc]): the card and its remaining uses.
async fn detail(
    State(shared): State<Arc<Shared>>,
    conn: Option<Extension<Conn>>,
    body: Bytes,
) -> Response<Body> {
    let conn = conn.as_ref().map(|Extension(c)| c);
    let params = match authenticate(&shared, &body) {
        Ok(p) => p,
        Err(answer) => return server::respond(&answer),
    };
    let Some(card_no) = params.get("cardNo").filter(|c| !c.is_empty()).cloned() else {
        return server::respond(&failed("缺少参数cardNo"));
    };
    let strike = shared.strike(KIND, Operation::Prepare, &[card_no.as_str()], false);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let answer = {
        let store = shared.store();
        match store.coupon(KIND, &card_no) {
            None => failed("次卡不存在"),
            Some(c) if c.state == CouponState::Refunded => failed("次卡已退卡"),
            Some(c) => json_answer(&json!({
                "code": "SUCCESS",
                "msg": "成功",
                "cardNo": c.demo.code,
                "cardName": c.demo.name,
                "suplusTimes": c.left,
                "endDate": c.demo.valid_to_ms.map(time::datetime).unwrap_or_default(),
                "memberName": c.demo.member_name,
                "memberMobile": c.demo.member_mobile,
            })),
        }
    };
    server::after(strike, &answer, conn).await
}

/// `userTimesCardConsume` (channels.md §4 [seed]).
async fn consume(
    State(shared): State<Arc<Shared>>,
    conn: Option<Extension<Conn>>,
    body: Bytes,
) -> Response<Body> {
    let conn = conn.as_ref().map(|Extension(c)| c);
    let params = match authenticate(&shared, &body) {
        Ok(p) => p,
        Err(answer) => return server::respond(&answer),
    };
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    for required in ["consumeSource", "cardNo", "count", "consumeMerchantCode"] {
        if get(required).is_empty() {
            return server::respond(&failed(&format!("缺少参数{required}")));
        }
    }
    if !matches!(get("consumeSource"), "0" | "1" | "2") {
        return server::respond(&failed("核销来源不正确"));
    }
    if get("consumeMerchantCode") != shared.demo.liantuofu.merchant_code {
        return server::respond(&failed("核销门店不存在"));
    }
    let Ok(count) = get("count").parse::<u32>() else {
        return server::respond(&failed("核销次数不正确"));
    };
    let card_no = get("cardNo").to_owned();
    // No idempotency key: a resent consume is a new consume, so it is never a replay.
    let strike = shared.strike(KIND, Operation::Redeem, &[card_no.as_str()], false);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let answer = {
        let mut store = shared.store();
        let seq = store.next_seq();
        let request = ConsumeRequest {
            channel: KIND,
            code: &card_no,
            count,
            idempotency_key: None,
            certificates: None,
            operator: get("consumeEmployeeId").to_owned(),
        };
        match store.consume(&request, format!("LTF{seq:012}"), now) {
            Ok(_) => json_answer(&json!({ "code": "SUCCESS", "msg": "成功" })),
            Err(refusal) => failed(&refusal_msg(&refusal)),
        }
    };
    server::after(strike, &answer, conn).await
}

// ---------------------------------------------------------------------------------------
// Sandbox mode's merchant

/// The core's settings for this emulator's demo merchant at `base_url` (sandbox mode).
pub fn demo_config(
    demo: &crate::demo::DemoData,
    base_url: url::Url,
    timeouts: redeemdesk_core::channel::Timeouts,
) -> liantuofu::Config {
    liantuofu::Config {
        base_url,
        app_id: demo.liantuofu.app_id.clone(),
        consume_merchant_code: demo.liantuofu.merchant_code.clone(),
        consume_employee_id: None,
        key: redeemdesk_core::secret::Secret::new(demo.liantuofu.key.clone()),
        timeouts,
    }
}

/// The same merchant as a manager types it in 设置: its settings, then its secrets.
pub fn demo_setup(demo: &crate::demo::DemoData, base_url: &str) -> super::DemoSetup {
    (
        vec![
            ("base_url", base_url.to_owned()),
            ("app_id", demo.liantuofu.app_id.clone()),
            (
                "consume_merchant_code",
                demo.liantuofu.merchant_code.clone(),
            ),
        ],
        vec![("key", demo.liantuofu.key.clone())],
    )
}
