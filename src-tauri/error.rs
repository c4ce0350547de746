//! What the UI receives when a command fails: `{code, message}`. The UI branches on `code`
//! (a small, stable set) and shows its own translated text; `message` is the English detail
//! for the log and the About box. A code is added only when the UI branches on it.

use redeemdesk_core::refusal::Refusal;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: &'static str,
    pub message: String,
    /// The setting a refusal is about (`channels.shoubei.merchant_no`, `scan_prefix`), so
    /// the settings screen can show the message beside that field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The refusal's data (core refusal.rs), from which the UI writes its own sentence:
    /// `{at_ms, by}` for a code redeemed before, `{ch, pos}` for a bad character…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl UiError {
    /// A refusal of the command layer itself (a malformed argument, a stopped worker).
    pub fn new(code: &'static str, message: impl Into<String>) -> UiError {
        UiError {
            code,
            message: message.into(),
            field: None,
            detail: None,
        }
    }
}

/// Every core refusal reaches the UI the same way: its code, its field, its data.
impl<E: Refusal> From<E> for UiError {
    fn from(e: E) -> UiError {
        UiError {
            code: e.code(),
            message: e.to_string(),
            field: e.field(),
            detail: e.detail(),
        }
    }
}
