//! Id newtypes: a coupon code cannot be passed where a redemption id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest code accepted. Douyin scans are short links of any length (channels.md §5), so
/// this is only a guard against pasted garbage; a code is never truncated.
pub const MAX_CODE_LEN: usize = 2048;

/// Why a text is not a coupon code or a redemption id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("the coupon code is empty")]
    EmptyCode,
    #[error("the coupon code is longer than {MAX_CODE_LEN} characters")]
    CodeTooLong,
    #[error("the coupon code contains a control character or space")]
    CodeHasControl,
    #[error("a redemption id is 32 lowercase hex characters, got {0:?}")]
    RedemptionId(String),
}

/// A coupon code as scanned or typed, after the scanner normalisation (`scan`): never
/// empty, no control characters or whitespace, never truncated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CouponCode(String);

impl CouponCode {
    pub fn new(code: impl Into<String>) -> Result<CouponCode, IdError> {
        let code = code.into();
        if code.is_empty() {
            return Err(IdError::EmptyCode);
        }
        if code.chars().count() > MAX_CODE_LEN {
            return Err(IdError::CodeTooLong);
        }
        if code.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(IdError::CodeHasControl);
        }
        Ok(CouponCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CouponCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CouponCode::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for CouponCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Our own id of one redemption intent (channels.md §0 "Idempotency"): a UUID v4 in simple
/// form, 32 lowercase hex characters, created and stored before the first network call and
/// reused on every retry. It fits every channel's 32-character key field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RedemptionId(String);

impl RedemptionId {
    /// A fresh random id.
    pub fn new_v4() -> RedemptionId {
        RedemptionId(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Reads a stored id back; only the simple lowercase form is accepted, so the text sent
    /// to a channel is always the text stored.
    pub fn parse(text: &str) -> Result<RedemptionId, IdError> {
        let ok = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(RedemptionId(text.to_owned()))
        } else {
            Err(IdError::RedemptionId(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RedemptionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RedemptionId::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for RedemptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_redemption_id_is_32_lowercase_hex_and_parses_back() {
        let id = RedemptionId::new_v4();
        assert_eq!(
            id.as_str().len(),
            32,
            "fits the channels' 32-char key fields"
        );
        assert_eq!(
            RedemptionId::parse(id.as_str()),
            Ok(id.clone()),
            "stored text reads back"
        );
        assert!(
            RedemptionId::parse(&id.as_str().to_uppercase()).is_err(),
            "uppercase is not the stored form"
        );
        assert!(
            RedemptionId::parse("843d920a-2c0f-e3b4-eebc-9d2dd5887ce2").is_err(),
            "hyphenated is not simple form"
        );
    }

    #[test]
    fn a_coupon_code_is_never_truncated_but_must_be_clean() {
        let long = "https://v.douyin.com/".to_owned() + &"a".repeat(500);
        assert_eq!(
            CouponCode::new(long.clone()).unwrap().as_str(),
            long,
            "long short-links stay whole"
        );
        assert_eq!(CouponCode::new(""), Err(IdError::EmptyCode));
        assert_eq!(
            CouponCode::new("12 34"),
            Err(IdError::CodeHasControl),
            "normalisation removes spaces first"
        );
        assert_eq!(CouponCode::new("12\n"), Err(IdError::CodeHasControl));
    }
}
