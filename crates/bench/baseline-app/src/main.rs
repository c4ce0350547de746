//! The yardstick for benchmark 5 (`make bench`): the smallest Tauri 2 window that does what
//! RedeemDesk's window does on start — one page, one command called on load, the answer
//! shown — with the same window size, a fresh webview data directory per run and the same
//! ready probe (compiled from the app's own file), so that start-up time and memory can be
//! compared against what Tauri and WebKit cost by themselves.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[path = "../../../../src-tauri/ready_probe.rs"]
mod ready_probe;

use tauri::{WebviewUrl, WebviewWindowBuilder};

#[tauri::command]
fn hello() -> String {
    format!("baseline {}", env!("CARGO_PKG_VERSION"))
}

fn main() {
    // RedeemDesk keeps its webview data under its data directory, fresh on every bench run;
    // the baseline does the same so neither starts with a warm WebKit cache.
    let data = std::env::var_os("REDEEMDESK_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("redeemdesk-baseline"));
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![hello])
        .setup(move |app| {
            let window =
                WebviewWindowBuilder::new(app, "main", WebviewUrl::App("index.html".into()))
                    .title("RedeemDesk baseline")
                    .inner_size(1024.0, 768.0)
                    .data_directory(data.join("webview"))
                    .focused(true);
            ready_probe::attach(window).build()?;
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("the baseline window runs");
}
