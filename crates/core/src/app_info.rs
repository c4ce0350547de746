//! What the About box shows: the version, the mode and where the data lives.

use serde::{Deserialize, Serialize};

/// Sandbox: every channel points at the emulator inside the app; its records never mix
/// with live ones. Live: at least one real channel is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Sandbox,
    Live,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    pub version: String,
    pub mode: Mode,
    pub data_dir: String,
}

impl AppInfo {
    pub fn new(mode: Mode, data_dir: &std::path::Path) -> AppInfo {
        AppInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            mode,
            data_dir: data_dir.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_serialises_with_lowercase_mode_for_the_ui() {
        let info = AppInfo::new(Mode::Sandbox, std::path::Path::new("/tmp/x"));
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["mode"], "sandbox", "the UI compares against 'sandbox'");
        assert_eq!(json["data_dir"], "/tmp/x");
        assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    }
}
