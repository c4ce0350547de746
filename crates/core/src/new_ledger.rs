//! The way out of a damaged ledger asked from the window. The app has the damaged file open
//! (or failed to open it), so it cannot set it aside itself: the window's button leaves a
//! request beside the ledger and restarts the app, and the next start, holding the data
//! directory's lock before anything opens the ledger, sets the old file aside with its
//! sidecars (`Ledger::start_new_keeping_old`: renamed, never deleted, refused for a whole
//! ledger) and starts a new one. The manager PIN hash and the cashiers come along from the
//! old file where it can still be read, so a new ledger is no way to a new manager PIN.

use crate::app_info::Mode;
use crate::clock::UnixMs;
use crate::going_live::{carry_roles_from, CarriedOver};
use crate::ledger::{self, Ledger, SetAsideError};
use std::path::{Path, PathBuf};

/// The request's file in the data directory.
pub const REQUEST_FILE: &str = "new-ledger.requested";

/// Leaves the request for the next start; `why` (the damage seen) is kept in it for the log.
pub fn request(root: &Path, why: &str) -> std::io::Result<()> {
    let path = root.join(REQUEST_FILE);
    std::fs::write(&path, why)?;
    crate::file_modes::private_file(&path)
}

/// What the start did with a request.
#[derive(Debug)]
pub enum Taken {
    /// Set aside as `archive`; a new ledger is in place with what could be carried over.
    Started {
        archive: PathBuf,
        carried: Option<CarriedOver>,
    },
    /// The ledger opened and checked out whole: nothing was moved.
    NotDamaged,
    Failed(SetAsideError),
}

/// At start-up, with the data directory locked and before the ledger is opened: carries out
/// a request left by the window, once (the request is removed whatever came of it).
pub fn take_request(root: &Path, mode: Mode, now_ms: UnixMs) -> Option<Taken> {
    let request = root.join(REQUEST_FILE);
    if !request.exists() {
        return None;
    }
    let why = std::fs::read_to_string(&request).unwrap_or_default();
    let path = root.join(ledger::file_name(mode));
    let taken = match Ledger::start_new_keeping_old(&path, mode, now_ms) {
        Ok((fresh, aside)) => {
            tracing::warn!(archive = %aside.archive.display(), asked_for = %why, "a new ledger was started from the window");
            // Where the damage spares them, the people come along; a file too damaged to
            // read leaves the new ledger without a manager PIN, which the warning says.
            let carried = Ledger::open_archive(&aside.archive, mode)
                .and_then(|old| carry_roles_from(&old, "damaged_ledger", &fresh, now_ms))
                .map_err(|e| tracing::warn!("the old ledger's roles could not be read: {e}"))
                .ok();
            if let Err(e) = fresh.close() {
                tracing::warn!("the new ledger did not close cleanly: {e}");
            }
            Taken::Started {
                archive: aside.archive,
                carried,
            }
        }
        Err(SetAsideError::NotDamaged(_)) => Taken::NotDamaged,
        Err(e) => Taken::Failed(e),
    };
    if let Err(e) = std::fs::remove_file(&request) {
        tracing::error!("the new-ledger request could not be removed: {e}");
    }
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Actor;

    /// The harmful act: a ledger whose pages are garbage after its settings were written.
    #[test]
    fn a_request_sets_the_damaged_file_aside_keeps_its_bytes_and_refuses_a_whole_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let path = root.join(ledger::file_name(Mode::Sandbox));
        {
            let l = Ledger::open(&path, Mode::Sandbox).unwrap();
            l.set_setting(
                crate::desk::roles::PIN_KEY,
                Some("argon2-hash"),
                &Actor::System,
                1,
            )
            .unwrap();
            l.close().unwrap();
        }
        // A whole ledger: the request changes nothing and is gone.
        request(root, "test").unwrap();
        assert!(matches!(
            take_request(root, Mode::Sandbox, 2),
            Some(Taken::NotDamaged)
        ));
        assert!(!root.join(REQUEST_FILE).exists());
        assert!(take_request(root, Mode::Sandbox, 3).is_none(), "once");

        let garbage: Vec<u8> = (0..8192u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        std::fs::write(&path, &garbage).unwrap();
        request(root, "the integrity check failed").unwrap();
        let Some(Taken::Started { archive, carried }) =
            take_request(root, Mode::Sandbox, 1_796_176_984_000)
        else {
            panic!("a damaged ledger is set aside");
        };
        assert_eq!(
            std::fs::read(&archive).unwrap(),
            garbage,
            "the old bytes, untouched"
        );
        assert!(carried.is_none(), "garbage has no roles to carry");
        let fresh = Ledger::open(&path, Mode::Sandbox).unwrap();
        assert_eq!(fresh.setting(crate::desk::roles::PIN_KEY).unwrap(), None);
        fresh.quick_check().unwrap();
    }
}
