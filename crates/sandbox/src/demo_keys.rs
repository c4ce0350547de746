//! The allinpay key pairs of sandbox mode. 通联 signs with RSA-2048 both ways (channels.md
//! §5 "Signature"), so the sandbox needs two pairs: the merchant's (our app signs requests,
//! the sandbox verifies) and the platform's (the sandbox signs answers, the app verifies).
//!
//! No private key is kept in the repository or in the binary: every install makes its own
//! pairs on its first start in sandbox mode, in `<data dir>/sandbox-keys/` (readable by the
//! user only; apart from live mode's `keys/`), and reads them back afterwards. Tests and in-memory sandboxes use pairs made once
//! per process and never written anywhere.

use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Where the pairs live in the data directory and their files (PKCS#8 PEM private keys; the
/// public halves are derived). Named in the core, which refuses them in a live configuration.
pub use redeemdesk_core::demo_secrets::{
    SANDBOX_KEYS_DIR as KEYS_DIR, SANDBOX_MERCHANT_PRIVATE_FILE as MERCHANT_PRIVATE_FILE,
    SANDBOX_PLATFORM_PRIVATE_FILE as PLATFORM_PRIVATE_FILE,
};

/// 通联's RSA2 is RSA-2048 (channels.md §5).
const BITS: usize = 2048;

/// Why sandbox mode's keys could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("making a sandbox RSA key failed: {0}")]
    Generate(String),
    #[error("sandbox key file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// The two allinpay key pairs of one sandbox and its client.
#[derive(Clone)]
pub struct AllinpayKeys {
    pub merchant_private: RsaPrivateKey,
    pub merchant_public: RsaPublicKey,
    pub platform_private: RsaPrivateKey,
    pub platform_public: RsaPublicKey,
}

impl fmt::Debug for AllinpayKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AllinpayKeys(<redacted>)")
    }
}

impl AllinpayKeys {
    fn from_private(merchant: RsaPrivateKey, platform: RsaPrivateKey) -> Self {
        AllinpayKeys {
            merchant_public: merchant.to_public_key(),
            platform_public: platform.to_public_key(),
            merchant_private: merchant,
            platform_private: platform,
        }
    }

    /// Two fresh pairs. Slow on purpose of RSA (hundreds of milliseconds each), so never
    /// on a path that runs more than once per install.
    pub fn generate() -> Result<Self, KeyError> {
        let mut rng = rand::rngs::OsRng;
        let mut one =
            || RsaPrivateKey::new(&mut rng, BITS).map_err(|e| KeyError::Generate(e.to_string()));
        Ok(Self::from_private(one()?, one()?))
    }

    /// Pairs made once per process and kept in memory only: tests, the standalone sandbox
    /// without `--keys`, the CLI's in-process `--sandbox`.
    pub fn ephemeral() -> Self {
        static KEYS: OnceLock<AllinpayKeys> = OnceLock::new();
        KEYS.get_or_init(|| {
            Self::generate().unwrap_or_else(|e| panic!("the system's random source: {e}"))
        })
        .clone()
    }

    /// The pairs kept in `dir`, made and written there first if it has none (an install's
    /// first start in sandbox mode). A missing or unreadable half makes both pairs again:
    /// nothing depends on the old ones (the sandbox and its client read the same files).
    pub fn in_dir(dir: &Path) -> Result<Self, KeyError> {
        if let Some(keys) = Self::read(dir) {
            return Ok(keys);
        }
        let keys = Self::generate()?;
        keys.write(dir)?;
        Ok(keys)
    }

    /// The pairs kept in `dir`, if it holds both (never makes any).
    pub fn read(dir: &Path) -> Option<Self> {
        let load = |name: &str| {
            let pem = std::fs::read_to_string(dir.join(name)).ok()?;
            RsaPrivateKey::from_pkcs8_pem(&pem).ok()
        };
        Some(Self::from_private(
            load(MERCHANT_PRIVATE_FILE)?,
            load(PLATFORM_PRIVATE_FILE)?,
        ))
    }

    /// Writes both private keys into `dir` (made readable by the user only), each through a
    /// temporary file and a rename so a crash never leaves half a key.
    pub fn write(&self, dir: &Path) -> Result<(), KeyError> {
        let fail = |path: &Path, e: &dyn fmt::Display| KeyError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| fail(dir, &e))?;
        for (name, key) in [
            (MERCHANT_PRIVATE_FILE, &self.merchant_private),
            (PLATFORM_PRIVATE_FILE, &self.platform_private),
        ] {
            let path = dir.join(name);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| fail(&path, &e))?;
            let tmp = dir.join(format!("{name}.tmp"));
            redeemdesk_core::secret::write_file(&tmp, pem.as_bytes(), true)
                .map_err(|e| fail(&tmp, &e))?;
            std::fs::rename(&tmp, &path).map_err(|e| fail(&path, &e))?;
        }
        Ok(())
    }

    /// The merchant's private key as the settings screen takes it (PKCS#8 PEM).
    pub fn merchant_private_pem(&self) -> String {
        pem_private(&self.merchant_private)
    }

    /// The platform's private key as PKCS#8 PEM (tests search exports and logs for it).
    pub fn platform_private_pem(&self) -> String {
        pem_private(&self.platform_private)
    }

    /// The merchant's public key as SPKI PEM.
    pub fn merchant_public_pem(&self) -> String {
        pem_public(&self.merchant_public)
    }

    /// The platform's public key as the settings screen takes it (SPKI PEM).
    pub fn platform_public_pem(&self) -> String {
        pem_public(&self.platform_public)
    }
}

fn pem_private(key: &RsaPrivateKey) -> String {
    // Encoding a key this module made or parsed cannot fail.
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .unwrap_or_else(|e| unreachable!("PKCS#8 encoding of an RSA key: {e}"))
}

fn pem_public(key: &RsaPublicKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .unwrap_or_else(|e| unreachable!("SPKI encoding of an RSA key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{SigningKey, VerifyingKey};
    use rsa::signature::{SignatureEncoding, Signer, Verifier};

    fn pairs_match(private: &RsaPrivateKey, public: &RsaPublicKey) -> bool {
        let signature = SigningKey::<rsa::sha2::Sha256>::new(private.clone()).sign(b"probe");
        VerifyingKey::<rsa::sha2::Sha256>::new(public.clone())
            .verify(
                b"probe",
                &rsa::pkcs1v15::Signature::try_from(signature.to_bytes().as_ref()).unwrap(),
            )
            .is_ok()
    }

    #[test]
    fn an_install_makes_its_keys_once_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join(KEYS_DIR);
        let first = AllinpayKeys::in_dir(&keys_dir).unwrap();
        let again = AllinpayKeys::in_dir(&keys_dir).unwrap();
        assert_eq!(first.merchant_private, again.merchant_private);
        assert_eq!(first.platform_private, again.platform_private);
        assert_ne!(
            first.merchant_private, first.platform_private,
            "two different pairs"
        );
        assert!(pairs_match(&again.merchant_private, &again.merchant_public));
        assert!(pairs_match(&again.platform_private, &again.platform_public));
        assert!(!pairs_match(
            &again.merchant_private,
            &again.platform_public
        ));
        let leftovers: Vec<_> = std::fs::read_dir(&keys_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file left: {leftovers:?}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&keys_dir), 0o700);
            assert_eq!(mode(&keys_dir.join(MERCHANT_PRIVATE_FILE)), 0o600);
            assert_eq!(mode(&keys_dir.join(PLATFORM_PRIVATE_FILE)), 0o600);
        }
    }

    #[test]
    fn a_broken_key_file_makes_both_pairs_again() {
        let dir = tempfile::tempdir().unwrap();
        let first = AllinpayKeys::in_dir(dir.path()).unwrap();
        std::fs::write(dir.path().join(PLATFORM_PRIVATE_FILE), "-----BEGIN junk").unwrap();
        let second = AllinpayKeys::in_dir(dir.path()).unwrap();
        assert_ne!(first.merchant_private, second.merchant_private);
        assert_eq!(
            AllinpayKeys::in_dir(dir.path()).unwrap().platform_private,
            second.platform_private,
            "and keeps them"
        );
    }

    #[test]
    fn the_pem_texts_are_what_the_core_reads() {
        use redeemdesk_core::channel::allinpay;
        let keys = AllinpayKeys::ephemeral();
        assert_eq!(
            allinpay::private_key_from_pem(&keys.merchant_private_pem()).unwrap(),
            keys.merchant_private
        );
        assert_eq!(
            allinpay::public_key_from_pem(&keys.platform_public_pem()).unwrap(),
            keys.platform_public
        );
        assert_eq!(
            format!("{keys:?}"),
            "AllinpayKeys(<redacted>)",
            "Debug never shows a key"
        );
    }
}
