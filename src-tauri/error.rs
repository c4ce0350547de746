//! What the UI receives when a command fails: `{code, message}`. The UI branches on `code`
//! (a small, stable set) and shows its own translated text; `message` is the English detail
//! for the log and the About box. A code is added only when the UI branches on it.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UiError {
    pub code: &'static str,
    pub message: String,
    /// The setting a refusal is about (`channels.shoubei.merchant_no`, `scan_prefix`), so
    /// the settings screen can show the message beside that field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl UiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> UiError {
        UiError {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: Option<String>) -> UiError {
        self.field = field;
        self
    }
}

impl From<&redeemdesk_core::data_dir::DataDirError> for UiError {
    fn from(e: &redeemdesk_core::data_dir::DataDirError) -> UiError {
        UiError::new(e.code(), e.to_string())
    }
}

/// Every core error that reaches a command has a stable `code()`; the UI branches on it.
macro_rules! from_core_error {
    ($($t:ty),+) => {$(
        impl From<$t> for UiError {
            fn from(e: $t) -> UiError {
                UiError::new(e.code(), e.to_string())
            }
        }
    )+};
}

from_core_error!(
    redeemdesk_core::redeem::RedeemError,
    redeemdesk_core::ledger::LedgerError,
    redeemdesk_core::resolver::DecisionError,
    redeemdesk_core::outbox::OrderError,
    redeemdesk_core::roles::RoleError,
    redeemdesk_core::undo::UndoError,
    redeemdesk_core::desk::reconcile::ReconcileError,
    redeemdesk_core::statement::StatementError,
    redeemdesk_core::slip::PrintError
);

/// A refused setting names its field, so the UI can point at it.
impl From<redeemdesk_core::channel_setup::SetupError> for UiError {
    fn from(e: redeemdesk_core::channel_setup::SetupError) -> UiError {
        UiError::new(e.code(), e.to_string()).with_field(e.field())
    }
}
