//! Channel setup from the app: a manager enters one channel's settings
//! and keys; they are validated exactly as the app will load them, and only then written —
//! `config.toml` beside `secrets.toml` and the 通联 key files in the data directory. A
//! refused edit changes nothing already saved. A secret of the sandbox's (a published demo
//! key, or a 通联 key pair from `sandbox-keys/`) is refused like any invalid field: going live
//! with one would sign real requests with a key others hold. Keys are write-only: what comes
//! back is masked, and the files that hold them are readable by the user only (0600).

use crate::channel::settings::Store;
use crate::channel::{ChannelKind, Form};
use crate::config::{Config, ConfigError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The live configuration's file in the data directory.
pub const CONFIG_FILE: &str = "config.toml";
/// Where the keys of every channel live, beside it.
pub const SECRETS_FILE: &str = "secrets.toml";
const KEYS_DIR: &str = "keys";

/// One channel's setup as the manager submits it. `secrets` holds only the keys being
/// replaced: an absent one keeps what is saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelEdit {
    pub channel: ChannelKind,
    pub settings: toml::Table,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

/// One channel's setup as the UI may see it: its form (the channel module's), and what is
/// saved, settings in full, secrets masked.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    pub channel: ChannelKind,
    pub form: &'static Form,
    /// Whether `config.toml` has a `[channels.<id>]` table.
    pub configured: bool,
    pub settings: toml::Table,
    /// For each secret: `""` when unset, else a mask such as `已设置 ••••0002`.
    pub secrets: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The edit does not validate; `field` names the setting (e.g. `channels.shoubei.base_url`).
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error("{0} is not a secret of this channel")]
    UnknownSecret(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SetupError {
    pub fn code(&self) -> &'static str {
        match self {
            SetupError::Invalid(_) => "setting_invalid",
            SetupError::UnknownSecret(_) => "setting_unknown_secret",
            SetupError::Io { .. } => "setting_not_saved",
        }
    }

    /// The setting a refusal is about, for the UI to point at.
    pub fn field(&self) -> Option<String> {
        match self {
            SetupError::Invalid(e) => e.field().map(str::to_owned),
            SetupError::UnknownSecret(name) => Some(name.clone()),
            _ => None,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SetupError + '_ {
    move |source| SetupError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_table(path: &Path) -> Result<toml::Table, SetupError> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.parse::<toml::Table>().map_err(|e| {
            SetupError::Invalid(ConfigError::invalid(
                path.display().to_string(),
                e.message(),
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(toml::Table::new()),
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes a file readable by the user only when `private`.
fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), SetupError> {
    crate::secret::write_file(path, bytes, private).map_err(io(path))
}

fn mask(secret: &str) -> String {
    let tail: String = secret
        .trim()
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("已设置 ••••{tail}")
}

/// Every channel's setup in chooser order, configured or not, secrets masked.
pub fn view(dir: &Path) -> Result<Vec<ChannelView>, SetupError> {
    let config = read_table(&dir.join(CONFIG_FILE))?;
    let secrets = read_table(&dir.join(SECRETS_FILE))?;
    let channels = config
        .get("channels")
        .and_then(|c| c.as_table())
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for kind in ChannelKind::ALL {
        let saved = channels.get(kind.as_str()).and_then(|t| t.as_table());
        let settings = saved.cloned().unwrap_or_default();
        let mut shown = settings.clone();
        let mut masked = BTreeMap::new();
        for slot in kind.form().secrets {
            let value = match slot.store {
                Store::SecretsField { field } if saved.is_some() => secrets
                    .get(kind.as_str())
                    .and_then(|t| t.get(field))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
                Store::SecretsField { .. } => None,
                Store::PemFile { field, .. } => {
                    shown.remove(field);
                    settings
                        .get(field)
                        .and_then(|p| p.as_str())
                        .and_then(|p| std::fs::read_to_string(dir.join(p)).ok())
                        .map(|pem| pem.trim().to_owned())
                }
            };
            masked.insert(
                slot.name.to_owned(),
                value.as_deref().map(mask).unwrap_or_default(),
            );
        }
        shown.remove("secrets");
        out.push(ChannelView {
            channel: kind,
            form: kind.form(),
            configured: saved.is_some(),
            settings: shown,
            secrets: masked,
        });
    }
    Ok(out)
}

/// Validates `edit` with everything already saved and, only if the whole configuration then
/// loads, saves it. Returns the configuration as the app will load it.
pub fn save(dir: &Path, edit: &ChannelEdit) -> Result<Config, SetupError> {
    stage(dir, edit, true)
}

/// Validates `edit` exactly as [`save`] does and returns the configuration it would load,
/// writing nothing that stays: what a connection test runs on before the manager saves.
pub fn dry_run(dir: &Path, edit: &ChannelEdit) -> Result<Config, SetupError> {
    stage(dir, edit, false)
}

/// Whether the next start runs live: a saved `config.toml` is what makes it so (the boot
/// reads the same file). Sandbox records stay in their own ledger file either way.
pub fn is_configured(dir: &Path) -> bool {
    dir.join(CONFIG_FILE).exists()
}

fn stage(dir: &Path, edit: &ChannelEdit, commit: bool) -> Result<Config, SetupError> {
    let kind = edit.channel;
    let slots = kind.form().secrets;
    for name in edit.secrets.keys() {
        if !slots.iter().any(|s| s.name == name) {
            return Err(SetupError::UnknownSecret(name.clone()));
        }
    }
    let mut config = read_table(&dir.join(CONFIG_FILE))?;
    let mut secrets = read_table(&dir.join(SECRETS_FILE))?;
    let mut settings = edit.settings.clone();
    let mut pems: Vec<(&'static str, String)> = Vec::new();
    for slot in slots {
        let new = edit.secrets.get(slot.name).map(|v| v.trim().to_owned());
        match slot.store {
            Store::SecretsField { field } => {
                settings.insert("secrets".into(), toml::Value::String(SECRETS_FILE.into()));
                if let Some(value) = new {
                    let table = secrets
                        .entry(kind.as_str())
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    if let Some(t) = table.as_table_mut() {
                        t.insert(field.into(), toml::Value::String(value));
                    }
                }
            }
            Store::PemFile { field, file } => {
                let path = format!("{KEYS_DIR}/{file}");
                settings.insert(field.into(), toml::Value::String(path.clone()));
                if let Some(value) = new {
                    pems.push((file, value));
                }
            }
        }
    }
    let channels = config
        .entry("channels")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let Some(t) = channels.as_table_mut() {
        t.insert(kind.as_str().into(), toml::Value::Table(settings));
    }
    let config_text = toml::to_string(&config).map_err(|e| {
        SetupError::Invalid(ConfigError::invalid(
            format!("channels.{}", kind.as_str()),
            e.to_string(),
        ))
    })?;
    let secrets_text = toml::to_string(&secrets).unwrap_or_default();

    // Stage everything beside the real files (same file system, so the final renames are
    // atomic) and validate the staged set exactly as the app will load it.
    let staging = dir.join(".setup-staging");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(staging.join(KEYS_DIR)).map_err(io(&staging))?;
    let result = (|| {
        write(&staging.join(SECRETS_FILE), secrets_text.as_bytes(), true)?;
        for (file, pem) in &pems {
            write(&staging.join(KEYS_DIR).join(file), pem.as_bytes(), true)?;
        }
        // Keys not replaced now are the saved ones: stage copies so validation sees them.
        if let Ok(entries) = std::fs::read_dir(dir.join(KEYS_DIR)) {
            for e in entries.flatten() {
                let target = staging.join(KEYS_DIR).join(e.file_name());
                if !target.exists() {
                    let bytes = std::fs::read(e.path()).map_err(io(&e.path()))?;
                    write(&target, &bytes, true)?;
                }
            }
        }
        write(&staging.join(CONFIG_FILE), config_text.as_bytes(), false)?;
        // Against the real data directory's sandbox key pairs, not the staging copy's.
        let loaded = Config::from_toml_str(&config_text, &staging, dir)?;
        if !commit {
            return Ok(loaded);
        }
        std::fs::create_dir_all(dir.join(KEYS_DIR)).map_err(io(dir))?;
        // Secrets before the config that points at them.
        for (file, _) in &pems {
            let from = staging.join(KEYS_DIR).join(file);
            std::fs::rename(&from, dir.join(KEYS_DIR).join(file)).map_err(io(&from))?;
        }
        let from = staging.join(SECRETS_FILE);
        std::fs::rename(&from, dir.join(SECRETS_FILE)).map_err(io(&from))?;
        let from = staging.join(CONFIG_FILE);
        std::fs::rename(&from, dir.join(CONFIG_FILE)).map_err(io(&from))?;
        Ok(loaded)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "8a9bd64e6585c6d8016585c6c8980002";

    fn shoubei(url: &str, merchant: &str) -> ChannelEdit {
        let mut settings = toml::Table::new();
        for (k, v) in [
            ("base_url", url),
            ("inst_no", "60000001"),
            ("merchant_no", merchant),
            ("shop_no", "862010110001"),
        ] {
            settings.insert(k.into(), toml::Value::String(v.into()));
        }
        ChannelEdit {
            channel: ChannelKind::Shoubei,
            settings,
            secrets: BTreeMap::from([("key".to_owned(), KEY.to_owned())]),
        }
    }

    #[test]
    fn a_valid_channel_is_saved_loadable_with_its_key_private_and_shown_masked() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = save(
            dir.path(),
            &shoubei("https://open.51shoubei.com", "851811130002"),
        )
        .unwrap();
        assert!(loaded.get(ChannelKind::Shoubei).is_some());
        Config::load(&dir.path().join(CONFIG_FILE), dir.path())
            .expect("the app loads what was saved");
        let config = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(!config.contains(KEY), "the key is not in config.toml");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRETS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "secrets are readable by the user only");
        }
        let views = view(dir.path()).unwrap();
        let shown = serde_json::to_string(&views).unwrap();
        assert!(
            !shown.contains(KEY),
            "the key never goes back to the UI: {shown}"
        );
        assert_eq!(views[0].secrets["key"], "已设置 ••••0002");
    }

    #[test]
    fn a_bad_url_an_empty_key_or_a_malformed_merchant_number_is_refused_naming_the_field_and_nothing_saved_is_lost(
    ) {
        let dir = tempfile::tempdir().unwrap();
        save(
            dir.path(),
            &shoubei("https://open.51shoubei.com", "851811130002"),
        )
        .unwrap();
        let before = (
            std::fs::read(dir.path().join(CONFIG_FILE)).unwrap(),
            std::fs::read(dir.path().join(SECRETS_FILE)).unwrap(),
        );
        let mut empty_key = shoubei("https://open.51shoubei.com", "851811130002");
        empty_key.secrets.insert("key".into(), "  ".into());
        let cases = [
            (
                shoubei("ftp://nowhere", "851811130002"),
                "channels.shoubei.base_url",
            ),
            (
                shoubei("https://open.51shoubei.com", "85181A"),
                "channels.shoubei.merchant_no",
            ),
            (empty_key, "key"),
        ];
        for (edit, field) in cases {
            let err = save(dir.path(), &edit).expect_err("refused");
            let named = err.field().unwrap_or_default();
            assert!(named.contains(field), "{err} names {field} (got {named:?})");
            let after = (
                std::fs::read(dir.path().join(CONFIG_FILE)).unwrap(),
                std::fs::read(dir.path().join(SECRETS_FILE)).unwrap(),
            );
            assert_eq!(before, after, "nothing already saved is lost ({field})");
        }
        assert!(
            !dir.path().join(".setup-staging").exists(),
            "no staging left behind"
        );
    }

    #[test]
    fn a_dry_run_validates_like_a_save_but_leaves_nothing_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = dry_run(
            dir.path(),
            &shoubei("https://open.51shoubei.com", "851811130002"),
        )
        .expect("a valid edit passes");
        assert!(loaded.get(ChannelKind::Shoubei).is_some());
        assert!(!is_configured(dir.path()), "no config.toml: still sandbox");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written, no staging left"
        );
        let err = dry_run(dir.path(), &shoubei("https://open.51shoubei.com", "8518x"))
            .expect_err("refused the same way as a save");
        assert_eq!(err.field().as_deref(), Some("channels.shoubei.merchant_no"));
        save(
            dir.path(),
            &shoubei("https://open.51shoubei.com", "851811130002"),
        )
        .unwrap();
        assert!(
            is_configured(dir.path()),
            "a save makes the next start live"
        );
    }

    #[test]
    fn an_edit_without_a_new_key_keeps_the_saved_one() {
        let dir = tempfile::tempdir().unwrap();
        save(
            dir.path(),
            &shoubei("https://open.51shoubei.com", "851811130002"),
        )
        .unwrap();
        let mut edit = shoubei("https://open.51shoubei.com", "851811130003");
        edit.secrets.clear();
        save(dir.path(), &edit).expect("the saved key still validates");
        let secrets = std::fs::read_to_string(dir.path().join(SECRETS_FILE)).unwrap();
        assert!(secrets.contains(KEY));
    }

    /// config.toml and secrets.toml as the setup wrote them before each channel module owned
    /// its settings: they load, show with their form and masks, and take an edit unchanged.
    #[test]
    fn files_written_by_the_earlier_setup_still_load_show_and_take_an_edit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            r#"[channels.shoubei]
base_url = "https://open.51shoubei.com"
inst_no = "60000001"
merchant_no = "851811130002"
shop_no = "862010110001"
secrets = "secrets.toml"

[channels.zvcms]
base_url = "http://openapi.zvcms.com"
open_id = "open-id-0001"
grant_code = "grant-0001"
token_naming = "pascal_case"
secrets = "secrets.toml"

[channels.yhtd]
base_url = "https://increment.yhtdpay.com"
sign = false
secrets = "secrets.toml"

[[channels.yhtd.products]]
no = "2112291922150704074"
name = "畅玩单人联票"
unit_price_fen = 3000
"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join(SECRETS_FILE),
            format!("[shoubei]\nkey = \"{KEY}\"\n\n[zvcms]\nsecret = \"zvcms-secret-0001\"\n"),
        )
        .unwrap();
        let loaded = Config::load(&dir.path().join(CONFIG_FILE), dir.path()).expect("loads");
        let kinds: Vec<ChannelKind> = loaded.channels.iter().map(|c| c.kind()).collect();
        assert_eq!(
            kinds,
            [ChannelKind::Shoubei, ChannelKind::Zvcms, ChannelKind::Yhtd]
        );
        let views = view(dir.path()).unwrap();
        let kinds: Vec<ChannelKind> = views.iter().map(|v| v.channel).collect();
        assert_eq!(kinds, ChannelKind::ALL, "every channel has its form");
        let configured: Vec<bool> = views.iter().map(|v| v.configured).collect();
        assert_eq!(configured, [true, true, false, false, true]);
        assert_eq!(views[0].secrets["key"], "已设置 ••••0002");
        assert_eq!(views[1].secrets["secret"], "已设置 ••••0001");
        assert_eq!(
            views[1].settings["token_naming"].as_str(),
            Some("pascal_case")
        );
        assert_eq!(
            views[2].secrets["key"], "",
            "an unconfigured channel has no mask"
        );
        let shown = serde_json::to_value(&views[4]).unwrap();
        assert_eq!(
            shown["form"]["fields"][2]["kind"], "product_table",
            "{shown}"
        );
        assert_eq!(shown["form"]["secrets"][0]["only_with"], "sign", "{shown}");
        // An edit of 收呗 as the form sends it (no new key) keeps its key and the others.
        let mut edit = ChannelEdit {
            channel: ChannelKind::Shoubei,
            settings: views[0].settings.clone(),
            secrets: BTreeMap::new(),
        };
        edit.settings
            .insert("shop_no".into(), "862010110002".into());
        let saved = save(dir.path(), &edit).expect("the edit loads");
        assert_eq!(saved.channels.len(), 3);
        let secrets = std::fs::read_to_string(dir.path().join(SECRETS_FILE)).unwrap();
        assert!(secrets.contains(KEY) && secrets.contains("zvcms-secret-0001"));
    }
}
