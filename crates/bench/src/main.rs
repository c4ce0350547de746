//! `make bench`: runs every benchmark in one process on this machine and writes
//! BENCHMARKS.md — the machine, the date, the commit, and each figure as a median with its
//! spread, next to the baseline measured in the same run. Build it with `--release`.
//!
//! `redeemdesk-bench [--quick] [--only 5,6] [--out FILE]`: `--quick` makes small runs (a
//! smoke test of the harness itself, not a measurement); `--only` runs the benchmarks named
//! and replaces just their sections in FILE (record.rs). Benchmarks 5, 6, 7, 8 and 10 start the
//! real app and need a display and a session bus (`make bench` provides both), the release
//! builds of `redeemdesk` and `redeemdesk-baseline`, and for 6 and 7 tauri-driver.

mod codec;
mod day_log_ui;
mod day_reports;
mod hq_chain;
mod ledger_scale;
mod manager_statement;
mod record;
mod redemption;
mod scanner;
mod screen;
mod slip_print;
mod startup;
mod stats;

use redeemdesk_sandbox::demo_keys::AllinpayKeys;
use std::collections::{BTreeMap, BTreeSet};
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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let out = value("--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("BENCHMARKS.md"));
    let only: Option<BTreeSet<u32>> = value("--only").map(|list| {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| match s.trim().parse::<u32>() {
                Ok(n) if record::ALL.contains(&n) => n,
                _ => panic!("--only takes benchmark numbers 1–10, e.g. 5,6: not {s:?}"),
            })
            .collect()
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Benchmarks 6 and 7 drive the release app, the one benchmark 5 measures, unless told otherwise.
    // Set before the runtime starts any thread.
    if std::env::var_os("REDEEMDESK_APP_BIN").is_none() {
        std::env::set_var(
            "REDEEMDESK_APP_BIN",
            startup::release_binary(&root, "redeemdesk"),
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(run(&root, &out, quick, only));
}

async fn run(root: &Path, out: &Path, quick: bool, only: Option<BTreeSet<u32>>) {
    let wanted = |n: u32| only.as_ref().is_none_or(|o| o.contains(&n));
    let data = root.join("target/bench-data");
    let mut sections: BTreeMap<u32, String> = BTreeMap::new();

    // The two that start the real app first: they fail fast when the display, the driver or
    // a release build is missing, before minutes go into the ledgers.
    if wanted(5) {
        eprintln!("bench 5: start-up and memory against a minimal Tauri window");
        let r = startup::run(
            &startup::Subject {
                name: "redeemdesk",
                binary: startup::release_binary(root, "redeemdesk"),
                ready: "cashier",
                env: &[],
                sandbox_keys: Some(AllinpayKeys::ephemeral()),
            },
            &startup::Subject {
                name: "baseline",
                binary: startup::release_binary(root, "redeemdesk-baseline"),
                ready: "hello",
                env: &[],
                sandbox_keys: None,
            },
            &startup::Subject {
                name: "baseline, no compositing",
                binary: startup::release_binary(root, "redeemdesk-baseline"),
                ready: "hello",
                env: startup::NO_COMPOSITING,
                sandbox_keys: None,
            },
            if quick { 2 } else { 7 },
        );
        let [t, rss, pss] = startup::ratios(&r);
        eprintln!("  ratios: start-up {t:.2}, Rss {rss:.2}, Pss {pss:.2}");
        sections.insert(5, startup::markdown(&r));
    }
    if wanted(6) {
        eprintln!("bench 6: the scanner path in the real UI");
        let r = scanner::run(if quick { 3 } else { 20 }).await;
        sections.insert(6, scanner::markdown(&r));
    }

    if wanted(8) {
        eprintln!("bench 8: manager commands on a ledger with the largest statement");
        let r = manager_statement::run(if quick { 2 } else { 9 }, quick).await;
        sections.insert(8, manager_statement::markdown(&r));
    }
    if wanted(10) {
        eprintln!("bench 10: printed slips and the answer on screen");
        let r = slip_print::run(if quick { 1 } else { 3 }).await;
        sections.insert(10, slip_print::markdown(&r));
    }

    if wanted(1) {
        eprintln!("bench 1: redemption overhead");
        let redemption = redemption::run(if quick { 30 } else { 400 }).await;
        eprintln!("  ratio {:.2}", redemption.ratio);
        sections.insert(1, redemption::markdown(&redemption));
    }
    if wanted(9) {
        eprintln!("bench 9: chain mode at HQ on PostgreSQL");
        let r = hq_chain::run(&hq_chain::sizes(quick)).await;
        eprintln!(
            "  upload/COPY {:.2} ({:.2} without the login), store day {}, chain day {}",
            r.ratio,
            r.open_ratio,
            stats::ms(r.store_day.median),
            stats::ms(r.chain_day.median)
        );
        sections.insert(9, hq_chain::markdown(&r));
    }
    if wanted(2) {
        sections.insert(
            2,
            codec::markdown(&startup::target_dir(root).join("criterion")),
        );
    }

    let sizes: &[u64] = if quick {
        &ledger_scale::QUICK_SIZES
    } else {
        &ledger_scale::SIZES
    };
    if wanted(3) {
        let mut scales = Vec::new();
        for &n in sizes {
            eprintln!("bench 3: ledger with {n} attempts");
            scales.push(ledger_scale::run(&data, n, if quick { 5 } else { 30 }));
        }
        sections.insert(3, ledger_scale::markdown(&scales));
    }
    if wanted(7) {
        // After benchmark 3, which makes (or finds) the largest ledger this one copies.
        let largest = *sizes.last().expect("a size");
        eprintln!("bench 7: the manager's day log in the UI on {largest} attempts");
        let r = day_log_ui::run(&data, largest, if quick { 3 } else { 15 }).await;
        eprintln!("  on the screen: median {:.1} ms", r.on_screen.median);
        sections.insert(7, day_log_ui::markdown(&r));
    }
    if wanted(4) {
        // Benchmark 4 on a day in the middle of the largest ledger.
        let largest = *sizes.last().expect("a size");
        let middle =
            ledger_scale::first_day().plus_days((largest / ledger_scale::PER_DAY / 2) as i64);
        eprintln!("bench 4: export and reconciliation of {middle}");
        let reports = day_reports::run(
            &ledger_scale::file_for(&data, largest),
            largest,
            middle,
            if quick { 3 } else { 15 },
        );
        sections.insert(4, day_reports::markdown(&reports));
    }

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
    let quick_note = if quick {
        " (**quick run: smoke test of the harness, not a measurement**)"
    } else {
        ""
    };
    let record = match (&only, std::fs::read_to_string(out)) {
        (Some(_), Ok(old)) => {
            record::parse(&old).merge(sections, &format!("{date}, commit {commit}{quick_note}"))
        }
        _ => record::Record {
            preamble: format!(
                "# RedeemDesk performance record\n\n\
                 Written by `make bench` — do not edit by hand. Every figure is a median over \
                 repeated runs with its spread (10th–90th percentile unless a table says \
                 min – max); each comparison is measured in the same run on the same machine. \
                 Release build.\n\n\
                 - machine: {}\n- date: {date}\n- commit: {commit}{}\n\n",
                machine(),
                if quick {
                    "\n- **quick run: smoke test of the harness, not a measurement**"
                } else {
                    ""
                },
            ),
            sections,
        },
    };
    std::fs::write(out, record.render()).expect("BENCHMARKS.md written");
    eprintln!("wrote {}", out.display());
}
