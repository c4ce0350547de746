//! Benchmark 3, the ledger at scale (issue 4, issue 7): opening, one business day's log with
//! its per-channel totals, one code's timeline and the inbox, on ledgers of 0.1 M, 1 M and
//! 3.65 M attempts (2,000 a day: five years of a busy store), so the cost curve is visible.
//! The files are made by the ledger's own generator (one transaction, deterministic; each
//! larger one from a copy of the next smaller, extended) and kept under target/bench-data/
//! so a second run skips the generation. Times are with the file in the OS cache, as on a
//! till that has been running.

use crate::stats::{self, summarise, Summary};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::business_day::BusinessDay;
use redeemdesk_core::ledger::generate::{extend, Synthetic};
use redeemdesk_core::ledger::{DayFilter, Ledger};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const PER_DAY: u64 = 2_000;
/// The sizes of a full run: the growth curve.
pub const SIZES: [u64; 3] = [100_000, 1_000_000, 3_650_000];
/// `--quick`: a smoke test of the harness.
pub const QUICK_SIZES: [u64; 1] = [20_000];

pub struct Scale {
    pub attempts: u64,
    pub generated_in: Option<Made>,
    pub file_mib: f64,
    pub open: Summary,
    pub day_log: Summary,
    pub day_rows: usize,
    pub timeline: Summary,
    pub inbox: Summary,
}

pub fn first_day() -> BusinessDay {
    "2021-11-22".parse().expect("a date")
}

pub fn file_for(dir: &Path, attempts: u64) -> PathBuf {
    dir.join(format!("ledger-{attempts}.sqlite"))
}

/// How a ledger file of this run was made.
#[derive(Debug, Clone, Copy)]
pub struct Made {
    pub took: Duration,
    /// The smaller ledger it was copied from and extended (0: generated from nothing).
    pub from: u64,
}

fn spec(attempts: u64) -> Synthetic {
    Synthetic {
        attempts,
        first_day: first_day(),
        per_day: PER_DAY,
        seed: 2026,
    }
}

/// Makes the ledger of `attempts` under `dir` unless it is there; answers how when it
/// ran. A smaller ledger already in `dir` is copied and extended (the generator makes the
/// same attempts either way), so the three sizes cost one generation of the largest.
pub fn ensure(dir: &Path, attempts: u64) -> Option<Made> {
    std::fs::create_dir_all(dir).expect("bench-data dir");
    let path = file_for(dir, attempts);
    if path.exists() {
        return None;
    }
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let from = largest_below(dir, attempts);
    let (took, _) = stats::time(|| {
        if from > 0 {
            std::fs::copy(file_for(dir, from), &partial).expect("the smaller ledger copied");
        }
        let l = Ledger::open(&partial, Mode::Sandbox).expect("a new ledger");
        extend(&l, &spec(attempts), from).expect("generated");
    });
    for ext in ["partial-wal", "partial-shm"] {
        let _ = std::fs::remove_file(path.with_extension(ext));
    }
    std::fs::rename(&partial, &path).expect("the finished file takes its name");
    Some(Made { took, from })
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

pub fn run(dir: &Path, attempts: u64, runs: usize) -> Scale {
    let generated_in = ensure(dir, attempts);
    let path = file_for(dir, attempts);
    let file_mib = std::fs::metadata(&path)
        .map(|m| m.len() as f64 / 1048576.0)
        .unwrap_or(0.0);
    let days = (attempts / PER_DAY).max(1) as i64;

    let open: Vec<Duration> = (0..runs)
        .map(|_| stats::time(|| Ledger::open(&path, Mode::Sandbox).expect("opens")).0)
        .collect();
    let ledger = Ledger::open(&path, Mode::Sandbox).expect("opens");
    let mut day_rows = 0;
    let mut codes = Vec::new();
    let day_log: Vec<Duration> = (0..runs)
        .map(|i| {
            // Spread over the whole file: early, middle and late days.
            let day = first_day().plus_days(i as i64 * days / runs as i64);
            let (t, log) =
                stats::time(|| ledger.day_log(day, &DayFilter::default()).expect("day log"));
            day_rows = log.attempts.len();
            if let Some(a) = log.attempts.get(log.attempts.len() / 2) {
                codes.push(a.code.clone());
            }
            t
        })
        .collect();
    let timeline: Vec<Duration> = codes
        .iter()
        .map(|c| stats::time(|| ledger.code_timeline(c).expect("timeline")).0)
        .collect();
    let inbox: Vec<Duration> = (0..runs)
        .map(|_| stats::time(|| ledger.inbox().expect("inbox")).0)
        .collect();
    Scale {
        attempts,
        generated_in,
        file_mib,
        open: summarise(&open),
        day_log: summarise(&day_log),
        day_rows,
        timeline: summarise(&timeline),
        inbox: summarise(&inbox),
    }
}

pub fn markdown(scales: &[Scale]) -> String {
    let mut out = String::from(
        "## 3. The ledger at scale\n\n\
         Ledgers made by the ledger's generator at 2,000 attempts a day (3.65 M = five years \
         of a busy store); the file in the OS cache. A day's log is all of the day's attempts \
         with the per-channel totals. Targets (issue 4): open < 200 ms, a day's log with \
         totals < 20 ms at 3.65 M.\n\n\
         | attempts | file | open | day log + totals | code timeline | inbox |\n\
         |---|---|---|---|---|---|\n",
    );
    for s in scales {
        out.push_str(&format!(
            "| {} | {:.0} MiB | {} | {} ({} rows) | {} | {} |\n",
            s.attempts,
            s.file_mib,
            stats::show(&s.open),
            stats::show(&s.day_log),
            s.day_rows,
            stats::show(&s.timeline),
            stats::show(&s.inbox),
        ));
    }
    let generated: Vec<String> = scales
        .iter()
        .filter_map(|s| {
            s.generated_in.map(|m| match m.from {
                0 => format!("{} in {:.0} s", s.attempts, m.took.as_secs_f64()),
                from => format!(
                    "{} in {:.0} s (the {from} file copied and extended)",
                    s.attempts,
                    m.took.as_secs_f64()
                ),
            })
        })
        .collect();
    if !generated.is_empty() {
        out.push_str(&format!(
            "\nGenerated this run: {}.\n",
            generated.join(", ")
        ));
    }
    out
}
