//! Sandbox mode's 通联 key pairs (`demo_keys`): a fresh install makes its own on the first
//! start, in the data directory, and signs with the same pairs after a restart — no private
//! key ships with the app.

use redeemdesk_core::channel::{ChannelKind, Outcome, Platform};
use redeemdesk_core::clock::{Clock, SystemClock};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemInput};
use redeemdesk_sandbox::boot::{boot, ChannelSource};
use redeemdesk_sandbox::demo_keys::{AllinpayKeys, KEYS_DIR};
use std::sync::Arc;

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Looks up and redeems one 通联 (Meituan) demo code: both signatures must verify.
async fn redeem_allinpay(desk: &Desk, code: &str) -> Outcome {
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .expect("the default cashier opens a shift");
    let prepared = desk
        .prepare(PrepareInput {
            channel: ChannelKind::Allinpay,
            platform: Some(Platform::Meituan),
            raw_code: code.into(),
        })
        .await
        .expect("the look-up is answered and its signature verifies");
    let Prepared::Ready { token, .. } = prepared else {
        panic!("{code} is redeemable: {prepared:?}");
    };
    desk.redeem(RedeemInput {
        token,
        count: 1,
        certificates: vec![],
    })
    .await
    .expect("the redemption is answered")
    .outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_install_makes_its_own_allinpay_keys_once_and_signs_with_them_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join(KEYS_DIR);
    assert!(AllinpayKeys::read(&keys_dir).is_none());

    let first = boot(dir.path(), ChannelSource::Auto, clock())
        .await
        .unwrap();
    let made = AllinpayKeys::read(&keys_dir).expect("the first start made the key pairs");
    let sandbox = first.sandbox.as_ref().expect("sandbox mode");
    assert_eq!(
        sandbox.demo().allinpay_keys.platform_private,
        made.platform_private,
        "the sandbox signs with the pairs on disk"
    );
    assert_ne!(
        made.merchant_private,
        AllinpayKeys::ephemeral().merchant_private,
        "the install's own pairs, not the process's"
    );
    let outcome = redeem_allinpay(&first.desk, "594828681100").await;
    assert!(matches!(outcome, Outcome::Succeeded(_)), "{outcome:?}");
    drop(first);

    let second = boot(dir.path(), ChannelSource::Auto, clock())
        .await
        .unwrap();
    let sandbox = second.sandbox.as_ref().expect("sandbox mode");
    assert_eq!(
        sandbox.demo().allinpay_keys.merchant_private,
        made.merchant_private,
        "a restart reads the same pairs back"
    );
    assert_eq!(
        sandbox.uses_left(ChannelKind::Allinpay, "594828681100"),
        Some(0),
        "the sandbox kept its state across the restart"
    );
    let again = redeem_allinpay(&second.desk, "594828681117").await;
    assert!(matches!(again, Outcome::Succeeded(_)), "{again:?}");
}

// ---------------------------------------------------------------------------------------
// A live configuration that must not start (issue 17 item 6): no channel, or a secret of the
// sandbox's. The start stops with the refusal; it falls back to neither mode on its own.

use redeemdesk_core::config::ConfigError;
use redeemdesk_sandbox::boot::{BootError, CONFIG_FILE};
use redeemdesk_sandbox::DemoData;
use std::path::Path;

/// Writes `config.toml` and `secrets.toml` into `dir`.
fn write_live(dir: &Path, config: &str, secrets: &str) {
    std::fs::write(dir.join(CONFIG_FILE), config).unwrap();
    std::fs::write(dir.join("secrets.toml"), secrets).unwrap();
}

/// Boots on `dir`, expecting a refusal.
async fn refused(dir: &Path, source: ChannelSource) -> BootError {
    match boot(dir, source, clock()).await {
        Err(e) => e,
        Ok(b) => panic!("this configuration must not start ({:?} mode)", b.mode),
    }
}

fn live_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("ledger") || n == "sandbox-state.json")
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_config_toml_with_no_channel_stops_the_start_saying_what_to_do() {
    for (what, text) in [
        ("an empty config.toml", ""),
        (
            "a config.toml with only other sections",
            "[business]\nutc_offset_minutes = 480\n\n[hq]\nurl = \"postgres://hq\"\n",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_live(dir.path(), text, "");
        let err = refused(dir.path(), ChannelSource::Auto).await;
        assert!(
            matches!(err, BootError::Config(ConfigError::NoChannel)),
            "{what}: refused as having no channel, got {err:?}"
        );
        assert_eq!(
            err.code(),
            "config_no_channel",
            "{what}: the start-up page branches on it"
        );
        let message = err.to_string();
        assert!(
            message.contains("设置") && message.contains("delete config.toml"),
            "{what}: says what to do in both languages: {message}"
        );
        assert!(
            live_files(dir.path()).is_empty(),
            "{what}: neither a live ledger nor a sandbox was started: {:?}",
            live_files(dir.path())
        );
    }
}

#[tokio::test]
async fn a_live_config_with_a_channels_demo_secret_is_refused_at_start_naming_the_field() {
    let demo = DemoData::embedded().unwrap();
    let cases = [
        (
            "[channels.shoubei]\nbase_url = \"http://127.0.0.1:9/shoubei\"\ninst_no = \"90002401\"\n\
             merchant_no = \"851811130002\"\nshop_no = \"862010110001\"\nsecrets = \"secrets.toml\"\n",
            format!("[shoubei]\nkey = \"{}\"\n", demo.shoubei.key),
            "channels.shoubei.key",
        ),
        (
            "[channels.zvcms]\nbase_url = \"http://127.0.0.1:9/zvcms\"\nopen_id = \"6dc05b4ac175cf316d226252b05cf685\"\n\
             grant_code = \"782c281f62\"\nsecrets = \"secrets.toml\"\n",
            format!("[zvcms]\nsecret = \"{}\"\n", demo.zvcms.secret),
            "channels.zvcms.secret",
        ),
        (
            "[channels.liantuofu]\nbase_url = \"http://127.0.0.1:9/liantuofu\"\napp_id = \"EW_N5946005323\"\n\
             consume_merchant_code = \"EW_N2949193145\"\nsecrets = \"secrets.toml\"\n",
            format!("[liantuofu]\nkey = \"{}\"\n", demo.liantuofu.key),
            "channels.liantuofu.key",
        ),
    ];
    for (config, secrets, field) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_live(dir.path(), config, &secrets);
        // The app's start (config.toml in the data directory) and the CLI's --config.
        for source in [
            ChannelSource::Auto,
            ChannelSource::Config(dir.path().join(CONFIG_FILE)),
        ] {
            let err = refused(dir.path(), source.clone()).await;
            assert_eq!(
                err.field().as_deref(),
                Some(field),
                "{source:?}: the refusal names the field: {err}"
            );
            assert!(
                err.to_string().contains("这是沙箱演示密钥"),
                "{source:?}: and says why: {err}"
            );
            assert_eq!(err.code(), "config_invalid", "{source:?}");
        }
        assert!(live_files(dir.path()).is_empty(), "{field}: nothing opened");
    }
}

/// A live 通联 configuration whose keys are these PEM texts, written to `keys/`.
fn write_allinpay(dir: &Path, merchant_private_pem: &str, platform_public_pem: &str) {
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(dir.join("keys/merchant.pem"), merchant_private_pem).unwrap();
    std::fs::write(dir.join("keys/platform.pem"), platform_public_pem).unwrap();
    std::fs::write(
        dir.join(CONFIG_FILE),
        "[channels.allinpay]\nbase_url = \"http://127.0.0.1:9/allinpay\"\napp_id = \"21001130\"\n\
         shop_id = \"147\"\nmerchant_private_key = \"keys/merchant.pem\"\n\
         platform_public_key = \"keys/platform.pem\"\n",
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directorys_sandbox_key_pairs_are_refused_as_live_tonglian_keys_and_fresh_ones_start(
) {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_keys = AllinpayKeys::in_dir(&dir.path().join(KEYS_DIR)).unwrap();
    let fresh = AllinpayKeys::generate().unwrap();
    // The sandbox's merchant private key file copied as it is, as someone going live might.
    let copied = std::fs::read_to_string(
        dir.path()
            .join(KEYS_DIR)
            .join(redeemdesk_sandbox::demo_keys::MERCHANT_PRIVATE_FILE),
    )
    .unwrap();
    let cases = [
        (
            copied.clone(),
            fresh.platform_public_pem(),
            "channels.allinpay.merchant_private_key",
        ),
        (
            fresh.merchant_private_pem(),
            sandbox_keys.platform_public_pem(),
            "channels.allinpay.platform_public_key",
        ),
        (
            // The sandbox's own platform private key as the merchant's: still its pair.
            sandbox_keys.platform_private_pem(),
            fresh.platform_public_pem(),
            "channels.allinpay.merchant_private_key",
        ),
    ];
    for (merchant, platform, field) in cases {
        write_allinpay(dir.path(), &merchant, &platform);
        let err = refused(dir.path(), ChannelSource::Auto).await;
        assert!(
            matches!(&err, BootError::Config(ConfigError::SandboxKeyPair { field: f }) if f == field),
            "refused naming {field}, got {err:?}"
        );
    }
    write_allinpay(
        dir.path(),
        &fresh.merchant_private_pem(),
        &fresh.platform_public_pem(),
    );
    let booted = boot(dir.path(), ChannelSource::Auto, clock())
        .await
        .expect("a merchant's own key pair starts live");
    assert_eq!(booted.mode, redeemdesk_core::app_info::Mode::Live);
    assert_eq!(booted.desk.channel_kinds(), vec![ChannelKind::Allinpay]);
}
