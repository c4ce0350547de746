//! What a desk keeps when it goes live. Sandbox and live records sit in separate ledgers,
//! but the people do not change with the mode: the manager PIN and the cashier list set while
//! practising carry over into a live ledger that has none. Without this the
//! first person to press F9 after the switch would set a new manager PIN on a desk that had
//! one. Only the hashes are copied, never a PIN, and the copy is in the live ledger's audit
//! trail with the sandbox chain head it came from.

use crate::clock::UnixMs;
use crate::desk::roles::{CASHIERS_KEY, PIN_KEY};
use crate::ledger::{Actor, AuditEntry, Ledger, LedgerError};

/// What was copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CarriedOver {
    pub manager_pin: bool,
    pub cashiers: bool,
}

/// Copies the manager PIN hash and the cashier list from `sandbox` into `live` where `live`
/// has none of its own; a live value is never replaced.
pub fn carry_roles_over(
    sandbox: &Ledger,
    live: &Ledger,
    now_ms: UnixMs,
) -> Result<CarriedOver, LedgerError> {
    carry_roles_from(sandbox, "sandbox_ledger", live, now_ms)
}

/// The same from any older ledger (`from` names it in the audit trail: the sandbox ledger at
/// going live, a damaged ledger set aside for a new one), with that ledger's chain head.
pub fn carry_roles_from(
    sandbox: &Ledger,
    from: &str,
    live: &Ledger,
    now_ms: UnixMs,
) -> Result<CarriedOver, LedgerError> {
    let mut carried = CarriedOver::default();
    for (key, flag) in [
        (PIN_KEY, &mut carried.manager_pin),
        (CASHIERS_KEY, &mut carried.cashiers),
    ] {
        if live.setting(key)?.is_some() {
            continue;
        }
        if let Some(value) = sandbox.setting(key)? {
            live.set_setting(key, Some(&value), &Actor::System, now_ms)?;
            *flag = true;
        }
    }
    if carried != CarriedOver::default() {
        let head = sandbox
            .chain_head()?
            .map(|(id, hash)| format!("{id}:{}", &hash[..hash.len().min(12)]));
        live.record_audit(&AuditEntry {
            time_ms: now_ms,
            actor: Actor::System,
            action: "roles_carried_over".into(),
            subject: Some(from.into()),
            detail: Some(
                serde_json::json!({
                    "manager_pin": carried.manager_pin,
                    "cashiers": carried.cashiers,
                    "sandbox_chain_head": head,
                })
                .to_string(),
            ),
        })?;
    }
    Ok(carried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app_info::Mode;
    use crate::clock::ManualClock;
    use crate::desk::roles::{CashierEdit, RoleError};
    use crate::desk::Desk;
    use crate::scan::ScanRules;
    use std::sync::Arc;

    fn desk_on(path: &std::path::Path, mode: Mode) -> Desk {
        let clock = Arc::new(ManualClock::new(1_800_000_000_000));
        let ledger = Arc::new(Ledger::open(path, mode).unwrap());
        Desk::open(ledger, Vec::new(), clock, ScanRules::default()).unwrap()
    }

    /// The whole switch on real files: a manager and two cashiers set in the sandbox ledger;
    /// the new live ledger opens with the same PIN, which it asks for before any change.
    #[test]
    fn the_manager_pin_and_the_cashiers_carry_over_and_nobody_sets_a_new_pin_without_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox_path = dir.path().join(crate::ledger::file_name(Mode::Sandbox));
        let live_path = dir.path().join(crate::ledger::file_name(Mode::Live));
        {
            let d = desk_on(&sandbox_path, Mode::Sandbox);
            d.set_manager_pin(None, "246813", "李店长").unwrap();
            let unlock = d.unlock_manager("246813", "李店长").unwrap();
            d.set_cashiers(
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
            d.ledger.close().unwrap();
        }
        let sandbox = Ledger::open_read_only(&sandbox_path, Mode::Sandbox).unwrap();
        let live = Ledger::open(&live_path, Mode::Live).unwrap();
        let carried = carry_roles_over(&sandbox, &live, 1_800_000_000_000).unwrap();
        assert_eq!(
            carried,
            CarriedOver {
                manager_pin: true,
                cashiers: true
            }
        );
        assert_eq!(
            live.setting(PIN_KEY).unwrap(),
            sandbox.setting(PIN_KEY).unwrap(),
            "the same hash"
        );
        // A second start copies nothing again, and a live PIN is never replaced.
        assert_eq!(
            carry_roles_over(&sandbox, &live, 1_800_000_000_001).unwrap(),
            CarriedOver::default()
        );
        live.close().unwrap();
        drop(live);

        let d = desk_on(&live_path, Mode::Live);
        assert!(d.manager_pin_is_set().unwrap());
        assert!(
            matches!(
                d.set_manager_pin(None, "999999", "路人"),
                Err(RoleError::Wrong { .. })
            ),
            "a new PIN needs the old one"
        );
        d.check_manager_pin("246813", "李店长")
            .expect("the old PIN opens the live desk");
        let names: Vec<_> = d
            .cashiers()
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.has_pin))
            .collect();
        assert_eq!(
            names,
            [("王芳".to_owned(), true), ("张伟".to_owned(), false)]
        );
        let audit = d.ledger.audit_between(0, i64::MAX).unwrap();
        assert!(
            audit.iter().any(|a| a.entry.action == "roles_carried_over"),
            "the copy is audited"
        );
        assert!(d.ledger.verify_chain().unwrap().is_intact());
    }
}
