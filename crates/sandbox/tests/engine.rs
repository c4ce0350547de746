//! The redeem use case, the resolver and the outbox over the real sandbox on loopback and a
//! real SQLite ledger file: write-ahead, unknowns settled by the channel's own
//! call, the debounce, and the ledger agreeing with what the sandbox really consumed.

use crate::manager;
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::{ChannelKind, Outcome, Platform, Timeouts};
use redeemdesk_core::clock::{Clock, ManualClock, SystemClock};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::{self, AttemptState, Ledger};
use redeemdesk_core::outbox::OrderInput;
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemError, RedeemInput};
use redeemdesk_core::scan::ScanRules;
use redeemdesk_sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use std::sync::Arc;
use std::time::Duration;

struct Rig {
    desk: Arc<Desk>,
    sandbox: RunningSandbox,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

/// A desk on a fresh ledger file over a sandbox with `demo` coupons (the embedded ones by
/// default), whose delayed answers come after `fault_delay`, reached with `total` timeouts.
async fn rig_with(
    demo: Option<redeemdesk_sandbox::DemoData>,
    fault_delay: Duration,
    total: Duration,
) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(SandboxOptions {
        demo,
        fault_delay,
        ..Default::default()
    })
    .await
    .expect("the sandbox starts on loopback");
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let config = sandbox.demo_config_with(Timeouts {
        connect: Duration::from_secs(2),
        total,
    });
    let channels = config
        .build_channels(clock.clone())
        .expect("the demo config builds");
    let ledger = Arc::new(
        Ledger::open(
            &dir.path().join(ledger::file_name(Mode::Sandbox)),
            Mode::Sandbox,
        )
        .expect("a fresh ledger"),
    );
    let desk =
        Desk::open(ledger, channels, clock.clone(), ScanRules::default()).expect("the desk opens");
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .expect("the default cashier opens a shift");
    Rig {
        desk: Arc::new(desk),
        sandbox,
        clock,
        _dir: dir,
    }
}

async fn rig() -> Rig {
    rig_with(
        None,
        Duration::from_millis(1_500),
        Duration::from_millis(700),
    )
    .await
}

impl Rig {
    async fn prepare(
        &self,
        channel: ChannelKind,
        platform: Option<Platform>,
        code: &str,
    ) -> Result<Prepared, RedeemError> {
        self.desk
            .prepare(PrepareInput {
                channel,
                platform,
                raw_code: code.to_owned(),
            })
            .await
    }

    async fn prepare_and_redeem(
        &self,
        channel: ChannelKind,
        platform: Option<Platform>,
        code: &str,
    ) -> Result<redeemdesk_core::redeem::Redemption, RedeemError> {
        let token = match self.prepare(channel, platform, code).await? {
            Prepared::Ready { token, .. } => token,
            other => panic!("{code} on {channel} must preview, got {other:?}"),
        };
        self.desk
            .redeem(RedeemInput {
                token,
                count: 1,
                certificates: vec![],
            })
            .await
    }
}

const VALID: [(ChannelKind, Option<Platform>, &str); 4] = [
    (ChannelKind::Shoubei, None, "679533922928"),
    (ChannelKind::Zvcms, None, "390962138708451328"),
    (ChannelKind::Liantuofu, None, "914095353294404024"),
    (
        ChannelKind::Allinpay,
        Some(Platform::Meituan),
        "594828681100",
    ),
];

#[tokio::test]
async fn a_valid_code_is_redeemed_once_on_every_code_channel_and_logged_as_succeeded() {
    let r = rig().await;
    for (channel, platform, code) in VALID {
        let done = r
            .prepare_and_redeem(channel, platform, code)
            .await
            .expect("redeems");
        assert!(
            matches!(done.outcome, Outcome::Succeeded(_)),
            "{channel} {code}: {:?}",
            done.outcome
        );
        assert_eq!(
            done.attempt.state,
            AttemptState::Succeeded,
            "{channel}: the ledger says succeeded"
        );
        assert_eq!(
            r.sandbox.ground_truth().uses_of(channel, code),
            1,
            "{channel}: the sandbox consumed exactly once"
        );
        let events = r.desk.ledger().attempt_events(&done.attempt.id).unwrap();
        assert_eq!(
            events.iter().map(|e| e.state).collect::<Vec<_>>(),
            vec![AttemptState::Pending, AttemptState::Succeeded],
            "{channel}: write-ahead pending, then the answer"
        );
        assert!(
            events[1].exchange.response.is_some(),
            "{channel}: the raw answer is kept as evidence"
        );
    }
    assert!(
        r.desk.ledger().verify_chain().unwrap().is_intact(),
        "the hash chain holds"
    );
}

#[tokio::test]
async fn a_used_code_is_rejected_with_the_channels_reason_and_nothing_is_consumed() {
    let r = rig().await;
    match r
        .prepare(ChannelKind::Shoubei, None, "679533920011")
        .await
        .unwrap()
    {
        // 收呗 has no remote preview: the refusal comes with the redeem.
        Prepared::Ready { token, .. } => {
            let done = r
                .desk
                .redeem(RedeemInput {
                    token,
                    count: 1,
                    certificates: vec![],
                })
                .await
                .unwrap();
            assert!(
                matches!(done.outcome, Outcome::Rejected { .. }),
                "{:?}",
                done.outcome
            );
            assert_eq!(done.attempt.state, AttemptState::Rejected);
        }
        other => panic!("a local preview for 收呗, got {other:?}"),
    }
    match r
        .prepare(ChannelKind::Zvcms, None, "390962138708450011")
        .await
        .unwrap()
    {
        Prepared::Rejected { message, .. } => {
            assert!(!message.is_empty(), "the channel's reason is shown")
        }
        other => panic!("智迈 refuses a used coupon at prepare, got {other:?}"),
    }
    assert!(
        r.sandbox.ground_truth().consumptions.is_empty(),
        "nothing consumed"
    );
}

/// Issue 20 item 4: a coupon whose stated validity ended (智迈, 联拓富) is refused at
/// the preview against the business clock, with its dates, and no token exists to confirm
/// it: the sandbox consumed nothing and the ledger has no attempt. With the desk's clock set
/// inside the coupon's window the same code previews; before it, it is not yet valid.
#[tokio::test]
async fn a_coupon_outside_its_validity_is_refused_at_the_preview_with_its_dates() {
    use redeemdesk_core::validity::OutOfValidity;
    let r = rig().await;
    let expired = [
        (ChannelKind::Zvcms, None, "390962138708450035"),
        (ChannelKind::Liantuofu, None, "914095353294400025"),
    ];
    for (channel, platform, code) in expired {
        match r.prepare(channel, platform, code).await.unwrap() {
            Prepared::OutOfValidity { preview, why } => {
                assert_eq!(why, OutOfValidity::Expired, "{channel}");
                assert_eq!(
                    preview.valid_until.as_deref().map(|t| &t[..10]),
                    Some("2025-06-30"),
                    "{channel}: the refusal carries the date to show"
                );
            }
            other => panic!("{channel} {code}: refused as expired at the preview, got {other:?}"),
        }
    }
    assert!(
        r.sandbox.ground_truth().consumptions.is_empty(),
        "nothing consumed"
    );
    assert!(
        r.desk
            .ledger()
            .recent_attempts(None, 10)
            .unwrap()
            .is_empty(),
        "no attempt was written"
    );

    // The business clock decides, not the channel's refusal: inside the window the 智迈
    // coupon (2025-01-01 .. 2025-06-30, +08:00) previews, and before it it is not yet valid.
    r.clock.set_ms(1_743_465_600_000); // 2025-04-01T00:00:00Z
    assert!(matches!(
        r.prepare(ChannelKind::Zvcms, None, "390962138708450035")
            .await
            .unwrap(),
        Prepared::Ready { .. }
    ));
    r.clock.set_ms(1_735_660_800_000); // 2024-12-31T16:00:00Z, 2025-01-01 00:00 in China
    assert!(
        matches!(
            r.prepare(ChannelKind::Zvcms, None, "390962138708450035")
                .await
                .unwrap(),
            Prepared::Ready { .. }
        ),
        "at the very start of the window it previews"
    );
    r.clock.set_ms(1_735_660_800_000 - 3 * 60_000);
    assert!(
        matches!(
            r.prepare(ChannelKind::Zvcms, None, "390962138708450035")
                .await
                .unwrap(),
            Prepared::OutOfValidity {
                why: OutOfValidity::NotYetValid,
                ..
            }
        ),
        "three minutes before the window it is not yet valid"
    );
}

#[tokio::test]
async fn the_same_code_twice_within_the_debounce_makes_one_channel_call() {
    let r = rig().await;
    let (channel, platform, code) = VALID[2]; // a times card: a second use would be legal later
    r.prepare_and_redeem(channel, platform, code)
        .await
        .expect("the first redeems");
    let second = r.prepare_and_redeem(channel, platform, code).await;
    assert!(
        matches!(second, Err(RedeemError::Duplicate)),
        "a double read: {second:?}"
    );
    assert_eq!(
        r.sandbox.ground_truth().uses_of(channel, code),
        1,
        "one channel call"
    );
    r.clock.advance_ms(redeemdesk_core::redeem::DEBOUNCE_MS + 1);
    r.prepare_and_redeem(channel, platform, code)
        .await
        .expect("after the window a times card is used again");
    assert_eq!(r.sandbox.ground_truth().uses_of(channel, code), 2);
}

#[tokio::test]
async fn a_single_use_code_already_redeemed_here_is_refused_with_when_and_by_whom() {
    let r = rig().await;
    let (channel, platform, code) = VALID[0];
    r.prepare_and_redeem(channel, platform, code).await.unwrap();
    r.clock.advance_ms(60_000);
    let again = r.prepare(channel, platform, code).await;
    match again {
        Err(RedeemError::AlreadyRedeemed { by, .. }) => {
            assert_eq!(by, redeemdesk_core::roles::DEFAULT_CASHIER)
        }
        other => panic!("already redeemed here, got {other:?}"),
    }
}

#[tokio::test]
async fn commit_then_drop_is_unknown_blocks_the_code_and_the_resolver_settles_it_on_every_channel()
{
    let r = rig().await;
    let dropped = [
        (ChannelKind::Shoubei, None, "679533929006"),
        (ChannelKind::Zvcms, None, "390962138708459006"),
        (ChannelKind::Liantuofu, None, "914095353294409006"),
        (
            ChannelKind::Allinpay,
            Some(Platform::Meituan),
            "594828689006",
        ),
    ];
    let mut ids = Vec::new();
    for (channel, platform, code) in dropped {
        let done = r
            .prepare_and_redeem(channel, platform, code)
            .await
            .expect("an answer, even if unknown");
        assert_eq!(
            done.attempt.state,
            AttemptState::Unknown,
            "{channel}: never shown as a failure"
        );
        assert_eq!(
            r.sandbox.ground_truth().uses_of(channel, code),
            1,
            "{channel}: the sandbox did commit"
        );
        r.clock.advance_ms(redeemdesk_core::redeem::DEBOUNCE_MS + 1);
        let blocked = r.prepare(channel, platform, code).await;
        assert!(
            matches!(blocked, Err(RedeemError::Unresolved { .. })),
            "{channel}: a second try while unknown is refused: {blocked:?}"
        );
        ids.push((channel, code, done.attempt.id));
    }
    let mut feed = r.desk.subscribe();
    r.clock.advance_ms(ledger::resolver_backoff(0) + 1);
    let round = r.desk.resolve_due().await.unwrap();
    assert_eq!(round.checked, 4, "every unknown was due");
    for (channel, code, id) in ids {
        let a = r.desk.ledger().attempt(&id).unwrap().unwrap();
        assert_eq!(
            a.state,
            AttemptState::Succeeded,
            "{channel} {code}: the channel's own call settles it"
        );
        assert_eq!(
            r.sandbox.ground_truth().uses_of(channel, code),
            1,
            "{channel}: resolving never consumes again"
        );
    }
    assert!(feed.try_recv().is_ok(), "the UI is told of the change");
}

/// Issue 20 item 5: a channel that times out is known unreachable; the next preview on it
/// says so (the till then asks for a deliberate second Enter) with the longest wait; the
/// resolver's answer clears it at once, and the window is told both times.
#[tokio::test]
async fn a_channel_that_times_out_is_flagged_until_it_answers_again_even_to_the_resolver() {
    use redeemdesk_core::desk::DeskEvent;
    let r = rig().await;
    let mut feed = r.desk.subscribe();
    let reach_events = |feed: &mut tokio::sync::broadcast::Receiver<DeskEvent>| {
        let mut seen = Vec::new();
        while let Ok(e) = feed.try_recv() {
            if let DeskEvent::Reachability {
                channel,
                unreachable_since_ms,
            } = e
            {
                seen.push((channel, unreachable_since_ms.is_some()));
            }
        }
        seen
    };
    let done = r
        .prepare_and_redeem(ChannelKind::Shoubei, None, "679533929001")
        .await
        .unwrap();
    assert_eq!(done.attempt.state, AttemptState::Unknown);
    assert!(r.desk.unreachable_since(ChannelKind::Shoubei).is_some());
    assert_eq!(reach_events(&mut feed), [(ChannelKind::Shoubei, true)]);
    match r
        .prepare(ChannelKind::Shoubei, None, "679533922928")
        .await
        .unwrap()
    {
        Prepared::Ready {
            unreachable_since_ms,
            wait_limit_ms,
            ..
        } => {
            assert!(unreachable_since_ms.is_some(), "the preview says so");
            assert_eq!(wait_limit_ms, 700, "the configured total timeout");
        }
        other => panic!("a local preview for 收呗, got {other:?}"),
    }
    // Other channels are not affected.
    assert_eq!(r.desk.unreachable_since(ChannelKind::Zvcms), None);

    // The delayed answer lands; the resolver's check is answered: the flag clears.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    r.clock.advance_ms(ledger::resolver_backoff(0) + 1);
    r.desk.resolve_due().await.unwrap();
    assert_eq!(r.desk.unreachable_since(ChannelKind::Shoubei), None);
    assert_eq!(reach_events(&mut feed), [(ChannelKind::Shoubei, false)]);
    match r
        .prepare(ChannelKind::Shoubei, None, "679533922928")
        .await
        .unwrap()
    {
        Prepared::Ready {
            unreachable_since_ms,
            ..
        } => assert_eq!(unreachable_since_ms, None),
        other => panic!("a local preview for 收呗, got {other:?}"),
    }
}

#[tokio::test]
async fn a_timeout_or_reset_ends_unknown_or_settled_but_never_as_a_failure_without_evidence() {
    let r = rig().await;
    for (channel, platform, code) in [
        (
            ChannelKind::Allinpay,
            Some(Platform::Meituan),
            "594828689002",
        ), // reset: not consumed
        (ChannelKind::Shoubei, None, "679533929001"), // delay: consumed late
    ] {
        let done = r.prepare_and_redeem(channel, platform, code).await.unwrap();
        assert_eq!(
            done.attempt.state,
            AttemptState::Unknown,
            "{channel} {code}: {:?}",
            done.outcome
        );
    }
    // Let the delayed answer land in the sandbox, then resolve.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    r.clock.advance_ms(ledger::resolver_backoff(0) + 1);
    r.desk.resolve_due().await.unwrap();
    let log = r.desk.ledger().recent_attempts(None, 10).unwrap();
    for a in log {
        let consumed = r.sandbox.ground_truth().uses_of(a.channel, &a.code) > 0;
        match a.state {
            AttemptState::Succeeded => assert!(consumed, "{}: succeeded only if consumed", a.code),
            AttemptState::Rejected => {
                assert!(!consumed, "{}: rejected only if not consumed", a.code)
            }
            AttemptState::Unknown => {} // 通联's history cannot prove absence: it waits.
            other => panic!("{}: unexpected {other:?}", a.code),
        }
    }
}

#[tokio::test]
async fn a_value_added_sale_is_queued_first_and_delivered_once_with_its_deal_serial() {
    let r = rig().await;
    let products = r.desk.products();
    assert!(!products.is_empty(), "the demo product table is configured");
    let n = r
        .desk
        .submit_order(OrderInput {
            product_no: products[0].no.clone(),
            consumer_name: "王刚".into(),
            consumer_phone: "13566662456".into(),
            quantity: 2,
        })
        .unwrap();
    assert_eq!(
        n.state,
        redeemdesk_core::ledger::NotificationState::Queued,
        "stored before sending"
    );
    assert_eq!(
        n.total.0,
        products[0].unit_price.0 * 2,
        "the total is computed"
    );
    let round = r.desk.deliver_due().await.unwrap();
    assert_eq!(round.delivered, 1, "{round:?}");
    let truth = r.sandbox.ground_truth();
    assert_eq!(
        truth.notifications.len(),
        1,
        "the platform received it once"
    );
    let bad = r.desk.submit_order(OrderInput {
        product_no: products[0].no.clone(),
        consumer_name: "王刚".into(),
        consumer_phone: "1234".into(),
        quantity: 1,
    });
    assert!(
        bad.is_err(),
        "a phone number that is not one is refused before storing"
    );
}

/// A small seeded generator: the soak's faults are the same on every run.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_of_thousands_of_redemptions_with_random_faults_ends_equal_to_the_ground_truth() {
    use redeemdesk_sandbox::{DemoData, Fault};
    const PER_CHANNEL: usize = 600;
    let templates = [
        (ChannelKind::Shoubei, None, "679533922928"),
        (ChannelKind::Zvcms, None, "390962138708451328"),
        (ChannelKind::Liantuofu, None, "914095353294404024"),
        (
            ChannelKind::Allinpay,
            Some(Platform::Meituan),
            "594828681100",
        ),
    ];
    let mut demo = DemoData::embedded().unwrap();
    let mut work = Vec::new();
    for (i, (channel, platform, template)) in templates.iter().enumerate() {
        let base = demo
            .coupons
            .iter()
            .find(|c| c.code == *template)
            .unwrap()
            .clone();
        for n in 0..PER_CHANNEL {
            let mut c = base.clone();
            let suffix = format!("9{i}{n:04}");
            c.code = format!("{}{}", &template[..template.len() - suffix.len()], suffix);
            c.fault = None;
            work.push((*channel, *platform, c.code.clone()));
            demo.coupons.push(c);
        }
    }
    // Debug builds sign 通联's RSA slowly: a roomy timeout, delays held just past it.
    let r = rig_with(
        Some(demo),
        Duration::from_millis(1_800),
        Duration::from_millis(1_500),
    )
    .await;
    let (desk, sandbox, clock) = (r.desk.clone(), &r.sandbox, r.clock.clone());

    // Seeded faults: most redemptions are clean; the rest get one of every kind of fault.
    let mut rng = XorShift(0x5eed_2026_1122);
    let faults = [
        Fault::Reset,
        Fault::Http500,
        Fault::Garbage,
        Fault::BadSignature,
        Fault::CommitThenDrop,
        Fault::Delay,
    ];
    let mut order: Vec<usize> = (0..work.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut faulted = 0;
    for &i in &order {
        let (channel, _, code) = &work[i];
        let roll = rng.below(100);
        // Delays cost real time (the answer is held past the client timeout): keep them rare.
        let fault = match roll {
            0..=2 => Some(faults[0]),
            3..=5 => Some(faults[1]),
            6..=8 => Some(faults[2]),
            9..=11 => Some(faults[3]),
            12..=15 => Some(faults[4]),
            16 => Some(faults[5]),
            _ => None,
        };
        if let Some(f) = fault {
            sandbox.fail_next(*channel, Some(code), f, 1);
            faulted += 1;
        }
    }
    let started = std::time::Instant::now();
    // Four tills at once.
    let work = Arc::new(work);
    let order = Arc::new(order);
    let mut tills = Vec::new();
    for t in 0..4 {
        let (desk, work, order) = (desk.clone(), work.clone(), order.clone());
        tills.push(tokio::spawn(async move {
            for &i in order.iter().skip(t).step_by(4) {
                let (channel, platform, code) = &work[i];
                // An inconclusive preview consumes nothing: the cashier simply looks again.
                let mut token = None;
                for _ in 0..5 {
                    let prepared = desk
                        .prepare(PrepareInput {
                            channel: *channel,
                            platform: *platform,
                            raw_code: code.clone(),
                        })
                        .await
                        .expect("a fresh coupon previews");
                    match prepared {
                        Prepared::Ready { token: t, .. } => {
                            token = Some(t);
                            break;
                        }
                        Prepared::Unknown { .. } => continue,
                        other => panic!("{channel} {code}: {other:?}"),
                    }
                }
                let token =
                    token.unwrap_or_else(|| panic!("{channel} {code}: no preview in five looks"));
                desk.redeem(RedeemInput {
                    token,
                    count: 1,
                    certificates: vec![],
                })
                .await
                .expect("every redemption gets an answer, even if unknown");
            }
        }));
    }
    for t in tills {
        t.await.unwrap();
    }
    let redeemed_in = started.elapsed();
    // Held-back answers land; then the resolver runs its whole schedule.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    for _ in 0..(ledger::RESOLVER_INBOX_AFTER_TRIES + 3) {
        desk.resolve_due().await.unwrap();
        clock.advance_ms(ledger::resolver_backoff(ledger::RESOLVER_INBOX_AFTER_TRIES) + 1);
    }

    let resolved_in = started.elapsed() - redeemed_in;
    let truth = sandbox.ground_truth();
    let inbox = desk.ledger().inbox().unwrap();
    let (mut succeeded, mut rejected, mut waiting) = (0, 0, 0);
    for (channel, _, code) in work.iter() {
        let uses = truth.uses_of(*channel, code);
        assert!(uses <= 1, "{channel} {code}: consumed {uses} times");
        let attempts = desk.ledger().code_timeline(code).unwrap();
        assert_eq!(attempts.len(), 1, "{channel} {code}: one attempt each");
        let a = &attempts[0].attempt;
        match a.state {
            AttemptState::Succeeded => {
                assert_eq!(
                    uses, 1,
                    "{channel} {code}: a success the channel never consumed"
                );
                succeeded += 1;
            }
            AttemptState::Rejected => {
                assert_eq!(
                    uses, 0,
                    "{channel} {code}: a rejection the channel consumed"
                );
                rejected += 1;
            }
            AttemptState::Unknown => {
                assert_eq!(
                    uses, 0,
                    "{channel} {code}: a consumption the resolver did not find"
                );
                assert!(
                    inbox.unknowns.iter().any(|u| u.attempt.id == a.id),
                    "{code}: waits in the inbox"
                );
                waiting += 1;
            }
            other => panic!("{channel} {code}: {other:?}"),
        }
    }
    assert_eq!(
        succeeded,
        truth.consumptions.len(),
        "the ledger's successes are the sandbox's consumptions"
    );
    assert!(desk.ledger().verify_chain().unwrap().is_intact());
    println!(
        "soak: {} redemptions ({faulted} with a fault) in {redeemed_in:.1?}, resolved in {resolved_in:.1?}: \
         {succeeded} succeeded = {} consumed, {rejected} rejected, {waiting} waiting in the inbox",
        work.len(),
        truth.consumptions.len()
    );
}

#[tokio::test]
async fn reconciliation_against_the_history_finds_one_planted_mismatch_of_each_kind_and_nothing_else(
) {
    use redeemdesk_core::ledger::AttemptState;
    use redeemdesk_core::reconcile::Verdict;
    use redeemdesk_core::resolver::Decision;
    use redeemdesk_sandbox::{DemoData, Fault};
    let mut demo = DemoData::embedded().unwrap();
    let base = demo
        .coupons
        .iter()
        .find(|c| c.code == "594828681100")
        .unwrap()
        .clone();
    let codes: Vec<String> = (0..6).map(|i| format!("59482860{i:04}")).collect();
    for code in &codes {
        let mut c = base.clone();
        c.code = code.clone();
        demo.coupons.push(c);
    }
    let r = rig_with(Some(demo), Duration::from_secs(30), Duration::from_secs(10)).await;
    let clock = r.clock.clone();
    let meituan = Some(Platform::Meituan);
    // 0 matched, 1 amount differs, 2 state differs, 3 only here, 4 only at the channel.
    for code in &codes[0..3] {
        r.prepare_and_redeem(ChannelKind::Allinpay, meituan, code)
            .await
            .unwrap();
    }
    r.sandbox
        .fail_next(ChannelKind::Allinpay, Some(&codes[3]), Fault::Reset, 1);
    let unknown = r
        .prepare_and_redeem(ChannelKind::Allinpay, meituan, &codes[3])
        .await
        .unwrap();
    assert_eq!(unknown.attempt.state, AttemptState::Unknown);
    // A manager wrongly decides the reset one was consumed: only here.
    r.desk
        .decide(
            &unknown.attempt.id,
            Decision::Succeeded,
            &manager(&r.desk),
            "customer insisted",
        )
        .unwrap();
    r.sandbox
        .consume_elsewhere(ChannelKind::Allinpay, &codes[4], 1)
        .unwrap();
    let records = r.sandbox.channel_records();
    let record = |code: &str| {
        records
            .iter()
            .find(|c| c.code == code)
            .unwrap()
            .record_id
            .clone()
    };
    assert!(r.sandbox.alter_record(&record(&codes[1]), |c| c.face =
        redeemdesk_core::money::Fen(c.face.0 - 100)));
    assert!(r
        .sandbox
        .alter_record(&record(&codes[2]), |c| c.cancelled_at_ms =
            Some(c.at_ms + 1)));

    let day = r.desk.ledger().business_day_rule().day_of(clock.now_ms());
    let unlock = manager(&r.desk);
    let done = r
        .desk
        .reconcile_day(day, ChannelKind::Allinpay, None, &unlock)
        .await
        .unwrap();
    let report = done.report;
    let verdict = |code: &str| {
        let found: Vec<_> = report
            .lines
            .iter()
            .filter(|l| l.code == code)
            .map(|l| l.verdict)
            .collect();
        assert_eq!(found.len(), 1, "{code}: one line each: {:?}", report.lines);
        found[0]
    };
    assert_eq!(verdict(&codes[0]), Verdict::Matched);
    assert_eq!(verdict(&codes[1]), Verdict::AmountDiffers);
    assert_eq!(verdict(&codes[2]), Verdict::StateDiffers);
    assert_eq!(verdict(&codes[3]), Verdict::OnlyHere);
    assert_eq!(verdict(&codes[4]), Verdict::OnlyAtChannel);
    assert_eq!(report.lines.len(), 5, "nothing else: {:?}", report.lines);
    let only_here = report.lines.iter().find(|l| l.code == codes[3]).unwrap();
    assert_eq!(
        r.desk
            .ledger()
            .attempt(only_here.our_id.as_ref().unwrap())
            .unwrap()
            .unwrap()
            .state,
        AttemptState::Succeeded,
        "reconciliation reports; it never turns a success into a failure"
    );
    // The report is kept and waits in the inbox until the manager signs it off.
    let inbox = r.desk.ledger().inbox().unwrap();
    assert_eq!(
        inbox.reconciliations_to_review.len(),
        1,
        "mismatches wait for the manager"
    );
    assert_eq!(inbox.reconciliations_to_review[0].run.mismatches, 4);
    r.desk
        .sign_off_day(done.id, &unlock, Some("checked with 通联"))
        .unwrap();
    assert!(
        r.desk
            .ledger()
            .inbox()
            .unwrap()
            .reconciliations_to_review
            .is_empty(),
        "signed off"
    );
    let kept = r
        .desk
        .ledger()
        .reconciliations(day, ChannelKind::Allinpay)
        .unwrap();
    let sign_off = kept[0].sign_off.as_ref().expect("the sign-off is stored");
    assert_eq!(sign_off.manager, "李店长");
    assert!(
        sign_off.chain_head_hash.is_some(),
        "with the chain head of that moment"
    );
    assert!(
        r.desk.sign_off_day(done.id, &unlock, None).is_err(),
        "a day is signed off once"
    );
    let shoubei = r
        .desk
        .reconcile_day(day, ChannelKind::Shoubei, None, &unlock)
        .await;
    assert_eq!(
        shoubei.unwrap_err().code(),
        "statement_needed",
        "a channel without history asks for a statement"
    );
}

#[tokio::test]
async fn a_day_on_every_channel_exports_to_xlsx_with_text_ids_two_decimal_amounts_and_the_same_totals(
) {
    use calamine::{Data, Reader, Xlsx};
    use redeemdesk_core::export::{export_day_log, ExportFormat};
    use redeemdesk_core::ledger::DayFilter;
    let r = rig().await;
    for (channel, platform, code) in VALID {
        r.prepare_and_redeem(channel, platform, code).await.unwrap();
    }
    // An unknown, later settled by the resolver.
    let dropped = r
        .prepare_and_redeem(ChannelKind::Shoubei, None, "679533929006")
        .await
        .unwrap();
    assert_eq!(dropped.attempt.state, AttemptState::Unknown);
    r.clock.advance_ms(ledger::resolver_backoff(0) + 1);
    r.desk.resolve_due().await.unwrap();

    let ledger = r.desk.ledger();
    let day = ledger.business_day_rule().day_of(r.clock.now_ms());
    let log = ledger.day_log(day, &DayFilter::default()).unwrap();
    assert_eq!(log.attempts.len(), 5);
    let head = ledger
        .chain_anchor()
        .unwrap()
        .expect("the day wrote events");
    let bytes = export_day_log(
        ledger,
        &log,
        Some(&head),
        ExportFormat::Xlsx,
        Default::default(),
    )
    .unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("a real XLSX");
    let sheet = book.worksheet_range("流水").expect("the log sheet");
    let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert!(
        rows.iter()
            .flatten()
            .any(|c| matches!(c, Data::String(s) if *s == head.to_string())),
        "the sheet carries the chain head it was made at, {head}"
    );
    // Every code and id is a text cell, never a number.
    let codes: Vec<&Data> = rows[2..7].iter().map(|r| &r[5]).collect();
    for c in &codes {
        assert!(matches!(c, Data::String(_)), "a code cell is text: {c:?}");
    }
    assert!(
        rows[2..7]
            .iter()
            .any(|r| r[5] == Data::String("390962138708451328".into())),
        "an 18-digit code reads back exactly"
    );
    assert!(
        rows[2..7]
            .iter()
            .all(|r| matches!(&r[12], Data::String(s) if s.len() == 32)),
        "our ids are text"
    );
    // Amounts are numbers in 元 whose value has at most two decimals.
    for r in &rows[2..7] {
        if let Data::Float(v) = r[10] {
            assert!(
                ((v * 100.0).round() - v * 100.0).abs() < 1e-9,
                "two decimals: {v}"
            );
        }
    }
    // The totals section matches the ledger's totals.
    let totals_at = rows
        .iter()
        .position(|r| matches!(&r[0], Data::String(s) if s.starts_with("合计")))
        .expect("a totals section");
    let mut read_back = std::collections::BTreeMap::new();
    for r in &rows[totals_at + 2..] {
        // A face value no row reported is "—" (issue 20 item 12), not 0.00.
        // Channel, its id, redemptions, units, face value…
        let face = match &r[4] {
            Data::Float(face) => Some((face * 100.0).round() as i64),
            Data::String(s) if s == "—" => None,
            _ => continue,
        };
        if let (Data::String(ch), Data::Float(n)) = (&r[1], &r[2]) {
            read_back.insert(ch.clone(), (*n as u64, face));
        }
    }
    for t in &log.totals {
        let ch = t
            .channel
            .map(|c| c.as_str().to_owned())
            .unwrap_or_else(|| "all".into());
        let face = (t.face_value_unreported < t.succeeded).then_some(t.face_value.0);
        assert_eq!(
            read_back.get(&ch),
            Some(&(t.succeeded, face)),
            "{ch}: {read_back:?}"
        );
    }
    assert_eq!(read_back.len(), log.totals.len());
}

#[tokio::test]
async fn an_undo_goes_through_the_channel_or_is_recorded_manually_and_never_twice() {
    use redeemdesk_core::undo::{UndoError, UndoVia};
    let r = rig().await;
    // 收呗 has a cancel call: the sandbox's record is cancelled too.
    let (channel, platform, code) = VALID[0];
    let done = r.prepare_and_redeem(channel, platform, code).await.unwrap();
    let preview = r
        .desk
        .undo_preview(&manager(&r.desk), &done.attempt.id)
        .unwrap();
    assert_eq!(preview.via, UndoVia::Channel);
    assert_eq!(preview.refused, None);
    let undone = r
        .desk
        .undo(
            &done.attempt.id,
            &manager(&r.desk),
            "customer changed their mind",
        )
        .await
        .unwrap();
    assert_eq!(undone.state, AttemptState::Cancelled);
    let record = r
        .sandbox
        .channel_records()
        .into_iter()
        .find(|c| c.code == code)
        .unwrap();
    assert!(record.cancelled_at_ms.is_some(), "the channel undid it");
    let again = r
        .desk
        .undo(&done.attempt.id, &manager(&r.desk), "again")
        .await;
    assert!(
        matches!(again, Err(UndoError::AlreadyUndone)),
        "never twice: {again:?}"
    );
    let events = r.desk.ledger().attempt_events(&done.attempt.id).unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        last.actor,
        redeemdesk_core::ledger::Actor::Manager("李店长".into())
    );
    assert!(last
        .reason
        .as_deref()
        .unwrap()
        .contains("customer changed their mind"));

    // 联拓富 has none: a manual undo, recorded with the reason; the channel is not called.
    let (channel, platform, code) = VALID[2];
    let done = r.prepare_and_redeem(channel, platform, code).await.unwrap();
    assert_eq!(
        r.desk
            .undo_preview(&manager(&r.desk), &done.attempt.id)
            .unwrap()
            .via,
        UndoVia::Manual
    );
    assert!(matches!(
        r.desk.undo(&done.attempt.id, &manager(&r.desk), " ").await,
        Err(UndoError::ReasonNeeded)
    ));
    let undone = r
        .desk
        .undo(
            &done.attempt.id,
            &manager(&r.desk),
            "undone in the back office",
        )
        .await
        .unwrap();
    assert_eq!(undone.state, AttemptState::Cancelled);
    let day = r.desk.ledger().business_day_rule().day_of(r.clock.now_ms());
    let totals = r
        .desk
        .ledger()
        .day_totals(day, &Default::default())
        .unwrap();
    assert!(
        totals.iter().all(|t| t.succeeded == 0),
        "undone redemptions leave the totals: {totals:?}"
    );

    // 点评 codes cannot be undone at all.
    let done = r
        .prepare_and_redeem(
            ChannelKind::Allinpay,
            Some(Platform::Dianping),
            "730512846629",
        )
        .await
        .unwrap();
    let preview = r
        .desk
        .undo_preview(&manager(&r.desk), &done.attempt.id)
        .unwrap();
    assert_eq!(preview.refused.as_deref(), Some("cannot_undo"));
    assert!(matches!(
        r.desk.undo(&done.attempt.id, &manager(&r.desk), "x").await,
        Err(UndoError::CannotUndo)
    ));
}

#[tokio::test]
async fn a_douyin_redemption_can_be_undone_only_within_one_hour() {
    use redeemdesk_core::channel::CertificateChoice;
    use redeemdesk_core::undo::UndoError;
    let r = rig().await;
    let prepared = r
        .prepare(
            ChannelKind::Allinpay,
            Some(Platform::Tiktok),
            "802436197254310",
        )
        .await
        .unwrap();
    let Prepared::Ready { token, preview, .. } = prepared else {
        panic!("{prepared:?}")
    };
    let cert = &preview.certificates[0];
    let done = r
        .desk
        .redeem(RedeemInput {
            token,
            count: 1,
            certificates: vec![CertificateChoice {
                id: cert.id.clone(),
                num: 1,
            }],
        })
        .await
        .unwrap();
    assert_eq!(
        done.attempt.state,
        AttemptState::Succeeded,
        "{:?}",
        done.outcome
    );
    let inside = r
        .desk
        .undo_preview(&manager(&r.desk), &done.attempt.id)
        .unwrap();
    assert!(
        inside.window_left_ms.unwrap() > 59 * 60 * 1000,
        "almost an hour left"
    );
    assert!(inside
        .warnings
        .contains(&redeemdesk_core::channel::Warning::DouyinUndoWithinOneHour));
    r.clock.advance_ms(61 * 60 * 1000);
    let outside = r
        .desk
        .undo_preview(&manager(&r.desk), &done.attempt.id)
        .unwrap();
    assert_eq!(outside.window_left_ms, Some(0));
    assert!(matches!(
        r.desk
            .undo(&done.attempt.id, &manager(&r.desk), "too late")
            .await,
        Err(UndoError::WindowClosed)
    ));
}

/// A fresh sandbox and a desk on the ledger file at `path` (made or opened there).
async fn desk_on(path: &std::path::Path) -> (RunningSandbox, Desk) {
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("the sandbox starts on loopback");
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let channels = sandbox
        .demo_config()
        .build_channels(clock.clone())
        .expect("the demo config builds");
    let ledger = Arc::new(Ledger::open(path, Mode::Sandbox).expect("the ledger opens"));
    let desk = Desk::open(ledger, channels, clock, ScanRules::default()).expect("the desk opens");
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .expect("the default cashier opens a shift");
    (sandbox, desk)
}

/// A tmpfs mounted for one test, unmounted when dropped (the mount needs root, as CI is).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<(Tmpfs, tempfile::TempDir)> {
        use std::os::unix::fs::MetadataExt;
        let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        if !root {
            eprintln!("skipped: mounting a tmpfs to fill needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "root can mount a tmpfs");
        Some((Tmpfs(dir.path().to_owned()), dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes zeros into `path` until the file system is full.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

/// Issue 18 item 4: the disk fills between the channel's answer and its record. The coupon
/// was consumed, so the cashier sees 结果待确认 (not a grey failure), and the answer is
/// written in process as soon as the ledger can take it — checked against the sandbox's
/// record of what it consumed.
#[tokio::test]
async fn an_answer_the_full_disk_refuses_is_amber_and_written_once_there_is_room() {
    let Some((mnt, _dir)) = Tmpfs::mount("4m") else {
        return;
    };
    let path = mnt.0.join(ledger::file_name(Mode::Sandbox));
    let (sandbox, desk) = desk_on(&path).await;
    let desk = Arc::new(desk);
    let filler = mnt.0.join("filler");
    let hook_filler = filler.clone();
    desk.set_checkpoint_hook(move |at| {
        if at == redeemdesk_core::desk::Checkpoint::AfterAnswer {
            fill(&hook_filler);
        }
    });
    let token = match desk
        .prepare(PrepareInput {
            channel: ChannelKind::Shoubei,
            platform: None,
            raw_code: "679533922928".into(),
        })
        .await
        .expect("prepares")
    {
        Prepared::Ready { token, .. } => token,
        other => panic!("a valid code previews, got {other:?}"),
    };
    let done = desk
        .redeem(RedeemInput {
            token,
            count: 1,
            certificates: vec![],
        })
        .await
        .expect("a refused write is no error to the cashier: the answer is kept");
    assert!(
        matches!(
            done.outcome,
            Outcome::Unknown {
                reason: redeemdesk_core::channel::UnknownReason::NotRecorded { .. }
            }
        ),
        "amber 结果待确认, never grey: {:?}",
        done.outcome
    );
    assert_eq!(
        sandbox
            .ground_truth()
            .uses_of(ChannelKind::Shoubei, "679533922928"),
        1,
        "the channel did consume it"
    );
    desk.resolve_due().await.expect("a round on a full disk");
    assert_eq!(
        desk.ledger()
            .attempt(&done.attempt.id)
            .unwrap()
            .unwrap()
            .state,
        AttemptState::Pending,
        "still full: nothing written, nothing lost"
    );
    std::fs::remove_file(&filler).expect("the space comes back");
    desk.resolve_due().await.expect("a round with room");
    let a = desk.ledger().attempt(&done.attempt.id).unwrap().unwrap();
    assert_eq!(
        a.state,
        AttemptState::Succeeded,
        "the kept answer is written as soon as the ledger takes it"
    );
    assert!(
        desk.ledger().verify_chain().unwrap().is_intact(),
        "the chain is whole"
    );
    drop(desk);
}

/// Issue 18 item 3: a ledger that fails its integrity check stops the till: every later
/// look-up and redemption is refused with `ledger_damaged`, and nothing reaches the channel.
#[tokio::test]
async fn a_damaged_ledger_stops_the_till_and_nothing_reaches_the_channel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::file_name(Mode::Sandbox));
    {
        // Enough history for the file to have many pages of attempts and events.
        let ledger = Ledger::open(&path, Mode::Sandbox).expect("a fresh ledger");
        for i in 0..1500 {
            let id = ledger
                .begin_attempt(ledger::NewAttempt {
                    created_ms: 1_795_312_800_000 + i,
                    channel: ChannelKind::Shoubei,
                    platform: None,
                    code: format!("6795339{i:05}"),
                    count: 1,
                    cashier: "王芳".into(),
                    face_value: None,
                    price: None,
                    remaining_before: None,
                    prepare: Default::default(),
                })
                .expect("an attempt");
            ledger
                .record(
                    &id,
                    ledger::Transition::new(
                        AttemptState::Rejected,
                        1_795_312_800_000 + i,
                        ledger::Actor::Cashier("王芳".into()),
                    ),
                )
                .expect("its answer");
        }
    }
    // Bytes in the middle of the file overwritten, as a failing disk or a careless tool does.
    {
        use std::io::{Seek, SeekFrom, Write};
        let len = std::fs::metadata(&path).unwrap().len();
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(len / 2 / 4096 * 4096)).unwrap();
        f.write_all(&vec![0xA5; 8 * 4096]).unwrap();
        f.sync_all().unwrap();
    }
    // Nothing at start-up reads the damaged pages: only the whole-file check finds them.
    let (sandbox, desk) = desk_on(&path).await;
    let mut events = desk.subscribe();
    assert!(
        desk.check_integrity().is_err(),
        "the check finds the damage"
    );
    assert!(desk.halted().is_some(), "the till is stopped");
    assert!(
        matches!(
            events.try_recv(),
            Ok(redeemdesk_core::desk::DeskEvent::Halted { .. })
        ),
        "the window is told at once"
    );
    let refused = desk
        .prepare(PrepareInput {
            channel: ChannelKind::Shoubei,
            platform: None,
            raw_code: "679533922928".into(),
        })
        .await;
    assert!(
        matches!(refused, Err(RedeemError::LedgerDamaged(_))),
        "no look-up on a damaged ledger: {refused:?}"
    );
    assert!(
        sandbox.ground_truth().consumptions.is_empty(),
        "nothing reached the channel"
    );
}

/// Issue 18 item 7: a redemption is recorded under the cashier of the desk's open shift. With
/// no shift open it is refused (and the preview kept for after 开班); a 100,000-character
/// name is refused where it enters, so the day's XLSX export still works and reads back.
#[tokio::test]
async fn a_redemption_needs_an_open_shift_and_a_huge_cashier_name_never_reaches_the_export() {
    use redeemdesk_core::roles::{CashierEdit, RoleError};
    let r = rig().await;
    r.desk.end_shift().unwrap();
    let token = match r
        .prepare(ChannelKind::Shoubei, None, "679533922928")
        .await
        .unwrap()
    {
        Prepared::Ready { token, .. } => token,
        other => panic!("{other:?}"),
    };
    let input = RedeemInput {
        token,
        count: 1,
        certificates: vec![],
    };
    let refused = r.desk.redeem(input.clone()).await.unwrap_err();
    assert_eq!(refused.code(), "no_shift", "{refused}");
    assert!(
        refused.to_string().contains("请先开班") && refused.to_string().contains("start a shift"),
        "Chinese and English: {refused}"
    );
    assert!(
        r.desk
            .ledger()
            .code_timeline("679533922928")
            .unwrap()
            .is_empty(),
        "nothing was written or sent"
    );

    r.desk.set_manager_pin(None, "246813", "李店长").unwrap();
    let unlock = r.desk.unlock_manager("246813", "李店长").unwrap();
    let huge = "x".repeat(100_000);
    let edit = |name: &str| CashierEdit {
        name: name.into(),
        pin: None,
    };
    match r.desk.set_cashiers(&unlock, &[edit(&huge)]) {
        Err(RoleError::TooLong(e)) => assert!(e.to_string().len() < 200, "not echoed: {e}"),
        other => panic!("a 100,000-character name is refused: {other:?}"),
    }
    assert_eq!(
        r.desk.start_shift(&huge, None).unwrap_err().code(),
        "text_too_long"
    );
    r.desk.set_cashiers(&unlock, &[edit("王芳")]).unwrap();
    assert_eq!(r.desk.start_shift("王芳", None).unwrap(), "王芳");
    let done = r
        .desk
        .redeem(input)
        .await
        .expect("the kept preview redeems");
    assert_eq!(done.attempt.state, AttemptState::Succeeded);
    assert_eq!(
        done.attempt.cashier, "王芳",
        "the open shift's cashier, not a name the caller typed"
    );

    let ledger = r.desk.ledger();
    let day = ledger.business_day_rule().day_of(done.attempt.created_ms);
    let log = ledger.day_log(day, &Default::default()).unwrap();
    let bytes = redeemdesk_core::export::export_day_log(
        ledger,
        &log,
        None,
        redeemdesk_core::export::ExportFormat::Xlsx,
        Default::default(),
    )
    .expect("the day's XLSX export works");
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).expect("a readable xlsx");
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let cells: Vec<String> = range.used_cells().map(|(_, _, c)| c.to_string()).collect();
    assert!(cells.iter().any(|c| c == "王芳"), "the cashier's cell");
    assert!(
        cells.iter().all(|c| c.chars().count() < 1_000),
        "no huge cell"
    );
}
