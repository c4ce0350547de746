//! What every channel's settings share: the refusal type (naming the setting by its dotted
//! path, e.g. `channels.shoubei.merchant_no`), the description of a settings form that the
//! UI draws (fields, kinds, secret slots), and the validation rules the channels' raw config
//! types apply. Each channel module owns its own raw type, its rules, its secret slots and its
//! form; `channel/mod.rs` dispatches over them and `config` reads the file.

use super::http::Timeouts;
use super::ChannelKind;
use crate::demo_secrets::{SandboxKeyPairs, DEMO_SECRET_REASON, SANDBOX_KEY_PAIR_REASON};
use crate::secret::Secret;
use serde::Serialize;
use std::path::{Path, PathBuf};
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
    Invalid {
        field: String,
        reason: String,
        /// What is wrong, for the settings screen to say in its language (`reason` is
        /// the English of it).
        why: Why,
    },
    /// A secret is one the sandbox's demo data published (each channel's `PUBLISHED`).
    #[error("{field}: {}", DEMO_SECRET_REASON)]
    DemoSecret { field: String },
    /// An RSA key is (the public half of) one of sandbox mode's key pairs.
    #[error("{field}: {}", SANDBOX_KEY_PAIR_REASON)]
    SandboxKeyPair { field: String },
    /// The file configures no channel: live mode would start with nothing to redeem against.
    #[error("{}", NO_CHANNEL_REASON)]
    NoChannel,
}

/// What kind of refusal a setting got: the sentence the settings screen says for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Why {
    /// Not an http(s) URL with a host, or one with a query or fragment.
    Url,
    Digits {
        max: usize,
    },
    /// Printable ASCII without spaces.
    Ident {
        max: usize,
    },
    /// A key of 8–256 printable ASCII characters.
    KeyFormat,
    Missing,
    /// An RSA key that does not parse.
    Pem,
    DemoSecret,
    SandboxKeyPair,
    Other,
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

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
        ConfigError::invalid_as(field, Why::Other, reason)
    }

    /// A refusal whose kind the settings screen has a sentence for.
    pub fn invalid_as(
        field: impl Into<String>,
        why: Why,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            field: field.into(),
            reason: reason.into(),
            why,
        }
    }

    /// The refusal's data for the UI: its kind (with the limit it names) and the English
    /// reason without the field, so the screen never takes the message apart.
    pub fn detail(&self) -> Option<serde_json::Value> {
        let (why, reason) = match self {
            ConfigError::Invalid { why, reason, .. } => (*why, reason.clone()),
            ConfigError::DemoSecret { .. } => (Why::DemoSecret, DEMO_SECRET_REASON.to_owned()),
            ConfigError::SandboxKeyPair { .. } => {
                (Why::SandboxKeyPair, SANDBOX_KEY_PAIR_REASON.to_owned())
            }
            ConfigError::Read { .. } | ConfigError::NoChannel => return None,
        };
        let mut detail = serde_json::to_value(why).unwrap_or_default();
        detail["reason"] = serde_json::Value::String(reason);
        Some(detail)
    }
}

// ---------------------------------------------------------------------------------------
// The settings form, as the UI draws it

/// One channel's settings form: which settings it has and which secrets it keeps. The UI
/// draws every channel's form from this (labels come from its string table by field name).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Form {
    pub fields: &'static [Field],
    pub secrets: &'static [SecretSlot],
}

/// One setting of `[channels.<id>]`, named as in config.toml.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
    #[serde(flatten)]
    pub kind: FieldKind,
    /// The string-table key of a line shown under the field, if any.
    pub hint: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text, trimmed; an empty optional field is left out of the file.
    Text,
    /// One of a few values, as written in the file (the first is the default).
    Choice { options: &'static [&'static str] },
    /// A boolean.
    Flag,
    /// A table of products (`[[channels.<id>.<name>]]`: `no`, `name`, `unit_price_fen`).
    ProductTable,
}

impl Field {
    pub const fn text(name: &'static str, required: bool) -> Field {
        Field {
            name,
            required,
            kind: FieldKind::Text,
            hint: None,
        }
    }
}

/// A secret of one channel, as the setup form names it, and where it is kept.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SecretSlot {
    /// What the form and `ChannelEdit::secrets` call it.
    pub name: &'static str,
    #[serde(flatten)]
    pub store: Store,
    /// A flag field without which this secret is not used (nor sent).
    pub only_with: Option<&'static str>,
    /// The string-table key of the line shown under it.
    pub hint: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "store", rename_all = "snake_case")]
pub enum Store {
    /// `[<channel>] <field>` in secrets.toml; the config points at the file with `secrets`.
    SecretsField { field: &'static str },
    /// A PEM file under keys/ named `file`; the config's `field` holds its path.
    PemFile {
        field: &'static str,
        file: &'static str,
    },
}

/// Every secret slot's hint: write-only.
pub const SECRET_HINT: &str = "set.secret.hint";

impl SecretSlot {
    pub const fn key(name: &'static str) -> SecretSlot {
        SecretSlot {
            name,
            store: Store::SecretsField { field: name },
            only_with: None,
            hint: SECRET_HINT,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Validation rules the channels share

/// What a channel's raw config is validated against besides itself: where relative paths
/// start, and which RSA keys are the sandbox's.
pub struct Load<'a> {
    pub base: &'a Path,
    pub sandbox_keys: &'a SandboxKeyPairs,
    /// The tables the secrets file may hold (the channels that keep a secret there, `hq`).
    pub secret_tables: &'a [&'a str],
}

impl Load<'_> {
    pub fn resolve(&self, p: &Path) -> PathBuf {
        resolve(self.base, p)
    }

    /// `channel`'s table of the secrets file at `path` (empty when it has none), and the
    /// file's name for refusals.
    pub fn secrets(
        &self,
        channel: &str,
        path: &Path,
    ) -> Result<(toml::Table, String), ConfigError> {
        secrets_table(
            &format!("channels.{channel}.secrets"),
            self.base,
            path,
            channel,
            self.secret_tables,
        )
    }
}

pub fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

pub fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The dotted name of a setting at serde path `path` under `prefix`.
fn dotted(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path == ".") {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{path}"),
    }
}

/// toml's message carries a source excerpt; the first line says what is wrong.
fn first_line(e: &toml::de::Error) -> String {
    e.message().lines().next().unwrap_or("invalid").to_owned()
}

/// A file's table that does not read as the channel's settings. serde says a required
/// setting is absent only in words ("missing field `shop_no`"): that one is `Missing`.
fn serde_refusal(field: String, reason: String) -> ConfigError {
    let why = if reason.starts_with("missing field") {
        Why::Missing
    } else {
        Why::Other
    };
    ConfigError::invalid_as(field, why, reason)
}

/// Parses TOML naming the failing field as a dotted path under `prefix`.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    prefix: &str,
) -> Result<T, ConfigError> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = dotted(prefix, &e.path().to_string());
        serde_refusal(field, first_line(e.inner()))
    })
}

/// Reads an already parsed table as `T`, naming the failing field under `prefix`.
pub fn from_table<T: serde::de::DeserializeOwned>(
    table: toml::Value,
    prefix: &str,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(table).map_err(|e| {
        let field = dotted(prefix, &e.path().to_string());
        serde_refusal(field, first_line(e.inner()))
    })
}

/// `owner`'s table of the secrets file at `path`, refusing a table no one reads (as a
/// misspelt channel name would be) and a value that is not a table.
pub fn secrets_table(
    field: &str,
    base: &Path,
    path: &Path,
    owner: &str,
    known: &[&str],
) -> Result<(toml::Table, String), ConfigError> {
    let full = resolve(base, path);
    let text = read(&full).map_err(|e| match e {
        ConfigError::Read { path, source } => {
            ConfigError::invalid(field, format!("cannot read {}: {source}", path.display()))
        }
        other => other,
    })?;
    let label = full.display().to_string();
    let file: toml::Table = parse_toml(&text, &label)?;
    let mut mine = toml::Table::new();
    for (name, value) in file {
        if !known.contains(&name.as_str()) {
            let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            return Err(ConfigError::invalid(
                label,
                format!(
                    "unknown field `{name}`, expected one of {}",
                    expected.join(", ")
                ),
            ));
        }
        let toml::Value::Table(table) = value else {
            return Err(ConfigError::invalid(
                format!("{label}.{name}"),
                "invalid type: expected a table",
            ));
        };
        if name == owner {
            mine = table;
        }
    }
    Ok((mine, label))
}

pub fn base_url(field: &str, text: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(text.trim())
        .map_err(|e| ConfigError::invalid_as(field, Why::Url, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::invalid_as(
            field,
            Why::Url,
            "must be an http:// or https:// URL with a host",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid_as(
            field,
            Why::Url,
            "must not carry a query or fragment (paths are appended to it)",
        ));
    }
    Ok(url)
}

pub fn digits(field: &str, value: &str, max: usize) -> Result<String, ConfigError> {
    let v = value.trim();
    if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::invalid_as(
            field,
            Why::Digits { max },
            format!("must be 1–{max} digits"),
        ));
    }
    Ok(v.to_owned())
}

pub fn opt_digits(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ConfigError> {
    value.map(|v| digits(field, v, max)).transpose()
}

/// An identifier the vendor assigned: printable ASCII without spaces.
pub fn ident(field: &str, value: &str, max: usize) -> Result<String, ConfigError> {
    let v = value.trim();
    if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::invalid_as(
            field,
            Why::Ident { max },
            format!("must be 1–{max} printable ASCII characters without spaces"),
        ));
    }
    Ok(v.to_owned())
}

pub fn opt_ident(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, ConfigError> {
    value.map(|v| ident(field, v, max)).transpose()
}

/// A key or secret: 8–256 printable ASCII characters without spaces. The message never
/// quotes the value.
pub fn key(field: &str, secret: Option<Secret>) -> Result<Secret, ConfigError> {
    let secret = secret.ok_or_else(|| ConfigError::invalid_as(field, Why::Missing, "missing"))?;
    let k = secret.expose().trim();
    if k.len() < 8 || k.len() > 256 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::invalid_as(
            field,
            Why::KeyFormat,
            "must be 8–256 printable ASCII characters without spaces",
        ));
    }
    Ok(Secret::new(k))
}

/// Every secret the sandbox's demo data has published, with the channel it was published for.
pub fn published() -> impl Iterator<Item = (ChannelKind, &'static str)> {
    ChannelKind::ALL
        .into_iter()
        .flat_map(|k| k.published_secrets().iter().map(move |s| (k, *s)))
}

/// Whether `secret` (as configured, surrounding blanks ignored) is a published demo secret.
/// Any slot is checked against every channel's: the 收呗 demo key pasted as 联拓富's is no
/// safer.
pub fn is_published(secret: &str) -> bool {
    let s = secret.trim();
    published().any(|(_, p)| p == s)
}

/// A shared secret that passed [`key`], unless it is one the sandbox published. `field` is
/// the setting's dotted path (`channels.shoubei.key`), which the settings screen points at.
pub fn not_published(field: &str, secret: Secret) -> Result<Secret, ConfigError> {
    if is_published(secret.expose()) {
        return Err(ConfigError::DemoSecret {
            field: field.to_owned(),
        });
    }
    Ok(secret)
}

/// The shared secret `name` of `channel`'s secrets table: present, well formed and not a
/// published one. A missing or malformed one is named in the file (`…/secrets.toml:
/// shoubei.key`), a published one as the setting (`channels.shoubei.key`).
pub fn shared_secret(
    channel: &str,
    name: &str,
    table: toml::Table,
    label: &str,
) -> Result<Secret, ConfigError> {
    if let Some(other) = table.keys().find(|k| k.as_str() != name) {
        return Err(ConfigError::invalid(
            format!("{label}.{channel}"),
            format!("unknown field `{other}`, expected `{name}`"),
        ));
    }
    let value = match table.get(name) {
        None => None,
        Some(toml::Value::String(s)) => Some(Secret::new(s.as_str())),
        Some(other) => {
            return Err(ConfigError::invalid(
                format!("{label}.{channel}.{name}"),
                format!("invalid type: {}, expected a string", other.type_str()),
            ))
        }
    };
    not_published(
        &format!("channels.{channel}.{name}"),
        key(&format!("{label}: {channel}.{name}"), value)?,
    )
}

pub fn timeouts(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_secret_is_recognised_with_blanks_around_it_and_a_fresh_one_is_not() {
        assert!(
            is_published(" 5f0c3d7e9a1b4c6d8e2f0a1b3c5d7e9f\n"),
            "a pasted key often carries a newline"
        );
        assert!(
            !is_published("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
            "a merchant's own key is not refused"
        );
        assert!(
            published().count() >= 4,
            "every shared-secret channel lists its demo value"
        );
    }
}

#[cfg(test)]
mod why_tests {
    use super::*;

    /// The settings screen reads what is wrong from data, never from the English words.
    #[test]
    fn a_refused_setting_says_its_kind_and_limit_apart_from_its_words() {
        let e = digits("channels.shoubei.merchant_no", "12ab", 15).unwrap_err();
        assert_eq!(
            e.detail(),
            Some(serde_json::json!({"kind": "digits", "max": 15, "reason": "must be 1–15 digits"}))
        );
        let e = base_url("channels.zvcms.base_url", "ftp://x").unwrap_err();
        assert_eq!(e.detail().unwrap()["kind"], "url");
        let e = key("channels.liantuofu.key", None).unwrap_err();
        assert_eq!(e.detail().unwrap()["kind"], "missing");
        let e = key("channels.liantuofu.key", Some(Secret::new("short"))).unwrap_err();
        assert_eq!(e.detail().unwrap()["kind"], "key_format");
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Raw {
            shop_no: String,
        }
        let e = parse_toml::<Raw>("", "channels.shoubei").unwrap_err();
        assert_eq!(e.detail().unwrap()["kind"], "missing", "{e}");
    }
}
