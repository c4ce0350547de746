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
    let prepared = desk
        .prepare(PrepareInput {
            channel: ChannelKind::Allinpay,
            platform: Some(Platform::Meituan),
            raw_code: code.into(),
            cashier: "王芳".into(),
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
        cashier: "王芳".into(),
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
