//! The names people read in what the core writes for them (exports, slips, file names): a
//! channel, a platform, an attempt's state, a reconciliation verdict, in the language asked
//! for. The UI has its own catalogue (ui/i18n); these are the same words, kept for the files
//! the core makes. Machines read the stable ids, which exports keep in columns of their own.

use crate::channel::ChannelKind;
use crate::ledger::{AttemptState, Platform};
use crate::reconcile::{LineState, Verdict};

pub use crate::lang::Lang;

/// A channel's name (its module's, `ChannelKind::name`).
pub fn channel(lang: Lang, c: ChannelKind) -> &'static str {
    c.name(lang)
}

pub fn platform(lang: Lang, p: Platform) -> &'static str {
    let (zh, en) = match p {
        Platform::Meituan => ("美团", "Meituan"),
        Platform::Tiktok => ("抖音", "Douyin"),
        Platform::Dianping => ("点评", "Dianping"),
        Platform::Mtdz => ("美团到综", "Meituan Local"),
    };
    lang.pick(zh, en)
}

/// 通联·抖音, 收呗: a channel with its platform where it has one.
pub fn channel_with_platform(lang: Lang, c: ChannelKind, p: Option<Platform>) -> String {
    match p {
        Some(p) => format!("{}·{}", channel(lang, c), platform(lang, p)),
        None => channel(lang, c).to_owned(),
    }
}

pub fn attempt_state(lang: Lang, s: AttemptState) -> &'static str {
    let (zh, en) = match s {
        AttemptState::Pending => ("处理中", "pending"),
        AttemptState::Succeeded => ("成功", "succeeded"),
        AttemptState::Rejected => ("失败", "failed"),
        AttemptState::Unknown => ("待确认", "to be confirmed"),
        AttemptState::Cancelled => ("已撤销", "undone"),
    };
    lang.pick(zh, en)
}

/// A statement line's state as the channel gave it.
pub fn line_state(lang: Lang, s: LineState) -> &'static str {
    let (zh, en) = match s {
        LineState::Redeemed => ("已核销", "redeemed"),
        LineState::Cancelled => ("已撤销", "cancelled"),
    };
    lang.pick(zh, en)
}

pub fn verdict(lang: Lang, v: Verdict) -> &'static str {
    let (zh, en) = match v {
        Verdict::Matched => ("一致", "matched"),
        Verdict::OnlyHere => ("仅本地", "only here"),
        Verdict::OnlyAtChannel => ("仅渠道", "only at the channel"),
        Verdict::AmountDiffers => ("金额不符", "amount differs"),
        Verdict::StateDiffers => ("状态不符", "state differs"),
        Verdict::Unreadable => ("无法读取", "unreadable row"),
    };
    lang.pick(zh, en)
}

/// A text is written for Chinese readers only when it has no Latin word of ours in it:
/// what a test of a Chinese file checks, beside the ids it allows.
pub fn latin_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() > 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_both_languages_and_the_chinese_has_no_latin_word() {
        for c in ChannelKind::ALL {
            assert!(latin_words(channel(Lang::Zh, c)).is_empty());
            assert_ne!(channel(Lang::Zh, c), channel(Lang::En, c));
        }
        for s in [
            AttemptState::Pending,
            AttemptState::Succeeded,
            AttemptState::Rejected,
            AttemptState::Unknown,
            AttemptState::Cancelled,
        ] {
            assert!(latin_words(attempt_state(Lang::Zh, s)).is_empty());
            assert!(!attempt_state(Lang::En, s).is_empty());
        }
        assert_eq!(
            channel_with_platform(Lang::Zh, ChannelKind::Allinpay, Some(Platform::Tiktok)),
            "通联·抖音"
        );
        assert_eq!(
            channel_with_platform(Lang::En, ChannelKind::Allinpay, Some(Platform::Tiktok)),
            "Allinpay·Douyin"
        );
    }

    /// One vocabulary: a channel or platform is called in a file what the window calls it.
    #[test]
    fn the_names_are_the_ones_the_window_shows() {
        let ui = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/i18n/");
        for (lang, file) in [(Lang::Zh, "zh.js"), (Lang::En, "en.js")] {
            let table = std::fs::read_to_string(format!("{ui}{file}")).expect("the UI catalogue");
            let entry = |key: &str| -> String {
                let at = table
                    .find(&format!("'{key}': '"))
                    .unwrap_or_else(|| panic!("{key} in {file}"));
                let rest = &table[at + key.len() + 5..];
                rest[..rest.find('\'').expect("closing quote")].to_owned()
            };
            for c in ChannelKind::ALL {
                assert_eq!(
                    entry(&format!("channel.{}", c.as_str())),
                    channel(lang, c),
                    "{file}"
                );
            }
            for p in [
                Platform::Meituan,
                Platform::Tiktok,
                Platform::Dianping,
                Platform::Mtdz,
            ] {
                assert_eq!(
                    entry(&format!("platform.{}", p.as_str())),
                    platform(lang, p),
                    "{file}"
                );
            }
        }
    }
}
