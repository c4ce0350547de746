//! What a person is told when the core refuses: a stable `code` the UI branches on, the
//! setting it is about (`field`), and the refusal's data (`detail`) so the UI writes its own
//! sentence in its own language and never reads the English `message`.
//!
//! Every error type that reaches a front end is listed here once; the Tauri layer turns any
//! `Refusal` into its `UiError`, the CLI prints the message.

use serde_json::{json, Value};

pub trait Refusal: std::fmt::Display {
    fn code(&self) -> &'static str;
    /// The setting the refusal is about, e.g. `channels.shoubei.merchant_no`.
    fn field(&self) -> Option<String> {
        None
    }
    /// The refusal's data, e.g. `{"at_ms": …, "by": "王芳"}` for a code redeemed before.
    fn detail(&self) -> Option<Value> {
        None
    }
}

/// The types whose refusals carry no data beyond their code.
macro_rules! plain {
    ($($t:ty),+ $(,)?) => {$(
        impl Refusal for $t {
            fn code(&self) -> &'static str {
                <$t>::code(self)
            }
        }
    )+};
}

plain!(
    crate::ledger::LedgerError,
    crate::resolver::DecisionError,
    crate::outbox::OrderError,
    crate::undo::UndoError,
    crate::desk::reconcile::ReconcileError,
    crate::statement::StatementError,
    crate::slip::print::PrintError,
    crate::inbox_actions::InboxActionError,
    crate::statement_mappings::MappingError,
    crate::export::ExportError,
    crate::ledger::SetAsideError,
    crate::data_dir::DataDirError,
);

impl Refusal for crate::scan::ScanError {
    fn code(&self) -> &'static str {
        crate::scan::ScanError::code(self)
    }
    fn detail(&self) -> Option<Value> {
        use crate::scan::ScanError;
        match self {
            ScanError::Empty => None,
            ScanError::TooLong { len, max } => Some(json!({ "len": len, "max": max })),
            // `position` counts from 1, as a person does.
            ScanError::NotACodeCharacter { ch, position } => Some(json!({
                "ch": ch.to_string(),
                "pos": position,
            })),
        }
    }
}

impl Refusal for crate::limits::TooLong {
    fn code(&self) -> &'static str {
        crate::limits::TooLong::code(self)
    }
    fn detail(&self) -> Option<Value> {
        Some(json!({
            "what": self.field.names().1,
            "max": self.field.max_chars(),
            "got": self.got,
        }))
    }
}

impl Refusal for crate::roles::RoleError {
    fn code(&self) -> &'static str {
        crate::roles::RoleError::code(self)
    }
    fn detail(&self) -> Option<Value> {
        use crate::roles::RoleError;
        match self {
            RoleError::Wrong { tries_left } => Some(json!({ "tries_left": tries_left })),
            RoleError::LockedOut { wait_ms } => Some(json!({ "wait_ms": wait_ms })),
            RoleError::TooLong(e) => e.detail(),
            _ => None,
        }
    }
}

impl Refusal for crate::channel::ChannelError {
    fn code(&self) -> &'static str {
        match self {
            crate::channel::ChannelError::Config { .. } => "channel_config",
            _ => "channel_error",
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            crate::channel::ChannelError::Config { field, .. } => Some(field.clone()),
            _ => None,
        }
    }
    fn detail(&self) -> Option<Value> {
        match self {
            crate::channel::ChannelError::Transport {
                kind: Some(kind), ..
            } => Some(json!({ "reason_kind": kind })),
            _ => None,
        }
    }
}

impl Refusal for crate::redeem::RedeemError {
    fn code(&self) -> &'static str {
        crate::redeem::RedeemError::code(self)
    }
    fn field(&self) -> Option<String> {
        match self {
            crate::redeem::RedeemError::Channel(e) => e.field(),
            _ => None,
        }
    }
    fn detail(&self) -> Option<Value> {
        use crate::redeem::RedeemError;
        match self {
            RedeemError::Scan(e) => e.detail(),
            RedeemError::AlreadyRedeemed { at_ms, by, .. } => {
                Some(json!({ "at_ms": at_ms, "by": by }))
            }
            RedeemError::Unresolved { since_ms, .. } => Some(json!({ "since_ms": since_ms })),
            RedeemError::CountOutOfRange { count, max } => {
                Some(json!({ "count": count, "max": max }))
            }
            RedeemError::ChannelNotConfigured(kind) | RedeemError::NotACodeChannel(kind) => {
                Some(json!({ "channel": kind }))
            }
            RedeemError::AtAnotherTill(crate::cross_till::RedeemedAtAnotherTill(found)) => {
                Some(json!({ "till": found.till, "at_ms": found.at_ms, "by": found.cashier }))
            }
            RedeemError::Role(e) => e.detail(),
            RedeemError::Channel(e) => e.detail(),
            _ => None,
        }
    }
}

impl Refusal for crate::channel_setup::SetupError {
    fn code(&self) -> &'static str {
        crate::channel_setup::SetupError::code(self)
    }
    fn field(&self) -> Option<String> {
        crate::channel_setup::SetupError::field(self)
    }
    fn detail(&self) -> Option<Value> {
        match self {
            crate::channel_setup::SetupError::Invalid(e) => e.detail(),
            _ => None,
        }
    }
}

impl Refusal for crate::desk_settings::SettingsError {
    fn code(&self) -> &'static str {
        crate::desk_settings::SettingsError::code(self)
    }
    fn field(&self) -> Option<String> {
        crate::desk_settings::SettingsError::field(self).map(str::to_owned)
    }
}

impl Refusal for crate::config::ConfigError {
    fn code(&self) -> &'static str {
        crate::config::ConfigError::code(self)
    }
    fn field(&self) -> Option<String> {
        crate::config::ConfigError::field(self).map(str::to_owned)
    }
    fn detail(&self) -> Option<Value> {
        crate::config::ConfigError::detail(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redeem::RedeemError;

    #[test]
    fn a_refusal_with_data_carries_it_apart_from_the_english_message() {
        // "6795中文": the fifth character, as the cashier counts.
        let e =
            RedeemError::Scan(crate::scan::normalise("6795中文", &Default::default()).unwrap_err());
        assert_eq!(e.code(), "code_bad_character");
        assert_eq!(e.detail(), Some(json!({ "ch": "中", "pos": 5 })));
        let e = RedeemError::Role(crate::roles::RoleError::LockedOut { wait_ms: 1234 });
        assert_eq!(e.detail(), Some(json!({ "wait_ms": 1234 })));
        let e = crate::channel::ChannelError::Transport {
            reason: "could not connect: refused".into(),
            kind: Some("connection_failed"),
        };
        assert_eq!(
            e.detail(),
            Some(json!({ "reason_kind": "connection_failed" }))
        );
    }
}
