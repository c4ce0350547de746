//! Who else on the computer can read the desk's files. The data
//! directory is 0700 and what the desk writes into it (ledger, WAL, SHM, lock, logs) 0600,
//! set when created and corrected at every start: the ledger holds the PIN hashes and every
//! customer's code. Secrets and keys are the operator's files: the desk does not change
//! them, it warns when group or others can read them. Elsewhere than Unix, nothing here
//! applies (the per-user profile directory is already private).

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

pub const PRIVATE_DIR_MODE: u32 = 0o700;
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// A start-up finding the UI shows as a warning, as `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FileWarning {
    #[error("{path} 可被本机其他用户读取，请执行 chmod 600。 Other users of this computer can read {path}: chmod 600 it.")]
    SecretReadableByOthers { path: String },
}

impl FileWarning {
    pub fn code(&self) -> &'static str {
        match self {
            FileWarning::SecretReadableByOthers { .. } => "secret_readable_by_others",
        }
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() || meta.permissions().mode() & 0o777 == mode {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Makes a directory the desk owns private (0700).
pub fn private_dir(path: &Path) -> io::Result<()> {
    set_mode(path, PRIVATE_DIR_MODE)
}

/// Makes a file the desk wrote private (0600); a file that does not exist is no error.
pub fn private_file(path: &Path) -> io::Result<()> {
    match set_mode(path, PRIVATE_FILE_MODE) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// A SQLite file and the two that live beside it in WAL mode.
pub fn ledger_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    [path.to_owned(), with("-wal"), with("-shm")]
}

/// The data directory and the logs directory 0700, every log file 0600. The ledger's
/// files are corrected where the ledger is opened.
pub fn tighten_data_dir(root: &Path, logs: &Path) -> io::Result<()> {
    private_dir(root)?;
    if logs.is_dir() {
        private_dir(logs)?;
        for entry in std::fs::read_dir(logs)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                private_file(&entry.path())?;
            }
        }
    }
    Ok(())
}

/// Secrets files (`secrets*.toml`) and keys (`*.pem`, `*.key`) in the data directory and
/// its `keys/` that group or others can read.
pub fn exposed_secrets(root: &Path) -> Vec<FileWarning> {
    let mut out = Vec::new();
    for dir in [root.to_owned(), root.join("keys")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let secret = (name.starts_with("secrets") && name.ends_with(".toml"))
                || name.ends_with(".pem")
                || name.ends_with(".key");
            if secret && readable_by_others(&path) {
                out.push(FileWarning::SecretReadableByOthers {
                    path: path.display().to_string(),
                });
            }
        }
    }
    out
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_secrets_file_left_at_0644_is_warned_about_and_one_at_0600_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let secrets = tmp.path().join("secrets.toml");
        std::fs::write(&secrets, "[shoubei]\nkey = \"x\"\n").unwrap();
        std::fs::create_dir(tmp.path().join("keys")).unwrap();
        let pem = tmp.path().join("keys/merchant.pem");
        // What the file holds does not matter: its name and mode do.
        std::fs::write(&pem, "a key file\n").unwrap();
        for p in [&secrets, &pem] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let warnings = exposed_secrets(tmp.path());
        assert_eq!(
            warnings.len(),
            2,
            "both the secrets file and the key are world-readable: {warnings:?}"
        );
        assert_eq!(warnings[0].code(), "secret_readable_by_others");
        assert!(
            warnings[0].to_string().contains("chmod 600"),
            "says what to do"
        );
        for p in [&secrets, &pem] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(
            exposed_secrets(tmp.path()).is_empty(),
            "0600: nothing to say"
        );
        assert_eq!(
            mode(&secrets),
            0o600,
            "the desk never changes the operator's files"
        );
    }

    #[test]
    fn the_data_dir_and_logs_are_made_private_at_start() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        let logs = root.join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log = logs.join("redeemdesk.log.2026-11-22");
        std::fs::write(&log, "x").unwrap();
        for (p, m) in [(&root, 0o755), (&logs, 0o755), (&log, 0o644)] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        }
        tighten_data_dir(&root, &logs).unwrap();
        assert_eq!(mode(&root), 0o700, "the data directory");
        assert_eq!(mode(&logs), 0o700, "the logs directory");
        assert_eq!(mode(&log), 0o600, "a log written before the fix");
    }
}
