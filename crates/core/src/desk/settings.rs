//! The desk's own settings that a manager changes in 设置: what the
//! store's scanner adds around a code, and when the business day starts in which zone. They
//! live in the ledger's settings table (with their history, like the cashier list and the
//! manager PIN), so the CLI and the app read the same values, and each mode's ledger keeps
//! its own. Channel settings and keys are not here: they are files (channel_setup.rs),
//! because keys must never enter the ledger.

use super::{Desk, ManagerUnlock, SCAN_PREFIX_KEY, SCAN_SUFFIX_KEY};
use crate::business_day::{BusinessDayError, BusinessDayRule};
use crate::desk::roles::RoleError;
use crate::ledger::{Actor, AuditEntry, LedgerError};
use crate::scan::ScanRules;
use serde::{Deserialize, Serialize};

/// The longest prefix or suffix a scanner is set up to add; real ones are a few characters.
pub const MAX_AFFIX_CHARS: usize = 16;

/// The settings as the 设置 screen shows and submits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskSettings {
    pub scan_prefix: String,
    pub scan_suffix: String,
    /// Minutes after local midnight at which the business day starts (240 = 04:00).
    pub cutoff_minutes: i32,
    /// The business zone's offset from UTC in minutes (480 = +08:00).
    pub utc_offset_minutes: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// `field` is the setting's name as [`DeskSettings`] spells it.
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl SettingsError {
    pub fn code(&self) -> &'static str {
        match self {
            SettingsError::Invalid { .. } => "setting_invalid",
            SettingsError::Role(e) => e.code(),
            SettingsError::Ledger(e) => e.code(),
        }
    }

    pub fn field(&self) -> Option<&'static str> {
        match self {
            SettingsError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A prefix or suffix: empty, or up to 16 printable characters. Whitespace and control
/// characters are what the normaliser strips anyway, so one made of them would never match.
fn affix(field: &'static str, text: &str) -> Result<String, SettingsError> {
    let t = text.trim();
    if t.chars().count() > MAX_AFFIX_CHARS || t.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(SettingsError::Invalid {
            field,
            reason: format!("at most {MAX_AFFIX_CHARS} characters, no spaces"),
        });
    }
    Ok(t.to_owned())
}

impl Desk {
    /// The scanner rules the normaliser uses now.
    pub fn scan_rules(&self) -> ScanRules {
        self.scan_rules.lock().expect("scan rules").clone()
    }

    pub fn desk_settings(&self) -> DeskSettings {
        let rules = self.scan_rules();
        let day = self.ledger.business_day_rule();
        DeskSettings {
            scan_prefix: rules.prefix,
            scan_suffix: rules.suffix,
            cutoff_minutes: day.cutoff_minutes,
            utc_offset_minutes: day.offset_minutes,
        }
    }

    /// Saves the settings (an unlocked manager only). Everything is checked before anything
    /// is written, so a refusal changes nothing; the scanner rules apply to the next scan,
    /// the business-day rule to attempts made from now on (earlier ones keep their day).
    pub fn save_desk_settings(
        &self,
        unlock: &ManagerUnlock,
        s: &DeskSettings,
    ) -> Result<DeskSettings, SettingsError> {
        let manager = self.manager(unlock)?;
        let prefix = affix("scan_prefix", &s.scan_prefix)?;
        let suffix = affix("scan_suffix", &s.scan_suffix)?;
        let rule = BusinessDayRule::new(s.cutoff_minutes, s.utc_offset_minutes).map_err(|e| {
            let field = match e {
                BusinessDayError::BadOffset(_) => "utc_offset_minutes",
                _ => "cutoff_minutes",
            };
            SettingsError::Invalid {
                field,
                reason: e.to_string(),
            }
        })?;
        let actor = Actor::Manager(manager.clone());
        let now = self.clock.now_ms();
        let before = self.desk_settings();
        let mut changed = Vec::new();
        if prefix != before.scan_prefix || suffix != before.scan_suffix {
            self.ledger
                .set_setting(SCAN_PREFIX_KEY, Some(&prefix), &actor, now)?;
            self.ledger
                .set_setting(SCAN_SUFFIX_KEY, Some(&suffix), &actor, now)?;
            *self.scan_rules.lock().expect("scan rules") = ScanRules {
                prefix: prefix.clone(),
                suffix: suffix.clone(),
            };
            changed.push(format!("scanner prefix {prefix:?} suffix {suffix:?}"));
        }
        if rule.cutoff_minutes != before.cutoff_minutes
            || rule.offset_minutes != before.utc_offset_minutes
        {
            self.ledger.set_business_day_rule(rule, &actor, now)?;
            changed.push(format!(
                "business day from {} min at UTC{:+} min",
                rule.cutoff_minutes, rule.offset_minutes
            ));
        }
        if !changed.is_empty() {
            self.ledger.record_audit(&AuditEntry {
                time_ms: now,
                actor,
                action: "settings_changed".into(),
                subject: None,
                detail: Some(changed.join("; ")),
            })?;
        }
        Ok(self.desk_settings())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app_info::Mode;
    use crate::clock::ManualClock;
    use crate::ledger::Ledger;
    use std::sync::Arc;

    fn desk_on(ledger: Arc<Ledger>) -> Desk {
        let clock = Arc::new(ManualClock::new(1_800_000_000_000));
        Desk::open(ledger, Vec::new(), clock, ScanRules::default()).unwrap()
    }

    fn unlocked(d: &Desk) -> ManagerUnlock {
        if !d.manager_pin_is_set().unwrap() {
            d.set_manager_pin(None, "246813", "李店长").unwrap();
        }
        d.unlock_manager("246813", "李店长").unwrap()
    }

    fn settings(prefix: &str, suffix: &str, cutoff: i32, offset: i32) -> DeskSettings {
        DeskSettings {
            scan_prefix: prefix.into(),
            scan_suffix: suffix.into(),
            cutoff_minutes: cutoff,
            utc_offset_minutes: offset,
        }
    }

    #[test]
    fn saved_scanner_rules_are_applied_by_the_normaliser_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let ledger = Arc::new(Ledger::open(&path, Mode::Sandbox).unwrap());
        let d = desk_on(ledger.clone());
        assert_eq!(
            d.desk_settings(),
            settings("", "", 240, 480),
            "the defaults"
        );
        let stale = unlocked(&d);
        d.lock_manager();
        assert!(
            matches!(
                d.save_desk_settings(&stale, &settings("]C1", "#", 240, 480)),
                Err(SettingsError::Role(RoleError::Locked))
            ),
            "a cashier cannot change them"
        );
        let unlock = unlocked(&d);
        d.save_desk_settings(&unlock, &settings("]C1", "#", 300, 480))
            .unwrap();
        let code = crate::scan::normalise("]C1679533922928#\r", &d.scan_rules()).unwrap();
        assert_eq!(code.as_str(), "679533922928");
        assert_eq!(ledger.business_day_rule().cutoff_minutes, 300);
        drop(d);
        drop(ledger);
        let reopened = desk_on(Arc::new(Ledger::open(&path, Mode::Sandbox).unwrap()));
        assert_eq!(
            reopened.desk_settings(),
            settings("]C1", "#", 300, 480),
            "kept in the ledger"
        );
    }

    #[test]
    fn a_bad_value_is_refused_naming_the_field_and_nothing_is_changed() {
        let ledger = Arc::new(Ledger::open_in_memory(Mode::Sandbox).unwrap());
        let d = desk_on(ledger);
        let unlock = unlocked(&d);
        d.save_desk_settings(&unlock, &settings("A", "B", 240, 480))
            .unwrap();
        for (bad, field) in [
            (settings("A B", "B", 240, 480), "scan_prefix"),
            (settings("A", "12345678901234567", 240, 480), "scan_suffix"),
            (settings("A", "B", 1440, 480), "cutoff_minutes"),
            (settings("A", "B", 240, 15 * 60), "utc_offset_minutes"),
        ] {
            let err = d.save_desk_settings(&unlock, &bad).expect_err("refused");
            assert_eq!(err.field(), Some(field), "{err}");
            assert_eq!(d.desk_settings(), settings("A", "B", 240, 480));
        }
    }
}
