//! Loading `redeemdesk.toml` and its secrets file: valid files load; every malformed or
//! missing setting is refused with the field's name, and so is a secret of the sandbox's (a
//! published demo key, a 通联 key pair from the data directory's `sandbox-keys/`); a file
//! with no channel is refused saying what to do.

use redeemdesk_core::channel::settings::published;
use redeemdesk_core::channel::{ChannelConfig, ChannelKind};
use redeemdesk_core::config::{Config, ConfigError};
use redeemdesk_core::demo_secrets;
use std::path::Path;

const SECRETS: &str = r#"
[shoubei]
key = "8a9bd64e6585c6d8016585c6c8980002"
[zvcms]
secret = "fake-open-key-for-test-only-0001"
[liantuofu]
key = "0b6c1f2e8d4a47b3a9e5c2d1f0e3b7a6"
[yhtd]
key = "demo-yhtd-key-0001"
"#;

fn full_config(keys_dir: &Path) -> String {
    format!(
        r#"
[business]
utc_offset_minutes = 480

[ui]
language = "zh"   # another module's section: ignored here

[channels.shoubei]
base_url = "http://127.0.0.1:9/shoubei"
inst_no = "60000001"
merchant_no = "851811130002"
shop_no = "862010110001"
channel_type = "10001"
secrets = "secrets.toml"

[channels.zvcms]
base_url = "http://openapi.zvcms.com"
open_id = "fake-open-id-for-test-only-0001"
grant_code = "fake-grant-code-0001"
store_mark = "S001"
token_naming = "pascal_case"
secrets = "secrets.toml"

[channels.liantuofu]
base_url = "https://api.liantuofu.com"
app_id = "EW_N5946005323"
consume_merchant_code = "EW_N2949193145"
secrets = "secrets.toml"
connect_timeout_ms = 1000
total_timeout_ms = 5000

[channels.allinpay]
base_url = "https://gateway.example.com/contract-42"
app_id = "demo-app-0001"
shop_id = "147"
merchant_private_key = "{keys}/merchant_private_pkcs1.pem"
platform_public_key = "{keys}/platform_public.pem"

[channels.yhtd]
base_url = "https://increment.yhtdpay.com"
sign = true
secrets = "secrets.toml"
[[channels.yhtd.products]]
no = "2112291922150704074"
name = "畅玩单人联票"
unit_price_fen = 3000
"#,
        keys = keys_dir.display()
    )
}

use crate::support::keys_dir;

fn dir_with_secrets(secrets: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secrets.toml"), secrets).unwrap();
    dir
}

fn load(config: &str, secrets: &str) -> Result<Config, ConfigError> {
    let dir = dir_with_secrets(secrets);
    let path = dir.path().join("redeemdesk.toml");
    std::fs::write(&path, config).unwrap();
    Config::load(&path, dir.path())
}

fn refused_field(config: &str, secrets: &str) -> String {
    match load(config, secrets) {
        Err(ConfigError::Invalid { field, .. }) => field,
        Err(other) => panic!("expected a field-level refusal, got {other}"),
        Ok(_) => panic!("the configuration must be refused"),
    }
}

#[test]
fn a_complete_configuration_loads_every_channel_in_chooser_order() {
    let cfg = load(&full_config(&keys_dir()), SECRETS).expect("the example configuration is valid");
    let kinds: Vec<ChannelKind> = cfg.channels.iter().map(ChannelConfig::kind).collect();
    assert_eq!(kinds, ChannelKind::ALL.to_vec(), "all five, in F1…F5 order");
    match cfg.get(ChannelKind::Shoubei) {
        Some(ChannelConfig::Shoubei(s)) => {
            assert_eq!(
                s.key.expose(),
                "8a9bd64e6585c6d8016585c6c8980002",
                "the key comes from the secrets file"
            );
            assert!(
                !format!("{s:?}").contains("8a9bd64e"),
                "Debug of a config never shows the key"
            );
        }
        other => panic!("shoubei must be configured: {other:?}"),
    }
    match cfg.get(ChannelKind::Liantuofu) {
        Some(ChannelConfig::Liantuofu(l)) => {
            assert_eq!(
                l.timeouts.connect.as_millis(),
                1000,
                "per-channel timeouts are read"
            );
        }
        other => panic!("liantuofu must be configured: {other:?}"),
    }
    let all_debug = format!("{cfg:?}");
    for secret in [
        "8a9bd64e6585c6d8016585c6c8980002",
        "fake-open-key-for-test-only-0001",
        "0b6c1f2e8d4a47b3a9e5c2d1f0e3b7a6",
        "demo-yhtd-key-0001",
    ] {
        assert!(
            !all_debug.contains(secret),
            "Debug of the whole config leaks nothing"
        );
    }
}

#[test]
fn an_empty_file_or_one_with_only_other_sections_is_refused_saying_what_to_do() {
    for (what, text) in [
        ("an empty file", ""),
        (
            "only other modules' sections",
            "[business]\nutc_offset_minutes = 480\n\n[ui]\nlanguage = \"zh\"\n",
        ),
        ("an empty channels table", "[business]\n[channels]\n"),
    ] {
        let err = match load(text, "") {
            Err(e) => e,
            Ok(cfg) => panic!(
                "{what} must not start live mode with {} channels",
                cfg.channels.len()
            ),
        };
        assert!(
            matches!(err, ConfigError::NoChannel),
            "{what}: a missing channel is its own refusal, got {err:?}"
        );
        assert_eq!(
            err.code(),
            "config_no_channel",
            "{what}: the UI branches on it"
        );
        let text = err.to_string();
        assert!(
            text.contains("设置") && text.contains("删除 config.toml"),
            "{what}: says what to do, in Chinese: {text}"
        );
        assert!(
            text.contains("return to sandbox mode"),
            "{what}: and in English: {text}"
        );
        assert!(
            text.find("渠道") < text.find("channel"),
            "{what}: Chinese first: {text}"
        );
    }
}

/// The secrets file with `[table] field = value` in place of that slot's own value.
fn secrets_with(table: &str, field: &str, value: &str) -> String {
    let mut secrets: toml::Table = SECRETS.parse().unwrap();
    secrets[table]
        .as_table_mut()
        .unwrap()
        .insert(field.into(), toml::Value::String(value.into()));
    toml::to_string(&secrets).unwrap()
}

#[test]
fn a_published_demo_secret_is_refused_in_every_secret_slot_naming_the_channel_and_field() {
    let slots = [
        ("shoubei", "key", "channels.shoubei.key"),
        ("zvcms", "secret", "channels.zvcms.secret"),
        ("liantuofu", "key", "channels.liantuofu.key"),
        ("yhtd", "key", "channels.yhtd.key"),
    ];
    let config = full_config(&keys_dir());
    for (table, field, path) in slots {
        // Every published secret in every slot: the 收呗 demo key pasted as 增值券's is
        // just as public.
        for (origin, published) in published() {
            let err = match load(&config, &secrets_with(table, field, published)) {
                Err(e) => e,
                Ok(_) => panic!("{origin}'s demo secret as {path} must not go live"),
            };
            assert!(
                matches!(&err, ConfigError::DemoSecret { field } if field == path),
                "{origin} as {path}: refused naming the field, got {err:?}"
            );
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("{path}: 这是沙箱演示密钥"))
                    && text.contains("published demo key"),
                "the message names the field and says why, Chinese first: {text}"
            );
            assert!(!text.contains(published), "never quotes the secret: {text}");
            assert_eq!(err.code(), "config_invalid", "fixed in the named field");
        }
    }
}

/// A data directory whose `sandbox-keys/` holds these private keys, as sandbox mode writes
/// them (PKCS#8 PEM).
fn data_dir_with_sandbox_keys(keys: &[(&str, rsa::RsaPrivateKey)]) -> tempfile::TempDir {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join(demo_secrets::SANDBOX_KEYS_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, key) in keys {
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        std::fs::write(dir.join(name), pem.as_bytes()).unwrap();
    }
    data
}

fn load_in(data_dir: &Path) -> Result<Config, ConfigError> {
    let dir = dir_with_secrets(SECRETS);
    let path = dir.path().join("config.toml");
    std::fs::write(&path, full_config(&keys_dir())).unwrap();
    Config::load(&path, data_dir)
}

#[test]
fn a_tonglian_key_of_the_data_directorys_sandbox_pairs_is_refused_naming_the_field() {
    use crate::support::{merchant_private, platform_private};
    // The configured merchant private key (PKCS#1 in the config) is the sandbox's merchant
    // key (PKCS#8 in sandbox-keys/): the same key in another encoding is still the same key.
    let data = data_dir_with_sandbox_keys(&[(
        demo_secrets::SANDBOX_MERCHANT_PRIVATE_FILE,
        merchant_private(),
    )]);
    match load_in(data.path()) {
        Err(ConfigError::SandboxKeyPair { field }) => assert_eq!(
            field, "channels.allinpay.merchant_private_key",
            "the merchant key is the one refused"
        ),
        other => panic!("the sandbox's merchant key must not go live: {other:?}"),
    }
    // The configured platform public key is the public half of a sandbox private key.
    let data = data_dir_with_sandbox_keys(&[(
        demo_secrets::SANDBOX_PLATFORM_PRIVATE_FILE,
        platform_private(),
    )]);
    match load_in(data.path()) {
        Err(e @ ConfigError::SandboxKeyPair { .. }) => {
            assert_eq!(e.field(), Some("channels.allinpay.platform_public_key"));
            let text = e.to_string();
            assert!(
                text.contains("沙箱") && text.contains("sandbox-keys/"),
                "says whose key it is: {text}"
            );
        }
        other => panic!("the sandbox's platform key must not go live: {other:?}"),
    }
}

#[test]
fn fresh_keys_of_the_merchants_own_load_beside_other_sandbox_pairs() {
    // sandbox-keys/ holds a key that is none of the configured ones: not a reason to refuse.
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join(demo_secrets::SANDBOX_KEYS_DIR);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys/merchant_public.pem"),
        dir.join("other_public.pem"),
    )
    .unwrap();
    let cfg = load_in(data.path()).expect("a merchant's own keys are accepted");
    assert_eq!(cfg.channels.len(), 5, "every channel loads");
}

#[test]
fn configured_channels_build_on_a_clock() {
    let cfg = load(&full_config(&keys_dir()), SECRETS).unwrap();
    let channels = cfg
        .build_channels(std::sync::Arc::new(
            redeemdesk_core::clock::ManualClock::new(0),
        ))
        .unwrap();
    assert_eq!(channels.len(), 5, "every configured channel builds");
}

#[test]
fn a_merchant_number_with_letters_is_refused_naming_the_field() {
    let cfg = full_config(&keys_dir()).replace(
        "merchant_no = \"851811130002\"",
        "merchant_no = \"85181113000X\"",
    );
    assert_eq!(refused_field(&cfg, SECRETS), "channels.shoubei.merchant_no");
}

#[test]
fn a_missing_merchant_number_is_refused_naming_the_field() {
    let cfg = full_config(&keys_dir()).replace("merchant_no = \"851811130002\"\n", "");
    let field = refused_field(&cfg, SECRETS);
    assert!(
        field.starts_with("channels.shoubei"),
        "the refusal points into the shoubei table: {field}"
    );
}

#[test]
fn a_malformed_url_is_refused_naming_the_field() {
    for bad in ["not a url", "ftp://example.com", "https://example.com/?q=1"] {
        let cfg = full_config(&keys_dir()).replace("https://api.liantuofu.com", bad);
        assert_eq!(
            refused_field(&cfg, SECRETS),
            "channels.liantuofu.base_url",
            "{bad} must be refused"
        );
    }
}

#[test]
fn a_missing_key_is_refused_naming_the_secrets_entry() {
    let secrets = SECRETS.replace("key = \"8a9bd64e6585c6d8016585c6c8980002\"", "");
    let field = refused_field(&full_config(&keys_dir()), &secrets);
    assert!(
        field.ends_with("shoubei.key"),
        "the message names the missing key: {field}"
    );
}

#[test]
fn a_malformed_key_is_refused_without_quoting_it() {
    let secrets = SECRETS.replace("0b6c1f2e8d4a47b3a9e5c2d1f0e3b7a6", "short");
    match load(&full_config(&keys_dir()), &secrets) {
        Err(e @ ConfigError::Invalid { .. }) => {
            let text = e.to_string();
            assert!(text.contains("liantuofu.key"), "names the field: {text}");
            assert!(!text.contains("short"), "never quotes a secret: {text}");
        }
        other => panic!("a 5-character key must be refused: {other:?}"),
    }
}

#[test]
fn a_missing_secrets_file_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redeemdesk.toml");
    std::fs::write(&path, full_config(&keys_dir())).unwrap();
    match Config::load(&path, dir.path()) {
        Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, "channels.shoubei.secrets"),
        other => panic!("a missing secrets file must be refused: {other:?}"),
    }
}

#[test]
fn an_unreadable_private_key_is_refused_naming_the_field() {
    let cfg = full_config(&keys_dir()).replace("merchant_private_pkcs1.pem", "merchant_public.pem");
    assert_eq!(
        refused_field(&cfg, SECRETS),
        "channels.allinpay.merchant_private_key",
        "a public key is not a private key"
    );
}

#[test]
fn a_misspelt_setting_is_refused_naming_it() {
    let cfg = full_config(&keys_dir()).replace("shop_no = ", "shopno = ");
    let field = refused_field(&cfg, SECRETS);
    assert!(
        field.starts_with("channels.shoubei"),
        "deny_unknown_fields points at the table: {field}"
    );
}

#[test]
fn signing_yhtd_without_a_secrets_file_is_refused() {
    let cfg = full_config(&keys_dir())
        .replace("sign = true\nsecrets = \"secrets.toml\"\n", "sign = true\n");
    assert_eq!(refused_field(&cfg, SECRETS), "channels.yhtd.secrets");
}

#[test]
fn a_bad_product_price_is_refused_naming_the_product() {
    let cfg = full_config(&keys_dir()).replace("unit_price_fen = 3000", "unit_price_fen = 0");
    assert_eq!(
        refused_field(&cfg, SECRETS),
        "channels.yhtd.products[0].unit_price_fen"
    );
}

#[test]
fn out_of_range_timeouts_are_refused() {
    let cfg = full_config(&keys_dir()).replace("total_timeout_ms = 5000", "total_timeout_ms = 500");
    assert_eq!(
        refused_field(&cfg, SECRETS),
        "channels.liantuofu.total_timeout_ms",
        "total below connect"
    );
}

#[test]
fn a_wrongly_typed_value_is_refused_naming_the_field() {
    let cfg = full_config(&keys_dir())
        .replace("utc_offset_minutes = 480", "utc_offset_minutes = \"480\"");
    assert_eq!(refused_field(&cfg, SECRETS), "business.utc_offset_minutes");
}

const HQ: &str = r#"
[hq]
url = "postgres://till_s001@hq.example.com:5432/redeemdesk?sslmode=verify-full"
store_id = "S001"
till = "1号机"
ca_file = "hq-ca.pem"
secrets = "secrets.toml"
"#;

#[test]
fn without_hq_there_is_no_chain_mode_and_with_it_the_password_comes_from_the_secrets() {
    let keys = keys_dir();
    let cfg = load(&full_config(&keys), SECRETS).unwrap();
    assert!(cfg.hq.is_none(), "no [hq]: the desk behaves as before");
    let secrets = format!("{SECRETS}\n[hq]\npassword = \"till-pass-Q7e!x\"\n");
    let cfg = load(&format!("{}{HQ}", full_config(&keys)), &secrets).unwrap();
    let hq = cfg.hq.expect("[hq] loads");
    assert_eq!(hq.store_id, "S001");
    assert_eq!(hq.till, "1号机");
    assert_eq!(
        hq.password.as_ref().map(|p| p.expose()),
        Some("till-pass-Q7e!x")
    );
    assert!(hq.ca_file.unwrap().ends_with("hq-ca.pem"));
    assert!(
        !format!("{:?}", hq.password).contains("till-pass"),
        "redacted"
    );
}

#[test]
fn a_bad_hq_section_is_refused_naming_the_field() {
    let keys = keys_dir();
    let secrets = format!("{SECRETS}\n[hq]\npassword = \"till-pass-Q7e!x\"\n");
    let with = |from: &str, to: &str| format!("{}{}", full_config(&keys), HQ.replace(from, to));
    for (from, to, field) in [
        ("postgres://till_s001@", "https://", "hq.url"),
        (
            "postgres://till_s001@",
            "postgres://till_s001:pw@",
            "hq.url",
        ),
        ("\"S001\"", "\"S 001\"", "hq.store_id"),
        ("\"1号机\"", "\"\"", "hq.till"),
        ("till = ", "tll = ", "hq"),
    ] {
        let got = refused_field(&with(from, to), &secrets);
        assert!(got.starts_with(field), "{from} → {to}: {got}");
    }
    assert_eq!(
        refused_field(&format!("{}{HQ}", full_config(&keys)), SECRETS),
        "hq.password",
        "a secrets file without [hq] password"
    );
}

/// Each channel's module now reads its own `[channels.<id>]` table and its own table of the
/// secrets file: both files stay exactly as strict as when one type read each whole file.
#[test]
fn both_files_stay_as_strict_as_before_naming_what_is_wrong() {
    let cfg = full_config(&keys_dir());
    // A misspelt channel: refused at `channels`, listing the known ones.
    let misspelt = format!("{cfg}\n[channels.shoubi]\nbase_url = \"http://x\"\n");
    match load(&misspelt, SECRETS) {
        Err(ConfigError::Invalid { field, reason, .. }) => {
            assert_eq!(field, "channels", "{reason}");
            assert!(
                reason.contains("`shoubi`") && reason.contains("`allinpay`"),
                "names it and what is known: {reason}"
            );
        }
        other => panic!("a misspelt channel must be refused: {other:?}"),
    }
    // A table of the secrets file that nothing reads (通联's keys are PEM files, not in it).
    let field = refused_field(
        &cfg,
        &format!("{SECRETS}\n[allinpay]\nkey = \"abcdefgh12345678\"\n"),
    );
    assert!(
        field.ends_with("secrets.toml"),
        "the file is named: {field}"
    );
    // A misspelt secret, and a secret that is not text.
    let field = refused_field(&cfg, &SECRETS.replace("[shoubei]\nkey", "[shoubei]\nkeey"));
    assert!(field.ends_with("secrets.toml.shoubei"), "{field}");
    let field = refused_field(
        &cfg,
        &SECRETS.replace("key = \"8a9bd64e6585c6d8016585c6c8980002\"", "key = 8"),
    );
    assert!(field.ends_with("secrets.toml.shoubei.key"), "{field}");
    // A setting of the wrong type is named by its path, as before.
    let field = refused_field(
        &cfg.replace("inst_no = \"60000001\"", "inst_no = 6"),
        SECRETS,
    );
    assert_eq!(field, "channels.shoubei.inst_no");
    // `[hq]`'s password shares the file with the channels' secrets.
    let with_hq = format!(
        "{cfg}\n[hq]\nurl = \"postgres://till@hq.example.com/redeemdesk\"\nstore_id = \"S001\"\n\
         till = \"1号机\"\nsecrets = \"secrets.toml\"\n"
    );
    let loaded = load(
        &with_hq,
        &format!("{SECRETS}\n[hq]\npassword = \"a-long-password-1\"\n"),
    )
    .expect("channels and hq read one secrets file");
    assert_eq!(loaded.channels.len(), 5);
    assert!(loaded.hq.unwrap().password.is_some());
}
