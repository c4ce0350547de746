//! The 设置 screen's core paths over the real sandbox on loopback:
//! 测试连接 on every channel, the scanner prefix/suffix applied to a real look-up, and the
//! switch from sandbox to live mode keeping the sandbox records out of the live ledger.

use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::channel_check::{check_connection, CheckResult};
use redeemdesk_core::channel_setup::{self, ChannelEdit};
use redeemdesk_core::clock::{Clock, SystemClock};
use redeemdesk_core::desk_settings::DeskSettings;
use redeemdesk_core::ledger::{self, DayFilter, Ledger};
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemInput};
use redeemdesk_sandbox::boot::{boot, ChannelSource};
use redeemdesk_sandbox::demo_config::setup_edit;
use redeemdesk_sandbox::{Sandbox, SandboxOptions};
use std::sync::Arc;

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

async fn check(dir: &std::path::Path, edit: &ChannelEdit) -> (CheckResult, String) {
    let config = channel_setup::dry_run(dir, edit).expect("the edit validates");
    let c = check_connection(&config, edit.channel, clock())
        .await
        .expect("the call is made");
    eprintln!(
        "测试连接 {}: {:?} in {} ms ({})",
        edit.channel, c.result, c.elapsed_ms, c.detail
    );
    (c.result, c.detail)
}

#[tokio::test]
async fn a_connection_test_tells_a_right_key_from_a_wrong_one_and_a_dead_address_on_every_channel()
{
    let sandbox = Sandbox::start(SandboxOptions::standing_in_for_live().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for kind in ChannelKind::ALL {
        let good = setup_edit(sandbox.demo(), sandbox.addr(), kind);
        let (result, detail) = check(dir.path(), &good).await;
        let expected = if kind == ChannelKind::Yhtd {
            CheckResult::AddressAnswers
        } else {
            CheckResult::Reachable
        };
        assert_eq!(result, expected, "{kind} with the demo settings: {detail}");

        // A closed port: nothing answers.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let dead = setup_edit(sandbox.demo(), closed, kind);
        let (result, detail) = check(dir.path(), &dead).await;
        assert_eq!(result, CheckResult::Unreachable, "{kind}: {detail}");
        assert!(detail.contains("could not connect"), "{kind}: {detail}");

        if kind == ChannelKind::Yhtd {
            continue; // no key to get wrong (unsigned), and no call that would check it
        }
        let mut wrong = good.clone();
        for (name, value) in wrong.secrets.iter_mut() {
            *value = if name.ends_with("_pem") {
                // Another valid RSA key: the platform's public key for our private one fails
                // to parse, so swap in the merchant's own public key as the platform's.
                let keys = &sandbox.demo().allinpay_keys;
                if name == "platform_public_key_pem" {
                    keys.merchant_public_pem()
                } else {
                    keys.platform_private_pem()
                }
            } else {
                "0123456789abcdef0123456789abcdef".to_owned()
            };
        }
        let (result, detail) = check(dir.path(), &wrong).await;
        assert_eq!(
            result,
            CheckResult::SignatureRefused,
            "{kind} with a wrong key: {detail}"
        );
        assert!(
            detail.contains("验签") || detail.contains("签名"),
            "{kind}: the channel's own words, not a guess: {detail}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a connection test saves nothing"
    );
}

#[tokio::test]
async fn the_saved_scanner_prefix_and_suffix_are_stripped_from_a_real_scan() {
    let dir = tempfile::tempdir().unwrap();
    let booted = boot(dir.path(), ChannelSource::Sandbox, clock())
        .await
        .unwrap();
    let desk = booted.desk;
    desk.set_manager_pin(None, "246813", "李店长").unwrap();
    let unlock = desk.unlock_manager("246813", "李店长").unwrap();
    let input = |raw: &str| PrepareInput {
        channel: ChannelKind::Zvcms,
        platform: None,
        raw_code: raw.into(),
    };
    let before = desk.prepare(input("SC390962138708451328#\r")).await;
    assert!(
        !matches!(before, Ok(Prepared::Ready { .. })),
        "without the rule the prefix is part of the code: {before:?}"
    );
    desk.save_desk_settings(
        &unlock,
        &DeskSettings {
            scan_prefix: "SC".into(),
            scan_suffix: "#".into(),
            cutoff_minutes: 240,
            utc_offset_minutes: 480,
        },
    )
    .unwrap();
    match desk.prepare(input("SC390962138708451328#\r")).await {
        Ok(Prepared::Ready { preview, .. }) => {
            assert_eq!(preview.code.as_str(), "390962138708451328")
        }
        other => panic!("the scan with prefix and suffix previews: {other:?}"),
    }
}

#[tokio::test]
async fn saving_a_live_channel_makes_the_next_start_live_on_its_own_ledger_without_sandbox_records()
{
    let dir = tempfile::tempdir().unwrap();
    let first = boot(dir.path(), ChannelSource::Auto, clock())
        .await
        .unwrap();
    assert_eq!(first.mode, Mode::Sandbox, "a fresh install");
    let token = match first
        .desk
        .prepare(PrepareInput {
            channel: ChannelKind::Shoubei,
            platform: None,
            raw_code: "679533922928".into(),
        })
        .await
        .unwrap()
    {
        Prepared::Ready { token, .. } => token,
        other => panic!("{other:?}"),
    };
    first
        .desk
        .start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .unwrap();
    first
        .desk
        .redeem(RedeemInput {
            token,
            count: 1,
            certificates: vec![],
        })
        .await
        .unwrap();
    let day = first
        .desk
        .ledger()
        .business_day_rule()
        .day_of(SystemClock.now_ms());
    drop(first);

    // The "live" channel: a sandbox elsewhere standing in for the real 收呗.
    let channel = Sandbox::start(SandboxOptions::standing_in_for_live().unwrap())
        .await
        .unwrap();
    assert!(!channel_setup::is_configured(dir.path()));
    channel_setup::save(
        dir.path(),
        &setup_edit(channel.demo(), channel.addr(), ChannelKind::Shoubei),
    )
    .unwrap();
    assert!(channel_setup::is_configured(dir.path()));

    let second = boot(dir.path(), ChannelSource::Auto, clock())
        .await
        .unwrap();
    assert_eq!(second.mode, Mode::Live, "config.toml present: live");
    assert!(second.sandbox.is_none(), "no emulator runs in live mode");
    assert_eq!(second.desk.channel_kinds(), vec![ChannelKind::Shoubei]);
    let live_log = second
        .desk
        .ledger()
        .day_log(day, &DayFilter::default())
        .unwrap();
    assert!(
        live_log.attempts.is_empty(),
        "the sandbox redemption is not in the live log: {:?}",
        live_log.attempts
    );
    drop(second);
    let sandbox_ledger = Ledger::open(
        &dir.path().join(ledger::file_name(Mode::Sandbox)),
        Mode::Sandbox,
    )
    .unwrap();
    assert_eq!(
        sandbox_ledger
            .day_log(day, &DayFilter::default())
            .unwrap()
            .attempts
            .len(),
        1,
        "the sandbox record stays in its own file"
    );
}

#[test]
fn going_live_in_settings_with_a_demo_secret_or_the_sandbox_key_pairs_is_refused_naming_the_field_and_nothing_is_saved(
) {
    use redeemdesk_sandbox::demo_keys::{AllinpayKeys, KEYS_DIR};
    use redeemdesk_sandbox::DemoData;
    let dir = tempfile::tempdir().unwrap();
    // This install ran in sandbox mode first: its key pairs are in the data directory.
    let keys = AllinpayKeys::in_dir(&dir.path().join(KEYS_DIR)).unwrap();
    let demo = DemoData::embedded_with(keys).unwrap();
    let nowhere: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    for (kind, field) in [
        (ChannelKind::Shoubei, "channels.shoubei.key"),
        (ChannelKind::Zvcms, "channels.zvcms.secret"),
        (ChannelKind::Liantuofu, "channels.liantuofu.key"),
        (
            ChannelKind::Allinpay,
            "channels.allinpay.merchant_private_key",
        ),
    ] {
        // The demo settings exactly as the sandbox uses them, typed into 设置.
        let edit = setup_edit(&demo, nowhere, kind);
        for (what, result) in [
            ("测试连接", channel_setup::dry_run(dir.path(), &edit)),
            ("保存", channel_setup::save(dir.path(), &edit)),
        ] {
            let err = result.expect_err("a sandbox secret never goes live");
            assert_eq!(
                err.field().as_deref(),
                Some(field),
                "{kind} {what}: the settings screen points at the key: {err}"
            );
            assert_eq!(err.code(), "setting_invalid", "{kind} {what}");
            assert!(
                err.to_string().contains("沙箱"),
                "{kind} {what}: says it is the sandbox's: {err}"
            );
        }
        assert!(
            !channel_setup::is_configured(dir.path()),
            "{kind}: the next start is still sandbox mode"
        );
    }
    assert!(
        !dir.path().join(channel_setup::SECRETS_FILE).exists() && !dir.path().join("keys").exists(),
        "no refused secret was written"
    );
}
