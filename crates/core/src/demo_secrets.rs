//! The sandbox's secrets, which a live configuration must never carry: the
//! demo data's shared secrets, published in the repository (`crates/sandbox/demo/coupons.toml`),
//! and the 通联 RSA key pairs each install makes for sandbox mode in `<data dir>/sandbox-keys/`.
//! A live merchant configured with either would sign with a key anyone can read (or one the
//! sandbox holds both halves of), so `config` refuses them, naming the field.
//!
//! The published shared secrets are listed by each channel's module (`PUBLISHED`, read
//! through `channel::settings::is_published`); the core cannot read the sandbox crate (the
//! dependency goes sandbox → core), so a test in the sandbox crate checks that every secret
//! in its demo file is listed. An entry stays listed after the demo file changes: a key once
//! committed is public for good (git history keeps it). This module keeps the key pairs and
//! the reasons a refusal gives.

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use std::path::Path;

/// The folder in the data directory that holds sandbox mode's 通联 key pairs.
pub const SANDBOX_KEYS_DIR: &str = "sandbox-keys";
/// Sandbox mode's merchant private key (PKCS#8 PEM) in [`SANDBOX_KEYS_DIR`].
pub const SANDBOX_MERCHANT_PRIVATE_FILE: &str = "allinpay_merchant_private.pem";
/// Sandbox mode's platform private key (PKCS#8 PEM) in [`SANDBOX_KEYS_DIR`].
pub const SANDBOX_PLATFORM_PRIVATE_FILE: &str = "allinpay_platform_private.pem";

/// What a refusal of a published demo secret says, Chinese first.
pub const DEMO_SECRET_REASON: &str = "这是沙箱演示密钥，不能用于真实商户 / this is the sandbox's \
     published demo key; it cannot be used for a real merchant";

/// What a refusal of one of the sandbox's RSA keys says, Chinese first.
pub const SANDBOX_KEY_PAIR_REASON: &str = "这是沙箱模式的通联密钥（数据目录 sandbox-keys/），\
     不能用于真实商户 / this is one of sandbox mode's key pairs (sandbox-keys/ in the data \
     directory); it cannot be used for a real merchant";

/// The public halves of sandbox mode's key pairs found in a data directory.
#[derive(Debug, Default, Clone)]
pub struct SandboxKeyPairs {
    public: Vec<RsaPublicKey>,
}

impl SandboxKeyPairs {
    /// Reads every key in `<data_dir>/sandbox-keys/`, private or public. Missing or unreadable
    /// files are skipped: an install that never ran in sandbox mode has none, and a key the
    /// sandbox cannot read either is not one it can sign with.
    pub fn in_data_dir(data_dir: &Path) -> SandboxKeyPairs {
        let mut public = Vec::new();
        let Ok(entries) = std::fs::read_dir(data_dir.join(SANDBOX_KEYS_DIR)) else {
            return SandboxKeyPairs { public };
        };
        for entry in entries.flatten() {
            let Ok(pem) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            // The PEM forms 通联's keys are read in (channel::allinpay), parsed here so that
            // the channels' settings can ask this module without an import loop.
            let pem = pem.trim();
            let private =
                RsaPrivateKey::from_pkcs8_pem(pem).or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem));
            if let Ok(private) = private {
                public.push(private.to_public_key());
            } else if let Ok(key) = RsaPublicKey::from_public_key_pem(pem)
                .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            {
                public.push(key);
            }
        }
        SandboxKeyPairs { public }
    }

    /// Whether `key` is the public half of one of the pairs: a private key is checked by its
    /// public half, so the sandbox's merchant key is caught in either slot.
    pub fn contains(&self, key: &RsaPublicKey) -> bool {
        self.public.iter().any(|k| k == key)
    }

    pub fn is_empty(&self) -> bool {
        self.public.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_directory_without_sandbox_keys_has_no_pairs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            SandboxKeyPairs::in_data_dir(dir.path()).is_empty(),
            "a live-only install never made sandbox keys"
        );
    }
}
