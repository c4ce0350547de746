//! Scanner and keyboard input → a coupon code (product.md "The cashier screen" step 2).
//! Normalisation: NFKC (full-width digits from a Chinese IME become ASCII), control
//! characters and the scanner's terminators (CR, LF, Tab) removed, whitespace removed,
//! the configured prefix/suffix stripped. A code is never truncated: one that is too long
//! is refused with a message, not cut.

use crate::channel::ids::{CouponCode, MAX_CODE_LEN};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// What the store's scanner adds around a code (configured in the settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRules {
    pub prefix: String,
    pub suffix: String,
}

/// Why the input is not a code. `code()` is what the UI branches on for its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("no code: the input is empty")]
    Empty,
    #[error("the code is {len} characters long; the longest accepted is {max}")]
    TooLong { len: usize, max: usize },
    #[error("{ch:?} at position {position} cannot be part of a coupon code")]
    NotACodeCharacter { ch: char, position: usize },
}

impl ScanError {
    pub fn code(&self) -> &'static str {
        match self {
            ScanError::Empty => "code_empty",
            ScanError::TooLong { .. } => "code_too_long",
            ScanError::NotACodeCharacter { .. } => "code_bad_character",
        }
    }
}

/// Turns what the capture field received into a code.
pub fn normalise(raw: &str, rules: &ScanRules) -> Result<CouponCode, ScanError> {
    // NFKC first: it turns full-width digits, letters and the ideographic space into their
    // ASCII forms, so the checks below see what the channel will see.
    let folded: String = raw.nfkc().collect();
    // Control characters (the scanner's CR/LF/Tab, stray escapes) and spaces are never part
    // of a code; printed vouchers group digits with spaces that a cashier types along.
    let mut code: String = folded
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect();
    let prefix: String = rules.prefix.nfkc().filter(|c| !c.is_whitespace()).collect();
    let suffix: String = rules.suffix.nfkc().filter(|c| !c.is_whitespace()).collect();
    if !prefix.is_empty() && code.starts_with(&prefix) {
        code.drain(..prefix.len());
    }
    if !suffix.is_empty() && code.ends_with(&suffix) {
        code.truncate(code.len() - suffix.len());
    }
    if code.is_empty() {
        return Err(ScanError::Empty);
    }
    let len = code.chars().count();
    if len > MAX_CODE_LEN {
        return Err(ScanError::TooLong {
            len,
            max: MAX_CODE_LEN,
        });
    }
    // Every channel's codes are printable ASCII (digits, letters, and the URL characters
    // of a Douyin short link): anything else (emoji, Chinese, symbols an IME produced) is
    // a mistyped or misread code, better refused here than sent.
    if let Some((position, ch)) = code
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_graphic())
    {
        return Err(ScanError::NotACodeCharacter {
            ch,
            position: position + 1,
        });
    }
    CouponCode::new(code).map_err(|_| ScanError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(raw: &str) -> Result<String, ScanError> {
        normalise(raw, &ScanRules::default()).map(|c| c.as_str().to_owned())
    }

    #[test]
    fn scanner_terminators_and_surrounding_space_are_removed() {
        for raw in [
            "679533922928\r",
            "679533922928\n",
            "679533922928\r\n",
            "679533922928\t",
            "  679533922928  ",
        ] {
            assert_eq!(plain(raw).as_deref(), Ok("679533922928"), "{raw:?}");
        }
    }

    #[test]
    fn full_width_digits_from_an_ime_become_ascii() {
        assert_eq!(
            plain("６７９５３３９２２９２８").as_deref(),
            Ok("679533922928")
        );
        assert_eq!(
            plain("ＡＢ１２"),
            Ok("AB12".to_owned()),
            "full-width letters too"
        );
    }

    #[test]
    fn digit_groups_typed_with_spaces_join_up() {
        assert_eq!(plain("5948 2868 11").as_deref(), Ok("5948286811"));
        assert_eq!(
            plain("5948\u{3000}2868").as_deref(),
            Ok("59482868"),
            "ideographic space"
        );
    }

    #[test]
    fn the_configured_prefix_and_suffix_are_stripped_once() {
        let rules = ScanRules {
            prefix: "]C1".into(),
            suffix: "#".into(),
        };
        assert_eq!(
            normalise("]C1123456#\r", &rules).unwrap().as_str(),
            "123456"
        );
        assert_eq!(
            normalise("123456", &rules).unwrap().as_str(),
            "123456",
            "absent is fine"
        );
    }

    #[test]
    fn a_long_douyin_short_link_is_kept_whole() {
        let link = "https://v.douyin.com/iRNBho6u/?a=".to_owned() + &"x".repeat(150);
        assert_eq!(plain(&link), Ok(link.clone()), "never truncated");
    }

    #[test]
    fn empty_too_long_emoji_and_chinese_are_refused_with_a_reason() {
        assert_eq!(plain(""), Err(ScanError::Empty));
        assert_eq!(plain(" \r\n\t"), Err(ScanError::Empty));
        let long = "1".repeat(MAX_CODE_LEN + 1);
        assert_eq!(
            plain(&long),
            Err(ScanError::TooLong {
                len: MAX_CODE_LEN + 1,
                max: MAX_CODE_LEN
            })
        );
        assert_eq!(plain("1234😀").unwrap_err().code(), "code_bad_character");
        assert_eq!(
            plain("12券34"),
            Err(ScanError::NotACodeCharacter {
                ch: '券',
                position: 3
            })
        );
    }

    #[test]
    fn control_characters_inside_are_dropped_not_kept() {
        assert_eq!(plain("12\u{0007}34\u{001b}").as_deref(), Ok("1234"));
    }
}
