//! The shared answers of every channel (channels.md §0 "Outcome model"): exactly one of
//! Succeeded / Rejected / Unknown per call, how an Unknown is later resolved, and the raw
//! exchange (secrets removed) the ledger keeps as evidence.

use super::ids::{CouponCode, RedemptionId};
use super::preview::{CertificateChoice, Platform, Preview};
use crate::clock::UnixMs;
use crate::money::Fen;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One id a channel returned for a redemption, named as the channel names it
/// (`order_no`, `tranNo`, `bizId`, `receiptCode`, …). Every one of them is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRef {
    pub name: String,
    pub value: String,
}

impl ChannelRef {
    pub fn new(name: &str, value: impl Into<String>) -> ChannelRef {
        ChannelRef {
            name: name.to_owned(),
            value: value.into(),
        }
    }
}

/// What a successful redemption consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redeemed {
    pub channel_refs: Vec<ChannelRef>,
    pub face_value: Option<Fen>,
    /// What the merchant receives, when the channel says.
    pub settled: Option<Fen>,
    pub count: u32,
}

/// Why an answer could not be taken as Succeeded or Rejected. Never a failure: the attempt
/// is resolved later (channels.md §0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnknownReason {
    Timeout,
    ConnectionFailed {
        detail: String,
    },
    ConnectionReset {
        detail: String,
    },
    HttpStatus {
        status: u16,
    },
    NotJson,
    /// The body is JSON but a field is not what the channel documents.
    Undecodable {
        field: String,
        message: String,
    },
    BadSignature,
    /// A success that carries no signature where the channel signs its answers.
    UnsignedSuccess,
    /// "System busy", rate limit, sign replay and similar codes.
    ChannelBusy {
        code: String,
        message: String,
    },
    /// The answer is well formed but says nothing decisive.
    Inconclusive {
        detail: String,
    },
    /// The channel answered, but the ledger could not be written (a full disk, a locked
    /// file): the answer is kept in memory and written as soon as the ledger takes it.
    NotRecorded {
        detail: String,
    },
}

impl UnknownReason {
    /// The serde tag: what a front end branches on (the text is for people).
    pub fn kind(&self) -> &'static str {
        match self {
            UnknownReason::Timeout => "timeout",
            UnknownReason::ConnectionFailed { .. } => "connection_failed",
            UnknownReason::ConnectionReset { .. } => "connection_reset",
            UnknownReason::HttpStatus { .. } => "http_status",
            UnknownReason::NotJson => "not_json",
            UnknownReason::Undecodable { .. } => "undecodable",
            UnknownReason::BadSignature => "bad_signature",
            UnknownReason::UnsignedSuccess => "unsigned_success",
            UnknownReason::ChannelBusy { .. } => "channel_busy",
            UnknownReason::Inconclusive { .. } => "inconclusive",
            UnknownReason::NotRecorded { .. } => "not_recorded",
        }
    }
}

impl fmt::Display for UnknownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnknownReason::Timeout => f.write_str("timed out"),
            UnknownReason::ConnectionFailed { detail } => write!(f, "could not connect: {detail}"),
            UnknownReason::ConnectionReset { detail } => write!(f, "connection lost: {detail}"),
            UnknownReason::HttpStatus { status } => write!(f, "HTTP {status}"),
            UnknownReason::NotJson => f.write_str("the answer is not JSON"),
            UnknownReason::Undecodable { field, message } => {
                write!(f, "unreadable field {field}: {message}")
            }
            UnknownReason::BadSignature => f.write_str("the answer's signature does not verify"),
            UnknownReason::UnsignedSuccess => f.write_str("a success without a signature"),
            UnknownReason::ChannelBusy { code, message } => {
                write!(f, "channel busy ({code}): {message}")
            }
            UnknownReason::Inconclusive { detail } => write!(f, "inconclusive answer: {detail}"),
            UnknownReason::NotRecorded { detail } => {
                write!(f, "the answer is not written to the ledger yet: {detail}")
            }
        }
    }
}

/// The answer to a redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded(Redeemed),
    /// A definitive business refusal: nothing was consumed; never retried. `config_error`
    /// is set when the channel refused our parameters or signature (the app then shows a
    /// configuration problem rather than a coupon problem).
    Rejected {
        code: String,
        message: String,
        config_error: bool,
    },
    Unknown {
        reason: UnknownReason,
    },
}

impl Outcome {
    pub fn rejected(code: impl Into<String>, message: impl Into<String>) -> Outcome {
        Outcome::Rejected {
            code: code.into(),
            message: message.into(),
            config_error: false,
        }
    }

    pub fn unknown(reason: UnknownReason) -> Outcome {
        Outcome::Unknown { reason }
    }
}

/// The answer to "what became of that Unknown?". `NotConsumed` only ever comes from a
/// definite statement by the channel (a state or remaining count read back) — never from a
/// record's absence in a history list (channels.md §0, product.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Resolution {
    Succeeded(Redeemed),
    NotConsumed { evidence: String },
    StillUnknown { reason: UnknownReason },
}

/// The answer to a preview request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Prepared {
    Ready(Preview),
    /// The code cannot be redeemed (used, expired, refunded, unknown code, …).
    Rejected {
        code: String,
        message: String,
        config_error: bool,
    },
    /// No decisive answer; the cashier may simply try again.
    Unknown {
        reason: UnknownReason,
    },
}

/// The answer to an undo through the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CancelOutcome {
    /// The answer names this write-off as cancelled.
    Cancelled {
        channel_refs: Vec<ChannelRef>,
    },
    /// A success that does not name this write-off (a bare flag, or another record): no
    /// evidence that it was undone. The attempt stays succeeded; a manager checks.
    Unconfirmed {
        detail: String,
    },
    Rejected {
        code: String,
        message: String,
    },
    Unknown {
        reason: UnknownReason,
    },
}

/// The answer to a 增值券 order notification (channels.md §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum NotifyOutcome {
    Delivered,
    Rejected {
        code: String,
        message: String,
    },
    /// Resent later by the outbox with the same `dealSerial`.
    Unknown {
        reason: UnknownReason,
    },
}

/// Everything one redemption intent needs; stored with the attempt before the first call
/// and passed unchanged to `redeem` and to every `resolve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemRequest {
    pub id: RedemptionId,
    pub code: CouponCode,
    /// How many uses to consume (≥ 1).
    pub count: u32,
    /// 通联 only: which platform the code belongs to.
    pub platform: Option<Platform>,
    /// 通联 Douyin only: the certificates ticked in the preview.
    pub certificates: Vec<CertificateChoice>,
    /// The order's original price (收呗 `amount`, 智迈 `orderAmount`), when the till knows it.
    pub order_amount: Option<Fen>,
    /// What the customer paid (收呗 `real_amount`), when the till knows it.
    pub paid_amount: Option<Fen>,
    /// 联拓富: `suplusTimes` read by the preview. Required there: it settles an Unknown.
    pub remaining_before: Option<u32>,
    /// The cashier's login (通联 `operUserId`).
    pub cashier: Option<String>,
    pub remark: Option<String>,
    /// When the attempt was written; the business day for a history lookup.
    pub attempted_at_ms: UnixMs,
}

/// An undo through the channel (收呗 only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// The redemption being undone (its id was the `wf_trace_no`).
    pub id: RedemptionId,
    pub code: CouponCode,
    /// The channel's own record ids of the success (收呗 `order_no`): an answer naming one
    /// of them names this write-off.
    pub record_ids: Vec<String>,
}

/// One redemption as a channel's history reports it (通联 verifyHistory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub code: String,
    pub used_at: Option<String>,
    pub status: Option<String>,
    /// `couponCancelStatus`: whether it can still be undone.
    pub can_undo: Option<bool>,
    pub price_paid: Option<Fen>,
    pub face_value: Option<Fen>,
    pub title: Option<String>,
    pub operator: Option<String>,
    pub verify_type: Option<String>,
    /// Our id for the write-off, where a history line carries it (`orderId` / `reqSeq`;
    /// not in the public table, channels.md §5): it names the attempt outright.
    #[serde(default)]
    pub order_id: Option<String>,
}

/// One HTTP exchange as the ledger keeps it: the request and response text with signatures,
/// tokens and keys replaced by `<redacted>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request: String,
    pub response: Option<String>,
    pub http_status: Option<u16>,
    /// The answer's HTTP `Date`, as the channel's clock read it (clock_skew.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_date_ms: Option<crate::clock::UnixMs>,
}

/// A value together with the exchanges that produced it (several for a paged history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchanged<T> {
    pub value: T,
    pub exchanges: Vec<Exchange>,
}

impl<T> Exchanged<T> {
    pub fn one(value: T, exchange: Exchange) -> Exchanged<T> {
        Exchanged {
            value,
            exchanges: vec![exchange],
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Exchanged<U> {
        Exchanged {
            value: f(self.value),
            exchanges: self.exchanges,
        }
    }
}

/// A request as the resolver rebuilds it, for the channel modules' unit tests.
#[cfg(test)]
pub(crate) fn test_request(code: &str, count: u32, remaining_before: Option<u32>) -> RedeemRequest {
    RedeemRequest {
        id: RedemptionId::new_v4(),
        code: CouponCode::new(code).expect("a test code is a code"),
        count,
        platform: None,
        certificates: Vec::new(),
        order_amount: None,
        paid_amount: None,
        remaining_before,
        cashier: None,
        remark: None,
        attempted_at_ms: 1_795_312_800_000,
    }
}
