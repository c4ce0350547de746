//! The signing conventions several channels share (channels.md §0, §2, §4, §7): the
//! "drop, sort by ASCII key, join `k=v` with `&`" content, MD5 as 32 lowercase hex, and the
//! constant-time comparison every `verify` goes through. Everything here is pure.

use md5::{Digest, Md5};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// `k1=v1&k2=v2…` over the pairs sorted by key in byte (ASCII) order, raw values, no URL
/// encoding. Callers drop what their channel drops before calling.
pub fn sorted_join<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
    // Stable sort: a repeated key (which no channel sends) keeps its order rather than
    // depending on the caller's container.
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// MD5 of the UTF-8 bytes as 32 lowercase hex characters.
pub fn md5_hex(text: &str) -> String {
    let digest = Md5::digest(text.as_bytes());
    let mut out = String::with_capacity(32);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// `<sorted join>&key=<key>` hashed with MD5: the convention of 收呗, 联拓富 and the §7
/// default. The `&key=` suffix is appended even when the joined content is empty, which is
/// what the vendors' reference code does.
pub fn md5_with_key<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, key: &str) -> String {
    let mut content = sorted_join(pairs);
    if !content.is_empty() {
        content.push('&');
    }
    content.push_str("key=");
    content.push_str(key);
    md5_hex(&content)
}

/// Compares two hex signatures case-insensitively (channels.md §7) in time that does not
/// depend on where they first differ, so a forger learns nothing from response timing.
pub fn hex_eq(expected: &str, received: &str) -> bool {
    let a = expected.trim().to_ascii_lowercase();
    let b = received.trim().to_ascii_lowercase();
    bytes_eq(a.as_bytes(), b.as_bytes())
}

/// Constant-time byte comparison (the length itself is not secret: every signature of a
/// channel has the same length).
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The default convention of channels.md §7 for a channel that documents none: drop
/// `sign` and empty values, sort, join, `&key=`, MD5, lowercase hex.
pub fn default_md5_sign(params: &BTreeMap<String, String>, key: &str) -> String {
    md5_with_key(
        params
            .iter()
            .filter(|(k, v)| k.as_str() != "sign" && !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str())),
        key,
    )
}

/// Checks `params["sign"]` against [`default_md5_sign`] (case-insensitive, constant time).
pub fn default_md5_verify(params: &BTreeMap<String, String>, key: &str) -> bool {
    match params.get("sign") {
        Some(received) => hex_eq(&default_md5_sign(params, key), received),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_by_byte_order_so_uppercase_comes_before_lowercase() {
        assert_eq!(
            sorted_join([("b", "2"), ("a", "1"), ("B", "3")]),
            "B=3&a=1&b=2",
            "ASCII order puts 'B' (0x42) before 'a' (0x61)"
        );
    }

    #[test]
    fn md5_hex_is_32_lowercase_hex_characters() {
        assert_eq!(
            md5_hex(""),
            "d41d8cd98f00b204e9800998ecf8427e",
            "RFC 1321 empty-string vector"
        );
    }

    #[test]
    fn hex_comparison_ignores_case_but_not_content() {
        assert!(
            hex_eq("abcdef", "ABCDEF"),
            "verification is case-insensitive (§7)"
        );
        assert!(
            !hex_eq("abcdef", "abcdee"),
            "a different signature must not verify"
        );
        assert!(
            !hex_eq("abcdef", "abcde"),
            "a truncated signature must not verify"
        );
    }

    #[test]
    fn default_convention_drops_sign_and_empty_values() {
        let mut p = BTreeMap::new();
        p.insert("b".to_owned(), "2".to_owned());
        p.insert("a".to_owned(), "1".to_owned());
        p.insert("empty".to_owned(), String::new());
        let s = default_md5_sign(&p, "k");
        assert_eq!(
            s,
            md5_hex("a=1&b=2&key=k"),
            "empty values and sign are not signed (§7)"
        );
        p.insert("sign".to_owned(), s.to_uppercase());
        assert!(
            default_md5_verify(&p, "k"),
            "an uppercase copy of the signature verifies"
        );
        assert!(
            !default_md5_verify(&p, "other"),
            "another key must not verify"
        );
    }
}
