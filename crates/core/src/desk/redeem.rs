//! The redeem use case (product.md "The cashier screen", "States of one attempt"):
//! normalise and check the code → the channel's preview → on confirmation, write the
//! `pending` attempt with its new idempotency key and COMMIT → call the channel → record
//! `succeeded` / `rejected` / `unknown`. The write-ahead commit happens before any byte
//! leaves the machine; an `unknown` is never shown or stored as a failure.

use super::{Checkpoint, Desk, PendingPreview};
use crate::channel::{
    self, BusinessZone, CertificateChoice, ChannelError, ChannelKind, CouponCode, Outcome,
    Platform, Preview, RedeemRequest,
};
use crate::clock::UnixMs;
use crate::ledger::{
    self, Actor, Amounts, Attempt, AttemptId, AttemptState, LedgerError, NewAttempt, Transition,
};
use crate::scan::{self, ScanError};
use serde::{Deserialize, Serialize};

/// A scanner's double read arrives within a few hundred milliseconds; a cashier pressing
/// Enter twice within two seconds means one redemption (product.md: "~2 s").
pub const DEBOUNCE_MS: i64 = 2_000;
pub use super::PREPARED_TTL_MS;

/// What the cashier asked to look up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepareInput {
    pub channel: ChannelKind,
    /// 通联 only: the platform chosen (F4 cycles it).
    pub platform: Option<Platform>,
    /// The capture field's text, as received.
    pub raw_code: String,
}

/// The answer to a look-up. `Ready` carries the token that confirms this very preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Prepared {
    Ready {
        token: String,
        preview: Box<Preview>,
        /// The count stepper's cap.
        max_count: u32,
        /// For a code that can be used more than once: the last success here, shown as a
        /// reminder ("redeemed here at 12:03 by 王芳"), not a block.
        earlier_success: Option<Attempt>,
        /// The channel has not answered since then (reachability.rs): the till warns and
        /// asks for a deliberate second Enter before it sends.
        unreachable_since_ms: Option<UnixMs>,
        /// The longest the redemption call may take, shown while the till waits.
        wait_limit_ms: u64,
    },
    /// The channel says the code cannot be redeemed (used, expired…).
    Rejected {
        code: CouponCode,
        channel_code: String,
        message: String,
        config_error: bool,
        /// The refusal reads as "no such code": the till asks to check the channel and
        /// platform (a good code under the wrong one reads so).
        not_found: bool,
    },
    /// The channel did not answer decisively; nothing was redeemed, the cashier may retry.
    Unknown {
        code: CouponCode,
        /// For people (the log, the About box); the UI branches on `reason_kind`.
        reason: String,
        reason_kind: &'static str,
    },
    /// The coupon's stated validity excludes the business clock's now: refused at the
    /// preview, with the dates to show, and nothing can be confirmed (no token).
    OutOfValidity {
        preview: Box<Preview>,
        why: crate::validity::OutOfValidity,
    },
}

/// The cashier's confirmation of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemInput {
    pub token: String,
    pub count: u32,
    /// Douyin vouchers with several certificates: the ones ticked.
    /// No cashier here: the attempt is recorded under the cashier of the desk's open shift
    /// (roles.rs), never a name the caller types (issue 18 item 7).
    #[serde(default)]
    pub certificates: Vec<CertificateChoice>,
}

/// A finished redemption attempt: the ledger's row and the channel's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redemption {
    pub attempt: Attempt,
    pub outcome: Outcome,
    /// A refusal that reads as "no such code" (see `Prepared::Rejected::not_found`).
    pub not_found: bool,
}

impl Redemption {
    pub fn new(attempt: Attempt, outcome: Outcome) -> Redemption {
        let not_found = matches!(&outcome, Outcome::Rejected { message, config_error: false, .. }
            if channel::not_found::says_no_such_code(message));
        Redemption {
            attempt,
            outcome,
            not_found,
        }
    }
}

/// Why a look-up or a redemption was refused before (or instead of) reaching the channel.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error("{0} is not configured")]
    ChannelNotConfigured(ChannelKind),
    #[error("{0} does not redeem codes")]
    NotACodeChannel(ChannelKind),
    #[error("通联 needs the platform (美团, 抖音, 点评 or 美团到综)")]
    PlatformNeeded,
    #[error("already redeemed here at {at_ms} by {by}")]
    AlreadyRedeemed {
        at_ms: UnixMs,
        by: String,
        attempt: Box<Attempt>,
    },
    /// Chain mode: HQ saw this single-use code redeemed at another till of the store.
    #[error(transparent)]
    AtAnotherTill(#[from] crate::cross_till::RedeemedAtAnotherTill),
    #[error("an earlier attempt on this code is still unresolved (since {since_ms})")]
    Unresolved {
        since_ms: UnixMs,
        attempt: Box<Attempt>,
    },
    #[error("the same code was just sent; a second send within {DEBOUNCE_MS} ms is a double read")]
    Duplicate,
    #[error("the preview has expired or was already used: scan the code again")]
    PrepareExpired,
    #[error("count {count} is not between 1 and {max}")]
    CountOutOfRange { count: u32, max: u32 },
    #[error("certificate choice: {0}")]
    Certificates(String),
    /// The ledger failed its integrity check: nothing is redeemed into a damaged file.
    #[error("the ledger file is damaged ({0}): redeeming is stopped until a manager restores it or starts a new ledger")]
    LedgerDamaged(String),
    /// No shift is open (`no_shift`), or the cashier's shift could not be read.
    #[error(transparent)]
    Role(#[from] crate::desk::roles::RoleError),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl RedeemError {
    /// What the UI branches on to choose its message.
    pub fn code(&self) -> &'static str {
        match self {
            RedeemError::Scan(e) => e.code(),
            RedeemError::ChannelNotConfigured(_) => "channel_not_configured",
            RedeemError::NotACodeChannel(_) => "not_a_code_channel",
            RedeemError::PlatformNeeded => "platform_needed",
            RedeemError::AlreadyRedeemed { .. } => "already_redeemed",
            RedeemError::AtAnotherTill(_) => "redeemed_at_another_till",
            RedeemError::Unresolved { .. } => "unresolved",
            RedeemError::Duplicate => "duplicate",
            RedeemError::PrepareExpired => "prepare_expired",
            RedeemError::CountOutOfRange { .. } => "count_out_of_range",
            RedeemError::Certificates(_) => "certificates",
            RedeemError::LedgerDamaged(_) => "ledger_damaged",
            RedeemError::Role(e) => e.code(),
            RedeemError::Channel(ChannelError::Config { .. }) => "channel_config",
            RedeemError::Channel(_) => "channel_error",
            RedeemError::Ledger(e) => e.code(),
        }
    }
}

/// The ledger step for a channel's answer to a redeem.
pub(crate) fn transition_for(
    outcome: &Outcome,
    at_ms: UnixMs,
    actor: Actor,
    exchange: ledger::Exchange,
) -> Transition {
    let t = match outcome {
        Outcome::Succeeded(r) => {
            let mut t = Transition::new(AttemptState::Succeeded, at_ms, actor).amounts(Amounts {
                face_value: r.face_value,
                settled: r.settled,
            });
            for id in &r.channel_refs {
                t = t.channel_id(id.name.clone(), id.value.clone());
            }
            t
        }
        Outcome::Rejected { code, message, .. } => {
            Transition::new(AttemptState::Rejected, at_ms, actor)
                .reason(format!("{code}: {message}"))
        }
        Outcome::Unknown { reason } => {
            Transition::new(AttemptState::Unknown, at_ms, actor).reason(reason.to_string())
        }
    };
    t.exchange(exchange)
}

impl Desk {
    fn code_channel(&self, kind: ChannelKind) -> Result<&channel::Channel, RedeemError> {
        let ch = self
            .channels
            .get(&kind)
            .ok_or(RedeemError::ChannelNotConfigured(kind))?;
        if !ch.capabilities().redeems_codes {
            return Err(RedeemError::NotACodeChannel(kind));
        }
        Ok(ch)
    }

    /// The local checks every look-up and every redemption makes: an unresolved earlier
    /// attempt blocks the code; a single-use code already redeemed here is refused.
    fn check_code_history(
        &self,
        kind: ChannelKind,
        code: &CouponCode,
    ) -> Result<Option<Attempt>, RedeemError> {
        let status = self.ledger.code_status(kind, code.as_str())?;
        if let Some(open) = status.unresolved {
            return Err(RedeemError::Unresolved {
                since_ms: open.created_ms,
                attempt: Box::new(open),
            });
        }
        match status.last_succeeded {
            Some(done) if !channel::capabilities(kind).multi_count => {
                Err(RedeemError::AlreadyRedeemed {
                    at_ms: done.state_ms,
                    by: done.cashier.clone(),
                    attempt: Box::new(done),
                })
            }
            other => Ok(other),
        }
    }

    /// Looks a code up: normalise, check locally, then the channel's preview (or the local
    /// one where the channel has none).
    pub async fn prepare(&self, input: PrepareInput) -> Result<Prepared, RedeemError> {
        self.refuse_if_halted()?;
        let rules = self.scan_rules.lock().expect("scan rules").clone();
        let code = scan::normalise(&input.raw_code, &rules)?;
        let ch = self.code_channel(input.channel)?;
        ch.check_code_shape(&code)?;
        let caps = ch.capabilities();
        let platform = if caps.platforms.is_empty() {
            None
        } else {
            Some(input.platform.ok_or(RedeemError::PlatformNeeded)?)
        };
        let earlier_success = self.check_code_history(input.channel, &code)?;
        let answer = ch.prepare(&code, platform).await?;
        self.note_reach(
            input.channel,
            &answer.exchanges,
            !matches!(&answer.value, channel::Prepared::Unknown { reason } if crate::desk::reachability::is_unreachable(reason)),
        );
        let exchange = ledger::Exchange::from(&answer.exchanges[..]);
        Ok(match answer.value {
            channel::Prepared::Ready(preview) => {
                let zone =
                    BusinessZone::from_minutes(self.ledger.business_day_rule().offset_minutes)
                        .unwrap_or_default();
                if let Some(why) = crate::validity::judge(&preview, self.clock.now_ms(), zone) {
                    return Ok(Prepared::OutOfValidity {
                        preview: Box::new(preview),
                        why,
                    });
                }
                let max_count = match (preview.redeemable_count, caps.multi_count) {
                    (Some(n), _) => n,
                    (None, true) => u32::MAX,
                    (None, false) => 1,
                };
                let now = self.clock.now_ms();
                let token = self.prepared.lock().expect("prepared cache").insert(
                    PendingPreview {
                        channel: input.channel,
                        preview: preview.clone(),
                        max_count,
                        exchange,
                        created_ms: now,
                    },
                    now,
                );
                Prepared::Ready {
                    token,
                    preview: Box::new(preview),
                    max_count,
                    earlier_success,
                    unreachable_since_ms: self.unreachable_since(input.channel),
                    wait_limit_ms: u64::try_from(ch.wait_limit().as_millis()).unwrap_or(u64::MAX),
                }
            }
            channel::Prepared::Rejected {
                code: channel_code,
                message,
                config_error,
            } => Prepared::Rejected {
                code,
                not_found: !config_error && channel::not_found::says_no_such_code(&message),
                channel_code,
                message,
                config_error,
            },
            channel::Prepared::Unknown { reason } => Prepared::Unknown {
                code,
                reason: reason.to_string(),
                reason_kind: reason.kind(),
            },
        })
    }

    /// Redeems a previewed code: the write-ahead commit, the channel call, the recorded
    /// answer. Exactly two durable commits.
    pub async fn redeem(&self, input: RedeemInput) -> Result<Redemption, RedeemError> {
        self.refuse_if_halted()?;
        // Before the preview is used up: a refusal here leaves it for after 开班.
        let cashier = self.shift_cashier()?;
        let now = self.clock.now_ms();
        let entry = {
            let mut cache = self.prepared.lock().expect("prepared cache");
            let entry = cache
                .peek(&input.token, now)
                .ok_or(RedeemError::PrepareExpired)?;
            // A refused count or certificate choice keeps the preview: the cashier corrects it.
            if input.count == 0 || input.count > entry.max_count {
                return Err(RedeemError::CountOutOfRange {
                    count: input.count,
                    max: entry.max_count,
                });
            }
            check_certificates(&entry.preview, &input.certificates)?;
            self.debounce(entry.channel, &entry.preview.code, now)?;
            cache.remove(&input.token);
            entry
        };
        let kind = entry.channel;
        let code = entry.preview.code.clone();
        let ch = self.code_channel(kind)?;
        // Again at confirmation: another till may have redeemed the code meanwhile.
        self.check_code_history(kind, &code)?;
        self.check_other_tills(kind, &code).await?;

        self.checkpoint(Checkpoint::BeforeWriteAhead);
        let id = self.ledger.begin_attempt(NewAttempt {
            created_ms: now,
            channel: kind,
            platform: entry.preview.platform,
            code: code.as_str().to_owned(),
            count: input.count,
            cashier: cashier.clone(),
            face_value: entry.preview.face_value,
            price: entry.preview.price_paid,
            remaining_before: entry
                .preview
                .times_remaining
                .or(entry.preview.uses_left)
                .map(i64::from),
            prepare: entry.exchange,
        })?;
        self.checkpoint(Checkpoint::AfterWriteAhead);
        // For the receipt, printed after the answer (slip/print.rs): memory only.
        self.remember_coupon_name(&id, entry.preview.name.as_deref());
        let request = RedeemRequest {
            id: id.clone(),
            code,
            count: input.count,
            platform: entry.preview.platform,
            certificates: input.certificates,
            order_amount: None,
            paid_amount: None,
            remaining_before: entry.preview.times_remaining.or(entry.preview.uses_left),
            cashier: Some(cashier.clone()),
            remark: None,
            attempted_at_ms: now,
        };
        let actor = Actor::Cashier(cashier);
        let mut skew = None;
        let (outcome, exchange) = match ch.redeem(&request).await {
            Ok(answer) => {
                skew = self.compare_clocks(kind, &answer.exchanges);
                self.note_reach(kind, &answer.exchanges, reached(&answer.value));
                let exchange = ledger::Exchange::from(&answer.exchanges[..]);
                (answer.value, exchange)
            }
            // Raised before anything was sent: a definitive local refusal, nothing consumed.
            Err(
                e @ (ChannelError::Config { .. }
                | ChannelError::InvalidInput { .. }
                | ChannelError::Unsupported { .. }
                | ChannelError::Client(_)),
            ) => (
                Outcome::Rejected {
                    code: "not_sent".to_owned(),
                    message: e.to_string(),
                    config_error: matches!(
                        e,
                        ChannelError::Config { .. } | ChannelError::Client(_)
                    ),
                },
                ledger::Exchange::default(),
            ),
            // Anything else may have happened after bytes left: only the resolver can say.
            Err(e) => (
                Outcome::Unknown {
                    reason: channel::UnknownReason::Inconclusive {
                        detail: e.to_string(),
                    },
                },
                ledger::Exchange::default(),
            ),
        };
        self.checkpoint(Checkpoint::AfterAnswer);
        let at = self.clock.now_ms();
        let transition = transition_for(&outcome, at, actor, exchange);
        match self.ledger.record(&id, transition.clone()) {
            Ok(attempt) => {
                if let Some(skew) = &skew {
                    self.mark_skewed(&id, skew)?;
                }
                self.announce_attempt(&attempt);
                Ok(Redemption::new(attempt, outcome))
            }
            Err(e) => self.answer_not_recorded(id, transition, e),
        }
    }

    fn refuse_if_halted(&self) -> Result<(), RedeemError> {
        match self.halted() {
            Some(detail) => Err(RedeemError::LedgerDamaged(detail)),
            None => Ok(()),
        }
    }

    /// The channel answered but the ledger refused the answer. The coupon may well be
    /// consumed, so the cashier sees 结果待确认 (never a grey failure), and the answer is
    /// written at the next background round ([`Desk::record_unrecorded`]).
    fn answer_not_recorded(
        &self,
        id: AttemptId,
        transition: Transition,
        error: LedgerError,
    ) -> Result<Redemption, RedeemError> {
        tracing::error!(attempt = %id, "the channel's answer could not be recorded: {error}");
        let attempt = self.ledger.attempt(&id).ok().flatten();
        self.unrecorded
            .lock()
            .expect("unrecorded answers")
            .push((id, transition));
        match attempt {
            Some(attempt) => Ok(Redemption::new(
                attempt,
                Outcome::Unknown {
                    reason: channel::UnknownReason::NotRecorded {
                        detail: error.to_string(),
                    },
                },
            )),
            None => Err(RedeemError::Ledger(error)),
        }
    }

    /// Writes the answers the ledger refused earlier, oldest first; stops at the first
    /// that is refused again. Runs before each resolver round, which takes it from there.
    pub fn record_unrecorded(&self) -> usize {
        let waiting: Vec<(AttemptId, Transition)> =
            std::mem::take(&mut *self.unrecorded.lock().expect("unrecorded answers"));
        let mut written = 0;
        let mut rest = waiting.into_iter();
        for (id, t) in rest.by_ref() {
            match self.ledger.record(&id, t.clone()) {
                Ok(attempt) => {
                    written += 1;
                    self.announce_attempt(&attempt);
                }
                Err(e) => {
                    tracing::warn!(attempt = %id, "still not recorded: {e}");
                    let mut left = vec![(id, t)];
                    left.extend(rest);
                    let mut q = self.unrecorded.lock().expect("unrecorded answers");
                    left.append(&mut q);
                    *q = left;
                    break;
                }
            }
        }
        written
    }

    /// Reserves (channel, code) for one send; a second within the window is a double read.
    fn debounce(
        &self,
        kind: ChannelKind,
        code: &CouponCode,
        now: UnixMs,
    ) -> Result<(), RedeemError> {
        let mut sends = self.recent_sends.lock().expect("debounce map");
        sends.retain(|_, at| now - *at < DEBOUNCE_MS);
        let key = (kind, code.as_str().to_owned());
        if sends.contains_key(&key) {
            return Err(RedeemError::Duplicate);
        }
        sends.insert(key, now);
        Ok(())
    }
}

/// Douyin vouchers with several certificates: at least one ticked, each from the preview,
/// each count within what the certificate allows.
fn check_certificates(preview: &Preview, chosen: &[CertificateChoice]) -> Result<(), RedeemError> {
    if preview.certificates.len() <= 1 && chosen.is_empty() {
        return Ok(());
    }
    if chosen.is_empty() {
        return Err(RedeemError::Certificates(
            "tick at least one certificate".into(),
        ));
    }
    for c in chosen {
        let Some(cert) = preview.certificates.iter().find(|p| p.id == c.id) else {
            return Err(RedeemError::Certificates(format!(
                "{} is not in the preview",
                c.id
            )));
        };
        if c.num == 0 || cert.num.is_some_and(|max| c.num > max) {
            return Err(RedeemError::Certificates(format!(
                "count {} for {}",
                c.num, c.id
            )));
        }
    }
    Ok(())
}

/// Whether a redemption's answer shows the channel was reached.
fn reached(outcome: &Outcome) -> bool {
    !matches!(outcome, Outcome::Unknown { reason } if crate::desk::reachability::is_unreachable(reason))
}
