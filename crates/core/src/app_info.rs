//! What the About box shows: the version, the mode and where the data lives; with the
//! business zone and today's business day, which every screen's times are written in;
//! and whether the desk's clock disagrees with the channels' (the cashier screen's banner).

use crate::business_day::{BusinessDay, BusinessDayRule};
use crate::clock::UnixMs;
use crate::clock_skew::ClockSkew;
use crate::file_modes::FileWarning;
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
    /// The business zone, minutes east of UTC: the UI writes times in it, as the exports do.
    pub utc_offset_minutes: i32,
    /// The business day it is now (cut-off and zone applied), `YYYY-MM-DD`.
    pub business_today: BusinessDay,
    /// Why the till stopped redeeming (the ledger failed its integrity check), if it did.
    pub halted: Option<String>,
    /// The largest disagreement over the limit with a channel's clock, if any.
    #[serde(default)]
    pub clock_skew: Option<ClockSkew>,
    /// What a person should fix, found at start-up (e.g. a secrets file others can read).
    #[serde(default)]
    pub warnings: Vec<StartupWarning>,
    /// The configured channels in chooser order: the till numbers them F1… (live mode
    /// shows only these; sandbox mode has all five).
    #[serde(default)]
    pub channels: Vec<crate::channel::ChannelKind>,
}

/// A start-up warning as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartupWarning {
    pub code: String,
    pub message: String,
    /// The warning's data, from which the UI writes its own sentence where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl From<&FileWarning> for StartupWarning {
    fn from(w: &FileWarning) -> StartupWarning {
        StartupWarning {
            code: w.code().to_owned(),
            message: w.to_string(),
            detail: None,
        }
    }
}

impl AppInfo {
    pub fn new(
        mode: Mode,
        data_dir: &std::path::Path,
        rule: BusinessDayRule,
        now: UnixMs,
    ) -> AppInfo {
        AppInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            mode,
            data_dir: data_dir.display().to_string(),
            utc_offset_minutes: rule.offset_minutes,
            business_today: rule.day_of(now),
            halted: None,
            clock_skew: None,
            warnings: Vec::new(),
            channels: Vec::new(),
        }
    }

    pub fn with_warnings(mut self, warnings: &[FileWarning]) -> AppInfo {
        self.warnings = warnings.iter().map(StartupWarning::from).collect();
        self
    }

    pub fn with_more_warnings(mut self, warnings: &[StartupWarning]) -> AppInfo {
        self.warnings.extend_from_slice(warnings);
        self
    }

    pub fn with_clock_skew(mut self, skew: Option<ClockSkew>) -> AppInfo {
        self.clock_skew = skew;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_info_serialises_with_lowercase_mode_for_the_ui() {
        // 2026-03-03 01:30 +08:00 is still 2026-03-02's business day with a 04:00 cut-off.
        let rule = BusinessDayRule::new(240, 480).unwrap();
        let now = 1_772_472_600_000; // 2026-03-02T17:30:00Z
        let info = AppInfo::new(Mode::Sandbox, std::path::Path::new("/tmp/x"), rule, now);
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["business_today"], "2026-03-02");
        assert_eq!(json["utc_offset_minutes"], 480);
        assert_eq!(json["mode"], "sandbox", "the UI compares against 'sandbox'");
        assert_eq!(json["data_dir"], "/tmp/x");
        assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    }
}
