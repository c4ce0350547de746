//! Benchmark 3, the ledger at scale (issue 4, issue 7): opening, one business day's log with
//! its per-channel totals, one code's timeline and the inbox, on ledgers of 0.1 M, 1 M and
//! 3.65 M attempts (2,000 a day: five years of a busy store), so the cost curve is visible.
//! The files come from `redeemdesk-bench-ledgers` (the ledger's own generator; make bench
//! runs it while the build finishes, or this makes what is missing). Times are with the
//! file in the OS cache, as on a till that has been running.

use crate::stats::{self, summarise, Summary};
use redeemdesk_bench_ledgers::{ensure, file_for, first_day, Made, PER_DAY};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::ledger::{DayFilter, Ledger};
use std::path::Path;
use std::time::Duration;

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

pub fn run(dir: &Path, attempts: u64, runs: usize) -> Scale {
    ensure(dir, attempts, false);
    let generated_in = Made::take(dir, attempts);
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
            s.generated_in.map(|m| {
                let mut how = vec![match m.from {
                    0 => "from nothing".to_owned(),
                    from => format!("the {from} file copied and extended"),
                }];
                if m.while_building {
                    how.push("while the release build used the other core".to_owned());
                }
                format!(
                    "{} in {:.0} s ({})",
                    s.attempts,
                    m.took.as_secs_f64(),
                    how.join(", ")
                )
            })
        })
        .collect();
    if !generated.is_empty() {
        out.push_str(&format!(
            "\nGenerated this run (`redeemdesk-bench-ledgers`): {}.\n",
            generated.join(", ")
        ));
    }
    out
}
