//! 智迈 zvcms member coupons (channels.md §3, seed 002): config, the envelope `Token`,
//! wire types, quirk-tolerant decoding and the outcome mapping.

use super::signing;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;

/// Which names the Token content uses. channels.md §3: whether v2 signs with lower-camel
/// names or the PascalCase envelope names is unknown, so it is a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenNaming {
    /// `grantCode`, `nonce`, `openId`, `timestamp` (what the public client code does).
    #[default]
    LowerCamel,
    /// `GrantCode`, `Nonce`, `OpenId`, `Timestamp` (the envelope's own names).
    PascalCase,
}

/// The envelope Token (channels.md §3 [verified]): `grantCode`, `nonce`, `openId`,
/// `timestamp` (business params are not signed), sorted, joined `k=v&…`, HMAC-SHA1 keyed
/// with the merchant secret, standard Base64, then URL-escaped; the escaped text is what
/// goes into the JSON `Token` field.
pub fn token(
    secret: &str,
    open_id: &str,
    grant_code: &str,
    timestamp: &str,
    nonce: &str,
    naming: TokenNaming,
) -> String {
    let names = match naming {
        TokenNaming::LowerCamel => ["grantCode", "nonce", "openId", "timestamp"],
        TokenNaming::PascalCase => ["GrantCode", "Nonce", "OpenId", "Timestamp"],
    };
    let content = signing::sorted_join([
        (names[0], grant_code),
        (names[1], nonce),
        (names[2], open_id),
        (names[3], timestamp),
    ]);
    // HMAC accepts a key of any length, so `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(content.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    url_escape_base64(&b64)
}

/// Checks a received `Token` (escaped, as it appears in the JSON) in constant time. An
/// unescaped Base64 token is accepted too: clients disagree on whether to escape.
pub fn verify_token(
    received: &str,
    secret: &str,
    open_id: &str,
    grant_code: &str,
    timestamp: &str,
    nonce: &str,
    naming: TokenNaming,
) -> bool {
    let expected = token(secret, open_id, grant_code, timestamp, nonce, naming);
    let received = url_escape_base64(received.trim());
    signing::bytes_eq(expected.as_bytes(), received.as_bytes())
}

/// Standard Base64 uses only `A–Z a–z 0–9 + / =`; the three non-alphanumerics are the only
/// characters URL escaping changes, so this is the full escape for this alphabet.
fn url_escape_base64(b64: &str) -> String {
    b64.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

// ---------------------------------------------------------------------------------------
// Config and calls

use super::business_time::unix_seconds_text;
use super::capabilities::{Capabilities, UnknownResolution};
use super::http::{Http, RequestBody, Timeouts};
use super::lenient;
use super::nonce;
use super::outcome::{
    ChannelRef, Exchanged, Outcome, Prepared, RedeemRequest, Redeemed, Resolution, UnknownReason,
};
use super::preview::{Preview, Warning};
use super::settings::{self, ConfigError, Field, FieldKind, Form, Load, SecretSlot};
use super::{ChannelError, ChannelKind, Context, CouponCode};
use crate::money::Fen;
use crate::secret::Secret;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Path under `base_url` (channels.md §3): `http://openapi.zvcms.com` + `/api/v2`.
pub const PATH: &str = "/api/v2";
/// The redeem action; the typo is the real name (channels.md §3).
pub const REDEEM_ACTION: &str = "communal.user.coupons-vertify";
/// The preview action, also used to settle an Unknown (channels.md §3 [doc]).
pub const DETAIL_ACTION: &str = "coupon.off-coupon";

/// channels.md §3 [assumed]: what the seed and the public pages leave open.
mod assumed {
    /// The scanned code goes into `couponsCardList` as a JSON array of strings (the table
    /// says array; codes may exceed 15 digits so they are never sent as numbers).
    pub const CODE_LIST_AS_STRINGS: bool = true;
    /// `useCount` makes the vendor treat the call as a 次券 write-off, so it is sent only
    /// when more than one use is consumed.
    pub fn use_count(count: u32) -> Option<u32> {
        (count > 1).then_some(count)
    }
    /// `coupon.amount` is a money amount in 元 as text when `coupon_type` is 0.
    pub const COUPON_AMOUNT_IN_YUAN: bool = true;
    /// Codes that mean "try again later" rather than a business answer.
    pub const RETRY_CODES: [&str; 2] = ["110004", "110007"];
    pub const RETRY_WORDS: [&str; 3] = ["验签", "限流", "繁忙"];
    /// `Nonce` length in digits (a random positive integer).
    pub const NONCE_DIGITS: usize = 9;
}

/// A 智迈 merchant's settings (`[channels.zvcms]`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Everything before `/api/v2`: `http://openapi.zvcms.com`, or the sandbox.
    pub base_url: url::Url,
    /// `OpenId` (密钥Id).
    pub open_id: String,
    /// `GrantCode` (授权code).
    pub grant_code: String,
    /// The merchant secret keying the Token HMAC.
    pub secret: Secret,
    /// `ext.multiStoreMark`, the store code sent on every POS request (channels.md §3).
    pub store_mark: Option<String>,
    /// `ext.multiStoreId`, when the vendor assigned one.
    pub store_id: Option<String>,
    pub token_naming: TokenNaming,
    pub timeouts: Timeouts,
}

/// The 智迈 settings form: `[channels.zvcms]` and its secret in secrets.toml.
pub const FORM: Form = Form {
    fields: &[
        Field::text("base_url", true),
        Field::text("open_id", true),
        Field::text("grant_code", true),
        Field::text("store_mark", false),
        Field::text("store_id", false),
        Field {
            name: "token_naming",
            required: false,
            kind: FieldKind::Choice {
                options: &["lower_camel", "pascal_case"],
            },
            hint: None,
        },
    ],
    secrets: &[SecretSlot::key("secret")],
};

/// The values of this channel's secrets that the sandbox's demo data has published
/// (`crates/sandbox/demo/coupons.toml`, 智迈 secret): a live configuration refuses them in any
/// slot. A value stays listed after the demo file changes: once committed, it is public.
pub const PUBLISHED: &[&str] = &["sandbox-demo-zvcms-secret-0001"];

/// `[channels.zvcms]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    base_url: String,
    open_id: String,
    grant_code: String,
    store_mark: Option<String>,
    store_id: Option<String>,
    #[serde(default)]
    token_naming: TokenNaming,
    secrets: PathBuf,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

impl RawConfig {
    pub fn validate(self, load: &Load) -> Result<Config, ConfigError> {
        let f = |name: &str| format!("channels.zvcms.{name}");
        let (secrets, label) = load.secrets("zvcms", &self.secrets)?;
        Ok(Config {
            base_url: settings::base_url(&f("base_url"), &self.base_url)?,
            open_id: settings::ident(&f("open_id"), &self.open_id, 64)?,
            grant_code: settings::ident(&f("grant_code"), &self.grant_code, 64)?,
            secret: settings::shared_secret("zvcms", "secret", secrets, &label)?,
            store_mark: settings::opt_ident(&f("store_mark"), self.store_mark.as_deref(), 64)?,
            store_id: settings::opt_digits(&f("store_id"), self.store_id.as_deref(), 18)?,
            token_naming: self.token_naming,
            timeouts: settings::timeouts("zvcms", self.connect_timeout_ms, self.total_timeout_ms)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Zvcms {
    config: Config,
    http: Http,
    ctx: Context,
    /// The Token naming in use: the configured one until the platform refuses a preview's
    /// Token and accepts the other naming (channels.md §3: which one v2 uses is unknown,
    /// and the refusal says so, so it is detected rather than guessed).
    naming: Arc<AtomicBool>,
}

impl TokenNaming {
    fn other(self) -> TokenNaming {
        match self {
            TokenNaming::LowerCamel => TokenNaming::PascalCase,
            TokenNaming::PascalCase => TokenNaming::LowerCamel,
        }
    }
}

pub const CAPABILITIES: Capabilities = Capabilities {
    remote_prepare: true,
    idempotency_key: true,
    resend_after_unknown: true,
    unknown_resolution: UnknownResolution::CouponState,
    history: false,
    cancel: false,
    multi_count: true,
    certificates: false,
    platforms: &[],
    redeems_codes: true,
};

impl Zvcms {
    /// The longest one call to this channel may take (its configured total timeout).
    pub fn wait_limit(&self) -> std::time::Duration {
        self.http.timeouts().total
    }

    pub fn new(config: Config, ctx: Context) -> Result<Zvcms, ChannelError> {
        let http = Http::new(
            ChannelKind::Zvcms,
            &config.base_url,
            config.timeouts,
            vec![config.secret.clone()],
        )?;
        Ok(Zvcms {
            config,
            http,
            ctx,
            naming: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The naming the Token is made with now.
    fn naming(&self) -> TokenNaming {
        if self.naming.load(Ordering::Relaxed) {
            self.config.token_naming.other()
        } else {
            self.config.token_naming
        }
    }

    /// The preview.
    pub async fn prepare(&self, code: &CouponCode) -> Result<Exchanged<Prepared>, ChannelError> {
        let (body, exchanges) = self
            .send(DETAIL_ACTION, json!({ "code": code.as_str() }))
            .await;
        let value = match &body {
            Ok(body) => prepare_answer(body, code, self.ctx.zone),
            Err(reason) => Prepared::Unknown {
                reason: reason.clone(),
            },
        };
        Ok(Exchanged { value, exchanges })
    }

    pub async fn redeem(&self, req: &RedeemRequest) -> Result<Exchanged<Outcome>, ChannelError> {
        if req.count == 0 {
            return Err(ChannelError::InvalidInput {
                field: "count",
                reason: "at least one use".into(),
            });
        }
        let mut ext = Map::new();
        // channels.md §3: 3 = pos.
        ext.insert("channelType".into(), json!(3));
        if let Some(mark) = &self.config.store_mark {
            ext.insert("multiStoreMark".into(), json!(mark));
        }
        if let Some(id) = &self.config.store_id {
            ext.insert("multiStoreId".into(), json!(id));
        }
        ext.insert("orderNo".into(), json!(req.id.as_str()));
        let code_list = if assumed::CODE_LIST_AS_STRINGS {
            json!([req.code.as_str()])
        } else {
            json!(req.code.as_str())
        };
        let mut params = Map::new();
        params.insert("bizId".into(), json!(req.id.as_str()));
        params.insert("couponsCardList".into(), code_list);
        // channels.md §3: type 1 = the list holds scanned write-off codes (what a POS sends).
        params.insert("type".into(), json!(1));
        params.insert("ext".into(), Value::Object(ext));
        if let Some(n) = assumed::use_count(req.count) {
            params.insert("useCount".into(), json!(n));
        }
        if let Some(a) = req.order_amount {
            params.insert("orderAmount".into(), json!(a.0));
        }
        let (body, exchanges) = self.send(REDEEM_ACTION, Value::Object(params)).await;
        let value = match &body {
            Ok(body) => redeem_outcome(body, req),
            Err(reason) => Outcome::unknown(reason.clone()),
        };
        Ok(Exchanged { value, exchanges })
    }

    /// Reads the coupon's state again (channels.md §3: "status 1 after our attempt →
    /// Succeeded").
    pub async fn resolve(
        &self,
        req: &RedeemRequest,
    ) -> Result<Exchanged<Resolution>, ChannelError> {
        let (body, exchanges) = self
            .send(DETAIL_ACTION, json!({ "code": req.code.as_str() }))
            .await;
        let value = match &body {
            Ok(body) => coupon_resolution(body, req),
            Err(reason) => Resolution::StillUnknown {
                reason: reason.clone(),
            },
        };
        Ok(Exchanged { value, exchanges })
    }

    /// The envelope with a fresh `Timestamp` and `Nonce` (so a retry is never a replay)
    /// and its Token.
    /// Sends with the naming in use; a Token refusal is tried once more with the other
    /// naming, and when that one is accepted it is kept for every later call. A refused
    /// Token means the platform did not process the request, so the second try (same
    /// `bizId`) cannot consume twice.
    async fn send(
        &self,
        action: &str,
        params: Value,
    ) -> (Result<String, UnknownReason>, Vec<super::outcome::Exchange>) {
        let naming = self.naming();
        let first = self.send_with(action, params.clone(), naming).await;
        if !first.body.as_deref().is_ok_and(token_refused) {
            return (first.body, vec![first.exchange]);
        }
        let second = self.send_with(action, params, naming.other()).await;
        if !second.body.as_deref().is_ok_and(token_refused) {
            self.naming.store(
                naming.other() != self.config.token_naming,
                Ordering::Relaxed,
            );
        }
        (second.body, vec![first.exchange, second.exchange])
    }

    async fn send_with(
        &self,
        action: &str,
        params: Value,
        naming: TokenNaming,
    ) -> super::http::Reply {
        let timestamp = unix_seconds_text(self.ctx.clock.now_ms());
        let nonce = nonce::digits(assumed::NONCE_DIGITS);
        let c = &self.config;
        let token = token(
            c.secret.expose(),
            &c.open_id,
            &c.grant_code,
            &timestamp,
            &nonce,
            naming,
        );
        let envelope = json!({
            "OpenId": c.open_id,
            "GrantCode": c.grant_code,
            "Token": token,
            "Timestamp": timestamp,
            "Nonce": nonce,
            "Action": action,
            "Params": params,
        });
        self.http
            .post(
                PATH,
                RequestBody::Json {
                    value: envelope,
                    content_type: "application/json",
                },
            )
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Wire types and decoding

/// `{status, code, message, data}` (channels.md §3). `status` as `true` or `"true"`, `code`
/// as `0` or `"0"` or a text.
#[derive(Debug, serde::Deserialize)]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
struct Envelope<T> {
    #[serde(default, deserialize_with = "lenient::flag")]
    status: Option<bool>,
    /// A business or system code; anything that cannot be one makes the answer Unknown.
    #[serde(default, deserialize_with = "lenient::code")]
    code: Option<String>,
    #[serde(default, alias = "msg", deserialize_with = "lenient::text")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient::record")]
    data: Option<T>,
}

#[derive(Debug, serde::Deserialize)]
struct RedeemData {
    /// A string in requests, an int in responses (channels.md §3).
    #[serde(default, alias = "biz_id", deserialize_with = "lenient::text")]
    #[serde(rename = "bizId")]
    biz_id: Option<String>,
    /// A list or the string `"[390962138708451328]"` (channels.md §3).
    #[serde(
        default,
        rename = "cardIdList",
        alias = "card_id_list",
        deserialize_with = "lenient::texts"
    )]
    card_ids: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
struct UserCoupon {
    /// 0 unused, 1 used, 2 locked.
    #[serde(default, deserialize_with = "lenient::int")]
    status: Option<i64>,
    #[serde(default, alias = "startAt", deserialize_with = "lenient::int")]
    start_at: Option<i64>,
    #[serde(default, alias = "endAt", deserialize_with = "lenient::int")]
    end_at: Option<i64>,
    #[serde(default, deserialize_with = "lenient::record")]
    coupon: Option<CouponInfo>,
    /// A 次券's uses in all and left. [assumed] (channels.md §3): the public page shows no
    /// count fields; where they come they settle an Unknown by comparison, and where they
    /// do not, an unused status proves nothing.
    #[serde(
        default,
        alias = "totalCount",
        alias = "total_times",
        deserialize_with = "lenient::int"
    )]
    total_count: Option<u32>,
    #[serde(
        default,
        alias = "remainCount",
        alias = "remain_times",
        alias = "surplus_count",
        deserialize_with = "lenient::int"
    )]
    remain_count: Option<u32>,
}

#[derive(Debug, serde::Deserialize)]
struct CouponInfo {
    #[serde(default, deserialize_with = "lenient::text")]
    title: Option<String>,
    /// Money or discount, as text (channels.md §3).
    #[serde(default, deserialize_with = "lenient::text")]
    amount: Option<String>,
    /// 0 fixed amount, 1 discount.
    #[serde(default, alias = "couponType", deserialize_with = "lenient::int")]
    coupon_type: Option<i64>,
}

/// What an envelope says, before the action's own meaning.
enum Verdict<T> {
    Ok(Option<T>),
    Refused { code: String, message: String },
    Undecided(UnknownReason),
}

fn verdict<T: serde::de::DeserializeOwned>(body: &str) -> Verdict<T> {
    let env: Envelope<T> = match lenient::decode(body) {
        Ok(e) => e,
        Err(_) if serde_json::from_str::<serde::de::IgnoredAny>(body).is_err() => {
            return Verdict::Undecided(UnknownReason::NotJson);
        }
        Err(e) => {
            return Verdict::Undecided(UnknownReason::Undecodable {
                field: e.field,
                message: e.message,
            })
        }
    };
    let code = env.code.unwrap_or_default().trim().to_owned();
    let message = env.message.unwrap_or_default();
    let busy = assumed::RETRY_CODES.contains(&code.as_str())
        || assumed::RETRY_WORDS.iter().any(|w| message.contains(w));
    // channels.md §3: succeeded only when code is 0 AND status is truthy.
    if code == "0" && env.status == Some(true) {
        return Verdict::Ok(env.data);
    }
    if busy {
        return Verdict::Undecided(UnknownReason::ChannelBusy { code, message });
    }
    match env.status {
        // The seed's exception example: status true with a business code.
        Some(true) if !code.is_empty() => Verdict::Refused { code, message },
        // status false carries a system error code (channels.md §3).
        Some(false) => Verdict::Undecided(UnknownReason::ChannelBusy { code, message }),
        _ => Verdict::Undecided(UnknownReason::Inconclusive {
            detail: format!(
                "status {:?}, code {code:?}, message {message:?}",
                env.status
            ),
        }),
    }
}

/// The outcome of a `coupons-vertify` answer body for the request that was sent.
pub fn redeem_outcome(body: &str, req: &RedeemRequest) -> Outcome {
    match verdict::<RedeemData>(body) {
        Verdict::Ok(data) => {
            let mut refs = Vec::new();
            let (biz_id, card_ids) = match data {
                Some(d) => (d.biz_id, d.card_ids),
                None => (None, Vec::new()),
            };
            // The reversal (冲正) uses the returned bizId (channels.md §3), so keep it; ours
            // when the answer omits it.
            refs.push(ChannelRef::new(
                "bizId",
                biz_id.unwrap_or_else(|| req.id.as_str().to_owned()),
            ));
            for id in card_ids {
                refs.push(ChannelRef::new("cardId", id));
            }
            Outcome::Succeeded(Redeemed {
                channel_refs: refs,
                face_value: None,
                settled: None,
                count: req.count,
            })
        }
        Verdict::Refused { code, message } => Outcome::rejected(code, message),
        Verdict::Undecided(reason) => Outcome::unknown(reason),
    }
}

fn unix_text(zone: super::BusinessZone, secs: Option<i64>) -> Option<String> {
    secs.filter(|s| *s > 0)
        .map(|s| zone.dashed(s.saturating_mul(1000)))
}

/// The preview from a `coupon.off-coupon` answer.
pub fn prepare_answer(body: &str, code: &CouponCode, zone: super::BusinessZone) -> Prepared {
    match verdict::<UserCoupon>(body) {
        Verdict::Ok(None) => Prepared::Unknown {
            reason: UnknownReason::Inconclusive {
                detail: "success without the coupon".into(),
            },
        },
        Verdict::Ok(Some(c)) => match c.status {
            Some(0) | None => {
                let mut p = Preview::bare(code.clone());
                if let Some(info) = &c.coupon {
                    p.name = info.title.clone();
                    if assumed::COUPON_AMOUNT_IN_YUAN && info.coupon_type == Some(0) {
                        p.face_value = info
                            .amount
                            .as_deref()
                            .and_then(|a| Fen::from_yuan_str(a).ok());
                    }
                }
                p.valid_from = unix_text(zone, c.start_at);
                p.valid_until = unix_text(zone, c.end_at);
                p.uses_left = c.remain_count;
                p.redeemable_count = Some(match (c.total_count, c.remain_count) {
                    (Some(total), Some(left)) if total > 1 => left.max(1),
                    _ => 1,
                });
                p.warnings.push(Warning::UndoIsManual);
                Prepared::Ready(p)
            }
            Some(1) => Prepared::Rejected {
                code: "used".into(),
                message: "券已使用".into(),
                config_error: false,
            },
            Some(2) => Prepared::Rejected {
                code: "locked".into(),
                message: "券已锁定".into(),
                config_error: false,
            },
            Some(other) => Prepared::Unknown {
                reason: UnknownReason::Inconclusive {
                    detail: format!("coupon status {other}"),
                },
            },
        },
        Verdict::Refused { code, message } => Prepared::Rejected {
            code,
            message,
            config_error: false,
        },
        Verdict::Undecided(reason) => Prepared::Unknown { reason },
    }
}

/// What a `coupon.off-coupon` answer says about an Unknown redemption of `req`
/// (product.md "A verdict needs evidence"). The coupon's state is not a record of our
/// write-off, so it settles only what it proves:
/// - with the uses left read back and the uses left at the preview stored: left = before −
///   count → consumed; left = before → not consumed; anything else stays Unknown;
/// - without counts: `used` after a preview that said unused, for a single use asked of a
///   coupon not known to have more → consumed. `unused` proves nothing (a 次券 with uses
///   left is still unused after one use), so it stays Unknown.
pub fn coupon_resolution(body: &str, req: &RedeemRequest) -> Resolution {
    let consumed = || {
        Resolution::Succeeded(Redeemed {
            channel_refs: vec![ChannelRef::new("bizId", req.id.as_str())],
            face_value: None,
            settled: None,
            count: req.count,
        })
    };
    let unknown = |detail: String| Resolution::StillUnknown {
        reason: UnknownReason::Inconclusive { detail },
    };
    match verdict::<UserCoupon>(body) {
        Verdict::Ok(Some(c)) => match (c.remain_count, req.remaining_before) {
            (Some(left), Some(before)) if before.checked_sub(req.count) == Some(left) => consumed(),
            (Some(left), Some(before)) if left == before && c.status != Some(1) => {
                Resolution::NotConsumed {
                    evidence: format!(
                        "coupon.off-coupon: {left} use(s) left, as before the attempt"
                    ),
                }
            }
            (Some(left), Some(before)) => unknown(format!(
                "coupon.off-coupon: {left} use(s) left, {before} before, {} asked",
                req.count
            )),
            _ => match c.status {
                Some(1) if req.count == 1 && req.remaining_before.is_none_or(|b| b <= 1) => {
                    consumed()
                }
                other => unknown(format!(
                    "coupon status {other:?} without uses left to compare (proves nothing)"
                )),
            },
        },
        Verdict::Ok(None) => unknown("success without the coupon".into()),
        Verdict::Refused { code, message } => unknown(format!("{code}: {message}")),
        Verdict::Undecided(reason) => Resolution::StillUnknown { reason },
    }
}

/// Whether an answer refuses our Token (channels.md §3: 110004, 验签).
fn token_refused(body: &str) -> bool {
    match verdict::<serde::de::IgnoredAny>(body) {
        Verdict::Undecided(UnknownReason::ChannelBusy { code, message }) => {
            code == "110004" || message.contains("验签") || message.contains("Token")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_token_of_channels_md_section_3_reproduces() {
        assert_eq!(
            token(
                "fake-open-key-for-test-only-0001",
                "fake-open-id-for-test-only-0001",
                "fake-grant-code-0001",
                "1712563200",
                "24680",
                TokenNaming::LowerCamel
            ),
            "ySypL4SRFMmfSrCqOiFE01LK3ks%3D",
            "channels.md §3 [verified]"
        );
    }

    use crate::channel::outcome::test_request;

    fn detail(status: i64, counts: Option<(u32, u32)>) -> String {
        let mut data = json!({"code":"390962138708451328","status":status,"start_at":"","end_at":"",
            "coupon":{"title":"次券","amount":"10.00","coupon_type":0}});
        if let Some((total, left)) = counts {
            data["total_count"] = json!(total);
            data["remain_count"] = json!(left);
        }
        json!({"status": true, "code": 0, "message": "success", "data": data}).to_string()
    }

    fn still_unknown(r: &Resolution) -> bool {
        matches!(r, Resolution::StillUnknown { .. })
    }

    #[test]
    fn a_times_coupon_still_unused_after_one_use_is_consumed_by_the_count_not_unused() {
        // 5 uses, 3 left at the preview, one asked: after it the coupon is still status 0.
        let req = test_request("390962138708451328", 1, Some(3));
        assert!(
            matches!(coupon_resolution(&detail(0, Some((5, 2))), &req), Resolution::Succeeded(ref r) if r.count == 1),
            "one use fewer than before: our use"
        );
        assert!(
            matches!(
                coupon_resolution(&detail(0, Some((5, 3))), &req),
                Resolution::NotConsumed { .. }
            ),
            "as many left as before: nothing consumed"
        );
        assert!(
            still_unknown(&coupon_resolution(&detail(0, Some((5, 1))), &req)),
            "two fewer for one asked: someone else used it too"
        );
        let multi = test_request("390962138708451328", 2, Some(3));
        assert!(
            matches!(coupon_resolution(&detail(0, Some((5, 1))), &multi), Resolution::Succeeded(ref r) if r.count == 2),
            "several uses in one write-off"
        );
    }

    #[test]
    fn an_unused_status_without_counts_proves_nothing() {
        // The 11-in-900 case: a 次券 with uses left reads unused after one use.
        let req = test_request("390962138708451328", 1, None);
        assert!(
            still_unknown(&coupon_resolution(&detail(0, None), &req)),
            "status 0 is no evidence that our write-off did not happen"
        );
        assert!(
            matches!(
                coupon_resolution(&detail(1, None), &req),
                Resolution::Succeeded(_)
            ),
            "used after a preview that said unused, one use asked"
        );
        let two = test_request("390962138708451328", 2, None);
        assert!(
            still_unknown(&coupon_resolution(&detail(1, None), &two)),
            "used, but nothing says how many uses were ours"
        );
    }

    #[test]
    fn an_answer_that_names_no_coupon_or_a_refusal_settles_nothing() {
        let req = test_request("390962138708451328", 1, Some(1));
        let bare = json!({"status": true, "code": "0", "message": "ok"}).to_string();
        assert!(
            still_unknown(&coupon_resolution(&bare, &req)),
            "success without the coupon"
        );
        let refused =
            json!({"status": true, "code": "120100", "message": "优惠券不存在"}).to_string();
        assert!(
            still_unknown(&coupon_resolution(&refused, &req)),
            "a refusal of the lookup"
        );
        let odd = json!({"status": true, "code": {"x": 1}, "message": ""}).to_string();
        assert!(
            matches!(redeem_outcome(&odd, &req), Outcome::Unknown { .. }),
            "a code that cannot be one is no refusal"
        );
        let inside = json!({"status": true, "code": "120108", "message": "该券不适用于当前门店"})
            .to_string();
        assert!(
            matches!(redeem_outcome(&inside, &req), Outcome::Rejected { ref code, .. } if code == "120108"),
            "seed 002's exception answer: status true with a business code is a refusal"
        );
    }

    #[test]
    fn a_times_coupon_previews_its_uses_left_as_the_cap() {
        let code = CouponCode::new("390962138708451328").unwrap();
        let zone = crate::channel::BusinessZone::from_minutes(480).unwrap();
        let Prepared::Ready(p) = prepare_answer(&detail(0, Some((5, 3))), &code, zone) else {
            panic!("a valid 次券 previews")
        };
        assert_eq!(
            p.redeemable_count,
            Some(3),
            "the stepper is capped at the uses left"
        );
        assert_eq!(
            p.uses_left,
            Some(3),
            "kept with the attempt to settle an Unknown"
        );
    }

    #[test]
    fn single_uses_are_not_sent_as_times_coupon_writes_offs() {
        assert_eq!(
            assumed::use_count(1),
            None,
            "useCount turns a write-off into a 次券 one"
        );
        assert_eq!(assumed::use_count(3), Some(3));
    }
}
