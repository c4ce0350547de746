//! Debug logging never prints a secret: keys, the merchant's private key, and the
//! signatures and tokens of the requests actually sent.

use crate::support::*;
use redeemdesk_core::channel::{yhtd, Channel, ChannelConfig, CouponCode, Platform, RedemptionId};
use redeemdesk_core::money::Fen;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_logs_of_every_channel_contain_no_key_signature_or_token() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Every responder echoes the request back inside its answer, as a hostile or buggy
    // server might, so the response logging is tested too.
    let echo =
        |req: &Received| ok(serde_json::json!({"code": "FAILED", "msg": req.body}).to_string());
    let r = Responder::start("any", echo).await;
    let channels = [
        Channel::new(ChannelConfig::Shoubei(shoubei_config(&r.base)), ctx()).unwrap(),
        Channel::new(ChannelConfig::Zvcms(zvcms_config(&r.base)), ctx()).unwrap(),
        Channel::new(ChannelConfig::Liantuofu(liantuofu_config(&r.base)), ctx()).unwrap(),
        Channel::new(ChannelConfig::Allinpay(allinpay_config(&r.base)), ctx()).unwrap(),
        Channel::new(ChannelConfig::Yhtd(yhtd_config(&r.base, true)), ctx()).unwrap(),
    ];
    let mut stored = Vec::new();
    for ch in &channels {
        let mut req = redeem_request("679533922928");
        req.platform = Some(Platform::Meituan);
        req.remaining_before = Some(3);
        if ch.capabilities().redeems_codes {
            stored.extend(ch.redeem(&req).await.unwrap().exchanges);
            if ch.capabilities().remote_prepare {
                let code = CouponCode::new("679533922928").unwrap();
                stored.extend(
                    ch.prepare(&code, Some(Platform::Meituan))
                        .await
                        .unwrap()
                        .exchanges,
                );
            }
        } else {
            let product = yhtd::Product {
                no: "P1".into(),
                name: "联票".into(),
                unit_price: Fen(100),
            };
            let n =
                yhtd::Notification::new(RedemptionId::new_v4(), &product, "王刚", "13566662456", 1)
                    .unwrap();
            stored.extend(ch.notify(&n).await.unwrap().exchanges);
        }
    }

    let log = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("channel request") && log.contains("channel response"),
        "the exchanges were logged"
    );
    let mut forbidden: Vec<String> = [SHOUBEI_KEY, ZVCMS_SECRET, LIANTUOFU_KEY, YHTD_KEY]
        .map(String::from)
        .to_vec();
    // A line from the middle of the merchant's private key PEM.
    forbidden.push(merchant_private_pem().lines().nth(5).unwrap().to_owned());
    for sent in r.requests() {
        match serde_json::from_str::<serde_json::Value>(&sent.body) {
            Ok(v) => {
                for k in ["sign", "Token"] {
                    if let Some(s) = v[k].as_str() {
                        forbidden.push(s.to_owned());
                    }
                }
            }
            Err(_) => forbidden.push(sent.form()["sign"].clone()),
        }
    }
    assert!(
        forbidden.len() >= 10,
        "keys and the signatures of every request sent are checked"
    );
    let stored_text = serde_json::to_string(&stored).unwrap();
    for secret in &forbidden {
        assert!(
            !log.contains(secret.as_str()),
            "the debug log must not contain {secret:?}"
        );
        assert!(
            !stored_text.contains(secret.as_str()),
            "the ledger's exchanges must not contain {secret:?}"
        );
    }
}
