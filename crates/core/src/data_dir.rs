//! The data directory: where the ledger, settings, secrets and logs live. Opening it checks
//! that it is a writable directory and takes an exclusive lock, so that two processes can
//! never write one ledger (the single-instance hand-over is the friendly half of this rule; the
//! lock is the half that holds even against the CLI or a second copy of the binary).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable that overrides the platform's data directory (tests use it).
pub const DATA_DIR_ENV: &str = "REDEEMDESK_DATA_DIR";

/// The app identifier; the platform data directory is `<data dir>/<identifier>`, the same
/// place Tauri's `app_data_dir()` resolves to, so the app and the CLI agree.
pub const APP_IDENTIFIER: &str = "com.redeemdesk.app";

const LOCK_FILE: &str = "redeemdesk.lock";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("no data directory: set {DATA_DIR_ENV} or a home directory")]
    NoPlatformDir,
    #[error("the data directory {path} is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("the data directory {path} cannot be written: {source}")]
    Unwritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the data directory {path} is in use by another RedeemDesk process")]
    InUse { path: PathBuf },
}

impl DataDirError {
    /// A stable code the UI branches on to pick its message.
    pub fn code(&self) -> &'static str {
        match self {
            DataDirError::NoPlatformDir => "data_dir_missing",
            DataDirError::NotADirectory { .. } => "data_dir_not_a_directory",
            DataDirError::Unwritable { .. } => "data_dir_unwritable",
            DataDirError::InUse { .. } => "data_dir_in_use",
        }
    }
}

/// Where the data directory is: `$REDEEMDESK_DATA_DIR` if set and not empty, otherwise the
/// platform's app data directory.
pub fn resolve() -> Result<PathBuf, DataDirError> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
        _ => dirs::data_dir()
            .map(|d| d.join(APP_IDENTIFIER))
            .ok_or(DataDirError::NoPlatformDir),
    }
}

/// A name for "the app on this data directory", for the single-instance hand-over: two
/// launches on the same directory share it, launches on different directories (tests, a
/// second store profile) do not. On Linux it names an abstract socket (the app's
/// single_instance.rs); elsewhere tauri's plugin. It is also a valid D-Bus well-known name
/// (dot-separated, no element starts with a digit), as that plugin's Linux side wanted.
/// FNV-1a over the path: stable across runs and versions, no crypto needed.
pub fn instance_id(root: &Path) -> String {
    let canonical = fs::canonicalize(root).unwrap_or_else(|_| root.to_owned());
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{APP_IDENTIFIER}.d{hash:016x}")
}

/// An opened, locked data directory. The lock is released when this is dropped.
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed, proves it writable and takes the exclusive lock.
    pub fn open(root: &Path) -> Result<DataDir, DataDirError> {
        if root.exists() && !root.is_dir() {
            return Err(DataDirError::NotADirectory {
                path: root.to_owned(),
            });
        }
        let unwritable = |source| DataDirError::Unwritable {
            path: root.to_owned(),
            source,
        };
        fs::create_dir_all(root).map_err(unwritable)?;
        // The ledger holds PIN hashes and every customer's code: the directory is the owner's.
        crate::file_modes::tighten_data_dir(root, &root.join("logs")).map_err(unwritable)?;
        // Permission bits alone do not tell (root ignores them, read-only mounts ignore
        // them): writing a file is the only honest test.
        let probe = root.join(".write-probe");
        File::create(&probe)
            .and_then(|mut f| f.write_all(b"ok").and_then(|_| f.sync_all()))
            .map_err(unwritable)?;
        let _ = fs::remove_file(&probe);
        let lock = private_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join(LOCK_FILE))
            .map_err(unwritable)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(DataDirError::InUse {
                    path: root.to_owned(),
                })
            }
            Err(fs::TryLockError::Error(e)) => return Err(unwritable(e)),
        }
        // A lock file made by an older version keeps its mode at open: correct it.
        crate::file_modes::private_file(&root.join(LOCK_FILE)).map_err(unwritable)?;
        Ok(DataDir {
            root: root.to_owned(),
            _lock: lock,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the daily-rotated log files go.
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
}

/// Files the desk creates here are the owner's alone from the first byte.
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, crate::file_modes::PRIVATE_FILE_MODE);
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_data_directory_and_its_lock_are_the_owners_alone_after_open() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        fs::create_dir(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
        let _dir = DataDir::open(&root).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700, "a 0755 directory is corrected at start");
        assert_eq!(mode(&root.join(LOCK_FILE)), 0o600, "the lock file");
    }

    #[test]
    fn the_instance_id_is_stable_per_directory_and_differs_between_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let a = instance_id(&tmp.path().join("a"));
        assert_eq!(
            a,
            instance_id(&tmp.path().join("a")),
            "same directory, same id"
        );
        assert_ne!(
            a,
            instance_id(&tmp.path().join("b")),
            "another directory, another id"
        );
        assert!(
            a.starts_with("com.redeemdesk.app.d"),
            "a valid D-Bus name: {a}"
        );
    }

    #[test]
    fn a_fresh_directory_is_created_and_locked() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("nested/data");
        let dir = DataDir::open(&root).expect("a fresh path must open");
        assert!(dir.root().is_dir(), "open creates the directory");
        assert!(
            root.join(LOCK_FILE).exists(),
            "the lock file is there while open"
        );
    }

    #[test]
    fn a_second_open_of_the_same_directory_is_refused_until_the_first_closes() {
        let tmp = tempfile::tempdir().unwrap();
        let first = DataDir::open(tmp.path()).unwrap();
        let second = DataDir::open(tmp.path());
        assert!(
            matches!(second, Err(DataDirError::InUse { .. })),
            "two writers on one ledger must be impossible, got {second:?}"
        );
        drop(first);
        assert!(
            DataDir::open(tmp.path()).is_ok(),
            "the lock goes with the first"
        );
    }

    #[test]
    fn a_file_where_the_directory_should_be_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let err = DataDir::open(&file).unwrap_err();
        assert_eq!(err.code(), "data_dir_not_a_directory");
        assert!(
            err.to_string().contains("not-a-dir"),
            "the message names the path"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_read_only_directory_is_a_clear_error() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let ro = tmp.path().join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
        // root bypasses permission bits; then the directory is writable and that is fine.
        if File::create(ro.join("x")).is_ok() {
            return;
        }
        let err = DataDir::open(&ro).unwrap_err();
        assert_eq!(err.code(), "data_dir_unwritable", "{err}");
    }
}
