// No console window on Windows release builds; everything else lives in lib.rs.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
fn main() {
    std::process::exit(redeemdesk_app::run())
}
