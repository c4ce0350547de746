//! The optional state file (`SandboxOptions::state_file`): the sandbox's coupon states,
//! records, ground truth and replayable answers as JSON, rewritten after every change and
//! read back at start. Without it an app restarted in sandbox mode would find every coupon
//! fresh while its ledger remembers redeeming them — and its resolver would read "not
//! consumed" for redemptions the sandbox had committed before the restart.
//!
//! Writes go to `<file>.tmp` and are renamed over the file, so a crash mid-write leaves the
//! previous state, never half of one. A file that cannot be read as a snapshot is moved
//! aside to `<file>.corrupt` and the sandbox starts from the demo data.

use crate::channels::Shared;
use crate::store::Snapshot;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Reads a state file: `None` when there is none or it is unusable (moved aside).
pub async fn load(path: &Path) -> Option<Snapshot> {
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "sandbox state file unreadable; starting from the demo data");
            return None;
        }
    };
    match serde_json::from_slice::<Snapshot>(&bytes) {
        Ok(s) if s.format == Snapshot::FORMAT => Some(s),
        outcome => {
            let reason = match outcome {
                Ok(s) => format!("format {} is not {}", s.format, Snapshot::FORMAT),
                Err(e) => e.to_string(),
            };
            let aside = with_suffix(path, "corrupt");
            let _ = tokio::fs::rename(path, &aside).await;
            tracing::warn!(path = %path.display(), %reason, aside = %aside.display(),
                "sandbox state file is not a snapshot; moved aside, starting from the demo data");
            None
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes the current state if it changed since the version in `written`. The lock is
/// held across snapshot and rename, so two writers (the background one and the final
/// flush) cannot leave an older state on disk after a newer one.
pub fn write_now(shared: &Shared, path: &Path, written: &Mutex<u64>) {
    let mut last = written.lock().unwrap_or_else(|p| p.into_inner());
    let (version, snapshot) = {
        let store = shared.store();
        (store.version(), store.snapshot())
    };
    if *last == version {
        return;
    }
    let result = serde_json::to_vec_pretty(&snapshot)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            let tmp = with_suffix(path, "tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, path)
        });
    match result {
        Ok(()) => *last = version,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "sandbox state file not written")
        }
    }
}

/// Rewrites the state file after every change, until aborted.
pub async fn writer(shared: Arc<Shared>, path: PathBuf, written: Arc<Mutex<u64>>) {
    loop {
        shared.changed.notified().await;
        let (s, p, w) = (shared.clone(), path.clone(), written.clone());
        // File IO off the async workers; a few KB, but it may hit a slow disk.
        let _ = tokio::task::spawn_blocking(move || write_now(&s, &p, &w)).await;
    }
}
