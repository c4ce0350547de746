//! Undo (撤销) of a successful redemption (product.md "The manager side"): through the
//! channel where it has a cancel call (收呗), otherwise a manual undo that the manager
//! records after undoing it in the channel's back office — always with a reason and the
//! manager's name, never twice (the ledger refuses a second `cancelled`). The channel's own
//! rules are shown first and enforced (channels.md §5): Douyin codes only within one hour,
//! Dianping codes never, and a Meituan undo voids the customer's code and sends a new one.

use crate::channel::{self, CancelOutcome, CancelRequest, Platform, Warning};
use crate::clock::UnixMs;
use crate::desk::{Desk, ManagerUnlock};
use crate::ledger::{Actor, Attempt, AttemptId, AttemptState, AuditEntry, LedgerError, Transition};
use serde::Serialize;

/// Douyin redemptions can be undone within this long of the redemption (channels.md §5).
pub const DOUYIN_UNDO_WINDOW_MS: i64 = 60 * 60 * 1000;

/// How an undo would be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UndoVia {
    /// The channel's cancel call.
    Channel,
    /// Recorded by the manager after undoing it in the channel's back office.
    Manual,
}

/// What the manager sees before undoing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndoPreview {
    pub attempt: Attempt,
    pub via: UndoVia,
    /// Milliseconds left in the channel's window, where it has one.
    pub window_left_ms: Option<i64>,
    pub warnings: Vec<Warning>,
    /// Why it cannot be undone, if it cannot (the code of [`UndoError`]).
    pub refused: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error("no attempt {0}")]
    NotFound(String),
    #[error("only a successful redemption can be undone (this one is {0})")]
    NotSucceeded(AttemptState),
    #[error("already undone")]
    AlreadyUndone,
    #[error("an undo needs a reason")]
    ReasonNeeded,
    #[error("an undo needs the manager's name")]
    ManagerNeeded,
    #[error("Dianping (点评) codes cannot be undone")]
    CannotUndo,
    #[error("the channel's undo window has closed")]
    WindowClosed,
    #[error("the channel refused the undo ({code}): {message}")]
    ChannelRefused { code: String, message: String },
    #[error("the channel did not say whether it undid it ({0}): check its back office, then record a manual undo")]
    ChannelUnknown(String),
    /// The channel answered success without naming this write-off: no evidence it was
    /// undone. The redemption stays succeeded; the answer is in the audit trail.
    #[error("the channel answered success without naming this redemption ({0}): the undo is unconfirmed; check its back office, then record a manual undo")]
    Unconfirmed(String),
    #[error(transparent)]
    TooLong(#[from] crate::limits::TooLong),
    #[error(transparent)]
    Channel(#[from] channel::ChannelError),
    #[error(transparent)]
    Role(#[from] crate::desk::roles::RoleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl UndoError {
    pub fn code(&self) -> &'static str {
        match self {
            UndoError::NotFound(_) => "not_found",
            UndoError::TooLong(e) => e.code(),
            UndoError::NotSucceeded(_) => "not_succeeded",
            UndoError::AlreadyUndone => "already_undone",
            UndoError::ReasonNeeded => "reason_needed",
            UndoError::ManagerNeeded => "manager_needed",
            UndoError::CannotUndo => "cannot_undo",
            UndoError::WindowClosed => "undo_window_closed",
            UndoError::ChannelRefused { .. } => "undo_refused",
            UndoError::ChannelUnknown(_) => "undo_unknown",
            UndoError::Unconfirmed(_) => "undo_unconfirmed",
            UndoError::Channel(_) => "channel_error",
            UndoError::Role(e) => e.code(),
            UndoError::Ledger(e) => e.code(),
        }
    }
}

/// The channel's rules for undoing `a` at `now`: the warnings, the window left, and the
/// refusal if the rules forbid it.
fn rules(a: &Attempt, now: UnixMs) -> (Vec<Warning>, Option<i64>, Option<UndoError>) {
    let mut warnings = Vec::new();
    let mut window = None;
    let mut refusal = None;
    if let Some(p) = a.platform {
        warnings.push(p.undo_warning());
        match p {
            Platform::Dianping => refusal = Some(UndoError::CannotUndo),
            Platform::Tiktok => {
                let left = a.state_ms + DOUYIN_UNDO_WINDOW_MS - now;
                window = Some(left.max(0));
                if left <= 0 {
                    refusal = Some(UndoError::WindowClosed);
                }
            }
            Platform::Meituan | Platform::Mtdz => {}
        }
    }
    // One sentence per channel: a platform's sentence already says how its undo is done.
    if a.platform.is_none() && !channel::capabilities(a.channel).cancel {
        warnings.push(Warning::UndoIsManual);
    }
    match a.state {
        AttemptState::Succeeded => {}
        AttemptState::Cancelled => refusal = Some(UndoError::AlreadyUndone),
        other => refusal = Some(UndoError::NotSucceeded(other)),
    }
    (warnings, window, refusal)
}

impl Desk {
    fn succeeded_attempt(&self, id: &AttemptId) -> Result<Attempt, UndoError> {
        self.ledger
            .attempt(id)?
            .ok_or_else(|| UndoError::NotFound(id.to_string()))
    }

    /// What undoing this attempt would involve, for the manager to confirm.
    pub fn undo_preview(
        &self,
        unlock: &ManagerUnlock,
        id: &AttemptId,
    ) -> Result<UndoPreview, UndoError> {
        self.manager(unlock)?;
        let a = self.succeeded_attempt(id)?;
        let (warnings, window_left_ms, refusal) = rules(&a, self.clock.now_ms());
        let via = if channel::capabilities(a.channel).cancel {
            UndoVia::Channel
        } else {
            UndoVia::Manual
        };
        Ok(UndoPreview {
            attempt: a,
            via,
            window_left_ms,
            warnings,
            refused: refusal.map(|r| r.code().to_owned()),
        })
    }

    /// Undoes a successful redemption, through the channel where it can, else recorded as a
    /// manual undo. Either way one `cancelled` event with the reason and the manager's name.
    pub async fn undo(
        &self,
        id: &AttemptId,
        unlock: &ManagerUnlock,
        reason: &str,
    ) -> Result<Attempt, UndoError> {
        let manager = self.manager(unlock)?;
        let reason = crate::limits::Field::Reason.check(reason)?;
        let manager = crate::limits::Field::ManagerName.check(&manager)?;
        if reason.is_empty() {
            return Err(UndoError::ReasonNeeded);
        }
        if manager.is_empty() {
            return Err(UndoError::ManagerNeeded);
        }
        let a = self.succeeded_attempt(id)?;
        if let (_, _, Some(refusal)) = rules(&a, self.clock.now_ms()) {
            return Err(refusal);
        }
        let actor = Actor::Manager(manager.trim().to_owned());
        let mut t = Transition::new(AttemptState::Cancelled, self.clock.now_ms(), actor);
        match self
            .channels
            .get(&a.channel)
            .filter(|c| c.capabilities().cancel)
        {
            Some(ch) => {
                let code = channel::CouponCode::new(a.code.clone())
                    .map_err(|e| UndoError::ChannelUnknown(e.to_string()))?;
                let record_ids = self
                    .ledger
                    .attempt_events(id)?
                    .into_iter()
                    .flat_map(|e| e.channel_ids.into_values())
                    .collect();
                let answer = ch
                    .cancel(&CancelRequest {
                        id: a.id.clone(),
                        code,
                        record_ids,
                    })
                    .await?;
                let exchange = crate::ledger::Exchange::from(&answer.exchanges[..]);
                match answer.value {
                    CancelOutcome::Cancelled { channel_refs } => {
                        t = t
                            .reason(format!("undone through the channel: {}", reason.trim()))
                            .exchange(exchange);
                        for r in channel_refs {
                            t = t.channel_id(r.name, r.value);
                        }
                    }
                    CancelOutcome::Rejected { code, message } => {
                        return Err(UndoError::ChannelRefused { code, message })
                    }
                    CancelOutcome::Unknown { reason } => {
                        return Err(UndoError::ChannelUnknown(reason.to_string()))
                    }
                    CancelOutcome::Unconfirmed { detail } => {
                        // Kept with the channel's answer, so the manager who checks the back
                        // office later sees what was said.
                        self.ledger.record_audit(&AuditEntry {
                            time_ms: self.clock.now_ms(),
                            actor: Actor::Manager(manager.trim().to_owned()),
                            action: "undo_unconfirmed".into(),
                            subject: Some(id.to_string()),
                            detail: Some(format!(
                                "{detail}; reason: {}; answer: {}",
                                reason.trim(),
                                exchange.response.as_deref().unwrap_or("")
                            )),
                        })?;
                        return Err(UndoError::Unconfirmed(detail));
                    }
                }
            }
            None => t = t.reason(format!("manual undo: {}", reason.trim())),
        }
        let undone = self.ledger.record(id, t)?;
        self.announce_attempt(&undone);
        Ok(undone)
    }
}
