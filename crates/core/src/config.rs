//! Channel configuration: one TOML file shared by the app and the CLI, with the secrets
//! in a separate TOML file it points to. Everything is validated at load; a refusal names
//! the field (e.g. `channels.shoubei.merchant_no: must be 1–32 digits`). Each channel's
//! module owns its `[channels.<id>]` table (raw type, rules, secrets); this file reads the
//! file, dispatches each table through `ChannelConfig::load` and reads `[business]` and
//! `[hq]`. Other sections of the file belong to other modules and are ignored here.
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

use crate::channel::settings::{self, from_table, Load};
use crate::channel::{BusinessZone, Channel, ChannelConfig, ChannelError, ChannelKind, Context};
use crate::clock::Clock;
use crate::demo_secrets::{SandboxKeyPairs, DEMO_SECRET_REASON, SANDBOX_KEY_PAIR_REASON};
use crate::secret::Secret;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::channel::settings::{ConfigError, NO_CHANNEL_REASON};

impl From<ConfigError> for ChannelError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Read { path, source } => ChannelError::Config {
                field: path.display().to_string(),
                reason: source.to_string(),
            },
            ConfigError::Invalid { field, reason, .. } => ChannelError::Config { field, reason },
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

/// `[hq]`: where this till pushes its chain and who it is there.
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

/// The tables of the secrets file: every channel that keeps a secret there, and `[hq]`.
fn secret_tables() -> Vec<&'static str> {
    ChannelKind::ALL
        .into_iter()
        .filter(|k| {
            k.form()
                .secrets
                .iter()
                .any(|s| matches!(s.store, settings::Store::SecretsField { .. }))
        })
        .map(ChannelKind::as_str)
        .chain(["hq"])
        .collect()
}

impl Config {
    /// Reads and validates the file at `path`; relative paths inside it are resolved
    /// against its directory. `data_dir` is the data directory the desk runs on: its
    /// sandbox key pairs are refused.
    pub fn load(path: &Path, data_dir: &Path) -> Result<Config, ConfigError> {
        let text = settings::read(path)?;
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
        let raw: RawFile = settings::parse_toml(text, "")?;
        let zone = match raw.business.utc_offset_minutes {
            None => BusinessZone::CHINA,
            Some(m) => BusinessZone::from_minutes(m).ok_or_else(|| {
                ConfigError::invalid("business.utc_offset_minutes", "must be within ±1439")
            })?,
        };
        let mut tables = raw.channels;
        if let Some(unknown) = tables
            .keys()
            .find(|name| !ChannelKind::ALL.iter().any(|k| k.as_str() == name.as_str()))
        {
            let expected: Vec<String> = ChannelKind::ALL
                .iter()
                .map(|k| format!("`{}`", k.as_str()))
                .collect();
            return Err(ConfigError::invalid(
                "channels",
                format!(
                    "unknown field `{unknown}`, expected one of {}",
                    expected.join(", ")
                ),
            ));
        }
        let sandbox_keys = SandboxKeyPairs::in_data_dir(data_dir);
        let secret_tables = secret_tables();
        let load = Load {
            base: base_dir,
            sandbox_keys: &sandbox_keys,
            secret_tables: &secret_tables,
        };
        let mut channels = Vec::new();
        for kind in ChannelKind::ALL {
            if let Some(table) = tables.remove(kind.as_str()) {
                channels.push(ChannelConfig::load(kind, table, &load)?);
            }
        }
        if channels.is_empty() {
            return Err(ConfigError::NoChannel);
        }
        let hq = match raw.hq {
            None => None,
            Some(table) => {
                let raw: RawHq = from_table(toml::Value::Table(table), "hq")?;
                Some(raw.validate(&load)?)
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

// ---------------------------------------------------------------------------------------
// The file as written

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    business: RawBusiness,
    /// One table per channel, each read by its channel's module.
    #[serde(default)]
    channels: toml::Table,
    /// Read after the channels: a file with no channel is refused as such first.
    hq: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
struct RawBusiness {
    utc_offset_minutes: Option<i32>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HqSecrets {
    password: Option<Secret>,
}

impl RawHq {
    fn validate(self, load: &Load) -> Result<HqConfig, ConfigError> {
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
                let (table, label) = settings::secrets_table(
                    "hq.secrets",
                    load.base,
                    path,
                    "hq",
                    load.secret_tables,
                )?;
                let secrets: HqSecrets =
                    from_table(toml::Value::Table(table), &format!("{label}.hq"))?;
                Some(settings::key("hq.password", secrets.password)?)
            }
        };
        Ok(HqConfig {
            url: url.to_owned(),
            store_id: store_id.to_owned(),
            till: till.to_owned(),
            ca_file: self.ca_file.map(|p| load.resolve(&p)),
            password,
        })
    }
}
