//! What each channel can do, declared as data so the UI, the resolver and reconciliation
//! branch on it instead of on the channel's name.

use super::preview::Platform;
use serde::Serialize;

/// How an Unknown redemption is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownResolution {
    /// Ask the channel for the record by our idempotency key (收呗 `quary`).
    Query,
    /// Read the coupon's state again (智迈 `coupon.off-coupon`: used after our attempt).
    CouponState,
    /// Compare the remaining uses before and now (联拓富 `userTimesCardDetail`).
    RemainingUses,
    /// Look for the code in the day's history (通联 `verifyHistory`); absence proves nothing.
    History,
    /// Send the same message again with the same key (增值券 outbox, `dealSerial`).
    Resend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// A remote preview call exists (otherwise the preview is local checks only).
    pub remote_prepare: bool,
    /// The channel takes our redemption id as an idempotency key.
    pub idempotency_key: bool,
    /// Whether a redemption that ended Unknown may be sent again under the same key.
    pub resend_after_unknown: bool,
    pub unknown_resolution: UnknownResolution,
    /// A history call for reconciliation exists.
    pub history: bool,
    /// An undo call exists (otherwise undo is recorded manually).
    pub cancel: bool,
    /// More than one use can be consumed in one call.
    pub multi_count: bool,
    /// Douyin certificates are chosen at redemption.
    pub certificates: bool,
    /// The platforms the cashier chooses between (通联 only).
    pub platforms: &'static [Platform],
    /// The channel redeems codes (false for 增值券, which sends order notifications).
    pub redeems_codes: bool,
}
