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
        ]),
    ))
    .expect("tauri-build failed");
}
