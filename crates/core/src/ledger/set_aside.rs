//! The way out of a damaged ledger: start a new ledger that keeps the
//! old one. The damaged file and every sidecar beside it (`-wal`, `-shm`, `.head`) are
//! renamed aside under one UTC timestamp, never deleted or rewritten, so the old file stays
//! readable as an archive (`Ledger::open_archive`, `redeemdesk-cli --archive`) and can go
//! to whoever restores it; the new ledger is made by the same exclusive create as a first
//! start. A ledger that opens and checks out whole is refused: this is no way to put a
//! healthy day's records out of sight.

use super::{file, Ledger, LedgerError};
use crate::app_info::Mode;
use crate::clock::UnixMs;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The sidecars SQLite and the ledger keep beside the main file, moved with it.
const SIDECARS: [&str; 3] = ["-wal", "-shm", ".head"];

/// What was moved where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetAside {
    /// The old ledger's new name: open it with `Ledger::open_archive`.
    pub archive: PathBuf,
    /// Every file moved, as (from, to).
    pub moved: Vec<(PathBuf, PathBuf)>,
    /// Why the old ledger was set aside (the refusal it gave).
    pub damage: String,
    /// The new, empty ledger.
    pub ledger: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SetAsideError {
    #[error("账本完好，不另起新账本。 The ledger at {0} is whole: a new ledger is started only in place of a damaged one.")]
    NotDamaged(PathBuf),
    #[error("there is no ledger at {0} to set aside")]
    Missing(PathBuf),
    #[error("{from} could not be renamed to {to}: {source}")]
    Rename {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl SetAsideError {
    pub fn code(&self) -> &'static str {
        match self {
            SetAsideError::NotDamaged(_) => "ledger_not_damaged",
            SetAsideError::Missing(_) => "ledger_missing",
            SetAsideError::Rename { .. } => "ledger_set_aside_failed",
            SetAsideError::Ledger(e) => e.code(),
        }
    }
}

/// `ledger-live.sqlite` at 2026-12-02 02:03:04 UTC → `ledger-live.damaged-20261202T020304Z.sqlite`.
fn archive_name(path: &Path, now_ms: UnixMs) -> PathBuf {
    let at = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ledger".into());
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sqlite".into());
    path.with_file_name(format!("{stem}.damaged-{stamp}.{ext}"))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl Ledger {
    /// Sets the damaged ledger at `path` aside (renamed with its sidecars, see the module
    /// doc) and creates a new one in its place. The caller holds the data directory's lock,
    /// so nothing else has the file open. Refused for a ledger that opens and passes its
    /// integrity check.
    pub fn start_new_keeping_old(
        path: &Path,
        mode: Mode,
        now_ms: UnixMs,
    ) -> Result<(Ledger, SetAside), SetAsideError> {
        if !path.is_file() {
            return Err(SetAsideError::Missing(path.to_owned()));
        }
        let damage = match Ledger::open(path, mode) {
            Ok(ledger) => {
                let checked = ledger.quick_check();
                let _ = ledger.close();
                match checked {
                    Ok(()) => return Err(SetAsideError::NotDamaged(path.to_owned())),
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        let archive = archive_name(path, now_ms);
        let mut moved = Vec::new();
        // The main file last: until it moves, a retry finds the same damaged ledger.
        let pairs = SIDECARS
            .iter()
            .map(|s| (with_suffix(path, s), with_suffix(&archive, s)))
            .chain(std::iter::once((path.to_owned(), archive.clone())));
        for (from, to) in pairs {
            if !from.exists() {
                continue;
            }
            if to.exists() {
                // Never over anything: a name taken in the same second is someone's file.
                return Err(SetAsideError::Rename {
                    from,
                    to,
                    source: std::io::ErrorKind::AlreadyExists.into(),
                });
            }
            std::fs::rename(&from, &to).map_err(|source| SetAsideError::Rename {
                from: from.clone(),
                to: to.clone(),
                source,
            })?;
            moved.push((from, to));
        }
        debug_assert!(!file::head_path(path).exists());
        let ledger = Ledger::open(path, mode)?;
        tracing::warn!(archive = %archive.display(), "a damaged ledger was set aside and a new one started: {damage}");
        Ok((
            ledger,
            SetAside {
                archive,
                moved,
                damage,
                ledger: path.to_owned(),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_name_keeps_the_stem_and_says_when() {
        let p = Path::new("/d/ledger-live.sqlite");
        assert_eq!(
            archive_name(p, 1_796_176_984_000),
            Path::new("/d/ledger-live.damaged-20261202T020304Z.sqlite")
        );
    }
}
