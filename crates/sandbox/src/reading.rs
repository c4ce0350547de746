//! The readings: every point channels.md marks [assumed] or open, as a per-channel switch of
//! the emulators, so the sandbox can answer under each plausible reading of the vendors'
//! documents. `Readings::default()` is what the sandbox always did (its wire format is
//! unchanged under it). [`variants`] lists the readings the contract test runs under.
//!
//! Readings can change at run time (`RunningSandbox::set_readings`, `POST
//! /_control/readings`); the demo file's `[readings]` table and `--reading channel.key=value`
//! give the starting ones.

use redeemdesk_core::channel::zvcms::TokenNaming;
use redeemdesk_core::channel::ChannelKind;
use serde::{Deserialize, Serialize};

/// One reading per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Readings {
    pub shoubei: ShoubeiReading,
    pub zvcms: ZvcmsReading,
    pub liantuofu: LiantuofuReading,
    pub allinpay: AllinpayReading,
    pub yhtd: YhtdReading,
}

/// 收呗 (channels.md §2: the shape of `quary` / `cancel` is [assumed]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShoubeiReading {
    pub query: ShoubeiQuery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShoubeiQuery {
    /// `quary` / `cancel` find the record by `wf_trace_no` and answer like `wf` about it.
    #[default]
    ByTrace,
    /// They ignore `wf_trace_no` and act on the coupon's latest live record (any trace).
    ByCode,
    /// `result_code SUCCESS` only says the query was processed; what was found is in
    /// `records` (channels.md §2 "another plausible reading").
    Processed,
}

/// 智迈 (channels.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZvcmsReading {
    /// Which names the Token is verified with (unknown for v2).
    pub token: TokenNaming,
    /// `total_count` / `remain_count` in `coupon.off-coupon` are [assumed].
    pub counts: ZvcmsCounts,
    /// Which `bizId` the write-off answer carries.
    pub biz_id: ZvcmsBizId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZvcmsCounts {
    #[default]
    WithCounts,
    NoCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZvcmsBizId {
    /// The platform's own 18-digit integer.
    #[default]
    Platform,
    /// The request's `bizId` string back (as in the seed's example).
    Echo,
}

/// 联拓富 (channels.md §4: "drop empty values" is the doc's; whether the gateway does is open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiantuofuReading {
    pub empty_in_sign: EmptyInSign,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyInSign {
    #[default]
    Dropped,
    /// Empty values are signed as `k=`.
    Kept,
}

/// 通联 (channels.md §5: answer shape [open], response signature and encryption [assumed]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AllinpayReading {
    pub shape: AllinpayShape,
    pub sign: AllinpaySign,
    pub biz_content: BizContent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllinpayShape {
    /// `{code, msg, data, sign}` (the seed's example).
    #[default]
    Flat,
    /// The public fields, the business answer as JSON text in `bizContent`, `sign`.
    Envelope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllinpaySign {
    /// Every top-level field but `sign` and `signType`, sorted `k=v&…`.
    #[default]
    Fields,
    /// The same with `signType` included.
    FieldsWithSignType,
    /// The business JSON text alone.
    BizContent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BizContent {
    #[default]
    Plain,
    /// The gateway expects an encrypted `bizContent` (the vendor's rules §2.3.4) and
    /// refuses every plain one.
    Encrypted,
}

/// 增值券 (channels.md §1: no signature documented; resend idempotency [assumed]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YhtdReading {
    pub sign: YhtdSign,
    pub resend: YhtdResend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YhtdSign {
    /// A `sign` field is ignored.
    #[default]
    None,
    /// `sign` (the §7 default MD5 convention with the demo key) is required.
    Md5Required,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YhtdResend {
    /// A repeated `dealSerial` is the same order.
    #[default]
    Dedup,
    /// A repeated `dealSerial` is recorded as a new order each time.
    CountAgain,
}

/// Why a reading could not be set from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadingError {
    #[error("a reading is written channel.key=value, not {0:?}")]
    Syntax(String),
    #[error("no reading {0:?}")]
    UnknownKey(String),
    #[error("{key}: {message}")]
    BadValue { key: String, message: String },
}

/// The channels' readings given in a control request: a channel object given replaces
/// that channel's reading (its missing fields take their defaults), the others stay.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadingsPatch {
    pub shoubei: Option<ShoubeiReading>,
    pub zvcms: Option<ZvcmsReading>,
    pub liantuofu: Option<LiantuofuReading>,
    pub allinpay: Option<AllinpayReading>,
    pub yhtd: Option<YhtdReading>,
}

impl Readings {
    /// Applies a patch (see [`ReadingsPatch`]).
    pub fn merged(mut self, patch: ReadingsPatch) -> Readings {
        if let Some(r) = patch.shoubei {
            self.shoubei = r;
        }
        if let Some(r) = patch.zvcms {
            self.zvcms = r;
        }
        if let Some(r) = patch.liantuofu {
            self.liantuofu = r;
        }
        if let Some(r) = patch.allinpay {
            self.allinpay = r;
        }
        if let Some(r) = patch.yhtd {
            self.yhtd = r;
        }
        self
    }

    /// Sets one switch from `channel.key=value` (`allinpay.shape=envelope`), keeping the
    /// channel's other switches.
    pub fn set(&mut self, assignment: &str) -> Result<(), ReadingError> {
        let syntax = || ReadingError::Syntax(assignment.to_owned());
        let (path, value) = assignment.split_once('=').ok_or_else(syntax)?;
        let (channel, key) = path.trim().split_once('.').ok_or_else(syntax)?;
        let mut all = serde_json::to_value(*self).unwrap_or_default();
        let slot = all
            .get_mut(channel)
            .and_then(|c| c.get_mut(key))
            .ok_or_else(|| ReadingError::UnknownKey(path.trim().to_owned()))?;
        *slot = serde_json::Value::String(value.trim().to_owned());
        *self = serde_json::from_value(all).map_err(|e| ReadingError::BadValue {
            key: path.trim().to_owned(),
            message: e.to_string(),
        })?;
        Ok(())
    }

    /// Whether a correct client can tell `channel`'s reading from the answers alone
    /// (otherwise it must be told, as a channel setting). Every default is.
    pub fn detectable(&self, channel: ChannelKind) -> bool {
        match channel {
            // by_code answers name the record they describe.
            ChannelKind::Shoubei => self.shoubei.query != ShoubeiQuery::Processed,
            // A wrong naming is a signature refusal the client can retry the other way;
            // an echoed bizId is still a bizId; missing counts are not there to read.
            ChannelKind::Zvcms => self.zvcms.counts == ZvcmsCounts::WithCounts,
            // Both sides sign what is sent; a client that sends no empty value is right
            // under both.
            ChannelKind::Liantuofu => true,
            // Shape and signature are in the answer; encryption needs the vendor's rules.
            ChannelKind::Allinpay => self.allinpay.biz_content == BizContent::Plain,
            // A refused unsigned notification does not say it wanted a signature, and a
            // resend that counts again looks like a success.
            ChannelKind::Yhtd => self.yhtd == YhtdReading::default(),
            // A channel with no [assumed] points has no reading to tell apart.
            #[allow(unreachable_patterns)]
            _ => true,
        }
    }
}

/// The readings the contract runs under: the default once per channel (named `default`),
/// then each non-default reading of a channel one at a time, named `channel.key=value`
/// (combinations joined with `+`), with the channel it belongs to.
pub fn variants() -> Vec<(String, ChannelKind, Readings)> {
    let mut out: Vec<(String, ChannelKind, Readings)> = ChannelKind::ALL
        .into_iter()
        .map(|kind| ("default".to_owned(), kind, Readings::default()))
        .collect();
    let one = |assignments: &[&str]| -> Readings {
        let mut r = Readings::default();
        for a in assignments {
            // The list below is this module's own: a typo is caught by its unit test.
            let _ = r.set(a);
        }
        r
    };
    let table: [(ChannelKind, &[&str]); 14] = [
        (ChannelKind::Shoubei, &["shoubei.query=by_code"]),
        (ChannelKind::Shoubei, &["shoubei.query=processed"]),
        (ChannelKind::Zvcms, &["zvcms.token=pascal_case"]),
        (ChannelKind::Zvcms, &["zvcms.counts=no_counts"]),
        (ChannelKind::Zvcms, &["zvcms.biz_id=echo"]),
        (ChannelKind::Liantuofu, &["liantuofu.empty_in_sign=kept"]),
        (ChannelKind::Allinpay, &["allinpay.shape=envelope"]),
        (
            ChannelKind::Allinpay,
            &[
                "allinpay.shape=envelope",
                "allinpay.sign=fields_with_sign_type",
            ],
        ),
        (
            ChannelKind::Allinpay,
            &["allinpay.shape=envelope", "allinpay.sign=biz_content"],
        ),
        (
            ChannelKind::Allinpay,
            &["allinpay.sign=fields_with_sign_type"],
        ),
        (ChannelKind::Allinpay, &["allinpay.sign=biz_content"]),
        (ChannelKind::Allinpay, &["allinpay.biz_content=encrypted"]),
        (ChannelKind::Yhtd, &["yhtd.sign=md5_required"]),
        (ChannelKind::Yhtd, &["yhtd.resend=count_again"]),
    ];
    out.extend(table.iter().map(|(kind, a)| (a.join("+"), *kind, one(a))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_differs_from_the_default_in_its_own_channel_only() {
        let all = variants();
        assert_eq!(all.len(), ChannelKind::ALL.len() + 14);
        for (name, kind, r) in all.iter().skip(ChannelKind::ALL.len()) {
            assert_ne!(*r, Readings::default(), "{name} must change something");
            // Each channel's readings are the table named after it.
            let default = serde_json::to_value(Readings::default()).unwrap();
            let mut back = serde_json::to_value(r).unwrap();
            back[kind.as_str()] = default[kind.as_str()].clone();
            assert_eq!(back, default, "{name} touches only {kind}");
        }
    }

    #[test]
    fn the_brief_s_detectability_table_holds() {
        let detectable = |name: &str| {
            let (_, kind, r) = variants().into_iter().find(|v| v.0 == name).unwrap();
            r.detectable(kind)
        };
        for yes in [
            "shoubei.query=by_code",
            "zvcms.token=pascal_case",
            "zvcms.biz_id=echo",
            "liantuofu.empty_in_sign=kept",
            "allinpay.shape=envelope",
            "allinpay.shape=envelope+allinpay.sign=biz_content",
            "allinpay.sign=fields_with_sign_type",
        ] {
            assert!(detectable(yes), "{yes} is detectable");
        }
        for no in [
            "shoubei.query=processed",
            "zvcms.counts=no_counts",
            "allinpay.biz_content=encrypted",
            "yhtd.sign=md5_required",
            "yhtd.resend=count_again",
        ] {
            assert!(!detectable(no), "{no} is not detectable");
        }
    }

    #[test]
    fn a_reading_is_set_from_text_and_bad_text_is_refused() {
        let mut r = Readings::default();
        r.set("allinpay.shape=envelope").unwrap();
        r.set("allinpay.sign = biz_content").unwrap();
        assert_eq!(r.allinpay.shape, AllinpayShape::Envelope, "kept");
        assert_eq!(r.allinpay.sign, AllinpaySign::BizContent);
        assert!(matches!(
            r.set("allinpay.shape"),
            Err(ReadingError::Syntax(_))
        ));
        assert!(matches!(
            r.set("allinpay.colour=red"),
            Err(ReadingError::UnknownKey(_))
        ));
        assert!(matches!(
            r.set("allinpay.shape=round"),
            Err(ReadingError::BadValue { .. })
        ));
        assert_eq!(
            r.allinpay.shape,
            AllinpayShape::Envelope,
            "a refusal changes nothing"
        );
    }

    #[test]
    fn a_patch_replaces_only_the_channels_it_names() {
        let mut start = Readings::default();
        start.yhtd.resend = YhtdResend::CountAgain;
        start.allinpay.sign = AllinpaySign::BizContent;
        let patch: ReadingsPatch =
            serde_json::from_str(r#"{"allinpay":{"shape":"envelope"}}"#).unwrap();
        let r = start.merged(patch);
        assert_eq!(r.allinpay.shape, AllinpayShape::Envelope);
        assert_eq!(
            r.allinpay.sign,
            AllinpaySign::Fields,
            "a channel object given replaces the channel's whole reading"
        );
        assert_eq!(r.yhtd.resend, YhtdResend::CountAgain, "others stay");
    }
}
