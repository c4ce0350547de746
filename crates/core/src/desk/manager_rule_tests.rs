//! The one manager rule, held against every manager-only method: each is called with a
//! token that does not hold — one of another desk, of a session locked, replaced or idle
//! too long — on a real ledger file, and must be refused with `manager_locked` before it
//! writes anything. The same call with this desk's live token gets past the rule.

use super::*;
use crate::app_info::Mode;
use crate::business_day::BusinessDay;
use crate::clock::ManualClock;
use crate::desk::resolver::Decision;
use crate::desk::roles::{CashierEdit, MANAGER_IDLE_LOCK_MS};
use crate::desk::settings::DeskSettings;
use crate::ledger::{AttemptId, NotificationId};
use crate::reconcile::StatementMapping;
use crate::slip::PrinterSettings;

const PIN: &str = "246813";

fn desk_on(path: &std::path::Path, clock: Arc<ManualClock>) -> Desk {
    let ledger = Arc::new(Ledger::open(path, Mode::Sandbox).unwrap());
    let desk = Desk::open(ledger, Vec::new(), clock, ScanRules::default()).unwrap();
    desk.set_manager_pin(None, PIN, "李店长").unwrap();
    desk
}

/// Every manager-only method of the desk, called with `unlock`: the code of each answer,
/// `"ok"` for a success.
async fn every_manager_method(desk: &Desk, unlock: &ManagerUnlock) -> Vec<(&'static str, String)> {
    fn code<T, E>(r: Result<T, E>, code: impl Fn(&E) -> &'static str) -> String {
        match r {
            Ok(_) => "ok".to_owned(),
            Err(e) => code(&e).to_owned(),
        }
    }
    let attempt = AttemptId::new_v4();
    let notification = NotificationId::parse(&"0".repeat(32)).unwrap();
    let day: BusinessDay = "2026-11-22".parse().unwrap();
    let mapping = StatementMapping {
        code: "券码".into(),
        face_value: None,
        state: None,
        channel_id: None,
        time: None,
        amounts_in_fen: false,
        cancelled_values: Vec::new(),
    };
    let settings = DeskSettings {
        scan_prefix: "SC".into(),
        scan_suffix: "#".into(),
        cutoff_minutes: 240,
        utc_offset_minutes: 480,
    };
    let cashier = CashierEdit {
        name: "王芳".into(),
        pin: None,
    };
    use crate::desk::inbox::InboxActionError;
    use crate::desk::reconcile::ReconcileError;
    use crate::desk::resolver::DecisionError;
    use crate::desk::roles::RoleError;
    use crate::desk::settings::SettingsError;
    use crate::desk::statements::MappingError;
    use crate::desk::undo::UndoError;
    use crate::slip::PrintError;
    vec![
        ("manager", code(desk.manager(unlock), RoleError::code)),
        (
            "set_cashiers",
            code(desk.set_cashiers(unlock, &[cashier]), RoleError::code),
        ),
        (
            "save_desk_settings",
            code(
                desk.save_desk_settings(unlock, &settings),
                SettingsError::code,
            ),
        ),
        (
            "save_printer_settings",
            code(
                desk.save_printer_settings(unlock, &PrinterSettings::default()),
                PrintError::code,
            ),
        ),
        (
            "print_test_page",
            code(desk.print_test_page(unlock), PrintError::code),
        ),
        ("reprint", code(desk.reprint(unlock, 1), PrintError::code)),
        (
            "decide",
            code(
                desk.decide(&attempt, Decision::Rejected, unlock, "checked"),
                DecisionError::code,
            ),
        ),
        (
            "undo_preview",
            code(desk.undo_preview(unlock, &attempt), UndoError::code),
        ),
        (
            "undo",
            code(
                desk.undo(&attempt, unlock, "checked").await,
                UndoError::code,
            ),
        ),
        (
            "retry_unknown",
            code(
                desk.retry_unknown(&attempt, unlock).await,
                InboxActionError::code,
            ),
        ),
        (
            "retry_notification",
            code(
                desk.retry_notification(&notification, unlock).await,
                InboxActionError::code,
            ),
        ),
        (
            "settle_notification",
            code(
                desk.settle_notification(&notification, true, unlock, "checked"),
                InboxActionError::code,
            ),
        ),
        (
            "save_statement_mapping",
            code(
                desk.save_statement_mapping(ChannelKind::Shoubei, &mapping, unlock),
                MappingError::code,
            ),
        ),
        (
            "reconcile_day",
            code(
                desk.reconcile_day(day, ChannelKind::Allinpay, None, unlock)
                    .await,
                ReconcileError::code,
            ),
        ),
        (
            "sign_off_day",
            code(desk.sign_off_day(1, unlock, None), ReconcileError::code),
        ),
    ]
}

/// Every method refuses `unlock` as `manager_locked`, and the ledger's chain did not move.
async fn all_refused(desk: &Desk, unlock: &ManagerUnlock, why: &str) {
    let before = desk.ledger().chain_anchor().unwrap();
    let answers = every_manager_method(desk, unlock).await;
    assert_eq!(answers.len(), 15, "every manager-only method is called");
    for (method, code) in &answers {
        assert_eq!(code, "manager_locked", "{method} with {why}");
    }
    assert_eq!(
        desk.ledger().chain_anchor().unwrap(),
        before,
        "nothing was written with {why}"
    );
}

#[tokio::test]
async fn every_manager_only_method_refuses_a_token_that_does_not_hold_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let desk = desk_on(&dir.path().join("a.sqlite"), clock.clone());
    let other = desk_on(&dir.path().join("b.sqlite"), clock.clone());

    // Another desk's live token opens nothing here, even while this desk is unlocked too.
    let theirs = other.unlock_manager(PIN, "李店长").unwrap();
    let _ours = desk.unlock_manager(PIN, "李店长").unwrap();
    all_refused(&desk, &theirs, "another desk's token").await;

    // A token of a session locked since.
    let locked = desk.unlock_manager(PIN, "李店长").unwrap();
    desk.lock_manager();
    all_refused(&desk, &locked, "a token of a locked session").await;

    // A token of a session replaced by a newer unlock.
    let replaced = desk.unlock_manager(PIN, "李店长").unwrap();
    let _newer = desk.unlock_manager(PIN, "王经理").unwrap();
    all_refused(&desk, &replaced, "a token of a replaced session").await;

    // A token of a session idle too long.
    let idle = desk.unlock_manager(PIN, "李店长").unwrap();
    clock.advance_ms(MANAGER_IDLE_LOCK_MS);
    all_refused(&desk, &idle, "a token of an idle session").await;

    // The control: this desk's live token gets every call past the rule.
    let live = desk.unlock_manager(PIN, "李店长").unwrap();
    let before = desk.ledger().chain_anchor().unwrap();
    for (method, code) in every_manager_method(&desk, &live).await {
        assert_ne!(code, "manager_locked", "{method} with the live token");
    }
    assert_ne!(
        desk.ledger().chain_anchor().unwrap(),
        before,
        "the live token's calls wrote (the cashier list, the settings)"
    );
}
