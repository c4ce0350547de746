//! Settles `unknown` attempts (product.md "Resolving the unknown"): each is checked with the
//! channel's own query / detail / history call on the ledger's persisted schedule (5 s × 5,
//! then 40 s, then hourly: `ledger::resolver_backoff`), with the same idempotency key.
//! Only the channel's positive statement settles an attempt; absence from a list never
//! means "not redeemed" (the channel modules return `StillUnknown` for it). What a channel
//! cannot settle waits for a manager's decision, recorded with a reason and a name.

use crate::channel::{ChannelError, ChannelKind, CouponCode, RedeemRequest, Resolution};
use crate::desk::{Desk, ManagerUnlock};
use crate::ledger::{
    resolver_backoff, Actor, Amounts, Attempt, AttemptId, AttemptState, Check, DueCheck,
    LedgerError, Transition,
};
use crate::limits::Field;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one resolver round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResolveRound {
    pub checked: usize,
    pub settled: usize,
    pub handed_to_manager: usize,
}

/// A manager's decision on an attempt the channel could not settle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The manager established that the code was consumed.
    Succeeded,
    /// The manager established that nothing was consumed.
    Rejected,
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("a decision needs a reason")]
    ReasonNeeded,
    #[error("a decision needs the manager's name")]
    ManagerNeeded,
    #[error("no attempt {0}")]
    NotFound(String),
    #[error(transparent)]
    TooLong(#[from] crate::limits::TooLong),
    #[error(transparent)]
    Role(#[from] crate::desk::roles::RoleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl DecisionError {
    pub fn code(&self) -> &'static str {
        match self {
            DecisionError::ReasonNeeded => "reason_needed",
            DecisionError::ManagerNeeded => "manager_needed",
            DecisionError::NotFound(_) => "not_found",
            DecisionError::TooLong(e) => e.code(),
            DecisionError::Role(e) => e.code(),
            DecisionError::Ledger(e) => e.code(),
        }
    }
}

/// The request as it was sent, rebuilt from the ledger: same id, code, count, platform and
/// the remaining uses read before (联拓富 compares against it).
pub(crate) fn request_for(a: &Attempt) -> Option<RedeemRequest> {
    Some(RedeemRequest {
        id: a.id.clone(),
        code: CouponCode::new(a.code.clone()).ok()?,
        count: a.count,
        platform: a.platform,
        certificates: Vec::new(),
        order_amount: None,
        paid_amount: None,
        remaining_before: a.remaining_before.and_then(|n| u32::try_from(n).ok()),
        cashier: Some(a.cashier.clone()),
        remark: None,
        attempted_at_ms: a.created_ms,
    })
}

impl Desk {
    /// Checks every unknown whose time has come, once each. The checks of one channel go
    /// to it together, so a channel that answers from its day history reads each day once.
    pub async fn resolve_due(&self) -> Result<ResolveRound, LedgerError> {
        self.record_unrecorded();
        let due = self.ledger.unknowns_due(self.clock.now_ms())?;
        let mut round = ResolveRound::default();
        let mut by_channel: BTreeMap<ChannelKind, Vec<(DueCheck, RedeemRequest)>> = BTreeMap::new();
        for check in due {
            round.checked += 1;
            let now = self.clock.now_ms();
            let Some(req) = request_for(&check.attempt) else {
                self.ledger.hand_to_manager(
                    &check.attempt.id,
                    now,
                    "the stored attempt cannot be rebuilt into a request",
                )?;
                self.announce_current(&check.attempt.id)?;
                round.handed_to_manager += 1;
                continue;
            };
            by_channel
                .entry(check.attempt.channel)
                .or_default()
                .push((check, req));
        }
        for (kind, checks) in by_channel {
            let Some(channel) = self.channels.get(&kind) else {
                for (check, _) in &checks {
                    let note = format!("{kind} is not configured");
                    self.ledger.record_check(
                        &check.attempt.id,
                        self.next_check(check, note, Default::default()),
                    )?;
                }
                continue;
            };
            let reqs: Vec<RedeemRequest> = checks.iter().map(|(_, r)| r.clone()).collect();
            let answers = channel.resolve_all(&reqs).await;
            for ((check, _), answer) in checks.iter().zip(answers) {
                match self.apply(check, answer) {
                    Ok(Step::Settled) => round.settled += 1,
                    Ok(Step::HandedOver) => round.handed_to_manager += 1,
                    Ok(Step::Again) => {}
                    // A manager decided while the channel was being asked: theirs stands.
                    Err(LedgerError::IllegalTransition { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(round)
    }

    /// The next check of an unknown, after this one, on the persisted backoff.
    fn next_check(&self, due: &DueCheck, note: String, exchange: crate::ledger::Exchange) -> Check {
        let now = self.clock.now_ms();
        Check {
            at_ms: now,
            note: Some(note),
            exchange,
            next_check_ms: now + resolver_backoff(due.tries + 1),
        }
    }

    /// Records what one check learned.
    pub(crate) fn apply(
        &self,
        due: &DueCheck,
        answer: Result<crate::channel::Exchanged<Resolution>, ChannelError>,
    ) -> Result<Step, LedgerError> {
        let a = &due.attempt;
        let now = self.clock.now_ms();
        match answer {
            Ok(answer) => {
                if let Some(skew) = self.compare_clocks(a.channel, &answer.exchanges) {
                    self.mark_skewed(&a.id, &skew)?;
                }
                // An answer to the resolver clears the till's banner as well.
                let reached = !matches!(&answer.value, Resolution::StillUnknown { reason } if crate::desk::reachability::is_unreachable(reason));
                self.note_reach(a.channel, &answer.exchanges, reached);
                let exchange = crate::ledger::Exchange::from(&answer.exchanges[..]);
                let t = match answer.value {
                    Resolution::Succeeded(r) => {
                        let mut t = Transition::new(AttemptState::Succeeded, now, Actor::Resolver)
                            .amounts(Amounts {
                                face_value: r.face_value,
                                settled: r.settled,
                            })
                            .reason("the channel confirms the redemption")
                            .exchange(exchange);
                        for id in r.channel_refs {
                            t = t.channel_id(id.name, id.value);
                        }
                        t
                    }
                    Resolution::NotConsumed { evidence } => {
                        Transition::new(AttemptState::Rejected, now, Actor::Resolver)
                            .reason(format!("not consumed: {evidence}"))
                            .exchange(exchange)
                    }
                    Resolution::StillUnknown { reason } => {
                        self.ledger.record_check(
                            &a.id,
                            self.next_check(due, reason.to_string(), exchange),
                        )?;
                        return Ok(Step::Again);
                    }
                };
                let settled = self.ledger.record(&a.id, t)?;
                self.announce_attempt(&settled);
                Ok(Step::Settled)
            }
            Err(ChannelError::Unsupported { .. }) => {
                self.ledger.hand_to_manager(
                    &a.id,
                    now,
                    "the channel has no call that can settle this",
                )?;
                self.announce_current(&a.id)?;
                Ok(Step::HandedOver)
            }
            Err(e) => {
                self.ledger.record_check(
                    &a.id,
                    self.next_check(due, e.to_string(), Default::default()),
                )?;
                Ok(Step::Again)
            }
        }
    }

    fn announce_current(&self, id: &AttemptId) -> Result<(), LedgerError> {
        if let Some(a) = self.ledger.attempt(id)? {
            self.announce_attempt(&a);
        }
        Ok(())
    }

    /// Records a manager's decision on an unknown attempt: the new state, the reason and
    /// who decided, as one event. The ledger refuses it for an attempt that is not unknown.
    pub fn decide(
        &self,
        id: &AttemptId,
        decision: Decision,
        unlock: &ManagerUnlock,
        reason: &str,
    ) -> Result<Attempt, DecisionError> {
        let manager = self.manager(unlock)?;
        let reason = Field::Reason.check(reason)?;
        let manager = Field::ManagerName.check(&manager)?;
        if reason.is_empty() {
            return Err(DecisionError::ReasonNeeded);
        }
        if manager.is_empty() {
            return Err(DecisionError::ManagerNeeded);
        }
        let to = match decision {
            Decision::Succeeded => AttemptState::Succeeded,
            Decision::Rejected => AttemptState::Rejected,
        };
        if self.ledger.attempt(id)?.is_none() {
            return Err(DecisionError::NotFound(id.to_string()));
        }
        let t = Transition::new(to, self.clock.now_ms(), Actor::Manager(manager.to_owned()))
            .reason(reason);
        let attempt = self.ledger.record(id, t)?;
        self.announce_attempt(&attempt);
        Ok(attempt)
    }
}

pub(crate) enum Step {
    Settled,
    HandedOver,
    Again,
}
