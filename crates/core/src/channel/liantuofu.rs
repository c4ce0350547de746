//! 联拓富 times cards (channels.md §4, seed 003): config, signature, wire types, decoding,
//! and the before/after comparison that settles an Unknown (a consume is never resent).

use super::signing;
use std::collections::BTreeMap;

/// The 联拓富 signature (channels.md §4 [doc, verified]): drop `sign` and empty values, sort
/// by key, join `k=v&…` with raw values, append `&key=<key>`, MD5, lowercase hex.
pub fn sign(params: &BTreeMap<String, String>, key: &str) -> String {
    signing::default_md5_sign(params, key)
}

/// Checks `params["sign"]` against [`sign`] (case-insensitive, constant time).
pub fn verify(params: &BTreeMap<String, String>, key: &str) -> bool {
    signing::default_md5_verify(params, key)
}

// ---------------------------------------------------------------------------------------
// Config and calls

use super::capabilities::{Capabilities, UnknownResolution};
use super::http::{Http, RequestBody, Timeouts};
use super::lenient;
use super::nonce;
use super::outcome::{
    ChannelRef, Exchanged, Outcome, Prepared, RedeemRequest, Redeemed, Resolution, UnknownReason,
};
use super::preview::{Preview, Warning};
use super::settings::{self, ConfigError, Field, Form, Load, SecretSlot};
use super::{ChannelError, ChannelKind, Context, CouponCode};
use crate::secret::Secret;
use serde::Deserialize;
use std::path::PathBuf;

/// Paths under `base_url` (channels.md §4): base `https://api.liantuofu.com`.
pub const DETAIL_PATH: &str = "/open/timescard/userTimesCardDetail";
pub const CONSUME_PATH: &str = "/open/timescard/userTimesCardConsume";

/// channels.md §4 [assumed]: what the seed leaves open.
mod assumed {
    /// `consumeSource`: 0 phone, 1 plug-in, 2 web; a POS is a plug-in.
    pub const CONSUME_SOURCE: &str = "1";
    /// `userTimesCardDetail` answers with the same `code` values as the consume
    /// (`SUCCESS` / `FAILED`).
    pub const DETAIL_SUCCESS: &str = "SUCCESS";
}

/// `random`: 8–10 digits only (channels.md §4), although the seed's example sends letters.
const RANDOM_DIGITS: usize = 10;

/// A 联拓富 merchant's settings (`[channels.liantuofu]`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Everything before `/open/timescard/...`: `https://api.liantuofu.com`, or the sandbox.
    pub base_url: url::Url,
    /// `appId` (核心商户编号), e.g. `EW_N5946005323`.
    pub app_id: String,
    /// `consumeMerchantCode` (核销门店编号).
    pub consume_merchant_code: String,
    /// `consumeEmployeeId`, sent when set.
    pub consume_employee_id: Option<String>,
    pub key: Secret,
    pub timeouts: Timeouts,
}

/// The 联拓富 settings form: `[channels.liantuofu]` and its key in secrets.toml.
pub const FORM: Form = Form {
    fields: &[
        Field::text("base_url", true),
        Field::text("app_id", true),
        Field::text("consume_merchant_code", true),
        Field::text("consume_employee_id", false),
    ],
    secrets: &[SecretSlot::key("key")],
};

/// The values of this channel's secrets that the sandbox's demo data has published
/// (`crates/sandbox/demo/coupons.toml`, 联拓富 key (MD5 key; also channels.md §4's worked example)): a live configuration refuses them in any
/// slot. A value stays listed after the demo file changes: once committed, it is public.
pub const PUBLISHED: &[&str] = &["beb2c94ff04754360ef131dde7bb3017"];

/// `[channels.liantuofu]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    base_url: String,
    app_id: String,
    consume_merchant_code: String,
    consume_employee_id: Option<String>,
    secrets: PathBuf,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

impl RawConfig {
    pub fn validate(self, load: &Load) -> Result<Config, ConfigError> {
        let f = |name: &str| format!("channels.liantuofu.{name}");
        let (secrets, label) = load.secrets("liantuofu", &self.secrets)?;
        Ok(Config {
            base_url: settings::base_url(&f("base_url"), &self.base_url)?,
            app_id: settings::ident(&f("app_id"), &self.app_id, 64)?,
            consume_merchant_code: settings::ident(
                &f("consume_merchant_code"),
                &self.consume_merchant_code,
                64,
            )?,
            consume_employee_id: settings::opt_digits(
                &f("consume_employee_id"),
                self.consume_employee_id.as_deref(),
                18,
            )?,
            key: settings::shared_secret("liantuofu", "key", secrets, &label)?,
            timeouts: settings::timeouts(
                "liantuofu",
                self.connect_timeout_ms,
                self.total_timeout_ms,
            )?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Liantuofu {
    config: Config,
    http: Http,
}

pub const CAPABILITIES: Capabilities = Capabilities {
    remote_prepare: true,
    idempotency_key: false,
    // channels.md §4: no idempotency key and no record id, so an Unknown is never resent.
    resend_after_unknown: false,
    unknown_resolution: UnknownResolution::RemainingUses,
    history: false,
    cancel: false,
    multi_count: true,
    certificates: false,
    platforms: &[],
    redeems_codes: true,
};

impl Liantuofu {
    /// The longest one call to this channel may take (its configured total timeout).
    pub fn wait_limit(&self) -> std::time::Duration {
        self.http.timeouts().total
    }

    pub fn new(config: Config, _ctx: Context) -> Result<Liantuofu, ChannelError> {
        let http = Http::new(
            ChannelKind::Liantuofu,
            &config.base_url,
            config.timeouts,
            vec![config.key.clone()],
        )?;
        Ok(Liantuofu { config, http })
    }

    /// Reads the card; its `suplusTimes` must be stored with the attempt (channels.md §4).
    pub async fn prepare(&self, code: &CouponCode) -> Result<Exchanged<Prepared>, ChannelError> {
        let reply = self.detail(code).await;
        let prepared = match &reply.body {
            Ok(body) => prepare_answer(body, code),
            Err(reason) => Prepared::Unknown {
                reason: reason.clone(),
            },
        };
        Ok(Exchanged::one(prepared, reply.exchange))
    }

    /// Consumes `count` uses. `req.remaining_before` (from the preview) is required: it is
    /// the only way to settle an Unknown, since this consume is never resent.
    pub async fn redeem(&self, req: &RedeemRequest) -> Result<Exchanged<Outcome>, ChannelError> {
        let before = req
            .remaining_before
            .ok_or_else(|| ChannelError::InvalidInput {
                field: "remaining_before",
                reason: "联拓富 needs the remaining uses read by the preview".into(),
            })?;
        if req.count == 0 || req.count > before {
            return Err(ChannelError::InvalidInput {
                field: "count",
                reason: format!("between 1 and the {before} uses left"),
            });
        }
        let mut params = BTreeMap::new();
        params.insert(
            "consumeSource".to_owned(),
            assumed::CONSUME_SOURCE.to_owned(),
        );
        params.insert("cardNo".to_owned(), req.code.as_str().to_owned());
        params.insert("count".to_owned(), req.count.to_string());
        params.insert(
            "consumeMerchantCode".to_owned(),
            self.config.consume_merchant_code.clone(),
        );
        if let Some(e) = &self.config.consume_employee_id {
            params.insert("consumeEmployeeId".to_owned(), e.clone());
        }
        // The remark carries our id: the only trace of the intent on the vendor's side.
        params.insert(
            "remark".to_owned(),
            req.remark
                .clone()
                .unwrap_or_else(|| req.id.as_str().to_owned()),
        );
        let reply = self.send(CONSUME_PATH, params).await;
        let outcome = match &reply.body {
            Ok(body) => redeem_outcome(body, req.count),
            Err(reason) => Outcome::unknown(reason.clone()),
        };
        Ok(Exchanged::one(outcome, reply.exchange))
    }

    /// Reads the card again and compares the remaining uses with those before the attempt.
    pub async fn resolve(
        &self,
        req: &RedeemRequest,
    ) -> Result<Exchanged<Resolution>, ChannelError> {
        let before = req
            .remaining_before
            .ok_or_else(|| ChannelError::InvalidInput {
                field: "remaining_before",
                reason: "联拓富 needs the remaining uses read by the preview".into(),
            })?;
        let reply = self.detail(&req.code).await;
        let resolution = match &reply.body {
            Ok(body) => remaining_resolution(body, req.code.as_str(), before, req.count),
            Err(reason) => Resolution::StillUnknown {
                reason: reason.clone(),
            },
        };
        Ok(Exchanged::one(resolution, reply.exchange))
    }

    async fn detail(&self, code: &CouponCode) -> super::http::Reply {
        let mut params = BTreeMap::new();
        params.insert("cardNo".to_owned(), code.as_str().to_owned());
        self.send(DETAIL_PATH, params).await
    }

    /// Adds `appId`, a fresh `random` and the `sign`; never sends an empty parameter.
    async fn send(&self, path: &str, mut params: BTreeMap<String, String>) -> super::http::Reply {
        params.insert("appId".to_owned(), self.config.app_id.clone());
        params.insert("random".to_owned(), nonce::digits(RANDOM_DIGITS));
        params.retain(|_, v| !v.is_empty());
        let signature = sign(&params, self.config.key.expose());
        params.insert("sign".to_owned(), signature);
        self.http
            .post(path, RequestBody::Form(params.into_iter().collect()))
            .await
    }
}

// ---------------------------------------------------------------------------------------
// Wire types and decoding

/// Both answers are flat: `{code, msg, ...}` (channels.md §4).
#[derive(Debug, serde::Deserialize)]
struct Answer {
    /// Anything that cannot be a code makes the answer Unknown.
    #[serde(default, deserialize_with = "lenient::code")]
    code: Option<String>,
    #[serde(default, alias = "message", deserialize_with = "lenient::text")]
    msg: Option<String>,
    #[serde(
        default,
        rename = "cardNo",
        alias = "card_no",
        deserialize_with = "lenient::text"
    )]
    card_no: Option<String>,
    #[serde(
        default,
        rename = "cardName",
        alias = "card_name",
        deserialize_with = "lenient::text"
    )]
    card_name: Option<String>,
    /// Remaining uses; the vendor's spelling (channels.md §4).
    #[serde(
        default,
        rename = "suplusTimes",
        alias = "surplusTimes",
        alias = "suplus_times",
        deserialize_with = "lenient::int"
    )]
    suplus_times: Option<u32>,
    #[serde(
        default,
        rename = "endDate",
        alias = "end_date",
        deserialize_with = "lenient::text"
    )]
    end_date: Option<String>,
}

enum Said {
    Success(Answer),
    Failed { code: String, message: String },
    Undecided(UnknownReason),
}

fn read(body: &str) -> Said {
    let a: Answer = match lenient::decode(body) {
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
    let code = a
        .code
        .clone()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    match code.as_str() {
        c if c == assumed::DETAIL_SUCCESS => Said::Success(a),
        "FAILED" | "FAIL" => Said::Failed {
            code,
            message: a.msg.unwrap_or_default(),
        },
        _ => Said::Undecided(UnknownReason::Inconclusive {
            detail: format!(
                "code {:?}, msg {:?}",
                a.code.unwrap_or_default(),
                a.msg.unwrap_or_default()
            ),
        }),
    }
}

/// The preview from a `userTimesCardDetail` answer. The count is capped at `suplusTimes`.
pub fn prepare_answer(body: &str, code: &CouponCode) -> Prepared {
    match read(body) {
        Said::Success(a) => match a.suplus_times {
            None => Prepared::Unknown {
                reason: UnknownReason::Inconclusive {
                    detail: "no suplusTimes in the card detail".into(),
                },
            },
            Some(0) => Prepared::Rejected {
                code: "NO_USES_LEFT".into(),
                message: "剩余次数不足".into(),
                config_error: false,
            },
            Some(left) => {
                let mut p = Preview::bare(code.clone());
                p.name = a.card_name;
                p.valid_until = a.end_date;
                p.times_remaining = Some(left);
                p.redeemable_count = Some(left);
                p.warnings.push(Warning::UndoIsManual);
                Prepared::Ready(p)
            }
        },
        Said::Failed { code, message } => Prepared::Rejected {
            code,
            message,
            config_error: false,
        },
        Said::Undecided(reason) => Prepared::Unknown { reason },
    }
}

/// The outcome of a `userTimesCardConsume` answer. There is no record id: the card number
/// is the only reference.
pub fn redeem_outcome(body: &str, count: u32) -> Outcome {
    match read(body) {
        Said::Success(a) => Outcome::Succeeded(Redeemed {
            channel_refs: a
                .card_no
                .map(|c| vec![ChannelRef::new("cardNo", c)])
                .unwrap_or_default(),
            face_value: None,
            settled: None,
            count,
        }),
        Said::Failed { code, message } => Outcome::rejected(code, message),
        Said::Undecided(reason) => Outcome::unknown(reason),
    }
}

/// channels.md §4: remaining = before − count → Succeeded; remaining = before → not
/// consumed; anything else (someone else used the card meanwhile) stays Unknown for a
/// manager. A detail that names another card than the code we sent compares nothing
/// (a dynamic code's card number could be told apart only by the preview, which is not
/// kept), so it stays Unknown too.
pub fn remaining_resolution(body: &str, code: &str, before: u32, count: u32) -> Resolution {
    match read(body) {
        Said::Success(a) if a.card_no.as_deref().is_some_and(|c| c.trim() != code) => {
            Resolution::StillUnknown {
                reason: UnknownReason::Inconclusive {
                    detail: format!(
                        "the card detail names card {}, not {code}",
                        a.card_no.as_deref().unwrap_or_default()
                    ),
                },
            }
        }
        Said::Success(a) => match a.suplus_times {
            Some(now) if count > 0 && Some(now) == before.checked_sub(count) => {
                Resolution::Succeeded(Redeemed {
                    channel_refs: a
                        .card_no
                        .map(|c| vec![ChannelRef::new("cardNo", c)])
                        .unwrap_or_default(),
                    face_value: None,
                    settled: None,
                    count,
                })
            }
            Some(now) if now == before => Resolution::NotConsumed {
                evidence: format!("suplusTimes still {before} after the attempt"),
            },
            other => Resolution::StillUnknown {
                reason: UnknownReason::Inconclusive {
                    detail: format!("suplusTimes {other:?}; before {before}, count {count}"),
                },
            },
        },
        Said::Failed { code, message } => Resolution::StillUnknown {
            reason: UnknownReason::Inconclusive {
                detail: format!("{code}: {message}"),
            },
        },
        Said::Undecided(reason) => Resolution::StillUnknown { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_vector_of_channels_md_section_4_reproduces() {
        let p = BTreeMap::from([
            ("appId".to_owned(), "EW_N4365306114".to_owned()),
            ("random".to_owned(), "123".to_owned()),
        ]);
        assert_eq!(
            sign(&p, "beb2c94ff04754360ef131dde7bb3017"),
            "3af0851c40d0443e86942c9ddba75e25",
            "channels.md §4 [verified]"
        );
    }

    #[test]
    fn a_detail_that_names_nothing_or_another_card_settles_nothing() {
        let code = "914095353294404024";
        let nothing = r#"{"code":"SUCCESS","msg":"成功"}"#;
        assert!(
            matches!(
                remaining_resolution(nothing, code, 5, 1),
                Resolution::StillUnknown { .. }
            ),
            "no remaining uses: nothing to compare"
        );
        let other = r#"{"code":"SUCCESS","cardNo":"914095353294400000","suplusTimes":4}"#;
        assert!(
            matches!(
                remaining_resolution(other, code, 5, 1),
                Resolution::StillUnknown { .. }
            ),
            "another card's count says nothing of ours"
        );
        let ours = r#"{"code":"SUCCESS","cardNo":"914095353294404024","suplusTimes":3}"#;
        assert!(
            matches!(remaining_resolution(ours, code, 5, 2), Resolution::Succeeded(ref r) if r.count == 2),
            "a times card: before − count"
        );
        let odd = r#"{"code":true,"msg":"x"}"#;
        assert!(
            matches!(redeem_outcome(odd, 1), Outcome::Unknown { .. }),
            "a code that cannot be one is no refusal"
        );
    }

    #[test]
    fn a_zero_count_never_counts_as_consumed() {
        let body = r#"{"code":"SUCCESS","suplusTimes":5}"#;
        assert!(
            matches!(
                remaining_resolution(body, "914095353294404024", 5, 0),
                Resolution::NotConsumed { .. }
            ),
            "unchanged remaining uses are never read as a success"
        );
    }
}
