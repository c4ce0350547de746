//! `redeemdesk-hq health`'s second clock column against a real PostgreSQL server: a till
//! whose clock is two hours off the channel's own time (the `Date` of the channel's answer,
//! here the channels' emulator on loopback) is flagged on it, a till whose clock agrees is
//! not, and a till that has not heard from a channel has no reading. The columns reach the
//! CSV export as well.

mod common;

use common::*;
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::clock::{Clock, MonoMs, SystemClock, UnixMs};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::export::ExportFormat;
use redeemdesk_core::hq_sync::{UploadIdentity, Uploader};
use redeemdesk_core::ledger::{self, Ledger};
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemInput};
use redeemdesk_core::scan::ScanRules;
use redeemdesk_hq::reports::{self, SKEW_FLAG_MS};
use redeemdesk_sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use std::sync::Arc;

const TWO_HOURS_MS: i64 = 2 * 3_600_000;

/// The machine's clock, two hours fast.
struct Fast;
impl Clock for Fast {
    fn now_ms(&self) -> UnixMs {
        SystemClock.now_ms() + TWO_HOURS_MS
    }
    fn monotonic_ms(&self) -> MonoMs {
        SystemClock.monotonic_ms()
    }
}

struct DeskOn {
    _dir: tempfile::TempDir,
    desk: Arc<Desk>,
    clock: Arc<dyn Clock>,
}

fn desk_on(sandbox: &RunningSandbox, clock: Arc<dyn Clock>) -> DeskOn {
    let dir = tempfile::tempdir().unwrap();
    let channels = sandbox
        .demo_config()
        .build_channels(clock.clone())
        .expect("the demo config builds");
    let l = Ledger::open(
        &dir.path().join(ledger::file_name(Mode::Sandbox)),
        Mode::Sandbox,
    )
    .expect("a fresh ledger");
    let desk =
        Desk::open(Arc::new(l), channels, clock.clone(), ScanRules::default()).expect("desk");
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .expect("a shift");
    DeskOn {
        _dir: dir,
        desk: Arc::new(desk),
        clock,
    }
}

/// One 收呗 redemption through the emulator: the desk reads the channel's `Date`.
async fn redeem(desk: &Desk, code: &str) {
    let Prepared::Ready { token, .. } = desk
        .prepare(PrepareInput {
            channel: ChannelKind::Shoubei,
            platform: None,
            raw_code: code.to_owned(),
        })
        .await
        .expect("prepare")
    else {
        panic!("收呗 previews locally");
    };
    desk.redeem(RedeemInput {
        token,
        count: 1,
        certificates: Vec::new(),
    })
    .await
    .expect("the channel answers");
}

/// The app's uploader of a desk: the desk's clock, and its channel reading with each push.
fn uploader_of(d: &DeskOn, hq: &Hq, store: &str, till: &str) -> Uploader {
    let desk = d.desk.clone();
    Uploader::new(
        d.desk.ledger().clone(),
        Arc::new(hq.client_for(store, None)),
        d.clock.clone(),
        UploadIdentity {
            store_id: store.to_owned(),
            till: till.to_owned(),
            app_version: "0.1.0-test".to_owned(),
        },
    )
    .expect("uploader")
    .with_channel_clock(Arc::new(move || desk.channel_clock()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_two_hours_off_the_channels_clock_is_flagged_on_the_channel_column() {
    let mut hq = hq().await;
    let store = store_id("chclock");
    hq.store(&store).await;
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();

    let fast = desk_on(&sandbox, Arc::new(Fast));
    redeem(&fast.desk, "679533922928").await;
    let right = desk_on(&sandbox, Arc::new(SystemClock));
    redeem(&right.desk, "679533922935").await;
    let read = fast
        .desk
        .channel_clock()
        .expect("the channel's Date was read");
    assert_eq!(read.channel, ChannelKind::Shoubei);
    assert!(
        (read.skew_ms - TWO_HOURS_MS).abs() < 60_000,
        "{}",
        read.skew_ms
    );

    uploader_of(&fast, &hq, &store, "快机")
        .drain()
        .await
        .expect("drains");
    uploader_of(&right, &hq, &store, "准机")
        .drain()
        .await
        .expect("drains");
    // A till that sends no reading (no channel has answered it yet, or an older app).
    let quiet = till(20, 1_000, 21);
    uploader(&quiet, hq.client_for(&store, None), &store, "静机")
        .drain()
        .await
        .expect("drains");

    let health = reports::health(&hq.admin).await.unwrap();
    let by = |till: &str| {
        health
            .iter()
            .find(|h| h.till == till)
            .unwrap_or_else(|| panic!("{till} in {health:?}"))
            .clone()
    };
    let f = by("快机");
    assert_eq!(f.channel.as_deref(), Some("shoubei"), "{f:?}");
    let ms = f.channel_skew_ms.expect("a reading");
    assert!((ms - TWO_HOURS_MS).abs() < 60_000, "{ms}");
    assert!(f.channel_skew_flagged, "{f:?}");
    assert!(f.channel_seen.is_some(), "{f:?}");
    let r = by("准机");
    assert_eq!(r.channel.as_deref(), Some("shoubei"), "{r:?}");
    assert!(
        r.channel_skew_ms.expect("a reading").abs() < SKEW_FLAG_MS,
        "{r:?}"
    );
    assert!(!r.channel_skew_flagged && !r.skew_flagged, "{r:?}");
    let q = by("静机");
    assert_eq!(
        (
            q.channel.as_deref(),
            q.channel_skew_ms,
            q.channel_skew_flagged
        ),
        (None, None, false),
        "{q:?}"
    );

    let csv = String::from_utf8(reports::health_file(&health, ExportFormat::Csv).unwrap()).unwrap();
    assert!(csv.contains("对渠道时钟偏差(ms) Skew vs channel"), "{csv}");
    let line = csv
        .lines()
        .find(|l| l.contains("快机"))
        .expect("the fast till's line");
    assert!(
        line.contains(&ms.to_string()) && line.contains("shoubei"),
        "{line}"
    );
}
