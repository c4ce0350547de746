//! Chain mode's commands (issue 21): the cashier screen's sync badge and the manager's 门店
//! tab. Without `[hq]` the badge is absent (`null`) and the 门店 tab shows this till's own
//! day, marked 本机.

use crate::error::UiError;
use crate::manager_commands::off_main;
use crate::startup::Startup;
use redeemdesk_core::hq_sync::SyncState;
use redeemdesk_hq::till::{store_day_view, StoreDayView};
use tauri::State;

/// The sync badge (已同步 / 待上传 n / 总部连不上, or HQ's fork); `null` without `[hq]`.
/// Polled by the cashier screen: two small reads of the ledger on their own connection.
#[tauri::command]
pub async fn sync_state(startup: State<'_, Startup>) -> Result<Option<SyncState>, UiError> {
    let Some(uploader) = startup.ready()?.hq.clone() else {
        return Ok(None);
    };
    Ok(Some(off_main(move || Ok(uploader.badge()?)).await?))
}

/// The store's business day across its tills from HQ, or this till's own (本机).
#[tauri::command]
pub async fn store_day(startup: State<'_, Startup>, day: String) -> Result<StoreDayView, UiError> {
    let day = crate::args::day(&day)?;
    let ready = startup.ready()?;
    ready.manager()?;
    let (link, ledger) = (ready.hq_store.clone(), ready.desk.ledger().clone());
    Ok(store_day_view(link.as_deref(), &ledger, ready.hq_till.as_deref(), day).await?)
}
