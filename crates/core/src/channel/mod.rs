//! The coupon channels. This module is the only place that dispatches over channels:
//! one enum, one `match` per operation. Each channel's module owns its config (raw type,
//! validation, secret slots, settings form), its wire types, its pure `sign()`, its quirks
//! and its mapping to the shared outcome types.

pub mod allinpay;
pub mod business_time;
pub mod capabilities;
pub mod error;
pub mod http;
pub mod ids;
pub mod lenient;
pub mod liantuofu;
pub mod nonce;
pub mod not_found;
pub mod outcome;
pub mod preview;
pub mod settings;
pub mod shoubei;
pub mod signing;
pub mod yhtd;
pub mod zvcms;

pub use business_time::BusinessZone;
pub use capabilities::{Capabilities, UnknownResolution};
pub use error::{ChannelError, Operation};
pub use http::Timeouts;
pub use ids::{CouponCode, IdError, RedemptionId};
pub use outcome::{
    CancelOutcome, CancelRequest, ChannelRef, Exchange, Exchanged, HistoryEntry, NotifyOutcome,
    Outcome, Prepared, RedeemRequest, Redeemed, Resolution, UnknownReason,
};
pub use preview::{Certificate, CertificateChoice, Platform, Preview, Warning};
pub use settings::{ConfigError, Form};

use crate::clock::Clock;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Which channel an attempt goes through. The string form (`as_str`) is what the ledger
/// stores and the CLI accepts; it must never change for a shipped channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// 收呗 coupon write-off (channels.md §2).
    Shoubei,
    /// 智迈 member coupons (channels.md §3).
    Zvcms,
    /// 联拓富 times cards (channels.md §4).
    Liantuofu,
    /// 通联 allinpay: Meituan / Douyin / Dianping / 美团到综 coupons (channels.md §5).
    Allinpay,
    /// 增值券 value-added coupon order notification (channels.md §1).
    Yhtd,
}

impl ChannelKind {
    /// In the order of the cashier screen's chooser (F1…F5).
    pub const ALL: [ChannelKind; 5] = [
        ChannelKind::Shoubei,
        ChannelKind::Zvcms,
        ChannelKind::Liantuofu,
        ChannelKind::Allinpay,
        ChannelKind::Yhtd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Shoubei => "shoubei",
            ChannelKind::Zvcms => "zvcms",
            ChannelKind::Liantuofu => "liantuofu",
            ChannelKind::Allinpay => "allinpay",
            ChannelKind::Yhtd => "yhtd",
        }
    }

    /// The channel's name for people, in `lang`: what the window calls it (ui/i18n
    /// `channel.<id>`, a test in words.rs ties the two).
    pub fn name(self, lang: crate::lang::Lang) -> &'static str {
        let (zh, en) = match self {
            ChannelKind::Shoubei => ("收呗", "Shoubei"),
            ChannelKind::Zvcms => ("智迈", "Zhimai"),
            ChannelKind::Liantuofu => ("联拓富", "Liantuofu"),
            ChannelKind::Allinpay => ("通联", "Allinpay"),
            ChannelKind::Yhtd => ("增值券", "Value-added"),
        };
        lang.pick(zh, en)
    }

    /// The values of the channel's secrets that the sandbox's demo data has published.
    pub fn published_secrets(self) -> &'static [&'static str] {
        match self {
            ChannelKind::Shoubei => shoubei::PUBLISHED,
            ChannelKind::Zvcms => zvcms::PUBLISHED,
            ChannelKind::Liantuofu => liantuofu::PUBLISHED,
            ChannelKind::Allinpay => allinpay::PUBLISHED,
            ChannelKind::Yhtd => yhtd::PUBLISHED,
        }
    }

    /// The channel's settings form: what 设置 draws, and where `channel_setup` keeps each
    /// secret.
    pub fn form(self) -> &'static Form {
        match self {
            ChannelKind::Shoubei => &shoubei::FORM,
            ChannelKind::Zvcms => &zvcms::FORM,
            ChannelKind::Liantuofu => &liantuofu::FORM,
            ChannelKind::Allinpay => &allinpay::FORM,
            ChannelKind::Yhtd => &yhtd::FORM,
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?} (expected one of shoubei, zvcms, liantuofu, allinpay, yhtd)")]
pub struct UnknownChannel(pub String);

impl FromStr for ChannelKind {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelKind::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownChannel(s.to_owned()))
    }
}

/// What every channel reads besides its own config: the clock (the only source of time)
/// and the business zone in which `ts` strings and business dates are written.
#[derive(Clone)]
pub struct Context {
    pub clock: Arc<dyn Clock>,
    pub zone: BusinessZone,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("zone", &self.zone)
            .finish_non_exhaustive()
    }
}

/// One channel's validated settings, as `config` loads them.
#[derive(Debug, Clone)]
pub enum ChannelConfig {
    Shoubei(shoubei::Config),
    Zvcms(zvcms::Config),
    Liantuofu(liantuofu::Config),
    Allinpay(allinpay::Config),
    Yhtd(yhtd::Config),
}

impl ChannelConfig {
    /// Reads and validates `[channels.<kind>]` as written, naming a refused setting by its
    /// dotted path.
    pub fn load(
        kind: ChannelKind,
        raw: toml::Value,
        load: &settings::Load,
    ) -> Result<ChannelConfig, ConfigError> {
        let prefix = format!("channels.{kind}");
        Ok(match kind {
            ChannelKind::Shoubei => ChannelConfig::Shoubei(
                settings::from_table::<shoubei::RawConfig>(raw, &prefix)?.validate(load)?,
            ),
            ChannelKind::Zvcms => ChannelConfig::Zvcms(
                settings::from_table::<zvcms::RawConfig>(raw, &prefix)?.validate(load)?,
            ),
            ChannelKind::Liantuofu => ChannelConfig::Liantuofu(
                settings::from_table::<liantuofu::RawConfig>(raw, &prefix)?.validate(load)?,
            ),
            ChannelKind::Allinpay => ChannelConfig::Allinpay(
                settings::from_table::<allinpay::RawConfig>(raw, &prefix)?.validate(load)?,
            ),
            ChannelKind::Yhtd => ChannelConfig::Yhtd(
                settings::from_table::<yhtd::RawConfig>(raw, &prefix)?.validate(load)?,
            ),
        })
    }

    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelConfig::Shoubei(_) => ChannelKind::Shoubei,
            ChannelConfig::Zvcms(_) => ChannelKind::Zvcms,
            ChannelConfig::Liantuofu(_) => ChannelKind::Liantuofu,
            ChannelConfig::Allinpay(_) => ChannelKind::Allinpay,
            ChannelConfig::Yhtd(_) => ChannelKind::Yhtd,
        }
    }
}

/// One configured channel, ready to call. This enum is the only dispatch over channels:
/// each operation is one `match` here. Operations a channel lacks answer
/// `ChannelError::Unsupported`, as its `Capabilities` say in advance.
#[derive(Debug, Clone)]
pub enum Channel {
    Shoubei(shoubei::Shoubei),
    Zvcms(zvcms::Zvcms),
    Liantuofu(liantuofu::Liantuofu),
    Allinpay(allinpay::Allinpay),
    Yhtd(yhtd::Yhtd),
}

impl Channel {
    pub fn new(config: ChannelConfig, ctx: Context) -> Result<Channel, ChannelError> {
        Ok(match config {
            ChannelConfig::Shoubei(c) => Channel::Shoubei(shoubei::Shoubei::new(c, ctx)?),
            ChannelConfig::Zvcms(c) => Channel::Zvcms(zvcms::Zvcms::new(c, ctx)?),
            ChannelConfig::Liantuofu(c) => Channel::Liantuofu(liantuofu::Liantuofu::new(c, ctx)?),
            ChannelConfig::Allinpay(c) => Channel::Allinpay(allinpay::Allinpay::new(c, ctx)?),
            ChannelConfig::Yhtd(c) => Channel::Yhtd(yhtd::Yhtd::new(c, ctx)?),
        })
    }

    pub fn kind(&self) -> ChannelKind {
        match self {
            Channel::Shoubei(_) => ChannelKind::Shoubei,
            Channel::Zvcms(_) => ChannelKind::Zvcms,
            Channel::Liantuofu(_) => ChannelKind::Liantuofu,
            Channel::Allinpay(_) => ChannelKind::Allinpay,
            Channel::Yhtd(_) => ChannelKind::Yhtd,
        }
    }

    pub fn capabilities(&self) -> Capabilities {
        capabilities(self.kind())
    }

    /// The longest one call may take: the till shows it while a redemption waits.
    pub fn wait_limit(&self) -> std::time::Duration {
        match self {
            Channel::Shoubei(c) => c.wait_limit(),
            Channel::Zvcms(c) => c.wait_limit(),
            Channel::Liantuofu(c) => c.wait_limit(),
            Channel::Allinpay(c) => c.wait_limit(),
            Channel::Yhtd(c) => c.wait_limit(),
        }
    }

    fn unsupported<T>(&self, operation: Operation) -> Result<T, ChannelError> {
        Err(ChannelError::Unsupported {
            channel: self.kind(),
            operation,
        })
    }

    /// The preview of a code. `platform` is required for 通联 and ignored elsewhere. 收呗
    /// has no remote preview: its answer comes from local checks, with no exchange.
    ///
    /// A preview the channel refuses for its signature is a configuration problem (wrong
    /// key, wrong merchant): nothing is at stake at a preview, so the cashier is told to get
    /// the keys fixed rather than to try again. It is looked at twice first, because a
    /// signature refusal can also be a stale nonce or timestamp (channels.md §3).
    pub async fn prepare(
        &self,
        code: &CouponCode,
        platform: Option<Platform>,
    ) -> Result<Exchanged<Prepared>, ChannelError> {
        let first = self.prepare_once(code, platform).await?;
        if signature_refusal(&first.value).is_none() {
            return Ok(first);
        }
        let mut second = self.prepare_once(code, platform).await?;
        second.exchanges.splice(0..0, first.exchanges);
        if let Some(message) = signature_refusal(&second.value) {
            second.value = Prepared::Rejected {
                code: "signature".into(),
                message,
                config_error: true,
            };
        }
        Ok(second)
    }

    /// One preview call, as the channel answers it.
    async fn prepare_once(
        &self,
        code: &CouponCode,
        platform: Option<Platform>,
    ) -> Result<Exchanged<Prepared>, ChannelError> {
        match self {
            Channel::Shoubei(c) => Ok(Exchanged {
                value: c.prepare(code),
                exchanges: Vec::new(),
            }),
            Channel::Zvcms(c) => c.prepare(code).await,
            Channel::Liantuofu(c) => c.prepare(code).await,
            Channel::Allinpay(c) => {
                let platform = platform.ok_or_else(|| ChannelError::InvalidInput {
                    field: "platform",
                    reason: "通联 needs the platform (meituan, tiktok, dianping, mtdz)".into(),
                })?;
                c.prepare(code, platform).await
            }
            Channel::Yhtd(_) => self.unsupported(Operation::Prepare),
        }
    }

    /// Redeems once. The request (with its id) must already be stored; an Unknown answer is
    /// settled with [`Channel::resolve`] on the same request, never by redeeming under a
    /// new id.
    pub async fn redeem(&self, req: &RedeemRequest) -> Result<Exchanged<Outcome>, ChannelError> {
        match self {
            Channel::Shoubei(c) => c.redeem(req).await,
            Channel::Zvcms(c) => c.redeem(req).await,
            Channel::Liantuofu(c) => c.redeem(req).await,
            Channel::Allinpay(c) => c.redeem(req).await,
            Channel::Yhtd(_) => self.unsupported(Operation::Redeem),
        }
    }

    /// Asks the channel what became of an Unknown redemption of `req`, the way its
    /// `Capabilities::unknown_resolution` says.
    pub async fn resolve(
        &self,
        req: &RedeemRequest,
    ) -> Result<Exchanged<Resolution>, ChannelError> {
        match self {
            Channel::Shoubei(c) => c.resolve(req).await,
            Channel::Zvcms(c) => c.resolve(req).await,
            Channel::Liantuofu(c) => c.resolve(req).await,
            Channel::Allinpay(c) => c.resolve(req).await,
            Channel::Yhtd(_) => self.unsupported(Operation::Resolve),
        }
    }

    /// Resolves several unknowns of this channel in one go, in order. A channel that settles
    /// unknowns from its day history reads each day once per call, not once per attempt.
    pub async fn resolve_all(
        &self,
        reqs: &[RedeemRequest],
    ) -> Vec<Result<Exchanged<Resolution>, ChannelError>> {
        match self {
            Channel::Allinpay(c) => c.resolve_all(reqs).await,
            _ => {
                let mut out = Vec::with_capacity(reqs.len());
                for req in reqs {
                    out.push(self.resolve(req).await);
                }
                out
            }
        }
    }

    /// The channel's own record of a business day, for reconciliation.
    pub async fn history(
        &self,
        day: time::Date,
    ) -> Result<Exchanged<Vec<HistoryEntry>>, ChannelError> {
        match self {
            Channel::Allinpay(c) => c.history(day).await,
            _ => self.unsupported(Operation::History),
        }
    }

    /// Undoes a redemption through the channel (only 收呗 has the call).
    pub async fn cancel(
        &self,
        req: &CancelRequest,
    ) -> Result<Exchanged<CancelOutcome>, ChannelError> {
        match self {
            Channel::Shoubei(c) => c.cancel(req).await,
            _ => self.unsupported(Operation::Cancel),
        }
    }

    /// A code this channel's documents say cannot be one of its codes (收呗's 16
    /// characters): refused as the scan it is, before any look-up.
    pub fn check_code_shape(&self, code: &CouponCode) -> Result<(), crate::scan::ScanError> {
        match self {
            Channel::Shoubei(_) => shoubei::Shoubei::check_shape(code),
            _ => Ok(()),
        }
    }

    /// Whether a call that ended Unknown for `reason` may be sent again under the same
    /// idempotency key (增值券 asks its setting; the others as their capabilities say).
    pub fn may_resend(&self, reason: &UnknownReason) -> bool {
        match self {
            Channel::Yhtd(c) => c.may_resend(reason),
            _ => self.capabilities().resend_after_unknown,
        }
    }

    /// Whether the channel takes a resend under the same key as a new one (增值券 with
    /// `resend_deduplicated = false`): nothing may then be sent twice by the desk itself,
    /// not even after a crash mid-send.
    pub fn counts_resends(&self) -> bool {
        match self {
            Channel::Yhtd(c) => !c.may_resend(&UnknownReason::Timeout),
            _ => false,
        }
    }

    /// Delivers a 增值券 order notification (only 增值券).
    pub async fn notify(
        &self,
        n: &yhtd::Notification,
    ) -> Result<Exchanged<NotifyOutcome>, ChannelError> {
        match self {
            Channel::Yhtd(c) => c.notify(n).await,
            _ => self.unsupported(Operation::Notify),
        }
    }
}

/// The channel's words when it refused a preview for its signature (验签失败, 签名错误,
/// Token验签失败…), whatever outcome the channel's own mapping gave it.
fn signature_refusal(p: &Prepared) -> Option<String> {
    let text = match p {
        Prepared::Ready(_) => return None,
        Prepared::Rejected { message, .. } => message.clone(),
        Prepared::Unknown { reason } => reason.to_string(),
    };
    // 解密: a gateway that cannot read our bizContent (通联's production encryption,
    // channels.md §5) is as much a configuration problem as a refused signature.
    ["验签", "签名", "signature", "sign error", "解密"]
        .iter()
        .any(|w| text.to_lowercase().contains(w))
        .then_some(text)
}

/// What a channel can do, known without configuring it.
pub fn capabilities(kind: ChannelKind) -> Capabilities {
    match kind {
        ChannelKind::Shoubei => shoubei::CAPABILITIES,
        ChannelKind::Zvcms => zvcms::CAPABILITIES,
        ChannelKind::Liantuofu => liantuofu::CAPABILITIES,
        ChannelKind::Allinpay => allinpay::CAPABILITIES,
        ChannelKind::Yhtd => yhtd::CAPABILITIES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_round_trips_through_its_name() {
        for c in ChannelKind::ALL {
            assert_eq!(
                c.as_str().parse::<ChannelKind>(),
                Ok(c),
                "ledger names must parse back"
            );
        }
        assert!(
            "meituan".parse::<ChannelKind>().is_err(),
            "a platform is not a channel"
        );
    }

    #[test]
    fn only_shoubei_declares_an_undo_call_and_only_liantuofu_forbids_resending() {
        for c in ChannelKind::ALL {
            let caps = capabilities(c);
            assert_eq!(
                caps.cancel,
                c == ChannelKind::Shoubei,
                "channels.md: only 收呗 has a cancel call"
            );
            assert_eq!(
                caps.resend_after_unknown,
                c != ChannelKind::Liantuofu,
                "§4: 联拓富 is never resent"
            );
            assert_eq!(
                caps.redeems_codes,
                c != ChannelKind::Yhtd,
                "§1: 增值券 is a notification"
            );
        }
    }
}
