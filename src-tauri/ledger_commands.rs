//! 另起新账本: the way out of a damaged ledger from the window, for the start-up failure page
//! (a ledger that cannot be opened) and the till's red banner (a ledger that failed its
//! integrity check while running). The command only leaves the request (core new_ledger.rs)
//! and restarts; the next start sets the old file aside, keeping it, and starts a new one.

use crate::error::UiError;
use crate::startup::Startup;
use redeemdesk_core::new_ledger;
use tauri::{AppHandle, Runtime, State};

/// The start-up failures a new ledger is the way out of: the file is damaged, or shorter
/// than the chain head seen before it (a lost `-wal`).
const DAMAGE_CODES: [&str; 2] = ["ledger_corrupt", "ledger_behind_head"];

#[tauri::command]
pub fn start_new_ledger<R: Runtime>(
    app: AppHandle<R>,
    startup: State<'_, Startup>,
) -> Result<(), UiError> {
    let (root, why) = match &*startup {
        // Nobody can be asked for the manager PIN of a ledger that does not open: the old
        // file is kept whole, which is what makes this safe to offer.
        Startup::Failed(e) if DAMAGE_CODES.contains(&e.code) => (
            redeemdesk_core::data_dir::resolve()?,
            format!("{}: {}", e.code, e.message),
        ),
        Startup::Failed(e) => return Err(not_damaged(e.code)),
        Startup::Ready(ready) => {
            let Some(detail) = ready.desk.halted() else {
                return Err(not_damaged("the ledger is whole"));
            };
            let manager = ready.manager()?;
            tracing::warn!(manager = %manager, "a new ledger asked for in place of a damaged one");
            (ready.data_dir.root().to_owned(), detail)
        }
    };
    new_ledger::request(&root, &why).map_err(|e| {
        UiError::new(
            "new_ledger_request_failed",
            format!("{}: {e}", root.join(new_ledger::REQUEST_FILE).display()),
        )
    })?;
    crate::settings_commands::restart_after_exit();
    app.exit(0);
    Ok(())
}

fn not_damaged(why: &str) -> UiError {
    UiError::new(
        "ledger_not_damaged",
        format!("a new ledger is started only in place of a damaged one ({why})"),
    )
}
