//! Benchmark 4, export and reconciliation of a 2,000-attempt day (issue 6 targets: XLSX
//! export < 300 ms, reconciliation < 100 ms), on a day in the middle of the 3.65 M ledger.
//! The export includes reading the day and each attempt's channel ids; the reconciliation
//! reads a 2,000-row statement CSV through its column mapping and matches it, with a few
//! planted differences so every kind of line occurs.

use crate::stats::{self, summarise, Summary};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::business_day::BusinessDay;
use redeemdesk_core::export::{export_day_log, ExportFormat};
use redeemdesk_core::ledger::{AttemptState, DayFilter, Ledger};
use redeemdesk_core::reconcile::{read_statement, reconcile, Source, StatementMapping};
use std::path::Path;

pub struct Result {
    pub ledger_attempts: u64,
    pub rows: usize,
    pub xlsx: Summary,
    pub xlsx_bytes: usize,
    pub csv: Summary,
    pub reconcile: Summary,
    pub mismatches: usize,
}

pub fn run(ledger_file: &Path, ledger_attempts: u64, day: BusinessDay, runs: usize) -> Result {
    let ledger = Ledger::open(ledger_file, Mode::Sandbox).expect("the benchmark ledger");
    let filter = DayFilter::default();
    let mut xlsx_bytes = 0;
    let xlsx: Vec<_> = (0..runs)
        .map(|_| {
            let (t, bytes) = stats::time(|| {
                let log = ledger.day_log(day, &filter).unwrap();
                export_day_log(&ledger, &log, None, ExportFormat::Xlsx, Default::default()).unwrap()
            });
            xlsx_bytes = bytes.len();
            t
        })
        .collect();
    let csv: Vec<_> = (0..runs)
        .map(|_| {
            stats::time(|| {
                let log = ledger.day_log(day, &filter).unwrap();
                export_day_log(&ledger, &log, None, ExportFormat::Csv, Default::default()).unwrap()
            })
            .0
        })
        .collect();

    // The channel's statement of the same day: what we consumed, with every 50th line's
    // amount changed and every 97th missing, as a back office would export it.
    let log = ledger.day_log(day, &filter).unwrap();
    let channel = log
        .attempts
        .first()
        .map(|a| a.channel)
        .expect("a day with attempts");
    let mut statement = String::from("核销时间,券码,面值,状态\n");
    for (i, a) in log
        .attempts
        .iter()
        .filter(|a| {
            a.channel == channel
                && matches!(a.state, AttemptState::Succeeded | AttemptState::Cancelled)
        })
        .enumerate()
    {
        if i % 97 == 0 {
            continue;
        }
        let face = a.settled_face_value.unwrap_or_default().0 + if i % 50 == 0 { 100 } else { 0 };
        let state = if a.state == AttemptState::Cancelled {
            "已撤销"
        } else {
            "已核销"
        };
        statement.push_str(&format!(
            "2026-01-01 12:00:00,{},{}.{:02},{state}\n",
            a.code,
            face / 100,
            face % 100
        ));
    }
    let mapping = StatementMapping {
        code: "券码".into(),
        face_value: Some("面值".into()),
        state: Some("状态".into()),
        channel_id: None,
        time: Some("核销时间".into()),
        amounts_in_fen: false,
        cancelled_values: vec!["已撤销".into()],
    };
    let mut mismatches = 0;
    let rec: Vec<_> = (0..runs)
        .map(|_| {
            let (t, report) = stats::time(|| {
                let log = ledger
                    .day_log(
                        day,
                        &DayFilter {
                            channel: Some(channel),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                let read = read_statement(statement.as_bytes(), &mapping).unwrap();
                assert!(read.problems.is_empty(), "{:?}", read.problems);
                reconcile(
                    day,
                    channel,
                    Source::Statement {
                        file: "bench.csv".into(),
                    },
                    &log.attempts,
                    &read.lines,
                    &[],
                )
            });
            mismatches = report.mismatches().count();
            t
        })
        .collect();
    Result {
        ledger_attempts,
        rows: log.attempts.len(),
        xlsx: summarise(&xlsx),
        xlsx_bytes,
        csv: summarise(&csv),
        reconcile: summarise(&rec),
        mismatches,
    }
}

pub fn markdown(r: &Result) -> String {
    format!(
        "## 4. Export and reconciliation of a {}-attempt day\n\n\
         A day in the middle of the {}-attempt ledger. The export reads the day, each \
         attempt's channel ids and writes the file; the reconciliation reads the day of one \
         channel and a statement CSV through its column mapping, and matches them ({} planted \
         mismatches found). Targets (issue 6): XLSX < 300 ms, reconciliation < 100 ms.\n\n\
         | what | median (spread) |\n|---|---|\n\
         | export to XLSX ({} KiB) | {} |\n\
         | export to CSV | {} |\n\
         | reconcile against a statement | {} |\n",
        r.rows,
        r.ledger_attempts,
        r.mismatches,
        r.xlsx_bytes / 1024,
        stats::show(&r.xlsx),
        stats::show(&r.csv),
        stats::show(&r.reconcile),
    )
}
