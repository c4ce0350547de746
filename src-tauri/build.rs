// The app manifest lists the app's own commands so that a capability must grant each one
// by name: nothing is callable from the UI unless capabilities/ says so.
fn main() {
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "app_info",
            "quit_after_fatal",
            "channels",
            "prepare",
            "redeem",
            "recent_attempts",
            "day_log",
            "code_timeline",
            "inbox",
            "decide",
            "products",
            "submit_order",
            "manager_pin_is_set",
            "set_manager_pin",
            "manager_unlock",
            "manager_lock",
            "undo_preview",
            "undo",
            "reconcile_day",
            "sign_off_day",
            "channel_setup",
            "save_channel_setup",
            "cashiers",
            "set_cashiers",
            "start_shift",
        ]),
    ))
    .expect("tauri-build failed");
}
