//! The desk's side of the clock comparison (`crate::clock_skew`): the last reading per
//! channel, the banner's worst one, and the audit note against an affected attempt.

use super::Desk;
use crate::channel::{ChannelKind, Exchange};
use crate::clock_skew::{ClockSkew, SKEW_AUDIT_ACTION};
use crate::ledger::{Actor, AttemptId, AuditEntry, LedgerError};

impl Desk {
    /// Compares the desk's clock with the `Date` of the last answer among `exchanges` that
    /// has one, and keeps the reading for that channel. Answers it when over the limit.
    pub(crate) fn compare_clocks(
        &self,
        channel: ChannelKind,
        exchanges: &[Exchange],
    ) -> Option<ClockSkew> {
        let server_ms = exchanges.iter().rev().find_map(|e| e.server_date_ms)?;
        let now = self.clock.now_ms();
        let reading = ClockSkew {
            channel,
            skew_ms: now - server_ms,
            seen_ms: now,
        };
        if reading.over_limit() {
            tracing::warn!(%channel, skew_ms = reading.skew_ms, "the desk's clock disagrees with the channel's");
        }
        self.clock_skews
            .lock()
            .expect("clock skews")
            .insert(channel, reading);
        reading.over_limit().then_some(reading)
    }

    /// The largest skew over the limit among the channels' last answers, for the banner.
    pub fn clock_skew(&self) -> Option<ClockSkew> {
        self.clock_skews
            .lock()
            .expect("clock skews")
            .values()
            .filter(|s| s.over_limit())
            .max_by_key(|s| s.skew_ms.abs())
            .copied()
    }

    /// The channel reading furthest from the desk's clock among the channels' last answers,
    /// over the limit or not: what the uploader tells HQ (its `health` shows it beside
    /// HQ's own comparison). `None` before any channel answered with a `Date`.
    pub fn channel_clock(&self) -> Option<ClockSkew> {
        self.clock_skews
            .lock()
            .expect("clock skews")
            .values()
            .max_by_key(|s| s.skew_ms.abs())
            .copied()
    }

    /// Notes in the audit trail that `attempt` was made while the clocks disagreed.
    pub(crate) fn mark_skewed(
        &self,
        attempt: &AttemptId,
        skew: &ClockSkew,
    ) -> Result<(), LedgerError> {
        self.ledger.record_audit(&AuditEntry {
            time_ms: skew.seen_ms,
            actor: Actor::System,
            action: SKEW_AUDIT_ACTION.to_owned(),
            subject: Some(attempt.as_str().to_owned()),
            detail: Some(format!(
                "desk clock {:+} s against {}'s Date header",
                skew.skew_ms / 1000,
                skew.channel
            )),
        })?;
        Ok(())
    }
}
