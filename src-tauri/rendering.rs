//! How the window paints. WebKitGTK composites every page through OpenGL by default; on the
//! machines a desk runs on (and under Xvfb) that GL is Mesa's software renderer, and the
//! composited frame is the largest part of both start-up and the manager's day log (the
//! figures: docs/measurements.md). The desk draws flat text and tables and needs no GPU
//! layers.
//!
//! The policy is set on this window's settings rather than through the process-wide
//! `WEBKIT_DISABLE_COMPOSITING_MODE` variable, which also reaches every child process.

use tauri::{Runtime, WebviewWindow};

/// `REDEEMDESK_COMPOSITING=1` keeps WebKit's default (GPU compositing), for comparing the
/// two in benchmarks and for a machine whose real GPU draws faster than the CPU.
pub const KEEP_COMPOSITING_ENV: &str = "REDEEMDESK_COMPOSITING";

/// Turns GPU compositing off for the window unless `REDEEMDESK_COMPOSITING=1`. Called right
/// after the window is built; `with_webview` runs it on the main loop while the page is
/// still loading, so in practice the first frame is already painted directly.
///
/// Side effect known from the e2e suite: WebKit's automation screenshot then waits for a
/// repaint (crates/e2e `Desk::screenshot` provides one).
pub fn paint_without_gpu_layers<R: Runtime>(window: &WebviewWindow<R>) -> tauri::Result<()> {
    if std::env::var(KEEP_COMPOSITING_ENV).is_ok_and(|v| v == "1") {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    window.with_webview(|webview| {
        use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
        if let Some(settings) = WebViewExt::settings(&webview.inner()) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    })?;
    #[cfg(not(target_os = "linux"))]
    let _ = window;
    Ok(())
}
