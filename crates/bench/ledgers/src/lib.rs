//! The benchmark ledgers: files of 0.1 M, 1 M and 3.65 M attempts at 2,000 a business day
//! (3.65 M = five years of a busy store), made by the ledger's own generator (one
//! transaction, deterministic; each larger one from a copy of the next smaller, extended)
//! and kept under target/bench-data/ so a second `make bench` skips making them.
//!
//! A separate package that needs only the core, so that `make bench` can make the ledgers
//! on one core while cargo still compiles the app, the minimal window and the bench: the
//! generator is one thread, and the last minutes of the build would otherwise have the
//! machine to themselves only to leave a core idle during the generation afterwards.
//! Each file made gets a note beside it (how long it took, from which smaller file) that
//! benchmark 3 takes and reports.

use redeemdesk_core::app_info::Mode;
use redeemdesk_core::business_day::BusinessDay;
use redeemdesk_core::ledger::generate::{extend, Synthetic};
use redeemdesk_core::ledger::Ledger;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const PER_DAY: u64 = 2_000;
/// The sizes of a full run: the growth curve of benchmark 3.
pub const SIZES: [u64; 3] = [100_000, 1_000_000, 3_650_000];
/// `--quick`: a smoke test of the harness.
pub const QUICK_SIZES: [u64; 1] = [20_000];

pub fn first_day() -> BusinessDay {
    "2021-11-22".parse().expect("a date")
}

pub fn file_for(dir: &Path, attempts: u64) -> PathBuf {
    dir.join(format!("ledger-{attempts}.sqlite"))
}

fn spec(attempts: u64) -> Synthetic {
    Synthetic {
        attempts,
        first_day: first_day(),
        per_day: PER_DAY,
        seed: 2026,
    }
}

/// How a ledger file was made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Made {
    pub took: Duration,
    /// The smaller ledger it was copied from and extended (0: generated from nothing).
    pub from: u64,
    /// Made by `redeemdesk-bench-ledgers` while cargo was still building (the two cores
    /// shared with the compiler), not by the bench on a quiet machine.
    pub while_building: bool,
}

impl Made {
    fn note_for(dir: &Path, attempts: u64) -> PathBuf {
        file_for(dir, attempts).with_extension("made")
    }

    fn write(&self, dir: &Path, attempts: u64) {
        let text = format!(
            "{} {} {}\n",
            self.took.as_secs_f64(),
            self.from,
            self.while_building
        );
        std::fs::write(Made::note_for(dir, attempts), text).expect("the note on the ledger made");
    }

    /// How the file of `attempts` was made, if it was made since the last `take` (the note
    /// is removed: a second run that finds the file reports nothing made).
    pub fn take(dir: &Path, attempts: u64) -> Option<Made> {
        let note = Made::note_for(dir, attempts);
        let text = std::fs::read_to_string(&note).ok()?;
        let _ = std::fs::remove_file(&note);
        let mut words = text.split_whitespace();
        Some(Made {
            took: Duration::from_secs_f64(words.next()?.parse().ok()?),
            from: words.next()?.parse().ok()?,
            while_building: words.next()?.parse().ok()?,
        })
    }
}

/// Makes the ledger of `attempts` under `dir` unless it is there, and leaves the note on
/// how. A smaller ledger already in `dir` is copied and extended (the generator makes the
/// same attempts either way), so the three sizes cost one generation of the largest.
pub fn ensure(dir: &Path, attempts: u64, while_building: bool) {
    std::fs::create_dir_all(dir).expect("bench-data dir");
    let path = file_for(dir, attempts);
    if path.exists() {
        return;
    }
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let from = largest_below(dir, attempts);
    let started = Instant::now();
    if from > 0 {
        std::fs::copy(file_for(dir, from), &partial).expect("the smaller ledger copied");
    }
    {
        let l = Ledger::open(&partial, Mode::Sandbox).expect("a new ledger");
        extend(&l, &spec(attempts), from).expect("generated");
    }
    let took = started.elapsed();
    for ext in ["partial-wal", "partial-shm"] {
        let _ = std::fs::remove_file(path.with_extension(ext));
    }
    std::fs::rename(&partial, &path).expect("the finished file takes its name");
    Made {
        took,
        from,
        while_building,
    }
    .write(dir, attempts);
}

/// The largest finished ledger in `dir` with fewer than `attempts` (0 if none).
fn largest_below(dir: &Path, attempts: u64) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_prefix("ledger-")?
                .strip_suffix(".sqlite")?
                .parse::<u64>()
                .ok()
        })
        .filter(|&n| n < attempts)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_is_made_once_from_the_next_smaller_and_its_note_is_taken_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        ensure(dir.path(), 3_000, false);
        ensure(dir.path(), 5_000, true);
        let small = Made::take(dir.path(), 3_000).expect("made");
        assert_eq!((small.from, small.while_building), (0, false));
        let large = Made::take(dir.path(), 5_000).expect("made");
        assert_eq!((large.from, large.while_building), (3_000, true));
        assert_eq!(Made::take(dir.path(), 5_000), None, "a note is taken once");
        ensure(dir.path(), 5_000, false);
        assert_eq!(
            Made::take(dir.path(), 5_000),
            None,
            "a file there is not made again"
        );
        let l = Ledger::open(&file_for(dir.path(), 5_000), Mode::Sandbox).expect("opens");
        let days = l
            .day_log(first_day().plus_days(2), &Default::default())
            .expect("a day");
        assert_eq!(
            days.attempts.len(),
            1_000,
            "the third day holds attempts 4001–5000"
        );
        l.verify_chain().expect("the extended chain holds");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.contains("partial")),
            "no half-made file left: {names:?}"
        );
    }
}
