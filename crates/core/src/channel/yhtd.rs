//! 增值券 value-added coupon order notification (channels.md §1, seed 000): config, the
//! optional signature, request validation, and the mapping of `couponsCallBack` answers.

use super::signing;
use std::collections::BTreeMap;

/// channels.md §1 [assumed]: the seed documents no signature. When the channel setting
/// turns signing on, the §7 default convention is used (MD5 over the sorted fields with
/// `&key=`), sent in a `sign` field.
pub fn sign(params: &BTreeMap<String, String>, key: &str) -> String {
    signing::default_md5_sign(params, key)
}

/// Checks `params["sign"]` against [`sign`].
pub fn verify(params: &BTreeMap<String, String>, key: &str) -> bool {
    signing::default_md5_verify(params, key)
}

// ---------------------------------------------------------------------------------------
// Config, the notification, and the call

use super::capabilities::{Capabilities, UnknownResolution};
use super::http::{Http, RequestBody, Timeouts};
use super::lenient;
use super::outcome::{Exchanged, NotifyOutcome, UnknownReason};
use super::settings::{self, ConfigError, Field, FieldKind, Form, Load, SecretSlot};
use super::{ChannelError, ChannelKind, Context, RedemptionId};
use crate::money::Fen;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Path under `base_url` (channels.md §1): `https://increment.yhtdpay.com` + this.
pub const PATH: &str = "/couponsCallBack";

/// channels.md §1 [assumed]: the content type (the seed only says JSON), the meaning of a
/// non-`0000` `resultCode` (a definitive refusal), that a resend with the same
/// `dealSerial` is idempotent, and the optional §7 signature in a `sign` field.
mod assumed {
    pub const CONTENT_TYPE: &str = "application/json;charset=UTF-8";
    pub const SUCCESS_CODE: &str = "0000";
    pub const SIGN_FIELD: &str = "sign";
}

/// One product of the agreed product table (`[[channels.yhtd.products]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// `productNo`, up to 32 characters.
    pub no: String,
    /// `productNm`, up to 300 characters, e.g. `畅玩单人联票`.
    pub name: String,
    pub unit_price: Fen,
}

/// The 增值券 settings (`[channels.yhtd]`).
#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: url::Url,
    /// Sign notifications with the §7 default convention (off: the seed documents none).
    pub sign: bool,
    /// The key for `sign`; required only when signing is on.
    pub key: Option<Secret>,
    /// Whether the platform takes a resent `dealSerial` as the same order (channels.md §1
    /// [assumed idempotent], the default). When it does not, a notification whose answer
    /// was lost after it may have arrived is never resent: a manager settles it.
    pub resend_deduplicated: bool,
    pub products: Vec<Product>,
    pub timeouts: Timeouts,
}

/// The 增值券 settings form: `[channels.yhtd]`, its product table, and a key in
/// secrets.toml used only when it signs.
pub const FORM: Form = Form {
    fields: &[
        Field::text("base_url", true),
        Field {
            name: "sign",
            required: false,
            kind: FieldKind::Flag,
            hint: None,
        },
        Field {
            name: "products",
            required: false,
            kind: FieldKind::ProductTable,
            hint: None,
        },
    ],
    secrets: &[SecretSlot {
        only_with: Some("sign"),
        ..SecretSlot::key("key")
    }],
};

/// The values of this channel's secrets that the sandbox's demo data has published
/// (`crates/sandbox/demo/coupons.toml`, 增值券 key (the §7 MD5 convention, for the sandbox's md5_required reading)): a live configuration refuses them in any
/// slot. A value stays listed after the demo file changes: once committed, it is public.
pub const PUBLISHED: &[&str] = &["3c6e0b8a9c15224a8228b9a98ca1531d"];

/// `[channels.yhtd]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    base_url: String,
    #[serde(default)]
    sign: bool,
    /// channels.md §1 [assumed idempotent]: whether the platform takes a resend of the same
    /// `dealSerial` as the same order. No answer tells, so it is a setting.
    #[serde(default = "yes")]
    resend_deduplicated: bool,
    secrets: Option<PathBuf>,
    #[serde(default)]
    products: Vec<RawProduct>,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

fn yes() -> bool {
    true
}

/// `[[channels.yhtd.products]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    no: String,
    name: String,
    unit_price_fen: i64,
}

impl RawConfig {
    pub fn validate(self, load: &Load) -> Result<Config, ConfigError> {
        let f = |name: &str| format!("channels.yhtd.{name}");
        let key = match (&self.secrets, self.sign) {
            (Some(path), true) => {
                let (secrets, label) = load.secrets("yhtd", path)?;
                Some(settings::shared_secret("yhtd", "key", secrets, &label)?)
            }
            (None, true) => {
                return Err(ConfigError::invalid(
                    f("secrets"),
                    "required when sign = true",
                ))
            }
            (_, false) => None,
        };
        let mut products = Vec::new();
        for (i, p) in self.products.into_iter().enumerate() {
            let pf = |name: &str| format!("channels.yhtd.products[{i}].{name}");
            let name = p.name.trim();
            if name.is_empty() || name.chars().count() > 300 {
                return Err(ConfigError::invalid(pf("name"), "must be 1–300 characters"));
            }
            if p.unit_price_fen <= 0 {
                return Err(ConfigError::invalid(
                    pf("unit_price_fen"),
                    "must be a positive amount in fen",
                ));
            }
            products.push(Product {
                no: settings::ident(&pf("no"), &p.no, 32)?,
                name: name.to_owned(),
                unit_price: Fen(p.unit_price_fen),
            });
        }
        Ok(Config {
            base_url: settings::base_url(&f("base_url"), &self.base_url)?,
            sign: self.sign,
            resend_deduplicated: self.resend_deduplicated,
            key,
            products,
            timeouts: settings::timeouts("yhtd", self.connect_timeout_ms, self.total_timeout_ms)?,
        })
    }
}

/// Why a sale cannot be notified (channels.md §1: validated before it is stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("{field}: must not be empty")]
    Empty { field: &'static str },
    #[error("{field}: at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("consumePhone: a mainland mobile number is 11 digits starting with 1")]
    Phone,
    #[error("byNumber: the quantity must be at least 1 and at most 8 digits")]
    Quantity,
    #[error("sumMoney: the total must be positive and at most 12 digits of fen")]
    Total,
}

/// A 增值券 order notification: the POS sold a product of the agreed table; the platform
/// then issues the coupon to the consumer (channels.md §1). Stored in the outbox before it
/// is sent; every resend carries the same `dealSerial`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub order_no: String,
    pub product_no: String,
    pub product_name: String,
    pub consumer_name: String,
    pub consumer_phone: String,
    /// `dealSerial`: our id, unique per order.
    pub deal_serial: RedemptionId,
    pub quantity: u32,
    pub total: Fen,
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), NotificationError> {
    if value.trim().is_empty() {
        return Err(NotificationError::Empty { field });
    }
    if value.chars().count() > max {
        return Err(NotificationError::TooLong { field, max });
    }
    Ok(())
}

impl Notification {
    /// A sale of `quantity` × `product`; the order number is our id. `sumMoney` is computed
    /// here, never typed.
    pub fn new(
        id: RedemptionId,
        product: &Product,
        consumer_name: &str,
        consumer_phone: &str,
        quantity: u32,
    ) -> Result<Notification, NotificationError> {
        let total = product
            .unit_price
            .0
            .checked_mul(i64::from(quantity))
            .map(Fen)
            .ok_or(NotificationError::Total)?;
        let n = Notification {
            order_no: id.as_str().to_owned(),
            product_no: product.no.clone(),
            product_name: product.name.clone(),
            consumer_name: consumer_name.trim().to_owned(),
            consumer_phone: consumer_phone.trim().to_owned(),
            deal_serial: id,
            quantity,
            total,
        };
        n.validate()?;
        Ok(n)
    }

    /// The seed's rules (channels.md §1): none empty, lengths, phone, quantity ≥ 1.
    pub fn validate(&self) -> Result<(), NotificationError> {
        check_text("orderNo", &self.order_no, 32)?;
        check_text("productNo", &self.product_no, 32)?;
        check_text("productNm", &self.product_name, 300)?;
        check_text("consumeName", &self.consumer_name, 50)?;
        let p = self.consumer_phone.as_bytes();
        if p.len() != 11 || p[0] != b'1' || !p.iter().all(u8::is_ascii_digit) {
            return Err(NotificationError::Phone);
        }
        if self.quantity == 0 || self.quantity > 99_999_999 {
            return Err(NotificationError::Quantity);
        }
        if self.total.0 <= 0 || self.total.0 > 999_999_999_999 {
            return Err(NotificationError::Total);
        }
        Ok(())
    }

    /// The request fields, all strings (channels.md §1).
    pub fn wire_fields(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("orderNo".to_owned(), self.order_no.clone()),
            ("productNo".to_owned(), self.product_no.clone()),
            ("productNm".to_owned(), self.product_name.clone()),
            ("consumeName".to_owned(), self.consumer_name.clone()),
            ("consumePhone".to_owned(), self.consumer_phone.clone()),
            (
                "dealSerial".to_owned(),
                self.deal_serial.as_str().to_owned(),
            ),
            ("byNumber".to_owned(), self.quantity.to_string()),
            ("sumMoney".to_owned(), self.total.0.to_string()),
        ])
    }
}

#[derive(Debug, Clone)]
pub struct Yhtd {
    config: Config,
    http: Http,
}

pub const CAPABILITIES: Capabilities = Capabilities {
    remote_prepare: false,
    idempotency_key: true,
    resend_after_unknown: true,
    unknown_resolution: UnknownResolution::Resend,
    history: false,
    cancel: false,
    multi_count: true,
    certificates: false,
    platforms: &[],
    redeems_codes: false,
};

impl Yhtd {
    /// The longest one call to this channel may take (its configured total timeout).
    pub fn wait_limit(&self) -> std::time::Duration {
        self.http.timeouts().total
    }

    pub fn new(config: Config, _ctx: Context) -> Result<Yhtd, ChannelError> {
        if config.sign && config.key.as_ref().is_none_or(Secret::is_empty) {
            return Err(ChannelError::Config {
                field: "channels.yhtd.secrets".into(),
                reason: "signing is on but no key is configured".into(),
            });
        }
        let scrub = config.key.iter().cloned().collect();
        let http = Http::new(ChannelKind::Yhtd, &config.base_url, config.timeouts, scrub)?;
        Ok(Yhtd { config, http })
    }

    pub fn products(&self) -> &[Product] {
        &self.config.products
    }

    /// Whether a notification that ended Unknown for `reason` may be sent again with the
    /// same `dealSerial`: always where the platform deduplicates it, otherwise only when
    /// the request cannot have reached it (the connection was never made).
    pub fn may_resend(&self, reason: &UnknownReason) -> bool {
        self.config.resend_deduplicated || matches!(reason, UnknownReason::ConnectionFailed { .. })
    }

    /// Delivers one notification (the outbox calls this, again with the same notification
    /// after an Unknown).
    pub async fn notify(&self, n: &Notification) -> Result<Exchanged<NotifyOutcome>, ChannelError> {
        n.validate().map_err(|e| ChannelError::InvalidInput {
            field: "notification",
            reason: e.to_string(),
        })?;
        let fields = n.wire_fields();
        let mut body: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        if self.config.sign {
            if let Some(key) = &self.config.key {
                body.insert(
                    assumed::SIGN_FIELD.into(),
                    Value::String(sign(&fields, key.expose())),
                );
            }
        }
        let reply = self
            .http
            .post(
                PATH,
                RequestBody::Json {
                    value: Value::Object(body),
                    content_type: assumed::CONTENT_TYPE,
                },
            )
            .await;
        let outcome = match &reply.body {
            Ok(body) => notify_outcome(body),
            Err(reason) => NotifyOutcome::Unknown {
                reason: reason.clone(),
            },
        };
        Ok(Exchanged::one(outcome, reply.exchange))
    }
}

#[derive(Debug, Deserialize)]
struct Answer {
    /// Anything that cannot be a code (`true`, an object, control characters) makes the
    /// answer Unknown: only a well-formed code is a refusal.
    #[serde(
        default,
        rename = "resultCode",
        alias = "result_code",
        deserialize_with = "lenient::code"
    )]
    result_code: Option<String>,
    #[serde(
        default,
        rename = "resultMsg",
        alias = "result_msg",
        deserialize_with = "lenient::text"
    )]
    result_msg: Option<String>,
}

/// `{"resultCode":"0000","resultMsg":"成功"}` → Delivered; another well-formed code →
/// Rejected; no code, or one that cannot be a code → Unknown (channels.md §1). A refusal
/// of our signature or parameters' form is not a refusal of the order: it stays Unknown
/// (resent, and shown to the manager), so fixing the setting delivers it.
pub fn notify_outcome(body: &str) -> NotifyOutcome {
    let a: Answer = match lenient::decode(body) {
        Ok(a) => a,
        Err(_) if serde_json::from_str::<serde::de::IgnoredAny>(body).is_err() => {
            return NotifyOutcome::Unknown {
                reason: UnknownReason::NotJson,
            }
        }
        Err(e) => {
            return NotifyOutcome::Unknown {
                reason: UnknownReason::Undecodable {
                    field: e.field,
                    message: e.message,
                },
            }
        }
    };
    let message = a.result_msg.unwrap_or_default();
    match a.result_code.as_deref() {
        Some(assumed::SUCCESS_CODE) => NotifyOutcome::Delivered,
        Some(code) if is_signature_complaint(&message) => NotifyOutcome::Unknown {
            reason: UnknownReason::ChannelBusy {
                code: code.to_owned(),
                message,
            },
        },
        Some(code) if code.chars().all(|c| c.is_ascii_alphanumeric()) => NotifyOutcome::Rejected {
            code: code.to_owned(),
            message,
        },
        Some(code) => NotifyOutcome::Unknown {
            reason: UnknownReason::Inconclusive {
                detail: format!("resultCode {code:?} is not a code"),
            },
        },
        None => NotifyOutcome::Unknown {
            reason: UnknownReason::Inconclusive {
                detail: "no resultCode".into(),
            },
        },
    }
}

/// A refusal about how we signed, not about the order.
fn is_signature_complaint(message: &str) -> bool {
    let m = message.to_lowercase();
    ["签名", "验签", "sign"].iter().any(|w| m.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_code_is_a_refusal() {
        for body in [
            r#"{"resultCode": true}"#,
            r#"{"resultCode": {"a": 1}}"#,
            "{\"resultCode\": \"10\\u000201\"}",
            r#"{"resultCode": "1 0 0 2"}"#,
            r#"{"resultMsg": "成功"}"#,
        ] {
            assert!(
                matches!(notify_outcome(body), NotifyOutcome::Unknown { .. }),
                "{body}: not a plausible refusal, so the outbox keeps it and resends"
            );
        }
        assert!(matches!(
            notify_outcome(r#"{"resultCode":"1002","resultMsg":"产品不存在"}"#),
            NotifyOutcome::Rejected { .. }
        ));
        assert!(
            matches!(
                notify_outcome(r#"{"resultCode":"1005","resultMsg":"签名错误"}"#),
                NotifyOutcome::Unknown { .. }
            ),
            "a refusal of our signature is a setting to fix, not a refused order"
        );
        assert_eq!(
            notify_outcome(r#"{"resultCode":"0000","resultMsg":"成功"}"#),
            NotifyOutcome::Delivered
        );
    }

    #[test]
    fn a_platform_that_counts_resends_gets_one_only_when_nothing_can_have_arrived() {
        let mut config = Config {
            base_url: url::Url::parse("http://127.0.0.1:9/").unwrap(),
            sign: false,
            key: None,
            resend_deduplicated: true,
            products: Vec::new(),
            timeouts: Timeouts::default(),
        };
        let lost = UnknownReason::ConnectionReset {
            detail: "reset".into(),
        };
        let refused = UnknownReason::ConnectionFailed {
            detail: "refused".into(),
        };
        let ctx = super::super::Context {
            clock: std::sync::Arc::new(crate::clock::ManualClock::new(0)),
            zone: super::super::BusinessZone::from_minutes(480).unwrap(),
        };
        let dedup = Yhtd::new(config.clone(), ctx.clone()).unwrap();
        assert!(
            dedup.may_resend(&lost),
            "the same dealSerial is the same order"
        );
        config.resend_deduplicated = false;
        let counting = Yhtd::new(config, ctx).unwrap();
        assert!(
            !counting.may_resend(&lost),
            "it may have arrived: a resend would be a second order"
        );
        assert!(
            !counting.may_resend(&UnknownReason::Timeout),
            "likewise a timeout"
        );
        assert!(
            counting.may_resend(&refused),
            "a connection never made carried nothing"
        );
    }
}
