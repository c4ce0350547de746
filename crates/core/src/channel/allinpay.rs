//! 通联 allinpay third-party coupons (channels.md §5, seed 004): config, RSA2 signature,
//! wire types, quirk-tolerant decoding, prepare / consume / verifyHistory mapping.

use super::signing;
use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use std::collections::BTreeMap;

/// Why a PEM key could not be loaded. The message never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not an RSA private key in PEM (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`)")]
    PrivateKey,
    #[error(
        "not an RSA public key in PEM (SPKI `BEGIN PUBLIC KEY` or PKCS#1 `BEGIN RSA PUBLIC KEY`)"
    )]
    PublicKey,
}

/// Loads the merchant's private key from PEM, PKCS#8 or PKCS#1.
pub fn private_key_from_pem(pem: &str) -> Result<RsaPrivateKey, KeyError> {
    let pem = pem.trim();
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| KeyError::PrivateKey)
}

/// Loads the platform's public key from PEM, SPKI (`PUBLIC KEY`) or PKCS#1.
pub fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey, KeyError> {
    let pem = pem.trim();
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| KeyError::PublicKey)
}

/// The text that is signed (channels.md §5 [doc]): drop `sign`, `signType` and empty
/// values, sort by key, join `k=v&…` with raw values.
pub fn sign_content(params: &BTreeMap<String, String>) -> String {
    signing::sorted_join(
        params
            .iter()
            .filter(|(k, v)| k.as_str() != "sign" && k.as_str() != "signType" && !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

/// RSA2: SHA256withRSA (PKCS#1 v1.5) over [`sign_content`], standard Base64. Deterministic:
/// PKCS#1 v1.5 signing uses no randomness.
pub fn sign(params: &BTreeMap<String, String>, key: &RsaPrivateKey) -> String {
    let signing_key = SigningKey::<Sha256>::new(key.clone());
    let signature = signing_key.sign(sign_content(params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
}

/// Verifies a Base64 RSA2 signature over [`sign_content`] of `params`.
pub fn verify(params: &BTreeMap<String, String>, sig_b64: &str, key: &RsaPublicKey) -> bool {
    verify_text(&sign_content(params), sig_b64, key)
}

/// Verifies a Base64 RSA2 signature over exactly `content`.
fn verify_text(content: &str, sig_b64: &str, key: &RsaPublicKey) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(sig_b64.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(content.as_bytes(), &signature)
        .is_ok()
}

// ---------------------------------------------------------------------------------------
// Response signatures (shared with the sandbox)

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The fields of a response body as its signature sees them (channels.md §5 [assumed]:
/// every top-level field other than `sign`, strings raw, numbers and booleans as their
/// text, nested objects and arrays as their JSON text exactly as received; `null` and
/// empty values dropped as in requests).
pub fn response_sign_fields(body: &str) -> Result<BTreeMap<String, String>, lenient::DecodeError> {
    let fields: BTreeMap<String, Option<Box<RawValue>>> = lenient::decode(body)?;
    let mut out = BTreeMap::new();
    for (k, v) in fields {
        let Some(v) = v else { continue };
        let raw = v.get().trim();
        let text = if raw.starts_with('"') {
            serde_json::from_str::<String>(raw).map_err(|e| lenient::DecodeError {
                field: k.clone(),
                message: e.to_string(),
            })?
        } else {
            raw.to_owned()
        };
        out.insert(k, text);
    }
    Ok(out)
}

/// Signs a response the way [`verify_response`] checks it, for the sandbox: serialise the
/// returned map with `serde_json::to_string` after inserting this value as `"sign"`.
pub fn sign_response(fields: &Map<String, Value>, key: &RsaPrivateKey) -> String {
    let texts: BTreeMap<String, String> = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            (
                k.clone(),
                match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            )
        })
        .collect();
    sign(&texts, key)
}

/// Checks a response body's `sign` with the platform's public key, in whichever answer
/// shape and signature reading it came (see [`Answer`]). A body without `sign` does not
/// verify.
pub fn verify_response(body: &str, key: &RsaPublicKey) -> bool {
    Answer::parse(body).is_ok_and(|a| a.signed(key) == Some(true))
}

/// Which shape an answer came in (channels.md §5 "Answer shape [open]").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{code, msg, data, sign}`, as in the seed's example.
    Flat,
    /// The gateway's public fields with the business answer as JSON text in `bizContent`.
    Envelope,
}

/// An answer's top-level fields and the business answer inside it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub shape: Shape,
    /// Every top-level field as the signature sees it.
    pub fields: BTreeMap<String, String>,
    /// The business answer `{code, msg, data}` as JSON text.
    pub business: String,
}

impl Answer {
    /// Reads either shape. An envelope is an answer with `bizContent` and no top-level
    /// `code`.
    pub fn parse(body: &str) -> Result<Answer, lenient::DecodeError> {
        let fields = response_sign_fields(body)?;
        if fields.contains_key("bizContent") && !fields.contains_key("code") {
            let business = assumed::open_biz_content(&fields["bizContent"]);
            Ok(Answer {
                shape: Shape::Envelope,
                fields,
                business,
            })
        } else {
            Ok(Answer {
                shape: Shape::Flat,
                fields,
                business: body.to_owned(),
            })
        }
    }

    /// `Some(true)` when `sign` verifies over one of the plausible signed texts,
    /// `Some(false)` when it verifies over none, `None` when there is no `sign`.
    ///
    /// channels.md §5 [assumed]: the signed text is not public. Each candidate is a text
    /// only the platform's key can have signed, so accepting any of them admits nothing
    /// unsigned: the sorted fields other than `sign` and `signType` (as in requests); the
    /// same with `signType`; the business JSON text alone (`bizContent` in an envelope,
    /// `data` in a flat answer).
    pub fn signed(&self, key: &RsaPublicKey) -> Option<bool> {
        let sig = self.fields.get("sign")?;
        let with_sign_type = signing::sorted_join(
            self.fields
                .iter()
                .filter(|(k, v)| k.as_str() != "sign" && !v.is_empty())
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let biz_only = match self.shape {
            Shape::Envelope => self.fields["bizContent"].clone(),
            Shape::Flat => self
                .fields
                .get("data")
                .cloned()
                .unwrap_or_else(|| "{}".to_owned()),
        };
        let candidates = [sign_content(&self.fields), with_sign_type, biz_only];
        Some(candidates.iter().any(|c| verify_text(c, sig, key)))
    }
}

// ---------------------------------------------------------------------------------------
// Config and calls

use super::business_time::date_text;
use super::capabilities::{Capabilities, UnknownResolution};
use super::http::{Http, RequestBody, Timeouts};
use super::lenient;
use super::nonce;
use super::outcome::{
    ChannelRef, Exchange, Exchanged, HistoryEntry, Outcome, Prepared, RedeemRequest, Redeemed,
    Resolution, UnknownReason,
};
use super::preview::{Certificate, Platform, Preview};
use super::settings::{self, ConfigError, Field, Form, Load, SecretSlot, Store, Why};
use super::{ChannelError, ChannelKind, Context, CouponCode};
use crate::money::Fen;
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// The gateway path. The real gateway URL is per merchant contract: `base_url` is whatever
/// precedes `/gateway` in it (channels.md §5).
pub const PATH: &str = "/gateway";
pub const PREPARE_METHOD: &str = "allinpay.shopoint.thirdCouponService.prepare";
pub const CONSUME_METHOD: &str = assumed::CONSUME_METHOD;
pub const HISTORY_METHOD: &str = assumed::HISTORY_METHOD;

/// channels.md §5 [assumed]: everything the public material leaves open.
mod assumed {
    /// The vendor encrypts `bizContent` in production (its rules §2.3.4, not public); until
    /// that is known the business JSON goes as plain text. This is the one replaceable step.
    pub fn seal_biz_content(json: String) -> String {
        json
    }
    /// The inverse for answers: an encrypted `bizContent` is not JSON and decodes as an
    /// error (Unknown), never as a business answer.
    pub fn open_biz_content(text: &str) -> String {
        text.to_owned()
    }
    /// How far the platform's clock may be behind ours when a history line's use time is
    /// matched against our attempt (the skew the desk warns about, issue 18).
    pub const USE_TIME_SKEW_MS: i64 = 120_000;
    /// Only `thirdCouponService.consume` / `.verifyHistory` are documented; they share the
    /// prepare method's `allinpay.shopoint.` prefix.
    pub const CONSUME_METHOD: &str = "allinpay.shopoint.thirdCouponService.consume";
    pub const HISTORY_METHOD: &str = "allinpay.shopoint.thirdCouponService.verifyHistory";
    /// Responses are signed over their fields other than `sign` (see
    /// `response_sign_fields`). An unsigned answer is accepted only when it is not a
    /// success.
    pub const UNSIGNED_FAILURES_ACCEPTED: bool = true;
    /// Largest page of verifyHistory (≤ 200 per the doc) and a bound on pages read.
    pub const HISTORY_PAGE_SIZE: u32 = 200;
    pub const HISTORY_MAX_PAGES: u32 = 50;
}

/// The merchant's private key. Its `Debug` never prints key material.
#[derive(Clone)]
pub struct MerchantKey(pub Arc<RsaPrivateKey>);

impl std::fmt::Debug for MerchantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An allinpay merchant's settings (`[channels.allinpay]`).
#[derive(Debug, Clone)]
pub struct Config {
    /// What precedes `/gateway` in the contract's gateway URL, or the sandbox.
    pub base_url: url::Url,
    pub app_id: String,
    /// `shopId` (店铺号), digits.
    pub shop_id: String,
    /// Signs our requests (RSA2).
    pub merchant_key: MerchantKey,
    /// Verifies the gateway's answers.
    pub platform_key: RsaPublicKey,
    /// `operUserId` when the till does not say who the cashier is.
    pub default_operator: Option<String>,
    pub timeouts: Timeouts,
}

/// The 通联 settings form: `[channels.allinpay]` and its two RSA keys, each a PEM file of
/// its own under keys/.
pub const FORM: Form = Form {
    fields: &[
        Field::text("base_url", true),
        Field::text("app_id", true),
        Field::text("shop_id", true),
        Field::text("operator", false),
    ],
    secrets: &[
        SecretSlot {
            name: "merchant_private_key_pem",
            store: Store::PemFile {
                field: "merchant_private_key",
                file: "allinpay-merchant.pem",
            },
            only_with: None,
            hint: settings::SECRET_HINT,
        },
        SecretSlot {
            name: "platform_public_key_pem",
            store: Store::PemFile {
                field: "platform_public_key",
                file: "allinpay-platform.pem",
            },
            only_with: None,
            hint: settings::SECRET_HINT,
        },
    ],
};

/// The values of this channel's secrets that the sandbox's demo data has published: none,
/// its RSA key pairs are made per install (`demo_secrets::SandboxKeyPairs` refuses them).
pub const PUBLISHED: &[&str] = &[];

/// `[channels.allinpay]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    base_url: String,
    app_id: String,
    shop_id: String,
    merchant_private_key: PathBuf,
    platform_public_key: PathBuf,
    operator: Option<String>,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

impl RawConfig {
    pub fn validate(self, load: &Load) -> Result<Config, ConfigError> {
        let f = |name: &str| format!("channels.allinpay.{name}");
        let pem = |name: &str, p: &std::path::Path| {
            let full = load.resolve(p);
            std::fs::read_to_string(&full).map_err(|e| {
                ConfigError::invalid(f(name), format!("cannot read {}: {e}", full.display()))
            })
        };
        let private =
            private_key_from_pem(&pem("merchant_private_key", &self.merchant_private_key)?)
                .map_err(|e| {
                    ConfigError::invalid_as(f("merchant_private_key"), Why::Pem, e.to_string())
                })?;
        let public = public_key_from_pem(&pem("platform_public_key", &self.platform_public_key)?)
            .map_err(|e| {
            ConfigError::invalid_as(f("platform_public_key"), Why::Pem, e.to_string())
        })?;
        // Either pair in either slot: the sandbox holds both private halves, so a live
        // request signed with its merchant key, or an answer checked with its platform key,
        // proves nothing about the real 通联.
        for (field, public) in [
            ("merchant_private_key", &private.to_public_key()),
            ("platform_public_key", &public),
        ] {
            if load.sandbox_keys.contains(public) {
                return Err(ConfigError::SandboxKeyPair { field: f(field) });
            }
        }
        Ok(Config {
            base_url: settings::base_url(&f("base_url"), &self.base_url)?,
            app_id: settings::ident(&f("app_id"), &self.app_id, 64)?,
            shop_id: settings::digits(&f("shop_id"), &self.shop_id, 18)?,
            merchant_key: MerchantKey(Arc::new(private)),
            platform_key: public,
            default_operator: settings::opt_ident(&f("operator"), self.operator.as_deref(), 64)?,
            timeouts: settings::timeouts(
                "allinpay",
                self.connect_timeout_ms,
                self.total_timeout_ms,
            )?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Allinpay {
    config: Config,
    http: Http,
    ctx: Context,
}

pub const CAPABILITIES: Capabilities = Capabilities {
    remote_prepare: true,
    idempotency_key: true,
    resend_after_unknown: true,
    unknown_resolution: UnknownResolution::History,
    history: true,
    cancel: false,
    multi_count: true,
    certificates: true,
    platforms: &Platform::ALL,
    redeems_codes: true,
};

impl Allinpay {
    /// The longest one call to this channel may take (its configured total timeout).
    pub fn wait_limit(&self) -> std::time::Duration {
        self.http.timeouts().total
    }

    pub fn new(config: Config, ctx: Context) -> Result<Allinpay, ChannelError> {
        let http = Http::new(
            ChannelKind::Allinpay,
            &config.base_url,
            config.timeouts,
            Vec::new(),
        )?;
        Ok(Allinpay { config, http, ctx })
    }

    pub async fn prepare(
        &self,
        code: &CouponCode,
        platform: Platform,
    ) -> Result<Exchanged<Prepared>, ChannelError> {
        let biz = json!({ "type": platform.as_str(), "couponNo": code.as_str(), "shopId": self.config.shop_id });
        let seq = nonce::request_seq();
        let reply = self.send(PREPARE_METHOD, &seq, biz).await;
        let prepared = match &reply.body {
            Ok(body) => prepare_answer(body, &self.config.platform_key, &seq, code, platform),
            Err(reason) => Prepared::Unknown {
                reason: reason.clone(),
            },
        };
        Ok(Exchanged::one(prepared, reply.exchange))
    }

    pub async fn redeem(&self, req: &RedeemRequest) -> Result<Exchanged<Outcome>, ChannelError> {
        let platform = req.platform.ok_or_else(|| ChannelError::InvalidInput {
            field: "platform",
            reason: "通联 needs the platform (meituan, tiktok, dianping, mtdz)".into(),
        })?;
        if req.count == 0 {
            return Err(ChannelError::InvalidInput {
                field: "count",
                reason: "at least one".into(),
            });
        }
        let mut biz = Map::new();
        biz.insert("type".into(), json!(platform.as_str()));
        biz.insert("orderId".into(), json!(req.id.as_str()));
        biz.insert("couponNo".into(), json!(req.code.as_str()));
        biz.insert("num".into(), json!(req.count));
        biz.insert("shopId".into(), json!(self.config.shop_id));
        if let Some(op) = req
            .cashier
            .as_ref()
            .or(self.config.default_operator.as_ref())
        {
            biz.insert("operUserId".into(), json!(op));
        }
        if let Some(r) = req.remark.as_ref().filter(|r| !r.is_empty()) {
            biz.insert("remark".into(), json!(r));
        }
        if !req.certificates.is_empty() {
            let list: Vec<Value> = req
                .certificates
                .iter()
                .map(|c| json!({ "certificateId": c.id, "num": c.num }))
                .collect();
            biz.insert("tiktokCertificateList".into(), Value::Array(list));
        }
        // reqSeq is our id for the redeem (channels.md §5), so a resend is recognisable.
        let reply = self
            .send(CONSUME_METHOD, req.id.as_str(), Value::Object(biz))
            .await;
        let outcome = match &reply.body {
            Ok(body) => redeem_outcome(body, &self.config.platform_key, req),
            Err(reason) => Outcome::unknown(reason.clone()),
        };
        Ok(Exchanged::one(outcome, reply.exchange))
    }

    /// Looks for the code in the history of the attempt's business day. Found → Succeeded;
    /// absent proves nothing (channels.md §0) and stays Unknown.
    pub async fn resolve(
        &self,
        req: &RedeemRequest,
    ) -> Result<Exchanged<Resolution>, ChannelError> {
        let day = self.ctx.zone.date(req.attempted_at_ms);
        let history = match self.history(day).await {
            Ok(h) => h,
            Err(e) => {
                return Ok(Exchanged {
                    value: Resolution::StillUnknown {
                        reason: UnknownReason::Inconclusive {
                            detail: e.to_string(),
                        },
                    },
                    exchanges: Vec::new(),
                })
            }
        };
        Ok(history.map(|entries| find_in_history(&entries, req, self.ctx.zone)))
    }

    /// Resolves several unknowns at once: each business day's history is read once, not
    /// once per attempt (a busy store's day runs to several pages). A match keeps the
    /// history exchanges as its evidence; a miss records what was searched, not the whole
    /// day again on every check.
    pub async fn resolve_all(
        &self,
        reqs: &[RedeemRequest],
    ) -> Vec<Result<Exchanged<Resolution>, ChannelError>> {
        let mut days: std::collections::BTreeMap<
            time::Date,
            Result<Exchanged<Vec<HistoryEntry>>, String>,
        > = std::collections::BTreeMap::new();
        for req in reqs {
            let day = self.ctx.zone.date(req.attempted_at_ms);
            if let std::collections::btree_map::Entry::Vacant(slot) = days.entry(day) {
                slot.insert(self.history(day).await.map_err(|e| e.to_string()));
            }
        }
        reqs.iter()
            .map(|req| {
                let day = self.ctx.zone.date(req.attempted_at_ms);
                Ok(match &days[&day] {
                    Err(e) => Exchanged {
                        value: Resolution::StillUnknown {
                            reason: UnknownReason::Inconclusive { detail: e.clone() },
                        },
                        exchanges: Vec::new(),
                    },
                    Ok(history) => {
                        let value = find_in_history(&history.value, req, self.ctx.zone);
                        let exchanges = match value {
                            Resolution::Succeeded(_) => history.exchanges.clone(),
                            _ => vec![searched(&history.exchanges, history.value.len(), day)],
                        };
                        Exchanged { value, exchanges }
                    }
                })
            })
            .collect()
    }

    /// Every redemption of the shop on `day` (all pages).
    pub async fn history(
        &self,
        day: time::Date,
    ) -> Result<Exchanged<Vec<HistoryEntry>>, ChannelError> {
        let mut entries = Vec::new();
        let mut exchanges = Vec::new();
        for page in 1..=assumed::HISTORY_MAX_PAGES {
            let biz = json!({
                "shopId": self.config.shop_id,
                "date": date_text(day),
                "pageNo": page,
                "pageSize": assumed::HISTORY_PAGE_SIZE,
            });
            let seq = nonce::request_seq();
            let reply = self.send(HISTORY_METHOD, &seq, biz).await;
            exchanges.push(reply.exchange);
            let body = reply.body.map_err(|reason| ChannelError::Transport {
                reason: reason.to_string(),
                kind: Some(reason.kind()),
            })?;
            let page_read = history_page(&body, &self.config.platform_key, &seq)?;
            let got = page_read.entries.len();
            entries.extend(page_read.entries);
            let total = page_read.total.unwrap_or(0);
            if got == 0
                || got < assumed::HISTORY_PAGE_SIZE as usize
                || entries.len() as u64 >= total
            {
                break;
            }
        }
        Ok(Exchanged {
            value: entries,
            exchanges,
        })
    }

    async fn send(&self, method: &str, req_seq: &str, biz: Value) -> super::http::Reply {
        let mut params = BTreeMap::new();
        params.insert("appId".to_owned(), self.config.app_id.clone());
        params.insert("method".to_owned(), method.to_owned());
        params.insert("charset".to_owned(), "UTF-8".to_owned());
        params.insert("format".to_owned(), "JSON".to_owned());
        params.insert("signType".to_owned(), "RSA2".to_owned());
        params.insert(
            "timestamp".to_owned(),
            self.ctx.zone.dashed(self.ctx.clock.now_ms()),
        );
        params.insert("version".to_owned(), "1.0".to_owned());
        params.insert("reqSeq".to_owned(), req_seq.to_owned());
        params.insert(
            "bizContent".to_owned(),
            assumed::seal_biz_content(biz.to_string()),
        );
        let signature = sign(&params, &self.config.merchant_key.0);
        params.insert("sign".to_owned(), signature);
        self.http
            .post(PATH, RequestBody::Form(params.into_iter().collect()))
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Wire types and decoding

/// `{code, msg, data, sign}`; `code` a number or a string (channels.md §5).
#[derive(Debug, serde::Deserialize)]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
struct Envelope<T> {
    /// Anything that cannot be a code makes the answer Unknown.
    #[serde(default, deserialize_with = "lenient::code")]
    code: Option<String>,
    #[serde(default, alias = "message", deserialize_with = "lenient::text")]
    msg: Option<String>,
    #[serde(default, deserialize_with = "lenient::record")]
    data: Option<T>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrepareData {
    #[serde(default, deserialize_with = "lenient::text")]
    coupon_name: Option<String>,
    /// 元; a string in prepare, a number in consume (channels.md §5).
    #[serde(default, deserialize_with = "lenient::yuan")]
    coupon_value: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::yuan")]
    coupon_buy_price: Option<Fen>,
    /// Labelled 券面额 but means the redeemable count (channels.md §5).
    #[serde(default, deserialize_with = "lenient::int")]
    init_amount: Option<u32>,
    #[serde(default, deserialize_with = "lenient::text")]
    validity_begin_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    validity_end_date: Option<String>,
    #[serde(default, alias = "meituan", deserialize_with = "lenient::record")]
    mei_tuan: Option<Deal>,
    /// Keyed `mtdz` where the table says `dianPing` (channels.md §5): accept both.
    #[serde(
        default,
        alias = "dianPing",
        alias = "dianping",
        deserialize_with = "lenient::record"
    )]
    mtdz: Option<Deal>,
    #[serde(default, alias = "tiktok", deserialize_with = "lenient::record")]
    tik_tok: Option<TikTok>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Deal {
    #[serde(default, deserialize_with = "lenient::text")]
    deal_title: Option<String>,
    #[serde(default, deserialize_with = "lenient::yuan")]
    deal_value: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::yuan")]
    deal_price: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::yuan")]
    deal_market_price: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::int")]
    count: Option<u32>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TikTok {
    #[serde(default, deserialize_with = "lenient::list")]
    tiktok_certificate_list: Vec<WireCertificate>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCertificate {
    #[serde(default, deserialize_with = "lenient::text")]
    certificate_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::int")]
    num: Option<u32>,
    #[serde(default, deserialize_with = "lenient::record")]
    sku: Option<Sku>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sku {
    #[serde(default, deserialize_with = "lenient::text")]
    sku_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    title: Option<String>,
    /// In fen, unlike every other amount here (channels.md §5).
    #[serde(default, deserialize_with = "lenient::fen")]
    market_price: Option<Fen>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsumeData {
    #[serde(default, deserialize_with = "lenient::text")]
    tran_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    coupon_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::yuan")]
    coupon_value: Option<Fen>,
    #[serde(default, alias = "dianPing", deserialize_with = "lenient::list")]
    mtdz: Vec<Receipt>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Receipt {
    #[serde(default, deserialize_with = "lenient::text")]
    receipt_code: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryData {
    #[serde(default, deserialize_with = "lenient::int")]
    total: Option<u64>,
    #[serde(default, deserialize_with = "lenient::list")]
    coupon_verify_history_list: Vec<WireHistoryEntry>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireHistoryEntry {
    #[serde(default, deserialize_with = "lenient::text")]
    coupon_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    coupon_use_time: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    coupon_status_desc: Option<String>,
    /// 1 can still be undone, 0 not.
    #[serde(default, deserialize_with = "lenient::flag")]
    coupon_cancel_status: Option<bool>,
    #[serde(default, deserialize_with = "lenient::yuan")]
    coupon_buy_price: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::text")]
    deal_title: Option<String>,
    #[serde(default, deserialize_with = "lenient::yuan")]
    deal_value: Option<Fen>,
    #[serde(default, deserialize_with = "lenient::text")]
    verify_acct: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    verify_type: Option<String>,
    #[serde(default, alias = "reqSeq", deserialize_with = "lenient::text")]
    order_id: Option<String>,
}

enum Said<T> {
    Ok(Option<T>),
    Failed { code: String, message: String },
    Undecided(UnknownReason),
}

/// Verifies the signature, decodes, and reads `code`: 0 success, 3 failure with `msg`,
/// anything else Unknown (channels.md §5). Either answer shape is read (see [`Answer`]);
/// an envelope that answers another request (its `reqSeq` is not `req_seq`) says nothing
/// about ours.
fn read<T: serde::de::DeserializeOwned>(body: &str, key: &RsaPublicKey, req_seq: &str) -> Said<T> {
    let answer = match Answer::parse(body) {
        Ok(a) => a,
        Err(_) if serde_json::from_str::<serde::de::IgnoredAny>(body).is_err() => {
            return Said::Undecided(UnknownReason::NotJson)
        }
        Err(e) => {
            return Said::Undecided(UnknownReason::Undecodable {
                field: e.field,
                message: e.message,
            })
        }
    };
    let signed = match answer.signed(key) {
        Some(false) => return Said::Undecided(UnknownReason::BadSignature),
        Some(true) => true,
        None => false,
    };
    if let Some(seq) = answer.fields.get("reqSeq").filter(|s| !s.is_empty()) {
        if seq != req_seq {
            return Said::Undecided(UnknownReason::Inconclusive {
                detail: format!("the answer is to another request (reqSeq {seq})"),
            });
        }
    }
    let env: Envelope<T> = match lenient::decode(&answer.business) {
        Ok(e) => e,
        Err(e) => {
            let field = match answer.shape {
                Shape::Envelope if e.field == "." => "bizContent".to_owned(),
                Shape::Envelope => format!("bizContent.{}", e.field),
                Shape::Flat => e.field,
            };
            return Said::Undecided(UnknownReason::Undecodable {
                field,
                message: e.message,
            });
        }
    };
    let code = env.code.unwrap_or_default().trim().to_owned();
    let message = env.msg.unwrap_or_default();
    match code.as_str() {
        "0" if signed => Said::Ok(env.data),
        "0" => Said::Undecided(UnknownReason::UnsignedSuccess),
        "3" if signed || assumed::UNSIGNED_FAILURES_ACCEPTED => Said::Failed { code, message },
        "" => Said::Undecided(UnknownReason::Inconclusive {
            detail: format!("no code; msg {message:?}"),
        }),
        _ => Said::Undecided(UnknownReason::ChannelBusy { code, message }),
    }
}

/// The preview from a `thirdCouponService.prepare` answer.
pub fn prepare_answer(
    body: &str,
    key: &RsaPublicKey,
    req_seq: &str,
    code: &CouponCode,
    platform: Platform,
) -> Prepared {
    match read::<PrepareData>(body, key, req_seq) {
        Said::Ok(None) => Prepared::Unknown {
            reason: UnknownReason::Inconclusive {
                detail: "success without data".into(),
            },
        },
        Said::Ok(Some(d)) => {
            let mut p = Preview::bare(code.clone());
            p.platform = Some(platform);
            let deal = d.mei_tuan.as_ref().or(d.mtdz.as_ref());
            p.name = d
                .coupon_name
                .clone()
                .or_else(|| deal.and_then(|x| x.deal_title.clone()));
            p.face_value = d
                .coupon_value
                .or_else(|| deal.and_then(|x| x.deal_value.or(x.deal_market_price)));
            p.price_paid = d
                .coupon_buy_price
                .or_else(|| deal.and_then(|x| x.deal_price));
            p.valid_from = d.validity_begin_date;
            p.valid_until = d.validity_end_date;
            p.certificates = d
                .tik_tok
                .map(|t| {
                    t.tiktok_certificate_list
                        .into_iter()
                        .filter_map(|c| {
                            Some(Certificate {
                                id: c.certificate_id?,
                                num: c.num,
                                title: c.sku.as_ref().and_then(|s| s.title.clone()),
                                sku_id: c.sku.as_ref().and_then(|s| s.sku_id.clone()),
                                market_price: c.sku.as_ref().and_then(|s| s.market_price),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            p.redeemable_count = d
                .init_amount
                .or_else(|| deal.and_then(|x| x.count))
                .or_else(|| {
                    (!p.certificates.is_empty())
                        .then(|| p.certificates.iter().map(|c| c.num.unwrap_or(1)).sum())
                });
            p.warnings.push(platform.undo_warning());
            Prepared::Ready(p)
        }
        Said::Failed { code, message } => Prepared::Rejected {
            code,
            message,
            config_error: false,
        },
        Said::Undecided(reason) => Prepared::Unknown { reason },
    }
}

/// The outcome of a `thirdCouponService.consume` answer to `req` (its `reqSeq` and
/// `orderId` are our id). A success about another coupon is no answer to ours.
pub fn redeem_outcome(body: &str, key: &RsaPublicKey, req: &RedeemRequest) -> Outcome {
    match read::<ConsumeData>(body, key, req.id.as_str()) {
        Said::Ok(data) => {
            let mut refs = Vec::new();
            let mut face = None;
            if let Some(d) = data {
                if let Some(c) = d.coupon_no.as_deref().filter(|c| *c != req.code.as_str()) {
                    return Outcome::unknown(UnknownReason::Inconclusive {
                        detail: format!("consume success for another coupon ({c})"),
                    });
                }
                if let Some(t) = d.tran_no {
                    refs.push(ChannelRef::new("tranNo", t));
                }
                if let Some(c) = d.coupon_no {
                    refs.push(ChannelRef::new("couponNo", c));
                }
                for r in d.mtdz.into_iter().filter_map(|r| r.receipt_code) {
                    refs.push(ChannelRef::new("receiptCode", r));
                }
                face = d.coupon_value;
            }
            Outcome::Succeeded(Redeemed {
                channel_refs: refs,
                face_value: face,
                settled: None,
                count: req.count,
            })
        }
        Said::Failed { code, message } => Outcome::rejected(code, message),
        Said::Undecided(reason) => Outcome::unknown(reason),
    }
}

/// One page of `thirdCouponService.verifyHistory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub total: Option<u64>,
    pub entries: Vec<HistoryEntry>,
}

/// Reads one history page. There is no outcome to fall back on, so anything but a verified
/// success is an error.
pub fn history_page(
    body: &str,
    key: &RsaPublicKey,
    req_seq: &str,
) -> Result<HistoryPage, ChannelError> {
    match read::<HistoryData>(body, key, req_seq) {
        Said::Ok(data) => {
            let data = data.unwrap_or(HistoryData {
                total: Some(0),
                coupon_verify_history_list: Vec::new(),
            });
            Ok(HistoryPage {
                total: data.total,
                entries: data
                    .coupon_verify_history_list
                    .into_iter()
                    .filter_map(|e| {
                        Some(HistoryEntry {
                            code: e.coupon_code?,
                            used_at: e.coupon_use_time,
                            status: e.coupon_status_desc,
                            can_undo: e.coupon_cancel_status,
                            price_paid: e.coupon_buy_price,
                            face_value: e.deal_value,
                            title: e.deal_title,
                            operator: e.verify_acct,
                            verify_type: e.verify_type,
                            order_id: e.order_id,
                        })
                    })
                    .collect(),
            })
        }
        Said::Failed { code, message } => Err(ChannelError::Transport {
            reason: format!("verifyHistory refused ({code}): {message}"),
            kind: None,
        }),
        Said::Undecided(UnknownReason::Undecodable { field, message }) => {
            Err(ChannelError::Decode { field, message })
        }
        Said::Undecided(reason) => Err(ChannelError::Transport {
            reason: reason.to_string(),
            kind: Some(reason.kind()),
        }),
    }
}

/// Found in the day's history → Succeeded; absent → still Unknown (never "not consumed").
/// What a history search that found nothing leaves as evidence: the requests made and the
/// size of what came back.
fn searched(exchanges: &[Exchange], entries: usize, day: time::Date) -> Exchange {
    Exchange {
        method: "POST".to_owned(),
        url: exchanges.first().map(|e| e.url.clone()).unwrap_or_default(),
        request: exchanges
            .iter()
            .map(|e| e.request.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        response: Some(format!(
            "verifyHistory {}: {entries} entries in {} page(s); the code is not among them",
            date_text(day),
            exchanges.len()
        )),
        http_status: exchanges.last().and_then(|e| e.http_status),
        server_date_ms: exchanges.last().and_then(|e| e.server_date_ms),
    }
}

/// Our write-off in a day's history (product.md "A verdict needs evidence"): a line for our
/// code that carries our id, or, when lines carry no id, one whose use time is not before
/// our attempt (less the clock skew allowed). A line of our code from before the attempt
/// is an earlier redemption, and a line without a time cannot be told apart from one:
/// neither is evidence. Absence proves nothing (channels.md §0): never "not consumed".
pub fn find_in_history(
    entries: &[HistoryEntry],
    req: &RedeemRequest,
    zone: super::BusinessZone,
) -> Resolution {
    let ours = req.id.as_str();
    let earliest = req.attempted_at_ms - assumed::USE_TIME_SKEW_MS;
    let lines: Vec<&HistoryEntry> = entries
        .iter()
        .filter(|e| e.code == req.code.as_str())
        .collect();
    let by_id = lines
        .iter()
        .find(|e| e.order_id.as_deref().is_some_and(|o| o == ours));
    let by_time = || {
        lines.iter().find(|e| {
            e.order_id.as_deref().is_none_or(str::is_empty)
                && e.used_at
                    .as_deref()
                    .and_then(|t| zone.parse_dashed(t))
                    .is_some_and(|at| at >= earliest)
        })
    };
    match by_id.or_else(by_time) {
        Some(e) => Resolution::Succeeded(Redeemed {
            channel_refs: vec![ChannelRef::new("couponCode", e.code.clone())],
            face_value: e.face_value,
            settled: None,
            count: req.count,
        }),
        None if lines.is_empty() => Resolution::StillUnknown {
            reason: UnknownReason::Inconclusive {
                detail: "not in the day's verifyHistory (absence proves nothing)".into(),
            },
        },
        None => Resolution::StillUnknown {
            reason: UnknownReason::Inconclusive {
                detail: format!(
                    "the day's verifyHistory has {} line(s) for the code, none of them ours \
                     (another id, or used before our attempt, or no time)",
                    lines.len()
                ),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::outcome::test_request;
    use std::sync::OnceLock;

    /// The platform's key pair for these tests, made once (1024 bits: fast, and the size
    /// does not matter to what is tested).
    fn platform() -> &'static (RsaPrivateKey, RsaPublicKey) {
        static KEYS: OnceLock<(RsaPrivateKey, RsaPublicKey)> = OnceLock::new();
        KEYS.get_or_init(|| {
            let private = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).expect("a key pair");
            let public = private.to_public_key();
            (private, public)
        })
    }

    fn sign_text(text: &str) -> String {
        let key = SigningKey::<Sha256>::new(platform().0.clone());
        base64::engine::general_purpose::STANDARD.encode(key.sign(text.as_bytes()).to_bytes())
    }

    /// How the answer's signature is made in a test.
    enum Signed {
        Fields,
        WithSignType,
        BizOnly,
    }

    fn flat(business: Value, how: Signed) -> String {
        let Value::Object(mut map) = business else {
            unreachable!()
        };
        if matches!(how, Signed::WithSignType) {
            map.insert("signType".into(), json!("RSA2"));
        }
        let biz = map.get("data").map(Value::to_string).unwrap_or("{}".into());
        seal(map, how, biz)
    }

    fn envelope(business: Value, req_seq: &str, how: Signed) -> String {
        let mut map = Map::new();
        for (k, v) in [
            ("appId", "00000001"),
            ("method", CONSUME_METHOD),
            ("charset", "UTF-8"),
            ("format", "JSON"),
            ("signType", "RSA2"),
            ("timestamp", "2026-11-22 10:00:01"),
            ("version", "1.0"),
            ("reqSeq", req_seq),
            ("respSeq", "R20261122100001000001"),
        ] {
            map.insert(k.into(), json!(v));
        }
        let biz = business.to_string();
        map.insert("bizContent".into(), json!(biz));
        seal(map, how, biz)
    }

    /// Signs the answer the way `how` says, `biz` being its business JSON text.
    fn seal(mut map: Map<String, Value>, how: Signed, biz: String) -> String {
        let text = match how {
            Signed::Fields => sign_content(&text_fields(&map)),
            Signed::WithSignType => signing::sorted_join(
                text_fields(&map)
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            Signed::BizOnly => biz,
        };
        map.insert("sign".into(), json!(sign_text(&text)));
        Value::Object(map).to_string()
    }

    fn text_fields(map: &Map<String, Value>) -> BTreeMap<String, String> {
        map.iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| {
                let t = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), t)
            })
            .filter(|(_, v)| !v.is_empty())
            .collect()
    }

    fn consumed(code: &str) -> Value {
        json!({"code": "0", "msg": "成功", "data": {"tranNo": "20261122100001000001",
            "couponNo": code, "couponValue": 10.5}})
    }

    #[test]
    fn a_consume_answer_verifies_and_decodes_in_either_shape_and_signature_reading() {
        let req = test_request("594828681100", 1, None);
        let seq = req.id.as_str();
        let bodies = [
            (
                "flat, fields",
                flat(consumed("594828681100"), Signed::Fields),
            ),
            (
                "flat, with signType",
                flat(consumed("594828681100"), Signed::WithSignType),
            ),
            (
                "flat, data only",
                flat(consumed("594828681100"), Signed::BizOnly),
            ),
            (
                "envelope, fields",
                envelope(consumed("594828681100"), seq, Signed::Fields),
            ),
            (
                "envelope, with signType",
                envelope(consumed("594828681100"), seq, Signed::WithSignType),
            ),
            (
                "envelope, bizContent only",
                envelope(consumed("594828681100"), seq, Signed::BizOnly),
            ),
        ];
        for (what, body) in bodies {
            match redeem_outcome(&body, &platform().1, &req) {
                Outcome::Succeeded(r) => assert!(
                    r.channel_refs
                        .iter()
                        .any(|x| x.value == "20261122100001000001"),
                    "{what}: the tranNo is kept"
                ),
                other => panic!("{what}: expected Succeeded, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_envelope_signed_by_another_key_or_for_another_request_is_unknown() {
        let req = test_request("594828681100", 1, None);
        let good = envelope(consumed("594828681100"), req.id.as_str(), Signed::Fields);
        let other_key = RsaPrivateKey::new(&mut rand::thread_rng(), 1024)
            .unwrap()
            .to_public_key();
        assert!(
            matches!(
                redeem_outcome(&good, &other_key, &req),
                Outcome::Unknown {
                    reason: UnknownReason::BadSignature
                }
            ),
            "a signature that verifies in no reading is Unknown, as before"
        );
        let tampered = good.replace("20261122100001000001", "20261122100001000002");
        assert!(
            matches!(
                redeem_outcome(&tampered, &platform().1, &req),
                Outcome::Unknown {
                    reason: UnknownReason::BadSignature
                }
            ),
            "a changed bizContent does not verify"
        );
        let elsewhere = envelope(
            consumed("594828681100"),
            "0123456789abcdef0123456789abcdef",
            Signed::Fields,
        );
        assert!(
            matches!(
                redeem_outcome(&elsewhere, &platform().1, &req),
                Outcome::Unknown { .. }
            ),
            "an answer to another request says nothing about ours"
        );
        let another_coupon = flat(consumed("111111111111"), Signed::Fields);
        assert!(
            matches!(
                redeem_outcome(&another_coupon, &platform().1, &req),
                Outcome::Unknown { .. }
            ),
            "a success for another coupon is no answer to ours"
        );
    }

    #[test]
    fn an_encrypted_biz_content_is_unknown_not_a_business_answer() {
        let req = test_request("594828681100", 1, None);
        let mut map = Map::new();
        map.insert("reqSeq".into(), json!(req.id.as_str()));
        map.insert("bizContent".into(), json!("q83vEjRWeJA=")); // not JSON
        let text = sign_content(&text_fields(&map));
        map.insert("sign".into(), json!(sign_text(&text)));
        let body = Value::Object(map).to_string();
        match redeem_outcome(&body, &platform().1, &req) {
            Outcome::Unknown {
                reason: UnknownReason::Undecodable { field, .. },
            } => assert!(
                field.starts_with("bizContent"),
                "the field is named: {field}"
            ),
            other => panic!("expected Undecodable bizContent, got {other:?}"),
        }
    }

    fn line(code: &str, used_at: Option<&str>, order_id: Option<&str>) -> HistoryEntry {
        HistoryEntry {
            code: code.into(),
            used_at: used_at.map(str::to_owned),
            status: Some("已核销".into()),
            can_undo: Some(true),
            price_paid: None,
            face_value: None,
            title: None,
            operator: None,
            verify_type: None,
            order_id: order_id.map(str::to_owned),
        }
    }

    #[test]
    fn a_history_line_is_evidence_only_when_it_names_our_attempt() {
        let zone = super::super::BusinessZone::from_minutes(480).unwrap();
        // attempted_at is 2026-11-22 10:00:00 +08:00.
        let req = test_request("594828681100", 1, None);
        let found = |entries: &[HistoryEntry]| {
            matches!(
                find_in_history(entries, &req, zone),
                Resolution::Succeeded(_)
            )
        };
        assert!(!found(&[]), "absence proves nothing, and is not a success");
        assert!(
            !found(&[line("594828681100", Some("2026-11-22 09:40:00"), None)]),
            "a line of our code from before the attempt is an earlier redemption"
        );
        assert!(
            !found(&[line("594828681100", None, None)]),
            "a line without a time cannot be told from an earlier one"
        );
        assert!(
            !found(&[line(
                "594828681100",
                Some("2026-11-22 10:00:02"),
                Some("0123456789abcdef0123456789abcdef")
            )]),
            "a line with another order id is another write-off"
        );
        assert!(
            found(&[line("594828681100", Some("2026-11-22 10:00:02"), None)]),
            "a line of our code used after our attempt began"
        );
        assert!(
            found(&[line("594828681100", None, Some(req.id.as_str()))]),
            "a line that carries our id names it outright"
        );
        assert!(
            !found(&[line("111111111111", Some("2026-11-22 10:00:02"), None)]),
            "another code"
        );
    }
}
