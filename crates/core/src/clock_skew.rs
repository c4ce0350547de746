//! The desk's clock against the channels' (issue 18 item 5): the `Date` header of every
//! channel answer is compared with the desk's wall clock. Business days, validity and the
//! channels' signed timestamps all read the desk's clock, so a skew beyond
//! [`SKEW_LIMIT_MS`] is shown on the cashier screen (through `AppInfo`) and noted in the
//! audit trail against each attempt it affects. The `Date` header has one-second
//! resolution and includes the network delay: far below the limit.

use crate::channel::{ChannelKind, Exchange};
use crate::clock::UnixMs;
use crate::desk::Desk;
use crate::ledger::{Actor, AttemptId, AuditEntry, LedgerError};
use serde::{Deserialize, Serialize};

/// More than this between the desk's clock and a channel's is shown and noted.
pub const SKEW_LIMIT_MS: i64 = 2 * 60_000;

/// The audit action that marks an attempt made while the clocks disagreed.
pub const SKEW_AUDIT_ACTION: &str = "clock_skew";

/// The last comparison with one channel's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockSkew {
    pub channel: ChannelKind,
    /// The desk's clock minus the channel's (positive: the desk is ahead).
    pub skew_ms: i64,
    /// When it was read, on the desk's clock.
    pub seen_ms: UnixMs,
}

impl ClockSkew {
    pub fn over_limit(&self) -> bool {
        self.skew_ms.abs() > SKEW_LIMIT_MS
    }
}

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
