// Like the app's build script: the one command is in the app manifest, so the capability
// must grant it by name and the baseline pays for the same permission check per call.
fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(&["hello"])),
    )
    .expect("tauri-build");
}
