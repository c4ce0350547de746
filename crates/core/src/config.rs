//! Channel configuration: one TOML file shared by the app and the CLI, with the secrets
//! in a separate TOML file it points to. Everything is validated at load; a refusal names
//! the field (e.g. `channels.shoubei.merchant_no: must be 1–32 digits`). Other sections of
//! the file belong to other modules and are ignored here.
//!
//! The file is only ever a live configuration (sandbox mode builds its own in memory), so a
//! file that configures no channel is refused rather than starting live mode with nothing to
//! redeem against, and so is a secret of the sandbox's (`demo_secrets`): a published demo
//! key, or one of the 通联 key pairs in the data directory's `sandbox-keys/`.
//!
//! ```toml
//! [business]
//! utc_offset_minutes = 480             # China Standard Time (the default)
//!
//! [channels.shoubei]
//! base_url = "https://open.51shoubei.com"
//! inst_no = "60000001"
//! merchant_no = "851811130002"
//! shop_no = "862010110001"
//! channel_type = "10001"               # optional
//! secrets = "secrets.toml"             # relative to this file; holds [shoubei] key
//! connect_timeout_ms = 3000            # optional, every channel
//! total_timeout_ms = 10000             # optional, every channel
//!
//! [channels.zvcms]
//! base_url = "http://openapi.zvcms.com"
//! open_id = "…"
//! grant_code = "…"
//! store_mark = "S001"                  # ext.multiStoreMark, optional
//! store_id = "12"                      # ext.multiStoreId, optional
//! token_naming = "lower_camel"         # or "pascal_case"
//! secrets = "secrets.toml"             # holds [zvcms] secret
//!
//! [channels.liantuofu]
//! base_url = "https://api.liantuofu.com"
//! app_id = "EW_N5946005323"
//! consume_merchant_code = "EW_N2949193145"
//! consume_employee_id = "11"           # optional
//! secrets = "secrets.toml"             # holds [liantuofu] key
//!
//! [channels.allinpay]
//! base_url = "https://…"               # the contract's gateway URL without "/gateway"
//! app_id = "…"
//! shop_id = "147"
//! merchant_private_key = "keys/merchant.pem"   # PKCS#8 or PKCS#1 PEM
//! platform_public_key = "keys/platform.pem"    # SPKI or PKCS#1 PEM
//! operator = "pos01"                   # operUserId when the till gives none, optional
//!
//! [channels.yhtd]
//! base_url = "https://increment.yhtdpay.com"
//! sign = false                         # true: §7 MD5 signature, key in [yhtd] of secrets
//! resend_deduplicated = true            # false: the platform counts a resent dealSerial again
//! secrets = "secrets.toml"             # required only when sign = true
//! [[channels.yhtd.products]]
//! no = "2112291922150704074"
//! name = "畅玩单人联票"
//! unit_price_fen = 3000
//!
//! [hq]                                 # optional: chain mode (README "Chain mode")
//! url = "postgres://till_s001@hq.example.com:5432/redeemdesk?sslmode=verify-full"
//! store_id = "S001"
//! till = "1号机"
//! ca_file = "hq-ca.pem"                # optional, relative to this file
//! secrets = "secrets.toml"             # holds [hq] password
//! ```
//!
//! The secrets file:
//!
//! ```toml
//! [shoubei]
//! key = "…"        # 机构密钥
//! [zvcms]
//! secret = "…"
//! [liantuofu]
//! key = "…"
//! [yhtd]
//! key = "…"
//! [hq]
//! password = "…"   # the store's tills' role at HQ
//! ```

use crate::channel::http::Timeouts;
use crate::channel::{
    allinpay, liantuofu, shoubei, yhtd, zvcms, BusinessZone, Channel, ChannelConfig, ChannelError,
    ChannelKind, Context,
};
use crate::clock::Clock;
use crate::demo_secrets::{self, SandboxKeyPairs, DEMO_SECRET_REASON, SANDBOX_KEY_PAIR_REASON};
use crate::money::Fen;
use crate::secret::Secret;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why a configuration was refused. `field` is the dotted path of the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A secret is one the sandbox's demo data published (`demo_secrets::PUBLISHED`).
    #[error("{field}: {}", DEMO_SECRET_REASON)]
    DemoSecret { field: String },
    /// An RSA key is (the public half of) one of sandbox mode's key pairs.
    #[error("{field}: {}", SANDBOX_KEY_PAIR_REASON)]
    SandboxKeyPair { field: String },
    /// The file configures no channel: live mode would start with nothing to redeem against.
    #[error("{}", NO_CHANNEL_REASON)]
    NoChannel,
}

/// What a configuration without a channel is told, Chinese first, with what to do. The
/// desk does not start on it, so 设置 is reachable only after returning to sandbox mode.
pub const NO_CHANNEL_REASON: &str =
    "渠道配置文件 config.toml 中没有配置任何渠道：请删除 config.toml \
     回到沙箱模式，再在「设置」中配置渠道；或在 config.toml 中写入一个 [channels.…] 渠道 / \
     config.toml configures no channel: delete config.toml to return to sandbox mode, then \
     configure a channel in 设置 (Settings); or add a [channels.…] section to config.toml";

impl ConfigError {
    /// A stable code the UI branches on: only a missing channel asks for something other
    /// than fixing the field named.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::NoChannel => "config_no_channel",
            _ => "config_invalid",
        }
    }

    /// The setting a refusal is about, for the UI to point at.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { field, .. }
            | ConfigError::DemoSecret { field }
            | ConfigError::SandboxKeyPair { field } => Some(field),
            ConfigError::Read { .. } | ConfigError::NoChannel => None,
        }
    }

    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<ConfigError> for ChannelError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Read { path, source } => ChannelError::Config {
                field: path.display().to_string(),
                reason: source.to_string(),
            },
            ConfigError::Invalid { field, reason } => ChannelError::Config { field, reason },
            ConfigError::DemoSecret { field } => ChannelError::Config {
                field,
                reason: DEMO_SECRET_REASON.to_owned(),
            },
            ConfigError::SandboxKeyPair { field } => ChannelError::Config {
                field,
                reason: SANDBOX_KEY_PAIR_REASON.to_owned(),
            },
            ConfigError::NoChannel => ChannelError::Config {
                field: "channels".to_owned(),
                reason: NO_CHANNEL_REASON.to_owned(),
            },
        }
    }
}

/// The loaded, validated channel configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub zone: BusinessZone,
    /// The configured channels, in the cashier screen's order.
    pub channels: Vec<ChannelConfig>,
    /// Chain mode's headquarters, when `[hq]` is there.
    pub hq: Option<HqConfig>,
}

/// `[hq]`: where this till pushes its chain (issue 21) and who it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HqConfig {
    /// `postgres://role@host:port/db?sslmode=…`, without a password.
    pub url: String,
    pub store_id: String,
    pub till: String,
    pub ca_file: Option<PathBuf>,
    /// The role's password, from the secrets file.
    pub password: Option<Secret>,
}

impl Config {
    /// Reads and validates the file at `path`; relative paths inside it are resolved
    /// against its directory. `data_dir` is the data directory the desk runs on: its
    /// sandbox key pairs are refused.
    pub fn load(path: &Path, data_dir: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::from_toml_str(&text, base, data_dir)
    }

    /// Validates a configuration text; `base_dir` resolves relative secret and key paths,
    /// `data_dir` is where the sandbox key pairs that must not be reused would be.
    pub fn from_toml_str(
        text: &str,
        base_dir: &Path,
        data_dir: &Path,
    ) -> Result<Config, ConfigError> {
        let raw: RawFile = parse_toml(text, "")?;
        let zone = match raw.business.utc_offset_minutes {
            None => BusinessZone::CHINA,
            Some(m) => BusinessZone::from_minutes(m).ok_or_else(|| {
                ConfigError::invalid("business.utc_offset_minutes", "must be within ±1439")
            })?,
        };
        let c = raw.channels;
        let mut channels = Vec::new();
        if let Some(s) = c.shoubei {
            channels.push(ChannelConfig::Shoubei(s.validate(base_dir)?));
        }
        if let Some(z) = c.zvcms {
            channels.push(ChannelConfig::Zvcms(z.validate(base_dir)?));
        }
        if let Some(l) = c.liantuofu {
            channels.push(ChannelConfig::Liantuofu(l.validate(base_dir)?));
        }
        if let Some(a) = c.allinpay {
            let sandbox_keys = SandboxKeyPairs::in_data_dir(data_dir);
            channels.push(ChannelConfig::Allinpay(
                a.validate(base_dir, &sandbox_keys)?,
            ));
        }
        if let Some(y) = c.yhtd {
            channels.push(ChannelConfig::Yhtd(y.validate(base_dir)?));
        }
        if channels.is_empty() {
            return Err(ConfigError::NoChannel);
        }
        let hq = match raw.hq {
            None => None,
            Some(table) => {
                let raw: RawHq = serde_path_to_error::deserialize(toml::Value::Table(table))
                    .map_err(|e| {
                        let path = e.path().to_string();
                        let field = if path == "." {
                            "hq".to_owned()
                        } else {
                            format!("hq.{path}")
                        };
                        ConfigError::invalid(field, e.inner().to_string())
                    })?;
                Some(raw.validate(base_dir)?)
            }
        };
        Ok(Config { zone, channels, hq })
    }

    pub fn get(&self, kind: ChannelKind) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.kind() == kind)
    }

    /// Builds every configured channel on `clock`.
    pub fn build_channels(&self, clock: Arc<dyn Clock>) -> Result<Vec<Channel>, ChannelError> {
        let ctx = Context {
            clock,
            zone: self.zone,
        };
        self.channels
            .iter()
            .cloned()
            .map(|c| Channel::new(c, ctx.clone()))
            .collect()
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Parses TOML naming the failing field as a dotted path under `prefix`.
fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, prefix: &str) -> Result<T, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = match (prefix.is_empty(), path == ".") {
            (true, _) => path,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{path}"),
        };
        // toml's message carries a source excerpt; the first line says what is wrong.
        let reason = e
            .inner()
            .message()
            .lines()
            .next()
            .unwrap_or("invalid")
            .to_owned();
        ConfigError::invalid(field, reason)
    })
}

// ---------------------------------------------------------------------------------------
// The file as written

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    business: RawBusiness,
    #[serde(default)]
    channels: RawChannels,
    /// Read after the channels: a file with no channel is refused as such first.
    hq: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHq {
    url: String,
    store_id: String,
    till: String,
    ca_file: Option<PathBuf>,
    secrets: Option<PathBuf>,
}

impl RawHq {
    fn validate(self, base: &Path) -> Result<HqConfig, ConfigError> {
        let url = self.url.trim();
        let parsed = url::Url::parse(url)
            .map_err(|e| ConfigError::invalid("hq.url", format!("not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql")
            || parsed.host_str().is_none_or(str::is_empty)
        {
            return Err(ConfigError::invalid(
                "hq.url",
                "must be a postgres:// URL with a host",
            ));
        }
        if parsed.password().is_some() {
            return Err(ConfigError::invalid(
                "hq.url",
                "must not carry a password: put it in the secrets file's [hq] password",
            ));
        }
        let store_id = self.store_id.trim();
        if store_id.is_empty()
            || store_id.len() > 32
            || !store_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::invalid(
                "hq.store_id",
                "must be 1–32 of A–Z, a–z, 0–9, _ and -",
            ));
        }
        let till = self.till.trim();
        if till.is_empty() || till.chars().count() > 32 {
            return Err(ConfigError::invalid("hq.till", "must be 1–32 characters"));
        }
        let password = match &self.secrets {
            None => None,
            Some(path) => {
                let (secrets, _) = secrets_file_for("hq.secrets", base, path)?;
                Some(key("hq.password", secrets.hq.and_then(|t| t.password))?)
            }
        };
        Ok(HqConfig {
            url: url.to_owned(),
            store_id: store_id.to_owned(),
            till: till.to_owned(),
            ca_file: self.ca_file.map(|p| resolve(base, &p)),
            password,
        })
    }
}

#[derive(Deserialize, Default)]
struct RawBusiness {
    utc_offset_minutes: Option<i32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawChannels {
    shoubei: Option<RawShoubei>,
    zvcms: Option<RawZvcms>,
    liantuofu: Option<RawLiantuofu>,
    allinpay: Option<RawAllinpay>,
    yhtd: Option<RawYhtd>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShoubei {
    base_url: String,
    inst_no: String,
    merchant_no: String,
    shop_no: String,
    channel_type: Option<String>,
    secrets: PathBuf,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZvcms {
    base_url: String,
    open_id: String,
    grant_code: String,
    store_mark: Option<String>,
    store_id: Option<String>,
    #[serde(default)]
    token_naming: zvcms::TokenNaming,
    secrets: PathBuf,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLiantuofu {
    base_url: String,
    app_id: String,
    consume_merchant_code: String,
    consume_employee_id: Option<String>,
    secrets: PathBuf,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllinpay {
    base_url: String,
    app_id: String,
    shop_id: String,
    merchant_private_key: PathBuf,
    platform_public_key: PathBuf,
    operator: Option<String>,
    connect_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYhtd {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    no: String,
    name: String,
    unit_price_fen: i64,
}

/// The secrets file: one table per channel.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSecrets {
    shoubei: Option<KeyTable>,
    zvcms: Option<SecretTable>,
    liantuofu: Option<KeyTable>,
    yhtd: Option<KeyTable>,
    hq: Option<HqSecrets>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HqSecrets {
    password: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyTable {
    key: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretTable {
    secret: Option<Secret>,
}

// ---------------------------------------------------------------------------------------
// Validation

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

fn base_url(field: &str, text: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| ConfigError::invalid(field, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::invalid(
            field,
            "must be an http:// or https:// URL with a host",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid(
            field,
            "must not carry a query or fragment (paths are appended to it)",
        ));
    }
    Ok(url)
}

fn digits(field: &str, value: &str, max: usize) -> Result<String, ConfigError> {
    let v = value.trim();
    if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::invalid(
            field,
            format!("must be 1–{max} digits"),
        ));
    }
    Ok(v.to_owned())
}

/// An identifier the vendor assigned: printable ASCII without spaces.
fn ident(field: &str, value: &str, max: usize) -> Result<String, ConfigError> {
    let v = value.trim();
    if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::invalid(
            field,
            format!("must be 1–{max} printable ASCII characters without spaces"),
        ));
    }
    Ok(v.to_owned())
}

fn opt_ident(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, ConfigError> {
    value.map(|v| ident(field, v, max)).transpose()
}

/// A key or secret: 8–256 printable ASCII characters without spaces. The message never
/// quotes the value.
fn key(field: &str, secret: Option<Secret>) -> Result<Secret, ConfigError> {
    let secret = secret.ok_or_else(|| ConfigError::invalid(field, "missing"))?;
    let k = secret.expose().trim();
    if k.len() < 8 || k.len() > 256 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::invalid(
            field,
            "must be 8–256 printable ASCII characters without spaces",
        ));
    }
    Ok(Secret::new(k))
}

/// A shared secret that passed [`key`], unless it is one the sandbox published. `field` is
/// the setting's dotted path (`channels.shoubei.key`), which the settings screen points at.
fn not_published(field: &str, secret: Secret) -> Result<Secret, ConfigError> {
    if demo_secrets::is_published(secret.expose()) {
        return Err(ConfigError::DemoSecret {
            field: field.to_owned(),
        });
    }
    Ok(secret)
}

fn timeouts(
    channel: &str,
    connect: Option<u64>,
    total: Option<u64>,
) -> Result<Timeouts, ConfigError> {
    let d = Timeouts::default();
    let connect_ms = connect.unwrap_or(d.connect.as_millis() as u64);
    let total_ms = total.unwrap_or(d.total.as_millis() as u64);
    if !(100..=60_000).contains(&connect_ms) {
        return Err(ConfigError::invalid(
            format!("channels.{channel}.connect_timeout_ms"),
            "must be 100–60000",
        ));
    }
    if !(connect_ms..=120_000).contains(&total_ms) {
        return Err(ConfigError::invalid(
            format!("channels.{channel}.total_timeout_ms"),
            "must be at least the connect timeout and at most 120000",
        ));
    }
    Ok(Timeouts {
        connect: Duration::from_millis(connect_ms),
        total: Duration::from_millis(total_ms),
    })
}

fn secrets_file(
    channel: &str,
    base: &Path,
    path: &Path,
) -> Result<(RawSecrets, String), ConfigError> {
    secrets_file_for(&format!("channels.{channel}.secrets"), base, path)
}

fn secrets_file_for(
    field: &str,
    base: &Path,
    path: &Path,
) -> Result<(RawSecrets, String), ConfigError> {
    let full = resolve(base, path);
    let text = read(&full).map_err(|e| match e {
        ConfigError::Read { path, source } => {
            ConfigError::invalid(field, format!("cannot read {}: {source}", path.display()))
        }
        other => other,
    })?;
    let label = full.display().to_string();
    let raw: RawSecrets = parse_toml(&text, &label)?;
    Ok((raw, label))
}

impl RawShoubei {
    fn validate(self, base: &Path) -> Result<shoubei::Config, ConfigError> {
        let f = |name: &str| format!("channels.shoubei.{name}");
        let (secrets, label) = secrets_file("shoubei", base, &self.secrets)?;
        Ok(shoubei::Config {
            base_url: base_url(&f("base_url"), &self.base_url)?,
            inst_no: digits(&f("inst_no"), &self.inst_no, 8)?,
            merchant_no: digits(&f("merchant_no"), &self.merchant_no, 32)?,
            shop_no: digits(&f("shop_no"), &self.shop_no, 32)?,
            channel_type: self
                .channel_type
                .as_deref()
                .map(|t| digits(&f("channel_type"), t, 5))
                .transpose()?,
            key: not_published(
                &f("key"),
                key(
                    &format!("{label}: shoubei.key"),
                    secrets.shoubei.and_then(|t| t.key),
                )?,
            )?,
            timeouts: timeouts("shoubei", self.connect_timeout_ms, self.total_timeout_ms)?,
        })
    }
}

impl RawZvcms {
    fn validate(self, base: &Path) -> Result<zvcms::Config, ConfigError> {
        let f = |name: &str| format!("channels.zvcms.{name}");
        let (secrets, label) = secrets_file("zvcms", base, &self.secrets)?;
        Ok(zvcms::Config {
            base_url: base_url(&f("base_url"), &self.base_url)?,
            open_id: ident(&f("open_id"), &self.open_id, 64)?,
            grant_code: ident(&f("grant_code"), &self.grant_code, 64)?,
            secret: not_published(
                &f("secret"),
                key(
                    &format!("{label}: zvcms.secret"),
                    secrets.zvcms.and_then(|t| t.secret),
                )?,
            )?,
            store_mark: opt_ident(&f("store_mark"), self.store_mark.as_deref(), 64)?,
            store_id: self
                .store_id
                .as_deref()
                .map(|s| digits(&f("store_id"), s, 18))
                .transpose()?,
            token_naming: self.token_naming,
            timeouts: timeouts("zvcms", self.connect_timeout_ms, self.total_timeout_ms)?,
        })
    }
}

impl RawLiantuofu {
    fn validate(self, base: &Path) -> Result<liantuofu::Config, ConfigError> {
        let f = |name: &str| format!("channels.liantuofu.{name}");
        let (secrets, label) = secrets_file("liantuofu", base, &self.secrets)?;
        Ok(liantuofu::Config {
            base_url: base_url(&f("base_url"), &self.base_url)?,
            app_id: ident(&f("app_id"), &self.app_id, 64)?,
            consume_merchant_code: ident(
                &f("consume_merchant_code"),
                &self.consume_merchant_code,
                64,
            )?,
            consume_employee_id: self
                .consume_employee_id
                .as_deref()
                .map(|e| digits(&f("consume_employee_id"), e, 18))
                .transpose()?,
            key: not_published(
                &f("key"),
                key(
                    &format!("{label}: liantuofu.key"),
                    secrets.liantuofu.and_then(|t| t.key),
                )?,
            )?,
            timeouts: timeouts("liantuofu", self.connect_timeout_ms, self.total_timeout_ms)?,
        })
    }
}

impl RawAllinpay {
    fn validate(
        self,
        base: &Path,
        sandbox_keys: &SandboxKeyPairs,
    ) -> Result<allinpay::Config, ConfigError> {
        let f = |name: &str| format!("channels.allinpay.{name}");
        let pem = |name: &str, p: &Path| {
            let full = resolve(base, p);
            std::fs::read_to_string(&full).map_err(|e| {
                ConfigError::invalid(f(name), format!("cannot read {}: {e}", full.display()))
            })
        };
        let private = allinpay::private_key_from_pem(&pem(
            "merchant_private_key",
            &self.merchant_private_key,
        )?)
        .map_err(|e| ConfigError::invalid(f("merchant_private_key"), e.to_string()))?;
        let public =
            allinpay::public_key_from_pem(&pem("platform_public_key", &self.platform_public_key)?)
                .map_err(|e| ConfigError::invalid(f("platform_public_key"), e.to_string()))?;
        // Either pair in either slot: the sandbox holds both private halves, so a live
        // request signed with its merchant key, or an answer checked with its platform key,
        // proves nothing about the real 通联.
        for (field, public) in [
            ("merchant_private_key", &private.to_public_key()),
            ("platform_public_key", &public),
        ] {
            if sandbox_keys.contains(public) {
                return Err(ConfigError::SandboxKeyPair { field: f(field) });
            }
        }
        Ok(allinpay::Config {
            base_url: base_url(&f("base_url"), &self.base_url)?,
            app_id: ident(&f("app_id"), &self.app_id, 64)?,
            shop_id: digits(&f("shop_id"), &self.shop_id, 18)?,
            merchant_key: allinpay::MerchantKey(Arc::new(private)),
            platform_key: public,
            default_operator: opt_ident(&f("operator"), self.operator.as_deref(), 64)?,
            timeouts: timeouts("allinpay", self.connect_timeout_ms, self.total_timeout_ms)?,
        })
    }
}

impl RawYhtd {
    fn validate(self, base: &Path) -> Result<yhtd::Config, ConfigError> {
        let f = |name: &str| format!("channels.yhtd.{name}");
        let key = match (&self.secrets, self.sign) {
            (Some(path), true) => {
                let (secrets, label) = secrets_file("yhtd", base, path)?;
                Some(not_published(
                    &f("key"),
                    key(
                        &format!("{label}: yhtd.key"),
                        secrets.yhtd.and_then(|t| t.key),
                    )?,
                )?)
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
            products.push(yhtd::Product {
                no: ident(&pf("no"), &p.no, 32)?,
                name: name.to_owned(),
                unit_price: Fen(p.unit_price_fen),
            });
        }
        Ok(yhtd::Config {
            base_url: base_url(&f("base_url"), &self.base_url)?,
            sign: self.sign,
            resend_deduplicated: self.resend_deduplicated,
            key,
            products,
            timeouts: timeouts("yhtd", self.connect_timeout_ms, self.total_timeout_ms)?,
        })
    }
}
