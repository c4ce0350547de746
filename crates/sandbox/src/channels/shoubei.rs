//! 收呗 emulator (channels.md §2): `POST /openpay/coupon/wf`, `/quary` (the vendor's
//! spelling) and `/cancel`, JSON in and out, MD5 `sign` checked on every request and set on
//! every answer with the institution key. Idempotency key: `wf_trace_no` (a repeat is
//! answered with the original bytes). Quirks reproduced: the decision is in `result_code`
//! while `return_code` carries a vendor code such as `"0205"`; a failure has `order_no`,
//! `amount` and `settleAmount` as `null`; successes alternate `settle_amount` and its camel
//! alias `settleAmount`; `couponCode` is accepted for `coupon_code`.
//!
//! Reading (`reading::ShoubeiQuery`, channels.md §2 [assumed] shape of `quary`/`cancel`):
//! `by_trace` finds the record by `wf_trace_no` and answers like `wf`; `by_code` ignores
//! `wf_trace_no` and acts on the coupon's latest live record (any trace), answering like
//! `wf` about THAT record; `processed` answers `SUCCESS` for any valid query and lists
//! what it found in `records` (`[{order_no, wf_trace_no, codes, status}]`, status 1
//! written off / 2 cancelled), and a bare `SUCCESS` for any valid cancel.

use super::{field, json_answer, json_object, Shared};
use crate::fault::{Fault, Operation};
use crate::reading::ShoubeiQuery;
use crate::server::{self, Conn};
use crate::store::bytes_body::AnswerBytes;
use crate::store::{ConsumeRequest, Consumption, Refusal, StoredAnswer};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::Response;
use axum::routing::post;
use axum::{Extension, Router};
use redeemdesk_core::channel::shoubei;
use redeemdesk_core::channel::ChannelKind;
use serde_json::{json, Map, Value};
use std::sync::Arc;

const KIND: ChannelKind = ChannelKind::Shoubei;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/openpay/coupon/wf", post(wf))
        .route("/openpay/coupon/quary", post(query))
        .route("/openpay/coupon/cancel", post(cancel))
}

/// Signs an answer with the institution key (the same convention as requests).
fn signed(shared: &Shared, mut map: Map<String, Value>) -> AnswerBytes {
    let sign = shoubei::sign(&map, &shared.demo.shoubei.key);
    map.insert("sign".into(), Value::String(sign));
    json_answer(&Value::Object(map))
}

/// The same answer with a signature made with another key: it will not verify.
fn wrongly_signed(answer: &AnswerBytes) -> AnswerBytes {
    let mut spoiled = answer.clone();
    if let Some(mut map) = json_object(&answer.body) {
        let bad = shoubei::sign(&map, "not-the-institution-key");
        map.insert("sign".into(), Value::String(bad));
        spoiled.body = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
    }
    spoiled
}

/// `return_code FAIL` without a `result_code`: a parameter or signature problem, which the
/// client must show as a configuration error (channels.md §2). [assumed] Unsigned: the
/// gateway answers before it has authenticated the caller (it may not even know the
/// institution), so there is no key both sides share to sign with.
fn protocol_error(_shared: &Shared, msg: &str) -> AnswerBytes {
    json_answer(&json!({ "return_code": "FAIL", "return_msg": msg }))
}

/// The checks every 收呗 request goes through: a JSON object, the institution, the
/// signature, the merchant and shop, `ts`. Returns the request and its coupon code.
fn authenticate(shared: &Shared, body: &[u8]) -> Result<(Map<String, Value>, String), AnswerBytes> {
    let Some(req) = json_object(body) else {
        return Err(protocol_error(shared, "参数格式错误:请求体不是JSON对象"));
    };
    let creds = &shared.demo.shoubei;
    for required in ["inst_no", "merchant_no", "shop_no", "ts", "sign"] {
        if field(&req, required).is_none() {
            return Err(protocol_error(
                shared,
                &format!("参数不合法:缺少{required}"),
            ));
        }
    }
    if field(&req, "inst_no").as_deref() != Some(creds.inst_no.as_str()) {
        return Err(protocol_error(shared, "机构号不存在"));
    }
    if !shoubei::verify(&req, &creds.key) {
        return Err(protocol_error(shared, "签名错误"));
    }
    if field(&req, "merchant_no").as_deref() != Some(creds.merchant_no.as_str()) {
        return Err(protocol_error(shared, "商户不存在"));
    }
    if field(&req, "shop_no").as_deref() != Some(creds.shop_no.as_str()) {
        return Err(protocol_error(shared, "门店不存在"));
    }
    let ts = field(&req, "ts").unwrap_or_default();
    if ts.len() != 14 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(protocol_error(
            shared,
            "参数不合法:ts格式应为yyyyMMddHHmmss",
        ));
    }
    // The seed's table says `coupon_code`, its example `couponCode` (channels.md §2).
    let code = field(&req, "coupon_code")
        .or_else(|| field(&req, "couponCode"))
        .unwrap_or_default();
    Ok((req, code))
}

/// The vendor's code and text for a refusal ([assumed] beyond `0205`, which is the seed's).
fn refusal_words(refusal: &Refusal) -> (&'static str, String) {
    match refusal {
        Refusal::NotFound | Refusal::UnknownCertificate(_) => ("0201", "券码不存在".into()),
        Refusal::Used | Refusal::CertificateUsed(_) | Refusal::NotEnoughLeft { .. } => {
            ("0202", "券码已使用".into())
        }
        Refusal::Expired => ("0203", "券码已过期".into()),
        Refusal::NotStarted => ("0204", "券码未到使用时间".into()),
        Refusal::Refunded => ("0205", "券码已退款".into()),
        Refusal::Locked => ("0206", "券码已冻结".into()),
        Refusal::BadCount | Refusal::CertificatesRequired => ("0207", "参数不合法".into()),
        Refusal::RedeemRefused => ("0212", "该券不适用于当前门店".into()),
    }
}

/// A `result_code FAIL` answer in the seed's own shape (nulls included).
fn failure(
    shared: &Shared,
    return_code: &str,
    msg: &str,
    code: &str,
    trace: Option<&str>,
) -> AnswerBytes {
    let mut map = Map::new();
    map.insert("return_code".into(), json!(return_code));
    map.insert("return_msg".into(), json!(msg));
    map.insert("result_code".into(), json!("FAIL"));
    map.insert("order_no".into(), Value::Null);
    if let Some(trace) = trace {
        map.insert("wf_trace_no".into(), json!(trace));
    }
    map.insert("codes".into(), json!(code));
    map.insert("amount".into(), Value::Null);
    map.insert("settleAmount".into(), Value::Null);
    signed(shared, map)
}

/// A `result_code SUCCESS` answer describing a record. Every other record spells the
/// settle amount `settleAmount` (channels.md §2 quirk), decided by its record number so
/// the same record always reads the same.
fn success(shared: &Shared, msg: &str, record: &Consumption) -> AnswerBytes {
    let mut map = Map::new();
    map.insert("return_code".into(), json!("SUCCESS"));
    map.insert("return_msg".into(), json!(msg));
    map.insert("result_code".into(), json!("SUCCESS"));
    map.insert("order_no".into(), json!(record.record_id));
    if let Some(trace) = &record.idempotency_key {
        map.insert("wf_trace_no".into(), json!(trace));
    }
    map.insert("codes".into(), json!(record.code));
    map.insert("amount".into(), json!(record.face.0.to_string()));
    let camel = record.record_id.bytes().last().is_some_and(|b| b % 2 == 1);
    let settle_key = if camel {
        "settleAmount"
    } else {
        "settle_amount"
    };
    map.insert(settle_key.into(), json!(record.settle.0.to_string()));
    signed(shared, map)
}

async fn wf(
    State(shared): State<Arc<Shared>>,
    conn: Option<Extension<Conn>>,
    body: Bytes,
) -> Response<Body> {
    let conn = conn.as_ref().map(|Extension(c)| c);
    let (req, code) = match authenticate(&shared, &body) {
        Ok(ok) => ok,
        Err(answer) => return server::respond(&answer),
    };
    if code.is_empty() {
        return server::respond(&protocol_error(&shared, "参数不合法:缺少coupon_code"));
    }
    let trace = field(&req, "wf_trace_no");
    let replay = trace
        .as_deref()
        .is_some_and(|t| shared.store().answer_for(KIND, t).is_some());
    let strike = shared.strike(KIND, Operation::Redeem, &[code.as_str()], replay);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let answer = {
        let mut store = shared.store();
        match trace.as_deref().and_then(|t| store.answer_for(KIND, t)) {
            Some(stored) if stored.code == code => stored.answer.clone(),
            Some(_) => failure(&shared, "0208", "核销流水号重复", &code, trace.as_deref()),
            None => {
                // 苏打优选 / 可伴 coupons cannot be redeemed on an order that already had an
                // independent discount (seed 001 `exc_discount_flag`).
                let excluded = field(&req, "exc_discount_flag").as_deref() == Some("1")
                    && store
                        .coupon(KIND, &code)
                        .and_then(|c| c.demo.channel_type.as_deref())
                        .is_some_and(|t| t == "10005" || t == "10009");
                let answer = if excluded {
                    failure(
                        &shared,
                        "0209",
                        "已享受独立优惠,不可核销苏打/可伴券",
                        &code,
                        trace.as_deref(),
                    )
                } else {
                    let seq = store.next_seq();
                    let record_id = format!("51637564335214{seq:010}");
                    let request = ConsumeRequest {
                        channel: KIND,
                        code: &code,
                        count: 1,
                        idempotency_key: trace.as_deref(),
                        certificates: None,
                        operator: field(&req, "shop_no").unwrap_or_default(),
                    };
                    match store.consume(&request, record_id, now) {
                        Ok(record) => success(&shared, "操作成功", &record),
                        Err(refusal) => {
                            let (rc, msg) = refusal_words(&refusal);
                            failure(&shared, rc, &msg, &code, trace.as_deref())
                        }
                    }
                };
                if let Some(t) = trace.as_deref() {
                    store.remember_answer(
                        KIND,
                        t,
                        StoredAnswer {
                            code: code.clone(),
                            answer: answer.clone(),
                        },
                    );
                }
                answer
            }
        }
    };
    let sent = match strike.map(|s| s.fault) {
        Some(Fault::BadSignature) => wrongly_signed(&answer),
        _ => answer,
    };
    server::after(strike, &sent, conn).await
}

/// `quary` [assumed shape, channels.md §2], by the reading: `by_trace` finds the record by
/// `wf_trace_no` and answers like `wf` — `SUCCESS` for a live record, `FAIL` `0210` for a
/// cancelled one, `FAIL` `0211` when there is none; `by_code` the same about the coupon's
/// latest live record; `processed` see [`processed_query`].
async fn query(
    State(shared): State<Arc<Shared>>,
    conn: Option<Extension<Conn>>,
    body: Bytes,
) -> Response<Body> {
    let conn = conn.as_ref().map(|Extension(c)| c);
    let (req, code) = match authenticate(&shared, &body) {
        Ok(ok) => ok,
        Err(answer) => return server::respond(&answer),
    };
    let reading = shared.readings().shoubei.query;
    let trace = match needed_key(&shared, reading, &req, &code) {
        Ok(trace) => trace,
        Err(answer) => return server::respond(&answer),
    };
    let strike = shared.strike(KIND, Operation::Query, &[code.as_str()], false);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let answer = {
        let store = shared.store();
        match reading {
            ShoubeiQuery::ByTrace => match store.record_by_key(KIND, &trace) {
                Some(r) if r.cancelled_at_ms.is_some() => {
                    failure(&shared, "0210", "核销已撤销", &r.code, Some(&trace))
                }
                Some(r) => success(&shared, "查询成功", r),
                None => failure(&shared, "0211", "核销记录不存在", &code, Some(&trace)),
            },
            ShoubeiQuery::ByCode => match store.latest_live_record(KIND, &code) {
                Some(r) => success(&shared, "查询成功", r),
                None => failure(&shared, "0211", "核销记录不存在", &code, None),
            },
            ShoubeiQuery::Processed => {
                processed_query(&shared, &trace, store.record_by_key(KIND, &trace))
            }
        }
    };
    let sent = match strike.map(|s| s.fault) {
        Some(Fault::BadSignature) => wrongly_signed(&answer),
        _ => answer,
    };
    server::after(strike, &sent, conn).await
}

/// What `quary` and `cancel` need besides the coupon code: `wf_trace_no`, except under
/// `by_code`, which needs the code instead.
fn needed_key(
    shared: &Shared,
    reading: ShoubeiQuery,
    req: &Map<String, Value>,
    code: &str,
) -> Result<String, AnswerBytes> {
    match reading {
        ShoubeiQuery::ByCode if code.is_empty() => {
            Err(protocol_error(shared, "参数不合法:缺少coupon_code"))
        }
        ShoubeiQuery::ByCode => Ok(String::new()),
        ShoubeiQuery::ByTrace | ShoubeiQuery::Processed => field(req, "wf_trace_no")
            .ok_or_else(|| protocol_error(shared, "参数不合法:缺少wf_trace_no")),
    }
}

/// The `processed` reading of `quary`: `SUCCESS` says only that the query was processed;
/// the request's `wf_trace_no` comes back at the top level (no `order_no` there) and what
/// was found sits in `records`, `[]` when nothing.
fn processed_query(shared: &Shared, trace: &str, found: Option<&Consumption>) -> AnswerBytes {
    let records: Vec<Value> = found
        .map(|r| {
            json!({
                "order_no": r.record_id,
                "wf_trace_no": r.idempotency_key,
                "codes": r.code,
                "status": if r.cancelled_at_ms.is_some() { "2" } else { "1" },
            })
        })
        .into_iter()
        .collect();
    let mut map = Map::new();
    map.insert("return_code".into(), json!("SUCCESS"));
    map.insert("return_msg".into(), json!("查询成功"));
    map.insert("result_code".into(), json!("SUCCESS"));
    map.insert("wf_trace_no".into(), json!(trace));
    map.insert("records".into(), Value::Array(records));
    signed(shared, map)
}

/// `cancel` [assumed shape, channels.md §2]: undoes the record (by the reading, as `quary`
/// finds it); the coupon can be redeemed again. Under `processed` the answer is a bare
/// `SUCCESS` whether or not there was a record.
async fn cancel(
    State(shared): State<Arc<Shared>>,
    conn: Option<Extension<Conn>>,
    body: Bytes,
) -> Response<Body> {
    let conn = conn.as_ref().map(|Extension(c)| c);
    let (req, code) = match authenticate(&shared, &body) {
        Ok(ok) => ok,
        Err(answer) => return server::respond(&answer),
    };
    let reading = shared.readings().shoubei.query;
    let trace = match needed_key(&shared, reading, &req, &code) {
        Ok(trace) => trace,
        Err(answer) => return server::respond(&answer),
    };
    let strike = shared.strike(KIND, Operation::Query, &[code.as_str()], false);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let answer = {
        let mut store = shared.store();
        match reading {
            ShoubeiQuery::ByTrace => {
                let already = store
                    .record_by_key(KIND, &trace)
                    .map(|r| r.cancelled_at_ms.is_some());
                match already {
                    None => failure(&shared, "0211", "核销记录不存在", &code, Some(&trace)),
                    Some(true) => failure(&shared, "0210", "核销已撤销", &code, Some(&trace)),
                    Some(false) => match store.cancel(KIND, &trace, now) {
                        Some(record) => success(&shared, "撤销成功", &record),
                        None => failure(&shared, "0211", "核销记录不存在", &code, Some(&trace)),
                    },
                }
            }
            ShoubeiQuery::ByCode => {
                let live = store
                    .latest_live_record(KIND, &code)
                    .map(|r| r.record_id.clone());
                match live.and_then(|id| store.cancel_record(KIND, &id, now)) {
                    Some(record) => success(&shared, "撤销成功", &record),
                    None => failure(&shared, "0211", "核销记录不存在", &code, None),
                }
            }
            ShoubeiQuery::Processed => {
                let _ = store.cancel(KIND, &trace, now);
                let mut map = Map::new();
                map.insert("return_code".into(), json!("SUCCESS"));
                map.insert("return_msg".into(), json!("撤销成功"));
                map.insert("result_code".into(), json!("SUCCESS"));
                signed(&shared, map)
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
) -> shoubei::Config {
    shoubei::Config {
        base_url,
        inst_no: demo.shoubei.inst_no.clone(),
        merchant_no: demo.shoubei.merchant_no.clone(),
        shop_no: demo.shoubei.shop_no.clone(),
        channel_type: None,
        key: redeemdesk_core::secret::Secret::new(demo.shoubei.key.clone()),
        timeouts,
    }
}

/// The same merchant as a manager types it in 设置: its settings, then its secrets.
pub fn demo_setup(demo: &crate::demo::DemoData, base_url: &str) -> super::DemoSetup {
    (
        vec![
            ("base_url", base_url.to_owned()),
            ("inst_no", demo.shoubei.inst_no.clone()),
            ("merchant_no", demo.shoubei.merchant_no.clone()),
            ("shop_no", demo.shoubei.shop_no.clone()),
        ],
        vec![("key", demo.shoubei.key.clone())],
    )
}
