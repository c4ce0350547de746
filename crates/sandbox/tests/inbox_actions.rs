//! The manager's inbox actions (core inbox_actions.rs) and the saved statement mappings
//! (core statement_mappings.rs) over the real sandbox on loopback and a real ledger file:
//! "retry now" settles an unknown with the channel's own call, a failing 增值券 notification
//! is sent again on demand, a notification is settled by hand only with a reason, and every
//! manager action is audited.

use crate::manager;
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::{ChannelKind, Timeouts};
use redeemdesk_core::clock::{Clock, ManualClock, SystemClock};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::{self, AttemptState, Ledger, NotificationState};
use redeemdesk_core::outbox::OrderInput;
use redeemdesk_core::reconcile::StatementMapping;
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemInput};
use redeemdesk_core::scan::ScanRules;
use redeemdesk_sandbox::fault::Fault;
use redeemdesk_sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use std::sync::Arc;
use std::time::Duration;

struct Rig {
    desk: Arc<Desk>,
    sandbox: RunningSandbox,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on loopback");
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let channels = sandbox
        .demo_config_with(Timeouts {
            connect: Duration::from_secs(2),
            total: Duration::from_millis(700),
        })
        .build_channels(clock.clone())
        .expect("the demo config builds");
    let ledger = Arc::new(
        Ledger::open(
            &dir.path().join(ledger::file_name(Mode::Sandbox)),
            Mode::Sandbox,
        )
        .unwrap(),
    );
    let desk = Desk::open(ledger, channels, clock.clone(), ScanRules::default()).unwrap();
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .expect("the default cashier opens a shift");
    Rig {
        desk: Arc::new(desk),
        sandbox,
        clock,
        _dir: dir,
    }
}

impl Rig {
    async fn redeem(&self, channel: ChannelKind, code: &str) -> ledger::Attempt {
        let token = match self
            .desk
            .prepare(PrepareInput {
                channel,
                platform: None,
                raw_code: code.into(),
            })
            .await
            .unwrap()
        {
            Prepared::Ready { token, .. } => token,
            other => panic!("{code} must preview: {other:?}"),
        };
        self.desk
            .redeem(RedeemInput {
                token,
                count: 1,
                certificates: vec![],
            })
            .await
            .unwrap()
            .attempt
    }

    fn audit_actions(&self) -> Vec<String> {
        self.desk
            .ledger()
            .audit_between(0, i64::MAX)
            .unwrap()
            .into_iter()
            .map(|r| r.entry.action)
            .collect()
    }
}

#[tokio::test]
async fn retry_now_settles_a_commit_then_drop_unknown_with_the_channels_own_call_before_its_schedule(
) {
    let r = rig().await;
    let dropped = r.redeem(ChannelKind::Shoubei, "679533929006").await;
    assert_eq!(dropped.state, AttemptState::Unknown);
    // No time passes: the resolver's schedule is not due, the manager asks anyway.
    assert!(r
        .desk
        .ledger()
        .unknowns_due(r.clock.now_ms())
        .unwrap()
        .is_empty());
    let settled = r
        .desk
        .retry_unknown(&dropped.id, &manager(&r.desk))
        .await
        .unwrap();
    assert_eq!(settled.state, AttemptState::Succeeded, "{settled:?}");
    assert_eq!(
        r.sandbox
            .ground_truth()
            .uses_of(ChannelKind::Shoubei, "679533929006"),
        1,
        "asking never consumes again"
    );
    let again = r
        .desk
        .retry_unknown(&dropped.id, &manager(&r.desk))
        .await
        .unwrap_err();
    assert_eq!(again.code(), "not_open", "a settled attempt is not retried");
    assert!(
        r.audit_actions().iter().any(|a| a == "retry_unknown"),
        "the manager's action is audited: {:?}",
        r.audit_actions()
    );
}

#[tokio::test]
async fn a_failing_notification_is_sent_again_now_and_one_settled_by_hand_needs_a_reason() {
    let r = rig().await;
    let product = r.desk.products()[0].no.clone();
    let order = |phone: &str| OrderInput {
        product_no: product.clone(),
        consumer_name: "王刚".into(),
        consumer_phone: phone.into(),
        quantity: 1,
    };
    let n = r.desk.submit_order(order("13566662456")).unwrap();
    r.sandbox
        .fail_next(ChannelKind::Yhtd, None, Fault::Http500, 1);
    let round = r.desk.deliver_due().await.unwrap();
    assert_eq!(round.failed, 1, "{round:?}");
    let failed = r.desk.ledger().notification(&n.id).unwrap().unwrap();
    assert_eq!(failed.state, NotificationState::Queued);
    assert!(
        failed.next_retry_ms.unwrap() > r.clock.now_ms(),
        "backing off"
    );
    let sent = r
        .desk
        .retry_notification(&n.id, &manager(&r.desk))
        .await
        .unwrap();
    assert_eq!(sent.state, NotificationState::Delivered, "{sent:?}");
    assert_eq!(r.sandbox.ground_truth().notifications.len(), 1);
    assert_eq!(
        r.desk
            .retry_notification(&n.id, &manager(&r.desk))
            .await
            .unwrap_err()
            .code(),
        "not_open",
        "a delivered notification is never sent twice"
    );

    let other = r.desk.submit_order(order("13566662457")).unwrap();
    let refused = r
        .desk
        .settle_notification(&other.id, true, &manager(&r.desk), "  ")
        .unwrap_err();
    assert_eq!(refused.code(), "reason_needed");
    assert_eq!(
        r.desk
            .ledger()
            .notification(&other.id)
            .unwrap()
            .unwrap()
            .state,
        NotificationState::Queued,
        "a refused settlement changes nothing"
    );
    let settled = r
        .desk
        .settle_notification(
            &other.id,
            true,
            &manager(&r.desk),
            "confirmed in the back office",
        )
        .unwrap();
    assert_eq!(settled.state, NotificationState::Delivered);
    let actions = r.audit_actions();
    for a in ["retry_notification", "mark_notification"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}

#[tokio::test]
async fn a_statement_mapping_is_saved_per_channel_cleaned_and_read_back() {
    let r = rig().await;
    assert_eq!(r.desk.statement_mapping(ChannelKind::Zvcms).unwrap(), None);
    let saved = r
        .desk
        .save_statement_mapping(
            ChannelKind::Zvcms,
            &StatementMapping {
                code: " 券码 ".into(),
                face_value: Some("金额".into()),
                state: Some("".into()),
                channel_id: None,
                time: Some(" ".into()),
                amounts_in_fen: false,
                cancelled_values: vec!["已撤销".into(), " ".into()],
            },
            &manager(&r.desk),
        )
        .unwrap();
    assert_eq!(saved.code, "券码");
    assert_eq!(saved.state, None, "a blank column is no column");
    assert_eq!(saved.cancelled_values, vec!["已撤销".to_owned()]);
    assert_eq!(
        r.desk.statement_mapping(ChannelKind::Zvcms).unwrap(),
        Some(saved),
        "read back after saving"
    );
    assert_eq!(
        r.desk.statement_mapping(ChannelKind::Shoubei).unwrap(),
        None,
        "per channel"
    );
    let bad = r
        .desk
        .save_statement_mapping(
            ChannelKind::Shoubei,
            &StatementMapping {
                code: "".into(),
                face_value: None,
                state: None,
                channel_id: None,
                time: None,
                amounts_in_fen: false,
                cancelled_values: vec![],
            },
            &manager(&r.desk),
        )
        .unwrap_err();
    assert_eq!(bad.code(), "mapping_code_needed");
}
