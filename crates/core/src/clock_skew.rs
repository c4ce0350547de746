//! The desk's clock against the channels': the `Date` header of every
//! channel answer is compared with the desk's wall clock. Business days, validity and the
//! channels' signed timestamps all read the desk's clock, so a skew beyond
//! [`SKEW_LIMIT_MS`] is shown on the cashier screen (through `AppInfo`) and noted in the
//! audit trail against each attempt it affects. The `Date` header has one-second
//! resolution and includes the network delay: far below the limit.

use crate::channel::ChannelKind;
use crate::clock::UnixMs;
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
