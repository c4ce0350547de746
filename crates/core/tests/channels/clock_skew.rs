//! The desk's clock against a channel's `Date` header: a channel whose
//! clock is ten minutes behind the desk's is reported and the attempt is marked.

use crate::support::*;
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::{Channel, ChannelConfig, ChannelKind, Context};
use redeemdesk_core::clock::ManualClock;
use redeemdesk_core::clock_skew::{SKEW_AUDIT_ACTION, SKEW_LIMIT_MS};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::Ledger;
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemInput};
use redeemdesk_core::scan::ScanRules;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn success() -> String {
    shoubei_answer(obj(json!({
        "return_code": "SUCCESS", "return_msg": "操作成功", "result_code": "SUCCESS",
        "order_no": "516375643352141195430506", "codes": "679533922928", "amount": "1000"
    })))
}

async fn redeem_once(desk: &Desk) -> redeemdesk_core::ledger::AttemptId {
    let prepared = desk
        .prepare(PrepareInput {
            channel: ChannelKind::Shoubei,
            platform: None,
            raw_code: "679533922928".into(),
        })
        .await
        .unwrap();
    let Prepared::Ready { token, .. } = prepared else {
        panic!("收呗 previews locally: {prepared:?}");
    };
    desk.redeem(RedeemInput {
        token,
        count: 1,
        certificates: Vec::new(),
    })
    .await
    .unwrap()
    .attempt
    .id
}

#[tokio::test]
async fn a_channel_whose_date_header_is_ten_minutes_off_is_reported_and_the_attempt_marked() {
    let behind = UNIX_EPOCH + Duration::from_millis(NOW_MS as u64) - Duration::from_secs(600);
    let r = Responder::start("shoubei", move |_| Answer::Dated(behind, success())).await;
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let ctx = Context {
        clock: clock.clone(),
        ..ctx()
    };
    let channel = Channel::new(ChannelConfig::Shoubei(shoubei_config(&r.base)), ctx).unwrap();
    let ledger = Arc::new(Ledger::open_in_memory(Mode::Sandbox).unwrap());
    let desk = Desk::open(ledger, vec![channel], clock, ScanRules::default()).unwrap();
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .expect("the default cashier opens a shift");
    assert_eq!(desk.clock_skew(), None, "nothing compared yet");

    let id = redeem_once(&desk).await;

    let skew = desk
        .clock_skew()
        .expect("a 10-minute skew is over the 2-minute limit");
    assert_eq!(skew.channel, ChannelKind::Shoubei);
    assert_eq!(
        skew.skew_ms, 600_000,
        "the desk is ten minutes ahead of the channel's Date"
    );
    let marks: Vec<_> = desk
        .ledger()
        .audit_between(0, i64::MAX)
        .unwrap()
        .into_iter()
        .filter(|a| a.entry.action == SKEW_AUDIT_ACTION)
        .collect();
    assert_eq!(marks.len(), 1, "the attempt made under the skew is marked");
    assert_eq!(marks[0].entry.subject.as_deref(), Some(id.as_str()));
    assert!(
        marks[0].entry.detail.as_deref().unwrap().contains("+600 s"),
        "the note says by how much: {:?}",
        marks[0].entry.detail
    );
}

#[tokio::test]
async fn a_channel_whose_clock_agrees_within_the_limit_is_not_reported() {
    let near = UNIX_EPOCH + Duration::from_millis((NOW_MS - SKEW_LIMIT_MS + 5_000) as u64);
    let r = Responder::start("shoubei", move |_| Answer::Dated(near, success())).await;
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let ctx = Context {
        clock: clock.clone(),
        ..ctx()
    };
    let channel = Channel::new(ChannelConfig::Shoubei(shoubei_config(&r.base)), ctx).unwrap();
    let ledger = Arc::new(Ledger::open_in_memory(Mode::Sandbox).unwrap());
    let desk = Desk::open(ledger, vec![channel], clock, ScanRules::default()).unwrap();
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .expect("the default cashier opens a shift");
    redeem_once(&desk).await;
    assert_eq!(desk.clock_skew(), None, "under two minutes: no banner");
}
