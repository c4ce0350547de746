//! THE contract test (architecture.md, "one story every implementation must pass"): one
//! list of scenarios run against every channel through the real core client
//! (`redeemdesk_core::channel::Channel`) and the sandbox over loopback. Each pair gets a
//! fresh sandbox, so scenarios cannot leak state into each other. Coupons are picked from
//! the demo data by their attributes (state, uses left, certificates), and a scenario a
//! channel cannot have is skipped by the channel's declared `Capabilities` (or, for the
//! answer signature, by what the emulator declares it signs) — never by the channel's name.
//!
//! Truth is what the sandbox committed (`ground_truth()`): after every Unknown, the
//! channel's own resolution call must agree with it.
//!
//! The scenario list runs under every reading of `redeemdesk_sandbox::reading::variants()`
//! (a variant's scenarios on its own channel; the default on every channel). Each pair is
//! Right (the scenario's expectation held), Wrong (the client's final word contradicts what
//! the sandbox committed: a success with nothing or another count consumed, a refusal or
//! "not consumed" of a consumption, a second consumption, an order recorded twice) or
//! Unknown (neither: an Unknown left unresolved, a configuration error where success was
//! possible). Any Wrong fails the test; so does an Unknown under the default or under a
//! reading a correct client can detect from the answers. A reading it cannot detect is
//! configured on the client the way config.toml would (`client_adjust`).

use super::{start_with_delay, NOW_MS};
use redeemdesk_core::channel::{
    yhtd, Capabilities, Channel, ChannelConfig, ChannelError, ChannelKind, CouponCode, Exchanged,
    NotifyOutcome, Outcome, Platform, Prepared, RedeemRequest, RedemptionId, Resolution, Timeouts,
    UnknownReason, UnknownResolution,
};
use redeemdesk_core::channel::{CertificateChoice, Context};
use redeemdesk_core::money::Fen;
use redeemdesk_core::secret::Secret;
use redeemdesk_sandbox::reading::{variants, BizContent, Readings, YhtdResend, YhtdSign};
use redeemdesk_sandbox::{
    CouponState, DemoCoupon, DemoData, Fault, FaultRule, Operation, RunningSandbox,
};
use redeemdesk_sandbox::{Sandbox, SandboxOptions};
use std::sync::Arc;
use std::time::Duration;

/// Short client timeouts, and a sandbox delay well past them.
const CLIENT: Timeouts = Timeouts {
    connect: Duration::from_millis(500),
    total: Duration::from_millis(800),
};
const FAULT_DELAY: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Valid,
    AlreadyUsed,
    RefundedOrExpired,
    CountAboveLeft,
    MultiCount,
    TimesCard,
    DouyinCertificates,
    RefusedNotification,
    WrongKey,
    Timeout,
    Reset,
    Http500,
    Garbage,
    BadResponseSignature,
    CommitThenDrop,
    RefusedAfterValidPreview,
}

const SCENARIOS: [Scenario; 16] = [
    Scenario::Valid,
    Scenario::AlreadyUsed,
    Scenario::RefundedOrExpired,
    Scenario::CountAboveLeft,
    Scenario::MultiCount,
    Scenario::TimesCard,
    Scenario::DouyinCertificates,
    Scenario::RefusedNotification,
    Scenario::WrongKey,
    Scenario::Timeout,
    Scenario::Reset,
    Scenario::Http500,
    Scenario::Garbage,
    Scenario::BadResponseSignature,
    Scenario::CommitThenDrop,
    Scenario::RefusedAfterValidPreview,
];

impl Scenario {
    fn fault(self) -> Option<Fault> {
        match self {
            Scenario::Timeout => Some(Fault::Delay),
            Scenario::Reset => Some(Fault::Reset),
            Scenario::Http500 => Some(Fault::Http500),
            Scenario::Garbage => Some(Fault::Garbage),
            Scenario::BadResponseSignature => Some(Fault::BadSignature),
            Scenario::CommitThenDrop => Some(Fault::CommitThenDrop),
            _ => None,
        }
    }

    /// Whether a channel with these capabilities can have this scenario at all.
    fn applies(self, kind: ChannelKind, caps: &Capabilities) -> bool {
        match self {
            Scenario::Valid | Scenario::Timeout | Scenario::Reset | Scenario::Http500 => true,
            Scenario::Garbage | Scenario::CommitThenDrop => true,
            Scenario::AlreadyUsed | Scenario::RefundedOrExpired => caps.redeems_codes,
            Scenario::RefusedAfterValidPreview => caps.redeems_codes,
            Scenario::CountAboveLeft => caps.redeems_codes && caps.multi_count,
            Scenario::MultiCount => caps.multi_count,
            Scenario::TimesCard => caps.unknown_resolution == UnknownResolution::RemainingUses,
            Scenario::DouyinCertificates => caps.certificates,
            Scenario::RefusedNotification => !caps.redeems_codes,
            // A wrong key needs a key: 增值券 documents none (channels.md §1).
            Scenario::WrongKey => caps.redeems_codes,
            Scenario::BadResponseSignature => redeemdesk_sandbox::signs_answers(kind),
        }
    }
}

/// What one pair produced: `Err` carries what went wrong.
type PairResult = Result<(), String>;

fn core_platform(c: &DemoCoupon) -> Option<Platform> {
    c.platform
        .and_then(|p| Platform::ALL.into_iter().find(|q| q.as_str() == p.as_str()))
}

fn usable(c: &DemoCoupon) -> bool {
    c.state == redeemdesk_sandbox::demo::DemoState::Unused
        && c.fault.is_none()
        && !c.refuse_redeem
        && c.left > 0
        && c.valid_to_ms.is_none_or(|end| end > NOW_MS)
        && c.valid_from_ms.is_none_or(|start| start <= NOW_MS)
}

/// Picks a demo coupon of `kind` for the scenario, by attributes.
fn pick(sb: &RunningSandbox, kind: ChannelKind, scenario: Scenario) -> Option<DemoCoupon> {
    let all = sb.demo().coupons.iter().filter(|c| c.channel == kind);
    let chosen = match scenario {
        Scenario::AlreadyUsed => all
            .filter(|c| c.fault.is_none() && c.certificates.is_empty())
            .find(|c| sb.coupon_state(kind, &c.code) == Some(CouponState::Used)),
        Scenario::RefundedOrExpired => {
            let candidates: Vec<&DemoCoupon> = all.filter(|c| c.fault.is_none()).collect();
            candidates
                .iter()
                .find(|c| sb.coupon_state(kind, &c.code) == Some(CouponState::Refunded))
                .or_else(|| {
                    candidates
                        .iter()
                        .find(|c| sb.coupon_state(kind, &c.code) == Some(CouponState::Expired))
                })
                .copied()
        }
        Scenario::CountAboveLeft | Scenario::MultiCount | Scenario::TimesCard => all
            .filter(|c| usable(c) && c.certificates.is_empty())
            .find(|c| c.uses > 1 && c.left >= 2),
        Scenario::DouyinCertificates => all
            .filter(|c| usable(c))
            .find(|c| c.certificates.len() >= 2),
        Scenario::RefusedAfterValidPreview => all
            .filter(|c| c.certificates.is_empty())
            .find(|c| c.refuse_redeem),
        // Valid, wrong key and the faults: a plain redeemable coupon, single-use if any.
        _ => {
            let mut plain: Vec<&DemoCoupon> = all
                .filter(|c| usable(c) && c.certificates.is_empty())
                .collect();
            plain.sort_by_key(|c| c.uses != 1);
            plain.first().copied()
        }
    };
    chosen.cloned()
}

fn request(c: &DemoCoupon, count: u32, remaining_before: Option<u32>) -> RedeemRequest {
    RedeemRequest {
        id: RedemptionId::new_v4(),
        code: CouponCode::new(c.code.clone()).expect("demo codes are valid codes"),
        count,
        platform: core_platform(c),
        certificates: Vec::new(),
        order_amount: None,
        paid_amount: None,
        remaining_before,
        cashier: Some("wangfang".into()),
        remark: None,
        attempted_at_ms: NOW_MS,
    }
}

/// One reading the contract runs under: `name` as `variants()` gives it, the channel it
/// belongs to (the default belongs to each).
#[derive(Debug, Clone)]
struct Variant {
    name: String,
    kind: ChannelKind,
    readings: Readings,
}

impl Variant {
    fn default_for(kind: ChannelKind) -> Variant {
        Variant {
            name: "default".into(),
            kind,
            readings: Readings::default(),
        }
    }

    fn is_default(&self) -> bool {
        self.readings == Readings::default()
    }

    /// Whether a correct client can tell this reading from the answers alone.
    fn detectable(&self) -> bool {
        self.readings.detectable(self.kind)
    }

    /// Whether nothing can succeed under this reading, so that the best a client can do is
    /// to say its configuration is wrong (通联 wants an encrypted bizContent).
    fn nothing_can_succeed(&self) -> bool {
        self.kind == ChannelKind::Allinpay
            && self.readings.allinpay.biz_content == BizContent::Encrypted
    }
}

/// The client's settings for a reading, the way config.toml would give them (only what a
/// manager would know to set: the undetectable readings).
fn client_adjust(variant: &Variant, demo: &DemoData, cfg: &mut ChannelConfig) {
    let r = &variant.readings;
    match cfg {
        ChannelConfig::Yhtd(c) if r.yhtd.sign == YhtdSign::Md5Required => {
            c.sign = true;
            c.key = Some(Secret::new(demo.yhtd.key.clone()));
        }
        // No answer tells whether a resent dealSerial is a new order: config.toml's
        // `resend_deduplicated` says it (channels.md §1).
        ChannelConfig::Yhtd(c) => c.resend_deduplicated = r.yhtd.resend == YhtdResend::Dedup,
        // 智迈's Token naming is detected by the client, not configured: the pascal_case
        // reading proves the detection. The other readings need no setting.
        _ => {}
    }
}

/// The client of `variant`'s channel, configured with the sandbox's demo settings or, for
/// `wrong_key`, with keys that are not the sandbox's (every channel the same way:
/// `DemoData::with_wrong_keys`).
fn channel(sb: &RunningSandbox, variant: &Variant, wrong_key: bool) -> Channel {
    let kind = variant.kind;
    let clock = Arc::new(redeemdesk_core::clock::ManualClock::new(NOW_MS));
    let demo = if wrong_key {
        sb.demo().clone().with_wrong_keys()
    } else {
        sb.demo().clone()
    };
    let mut cfg = redeemdesk_sandbox::demo_config::channel_config(&demo, sb.addr(), kind, CLIENT);
    client_adjust(variant, &demo, &mut cfg);
    Channel::new(
        cfg,
        Context {
            clock,
            zone: sb.demo_config_with(CLIENT).zone,
        },
    )
    .expect("the demo config builds")
}

/// Prepares and returns the uses left the preview reported (times cards).
async fn prepare(ch: &Channel, c: &DemoCoupon) -> Result<Prepared, String> {
    let code = CouponCode::new(c.code.clone()).map_err(|e| e.to_string())?;
    ch.prepare(&code, core_platform(c))
        .await
        .map(|x| x.value)
        .map_err(|e| format!("prepare failed: {e}"))
}

fn check(cond: bool, what: impl FnOnce() -> String) -> PairResult {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// Whether the Unknown's reason is the one this fault should produce.
fn reason_matches(fault: Fault, reason: &UnknownReason) -> bool {
    match fault {
        Fault::Delay => matches!(reason, UnknownReason::Timeout),
        Fault::Http500 => matches!(reason, UnknownReason::HttpStatus { status: 500 }),
        Fault::Garbage => matches!(reason, UnknownReason::NotJson),
        Fault::BadSignature => matches!(reason, UnknownReason::BadSignature),
        Fault::Reset | Fault::CommitThenDrop => matches!(
            reason,
            UnknownReason::ConnectionReset { .. } | UnknownReason::ConnectionFailed { .. }
        ),
    }
}

/// What a pair did, for the audit: the client's final word, the code (or 增值券
/// `dealSerial`) at stake and the uses asked.
#[derive(Debug, Clone)]
struct Record {
    said: Said,
    key: Option<String>,
    asked: u32,
}

/// How one pair ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Right,
    Unknown(String),
    Wrong(String),
}

/// The safety audit: the client's final word against what the sandbox committed. `None`
/// when they agree (or the client said nothing definitive).
fn audit(sb: &RunningSandbox, kind: ChannelKind, rec: &Record) -> Option<String> {
    let key = rec.key.as_deref()?;
    let truth = sb.ground_truth();
    if kind == ChannelKind::Yhtd {
        let orders = truth
            .notifications
            .iter()
            .find(|n| n.deal_serial == key)
            .map_or(0, |n| n.orders);
        return match rec.said {
            _ if orders > 1 => Some(format!("the platform recorded the order {orders} times")),
            Said::Succeeded { .. } if orders == 0 => {
                Some("Delivered, but the platform recorded no order".into())
            }
            Said::Refused if orders > 0 => {
                Some("Rejected, but the platform recorded the order".into())
            }
            _ => None,
        };
    }
    let used = truth.uses_of(kind, key);
    match rec.said {
        _ if used > rec.asked.max(1) => Some(format!(
            "{used} uses consumed for {} asked: a second consumption",
            rec.asked
        )),
        Said::Succeeded { count } if used != count => Some(format!(
            "the client says {count} consumed, the sandbox consumed {used}"
        )),
        Said::Refused if used > 0 => Some(format!(
            "the client says not consumed, the sandbox consumed {used}"
        )),
        _ => None,
    }
}

/// The client's final word on a pair (after its resolution, if any), for the safety audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    /// The pair stopped before a redemption was sent.
    Nothing,
    Succeeded {
        count: u32,
    },
    /// Rejected, not consumed, or refused by the client before sending.
    Refused,
    Unknown,
}

impl Said {
    fn of_notify(outcome: &NotifyOutcome) -> Said {
        match outcome {
            NotifyOutcome::Delivered => Said::Succeeded { count: 1 },
            NotifyOutcome::Rejected { .. } => Said::Refused,
            _ => Said::Unknown,
        }
    }

    fn of_outcome(outcome: &Result<Exchanged<Outcome>, ChannelError>) -> Said {
        match outcome {
            Ok(x) => match &x.value {
                Outcome::Succeeded(r) => Said::Succeeded { count: r.count },
                Outcome::Rejected { .. } => Said::Refused,
                _ => Said::Unknown,
            },
            Err(ChannelError::InvalidInput { .. }) => Said::Refused,
            Err(_) => Said::Unknown,
        }
    }

    fn of_resolution(resolution: &Resolution) -> Said {
        match resolution {
            Resolution::Succeeded(r) => Said::Succeeded { count: r.count },
            Resolution::NotConsumed { .. } => Said::Refused,
            _ => Said::Unknown,
        }
    }
}

async fn run_redeem_pair(
    sb: &RunningSandbox,
    variant: &Variant,
    scenario: Scenario,
    rec: &mut Record,
) -> PairResult {
    let kind = variant.kind;
    let caps = redeemdesk_core::channel::capabilities(kind);
    let coupon =
        pick(sb, kind, scenario).ok_or_else(|| format!("no demo coupon fits {scenario:?}"))?;
    let code = coupon.code.clone();
    rec.key = Some(code.clone());
    let left_before = sb.uses_left(kind, &code).unwrap_or(0);
    let truth_uses = |sb: &RunningSandbox| sb.ground_truth().uses_of(kind, &code);
    let ch = channel(sb, variant, scenario == Scenario::WrongKey);
    if variant.nothing_can_succeed() {
        let prepared = prepare(&ch, &coupon).await?;
        return check(
            matches!(
                prepared,
                Prepared::Rejected {
                    config_error: true,
                    ..
                }
            ),
            || {
                format!(
                    "nothing works under this reading: a correct client reports a configuration error at the preview, got {prepared:?}"
                )
            },
        );
    }

    // Prepare first, as the cashier screen does. With a wrong key, a channel that has a
    // remote preview must say so there: a configuration error, before anything is at stake.
    let mut remaining = Some(left_before);
    if scenario == Scenario::WrongKey && caps.remote_prepare {
        let prepared = prepare(&ch, &coupon).await?;
        check(
            matches!(
                prepared,
                Prepared::Rejected {
                    config_error: true,
                    ..
                }
            ),
            || {
                format!(
                    "a wrong key must be a configuration error at the preview, got {prepared:?}"
                )
            },
        )?;
    }
    if scenario != Scenario::WrongKey {
        match prepare(&ch, &coupon).await? {
            Prepared::Ready(p) => {
                if scenario == Scenario::TimesCard {
                    check(p.times_remaining == Some(left_before), || {
                        format!(
                            "times card preview says {:?} left, the card has {left_before}",
                            p.times_remaining
                        )
                    })?;
                }
                if let Some(t) = p.times_remaining.or(p.uses_left) {
                    remaining = Some(t);
                }
            }
            other => {
                let refused = matches!(
                    scenario,
                    Scenario::AlreadyUsed | Scenario::RefundedOrExpired
                );
                check(
                    refused && matches!(other, Prepared::Rejected { .. }),
                    || format!("prepare of a usable coupon answered {other:?}"),
                )?;
                // Redeem anyway: the channel must refuse it too.
            }
        }
    }

    let count = match scenario {
        Scenario::MultiCount | Scenario::DouyinCertificates => 2,
        Scenario::CountAboveLeft => left_before + 1,
        _ => 1,
    };
    // A times card's client refuses counts above what the preview said; the refusal
    // scenarios claim enough uses so that the channel itself must refuse.
    let remaining_before = remaining.map(|r| r.max(count));
    rec.asked = count;
    let mut req = request(&coupon, count, remaining_before);
    if scenario == Scenario::DouyinCertificates {
        req.certificates = coupon
            .certificates
            .iter()
            .take(2)
            .map(|c| CertificateChoice {
                id: c.id.clone(),
                num: 1,
            })
            .collect();
    }
    if let Some(fault) = scenario.fault() {
        sb.inject_fault(FaultRule {
            channel: kind,
            code: Some(code.clone()),
            fault,
            times: 1,
            operation: Operation::Redeem,
            delay_ms: Some(FAULT_DELAY.as_millis() as u64),
        });
    }
    let outcome = ch.redeem(&req).await;
    rec.said = Said::of_outcome(&outcome);
    match scenario {
        Scenario::Valid
        | Scenario::MultiCount
        | Scenario::TimesCard
        | Scenario::DouyinCertificates => {
            let outcome = outcome.map_err(|e| format!("redeem failed: {e}"))?.value;
            let Outcome::Succeeded(r) = &outcome else {
                return Err(format!("expected Succeeded, got {outcome:?}"));
            };
            check(r.count == count, || {
                format!("Succeeded with count {} for {count} asked", r.count)
            })?;
            check(truth_uses(sb) == count, || {
                format!("the sandbox committed {} uses, not {count}", truth_uses(sb))
            })?;
            if caps.idempotency_key {
                let truth = sb.ground_truth();
                let record = &truth.consumptions[0].record_id;
                check(r.channel_refs.iter().any(|x| &x.value == record), || {
                    format!(
                        "the channel's record id {record} is not among {:?}",
                        r.channel_refs
                    )
                })?;
            }
            if scenario == Scenario::TimesCard {
                let Prepared::Ready(p) = prepare(&ch, &coupon).await? else {
                    return Err("the card no longer previews".into());
                };
                check(p.times_remaining == Some(left_before - 1), || {
                    format!("after one use the card says {:?} left", p.times_remaining)
                })?;
            }
            Ok(())
        }
        Scenario::AlreadyUsed
        | Scenario::RefundedOrExpired
        | Scenario::CountAboveLeft
        | Scenario::RefusedAfterValidPreview => {
            let refused = match &outcome {
                Ok(x) => matches!(
                    x.value,
                    Outcome::Rejected {
                        config_error: false,
                        ..
                    }
                ),
                // A client may refuse a count above what is left before sending it.
                Err(ChannelError::InvalidInput { .. }) => scenario == Scenario::CountAboveLeft,
                Err(_) => false,
            };
            check(refused, || {
                format!("expected a business refusal, got {outcome:?}")
            })?;
            check(truth_uses(sb) == 0, || {
                "a refusal consumed something".into()
            })
        }
        Scenario::WrongKey => {
            let outcome = outcome.map_err(|e| format!("redeem failed: {e}"))?.value;
            check(!matches!(outcome, Outcome::Succeeded(_)), || {
                "a wrong key redeemed".into()
            })?;
            check(truth_uses(sb) == 0, || {
                "a wrongly signed request consumed something".into()
            })?;
            // Without a remote preview the redeem itself must say it; with one, the preview
            // already did, and the redeem keeps channels.md's mapping (智迈 and 通联 answer a
            // signature refusal with a code that channels.md §3/§5 treat as Unknown).
            if !caps.remote_prepare {
                check(
                    matches!(
                        outcome,
                        Outcome::Rejected {
                            config_error: true,
                            ..
                        }
                    ),
                    || format!("a wrong key must be a configuration error, got {outcome:?}"),
                )?;
            }
            Ok(())
        }
        faulty => {
            let fault = faulty.fault().ok_or("not a fault scenario")?;
            let outcome = outcome.map_err(|e| format!("redeem failed: {e}"))?.value;
            let Outcome::Unknown { reason } = &outcome else {
                return Err(format!("{fault:?} must give Unknown, got {outcome:?}"));
            };
            check(reason_matches(fault, reason), || {
                format!("{fault:?} gave Unknown for another reason: {reason:?}")
            })?;
            let committed = truth_uses(sb) > 0;
            check(committed == fault.commits(), || {
                format!(
                    "{fault:?}: committed = {committed}, the sandbox promises {}",
                    fault.commits()
                )
            })?;
            let resolution = ch
                .resolve(&req)
                .await
                .map_err(|e| format!("resolve failed: {e}"))?
                .value;
            rec.said = Said::of_resolution(&resolution);
            let agrees = match (&resolution, committed) {
                (Resolution::Succeeded(r), true) => r.count == count,
                (Resolution::NotConsumed { .. }, false) => true,
                // channels.md §0: absence from a history proves nothing.
                (Resolution::StillUnknown { .. }, false) => {
                    caps.unknown_resolution == UnknownResolution::History
                }
                _ => false,
            };
            check(agrees, || {
                format!("resolution {resolution:?} but the sandbox committed = {committed}")
            })
        }
    }
}

async fn run_notify_pair(
    sb: &RunningSandbox,
    variant: &Variant,
    scenario: Scenario,
    rec: &mut Record,
) -> PairResult {
    let kind = variant.kind;
    let ch = channel(sb, variant, false);
    let product = sb
        .demo()
        .products
        .iter()
        .find(|p| p.fault.is_none())
        .ok_or("no plain demo product")?
        .clone();
    let quantity = if scenario == Scenario::MultiCount {
        2
    } else {
        1
    };
    let mut n = yhtd::Notification {
        order_no: "1616911217380890".into(),
        product_no: product.product_no.clone(),
        product_name: product.name.clone(),
        consumer_name: "王刚".into(),
        consumer_phone: "13566662456".into(),
        deal_serial: RedemptionId::new_v4(),
        quantity,
        total: Fen(product.price_fen * i64::from(quantity)),
    };
    if scenario == Scenario::RefusedNotification {
        // The platform checks sumMoney against its own product table.
        n.total = Fen(n.total.0 - 1);
    }
    let serial = n.deal_serial.as_str().to_owned();
    rec.key = Some(serial.clone());
    if let Some(fault) = scenario.fault() {
        sb.inject_fault(FaultRule {
            channel: kind,
            code: Some(serial.clone()),
            fault,
            times: 1,
            operation: Operation::Redeem,
            delay_ms: Some(FAULT_DELAY.as_millis() as u64),
        });
    }
    let outcome = ch
        .notify(&n)
        .await
        .map_err(|e| format!("notify failed: {e}"))?
        .value;
    rec.said = Said::of_notify(&outcome);
    let received = |sb: &RunningSandbox| {
        sb.ground_truth()
            .notifications
            .iter()
            .find(|x| x.deal_serial == serial)
            .map(|x| x.received)
            .unwrap_or(0)
    };
    match scenario {
        Scenario::Valid | Scenario::MultiCount => {
            check(outcome == NotifyOutcome::Delivered, || {
                format!("expected Delivered, got {outcome:?}")
            })?;
            let truth = sb.ground_truth();
            check(
                truth.notifications.len() == 1 && truth.notifications[0].by_number == quantity,
                || format!("the platform recorded {:?}", truth.notifications),
            )
        }
        Scenario::RefusedNotification => {
            check(matches!(outcome, NotifyOutcome::Rejected { .. }), || {
                format!("expected Rejected, got {outcome:?}")
            })?;
            check(received(sb) == 0, || "a refused order was recorded".into())
        }
        _ => {
            let fault = scenario.fault().ok_or("not a fault scenario")?;
            let NotifyOutcome::Unknown { reason } = &outcome else {
                return Err(format!("{fault:?} must give Unknown, got {outcome:?}"));
            };
            check(reason_matches(fault, reason), || {
                format!("{fault:?} gave Unknown for another reason: {reason:?}")
            })?;
            let first = received(sb);
            check((first == 1) == fault.commits(), || {
                format!("{fault:?}: recorded {first} times before the resend")
            })?;
            if !ch.may_resend(reason) {
                // A platform that counts a resend again: the outbox holds the order for a
                // manager instead (channels.md §1 [assumed idempotent] is a setting).
                rec.said = Said::Unknown;
                return Ok(());
            }
            // The outbox's resolution: send the same dealSerial again.
            let again = ch
                .notify(&n)
                .await
                .map_err(|e| format!("resend failed: {e}"))?
                .value;
            rec.said = Said::of_notify(&again);
            check(again == NotifyOutcome::Delivered, || {
                format!("the resend answered {again:?}")
            })?;
            let truth = sb.ground_truth();
            check(truth.notifications.len() == 1, || {
                format!("one order, not {}", truth.notifications.len())
            })?;
            check(received(sb) == first + 1, || {
                "the resend was not counted".into()
            })
        }
    }
}

async fn start_under(readings: Readings) -> RunningSandbox {
    Sandbox::start(SandboxOptions {
        clock: Arc::new(redeemdesk_core::clock::ManualClock::new(NOW_MS)),
        fault_delay: FAULT_DELAY,
        readings,
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts on a free loopback port")
}

/// Runs one scenario × channel × reading pair on a fresh sandbox and judges it.
async fn run_pair(variant: &Variant, scenario: Scenario) -> Verdict {
    let caps = redeemdesk_core::channel::capabilities(variant.kind);
    let sb = start_under(variant.readings).await;
    let mut rec = Record {
        said: Said::Nothing,
        key: None,
        asked: 0,
    };
    let result = if caps.redeems_codes {
        run_redeem_pair(&sb, variant, scenario, &mut rec).await
    } else {
        run_notify_pair(&sb, variant, scenario, &mut rec).await
    };
    match (audit(&sb, variant.kind, &rec), result) {
        (Some(wrong), _) => Verdict::Wrong(format!("{wrong} (client's final word {:?})", rec.said)),
        (None, Ok(())) => Verdict::Right,
        (None, Err(e)) => Verdict::Unknown(e),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_passes_every_scenario_it_can_have_under_every_reading() {
    let mut jobs = tokio::task::JoinSet::new();
    // A few readings at a time: the client timeouts are short, the machine may be busy.
    let permits = Arc::new(tokio::sync::Semaphore::new(4));
    let mut skipped = 0;
    for (name, kind, readings) in variants() {
        let variant = Variant {
            name,
            kind,
            readings,
        };
        let caps = redeemdesk_core::channel::capabilities(kind);
        let scenarios: Vec<Scenario> = SCENARIOS
            .into_iter()
            .filter(|s| s.applies(kind, &caps))
            .collect();
        skipped += SCENARIOS.len() - scenarios.len();
        let permits = permits.clone();
        jobs.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let mut verdicts = Vec::new();
            for scenario in scenarios {
                verdicts.push((scenario, run_pair(&variant, scenario).await));
            }
            (variant, verdicts)
        });
    }
    let mut results = Vec::new();
    while let Some(done) = jobs.join_next().await {
        results.push(done.expect("a pair panicked"));
    }
    results.sort_by_key(|(v, _)| (v.kind, !v.is_default(), v.name.clone()));
    let (mut right, mut unknown, mut wrong) = (0, 0, 0);
    let mut failures = Vec::new();
    for (variant, verdicts) in &results {
        for (scenario, verdict) in verdicts {
            let line = |what: &str, why: &str| {
                // The first words say why; the exchanges after them are for a closer look.
                let short: String = why.chars().take(180).collect();
                format!(
                    "{what}: {scenario:?} × {} × {}: {short}",
                    variant.kind, variant.name
                )
            };
            match verdict {
                Verdict::Right => right += 1,
                Verdict::Unknown(why) => {
                    unknown += 1;
                    let fails = variant.is_default() || variant.detectable();
                    println!(
                        "{}",
                        line(
                            if fails {
                                "UNKNOWN"
                            } else {
                                "unknown (undetectable)"
                            },
                            why
                        )
                    );
                    if fails {
                        failures.push(line("UNKNOWN", why));
                    }
                }
                Verdict::Wrong(why) => {
                    wrong += 1;
                    println!("{}", line("WRONG", why));
                    failures.push(line("WRONG", why));
                }
            }
        }
    }
    let run = right + unknown + wrong;
    println!(
        "contract: {run} scenario × channel × reading pairs run ({right} right, {unknown} unknown, {wrong} wrong), {skipped} skipped"
    );
    assert!(
        failures.is_empty(),
        "{} of {run} pairs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The demo data's own fault codes (the ones a cashier can type in sandbox mode) behave as
/// their notes say, through the real client, and each Unknown resolves to the truth.
#[tokio::test]
async fn every_demo_fault_code_misbehaves_as_documented_and_resolves_to_the_truth() {
    let (probe, _) = start_with_delay(FAULT_DELAY).await;
    let coupons: Vec<DemoCoupon> = probe
        .demo()
        .coupons
        .iter()
        .filter(|c| c.fault.is_some())
        .cloned()
        .collect();
    drop(probe);
    let mut failures = Vec::new();
    for coupon in &coupons {
        let (kind, fault) = (coupon.channel, coupon.fault.expect("filtered on fault"));
        let caps = redeemdesk_core::channel::capabilities(kind);
        let (sb, _) = start_with_delay(FAULT_DELAY).await;
        let ch = channel(&sb, &Variant::default_for(kind), false);
        let result: PairResult = async {
            let remaining = match prepare(&ch, coupon).await? {
                Prepared::Ready(p) => p.times_remaining.or(p.uses_left),
                other => return Err(format!("prepare is never faulted, got {other:?}")),
            };
            let req = request(coupon, 1, remaining);
            let outcome = ch.redeem(&req).await.map_err(|e| e.to_string())?.value;
            let spoils = fault != Fault::BadSignature || redeemdesk_sandbox::signs_answers(kind);
            let committed = sb.ground_truth().uses_of(kind, &coupon.code) > 0;
            if !spoils {
                return check(
                    matches!(outcome, Outcome::Succeeded(_)) && committed,
                    || format!("an unsigned channel ignores BadSignature, got {outcome:?}"),
                );
            }
            let Outcome::Unknown { reason } = &outcome else {
                return Err(format!("expected Unknown, got {outcome:?}"));
            };
            check(reason_matches(fault, reason), || {
                format!("Unknown for another reason: {reason:?}")
            })?;
            check(committed == fault.commits(), || {
                format!("committed = {committed}")
            })?;
            let resolution = ch.resolve(&req).await.map_err(|e| e.to_string())?.value;
            let agrees = match (&resolution, committed) {
                (Resolution::Succeeded(_), true) | (Resolution::NotConsumed { .. }, false) => true,
                (Resolution::StillUnknown { .. }, false) => {
                    caps.unknown_resolution == UnknownResolution::History
                }
                _ => false,
            };
            check(agrees, || {
                format!("resolution {resolution:?}, committed = {committed}")
            })
        }
        .await;
        if let Err(e) = result {
            failures.push(format!("{} {} ({fault:?}): {e}", kind, coupon.code));
        }
    }
    println!(
        "demo fault codes: {} checked through the real client",
        coupons.len()
    );
    assert!(
        coupons.len() >= 24,
        "six faults on each of four code channels"
    );
    assert!(
        failures.is_empty(),
        "demo fault codes misbehaved wrongly:\n{}",
        failures.join("\n")
    );
}
