//! The sandbox's one integration test binary: the real emulator on loopback, real ledger
//! files, real bytes. `wire` holds its wire format (with `contract`, the scenarios every
//! core client passes); the others run the desk's use cases over it.

mod boot;
mod engine;
mod inbox_actions;
mod printer;
mod settings;
mod wire;

use redeemdesk_core::desk::{Desk, ManagerUnlock};

/// The manager's token: the PIN set on first use, then unlocked (a new session each time,
/// so a clock moved on by a test never finds it idle).
fn manager(desk: &Desk) -> ManagerUnlock {
    if !desk.manager_pin_is_set().unwrap() {
        desk.set_manager_pin(None, "246813", "李店长").unwrap();
    }
    desk.unlock_manager("246813", "李店长").unwrap()
}
