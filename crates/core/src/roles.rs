//! The store manager's PIN (issue 6 "Roles"): manager screens open with it. It is stored
//! only as an Argon2 hash in the ledger's settings; wrong PINs beyond a few free tries lock
//! the manager screens for a growing delay, kept in the ledger so a restart does not reset
//! it; every try is an audit event. An unlocked manager session locks itself after a few
//! idle minutes: every manager action asks the desk for the session, so a forgotten open
//! screen cannot be used by someone else later.

use crate::desk::Desk;
use crate::ledger::{Actor, AuditEntry, LedgerError};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

const PIN_KEY: &str = "manager.pin_hash";
const FAILURES_KEY: &str = "manager.pin_failures";
const LOCKED_UNTIL_KEY: &str = "manager.pin_locked_until_ms";

/// An unlocked manager session locks after this long without a manager action.
pub const MANAGER_IDLE_LOCK_MS: i64 = 5 * 60 * 1000;

/// Who unlocked the manager screens, and when they last did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManagerSession {
    pub name: String,
    pub last_action_ms: i64,
}

/// Wrong PINs allowed before the lock-out starts.
pub const FREE_TRIES: u32 = 3;
/// The longest lock-out.
pub const MAX_LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// How long the manager screens stay locked after `failures` wrong PINs in a row: nothing
/// for the first few, then 30 s, doubling up to 15 minutes.
pub fn lockout_ms(failures: u32) -> i64 {
    if failures < FREE_TRIES {
        return 0;
    }
    let doublings = (failures - FREE_TRIES).min(10);
    (30_000i64 << doublings).min(MAX_LOCKOUT_MS)
}

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("no manager PIN is set yet")]
    NotSet,
    #[error("a PIN is 4 to 8 digits")]
    BadFormat,
    #[error("wrong PIN ({tries_left} tries before a lock-out)")]
    Wrong { tries_left: u32 },
    #[error("too many wrong PINs: locked for {wait_ms} ms more")]
    LockedOut { wait_ms: i64 },
    #[error("the stored PIN hash is unreadable")]
    Corrupt,
    #[error("the manager screens are locked: enter the manager PIN")]
    Locked,
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl PinError {
    pub fn code(&self) -> &'static str {
        match self {
            PinError::NotSet => "pin_not_set",
            PinError::BadFormat => "pin_bad_format",
            PinError::Wrong { .. } => "pin_wrong",
            PinError::LockedOut { .. } => "pin_locked_out",
            PinError::Corrupt => "pin_corrupt",
            PinError::Locked => "manager_locked",
            PinError::Ledger(e) => e.code(),
        }
    }
}

fn valid_format(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

impl Desk {
    fn number_setting(&self, key: &str) -> Result<i64, LedgerError> {
        Ok(self
            .ledger
            .setting(key)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    fn audit(&self, who: &str, action: &str, detail: Option<String>) -> Result<(), LedgerError> {
        self.ledger.record_audit(&AuditEntry {
            time_ms: self.clock.now_ms(),
            actor: Actor::Manager(who.to_owned()),
            action: action.to_owned(),
            subject: None,
            detail,
        })?;
        Ok(())
    }

    pub fn manager_pin_is_set(&self) -> Result<bool, LedgerError> {
        Ok(self.ledger.setting(PIN_KEY)?.is_some())
    }

    /// Opens the manager screens: refused while locked out; a wrong PIN counts toward the
    /// lock-out, a right one clears it. Every try is audited (never the PIN itself).
    pub fn check_manager_pin(&self, pin: &str, who: &str) -> Result<(), PinError> {
        let now = self.clock.now_ms();
        let locked_until = self.number_setting(LOCKED_UNTIL_KEY)?;
        if now < locked_until {
            return Err(PinError::LockedOut {
                wait_ms: locked_until - now,
            });
        }
        let stored = self.ledger.setting(PIN_KEY)?.ok_or(PinError::NotSet)?;
        let hash = PasswordHash::new(&stored).map_err(|_| PinError::Corrupt)?;
        let system = Actor::System;
        if Argon2::default()
            .verify_password(pin.trim().as_bytes(), &hash)
            .is_ok()
        {
            if self.number_setting(FAILURES_KEY)? != 0 {
                self.ledger
                    .set_setting(FAILURES_KEY, Some("0"), &system, now)?;
            }
            self.audit(who, "manager_unlock", None)?;
            return Ok(());
        }
        let failures = u32::try_from(self.number_setting(FAILURES_KEY)?).unwrap_or(0) + 1;
        self.ledger
            .set_setting(FAILURES_KEY, Some(&failures.to_string()), &system, now)?;
        let lock = lockout_ms(failures);
        if lock > 0 {
            self.ledger.set_setting(
                LOCKED_UNTIL_KEY,
                Some(&(now + lock).to_string()),
                &system,
                now,
            )?;
        }
        self.audit(
            who,
            "manager_unlock_failed",
            Some(format!("wrong PIN #{failures}")),
        )?;
        if lock > 0 {
            Err(PinError::LockedOut { wait_ms: lock })
        } else {
            Err(PinError::Wrong {
                tries_left: FREE_TRIES - failures,
            })
        }
    }

    /// Unlocks the manager screens for `who` with the PIN (see [`Desk::check_manager_pin`]).
    pub fn unlock_manager(&self, pin: &str, who: &str) -> Result<(), PinError> {
        let who = who.trim();
        if who.is_empty() {
            return Err(PinError::Locked);
        }
        self.check_manager_pin(pin, who)?;
        *self.manager_session.lock().expect("manager session") = Some(ManagerSession {
            name: who.to_owned(),
            last_action_ms: self.clock.now_ms(),
        });
        Ok(())
    }

    /// The unlocked manager's name, for a manager action; refused once the session has been
    /// idle too long (it then locks) or was never opened. Each call counts as activity.
    pub fn manager(&self) -> Result<String, PinError> {
        let now = self.clock.now_ms();
        let mut session = self.manager_session.lock().expect("manager session");
        match session.as_mut() {
            Some(s) if now - s.last_action_ms < MANAGER_IDLE_LOCK_MS => {
                s.last_action_ms = now;
                Ok(s.name.clone())
            }
            _ => {
                *session = None;
                Err(PinError::Locked)
            }
        }
    }

    /// Locks the manager screens now.
    pub fn lock_manager(&self) {
        *self.manager_session.lock().expect("manager session") = None;
    }

    /// Sets or changes the manager PIN; once one is set, the current one must be given
    /// (and the lock-out applies to it).
    pub fn set_manager_pin(
        &self,
        current: Option<&str>,
        new: &str,
        who: &str,
    ) -> Result<(), PinError> {
        if self.manager_pin_is_set()? {
            self.check_manager_pin(current.unwrap_or(""), who)?;
        }
        let new = new.trim();
        if !valid_format(new) {
            return Err(PinError::BadFormat);
        }
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default()
            .hash_password(new.as_bytes(), &salt)
            .map_err(|_| PinError::Corrupt)?
            .to_string();
        self.ledger.set_setting(
            PIN_KEY,
            Some(&hash),
            &Actor::Manager(who.to_owned()),
            self.clock.now_ms(),
        )?;
        self.audit(who, "manager_pin_changed", None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app_info::Mode;
    use crate::clock::ManualClock;
    use crate::ledger::Ledger;
    use crate::scan::ScanRules;
    use std::sync::Arc;

    fn desk() -> (Desk, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_800_000_000_000));
        let ledger = Arc::new(Ledger::open_in_memory(Mode::Sandbox).unwrap());
        (
            Desk::open(ledger, Vec::new(), clock.clone(), ScanRules::default()).unwrap(),
            clock,
        )
    }

    #[test]
    fn the_pin_is_stored_only_as_an_argon2_hash_and_opens_the_manager_screens() {
        let (d, _) = desk();
        assert!(matches!(
            d.check_manager_pin("1234", "李店长"),
            Err(PinError::NotSet)
        ));
        d.set_manager_pin(None, "2468", "李店长").unwrap();
        let stored = d.ledger.setting(PIN_KEY).unwrap().unwrap();
        assert!(
            stored.starts_with("$argon2"),
            "a PHC Argon2 string: {stored}"
        );
        assert!(!stored.contains("2468"), "never the PIN itself");
        d.check_manager_pin("2468", "李店长")
            .expect("the right PIN opens");
        assert!(
            matches!(
                d.set_manager_pin(None, "1357", "x"),
                Err(PinError::Wrong { .. })
            ),
            "changing needs the current PIN"
        );
        assert!(matches!(
            d.set_manager_pin(Some("2468"), "12ab", "李店长"),
            Err(PinError::BadFormat)
        ));
    }

    #[test]
    fn repeated_wrong_pins_lock_out_for_a_growing_delay_that_survives_a_restart() {
        let (d, clock) = desk();
        d.set_manager_pin(None, "2468", "李店长").unwrap();
        for left in [2, 1] {
            match d.check_manager_pin("0000", "?") {
                Err(PinError::Wrong { tries_left }) => assert_eq!(tries_left, left),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            d.check_manager_pin("0000", "?"),
            Err(PinError::LockedOut { wait_ms: 30_000 })
        ));
        // Locked: even the right PIN is refused until the delay has passed.
        assert!(matches!(
            d.check_manager_pin("2468", "李店长"),
            Err(PinError::LockedOut { .. })
        ));
        // A restart (a new desk on the same ledger) keeps the lock.
        let again = Desk::open(
            d.ledger.clone(),
            Vec::new(),
            clock.clone(),
            ScanRules::default(),
        )
        .unwrap();
        assert!(matches!(
            again.check_manager_pin("2468", "李店长"),
            Err(PinError::LockedOut { .. })
        ));
        clock.advance_ms(30_001);
        assert!(
            matches!(
                again.check_manager_pin("0000", "?"),
                Err(PinError::LockedOut { wait_ms: 60_000 })
            ),
            "doubles"
        );
        clock.advance_ms(60_001);
        again
            .check_manager_pin("2468", "李店长")
            .expect("after the delay the right PIN opens");
        let audit = again.ledger.audit_between(0, i64::MAX).unwrap();
        let failed = audit
            .iter()
            .filter(|a| a.entry.action == "manager_unlock_failed")
            .count();
        assert_eq!(failed, 4, "every wrong try is audited");
        assert!(
            audit
                .iter()
                .all(|a| !a.entry.detail.as_deref().unwrap_or("").contains("0000")),
            "never the PIN"
        );
    }

    #[test]
    fn an_unlocked_manager_session_locks_itself_after_idle_minutes() {
        let (d, clock) = desk();
        d.set_manager_pin(None, "2468", "李店长").unwrap();
        assert!(
            matches!(d.manager(), Err(PinError::Locked)),
            "locked until a PIN is given"
        );
        d.unlock_manager("2468", "李店长").unwrap();
        assert_eq!(d.manager().unwrap(), "李店长");
        clock.advance_ms(MANAGER_IDLE_LOCK_MS - 1);
        assert_eq!(d.manager().unwrap(), "李店长", "activity keeps it open");
        clock.advance_ms(MANAGER_IDLE_LOCK_MS);
        assert!(
            matches!(d.manager(), Err(PinError::Locked)),
            "idle too long: locked"
        );
        d.unlock_manager("2468", "李店长").unwrap();
        d.lock_manager();
        assert!(
            matches!(d.manager(), Err(PinError::Locked)),
            "locked on request"
        );
        assert!(
            d.unlock_manager("0000", "李店长").is_err(),
            "a wrong PIN opens nothing"
        );
        assert!(matches!(d.manager(), Err(PinError::Locked)));
    }

    #[test]
    fn the_lockout_grows_and_is_capped() {
        assert_eq!(lockout_ms(2), 0);
        assert_eq!(lockout_ms(3), 30_000);
        assert_eq!(lockout_ms(4), 60_000);
        assert_eq!(lockout_ms(40), MAX_LOCKOUT_MS);
    }
}
