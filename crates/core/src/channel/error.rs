//! The channel layer's errors: what went wrong before or around a call, as opposed to the
//! channel's own answer (which is an `Outcome`, including Unknown).

use super::lenient::DecodeError;
use super::ChannelKind;

/// An operation a channel may not have (see `Capabilities`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Prepare,
    Redeem,
    Resolve,
    History,
    Cancel,
    Notify,
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operation::Prepare => "prepare",
            Operation::Redeem => "redeem",
            Operation::Resolve => "resolve",
            Operation::History => "history",
            Operation::Cancel => "cancel",
            Operation::Notify => "notify",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// A setting is missing or malformed; `field` is its path, e.g.
    /// `channels.shoubei.merchant_no`.
    #[error("{field}: {reason}")]
    Config { field: String, reason: String },
    /// The caller's input cannot be sent (e.g. a count of 0, a missing platform).
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    /// This channel has no such call; the UI offers the manual path instead.
    #[error("{channel} has no {operation} call")]
    Unsupported {
        channel: ChannelKind,
        operation: Operation,
    },
    /// A call that has no outcome of its own (history) could not complete.
    #[error("transport: {reason}")]
    Transport {
        reason: String,
        /// The `UnknownReason` kind when the call did not complete (`connection_failed`…).
        kind: Option<&'static str>,
    },
    /// A call that has no outcome of its own (history) answered something unreadable.
    #[error("undecodable answer, {field}: {message}")]
    Decode { field: String, message: String },
    /// The HTTP client could not be built (TLS backend).
    #[error("HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

impl From<DecodeError> for ChannelError {
    fn from(e: DecodeError) -> Self {
        ChannelError::Decode {
            field: e.field,
            message: e.message,
        }
    }
}
