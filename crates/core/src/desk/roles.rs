//! Who is at the desk: the cashier chosen at shift start from a list kept
//! in the settings (each with an optional PIN), and the store manager, whose screens open
//! with the manager PIN. It is stored
//! only as an Argon2 hash in the ledger's settings; wrong PINs beyond a few free tries lock
//! the manager screens for a growing delay, kept in the ledger so a restart does not reset
//! it; every try is an audit event. A cashier's PIN follows the same rule (`Desk::check_pin`,
//! one count per cashier), and the open shift's cashier is the one every redemption and
//! sale is recorded under: the UI never names the cashier. An unlocked
//! manager session locks itself after a few idle minutes: every manager action asks the
//! desk for the session, so a forgotten open screen cannot be used by someone else later.
//!
//! Lock-outs and the idle timeout are measured on the monotonic clock within a run, so
//! setting the wall clock forward (`faketime +2h`) lifts nothing. Across a restart a
//! lock-out is carried by its wall-clock end in the ledger, taken over at most
//! [`MAX_LOCKOUT_MS`] long, so a clock set back cannot lock the screens for years either.

use super::{next_serial, Desk, ManagerSession, ManagerUnlock};
use crate::ledger::{Actor, AuditEntry, ChainAnchor, LedgerError};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

pub(crate) const PIN_KEY: &str = "manager.pin_hash";
pub(crate) const CASHIERS_KEY: &str = "cashiers";
const FAILURES_KEY: &str = "manager.pin_failures";
const LOCKED_UNTIL_KEY: &str = "manager.pin_locked_until_ms";

/// An unlocked manager session locks after this long without a manager action.
pub const MANAGER_IDLE_LOCK_MS: i64 = 5 * 60 * 1000;

/// Where one PIN's wrong tries and lock-out end are kept in the ledger's settings.
struct PinSlot {
    failures_key: String,
    locked_until_key: String,
}

impl PinSlot {
    fn manager() -> PinSlot {
        PinSlot {
            failures_key: FAILURES_KEY.to_owned(),
            locked_until_key: LOCKED_UNTIL_KEY.to_owned(),
        }
    }

    /// Each cashier's PIN has its own count: one cashier's wrong tries do not lock another.
    fn cashier(name: &str) -> PinSlot {
        PinSlot {
            failures_key: format!("cashier.pin_failures.{name}"),
            locked_until_key: format!("cashier.pin_locked_until_ms.{name}"),
        }
    }
}

/// The cashier at the till when the manager keeps no cashier list (the app's screen shows
/// this name; ui/shift.js has the same constant).
pub const DEFAULT_CASHIER: &str = "收银员";

/// Wrong PINs allowed before the lock-out starts.
pub const FREE_TRIES: u32 = 3;
/// The longest lock-out.
pub const MAX_LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// How long a PIN stays locked after `failures` wrong tries in a row: nothing
/// for the first few, then 30 s, doubling up to 15 minutes.
pub fn lockout_ms(failures: u32) -> i64 {
    if failures < FREE_TRIES {
        return 0;
    }
    let doublings = (failures - FREE_TRIES).min(10);
    (30_000i64 << doublings).min(MAX_LOCKOUT_MS)
}

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("no manager PIN is set yet")]
    NotSet,
    #[error("a PIN is 4 to 8 digits")]
    BadFormat,
    #[error("店长 PIN 需要 6–12 位数字。 The manager PIN needs 6 to 12 digits.")]
    ManagerPinTooShort,
    #[error("wrong PIN ({tries_left} tries before a lock-out)")]
    Wrong { tries_left: u32 },
    #[error("too many wrong PINs: locked for {wait_ms} ms more")]
    LockedOut { wait_ms: i64 },
    #[error("the stored PIN hash is unreadable")]
    Corrupt,
    #[error("the manager screens are locked: enter the manager PIN")]
    Locked,
    #[error("no cashier named {0:?} in the list")]
    NoSuchCashier(String),
    #[error("a cashier needs a name (at most 20 characters), and names must differ")]
    BadCashierName,
    /// A redemption or a sale needs the cashier of an open shift (开班), never a typed name.
    #[error("没有开班的收银员：请先开班。 No shift is open: start a shift first.")]
    NoShift,
    #[error(transparent)]
    TooLong(#[from] crate::limits::TooLong),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl RoleError {
    pub fn code(&self) -> &'static str {
        match self {
            RoleError::NotSet => "pin_not_set",
            RoleError::BadFormat => "pin_bad_format",
            RoleError::ManagerPinTooShort => "manager_pin_too_short",
            RoleError::Wrong { .. } => "pin_wrong",
            RoleError::LockedOut { .. } => "pin_locked_out",
            RoleError::Corrupt => "pin_corrupt",
            RoleError::Locked => "manager_locked",
            RoleError::NoSuchCashier(_) => "no_such_cashier",
            RoleError::BadCashierName => "bad_cashier_name",
            RoleError::NoShift => "no_shift",
            RoleError::TooLong(e) => e.code(),
            RoleError::Ledger(e) => e.code(),
        }
    }
}

/// A cashier as stored: the PIN only as its Argon2 hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct StoredCashier {
    name: String,
    pin_hash: Option<String>,
}

/// A cashier as the UI sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cashier {
    pub name: String,
    pub has_pin: bool,
}

/// One line of the cashier list as a manager edits it. `pin`: `None` keeps the saved one,
/// `Some("")` removes it, anything else replaces it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CashierEdit {
    pub name: String,
    #[serde(default)]
    pub pin: Option<String>,
}

/// Argon2id with 64 MiB and 2 passes (3.4 times the default 19 MiB × 2): each guess at a
/// stolen ledger costs a fraction of a second and 64 MiB per core, so a 6-digit PIN takes
/// days where the default and 4 digits took minutes. Measured by
/// `the_pin_hash_takes_a_measured_fraction_of_a_second`; a verification stays well under
/// half a second on a 2-core till. Verifying reads the cost from the stored hash, so
/// hashes made with older costs still open.
const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
const ARGON2_PASSES: u32 = 2;

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The shortest manager PIN: the manager screens undo redemptions and read every code.
pub const MANAGER_PIN_MIN_DIGITS: usize = 6;

fn valid_manager_pin(pin: &str) -> Result<(), RoleError> {
    if !pin.bytes().all(|b| b.is_ascii_digit()) || pin.is_empty() || pin.len() > 12 {
        return Err(RoleError::BadFormat);
    }
    if pin.len() < MANAGER_PIN_MIN_DIGITS {
        return Err(RoleError::ManagerPinTooShort);
    }
    Ok(())
}

fn hash(pin: &str) -> Result<String, RoleError> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()
        .hash_password(pin.as_bytes(), &salt)
        .map_err(|_| RoleError::Corrupt)?
        .to_string())
}

fn matches(stored: &str, pin: &str) -> Result<bool, RoleError> {
    let hash = PasswordHash::new(stored).map_err(|_| RoleError::Corrupt)?;
    Ok(argon2()
        .verify_password(pin.trim().as_bytes(), &hash)
        .is_ok())
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

    /// How long the slot's PIN stays locked, on the monotonic clock. The first look in a
    /// run takes over the ledger's wall-clock end, capped at the longest lock-out.
    fn lock_left(&self, slot: &PinSlot) -> Result<i64, RoleError> {
        let mono = self.clock.monotonic_ms();
        let mut locks = self.lockouts.lock().expect("lockouts");
        let end = match locks.get(&slot.locked_until_key) {
            Some(end) => *end,
            None => {
                let wall_end = self.number_setting(&slot.locked_until_key)?;
                let left = (wall_end - self.clock.now_ms()).clamp(0, MAX_LOCKOUT_MS);
                locks.insert(slot.locked_until_key.clone(), mono + left);
                mono + left
            }
        };
        Ok((end - mono).max(0))
    }

    /// Counts a wrong PIN; answers the failures so far and the lock-out it starts (0: none).
    fn count_wrong_pin(&self, slot: &PinSlot) -> Result<(u32, i64), RoleError> {
        let now = self.clock.now_ms();
        let system = Actor::System;
        let failures = u32::try_from(self.number_setting(&slot.failures_key)?).unwrap_or(0) + 1;
        self.ledger.set_setting(
            &slot.failures_key,
            Some(&failures.to_string()),
            &system,
            now,
        )?;
        let lock = lockout_ms(failures);
        if lock > 0 {
            // The wall-clock end is for the next run; this run goes by the monotonic one.
            self.ledger.set_setting(
                &slot.locked_until_key,
                Some(&(now + lock).to_string()),
                &system,
                now,
            )?;
            self.lockouts.lock().expect("lockouts").insert(
                slot.locked_until_key.clone(),
                self.clock.monotonic_ms() + lock,
            );
        }
        Ok((failures, lock))
    }

    fn clear_wrong_pins(&self, slot: &PinSlot) -> Result<(), RoleError> {
        if self.number_setting(&slot.failures_key)? != 0 {
            self.ledger.set_setting(
                &slot.failures_key,
                Some("0"),
                &Actor::System,
                self.clock.now_ms(),
            )?;
        }
        Ok(())
    }

    /// The one PIN rule, for the manager's PIN and each cashier's: refused while locked
    /// out (even the right PIN); a wrong PIN counts toward the lock-out, a right one clears
    /// it. `failed` audits a wrong try with its number (never the PIN itself).
    fn check_pin(
        &self,
        slot: &PinSlot,
        stored: &str,
        pin: &str,
        failed: impl FnOnce(u32) -> Result<(), LedgerError>,
    ) -> Result<(), RoleError> {
        let wait_ms = self.lock_left(slot)?;
        if wait_ms > 0 {
            return Err(RoleError::LockedOut { wait_ms });
        }
        if matches(stored, pin)? {
            self.clear_wrong_pins(slot)?;
            return Ok(());
        }
        let (failures, lock) = self.count_wrong_pin(slot)?;
        failed(failures)?;
        if lock > 0 {
            Err(RoleError::LockedOut { wait_ms: lock })
        } else {
            Err(RoleError::Wrong {
                tries_left: FREE_TRIES - failures,
            })
        }
    }

    /// Opens the manager screens (the PIN rule of [`Desk::check_pin`]). Every try is audited.
    pub fn check_manager_pin(&self, pin: &str, who: &str) -> Result<(), RoleError> {
        let who = crate::limits::Field::ManagerName.check(who)?;
        let stored = self.ledger.setting(PIN_KEY)?.ok_or(RoleError::NotSet)?;
        self.check_pin(&PinSlot::manager(), &stored, pin, |failures| {
            self.audit(
                who,
                "manager_unlock_failed",
                Some(format!("wrong PIN #{failures}")),
            )
        })?;
        self.audit(who, "manager_unlock", None)?;
        Ok(())
    }

    /// Unlocks the manager screens for `who` with the PIN (see [`Desk::check_manager_pin`]),
    /// and hands out the token every manager-only method asks for. A new unlock replaces
    /// the session: tokens handed out before stop holding.
    pub fn unlock_manager(&self, pin: &str, who: &str) -> Result<ManagerUnlock, RoleError> {
        let who = crate::limits::Field::ManagerName.check(who)?;
        if who.is_empty() {
            return Err(RoleError::Locked);
        }
        self.check_manager_pin(pin, who)?;
        let serial = next_serial();
        *self.manager_session.lock().expect("manager session") = Some(ManagerSession {
            name: who.to_owned(),
            last_action: self.clock.monotonic_ms(),
            serial,
        });
        Ok(ManagerUnlock {
            desk: self.id,
            session: serial,
        })
    }

    /// The one manager rule: the unlocked manager's name when `unlock` is this desk's token
    /// of the session open now; refused once the session has been idle too long (it then
    /// locks), was locked or replaced, or was never opened. Each call counts as activity.
    pub fn manager(&self, unlock: &ManagerUnlock) -> Result<String, RoleError> {
        self.open_session(Some(unlock))
    }

    /// The open session's manager; with `unlock`, only when it is that session's token.
    fn open_session(&self, unlock: Option<&ManagerUnlock>) -> Result<String, RoleError> {
        let now = self.clock.monotonic_ms();
        let mut session = self.manager_session.lock().expect("manager session");
        if session
            .as_ref()
            .is_some_and(|s| now - s.last_action >= MANAGER_IDLE_LOCK_MS)
        {
            *session = None;
        }
        let holds = |s: &ManagerSession| match unlock {
            Some(u) => u.desk == self.id && u.session == s.serial,
            None => true,
        };
        match session.as_mut() {
            Some(s) if holds(s) => {
                s.last_action = now;
                Ok(s.name.clone())
            }
            _ => Err(RoleError::Locked),
        }
    }

    /// Locks the manager screens now.
    pub fn lock_manager(&self) {
        *self.manager_session.lock().expect("manager session") = None;
    }

    /// Sets or changes the manager PIN; once one is set, the current one must be given
    /// (and the lock-out applies to it). `who` names the first manager; a change made from
    /// an open manager session is recorded under that session's name, so the audit says
    /// which manager changed it rather than the screen's generic "店长".
    pub fn set_manager_pin(
        &self,
        current: Option<&str>,
        new: &str,
        who: &str,
    ) -> Result<(), RoleError> {
        let session_name;
        let mut who = crate::limits::Field::ManagerName.check(who)?;
        if self.manager_pin_is_set()? {
            if let Ok(name) = self.open_session(None) {
                session_name = name;
                who = &session_name;
            }
            self.check_manager_pin(current.unwrap_or(""), who)?;
        }
        let new = new.trim();
        valid_manager_pin(new)?;
        let hash = hash(new)?;
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

impl Desk {
    fn stored_cashiers(&self) -> Result<Vec<StoredCashier>, RoleError> {
        match self.ledger.setting(CASHIERS_KEY)? {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(&text).map_err(|_| RoleError::Corrupt),
        }
    }

    /// The cashier list for the shift-start chooser.
    pub fn cashiers(&self) -> Result<Vec<Cashier>, RoleError> {
        Ok(self
            .stored_cashiers()?
            .into_iter()
            .map(|c| Cashier {
                name: c.name,
                has_pin: c.pin_hash.is_some(),
            })
            .collect())
    }

    /// Replaces the cashier list (an unlocked manager only); PINs are hashed, never kept.
    pub fn set_cashiers(
        &self,
        unlock: &ManagerUnlock,
        list: &[CashierEdit],
    ) -> Result<Vec<Cashier>, RoleError> {
        let manager = self.manager(unlock)?;
        let saved = self.stored_cashiers()?;
        let mut out: Vec<StoredCashier> = Vec::with_capacity(list.len());
        for edit in list {
            let name = crate::limits::Field::CashierName.check(&edit.name)?;
            if name.is_empty() || out.iter().any(|c| c.name == name) {
                return Err(RoleError::BadCashierName);
            }
            let pin_hash = match edit.pin.as_deref().map(str::trim) {
                None => saved
                    .iter()
                    .find(|c| c.name == name)
                    .and_then(|c| c.pin_hash.clone()),
                Some("") => None,
                Some(pin) if valid_format(pin) => Some(hash(pin)?),
                Some(_) => return Err(RoleError::BadFormat),
            };
            out.push(StoredCashier {
                name: name.to_owned(),
                pin_hash,
            });
        }
        let text = serde_json::to_string(&out).map_err(|_| RoleError::Corrupt)?;
        self.ledger.set_setting(
            CASHIERS_KEY,
            Some(&text),
            &Actor::Manager(manager.clone()),
            self.clock.now_ms(),
        )?;
        self.audit(
            &manager,
            "cashiers_changed",
            Some(
                out.iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        )?;
        self.cashiers()
    }

    /// Starts a cashier's shift: the name must be in the list, and its PIN given if it has
    /// one (the PIN rule of [`Desk::check_pin`]: wrong tries lock that cashier out). With no
    /// list, only [`DEFAULT_CASHIER`] starts. Audited; the desk then knows who is at the
    /// till, and every redemption and sale is recorded under that name.
    pub fn start_shift(&self, name: &str, pin: Option<&str>) -> Result<String, RoleError> {
        let name = crate::limits::Field::CashierName.check(name)?;
        let list = self.stored_cashiers()?;
        let cashier = if list.is_empty() && name == DEFAULT_CASHIER {
            StoredCashier {
                name: DEFAULT_CASHIER.to_owned(),
                pin_hash: None,
            }
        } else {
            list.into_iter()
                .find(|c| c.name == name)
                .ok_or_else(|| RoleError::NoSuchCashier(name.to_owned()))?
        };
        if let Some(stored) = &cashier.pin_hash {
            let actor = Actor::Cashier(cashier.name.clone());
            self.check_pin(
                &PinSlot::cashier(&cashier.name),
                stored,
                pin.unwrap_or(""),
                |failures| {
                    self.ledger
                        .record_audit(&AuditEntry {
                            time_ms: self.clock.now_ms(),
                            actor,
                            action: "shift_start_failed".into(),
                            subject: None,
                            detail: Some(format!("wrong PIN #{failures}")),
                        })
                        .map(|_| ())
                },
            )?;
        }
        self.ledger.record_audit(&AuditEntry {
            time_ms: self.clock.now_ms(),
            actor: Actor::Cashier(cashier.name.clone()),
            action: "shift_start".into(),
            subject: None,
            detail: None,
        })?;
        *self.shift.lock().expect("shift") = Some(cashier.name.clone());
        Ok(cashier.name)
    }

    /// Ends the open shift (交班), audited with the chain head of that moment; the till
    /// then waits for the next cashier to start one. Answers who was on shift and the head
    /// to show (and later print on the 交班单), so it is kept outside the ledger too.
    pub fn end_shift(&self) -> Result<Option<ShiftEnd>, RoleError> {
        let Some(cashier) = self.shift.lock().expect("shift").take() else {
            return Ok(None);
        };
        let chain_head = self.ledger.chain_anchor()?;
        self.ledger.record_audit_at_head(
            &AuditEntry {
                time_ms: self.clock.now_ms(),
                actor: Actor::Cashier(cashier.clone()),
                action: "shift_end".into(),
                subject: None,
                detail: None,
            },
            chain_head.as_ref(),
        )?;
        Ok(Some(ShiftEnd {
            cashier,
            chain_head,
        }))
    }

    /// The cashier whose shift is open, if any.
    pub fn cashier(&self) -> Option<String> {
        self.shift.lock().expect("shift").clone()
    }

    /// The open shift's cashier, for a redemption or a sale: refused when none is open.
    pub(crate) fn shift_cashier(&self) -> Result<String, RoleError> {
        self.cashier().ok_or(RoleError::NoShift)
    }
}

/// A shift that ended (交班).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShiftEnd {
    pub cashier: String,
    /// The ledger's chain head when it ended (`None` on an empty ledger).
    pub chain_head: Option<ChainAnchor>,
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
            d.check_manager_pin("123456", "李店长"),
            Err(RoleError::NotSet)
        ));
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        let stored = d.ledger.setting(PIN_KEY).unwrap().unwrap();
        assert!(
            stored.starts_with("$argon2"),
            "a PHC Argon2 string: {stored}"
        );
        assert!(!stored.contains("246813"), "never the PIN itself");
        d.check_manager_pin("246813", "李店长")
            .expect("the right PIN opens");
        assert!(
            matches!(
                d.set_manager_pin(None, "135799", "x"),
                Err(RoleError::Wrong { .. })
            ),
            "changing needs the current PIN"
        );
        assert!(matches!(
            d.set_manager_pin(Some("246813"), "12ab56", "李店长"),
            Err(RoleError::BadFormat)
        ));
    }

    #[test]
    fn repeated_wrong_pins_lock_out_for_a_growing_delay_that_survives_a_restart() {
        let (d, clock) = desk();
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        for left in [2, 1] {
            match d.check_manager_pin("000000", "?") {
                Err(RoleError::Wrong { tries_left }) => assert_eq!(tries_left, left),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            d.check_manager_pin("000000", "?"),
            Err(RoleError::LockedOut { wait_ms: 30_000 })
        ));
        // Locked: even the right PIN is refused until the delay has passed.
        assert!(matches!(
            d.check_manager_pin("246813", "李店长"),
            Err(RoleError::LockedOut { .. })
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
            again.check_manager_pin("246813", "李店长"),
            Err(RoleError::LockedOut { .. })
        ));
        clock.advance_ms(30_001);
        assert!(
            matches!(
                again.check_manager_pin("000000", "?"),
                Err(RoleError::LockedOut { wait_ms: 60_000 })
            ),
            "doubles"
        );
        clock.advance_ms(60_001);
        again
            .check_manager_pin("246813", "李店长")
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
                .all(|a| !a.entry.detail.as_deref().unwrap_or("").contains("000000")),
            "never the PIN"
        );
    }

    #[test]
    fn setting_the_wall_clock_two_hours_forward_does_not_lift_a_lockout() {
        let (d, clock) = desk();
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        for _ in 0..3 {
            let _ = d.check_manager_pin("000000", "?");
        }
        // faketime +2h: the wall clock jumps, no time passes.
        clock.jump_wall_ms(2 * 3_600_000);
        assert!(
            matches!(
                d.check_manager_pin("246813", "李店长"),
                Err(RoleError::LockedOut { wait_ms: 30_000 })
            ),
            "the lock-out runs on the monotonic clock: a jump of the wall clock lifts nothing"
        );
        clock.advance_ms(30_001);
        d.check_manager_pin("246813", "李店长")
            .expect("once the time has really passed, the right PIN opens");
    }

    #[test]
    fn a_wall_clock_set_years_back_before_a_restart_locks_for_at_most_the_longest_lockout() {
        let (d, clock) = desk();
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        for _ in 0..3 {
            let _ = d.check_manager_pin("000000", "?");
        }
        clock.set_ms(946_684_800_000); // an RTC reset to 2000-01-01
        let again = Desk::open(
            d.ledger.clone(),
            Vec::new(),
            clock.clone(),
            ScanRules::default(),
        )
        .unwrap();
        match again.check_manager_pin("246813", "李店长") {
            Err(RoleError::LockedOut { wait_ms }) => assert!(
                wait_ms <= MAX_LOCKOUT_MS,
                "26 years of wall clock become at most {MAX_LOCKOUT_MS} ms, got {wait_ms}"
            ),
            other => panic!("the lock-out survives the restart: {other:?}"),
        }
        clock.advance_ms(MAX_LOCKOUT_MS);
        again
            .check_manager_pin("246813", "李店长")
            .expect("after the longest lock-out the right PIN opens");
    }

    #[test]
    fn the_idle_timeout_of_a_manager_session_ignores_the_wall_clock() {
        let (d, clock) = desk();
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        let unlock = d.unlock_manager("246813", "李店长").unwrap();
        clock.jump_wall_ms(-3_600_000);
        clock.advance_ms(MANAGER_IDLE_LOCK_MS + 1);
        assert!(
            matches!(d.manager(&unlock), Err(RoleError::Locked)),
            "a wall clock set back an hour does not keep an idle session open"
        );
    }

    #[test]
    fn a_pin_changed_from_an_open_session_is_audited_under_that_managers_name() {
        let (d, _clock) = desk();
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        d.unlock_manager("246813", "王经理").unwrap();
        d.set_manager_pin(Some("246813"), "135799", "店长").unwrap();
        let audit = d.ledger.audit_between(0, i64::MAX).unwrap();
        let changes: Vec<_> = audit
            .iter()
            .filter(|a| a.entry.action == "manager_pin_changed")
            .map(|a| a.entry.actor.clone())
            .collect();
        assert_eq!(
            changes,
            [
                Actor::Manager("李店长".into()),
                Actor::Manager("王经理".into())
            ],
            "the first PIN under the name given, the change under the open session's"
        );
        d.lock_manager();
        d.set_manager_pin(Some("135799"), "864200", "店长").unwrap();
        let last = d.ledger.audit_between(0, i64::MAX).unwrap();
        assert_eq!(
            last.last().unwrap().entry.actor,
            Actor::Manager("店长".into()),
            "no session open: the name given"
        );
    }

    #[test]
    fn an_unlocked_manager_session_locks_itself_after_idle_minutes() {
        let (d, clock) = desk();
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        let unlock = d.unlock_manager("246813", "李店长").unwrap();
        assert_eq!(d.manager(&unlock).unwrap(), "李店长");
        clock.advance_ms(MANAGER_IDLE_LOCK_MS - 1);
        assert_eq!(
            d.manager(&unlock).unwrap(),
            "李店长",
            "activity keeps it open"
        );
        clock.advance_ms(MANAGER_IDLE_LOCK_MS);
        assert!(
            matches!(d.manager(&unlock), Err(RoleError::Locked)),
            "idle too long: locked"
        );
        let unlock = d.unlock_manager("246813", "李店长").unwrap();
        d.lock_manager();
        assert!(
            matches!(d.manager(&unlock), Err(RoleError::Locked)),
            "locked on request"
        );
        assert!(
            d.unlock_manager("000000", "李店长").is_err(),
            "a wrong PIN opens nothing"
        );
        assert!(matches!(d.manager(&unlock), Err(RoleError::Locked)));
    }

    #[test]
    fn a_manager_keeps_the_cashier_list_and_a_cashier_with_a_pin_must_give_it_to_start() {
        let (d, _) = desk();
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        let unlock = d.unlock_manager("246813", "李店长").unwrap();
        let list = d
            .set_cashiers(
                &unlock,
                &[
                    CashierEdit {
                        name: "王芳".into(),
                        pin: Some("1357".into()),
                    },
                    CashierEdit {
                        name: "张伟".into(),
                        pin: None,
                    },
                ],
            )
            .unwrap();
        assert_eq!(
            list,
            vec![
                Cashier {
                    name: "王芳".into(),
                    has_pin: true
                },
                Cashier {
                    name: "张伟".into(),
                    has_pin: false
                },
            ]
        );
        let stored = d.ledger.setting(CASHIERS_KEY).unwrap().unwrap();
        assert!(!stored.contains("1357"), "PINs only as hashes");
        assert!(matches!(
            d.start_shift("王芳", Some("0000")),
            Err(RoleError::Wrong { .. })
        ));
        assert_eq!(d.start_shift("王芳", Some("1357")).unwrap(), "王芳");
        assert_eq!(d.cashier().as_deref(), Some("王芳"));
        assert_eq!(
            d.start_shift("张伟", None).unwrap(),
            "张伟",
            "no PIN, no question"
        );
        assert!(matches!(
            d.start_shift("李四", None),
            Err(RoleError::NoSuchCashier(_))
        ));
        let ended = d.end_shift().unwrap().expect("a shift was open");
        assert_eq!(ended.cashier, "张伟", "交班");
        let head = ended
            .chain_head
            .expect("the shift start wrote to the ledger");
        assert_eq!(
            d.ledger.verify_chain().unwrap().recorded_heads_checked,
            1,
            "the shift end keeps the head it showed, {head}, for verify-log"
        );
        assert_eq!(
            d.cashier(),
            None,
            "nobody on shift until the next one starts"
        );
        assert_eq!(d.end_shift().unwrap(), None, "ending twice ends nothing");
        // An edit without a PIN keeps the saved one; duplicates and empty names are refused.
        d.set_cashiers(
            &unlock,
            &[CashierEdit {
                name: "王芳".into(),
                pin: None,
            }],
        )
        .unwrap();
        assert!(d.cashiers().unwrap()[0].has_pin);
        let dup = [
            CashierEdit {
                name: "王芳".into(),
                pin: None,
            },
            CashierEdit {
                name: " 王芳".into(),
                pin: None,
            },
        ];
        assert!(matches!(
            d.set_cashiers(&unlock, &dup),
            Err(RoleError::BadCashierName)
        ));
    }

    #[test]
    fn a_four_digit_manager_pin_is_refused_with_a_message_that_says_six() {
        let (d, _) = desk();
        let err = d.set_manager_pin(None, "2468", "李店长").unwrap_err();
        assert_eq!(err.code(), "manager_pin_too_short", "{err}");
        assert!(
            err.to_string().contains("6–12 位") && err.to_string().contains("6 to 12 digits"),
            "Chinese first, then English, naming the length: {err}"
        );
        assert!(
            !d.manager_pin_is_set().unwrap(),
            "nothing was stored for the refused PIN"
        );
    }

    /// The cost parameters are in the stored hash and a hash verifies. How long it takes is
    /// a benchmark's to say (a debug build on a busy 2-core machine is no measure).
    #[test]
    fn the_pin_hash_carries_its_cost_and_verifies() {
        let started = std::time::Instant::now();
        let stored = hash("246813").unwrap();
        let hashed = started.elapsed();
        let started = std::time::Instant::now();
        assert!(matches(&stored, "246813").unwrap());
        let verified = started.elapsed();
        println!(
            "argon2id m={ARGON2_MEMORY_KIB} KiB t={ARGON2_PASSES} p=1: hash {hashed:?}, verify {verified:?}"
        );
        assert!(
            stored.contains(&format!("m={ARGON2_MEMORY_KIB},t={ARGON2_PASSES},p=1")),
            "the cost is in the stored hash: {stored}"
        );
    }

    #[test]
    fn wrong_cashier_pins_lock_out_across_a_restart_on_the_same_file_and_a_wall_clock_jump_lifts_nothing(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        let clock = Arc::new(ManualClock::new(1_800_000_000_000));
        let open = || {
            let ledger = Arc::new(Ledger::open(&path, Mode::Sandbox).unwrap());
            Desk::open(ledger, Vec::new(), clock.clone(), ScanRules::default()).unwrap()
        };
        let d = open();
        d.set_manager_pin(None, "246813", "李店长").unwrap();
        let unlock = d.unlock_manager("246813", "李店长").unwrap();
        let edit = |name: &str, pin: &str| CashierEdit {
            name: name.into(),
            pin: Some(pin.into()),
        };
        d.set_cashiers(&unlock, &[edit("王芳", "1357"), edit("张伟", "2468")])
            .unwrap();
        for left in [2, 1] {
            match d.start_shift("王芳", Some("0000")) {
                Err(RoleError::Wrong { tries_left }) => assert_eq!(tries_left, left),
                other => panic!("a free try: {other:?}"),
            }
        }
        assert!(matches!(
            d.start_shift("王芳", Some("0000")),
            Err(RoleError::LockedOut { wait_ms: 30_000 })
        ));
        assert!(
            matches!(
                d.start_shift("王芳", Some("1357")),
                Err(RoleError::LockedOut { .. })
            ),
            "locked: even the right PIN is refused"
        );
        assert_eq!(d.cashier(), None, "no shift opened");
        drop(d);

        // The till restarts on the same file.
        let again = open();
        assert!(
            matches!(
                again.start_shift("王芳", Some("1357")),
                Err(RoleError::LockedOut { .. })
            ),
            "the lock-out is in the ledger: a restart does not lift it"
        );
        // faketime +2h after the restart: the wall clock jumps, no time passes.
        clock.jump_wall_ms(2 * 3_600_000);
        match again.start_shift("王芳", Some("1357")) {
            Err(RoleError::LockedOut { wait_ms }) => {
                assert!(wait_ms > 29_000, "still about 30 s to wait: {wait_ms}")
            }
            other => panic!("a wall-clock jump lifts nothing: {other:?}"),
        }
        assert_eq!(
            again.start_shift("张伟", Some("2468")).unwrap(),
            "张伟",
            "one cashier's wrong tries do not lock another"
        );
        clock.advance_ms(30_001);
        assert!(
            matches!(
                again.start_shift("王芳", Some("0000")),
                Err(RoleError::LockedOut { wait_ms: 60_000 })
            ),
            "the next wrong PIN doubles the wait"
        );
        clock.advance_ms(60_001);
        assert_eq!(again.start_shift("王芳", Some("1357")).unwrap(), "王芳");
        let audit = again.ledger.audit_between(0, i64::MAX).unwrap();
        let failed: Vec<_> = audit
            .iter()
            .filter(|a| a.entry.action == "shift_start_failed")
            .collect();
        assert_eq!(failed.len(), 4, "every wrong try is audited");
        assert!(
            failed
                .iter()
                .all(|a| a.entry.actor == Actor::Cashier("王芳".into())
                    && !a.entry.detail.as_deref().unwrap_or("").contains("0000")),
            "under the cashier's name, never the PIN"
        );
    }

    #[test]
    fn with_no_cashier_list_only_the_default_cashier_opens_a_shift() {
        let (d, _) = desk();
        assert!(matches!(
            d.start_shift("王芳", None),
            Err(RoleError::NoSuchCashier(_))
        ));
        assert_eq!(
            d.start_shift(DEFAULT_CASHIER, None).unwrap(),
            DEFAULT_CASHIER
        );
        assert_eq!(d.shift_cashier().unwrap(), DEFAULT_CASHIER);
        d.end_shift().unwrap();
        assert!(matches!(d.shift_cashier(), Err(RoleError::NoShift)));
        let long = "x".repeat(100_000);
        let err = d.start_shift(&long, None).unwrap_err();
        assert_eq!(err.code(), "text_too_long", "{err}");
        assert!(err.to_string().len() < 200, "the name is not echoed back");
    }

    #[test]
    fn the_lockout_grows_and_is_capped() {
        assert_eq!(lockout_ms(2), 0);
        assert_eq!(lockout_ms(3), 30_000);
        assert_eq!(lockout_ms(4), 60_000);
        assert_eq!(lockout_ms(40), MAX_LOCKOUT_MS);
    }
}
