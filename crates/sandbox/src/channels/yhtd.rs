//! 增值券 emulator (channels.md §1): `POST /couponsCallBack`, a JSON order notification
//! (all fields strings, none empty) answered `{"resultCode":"0000","resultMsg":"成功"}`.
//! The platform checks the product against the agreed product table, the phone, the
//! quantity and that `sumMoney` = unit price × `byNumber`. `dealSerial` is the idempotency
//! key: a resent notification (the outbox retrying) is counted and answered with the
//! original answer, never recorded twice. No signature is documented, so none is checked
//! (a `sign` field, sent when the channel setting turns it on, is ignored).
//! Failure codes are [assumed]: 1001 invalid parameter, 1002 unknown product, 1003 amount,
//! 1005 signature.
//!
//! Readings (`reading::YhtdReading`): `sign = md5_required` requires `sign`, the §7
//! default MD5 convention over the other fields with the demo key (`1005 签名错误`
//! otherwise, nothing recorded); `resend = count_again` records a repeated `dealSerial`
//! as one more order each time (answered `0000` like the first).

use super::{field, json_answer, Shared};
use crate::fault::{Fault, Operation};
use crate::reading::{YhtdResend, YhtdSign};
use crate::server::{self, Conn};
use crate::store::bytes_body::AnswerBytes;
use crate::store::{Notification, StoredAnswer};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::Response;
use axum::routing::post;
use axum::{Extension, Router};
use redeemdesk_core::channel::yhtd;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::money::Fen;
use serde_json::{json, Map, Value};
use std::sync::Arc;

const KIND: ChannelKind = ChannelKind::Yhtd;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/couponsCallBack", post(callback))
}

fn result(code: &str, msg: &str) -> AnswerBytes {
    json_answer(&json!({ "resultCode": code, "resultMsg": msg }))
}

/// The field limits of seed 000 (maximum lengths in characters).
const FIELDS: [(&str, usize); 8] = [
    ("orderNo", 32),
    ("productNo", 32),
    ("productNm", 300),
    ("consumeName", 50),
    ("consumePhone", 11),
    ("dealSerial", 32),
    ("byNumber", 8),
    ("sumMoney", 12),
];

fn validate(req: &Map<String, Value>) -> Result<(), AnswerBytes> {
    for (name, max) in FIELDS {
        // Seed 000: every field is a string and none may be empty.
        let Some(Value::String(v)) = req.get(name) else {
            return Err(result("1001", &format!("参数错误:{name}必须为非空字符串")));
        };
        if v.trim().is_empty() || v.chars().count() > max {
            return Err(result("1001", &format!("参数错误:{name}为空或超长")));
        }
    }
    let phone = field(req, "consumePhone").unwrap_or_default();
    if phone.len() != 11 || !phone.starts_with('1') || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(result("1001", "参数错误:consumePhone不是手机号"));
    }
    for name in ["byNumber", "sumMoney"] {
        let v = field(req, name).unwrap_or_default();
        if !v.bytes().all(|b| b.is_ascii_digit()) || v.parse::<u64>().map_or(true, |n| n == 0) {
            return Err(result("1001", &format!("参数错误:{name}应为正整数")));
        }
    }
    Ok(())
}

async fn callback(
    State(shared): State<Arc<Shared>>,
    conn: Option<Extension<Conn>>,
    body: Bytes,
) -> Response<Body> {
    let conn = conn.as_ref().map(|Extension(c)| c);
    let Some(req) = super::json_object(&body) else {
        return server::respond(&result("1001", "参数错误:请求体不是JSON对象"));
    };
    let reading = shared.readings().yhtd;
    if reading.sign == YhtdSign::Md5Required && !signed_right(&shared, &req) {
        return server::respond(&result("1005", "签名错误"));
    }
    if let Err(answer) = validate(&req) {
        return server::respond(&answer);
    }
    let new_order = reading.resend == YhtdResend::CountAgain;
    let get = |k: &str| field(&req, k).unwrap_or_default();
    let (deal_serial, product_no) = (get("dealSerial"), get("productNo"));
    let replay = shared.store().answer_for(KIND, &deal_serial).is_some();
    let strike = shared.strike(
        KIND,
        Operation::Redeem,
        &[product_no.as_str(), deal_serial.as_str()],
        replay,
    );
    if let Some(response) = server::before(strike, conn).await {
        return response;
    }
    let now = shared.now_ms();
    let answer = {
        let mut store = shared.store();
        if let Some(stored) = store.answer_for(KIND, &deal_serial).cloned() {
            if stored.code == product_no {
                let by_number = get("byNumber").parse().unwrap_or(0);
                store.notification_received(
                    Notification {
                        deal_serial: deal_serial.clone(),
                        order_no: get("orderNo"),
                        product_no: product_no.clone(),
                        by_number,
                        sum_money: Fen(get("sumMoney").parse().unwrap_or(0)),
                        consume_name: get("consumeName"),
                        consume_phone: get("consumePhone"),
                        first_received_ms: now,
                        received: 1,
                        orders: 1,
                    },
                    new_order,
                );
                stored.answer
            } else {
                result("1004", "dealSerial重复")
            }
        } else {
            let by_number: u32 = get("byNumber").parse().unwrap_or(0);
            let sum_money: i64 = get("sumMoney").parse().unwrap_or(-1);
            let (answer, accepted) = match store.product(&product_no) {
                None => (result("1002", "产品不存在"), false),
                Some(p) if p.name != get("productNm") => {
                    (result("1002", "产品名称与产品编号不符"), false)
                }
                Some(p) if p.price_fen * i64::from(by_number) != sum_money => {
                    (result("1003", "消费总金额与产品单价不符"), false)
                }
                Some(_) => {
                    store.notification_received(
                        Notification {
                            deal_serial: deal_serial.clone(),
                            order_no: get("orderNo"),
                            product_no: product_no.clone(),
                            by_number,
                            sum_money: Fen(sum_money),
                            consume_name: get("consumeName"),
                            consume_phone: get("consumePhone"),
                            first_received_ms: now,
                            received: 1,
                            orders: 1,
                        },
                        false,
                    );
                    (result("0000", "成功"), true)
                }
            };
            // Only accepted orders exist on the platform; a refused one may be resent
            // corrected under the same serial.
            if accepted {
                store.remember_answer(
                    KIND,
                    &deal_serial,
                    StoredAnswer {
                        code: product_no.clone(),
                        answer: answer.clone(),
                    },
                );
            }
            answer
        }
    };
    // Unsigned answers: BadSignature has nothing to spoil.
    let strike = strike.filter(|s| s.fault != Fault::BadSignature);
    server::after(strike, &answer, conn).await
}

/// `sign` as the §7 default convention over every other field (each as its text, empty
/// ones dropped) with the demo key (channels.md §1 [assumed]).
fn signed_right(shared: &Shared, req: &Map<String, Value>) -> bool {
    let fields: std::collections::BTreeMap<String, String> = req
        .iter()
        .filter_map(|(k, v)| super::text(Some(v)).map(|t| (k.clone(), t)))
        .collect();
    yhtd::verify(&fields, &shared.demo.yhtd.key)
}

// ---------------------------------------------------------------------------------------
// Sandbox mode's merchant

/// The core's settings for the demo platform at `base_url` (sandbox mode), with the demo
/// data's product table.
pub fn demo_config(
    demo: &crate::demo::DemoData,
    base_url: url::Url,
    timeouts: redeemdesk_core::channel::Timeouts,
) -> yhtd::Config {
    yhtd::Config {
        base_url,
        sign: false,
        resend_deduplicated: true,
        key: None,
        products: demo
            .products
            .iter()
            .map(|p| yhtd::Product {
                no: p.product_no.clone(),
                name: p.name.clone(),
                unit_price: Fen(p.price_fen),
            })
            .collect(),
        timeouts,
    }
}

/// The same platform as a manager types it in 设置: its settings, then its secrets (none:
/// it does not sign by default).
pub fn demo_setup(_demo: &crate::demo::DemoData, base_url: &str) -> super::DemoSetup {
    (vec![("base_url", base_url.to_owned())], Vec::new())
}
