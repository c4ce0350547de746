//! The commands' arguments as the UI sends them (text), read into the core's types; a
//! malformed one is refused with the same code everywhere.

use crate::error::UiError;
use redeemdesk_core::business_day::BusinessDay;
use redeemdesk_core::ledger::{AttemptId, NotificationId};

/// A business day, `YYYY-MM-DD`.
pub fn day(text: &str) -> Result<BusinessDay, UiError> {
    text.parse()
        .map_err(|e| UiError::new("bad_day", format!("{e}")))
}

pub fn attempt_id(text: &str) -> Result<AttemptId, UiError> {
    AttemptId::parse(text).map_err(|e| UiError::new("bad_id", e.to_string()))
}

pub fn notification_id(text: &str) -> Result<NotificationId, UiError> {
    NotificationId::parse(text).map_err(|e| UiError::new("bad_id", e.to_string()))
}
