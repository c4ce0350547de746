//! Secrets (keys, private keys): a type that never prints its content. It has no
//! `Serialize`, so it cannot reach the UI, the ledger or an export by accident
//! (channels.md §0 "Secrets"); `Debug` and `Display` print `<redacted>`.

use std::fmt;
use std::path::Path;

/// Writes a file (created or truncated) and syncs it; readable and writable by the user only
/// (0600 on Unix) when `user_only`. Every file holding a secret is written through here.
pub fn write_file(path: &Path, bytes: &[u8], user_only: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    if user_only {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = user_only;
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A secret text: a channel key, a merchant secret or a PEM private key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the few places that sign with it. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl Drop for Secret {
    // Best effort: overwrite the bytes before the allocation is returned, so a key does not
    // linger in freed memory longer than needed.
    fn drop(&mut self) {
        let taken = std::mem::take(&mut self.0);
        let mut bytes = taken.into_bytes();
        for b in bytes.iter_mut() {
            *b = 0;
        }
        std::hint::black_box(&bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let s = Secret::new("8a9bd64e6585c6d8016585c6c8980002");
        assert_eq!(format!("{s:?}"), "<redacted>", "Debug must hide the key");
        assert_eq!(format!("{s}"), "<redacted>", "Display must hide the key");
        assert_eq!(
            format!("{:?}", Some(&s)),
            "Some(<redacted>)",
            "nested Debug hides it too"
        );
        assert_eq!(
            s.expose(),
            "8a9bd64e6585c6d8016585c6c8980002",
            "signing still gets the key"
        );
    }
}
