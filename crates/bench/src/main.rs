//! `make bench`: runs every benchmark in one process on this machine and writes
//! BENCHMARKS.md — the machine, the date, the commit, and each figure as a median with its
//! spread, next to the baseline measured in the same run. Build it with `--release`.
//!
//! `redeemdesk-bench [--quick] [--out FILE]`: `--quick` makes small runs (a smoke test of
//! the harness itself, not a measurement).

mod codec;
mod day_reports;
mod ledger_scale;
mod redemption;
mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| format!("{:.0} GiB", kb / 1048576.0))
        .unwrap_or_default();
    format!(
        "{} × {cpu}, {mem}, {}",
        sh("nproc", &[]),
        sh("uname", &["-sr"])
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("BENCHMARKS.md"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = root.join("target/bench-data");

    eprintln!("bench 1: redemption overhead");
    let redemption = redemption::run(if quick { 30 } else { 400 }).await;
    eprintln!("  ratio {:.2}", redemption.ratio);

    let sizes: &[u64] = if quick {
        &[20_000]
    } else {
        &[100_000, 1_000_000, 3_650_000]
    };
    let mut scales = Vec::new();
    for &n in sizes {
        eprintln!("bench 3: ledger with {n} attempts");
        scales.push(ledger_scale::run(&data, n, if quick { 5 } else { 30 }));
    }

    // Benchmark 4 on a day in the middle of the largest ledger.
    let largest = *sizes.last().expect("a size");
    let middle = "2021-11-22"
        .parse::<redeemdesk_core::business_day::BusinessDay>()
        .expect("a date")
        .plus_days((largest / ledger_scale::PER_DAY / 2) as i64);
    eprintln!("bench 4: export and reconciliation of {middle}");
    let reports = day_reports::run(
        &ledger_scale::file_for(&data, largest),
        largest,
        middle,
        if quick { 3 } else { 15 },
    );

    let commit = sh(
        "git",
        &[
            "-C",
            root.to_str().unwrap_or("."),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    );
    let date = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let mut md = format!(
        "# RedeemDesk performance record\n\n\
         Written by `make bench` — do not edit by hand. Every figure is a median over repeated \
         runs with its 10th–90th percentile spread; each comparison is measured in the same \
         run on the same machine. Release build.\n\n\
         - machine: {}\n- date: {date}\n- commit: {commit}{}\n\n",
        machine(),
        if quick {
            "\n- **quick run: smoke test of the harness, not a measurement**"
        } else {
            ""
        },
    );
    md.push_str(&redemption::markdown(&redemption));
    md.push('\n');
    md.push_str(&codec::markdown(&root.join("target/criterion")));
    md.push('\n');
    md.push_str(&ledger_scale::markdown(&scales));
    md.push('\n');
    md.push_str(&day_reports::markdown(&reports));
    md.push_str(
        "\n## Not measured yet\n\n\
         5 (start-up and memory against a minimal Tauri window) and 6 (the scanner path in \
         the real UI) come with issues 5 and 7.\n",
    );
    std::fs::write(&out, md).expect("BENCHMARKS.md written");
    eprintln!("wrote {}", out.display());
}
