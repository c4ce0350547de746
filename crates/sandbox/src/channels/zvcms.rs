//! 智迈 zvcms emulator (channels.md §3): `POST /api/v2` with a JSON envelope whose
//! `Action` picks the call — `communal.user.coupons-vertify` (redeem, the vendor's typo) and
//! `coupon.off-coupon` (preview / status). The envelope `Token` is checked with the demo
//! secret; a `(Nonce, Timestamp)` pair seen before is refused as a replay. Idempotency key:
//! `bizId`. Answers are unsigned and carry the seed's quirks: `status` `"true"` on success
//! and `true` on a business refusal (`false` for system errors), `code` as `"0"` or `0`,
//! `cardIdList` as the string `"[…]"`, the response `bizId` an integer (the platform's own
//! id, used for a reversal), member ints sent as `""`.
//!
//! Readings (`reading::ZvcmsReading`): `token` the names the Token is verified with;
//! `counts = no_counts` leaves `total_count` / `remain_count` out of the preview;
//! `biz_id = echo` answers the request's `bizId` string instead of the platform's integer
//! (and records the write-off under it).

use super::{count_field, field, json_answer, text, Shared};
use crate::fault::Operation;
use crate::reading::{ZvcmsBizId, ZvcmsCounts};
use crate::server::{self, Conn};
use crate::store::bytes_body::AnswerBytes;
use crate::store::{ConsumeRequest, CouponState, Refusal, StoredAnswer};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::Response;
use axum::routing::post;
use axum::{Extension, Router};
use redeemdesk_core::channel::zvcms;
use redeemdesk_core::channel::ChannelKind;
use serde_json::{json, Map, Value};
use std::sync::Arc;

const KIND: ChannelKind = ChannelKind::Zvcms;
/// Redeem. The misspelling is the real Action name (seed 002).
pub const ACTION_REDEEM: &str = "communal.user.coupons-vertify";
/// Preview and status of one coupon by its code.
pub const ACTION_PREVIEW: &str = "coupon.off-coupon";

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/api/v2", post(api))
}

/// A system-level error: `status` false (channels.md §3 → Unknown for the client, except
/// where it recognises a configuration problem). Codes are [assumed]: 110001 missing
/// parameter, 110002 unknown OpenId/GrantCode, 110004 Token check failed (验签), 110005
/// unknown Action, 110007 replayed Nonce.
fn system_error(code: &str, message: &str) -> AnswerBytes {
    json_answer(&json!({ "status": false, "code": code, "message": message }))
}

/// A business refusal: `status` true with a non-zero code (the seed's exception example).
fn refusal_answer(refusal: &Refusal) -> AnswerBytes {
    let (code, message) = match refusal {
        Refusal::NotFound | Refusal::UnknownCertificate(_) => ("120100", "优惠券不存在".to_owned()),
        Refusal::Used | Refusal::CertificateUsed(_) => ("120101", "优惠券已使用".to_owned()),
        Refusal::Expired => ("120102", "优惠券已过期".to_owned()),
        Refusal::Locked => ("120103", "优惠券已锁定".to_owned()),
        Refusal::NotStarted => ("120104", "优惠券未到使用时间".to_owned()),
        Refusal::NotEnoughLeft { left } => ("120105", format!("次券剩余次数不足,剩余{left}次")),
        Refusal::BadCount | Refusal::CertificatesRequired => ("120106", "useCount无效".to_owned()),
        Refusal::Refunded => ("120107", "优惠券已退款".to_owned()),
        Refusal::RedeemRefused => ("120108", "该券不适用于当前门店".to_owned()),
    };
    business_error(code, &message)
}

fn business_error(code: &str, message: &str) -> AnswerBytes {
    json_answer(&json!({ "status": true, "code": code, "message": message }))
}

/// Reads `couponsCardList` as a list, or as the string `"[390962138708451328]"`, of codes
/// written as strings or numbers (channels.md §3 quirk, both ways).
fn card_list(v: Option<&Value>) -> Vec<String> {
    let items: Vec<Value> = match v {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(s)) => {
            let s = s.trim();
            match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(items)) => items,
                // `[390962138708451328]` parses as JSON; `[a,b]` without quotes does not.
                _ => s
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|p| Value::String(p.trim().trim_matches('"').to_owned()))
                    .collect(),
            }
        }
        Some(other @ Value::Number(_)) => vec![other.clone()],
        _ => Vec::new(),
    };
    items
        .iter()
        .filter_map(|v| text(Some(v)))
        .filter(|s| !s.is_empty())
        .collect()
}

async fn api(
    State(shared): State<Arc<Shared>>,
    conn: Option<Extension<Conn>>,
    body: Bytes,
) -> Response<Body> {
    let conn = conn.as_ref().map(|Extension(c)| c);
    let Some(envelope) = super::json_object(&body) else {
        return server::respond(&system_error("110001", "请求格式错误"));
    };
    let mut parts = Vec::new();
    for name in [
        "OpenId",
        "GrantCode",
        "Token",
        "Timestamp",
        "Nonce",
        "Action",
    ] {
        match field(&envelope, name) {
            Some(v) => parts.push(v),
            None => return server::respond(&system_error("110001", &format!("缺少参数{name}"))),
        }
    }
    let [open_id, grant_code, token, timestamp, nonce, action] =
        <[String; 6]>::try_from(parts).unwrap_or_default();
    let creds = &shared.demo.zvcms;
    if open_id != creds.open_id || grant_code != creds.grant_code {
        return server::respond(&system_error("110002", "OpenId或GrantCode无效"));
    }
    if !zvcms::verify_token(
        &token,
        &creds.secret,
        &open_id,
        &grant_code,
        &timestamp,
        &nonce,
        shared.readings().zvcms.token,
    ) {
        return server::respond(&system_error("110004", "Token验签失败"));
    }
    let fresh = shared
        .zvcms_nonces
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert((nonce.clone(), timestamp.clone()));
    if !fresh {
        return server::respond(&system_error("110007", "重复请求:Nonce已使用"));
    }
    let params = match envelope.get("Params") {
        Some(Value::Object(p)) => p.clone(),
        // Params sent as JSON text: tolerate it.
        Some(Value::String(s)) => super::json_object(s.as_bytes()).unwrap_or_default(),
        _ => Map::new(),
    };
    match action.as_str() {
        ACTION_REDEEM => redeem(&shared, conn, &params).await,
        ACTION_PREVIEW => preview(&shared, conn, &params).await,
        _ => server::respond(&system_error("110005", "Action不存在")),
    }
}

async fn redeem(
    shared: &Shared,
    conn: Option<&Conn>,
    params: &Map<String, Value>,
) -> Response<Body> {
    let Some(biz_id) = field(params, "bizId") else {
        return server::respond(&business_error("120001", "bizId不能为空"));
    };
    let codes = card_list(params.get("couponsCardList"));
    if codes.is_empty() {
        return server::respond(&business_error("120002", "couponsCardList不能为空"));
    }
    // Without type=1 the list holds user coupon ids, which need the member (seed 002).
    let by_code = field(params, "type").as_deref() == Some("1");
    if !by_code && field(params, "customerId").is_none() {
        return server::respond(&business_error("120003", "customerId不能为空"));
    }
    let Ok(use_count) = count_field(params, "useCount") else {
        return server::respond(&business_error("120106", "useCount无效"));
    };
    let code_refs: Vec<&str> = codes.iter().map(String::as_str).collect();
    let replay = shared.store().answer_for(KIND, &biz_id).is_some();
    let strike = shared.strike(KIND, Operation::Redeem, &code_refs, replay);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let joined = codes.join(",");
    let answer = {
        let mut store = shared.store();
        match store.answer_for(KIND, &biz_id) {
            Some(stored) if stored.code == joined => stored.answer.clone(),
            Some(_) => business_error("120004", "bizId重复"),
            None => {
                let multi = codes
                    .iter()
                    .any(|c| store.coupon(KIND, c).is_some_and(|c| c.demo.uses > 1));
                let answer = if multi && codes.len() > 1 {
                    business_error("120005", "次券核销时couponsCardList只允许一个")
                } else {
                    // [assumed] A 次券 without `useCount` consumes one use: the seed calls
                    // it required but a one-use write-off is the only sensible reading.
                    let count = if multi { use_count.unwrap_or(1) } else { 1 };
                    let requests: Vec<ConsumeRequest<'_>> = codes
                        .iter()
                        .map(|c| ConsumeRequest {
                            channel: KIND,
                            code: c,
                            count,
                            idempotency_key: Some(&biz_id),
                            certificates: None,
                            operator: field(params, "channel").unwrap_or_default(),
                        })
                        .collect();
                    let mut distinct = codes.clone();
                    distinct.sort();
                    distinct.dedup();
                    let checked = if distinct.len() != codes.len() {
                        Err(business_error("120006", "couponsCardList有重复券码"))
                    } else {
                        requests
                            .iter()
                            .try_for_each(|r| store.check(r, now))
                            .map_err(|refusal| refusal_answer(&refusal))
                    };
                    match checked {
                        Err(answer) => answer,
                        Ok(()) => {
                            // The platform's own id for the write-off: an integer in the
                            // answer (channels.md §3), 18 digits so a client that reads
                            // it through f64 would corrupt it.
                            let platform_biz_id = 860_000_000_000_000_000u64 + store.next_seq();
                            let (record_id, answered_biz_id) = match shared.readings().zvcms.biz_id
                            {
                                ZvcmsBizId::Platform => {
                                    (platform_biz_id.to_string(), json!(platform_biz_id))
                                }
                                ZvcmsBizId::Echo => (biz_id.clone(), json!(biz_id)),
                            };
                            for r in &requests {
                                // Checked above under the same lock: cannot fail now.
                                let _ = store.consume(r, record_id.clone(), now);
                            }
                            json_answer(&json!({
                                "status": "true",
                                "code": "0",
                                "message": "核销成功",
                                "data": {
                                    "bizId": answered_biz_id,
                                    "cardIdList": format!("[{}]", codes.join(",")),
                                    "userInfo": {
                                        "customer_id": "", "birthday": "", "username": "",
                                        "nickname": "", "phone": "", "gender": "",
                                        "province": "", "city": "", "district": ""
                                    }
                                }
                            }))
                        }
                    }
                };
                store.remember_answer(
                    KIND,
                    &biz_id,
                    StoredAnswer {
                        code: joined.clone(),
                        answer: answer.clone(),
                    },
                );
                answer
            }
        }
    };
    // zvcms answers carry no signature: BadSignature has nothing to spoil.
    server::after(strike, &answer, conn).await
}

/// `coupon.off-coupon` (channels.md §3 [doc]): the coupon's status (0 unused, 1 used,
/// 2 locked), validity in Unix seconds and the coupon template. `total_count` and
/// `remain_count` for a 次券 are [assumed]: the public page shows no count fields.
async fn preview(
    shared: &Shared,
    conn: Option<&Conn>,
    params: &Map<String, Value>,
) -> Response<Body> {
    let Some(code) = field(params, "code") else {
        return server::respond(&business_error("120002", "code不能为空"));
    };
    let strike = shared.strike(KIND, Operation::Prepare, &[code.as_str()], false);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let answer = {
        let store = shared.store();
        match store.coupon(KIND, &code) {
            None => refusal_answer(&Refusal::NotFound),
            Some(c) => {
                let status = match c.state {
                    CouponState::Unused | CouponState::Expired => 0,
                    CouponState::Used | CouponState::Refunded => 1,
                    CouponState::Locked => 2,
                };
                let secs = |ms: Option<i64>| ms.map(|m| json!(m / 1000)).unwrap_or(json!(""));
                let (amount, coupon_type) = match (c.demo.coupon_type, &c.demo.discount) {
                    (1, Some(d)) => (d.clone(), 1),
                    _ => (c.demo.face.to_yuan_string(), 0),
                };
                let expired_flag = c.state == CouponState::Expired;
                let end_at = if expired_flag && c.demo.valid_to_ms.is_none() {
                    // Expired by decree with no date: say when, in the past.
                    json!(now / 1000 - 86_400)
                } else {
                    secs(c.demo.valid_to_ms)
                };
                let mut answer = json!({
                    "status": true,
                    "code": 0,
                    "message": "success",
                    "data": {
                        "code": c.demo.code,
                        "status": status,
                        "start_at": secs(c.demo.valid_from_ms),
                        "end_at": end_at,
                        "total_count": c.demo.uses,
                        "remain_count": c.left,
                        "coupon": {
                            "title": c.demo.name,
                            "amount": amount,
                            "coupon_type": coupon_type,
                            "min_amount_use": c.demo.min_use.to_yuan_string(),
                            "desc": "",
                        }
                    }
                });
                if shared.readings().zvcms.counts == ZvcmsCounts::NoCounts {
                    if let Some(data) = answer["data"].as_object_mut() {
                        data.remove("total_count");
                        data.remove("remain_count");
                    }
                }
                json_answer(&answer)
            }
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
) -> zvcms::Config {
    zvcms::Config {
        base_url,
        open_id: demo.zvcms.open_id.clone(),
        grant_code: demo.zvcms.grant_code.clone(),
        secret: redeemdesk_core::secret::Secret::new(demo.zvcms.secret.clone()),
        store_mark: Some(demo.zvcms.multi_store_mark.clone()),
        store_id: None,
        token_naming: zvcms::TokenNaming::default(),
        timeouts,
    }
}

/// The same merchant as a manager types it in 设置: its settings, then its secrets.
pub fn demo_setup(demo: &crate::demo::DemoData, base_url: &str) -> super::DemoSetup {
    (
        vec![
            ("base_url", base_url.to_owned()),
            ("open_id", demo.zvcms.open_id.clone()),
            ("grant_code", demo.zvcms.grant_code.clone()),
            ("store_mark", demo.zvcms.multi_store_mark.clone()),
        ],
        vec![("secret", demo.zvcms.secret.clone())],
    )
}
