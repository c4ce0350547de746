//! Money inside the program: integer fen (分). Amounts in 元 from a channel are parsed from
//! their decimal text exactly (channels.md §0 "Money"), never through `f64`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in fen (1 元 = 100 fen). Signed so that a refund or a difference can be shown.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// Why a decimal text in 元 could not be read as fen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YuanParseError {
    #[error("not a decimal amount in 元: {0:?}")]
    NotDecimal(String),
    #[error("more than two decimals in an amount in 元: {0:?}")]
    TooManyDecimals(String),
    #[error("amount in 元 out of range: {0:?}")]
    OutOfRange(String),
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// Parses `"12"`, `"0.1"`, `"12.30"`, `"-3.5"` exactly. More than two decimals is an
    /// error, not a rounding (channels.md §0).
    pub fn from_yuan_str(text: &str) -> Result<Fen, YuanParseError> {
        let t = text.trim();
        let (negative, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac_part.is_empty())
            || !all_digits(int_part)
            || !all_digits(frac_part)
            || (digits.contains('.') && frac_part.is_empty() && int_part.is_empty())
        {
            return Err(YuanParseError::NotDecimal(text.to_owned()));
        }
        if frac_part.len() > 2 {
            return Err(YuanParseError::TooManyDecimals(text.to_owned()));
        }
        let whole: i64 = if int_part.is_empty() {
            0
        } else {
            int_part
                .parse()
                .map_err(|_| YuanParseError::OutOfRange(text.to_owned()))?
        };
        let mut frac: i64 = if frac_part.is_empty() {
            0
        } else {
            frac_part.parse().unwrap_or(0)
        };
        if frac_part.len() == 1 {
            frac *= 10;
        }
        let fen = whole
            .checked_mul(100)
            .and_then(|v| v.checked_add(frac))
            .ok_or_else(|| YuanParseError::OutOfRange(text.to_owned()))?;
        Ok(Fen(if negative { -fen } else { fen }))
    }

    /// The amount in 元 with exactly two decimals, as exports and receipts show it.
    pub fn to_yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}", self.to_yuan_string())
    }
}

impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0 + rhs.0)
    }
}

impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_text_becomes_exact_fen() {
        assert_eq!(Fen::from_yuan_str("0.1"), Ok(Fen(10)));
        assert_eq!(Fen::from_yuan_str("12"), Ok(Fen(1200)));
        assert_eq!(Fen::from_yuan_str("12.30"), Ok(Fen(1230)));
        assert_eq!(Fen::from_yuan_str(".5"), Ok(Fen(50)));
        assert_eq!(Fen::from_yuan_str("-3.05"), Ok(Fen(-305)));
    }

    #[test]
    fn more_than_two_decimals_is_refused_not_rounded() {
        assert!(matches!(
            Fen::from_yuan_str("0.105"),
            Err(YuanParseError::TooManyDecimals(_))
        ));
    }

    #[test]
    fn garbage_is_not_an_amount() {
        for bad in ["", ".", "1,00", "1e2", "abc", "1.2.3", "--1"] {
            assert!(Fen::from_yuan_str(bad).is_err(), "{bad:?} must not parse");
        }
    }

    #[test]
    fn fen_prints_as_yuan_with_two_decimals() {
        assert_eq!(Fen(1000).to_yuan_string(), "10.00");
        assert_eq!(Fen(5).to_yuan_string(), "0.05");
        assert_eq!(Fen(-1234).to_string(), "¥-12.34");
    }
}
