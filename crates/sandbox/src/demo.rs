//! The demo data: one TOML file (`demo/coupons.toml`) listing every demo coupon, the demo
//! credentials of every channel and the 增值券 product table, embedded in the binary. The
//! shared secrets in it are PUBLIC demo values; allinpay's RSA key pairs are not in it:
//! each install makes its own (`demo_keys`).

use crate::fault::Fault;
use crate::reading::Readings;
use crate::time::{parse_cst, TimeParseError};
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::clock::UnixMs;
use redeemdesk_core::money::Fen;
use serde::Deserialize;
use std::fmt;

/// The embedded demo file, as committed.
pub const DEMO_COUPONS_TOML: &str = include_str!("../demo/coupons.toml");

/// Why the demo data could not be loaded. Only a broken edit of the embedded file (caught
/// by the unit test below) or a caller-supplied file can produce one.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo data is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("demo coupon {code:?}: {reason}")]
    Coupon { code: String, reason: String },
    #[error("demo coupon {code:?}: {source}")]
    Time {
        code: String,
        #[source]
        source: TimeParseError,
    },
}

/// Credentials and identifiers of one store, per channel.
#[derive(Clone, Deserialize)]
pub struct ShoubeiCredentials {
    pub inst_no: String,
    pub merchant_no: String,
    pub shop_no: String,
    pub key: String,
}

#[derive(Clone, Deserialize)]
pub struct ZvcmsCredentials {
    pub open_id: String,
    pub grant_code: String,
    pub secret: String,
    pub multi_store_mark: String,
}

#[derive(Clone, Deserialize)]
pub struct LiantuofuCredentials {
    pub app_id: String,
    pub key: String,
    pub merchant_code: String,
}

/// 增值券 documents no key (channels.md §1); this one signs under the `md5_required`
/// reading (the §7 default convention).
#[derive(Clone, Deserialize)]
pub struct YhtdCredentials {
    pub key: String,
}

#[derive(Clone, Deserialize)]
pub struct AllinpayIds {
    pub app_id: String,
    pub shop_id: String,
}

// Secrets never reach a log (channels.md §0 "Secrets"): Debug prints <redacted>.
impl fmt::Debug for ShoubeiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShoubeiCredentials")
            .field("inst_no", &self.inst_no)
            .field("merchant_no", &self.merchant_no)
            .field("shop_no", &self.shop_no)
            .field("key", &"<redacted>")
            .finish()
    }
}
impl fmt::Debug for ZvcmsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZvcmsCredentials")
            .field("open_id", &self.open_id)
            .field("grant_code", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("multi_store_mark", &self.multi_store_mark)
            .finish()
    }
}
impl fmt::Debug for LiantuofuCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiantuofuCredentials")
            .field("app_id", &self.app_id)
            .field("key", &"<redacted>")
            .field("merchant_code", &self.merchant_code)
            .finish()
    }
}
impl fmt::Debug for YhtdCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YhtdCredentials")
            .field("key", &"<redacted>")
            .finish()
    }
}
impl fmt::Debug for AllinpayIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllinpayIds")
            .field("app_id", &self.app_id)
            .field("shop_id", &self.shop_id)
            .finish()
    }
}

pub use crate::demo_keys::AllinpayKeys;

/// The allinpay platform of a third-party coupon: the core's own type.
pub use redeemdesk_core::channel::Platform;

/// A coupon's state when the sandbox starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemoState {
    #[default]
    Unused,
    Used,
    Refunded,
    /// zvcms `status` 2.
    Locked,
    /// Expired whatever its dates say.
    Expired,
}

/// One Douyin certificate of a `tiktok` voucher (channels.md §5 `tiktokCertificateList`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCertificate {
    pub id: String,
    pub num: u32,
    pub title: String,
    pub sku_id: String,
    pub market_price_fen: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoupon {
    code: String,
    channel: ChannelKind,
    platform: Option<Platform>,
    name: String,
    #[serde(default)]
    state: DemoState,
    uses: Option<u32>,
    left: Option<u32>,
    #[serde(default)]
    face_fen: i64,
    price_fen: Option<i64>,
    settle_fen: Option<i64>,
    min_use_fen: Option<i64>,
    platform_share_fen: Option<i64>,
    merchant_share_fen: Option<i64>,
    channel_type: Option<String>,
    coupon_type: Option<u8>,
    discount: Option<String>,
    member_name: Option<String>,
    member_mobile: Option<String>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    fault: Option<Fault>,
    #[serde(default)]
    refuse_redeem: bool,
    #[serde(default)]
    note: String,
    #[serde(default)]
    note_zh: String,
    #[serde(default)]
    certificate: Vec<DemoCertificate>,
}

/// One demo coupon, validated, with times in epoch milliseconds.
#[derive(Debug, Clone)]
pub struct DemoCoupon {
    pub code: String,
    pub channel: ChannelKind,
    pub platform: Option<Platform>,
    pub name: String,
    pub state: DemoState,
    /// Uses when issued (1 for a single-use coupon).
    pub uses: u32,
    /// Uses left now.
    pub left: u32,
    pub face: Fen,
    pub price: Fen,
    pub settle: Fen,
    pub min_use: Fen,
    pub platform_share: Fen,
    pub merchant_share: Fen,
    /// 收呗 `channel_type` (10001…), where the coupon came from.
    pub channel_type: Option<String>,
    /// zvcms `coupon_type`: 0 fixed amount, 1 discount.
    pub coupon_type: u8,
    /// zvcms discount text (e.g. `"8.5"`) for a `coupon_type` 1 coupon.
    pub discount: Option<String>,
    pub member_name: String,
    pub member_mobile: String,
    pub valid_from_ms: Option<UnixMs>,
    pub valid_to_ms: Option<UnixMs>,
    pub fault: Option<Fault>,
    /// The preview says valid, the redemption is refused with a business refusal (智迈's
    /// `status: true` with a non-zero code on the write-off itself); nothing is consumed.
    pub refuse_redeem: bool,
    pub note: String,
    pub certificates: Vec<DemoCertificate>,
}

/// One line of the 增值券 agreed product table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoProduct {
    pub product_no: String,
    pub name: String,
    pub price_fen: i64,
    pub fault: Option<Fault>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub note_zh: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemo {
    shoubei: ShoubeiCredentials,
    zvcms: ZvcmsCredentials,
    liantuofu: LiantuofuCredentials,
    allinpay: AllinpayIds,
    yhtd: YhtdCredentials,
    #[serde(default)]
    readings: Readings,
    #[serde(default)]
    yhtd_product: Vec<DemoProduct>,
    #[serde(default)]
    coupon: Vec<RawCoupon>,
}

/// Everything the sandbox starts from.
#[derive(Debug, Clone)]
pub struct DemoData {
    pub shoubei: ShoubeiCredentials,
    pub zvcms: ZvcmsCredentials,
    pub liantuofu: LiantuofuCredentials,
    pub allinpay: AllinpayIds,
    pub allinpay_keys: AllinpayKeys,
    pub yhtd: YhtdCredentials,
    /// The sandbox's starting readings (the file's optional `[readings]` table).
    pub readings: Readings,
    pub products: Vec<DemoProduct>,
    pub coupons: Vec<DemoCoupon>,
}

/// One line of the app's 试用券码 panel: a demo code and what it does, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DemoCode {
    pub code: String,
    pub channel: ChannelKind,
    pub platform: Option<Platform>,
    /// The coupon's name as the channel gives it (the channel's text, never translated).
    pub name: String,
    pub note_en: String,
    pub note_zh: String,
}

/// The embedded demo codes for the panel, read without making the sandbox's key pairs.
pub fn demo_codes() -> Result<Vec<DemoCode>, DemoError> {
    let raw: RawDemo = toml::from_str(DEMO_COUPONS_TOML)?;
    Ok(raw
        .coupon
        .into_iter()
        .map(|c| DemoCode {
            code: c.code,
            channel: c.channel,
            platform: c.platform,
            name: c.name,
            note_en: c.note,
            note_zh: c.note_zh,
        })
        .collect())
}

impl DemoData {
    /// The embedded demo data with this process's in-memory key pairs.
    pub fn embedded() -> Result<Self, DemoError> {
        Self::embedded_with(AllinpayKeys::ephemeral())
    }

    /// The embedded demo data with an install's own key pairs (`AllinpayKeys::in_dir`).
    pub fn embedded_with(allinpay_keys: AllinpayKeys) -> Result<Self, DemoError> {
        Self::from_toml(DEMO_COUPONS_TOML, allinpay_keys)
    }

    /// The same data with shared secrets nobody published, made for this call: a sandbox
    /// standing in for a real channel in a test of going live, since a live configuration
    /// refuses the published demo secrets (`redeemdesk_core::demo_secrets`).
    pub fn with_fresh_secrets(mut self) -> Self {
        use rand::Rng;
        let fresh = || {
            let bytes: [u8; 16] = rand::rngs::OsRng.gen();
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        self.shoubei.key = fresh();
        self.zvcms.secret = fresh();
        self.liantuofu.key = fresh();
        self.yhtd.key = fresh();
        self
    }

    /// The same store holding keys that are not the sandbox's: fresh shared secrets, and
    /// 通联's platform key in the merchant's slot (a valid RSA key, just not the merchant's).
    /// What a client configured with the wrong keys signs with (the contract's wrong-key
    /// case), built from each channel's own demo settings.
    pub fn with_wrong_keys(self) -> Self {
        let mut wrong = self.with_fresh_secrets();
        wrong.allinpay_keys.merchant_private = wrong.allinpay_keys.platform_private.clone();
        wrong
    }

    /// Demo data from another file (tests, a store's own training data).
    pub fn from_toml(text: &str, allinpay_keys: AllinpayKeys) -> Result<Self, DemoError> {
        let raw: RawDemo = toml::from_str(text)?;
        let mut coupons = Vec::with_capacity(raw.coupon.len());
        let mut seen = std::collections::HashSet::new();
        for c in raw.coupon {
            let code = c.code.clone();
            let bad = |reason: &str| DemoError::Coupon {
                code: code.clone(),
                reason: reason.to_owned(),
            };
            if !seen.insert((c.channel, c.code.clone())) {
                return Err(bad("listed twice for the same channel"));
            }
            if c.channel == ChannelKind::Yhtd {
                return Err(bad(
                    "增值券 sells products (yhtd_product), it has no coupons",
                ));
            }
            if (c.channel == ChannelKind::Allinpay) != c.platform.is_some() {
                return Err(bad(
                    "`platform` is required for allinpay and only for allinpay",
                ));
            }
            if (c.platform == Some(Platform::Tiktok)) == c.certificate.is_empty() {
                return Err(bad(
                    "a tiktok voucher needs certificates, and only it has them",
                ));
            }
            let uses = c.uses.unwrap_or(1).max(1);
            let left = match (c.left, c.state) {
                (Some(left), _) => left,
                (None, DemoState::Unused | DemoState::Expired | DemoState::Locked) => uses,
                (None, DemoState::Used | DemoState::Refunded) => 0,
            };
            if c.refuse_redeem && (c.fault.is_some() || c.state != DemoState::Unused) {
                return Err(bad("`refuse_redeem` is for a valid coupon without a fault"));
            }
            if left > uses {
                return Err(bad("`left` is more than `uses`"));
            }
            let time = |text: &Option<String>| -> Result<Option<UnixMs>, DemoError> {
                text.as_deref()
                    .map(parse_cst)
                    .transpose()
                    .map_err(|source| DemoError::Time {
                        code: code.clone(),
                        source,
                    })
            };
            let valid_from_ms = time(&c.valid_from)?;
            let valid_to_ms = time(&c.valid_to)?;
            let price = Fen(c.price_fen.unwrap_or(c.face_fen));
            coupons.push(DemoCoupon {
                code: c.code,
                channel: c.channel,
                platform: c.platform,
                name: c.name,
                state: c.state,
                uses,
                left,
                face: Fen(c.face_fen),
                price,
                settle: Fen(c.settle_fen.unwrap_or(price.0)),
                min_use: Fen(c.min_use_fen.unwrap_or(0)),
                platform_share: Fen(c.platform_share_fen.unwrap_or(0)),
                merchant_share: Fen(c.merchant_share_fen.unwrap_or(0)),
                channel_type: c.channel_type,
                coupon_type: c.coupon_type.unwrap_or(0),
                discount: c.discount,
                member_name: c.member_name.unwrap_or_default(),
                member_mobile: c.member_mobile.unwrap_or_default(),
                valid_from_ms,
                valid_to_ms,
                fault: c.fault,
                refuse_redeem: c.refuse_redeem,
                note: c.note,
                certificates: c.certificate,
            });
        }
        Ok(DemoData {
            shoubei: raw.shoubei,
            zvcms: raw.zvcms,
            liantuofu: raw.liantuofu,
            allinpay: raw.allinpay,
            allinpay_keys,
            yhtd: raw.yhtd,
            readings: raw.readings,
            products: raw.yhtd_product,
            coupons,
        })
    }

    /// The demo codes as a Markdown table (what the README lists; `redeemdesk-sandbox
    /// --codes` prints it), so the README can never drift from the data.
    pub fn codes_markdown(&self) -> String {
        let mut out = String::from("| code | channel | what it does |\n|---|---|---|\n");
        for c in &self.coupons {
            let channel = match c.platform {
                Some(p) => format!("{} ({})", c.channel, p.as_str()),
                None => c.channel.to_string(),
            };
            // Markup stays visible as text (in code spans), like the UI must show it.
            let name = if c.name.contains('<') {
                format!("`{}`", c.name)
            } else {
                c.name.replace('|', "\\|")
            };
            out.push_str(&format!(
                "| `{}` | {} | {} — {} |\n",
                c.code, channel, name, c.note
            ));
        }
        for p in &self.products {
            out.push_str(&format!(
                "| product `{}` | yhtd | {} ¥{} — {} |\n",
                p.product_no,
                p.name,
                Fen(p.price_fen).to_yuan_string(),
                p.note
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_code_says_what_it_does_in_both_languages_and_english_has_no_chinese_of_ours() {
        let han = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let codes = demo_codes().unwrap();
        assert_eq!(codes.len(), DemoData::embedded().unwrap().coupons.len());
        for c in &codes {
            assert!(
                !c.note_en.is_empty() && !han(&c.note_en),
                "{}: {:?}",
                c.code,
                c.note_en
            );
            assert!(han(&c.note_zh), "{}: {:?}", c.code, c.note_zh);
        }
        let raw: RawDemo = toml::from_str(DEMO_COUPONS_TOML).unwrap();
        for p in raw.yhtd_product {
            assert!(!han(&p.note) && han(&p.note_zh), "{}", p.product_no);
        }
    }

    #[test]
    fn the_embedded_demo_data_loads() {
        let demo = DemoData::embedded().expect("the committed demo data must load");
        assert!(demo.coupons.len() >= 40, "every channel has its demo codes");
        for kind in [
            ChannelKind::Shoubei,
            ChannelKind::Zvcms,
            ChannelKind::Liantuofu,
            ChannelKind::Allinpay,
        ] {
            for fault in Fault::ALL {
                assert!(
                    demo.coupons
                        .iter()
                        .any(|c| c.channel == kind && c.fault == Some(fault)),
                    "{kind} needs a demo code for {fault:?}"
                );
            }
            assert!(
                demo.coupons
                    .iter()
                    .any(|c| c.channel == kind && c.refuse_redeem),
                "{kind} needs a demo code refused after a valid preview"
            );
        }
        assert_eq!(
            demo.readings,
            Readings::default(),
            "the committed file starts from the default readings"
        );
    }

    #[test]
    fn a_readings_table_in_the_demo_file_sets_the_starting_readings() {
        let text = DEMO_COUPONS_TOML.replace(
            "[yhtd]",
            "[readings.allinpay]\nshape = \"envelope\"\n\n[yhtd]",
        );
        let demo = DemoData::from_toml(&text, AllinpayKeys::ephemeral()).unwrap();
        assert_eq!(
            demo.readings.allinpay.shape,
            crate::reading::AllinpayShape::Envelope
        );
        assert_eq!(
            demo.readings.shoubei,
            Default::default(),
            "the rest default"
        );
    }

    #[test]
    fn demo_codes_are_realistic_and_never_short() {
        let demo = DemoData::embedded().unwrap();
        for c in &demo.coupons {
            let digits = c.code.bytes().all(|b| b.is_ascii_digit());
            assert!(
                (digits && (12..=18).contains(&c.code.len())) || c.code.starts_with("https://"),
                "{:?} must be 12–18 digits or a Douyin short link",
                c.code
            );
        }
    }

    #[test]
    fn the_readme_lists_exactly_the_demo_codes() {
        let readme = include_str!("../README.md");
        let table = DemoData::embedded().unwrap().codes_markdown();
        assert!(
            readme.contains(&table),
            "README.md's demo code table is stale: regenerate it with `redeemdesk-sandbox --codes`"
        );
    }

    /// Every `key` or `secret` anywhere in the demo file, with its dotted path.
    fn secrets_in(table: &toml::Table, path: &str, out: &mut Vec<(String, String)>) {
        for (name, value) in table {
            let here = format!("{path}{name}");
            match value {
                toml::Value::String(v) if name.contains("key") || name.contains("secret") => {
                    out.push((here, v.clone()))
                }
                toml::Value::Table(t) => secrets_in(t, &format!("{here}."), out),
                toml::Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if let toml::Value::Table(t) = item {
                            secrets_in(t, &format!("{here}[{i}]."), out);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn every_secret_the_demo_file_publishes_is_refused_by_a_live_configuration() {
        use redeemdesk_core::channel::settings::is_published;
        let file: toml::Table = toml::from_str(DEMO_COUPONS_TOML).unwrap();
        let mut found = Vec::new();
        secrets_in(&file, "", &mut found);
        assert!(
            found.len() >= 3,
            "the walk finds the 收呗, 智迈 and 联拓富 secrets: {:?}",
            found.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
        for (path, value) in &found {
            assert!(
                is_published(value),
                "{path} in demo/coupons.toml is public: add it to its channel's PUBLISHED \
                 in crates/core/src/channel/ (and keep the old value listed)"
            );
        }
        let demo = DemoData::embedded().unwrap();
        for (what, value) in [
            ("收呗 key", &demo.shoubei.key),
            ("智迈 secret", &demo.zvcms.secret),
            ("联拓富 key", &demo.liantuofu.key),
        ] {
            assert!(is_published(value), "the demo data's {what} is listed");
        }
    }

    #[test]
    fn fresh_secrets_are_none_of_the_published_ones() {
        use redeemdesk_core::channel::settings::is_published;
        let demo = DemoData::embedded().unwrap().with_fresh_secrets();
        for value in [&demo.shoubei.key, &demo.zvcms.secret, &demo.liantuofu.key] {
            assert!(
                !is_published(value),
                "a stand-in for a real channel can be configured live"
            );
        }
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let demo = DemoData::embedded().unwrap();
        let text = format!("{demo:?}");
        assert!(
            !text.contains(&demo.shoubei.key),
            "the 收呗 key is redacted"
        );
        assert!(
            !text.contains(&demo.zvcms.secret),
            "the 智迈 secret is redacted"
        );
        assert!(
            !text.contains(&demo.liantuofu.key),
            "the 联拓富 key is redacted"
        );
        assert!(!text.contains(&demo.yhtd.key), "the 增值券 key is redacted");
    }
}
