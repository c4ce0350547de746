//! The statement column mapping a manager saved for each channel (对账 with a statement
//! file): which header holds the code, the amount, the state… Kept in the ledger's settings
//! (with their history), so the next day's statement of the same channel reconciles without
//! mapping it again.

use crate::channel::ChannelKind;
use crate::desk::{Desk, ManagerUnlock};
use crate::ledger::{Actor, LedgerError};
use crate::limits::Field;
use crate::reconcile::StatementMapping;

fn key(kind: ChannelKind) -> String {
    format!("reconcile.statement_mapping.{}", kind.as_str())
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("the mapping needs the name of the column that holds the coupon code")]
    CodeColumnNeeded,
    #[error(transparent)]
    TooLong(#[from] crate::limits::TooLong),
    #[error(transparent)]
    Role(#[from] crate::desk::roles::RoleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl MappingError {
    pub fn code(&self) -> &'static str {
        match self {
            MappingError::CodeColumnNeeded => "mapping_code_needed",
            MappingError::TooLong(e) => e.code(),
            MappingError::Role(e) => e.code(),
            MappingError::Ledger(e) => e.code(),
        }
    }
}

/// Every column name and state text of a mapping within [`Field::MappingName`]'s limit.
pub(crate) fn check_names(mapping: &StatementMapping) -> Result<(), crate::limits::TooLong> {
    let optional = [
        &mapping.face_value,
        &mapping.state,
        &mapping.channel_id,
        &mapping.time,
    ];
    Field::MappingName.check(&mapping.code)?;
    for name in optional
        .into_iter()
        .flatten()
        .chain(&mapping.cancelled_values)
    {
        Field::MappingName.check(name)?;
    }
    Ok(())
}

impl Desk {
    /// The saved mapping of `kind`'s statements, if a manager saved one. A stored value that
    /// no longer parses (an older format) reads as none: the manager maps it again.
    pub fn statement_mapping(
        &self,
        kind: ChannelKind,
    ) -> Result<Option<StatementMapping>, LedgerError> {
        Ok(self
            .ledger
            .setting(&key(kind))?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Saves the mapping for `kind` (blank optional columns are dropped).
    pub fn save_statement_mapping(
        &self,
        kind: ChannelKind,
        mapping: &StatementMapping,
        unlock: &ManagerUnlock,
    ) -> Result<StatementMapping, MappingError> {
        let manager = self.manager(unlock)?;
        let manager = Field::ManagerName.check(&manager)?;
        check_names(mapping)?;
        let blank_to_none = |c: &Option<String>| {
            c.as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
        };
        let clean = StatementMapping {
            code: mapping.code.trim().to_owned(),
            face_value: blank_to_none(&mapping.face_value),
            state: blank_to_none(&mapping.state),
            channel_id: blank_to_none(&mapping.channel_id),
            time: blank_to_none(&mapping.time),
            amounts_in_fen: mapping.amounts_in_fen,
            cancelled_values: mapping
                .cancelled_values
                .iter()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect(),
        };
        if clean.code.is_empty() {
            return Err(MappingError::CodeColumnNeeded);
        }
        let text = serde_json::to_string(&clean).expect("a mapping serialises");
        self.ledger.set_setting(
            &key(kind),
            Some(&text),
            &Actor::Manager(manager.to_owned()),
            self.clock.now_ms(),
        )?;
        Ok(clean)
    }
}
