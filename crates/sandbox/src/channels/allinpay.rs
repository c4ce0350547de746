//! 通联 allinpay emulator (channels.md §5): one gateway, `POST /gateway`, form-urlencoded
//! public parameters (`appId`, `method`, `timestamp`, `reqSeq`, `bizContent` as JSON text,
//! RSA2 `sign`), JSON answers `{code, msg, data, sign}` signed with the platform's demo
//! private key. Methods: `allinpay.shopoint.thirdCouponService.prepare`, `…consume` and
//! `…verifyHistory`. Idempotency key: `orderId` (else `reqSeq`).
//!
//! Quirks reproduced: `code` a string (`"0"` success, `"3"` business failure, gateway codes
//! otherwise), amounts in 元, `couponValue` a string in prepare and a number in consume,
//! the 点评/美团到综 object keyed `mtdz`, empty strings for absent dates, `initAmount` the
//! redeemable count, Douyin `marketPrice` in 分 as text.
//!
//! [assumed] (channels.md §5): the answer's signature covers its top-level fields other
//! than `sign`, each as text (strings raw, `data` as the compact JSON text exactly as it
//! appears in the body), sorted and joined like a request. Gateway codes are [assumed]:
//! 1001 missing parameter, 1002 unknown appId, 1003 signature check failed (验签失败),
//! 1004 unknown method, 1005 bad bizContent, 1006 bizContent not decryptable.
//!
//! Readings (`reading::AllinpayReading`): `shape = envelope` answers `{appId, method,
//! charset, format, signType, timestamp, version, reqSeq, respSeq, bizContent, sign}` with
//! the business answer `{code, msg, data}` as JSON text in `bizContent`; `sign =
//! fields_with_sign_type` signs `signType` too (a flat answer then carries one);
//! `sign = biz_content` signs the business JSON text alone (the envelope's `bizContent`,
//! or a flat answer's `data`, `{}` without); `biz_content = encrypted` refuses every
//! request with 1006 (the gateway wanted it encrypted).

use super::{field, json_answer, yuan_number, yuan_text, Shared};
use crate::demo::Platform;
use crate::fault::{Fault, Operation};
use crate::reading::{AllinpayReading, AllinpayShape, AllinpaySign, BizContent};
use crate::server::{self, Conn};
use crate::store::bytes_body::AnswerBytes;
use crate::store::{ConsumeRequest, Consumption, CouponState, Refusal, StoredAnswer};
use crate::time;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::Response;
use axum::routing::post;
use axum::{Extension, Router};
use base64::Engine as _;
use redeemdesk_core::channel::allinpay;
use redeemdesk_core::channel::signing;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::money::Fen;
use rsa::pkcs1v15::SigningKey;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const KIND: ChannelKind = ChannelKind::Allinpay;
pub const METHOD_PREPARE: &str = "allinpay.shopoint.thirdCouponService.prepare";
pub const METHOD_CONSUME: &str = "allinpay.shopoint.thirdCouponService.consume";
pub const METHOD_HISTORY: &str = "allinpay.shopoint.thirdCouponService.verifyHistory";
/// Douyin codes can be undone within one hour (channels.md §5 upstream rules).
const TIKTOK_UNDO_MS: i64 = 3_600_000;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/gateway", post(gateway))
}

/// One request at the gateway: the state, the readings it is answered under, and what an
/// envelope echoes of it.
struct Gateway<'a> {
    shared: &'a Shared,
    reading: AllinpayReading,
    method: String,
    req_seq: String,
}

/// `respSeq`: unique per answer of this process.
static RESP_SEQ: AtomicU64 = AtomicU64::new(1);

/// A field of an answer as its signature reads it: strings raw, anything else as its
/// compact JSON text, exactly as it appears in the body.
fn sign_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The text an answer's signature covers under the reading (`map` without `sign`).
fn signed_content(reading: AllinpayReading, map: &Map<String, Value>) -> String {
    let fields = |keep_sign_type: bool| {
        let texts: BTreeMap<String, String> = map
            .iter()
            .filter(|(k, v)| {
                k.as_str() != "sign" && (keep_sign_type || k.as_str() != "signType") && !v.is_null()
            })
            .map(|(k, v)| (k.clone(), sign_text(v)))
            .filter(|(_, t)| !t.is_empty())
            .collect();
        signing::sorted_join(texts.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    };
    match reading.sign {
        AllinpaySign::Fields => fields(false),
        AllinpaySign::FieldsWithSignType => fields(true),
        AllinpaySign::BizContent => match reading.shape {
            AllinpayShape::Envelope => map.get("bizContent").map(sign_text).unwrap_or_default(),
            AllinpayShape::Flat => map
                .get("data")
                .filter(|d| !d.is_null())
                .map(Value::to_string)
                .unwrap_or_else(|| "{}".to_owned()),
        },
    }
}

/// RSA2 (SHA256withRSA, PKCS#1 v1.5), standard Base64.
fn rsa2(text: &str, key: &RsaPrivateKey) -> String {
    let signature = SigningKey::<Sha256>::new(key.clone()).sign(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
}

fn sign_with(reading: AllinpayReading, map: &mut Map<String, Value>, key: &RsaPrivateKey) {
    map.remove("sign");
    let sign = if reading.sign == AllinpaySign::Fields {
        // The core's own counterpart of `verify_response`, so both sides read the same
        // text (and the default reading's bytes stay what they always were).
        allinpay::sign_response(map, key)
    } else {
        rsa2(&signed_content(reading, map), key)
    };
    map.insert("sign".into(), Value::String(sign));
}

/// An answer signed with the platform's private key, in the reading's shape.
fn answer(gw: &Gateway<'_>, code: &str, msg: &str, data: Option<Value>) -> AnswerBytes {
    let mut business = Map::new();
    business.insert("code".into(), json!(code));
    business.insert("msg".into(), json!(msg));
    if let Some(data) = data {
        business.insert("data".into(), data);
    }
    let mut map = match gw.reading.shape {
        AllinpayShape::Flat => {
            if gw.reading.sign == AllinpaySign::FieldsWithSignType {
                business.insert("signType".into(), json!("RSA2"));
            }
            business
        }
        AllinpayShape::Envelope => {
            let now = gw.shared.now_ms();
            let n = RESP_SEQ.fetch_add(1, Ordering::Relaxed);
            let mut env = Map::new();
            env.insert("appId".into(), json!(gw.shared.demo.allinpay.app_id));
            env.insert("method".into(), json!(gw.method));
            env.insert("charset".into(), json!("UTF-8"));
            env.insert("format".into(), json!("JSON"));
            env.insert("signType".into(), json!("RSA2"));
            env.insert("timestamp".into(), json!(time::datetime(now)));
            env.insert("version".into(), json!("1.0"));
            env.insert("reqSeq".into(), json!(gw.req_seq));
            env.insert(
                "respSeq".into(),
                json!(format!("{}{n:08}", time::ts14(now))),
            );
            env.insert(
                "bizContent".into(),
                json!(Value::Object(business).to_string()),
            );
            env
        }
    };
    sign_with(
        gw.reading,
        &mut map,
        &gw.shared.demo.allinpay_keys.platform_private,
    );
    json_answer(&Value::Object(map))
}

/// The same answer signed with the merchant's key instead of the platform's: well formed,
/// but it does not verify with the platform public key.
fn wrongly_signed(gw: &Gateway<'_>, original: &AnswerBytes) -> AnswerBytes {
    let mut spoiled = original.clone();
    if let Some(mut map) = super::json_object(&original.body) {
        sign_with(
            gw.reading,
            &mut map,
            &gw.shared.demo.allinpay_keys.merchant_private,
        );
        spoiled.body = serde_json::to_vec(&Value::Object(map)).unwrap_or_default();
    }
    spoiled
}

fn failure(gw: &Gateway<'_>, msg: &str) -> AnswerBytes {
    answer(gw, "3", msg, None)
}

fn refusal_msg(refusal: &Refusal) -> String {
    match refusal {
        Refusal::NotFound => "券码不存在".into(),
        Refusal::Used => "券码已核销".into(),
        Refusal::Refunded => "券码已退款".into(),
        Refusal::Expired => "券码已过期".into(),
        Refusal::NotStarted => "券码未到有效期".into(),
        Refusal::Locked => "券码已冻结".into(),
        Refusal::NotEnoughLeft { left } => format!("可核销数量不足,剩余{left}张"),
        Refusal::BadCount => "核销数量不正确".into(),
        Refusal::CertificatesRequired => "抖音券须指定tiktokCertificateList".into(),
        Refusal::UnknownCertificate(id) => format!("券{id}不存在"),
        Refusal::CertificateUsed(id) => format!("券{id}可核销数量不足"),
        Refusal::RedeemRefused => "该券不可在本门店核销".into(),
    }
}

async fn gateway(
    State(shared): State<Arc<Shared>>,
    conn: Option<Extension<Conn>>,
    body: Bytes,
) -> Response<Body> {
    let conn = conn.as_ref().map(|Extension(c)| c);
    let params = super::form(&body);
    let echoed = |k: &str| {
        params
            .as_ref()
            .and_then(|p| p.get(k).cloned())
            .unwrap_or_default()
    };
    let gw = Gateway {
        shared: &shared,
        reading: shared.readings().allinpay,
        method: echoed("method"),
        req_seq: echoed("reqSeq"),
    };
    let Some(params) = params else {
        return server::respond(&answer(&gw, "1001", "参数格式错误", None));
    };
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    for required in ["appId", "method", "timestamp", "sign", "bizContent"] {
        if get(required).is_empty() {
            return server::respond(&answer(&gw, "1001", &format!("缺少参数{required}"), None));
        }
    }
    if !crate::time::is_datetime(get("timestamp")) {
        return server::respond(&answer(
            &gw,
            "1001",
            "timestamp格式应为yyyy-MM-dd HH:mm:ss",
            None,
        ));
    }
    if !matches!(get("signType"), "" | "RSA2") {
        return server::respond(&answer(&gw, "1001", "signType仅支持RSA2", None));
    }
    if get("appId") != shared.demo.allinpay.app_id {
        return server::respond(&answer(&gw, "1002", "appId不存在", None));
    }
    if !allinpay::verify(
        &params,
        get("sign"),
        &shared.demo.allinpay_keys.merchant_public,
    ) {
        return server::respond(&answer(&gw, "1003", "验签失败", None));
    }
    if gw.reading.biz_content == BizContent::Encrypted {
        // The gateway decrypts before it reads: plain JSON text does not decrypt.
        return server::respond(&answer(&gw, "1006", "bizContent解密失败", None));
    }
    // [assumed] plain JSON text (channels.md §5: the production encryption is not public).
    let Some(biz) = super::json_object(get("bizContent").as_bytes()) else {
        return server::respond(&answer(&gw, "1005", "bizContent格式错误", None));
    };
    if field(&biz, "shopId").as_deref() != Some(shared.demo.allinpay.shop_id.as_str()) {
        return server::respond(&failure(&gw, "店铺不存在"));
    }
    let req_seq = get("reqSeq").to_owned();
    match get("method") {
        METHOD_PREPARE => prepare(&gw, conn, &biz).await,
        METHOD_CONSUME => consume(&gw, conn, &biz, &req_seq).await,
        METHOD_HISTORY => history(&gw, conn, &biz).await,
        _ => server::respond(&answer(&gw, "1004", "方法不存在", None)),
    }
}

fn platform_of(biz: &Map<String, Value>) -> Option<Platform> {
    match field(biz, "type")?.as_str() {
        "meituan" => Some(Platform::Meituan),
        "tiktok" => Some(Platform::Tiktok),
        "dianping" => Some(Platform::Dianping),
        "mtdz" => Some(Platform::Mtdz),
        _ => None,
    }
}

/// `prepare` (channels.md §5 [seed]).
async fn prepare(
    gw: &Gateway<'_>,
    conn: Option<&Conn>,
    biz: &Map<String, Value>,
) -> Response<Body> {
    let shared = gw.shared;
    let Some(platform) = platform_of(biz) else {
        return server::respond(&failure(gw, "type不正确"));
    };
    let Some(code) = field(biz, "couponNo") else {
        return server::respond(&failure(gw, "couponNo不能为空"));
    };
    let strike = shared.strike(KIND, Operation::Prepare, &[code.as_str()], false);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let reply = {
        let store = shared.store();
        match store
            .coupon(KIND, &code)
            .filter(|c| c.demo.platform == Some(platform))
        {
            None => failure(gw, &refusal_msg(&Refusal::NotFound)),
            Some(c) => {
                let refusal = match c.state_at(now) {
                    CouponState::Used => Some(Refusal::Used),
                    CouponState::Refunded => Some(Refusal::Refunded),
                    CouponState::Expired => Some(Refusal::Expired),
                    CouponState::Locked => Some(Refusal::Locked),
                    CouponState::Unused if c.redeemable_at(now) == 0 => Some(Refusal::NotStarted),
                    CouponState::Unused => None,
                };
                match refusal {
                    Some(r) => failure(gw, &refusal_msg(&r)),
                    None => {
                        let d = &c.demo;
                        let date_or_empty =
                            |ms: Option<i64>| ms.map(time::datetime).unwrap_or_default();
                        let mut data = Map::new();
                        data.insert("couponName".into(), json!(d.name));
                        data.insert("couponValue".into(), json!(yuan_text(d.face)));
                        data.insert("couponBuyPrice".into(), json!(yuan_text(d.price)));
                        data.insert("couponType".into(), json!(""));
                        data.insert("initAmount".into(), json!(c.left));
                        data.insert(
                            "validityBeginDate".into(),
                            json!(date_or_empty(d.valid_from_ms)),
                        );
                        data.insert(
                            "validityEndDate".into(),
                            json!(date_or_empty(d.valid_to_ms)),
                        );
                        data.insert("couponTemplateList".into(), json!([]));
                        let deal_id = 1_316_147_000u64 + code.bytes().map(u64::from).sum::<u64>();
                        match platform {
                            Platform::Meituan => {
                                data.insert(
                                    "meiTuan".into(),
                                    json!({
                                        "dealId": deal_id,
                                        "dealTitle": d.name,
                                        "dealValue": yuan_number(d.face),
                                        "count": c.left,
                                        "singleValue": yuan_number(d.face),
                                        "dealPrice": yuan_number(d.price),
                                        "dealBeginTime": d.valid_from_ms.map(time::date).unwrap_or_default(),
                                    }),
                                );
                            }
                            // The table says `dianPing`; the answer says `mtdz` for both.
                            Platform::Dianping | Platform::Mtdz => {
                                data.insert(
                                    "mtdz".into(),
                                    json!({
                                        "dealId": deal_id.to_string(),
                                        "dealTitle": d.name,
                                        "dealPrice": yuan_number(d.price),
                                        "dealMarketPrice": yuan_number(d.face),
                                        "dealGroupId": (deal_id - 235_000_000).to_string(),
                                        "count": c.left,
                                        "platformAmount": yuan_number(d.platform_share),
                                        "merchantAmount": yuan_number(d.merchant_share),
                                    }),
                                );
                            }
                            Platform::Tiktok => {
                                let certificates: Vec<Value> = c
                                    .certificates
                                    .iter()
                                    .filter(|cert| cert.left > 0)
                                    .map(|cert| {
                                        json!({
                                            "certificateId": cert.demo.id,
                                            "num": cert.left,
                                            "sku": {
                                                "skuId": cert.demo.sku_id,
                                                "title": cert.demo.title,
                                                "accountId": "7012345678901234567",
                                                "marketPrice": cert.demo.market_price_fen.to_string(),
                                                "soldStartTime": d.valid_from_ms.map(|ms| (ms / 1000).to_string()).unwrap_or_default(),
                                                "thirdSkuId": "",
                                            }
                                        })
                                    })
                                    .collect();
                                data.insert(
                                    "tikTok".into(),
                                    json!({ "tiktokCertificateList": certificates }),
                                );
                            }
                        }
                        answer(gw, "0", "成功", Some(Value::Object(data)))
                    }
                }
            }
        }
    };
    let sent = match strike.map(|s| s.fault) {
        Some(Fault::BadSignature) => wrongly_signed(gw, &reply),
        _ => reply,
    };
    server::after(strike, &sent, conn).await
}

/// Douyin's `tiktokCertificateList` as `(certificateId, num)` pairs.
fn certificate_list(biz: &Map<String, Value>) -> Option<Vec<(String, u32)>> {
    let list = match biz.get("tiktokCertificateList")? {
        Value::Array(items) => items.clone(),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(items)) => items,
            _ => return None,
        },
        _ => return None,
    };
    Some(
        list.iter()
            .filter_map(|item| {
                let item = item.as_object()?;
                let id = field(item, "certificateId")?;
                let num = field(item, "num").and_then(|n| n.parse().ok()).unwrap_or(1);
                Some((id, num))
            })
            .collect(),
    )
}

/// `consume` (channels.md §5 [doc]).
async fn consume(
    gw: &Gateway<'_>,
    conn: Option<&Conn>,
    biz: &Map<String, Value>,
    req_seq: &str,
) -> Response<Body> {
    let shared = gw.shared;
    let Some(platform) = platform_of(biz) else {
        return server::respond(&failure(gw, "type不正确"));
    };
    let Some(code) = field(biz, "couponNo") else {
        return server::respond(&failure(gw, "couponNo不能为空"));
    };
    let key = field(biz, "orderId").unwrap_or_else(|| req_seq.to_owned());
    let key = (!key.is_empty()).then_some(key);
    let certificates = certificate_list(biz);
    let num = match &certificates {
        Some(list) if platform == Platform::Tiktok => list.iter().map(|(_, n)| n).sum(),
        _ => match super::count_field(biz, "num") {
            Ok(n) => n.unwrap_or(1),
            Err(super::NotACount) => return server::respond(&failure(gw, "num不正确")),
        },
    };
    let replay = key
        .as_deref()
        .is_some_and(|k| shared.store().answer_for(KIND, k).is_some());
    let strike = shared.strike(KIND, Operation::Redeem, &[code.as_str()], replay);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let reply = {
        let mut store = shared.store();
        match key.as_deref().and_then(|k| store.answer_for(KIND, k)) {
            Some(stored) if stored.code == code => stored.answer.clone(),
            Some(_) => failure(gw, "orderId重复"),
            None => {
                let wrong_platform = store
                    .coupon(KIND, &code)
                    .is_some_and(|c| c.demo.platform != Some(platform));
                let reply = if wrong_platform {
                    failure(gw, &refusal_msg(&Refusal::NotFound))
                } else {
                    let seq = store.next_seq();
                    let tran_no = format!("{}{seq:06}", time::ts14(now));
                    let request = ConsumeRequest {
                        channel: KIND,
                        code: &code,
                        count: num,
                        idempotency_key: key.as_deref(),
                        certificates: certificates.filter(|_| platform == Platform::Tiktok),
                        operator: field(biz, "operUserId").unwrap_or_default(),
                    };
                    let shares = store
                        .coupon(KIND, &code)
                        .map(|c| (c.demo.platform_share, c.demo.merchant_share))
                        .unwrap_or_default();
                    match store.consume(&request, tran_no, now) {
                        Ok(record) => answer(gw, "0", "成功", Some(consume_data(&record, shares))),
                        Err(refusal) => failure(gw, &refusal_msg(&refusal)),
                    }
                };
                if let Some(k) = key.as_deref() {
                    store.remember_answer(
                        KIND,
                        k,
                        StoredAnswer {
                            code: code.clone(),
                            answer: reply.clone(),
                        },
                    );
                }
                reply
            }
        }
    };
    let sent = match strike.map(|s| s.fault) {
        Some(Fault::BadSignature) => wrongly_signed(gw, &reply),
        _ => reply,
    };
    server::after(strike, &sent, conn).await
}

/// The consume answer's `data`; `shares` are the platform's and the merchant's parts of a
/// 点评/美团到综 subsidy.
fn consume_data(r: &Consumption, shares: (Fen, Fen)) -> Value {
    let mut data = Map::new();
    data.insert("tranNo".into(), json!(r.record_id));
    data.insert("couponNo".into(), json!(r.code));
    data.insert("couponName".into(), json!(r.name));
    // A number here, a string in prepare (channels.md §5 quirk).
    data.insert("couponValue".into(), yuan_number(r.face));
    data.insert("couponBuyPrice".into(), json!(yuan_text(r.price)));
    data.insert(
        "changeSource".into(),
        json!(r.platform.map(Platform::as_str).unwrap_or_default()),
    );
    data.insert("consumeTime".into(), json!(time::datetime(r.at_ms)));
    if matches!(r.platform, Some(Platform::Dianping | Platform::Mtdz)) {
        data.insert(
            "mtdz".into(),
            json!([{
                "receiptCode": r.code,
                "platformAmount": yuan_number(shares.0),
                "merchantAmount": yuan_number(shares.1),
            }]),
        );
    }
    let details: Vec<Value> = if r.certificates.is_empty() {
        vec![json!({ "couponNo": r.code, "num": r.count })]
    } else {
        r.certificates
            .iter()
            .map(|(id, num)| json!({ "certificateId": id, "num": num }))
            .collect()
    };
    data.insert("couponDetails".into(), Value::Array(details));
    Value::Object(data)
}

/// `verifyHistory` (channels.md §5 [doc]): the day's records (the business date in
/// +08:00), in time order, a page at a time (`pageSize` ≤ 200). `tranNo` and `verifyNum`
/// on each line are [assumed] additions that make matching exact.
async fn history(
    gw: &Gateway<'_>,
    conn: Option<&Conn>,
    biz: &Map<String, Value>,
) -> Response<Body> {
    let shared = gw.shared;
    let date = field(biz, "date").unwrap_or_default();
    if !time::is_date(&date) {
        return server::respond(&failure(gw, "date格式应为yyyy-MM-dd"));
    }
    let page_no = super::count_field(biz, "pageNo")
        .ok()
        .flatten()
        .unwrap_or(1)
        .max(1);
    let page_size = match super::count_field(biz, "pageSize") {
        Ok(Some(n)) if (1..=200).contains(&n) => n,
        Ok(None) => 20,
        _ => return server::respond(&failure(gw, "pageSize取值1-200")),
    };
    let strike = shared.strike(KIND, Operation::Query, &[], false);
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let reply = {
        let store = shared.store();
        let day: Vec<&Consumption> = store
            .records()
            .iter()
            .filter(|r| r.channel == KIND && time::date(r.at_ms) == date)
            .collect();
        let start = ((page_no - 1) as usize).saturating_mul(page_size as usize);
        let lines: Vec<Value> = day
            .iter()
            .skip(start)
            .take(page_size as usize)
            .map(|r| {
                let cancellable = r.cancelled_at_ms.is_none()
                    && match r.platform {
                        Some(Platform::Tiktok) => now - r.at_ms < TIKTOK_UNDO_MS,
                        Some(Platform::Dianping) => false,
                        _ => true,
                    };
                json!({
                    "couponCode": r.code,
                    "couponUseTime": time::datetime(r.at_ms),
                    "couponStatusDesc": if r.cancelled_at_ms.is_some() { "已撤销" } else { "已核销" },
                    "couponCancelStatus": u8::from(cancellable),
                    "couponBuyPrice": yuan_text(r.price),
                    "dealTitle": r.name,
                    "dealValue": yuan_number(r.face),
                    "verifyAcct": r.operator,
                    "verifyType": r.platform.map(Platform::as_str).unwrap_or_default(),
                    "tranNo": r.record_id,
                    "verifyNum": r.count,
                })
            })
            .collect();
        answer(
            gw,
            "0",
            "成功",
            Some(json!({ "total": day.len(), "couponVerifyHistoryList": lines })),
        )
    };
    let sent = match strike.map(|s| s.fault) {
        Some(Fault::BadSignature) => wrongly_signed(gw, &reply),
        _ => reply,
    };
    server::after(strike, &sent, conn).await
}

// ---------------------------------------------------------------------------------------
// Sandbox mode's merchant

/// The core's settings for this emulator's demo merchant at `base_url` (sandbox mode).
pub fn demo_config(
    demo: &crate::demo::DemoData,
    base_url: url::Url,
    timeouts: redeemdesk_core::channel::Timeouts,
) -> allinpay::Config {
    allinpay::Config {
        base_url,
        app_id: demo.allinpay.app_id.clone(),
        shop_id: demo.allinpay.shop_id.clone(),
        merchant_key: allinpay::MerchantKey(Arc::new(demo.allinpay_keys.merchant_private.clone())),
        platform_key: demo.allinpay_keys.platform_public.clone(),
        default_operator: Some("sandbox".into()),
        timeouts,
    }
}

/// The same merchant as a manager types it in 设置: its settings, then its secrets (the
/// sandbox's own key pairs, as PEM).
pub fn demo_setup(demo: &crate::demo::DemoData, base_url: &str) -> super::DemoSetup {
    (
        vec![
            ("base_url", base_url.to_owned()),
            ("app_id", demo.allinpay.app_id.clone()),
            ("shop_id", demo.allinpay.shop_id.clone()),
        ],
        vec![
            (
                "merchant_private_key_pem",
                demo.allinpay_keys.merchant_private_pem(),
            ),
            (
                "platform_public_key_pem",
                demo.allinpay_keys.platform_public_pem(),
            ),
        ],
    )
}
