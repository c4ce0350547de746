//! What a manager can do from the 需处理 inbox besides deciding (resolver.rs `decide`):
//! ask the channel about an unknown attempt right now instead of waiting for its next
//! scheduled check, send a failing 增值券 notification again now, or settle a notification
//! by hand with a reason. Each is audited with the manager's name; none changes what was
//! logged except through the ledger's own transitions.

use crate::channel::ChannelKind;
use crate::desk::resolver::Step;
use crate::desk::{Desk, ManagerUnlock};
use crate::ledger::{
    Actor, Attempt, AttemptId, AttemptState, AuditEntry, DueCheck, LedgerError, Notification,
    NotificationId, NotificationState,
};

#[derive(Debug, thiserror::Error)]
pub enum InboxActionError {
    #[error("no such attempt or notification: {0}")]
    NotFound(String),
    #[error("only an unknown attempt or a queued notification can be retried (this one is {0})")]
    NotOpen(String),
    #[error("{0} is not configured")]
    NotConfigured(ChannelKind),
    #[error("the stored attempt cannot be rebuilt into a request")]
    Unrebuildable,
    #[error("a manual settlement needs a reason")]
    ReasonNeeded,
    #[error(transparent)]
    TooLong(#[from] crate::limits::TooLong),
    #[error(transparent)]
    Role(#[from] crate::desk::roles::RoleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl InboxActionError {
    pub fn code(&self) -> &'static str {
        match self {
            InboxActionError::NotFound(_) => "not_found",
            InboxActionError::NotOpen(_) => "not_open",
            InboxActionError::NotConfigured(_) => "channel_not_configured",
            InboxActionError::Unrebuildable => "not_rebuildable",
            InboxActionError::ReasonNeeded => "reason_needed",
            InboxActionError::TooLong(e) => e.code(),
            InboxActionError::Role(e) => e.code(),
            InboxActionError::Ledger(e) => e.code(),
        }
    }
}

impl Desk {
    fn audit_manager(
        &self,
        manager: &str,
        action: &str,
        subject: String,
        detail: Option<String>,
    ) -> Result<(), LedgerError> {
        self.ledger.record_audit(&AuditEntry {
            time_ms: self.clock.now_ms(),
            actor: Actor::Manager(manager.to_owned()),
            action: action.to_owned(),
            subject: Some(subject),
            detail,
        })?;
        Ok(())
    }

    /// Checks one unknown attempt with its channel now (the same call and idempotency key
    /// the resolver uses). Settles it if the channel is definite; otherwise the check is
    /// recorded like any scheduled one. Also works on an attempt the resolver handed over.
    pub async fn retry_unknown(
        &self,
        id: &AttemptId,
        unlock: &ManagerUnlock,
    ) -> Result<Attempt, InboxActionError> {
        let manager = &self.manager(unlock)?;
        let attempt = self
            .ledger
            .attempt(id)?
            .ok_or_else(|| InboxActionError::NotFound(id.to_string()))?;
        if attempt.state != AttemptState::Unknown {
            return Err(InboxActionError::NotOpen(attempt.state.as_str().to_owned()));
        }
        let channel = self
            .channels
            .get(&attempt.channel)
            .ok_or(InboxActionError::NotConfigured(attempt.channel))?;
        let req =
            crate::desk::resolver::request_for(&attempt).ok_or(InboxActionError::Unrebuildable)?;
        self.audit_manager(manager, "retry_unknown", id.to_string(), None)?;
        let status = self.ledger.resolver_status(id)?;
        let due = DueCheck {
            tries: status.as_ref().map_or(0, |s| s.tries),
            next_check_ms: self.clock.now_ms(),
            attempt,
        };
        let answer = channel
            .resolve_all(std::slice::from_ref(&req))
            .await
            .pop()
            .expect("one answer per request");
        match self.apply(&due, answer) {
            Ok(Step::Settled | Step::HandedOver | Step::Again) => {}
            // The background resolver settled it meanwhile: what it recorded stands.
            Err(LedgerError::IllegalTransition { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.ledger
            .attempt(id)?
            .ok_or_else(|| InboxActionError::NotFound(id.to_string()))
    }

    /// Sends one queued notification again now, whatever its backoff says.
    pub async fn retry_notification(
        &self,
        id: &NotificationId,
        unlock: &ManagerUnlock,
    ) -> Result<Notification, InboxActionError> {
        let manager = &self.manager(unlock)?;
        let n = self
            .ledger
            .notification(id)?
            .ok_or_else(|| InboxActionError::NotFound(id.to_string()))?;
        if n.state != NotificationState::Queued {
            return Err(InboxActionError::NotOpen(n.state.as_str().to_owned()));
        }
        let channel = self
            .channels
            .get(&ChannelKind::Yhtd)
            .ok_or(InboxActionError::NotConfigured(ChannelKind::Yhtd))?;
        self.audit_manager(manager, "retry_notification", id.to_string(), None)?;
        Ok(self.deliver_one(channel, &n).await?.0)
    }

    /// Settles a notification by hand (confirmed in the platform's back office, or given
    /// up on): delivered or rejected, with the reason; the ledger audits it.
    pub fn settle_notification(
        &self,
        id: &NotificationId,
        delivered: bool,
        unlock: &ManagerUnlock,
        reason: &str,
    ) -> Result<Notification, InboxActionError> {
        let manager = self.manager(unlock)?;
        let reason = crate::limits::Field::Reason.check(reason)?;
        let manager = crate::limits::Field::ManagerName.check(&manager)?;
        if reason.is_empty() {
            return Err(InboxActionError::ReasonNeeded);
        }
        if self.ledger.notification(id)?.is_none() {
            return Err(InboxActionError::NotFound(id.to_string()));
        }
        let to = if delivered {
            NotificationState::Delivered
        } else {
            NotificationState::Rejected
        };
        let n = self.ledger.mark_notification(
            id,
            to,
            &Actor::Manager(manager.to_owned()),
            reason.trim(),
            self.clock.now_ms(),
        )?;
        self.announce_notification(&n);
        Ok(n)
    }
}
