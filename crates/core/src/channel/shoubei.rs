//! 收呗 coupon write-off (channels.md §2, seed 001): config, signature, wire types,
//! quirk-tolerant decoding and the mapping of `wf` / `quary` / `cancel` answers to outcomes.

use super::signing;
use serde_json::{Map, Value};

/// The 收呗 signature (channels.md §2 [doc, verified]): drop `sign` and `null` (empty
/// strings stay), sort keys by ASCII, join `k=v` with raw values (strings unquoted, numbers
/// as their text), append `&key=<机构密钥>`, MD5, 32 lowercase hex.
pub fn sign(params: &Map<String, Value>, key: &str) -> String {
    let texts: Vec<(&str, String)> = params
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && !v.is_null())
        .map(|(k, v)| (k.as_str(), value_text(v)))
        .collect();
    signing::md5_with_key(texts.iter().map(|(k, v)| (*k, v.as_str())), key)
}

/// Checks `params["sign"]` against [`sign`], case-insensitively and in constant time.
/// A missing or non-text `sign` does not verify.
pub fn verify(params: &Map<String, Value>, key: &str) -> bool {
    match params.get("sign") {
        Some(Value::String(received)) => signing::hex_eq(&sign(params, key), received),
        _ => false,
    }
}

/// A JSON value as the signature sees it: strings raw, numbers and booleans as their text,
/// nested values as compact JSON (no documented field is nested; this keeps it total).
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Config and calls

use super::capabilities::{Capabilities, UnknownResolution};
use super::http::{Http, RequestBody, Timeouts};
use super::lenient;
use super::outcome::{
    CancelOutcome, CancelRequest, ChannelRef, Exchanged, Outcome, Prepared, RedeemRequest,
    Redeemed, Resolution, UnknownReason,
};
use super::preview::{Preview, Warning};
use super::settings::{self, ConfigError, Field, Form, Load, SecretSlot};
use super::{ChannelError, ChannelKind, Context, CouponCode};
use crate::money::Fen;
use crate::secret::Secret;
use serde::Deserialize;
use std::path::PathBuf;

/// Paths under `base_url` (channels.md §2).
pub const REDEEM_PATH: &str = "/openpay/coupon/wf";
/// The vendor's own spelling (channels.md §2).
pub const QUERY_PATH: &str = "/openpay/coupon/quary";
pub const CANCEL_PATH: &str = "/openpay/coupon/cancel";

/// Longest code the seed's `coupon_code string(16)` admits (channels.md §2).
const MAX_CODE_LEN: usize = 16;

/// channels.md §2 [assumed]: the query and the cancel take the same identifying fields as
/// the write-off — `wf_trace_no` (our id), `coupon_code` — besides the public
/// `inst_no`, `merchant_no`, `shop_no`, `ts`, and are signed the same way. What their
/// answers mean is open (channels.md §2 "another plausible reading"), so an answer settles
/// nothing unless it names our write-off: see [`names`]. Answers without a `sign` are
/// accepted only when they are not a success (error answers of this platform family are
/// often unsigned).
mod assumed {
    pub const QUERY_AND_CANCEL_SEND_TRACE_AND_CODE: bool = true;
}

/// A 收呗 merchant's settings (`[channels.shoubei]`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Everything before `/openpay/...`: `https://open.51shoubei.com`, or the sandbox.
    pub base_url: url::Url,
    /// 机构号, up to 8 digits.
    pub inst_no: String,
    /// 商户号.
    pub merchant_no: String,
    /// 门店号.
    pub shop_no: String,
    /// `channel_type` (5 digits, e.g. `10001`), sent when set.
    pub channel_type: Option<String>,
    /// 机构密钥.
    pub key: Secret,
    pub timeouts: Timeouts,
}

/// The 收呗 settings form: `[channels.shoubei]` and its key in secrets.toml.
pub const FORM: Form = Form {
    fields: &[
        Field::text("base_url", true),
        Field::text("inst_no", true),
        Field::text("merchant_no", true),
        Field::text("shop_no", true),
        Field::text("channel_type", false),
    ],
    secrets: &[SecretSlot::key("key")],
};

/// The values of this channel's secrets that the sandbox's demo data has published
/// (`crates/sandbox/demo/coupons.toml`, 收呗 机构密钥 (MD5 key)): a live configuration refuses them in any
/// slot. A value stays listed after the demo file changes: once committed, it is public.
pub const PUBLISHED: &[&str] = &["5f0c3d7e9a1b4c6d8e2f0a1b3c5d7e9f"];

/// `[channels.shoubei]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    base_url: String,
    inst_no: String,
    merchant_no: String,
    shop_no: String,
    channel_type: Option<String>,
    secrets: PathBuf,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

impl RawConfig {
    pub fn validate(self, load: &Load) -> Result<Config, ConfigError> {
        let f = |name: &str| format!("channels.shoubei.{name}");
        let (secrets, label) = load.secrets("shoubei", &self.secrets)?;
        Ok(Config {
            base_url: settings::base_url(&f("base_url"), &self.base_url)?,
            inst_no: settings::digits(&f("inst_no"), &self.inst_no, 8)?,
            merchant_no: settings::digits(&f("merchant_no"), &self.merchant_no, 32)?,
            shop_no: settings::digits(&f("shop_no"), &self.shop_no, 32)?,
            channel_type: settings::opt_digits(
                &f("channel_type"),
                self.channel_type.as_deref(),
                5,
            )?,
            key: settings::shared_secret("shoubei", "key", secrets, &label)?,
            timeouts: settings::timeouts(
                "shoubei",
                self.connect_timeout_ms,
                self.total_timeout_ms,
            )?,
        })
    }
}

/// The 收呗 channel.
#[derive(Debug, Clone)]
pub struct Shoubei {
    config: Config,
    http: Http,
    ctx: Context,
}

pub const CAPABILITIES: Capabilities = Capabilities {
    remote_prepare: false,
    idempotency_key: true,
    resend_after_unknown: true,
    unknown_resolution: UnknownResolution::Query,
    history: false,
    cancel: true,
    multi_count: false,
    certificates: false,
    platforms: &[],
    redeems_codes: true,
};

impl Shoubei {
    /// The longest one call to this channel may take (its configured total timeout).
    pub fn wait_limit(&self) -> std::time::Duration {
        self.http.timeouts().total
    }

    pub fn new(config: Config, ctx: Context) -> Result<Shoubei, ChannelError> {
        let http = Http::new(
            ChannelKind::Shoubei,
            &config.base_url,
            config.timeouts,
            vec![config.key.clone()],
        )?;
        Ok(Shoubei { config, http, ctx })
    }

    /// The seed's shape of a code (`string(16)`, letters and digits), checked before the
    /// look-up: a code that cannot be one is the cashier's scan, not the channel's refusal.
    pub fn check_shape(code: &CouponCode) -> Result<(), crate::scan::ScanError> {
        let c = code.as_str();
        let len = c.chars().count();
        if len > MAX_CODE_LEN {
            return Err(crate::scan::ScanError::TooLong {
                len,
                max: MAX_CODE_LEN,
            });
        }
        match c
            .chars()
            .enumerate()
            .find(|(_, ch)| !ch.is_ascii_alphanumeric())
        {
            Some((i, ch)) => Err(crate::scan::ScanError::NotACodeCharacter {
                ch,
                position: i + 1,
            }),
            None => Ok(()),
        }
    }

    /// No remote preview exists (channels.md §2): only the local format check.
    pub fn prepare(&self, code: &CouponCode) -> Prepared {
        let c = code.as_str();
        if c.len() > MAX_CODE_LEN || !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Prepared::Rejected {
                code: "LOCAL_FORMAT".to_owned(),
                message: format!("收呗券码为不超过{MAX_CODE_LEN}位的字母或数字"),
                config_error: false,
            };
        }
        let mut preview = Preview::bare(code.clone());
        preview.redeemable_count = Some(1);
        preview.warnings.push(Warning::NoRemotePreview);
        Prepared::Ready(preview)
    }

    pub async fn redeem(&self, req: &RedeemRequest) -> Result<Exchanged<Outcome>, ChannelError> {
        if req.count != 1 {
            return Err(ChannelError::InvalidInput {
                field: "count",
                reason: "收呗 writes off one code at a time".into(),
            });
        }
        let mut params = self.identity(req.id.as_str(), &req.code);
        if let Some(t) = &self.config.channel_type {
            params.insert("channel_type".into(), Value::String(t.clone()));
        }
        if let Some(a) = req.order_amount {
            params.insert("amount".into(), Value::String(a.0.to_string()));
        }
        if let Some(a) = req.paid_amount {
            params.insert("real_amount".into(), Value::String(a.0.to_string()));
        }
        let reply = self.send(REDEEM_PATH, params).await;
        let outcome = match &reply.body {
            Ok(body) => redeem_outcome(body, self.config.key.expose(), req),
            Err(reason) => Outcome::unknown(reason.clone()),
        };
        Ok(Exchanged::one(outcome, reply.exchange))
    }

    pub async fn resolve(
        &self,
        req: &RedeemRequest,
    ) -> Result<Exchanged<Resolution>, ChannelError> {
        let params = self.identity(req.id.as_str(), &req.code);
        let reply = self.send(QUERY_PATH, params).await;
        let resolution = match &reply.body {
            Ok(body) => query_resolution(body, self.config.key.expose(), req),
            Err(reason) => Resolution::StillUnknown {
                reason: reason.clone(),
            },
        };
        Ok(Exchanged::one(resolution, reply.exchange))
    }

    pub async fn cancel(
        &self,
        req: &CancelRequest,
    ) -> Result<Exchanged<CancelOutcome>, ChannelError> {
        let params = self.identity(req.id.as_str(), &req.code);
        let reply = self.send(CANCEL_PATH, params).await;
        let outcome = match &reply.body {
            Ok(body) => cancel_outcome(body, self.config.key.expose(), req),
            Err(reason) => CancelOutcome::Unknown {
                reason: reason.clone(),
            },
        };
        Ok(Exchanged::one(outcome, reply.exchange))
    }

    /// The fields every call carries.
    fn identity(&self, trace: &str, code: &CouponCode) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("inst_no".into(), Value::String(self.config.inst_no.clone()));
        p.insert(
            "merchant_no".into(),
            Value::String(self.config.merchant_no.clone()),
        );
        p.insert("shop_no".into(), Value::String(self.config.shop_no.clone()));
        p.insert(
            "ts".into(),
            Value::String(self.ctx.zone.compact(self.ctx.clock.now_ms())),
        );
        if assumed::QUERY_AND_CANCEL_SEND_TRACE_AND_CODE {
            p.insert("wf_trace_no".into(), Value::String(trace.to_owned()));
            // channels.md §2: send `coupon_code` (the example's `couponCode` is a typo).
            p.insert(
                "coupon_code".into(),
                Value::String(code.as_str().to_owned()),
            );
        }
        p
    }

    async fn send(&self, path: &str, mut params: Map<String, Value>) -> super::http::Reply {
        let signature = sign(&params, self.config.key.expose());
        params.insert("sign".into(), Value::String(signature));
        self.http
            .post(
                path,
                RequestBody::Json {
                    value: Value::Object(params),
                    content_type: "application/json",
                },
            )
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Wire types and decoding

/// The answer of `wf`, `quary` and `cancel` (channels.md §2). Unknown fields, such as the
/// example's `writeOff_tyep`, are ignored.
#[derive(Debug, serde::Deserialize)]
struct Answer {
    /// A vendor code; anything that cannot be one makes the answer Unknown.
    #[serde(default, deserialize_with = "lenient::code")]
    return_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    return_msg: Option<String>,
    #[serde(default, deserialize_with = "lenient::code")]
    result_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    order_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    wf_trace_no: Option<String>,
    /// channels.md §2: `codes` in the table; accept the request's names too.
    #[serde(
        default,
        alias = "coupon_code",
        alias = "couponCode",
        deserialize_with = "lenient::texts"
    )]
    codes: Vec<String>,
    #[serde(default, deserialize_with = "lenient::fen")]
    amount: Option<Fen>,
    /// channels.md §2: `settle_amount` in the table, `settleAmount` in the example.
    #[serde(default, alias = "settleAmount", deserialize_with = "lenient::fen")]
    settle_amount: Option<Fen>,
}

enum Decision {
    Success(Answer),
    Fail(Answer),
    ParameterError(Answer),
    Undecided(UnknownReason),
}

/// Verifies and decodes an answer, and decides on `result_code` (channels.md §2: not on
/// `return_code`, which the seed's own example contradicts).
fn decide(body: &str, key: &str) -> Decision {
    let map: Map<String, Value> = match serde_json::from_str(body) {
        Ok(m) => m,
        Err(_) => {
            return Decision::Undecided(match serde_json::from_str::<Value>(body) {
                Ok(_) => UnknownReason::Undecodable {
                    field: ".".into(),
                    message: "expected a JSON object".into(),
                },
                Err(_) => UnknownReason::NotJson,
            })
        }
    };
    let answer: Answer = match lenient::decode(body) {
        Ok(a) => a,
        Err(e) => {
            return Decision::Undecided(UnknownReason::Undecodable {
                field: e.field,
                message: e.message,
            })
        }
    };
    let signed = matches!(map.get("sign"), Some(Value::String(s)) if !s.is_empty());
    if signed && !verify(&map, key) {
        return Decision::Undecided(UnknownReason::BadSignature);
    }
    let result = answer
        .result_code
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_uppercase();
    match result.as_str() {
        "SUCCESS" if signed => Decision::Success(answer),
        "SUCCESS" => Decision::Undecided(UnknownReason::UnsignedSuccess),
        "FAIL" | "FAILED" => Decision::Fail(answer),
        "" if is_parameter_error(answer.return_msg.as_deref().unwrap_or_default()) => {
            Decision::ParameterError(answer)
        }
        "" => Decision::Undecided(UnknownReason::Inconclusive {
            detail: format!(
                "no result_code (return_code {:?}, return_msg {:?})",
                answer.return_code.as_deref().unwrap_or_default(),
                answer.return_msg.as_deref().unwrap_or_default()
            ),
        }),
        other => Decision::Undecided(UnknownReason::Inconclusive {
            detail: format!("result_code {other:?}"),
        }),
    }
}

/// channels.md §2: without `result_code`, a message that is clearly about our parameters or
/// signature is a definitive refusal (and a configuration problem), not an Unknown.
fn is_parameter_error(msg: &str) -> bool {
    let lower = msg.to_lowercase();
    [
        "参数",
        "签名",
        "验签",
        "sign",
        "param",
        "机构",
        "商户不存在",
        "门店不存在",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

fn refs(a: &Answer) -> Vec<ChannelRef> {
    let mut refs = Vec::new();
    if let Some(o) = &a.order_no {
        refs.push(ChannelRef::new("order_no", o.clone()));
    }
    if let Some(t) = &a.wf_trace_no {
        refs.push(ChannelRef::new("wf_trace_no", t.clone()));
    }
    for c in &a.codes {
        refs.push(ChannelRef::new("codes", c.clone()));
    }
    refs
}

fn redeemed(a: &Answer) -> Redeemed {
    Redeemed {
        channel_refs: refs(a),
        face_value: a.amount,
        settled: a.settle_amount,
        count: 1,
    }
}

fn refusal(a: &Answer) -> (String, String) {
    (
        a.return_code.clone().unwrap_or_else(|| "FAIL".to_owned()),
        a.return_msg.clone().unwrap_or_default(),
    )
}

/// The outcome of a `wf` answer body (2xx) to `req`. `key` verifies the answer's
/// signature. A success about another write-off is no answer to ours.
pub fn redeem_outcome(body: &str, key: &str, req: &RedeemRequest) -> Outcome {
    match decide(body, key) {
        Decision::Success(a) => match names(&a, req.id.as_str(), req.code.as_str(), &[]) {
            Named::Another(what) => Outcome::unknown(UnknownReason::Inconclusive {
                detail: format!("wf SUCCESS is about another write-off ({what})"),
            }),
            Named::Ours | Named::Nothing => Outcome::Succeeded(redeemed(&a)),
        },
        Decision::Fail(a) => {
            let (code, message) = refusal(&a);
            Outcome::Rejected {
                code,
                message,
                config_error: false,
            }
        }
        Decision::ParameterError(a) => {
            let (code, message) = refusal(&a);
            Outcome::Rejected {
                code,
                message,
                config_error: true,
            }
        }
        Decision::Undecided(reason) => Outcome::Unknown { reason },
    }
}

/// Whether an answer names one write-off: ours (by `wf_trace_no`, or by the channel's
/// record for our code), another one, or none at all.
#[derive(Debug, PartialEq, Eq)]
enum Named {
    Ours,
    Another(String),
    Nothing,
}

/// What an answer says it is about, against our write-off `trace` of `code` and the
/// channel's record ids we already hold. An answer that names another trace, another
/// code or another record names another write-off, whatever else it says.
fn names(a: &Answer, trace: &str, code: &str, record_ids: &[String]) -> Named {
    if let Some(t) = a.wf_trace_no.as_deref().map(str::trim) {
        if !t.eq_ignore_ascii_case(trace) {
            return Named::Another(format!("wf_trace_no {t}"));
        }
    }
    if !a.codes.is_empty() && !a.codes.iter().any(|c| c.trim() == code) {
        return Named::Another(format!("codes {}", a.codes.join(",")));
    }
    let order = a
        .order_no
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    if let (Some(o), false) = (order, record_ids.is_empty()) {
        if !record_ids.iter().any(|r| r == o) {
            return Named::Another(format!("order_no {o}"));
        }
    }
    match (&a.wf_trace_no, order, a.codes.is_empty()) {
        (Some(_), _, _) => Named::Ours,
        // The channel's record id for our code (product.md "A verdict needs evidence").
        (None, Some(_), false) => Named::Ours,
        (None, Some(o), true) if record_ids.iter().any(|r| r == o) => Named::Ours,
        _ => Named::Nothing,
    }
}

fn still_unknown(detail: String) -> Resolution {
    Resolution::StillUnknown {
        reason: UnknownReason::Inconclusive { detail },
    }
}

/// What a `quary` answer says about an Unknown write-off `req` (channels.md §2, product.md
/// "A verdict needs evidence that names the attempt"): consumed only when a signed
/// SUCCESS names our write-off and carries its record number (`order_no`); not consumed
/// only when a FAIL names our write-off (or our code) and is not a complaint about our
/// parameters or signature. Anything else — a bare SUCCESS, an answer about another
/// record, a SUCCESS that only echoes our trace number — leaves it Unknown, with the
/// answer kept as evidence.
pub fn query_resolution(body: &str, key: &str, req: &RedeemRequest) -> Resolution {
    let (trace, code) = (req.id.as_str(), req.code.as_str());
    match decide(body, key) {
        Decision::Success(a) => {
            let has_record = a.order_no.as_deref().is_some_and(|o| !o.trim().is_empty());
            match names(&a, trace, code, &[]) {
                Named::Ours if has_record => Resolution::Succeeded(redeemed(&a)),
                Named::Ours => still_unknown(
                    "quary SUCCESS names our trace number but no write-off record (order_no)"
                        .into(),
                ),
                Named::Another(what) => {
                    still_unknown(format!("quary SUCCESS is about another write-off ({what})"))
                }
                Named::Nothing => {
                    still_unknown("quary SUCCESS names no write-off (a bare success)".into())
                }
            }
        }
        Decision::Fail(a) => {
            let (rc, message) = refusal(&a);
            if is_parameter_error(&message) {
                return still_unknown(format!("quary refused our parameters ({rc}: {message})"));
            }
            let names_ours = a
                .wf_trace_no
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(trace))
                || (a.wf_trace_no.is_none() && a.codes.iter().any(|c| c.trim() == code));
            match names(&a, trace, code, &[]) {
                Named::Another(what) => {
                    still_unknown(format!("quary FAIL is about another write-off ({what})"))
                }
                _ if names_ours => Resolution::NotConsumed {
                    evidence: format!("quary result_code FAIL for our write-off ({rc}: {message})"),
                },
                _ => still_unknown(format!("quary FAIL names no write-off ({rc}: {message})")),
            }
        }
        Decision::ParameterError(a) => {
            let (rc, message) = refusal(&a);
            still_unknown(format!("{rc}: {message}"))
        }
        Decision::Undecided(reason) => Resolution::StillUnknown { reason },
    }
}

/// The outcome of a `cancel` answer for `req`. Cancelled only when a signed SUCCESS names
/// this write-off; a success that names nothing (or another record) is Unconfirmed: the
/// attempt stays succeeded and a manager checks.
pub fn cancel_outcome(body: &str, key: &str, req: &CancelRequest) -> CancelOutcome {
    match decide(body, key) {
        Decision::Success(a) => {
            match names(&a, req.id.as_str(), req.code.as_str(), &req.record_ids) {
                Named::Ours => CancelOutcome::Cancelled {
                    channel_refs: refs(&a),
                },
                Named::Another(what) => CancelOutcome::Unconfirmed {
                    detail: format!("cancel SUCCESS is about another write-off ({what})"),
                },
                Named::Nothing => CancelOutcome::Unconfirmed {
                    detail: "cancel SUCCESS names no write-off (a bare success)".into(),
                },
            }
        }
        Decision::Fail(a) | Decision::ParameterError(a) => {
            let (code, message) = refusal(&a);
            CancelOutcome::Rejected { code, message }
        }
        Decision::Undecided(reason) => CancelOutcome::Unknown { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_vector_of_channels_md_section_2_reproduces() {
        let p: Map<String, Value> = serde_json::from_str(
            r#"{"auth_code":"134573607383541818","inst_no":"900024","mch_no":"851811130002",
                "pay_time":"20190101125959","pay_trace_no":"18588dbd1c6e4572b915a2b33fcdc62e",
                "pay_type":"400","total_amount":"1"}"#,
        )
        .unwrap();
        assert_eq!(
            sign(&p, "8a9bd64e6585c6d8016585c6c8980002"),
            "841387ec9bd3ea78a580bd4629cab010",
            "channels.md §2 [verified]"
        );
    }

    use crate::channel::outcome::test_request;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    /// A signed answer with these fields.
    fn signed(fields: Value) -> String {
        let Value::Object(mut map) = fields else {
            unreachable!("tests pass objects")
        };
        let s = sign(&map, KEY);
        map.insert("sign".into(), Value::String(s));
        Value::Object(map).to_string()
    }

    fn is_still_unknown(r: &Resolution) -> bool {
        matches!(r, Resolution::StillUnknown { .. })
    }

    #[test]
    fn a_query_success_that_names_nothing_is_no_evidence() {
        let req = test_request("679533922928", 1, None);
        let bare = signed(
            serde_json::json!({"return_code":"SUCCESS","return_msg":"查询成功","result_code":"SUCCESS"}),
        );
        assert!(
            is_still_unknown(&query_resolution(&bare, KEY, &req)),
            "a bare SUCCESS may only mean the query was processed (channels.md §2)"
        );
        let echo = signed(
            serde_json::json!({"return_code":"SUCCESS","result_code":"SUCCESS",
            "wf_trace_no": req.id.as_str(), "records": []}),
        );
        assert!(
            is_still_unknown(&query_resolution(&echo, KEY, &req)),
            "an echo of our trace number without a write-off record proves nothing"
        );
    }

    #[test]
    fn a_query_answer_about_another_write_off_settles_nothing() {
        let req = test_request("679533922928", 1, None);
        let other_trace = signed(
            serde_json::json!({"return_code":"SUCCESS","result_code":"SUCCESS",
            "order_no":"516375643352141195430506","wf_trace_no":"0123456789abcdef0123456789abcdef",
            "codes":"679533922928"}),
        );
        assert!(
            is_still_unknown(&query_resolution(&other_trace, KEY, &req)),
            "a SUCCESS for another trace number of the same code is someone else's write-off"
        );
        let other_code = signed(
            serde_json::json!({"return_code":"SUCCESS","result_code":"SUCCESS",
            "order_no":"516375643352141195430506","codes":"111111111111"}),
        );
        assert!(
            is_still_unknown(&query_resolution(&other_code, KEY, &req)),
            "another code"
        );
        let other_fail = signed(
            serde_json::json!({"return_code":"0211","return_msg":"核销记录不存在",
            "result_code":"FAIL","wf_trace_no":"0123456789abcdef0123456789abcdef"}),
        );
        assert!(
            is_still_unknown(&query_resolution(&other_fail, KEY, &req)),
            "a FAIL about another trace says nothing of ours"
        );
    }

    #[test]
    fn a_query_settles_only_on_an_answer_that_names_our_write_off() {
        let req = test_request("679533922928", 1, None);
        let ours = signed(
            serde_json::json!({"return_code":"SUCCESS","result_code":"SUCCESS",
            "order_no":"516375643352141195430506","wf_trace_no": req.id.as_str(),
            "codes":"679533922928","amount":"1000"}),
        );
        assert!(
            matches!(query_resolution(&ours, KEY, &req), Resolution::Succeeded(_)),
            "our trace number and a write-off record"
        );
        let by_record = signed(
            serde_json::json!({"return_code":"SUCCESS","result_code":"SUCCESS",
            "order_no":"516375643352141195430506","codes":"679533922928"}),
        );
        assert!(
            matches!(
                query_resolution(&by_record, KEY, &req),
                Resolution::Succeeded(_)
            ),
            "the channel's record id for our code names it too"
        );
        let not_found = signed(
            serde_json::json!({"return_code":"0211","return_msg":"核销记录不存在",
            "result_code":"FAIL","wf_trace_no": req.id.as_str()}),
        );
        assert!(
            matches!(
                query_resolution(&not_found, KEY, &req),
                Resolution::NotConsumed { .. }
            ),
            "a FAIL for our trace number says our write-off did not happen"
        );
        let bare_fail = signed(serde_json::json!({"return_code":"0211","result_code":"FAIL"}));
        assert!(
            is_still_unknown(&query_resolution(&bare_fail, KEY, &req)),
            "a FAIL naming nothing"
        );
        let sign_fail = signed(
            serde_json::json!({"return_code":"FAIL","return_msg":"签名错误",
            "result_code":"FAIL","wf_trace_no": req.id.as_str()}),
        );
        assert!(
            is_still_unknown(&query_resolution(&sign_fail, KEY, &req)),
            "a refusal of our signature is not a statement about the write-off"
        );
    }

    #[test]
    fn a_cancel_is_confirmed_only_by_an_answer_naming_this_write_off() {
        let req = CancelRequest {
            id: crate::channel::RedemptionId::new_v4(),
            code: CouponCode::new("679533922928").unwrap(),
            record_ids: vec!["516375643352141195430506".into()],
        };
        let bare = signed(
            serde_json::json!({"return_code":"SUCCESS","return_msg":"撤销成功","result_code":"SUCCESS"}),
        );
        assert!(
            matches!(
                cancel_outcome(&bare, KEY, &req),
                CancelOutcome::Unconfirmed { .. }
            ),
            "a bare success on a cancel is not evidence"
        );
        let other = signed(
            serde_json::json!({"return_code":"SUCCESS","result_code":"SUCCESS",
            "order_no":"999999999999999999999999","codes":"679533922928"}),
        );
        assert!(
            matches!(
                cancel_outcome(&other, KEY, &req),
                CancelOutcome::Unconfirmed { .. }
            ),
            "a cancel of another record is not ours"
        );
        let ours = signed(
            serde_json::json!({"return_code":"SUCCESS","result_code":"SUCCESS",
            "order_no":"516375643352141195430506","wf_trace_no": req.id.as_str(),"codes":"679533922928"}),
        );
        assert!(matches!(
            cancel_outcome(&ours, KEY, &req),
            CancelOutcome::Cancelled { .. }
        ));
    }

    #[test]
    fn a_write_off_answer_that_cannot_be_a_code_is_unknown() {
        let req = test_request("679533922928", 1, None);
        for body in [
            r#"{"return_code":"0205","result_code":true}"#,
            r#"{"return_code":"0205\u0007","result_code":"FAIL"}"#,
            r#"{"return_code":{"a":1},"result_code":"FAIL"}"#,
        ] {
            assert!(
                matches!(redeem_outcome(body, KEY, &req), Outcome::Unknown { .. }),
                "{body}: only a well-formed code is a refusal"
            );
        }
        let other = signed(
            serde_json::json!({"return_code":"SUCCESS","result_code":"SUCCESS",
            "order_no":"1","wf_trace_no":"0123456789abcdef0123456789abcdef","codes":"679533922928"}),
        );
        assert!(
            matches!(redeem_outcome(&other, KEY, &req), Outcome::Unknown { .. }),
            "a success naming another trace is no answer to ours"
        );
    }

    #[test]
    fn an_answer_without_result_code_but_a_signature_complaint_is_a_config_rejection() {
        let req = test_request("679533922928", 1, None);
        let body = r#"{"return_code":"FAIL","return_msg":"签名错误"}"#;
        assert!(
            matches!(
                redeem_outcome(body, "k", &req),
                Outcome::Rejected {
                    config_error: true,
                    ..
                }
            ),
            "§2: a parameter/signature error is Rejected and shown as configuration"
        );
        let busy = r#"{"return_code":"FAIL","return_msg":"系统繁忙"}"#;
        assert!(
            matches!(redeem_outcome(busy, "k", &req), Outcome::Unknown { .. }),
            "anything else is Unknown"
        );
    }
}
