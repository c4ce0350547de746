//! The printing commands: 打印机 in 设置 and its test page, the slip after an
//! answer, reprints from the recent strip and the manager's log, and the virtual printer's
//! last slips as pictures (sandbox mode). The printing itself is core's (slip/print.rs).

use crate::error::UiError;
use crate::startup::Startup;
use base64::Engine;
use redeemdesk_core::ledger::{Actor, PrintJob};
use redeemdesk_core::slip::PrinterSettings;
use serde::Serialize;
use tauri::State;

#[tauri::command]
pub fn printer_settings(startup: State<'_, Startup>) -> Result<PrinterSettings, UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    Ok(ready.desk.printer_settings())
}

#[tauri::command]
pub fn save_printer_settings(
    startup: State<'_, Startup>,
    settings: PrinterSettings,
) -> Result<PrinterSettings, UiError> {
    let ready = startup.ready()?;
    Ok(ready
        .desk
        .save_printer_settings(&ready.unlock()?, &settings)?)
}

/// 打印测试页, from 设置.
#[tauri::command]
pub fn print_test_page(startup: State<'_, Startup>) -> Result<PrintJob, UiError> {
    let ready = startup.ready()?;
    Ok(ready.desk.print_test_page(&ready.unlock()?)?)
}

/// Called once the answer is on screen: the receipt of a success when auto-print is on.
#[tauri::command]
pub fn after_answer(
    startup: State<'_, Startup>,
    attempt_id: String,
) -> Result<Option<PrintJob>, UiError> {
    let id = crate::args::attempt_id(&attempt_id)?;
    Ok(startup.ready()?.desk.after_answer(&id)?)
}

/// The cashier prints an attempt's slip (a receipt, or the 待确认 note), a reprint if one
/// was printed before.
#[tauri::command]
pub fn print_slip(
    startup: State<'_, Startup>,
    attempt_id: String,
    cashier: String,
) -> Result<PrintJob, UiError> {
    let desk = &startup.ready()?.desk;
    Ok(desk.print_for_attempt(&attempt_id, Actor::Cashier(cashier))?)
}

/// The manager reprints a slip from the log: an attempt's, or a job (a 交班单) by its id.
#[tauri::command]
pub fn reprint_slip(
    startup: State<'_, Startup>,
    attempt_id: Option<String>,
    job_id: Option<i64>,
) -> Result<PrintJob, UiError> {
    let ready = startup.ready()?;
    let desk = &ready.desk;
    Ok(match (attempt_id, job_id) {
        (Some(a), _) => desk.print_for_attempt(&a, Actor::Manager(ready.manager()?))?,
        (None, Some(j)) => desk.reprint(&ready.unlock()?, j)?,
        (None, None) => return Err(UiError::new("nothing_to_print", "no attempt or job")),
    })
}

/// The latest slips the desk queued, newest first.
#[tauri::command]
pub fn recent_slips(startup: State<'_, Startup>) -> Result<Vec<PrintJob>, UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    Ok(ready.desk.recent_prints(20)?)
}

/// A slip the virtual printer received, as a picture.
#[derive(Debug, Serialize)]
pub struct VirtualSlip {
    pub seq: u32,
    pub received_ms: i64,
    /// `data:image/png;base64,…`
    pub png: String,
    pub text: String,
}

/// The virtual printer's last slips, newest first (sandbox mode; empty otherwise).
#[tauri::command]
pub fn virtual_slips(startup: State<'_, Startup>) -> Result<Vec<VirtualSlip>, UiError> {
    let ready = startup.ready()?;
    ready.manager()?;
    let Some(printer) = ready.printer() else {
        return Ok(Vec::new());
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(printer
        .slips()
        .into_iter()
        .rev()
        .take(6)
        .filter_map(|s| {
            let png = std::fs::read(&s.png).ok()?;
            Some(VirtualSlip {
                seq: s.seq,
                received_ms: s.received_ms,
                png: format!("data:image/png;base64,{}", b64.encode(png)),
                text: s.grid.join("\n"),
            })
        })
        .collect())
}
