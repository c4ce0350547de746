//! The main window's size: 1024×768 where the screen has room, maximised where it has not
//! (a 1366×768 till screen with a taskbar leaves about 700 px of height, less than the
//! window and its title bar), so nothing of the till is ever below the screen's edge.

use tauri::{Runtime, WebviewWindow};

/// The window's inner size where the screen has room for it.
pub const INNER: (f64, f64) = (1024.0, 768.0);
/// The smallest inner size the till's screens are laid out for.
pub const MIN_INNER: (f64, f64) = (1024.0, 640.0);
/// What a window manager takes around a window, with room for a taskbar.
const FRAME_AND_TASKBAR: (f64, f64) = (16.0, 110.0);

/// Whether a screen of this logical size is too small for the window at `INNER`.
pub fn starts_maximised(screen_width: f64, screen_height: f64) -> bool {
    screen_width < INNER.0 + FRAME_AND_TASKBAR.0 || screen_height < INNER.1 + FRAME_AND_TASKBAR.1
}

/// Maximises the window on a small screen. A window system that cannot say its monitor
/// leaves the window as it is.
pub fn fit_to_screen<R: Runtime>(window: &WebviewWindow<R>) -> tauri::Result<()> {
    if let Some(m) = window.current_monitor()? {
        let size = m.size().to_logical::<f64>(m.scale_factor());
        if starts_maximised(size.width, size.height) {
            tracing::info!(
                width = size.width,
                height = size.height,
                "a small screen: the window starts maximised"
            );
            window.maximize()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::starts_maximised;

    #[test]
    fn a_1366_by_768_screen_maximises_and_a_full_hd_one_does_not() {
        assert!(starts_maximised(1366.0, 768.0));
        assert!(starts_maximised(1280.0, 800.0));
        assert!(
            starts_maximised(1024.0, 1024.0),
            "no room for the frame beside the window"
        );
        assert!(!starts_maximised(1920.0, 1080.0));
        assert!(
            !starts_maximised(1280.0, 1024.0),
            "the e2e screen keeps the 1024×768 window"
        );
    }
}
