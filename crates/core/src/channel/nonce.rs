//! The one place that draws randomness for the wire: 智迈 `Nonce` and 联拓富 `random`.
//! Signing stays pure because these values are drawn here and passed in.

use rand::Rng;

/// A random positive integer as text with exactly `len` digits (no leading zero), e.g. for
/// 联拓富 `random` (channels.md §4: digits only, 8–10 of them) and 智迈 `Nonce` (§3).
pub fn digits(len: usize) -> String {
    let mut rng = rand::thread_rng();
    let len = len.max(1);
    let mut out = String::with_capacity(len);
    out.push(char::from(b'0' + rng.gen_range(1..=9u8)));
    for _ in 1..len {
        out.push(char::from(b'0' + rng.gen_range(0..=9u8)));
    }
    out
}

/// A fresh request serial for calls that are not a redemption (通联 `reqSeq` of prepare
/// and history): a UUID v4 in simple form.
pub fn request_seq() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn nonces_are_digits_only_without_a_leading_zero() {
        for len in [1, 8, 10] {
            let n = super::digits(len);
            assert_eq!(n.len(), len, "the requested length");
            assert!(
                n.bytes().all(|b| b.is_ascii_digit()),
                "digits only (§4): {n}"
            );
            assert_ne!(
                n.as_bytes()[0],
                b'0',
                "a positive integer has no leading zero (§3)"
            );
        }
    }
}
