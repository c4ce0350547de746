//! Reconciliation (对账) of one business day on one channel (product.md "The manager side"):
//! the ledger's attempts against the channel's own record — its history call where it has
//! one (通联 verifyHistory), otherwise a statement file exported from its back office (CSV,
//! with a column mapping saved per channel). Each line is matched / only here / only at the
//! channel / amount differs / state differs, with the evidence (our id, the channel's id,
//! the fields that differ).
//!
//! Reconciliation only reports. Nothing in the ledger changes: a success missing from the
//! channel's list stays a success (absence proves nothing, channels.md §0) and is shown to
//! the manager as "only here".

use crate::business_day::{BusinessDay, BusinessDayRule};
use crate::channel::{self, BusinessZone, ChannelError, ChannelKind, HistoryEntry};
use crate::desk::Desk;
use crate::ledger::{
    Actor, Attempt, AttemptId, AttemptState, DayFilter, LedgerError, NewReconciliation,
};
use crate::money::Fen;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the channel's record says of one redemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    Redeemed,
    Cancelled,
}

/// One redemption as the channel records it (a history entry or a statement row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelLine {
    pub code: String,
    pub channel_id: Option<String>,
    pub face_value: Option<Fen>,
    pub state: LineState,
    pub at: Option<String>,
    /// The statement's line number (1 = the header), for the evidence.
    pub statement_row: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Matched,
    OnlyHere,
    OnlyAtChannel,
    AmountDiffers,
    StateDiffers,
}

/// One field that is not the same on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub field: String,
    pub ours: String,
    pub theirs: String,
}

/// One line of the report, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    pub verdict: Verdict,
    pub code: String,
    pub our_id: Option<AttemptId>,
    pub our_state: Option<AttemptState>,
    pub our_face_value: Option<Fen>,
    pub channel_id: Option<String>,
    pub channel_state: Option<LineState>,
    pub channel_face_value: Option<Fen>,
    pub channel_at: Option<String>,
    pub statement_row: Option<usize>,
    pub differences: Vec<Difference>,
}

/// Where the channel's side came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    History,
    Statement { file: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub day: BusinessDay,
    pub channel: ChannelKind,
    pub source: Source,
    pub lines: Vec<ReportLine>,
    pub counts: BTreeMap<Verdict, usize>,
}

impl Report {
    /// The lines a manager must look at (everything but `matched`).
    pub fn mismatches(&self) -> impl Iterator<Item = &ReportLine> {
        self.lines.iter().filter(|l| l.verdict != Verdict::Matched)
    }
}

fn ours_state_text(s: AttemptState) -> String {
    s.as_str().to_owned()
}

fn theirs_state_text(s: LineState) -> String {
    match s {
        LineState::Redeemed => "redeemed".into(),
        LineState::Cancelled => "cancelled".into(),
    }
}

fn money_text(f: Option<Fen>) -> String {
    f.map(|f| f.to_yuan_string()).unwrap_or_else(|| "—".into())
}

fn line(
    verdict: Verdict,
    code: &str,
    ours: Option<&Attempt>,
    theirs: Option<&ChannelLine>,
) -> ReportLine {
    ReportLine {
        verdict,
        code: code.to_owned(),
        our_id: ours.map(|a| a.id.clone()),
        our_state: ours.map(|a| a.state),
        our_face_value: ours.and_then(|a| a.settled_face_value),
        channel_id: theirs.and_then(|t| t.channel_id.clone()),
        channel_state: theirs.map(|t| t.state),
        channel_face_value: theirs.and_then(|t| t.face_value),
        channel_at: theirs.and_then(|t| t.at.clone()),
        statement_row: theirs.and_then(|t| t.statement_row),
        differences: Vec::new(),
    }
}

/// Compares one of our consumed attempts with one channel line.
fn compare(code: &str, ours: &Attempt, theirs: &ChannelLine) -> ReportLine {
    let consumed_here = ours.state == AttemptState::Succeeded;
    let redeemed_there = theirs.state == LineState::Redeemed;
    if consumed_here != redeemed_there {
        let mut l = line(Verdict::StateDiffers, code, Some(ours), Some(theirs));
        l.differences.push(Difference {
            field: "state".into(),
            ours: ours_state_text(ours.state),
            theirs: theirs_state_text(theirs.state),
        });
        return l;
    }
    match (ours.settled_face_value, theirs.face_value) {
        (Some(a), Some(b)) if a != b => {
            let mut l = line(Verdict::AmountDiffers, code, Some(ours), Some(theirs));
            l.differences.push(Difference {
                field: "face_value".into(),
                ours: money_text(Some(a)),
                theirs: money_text(Some(b)),
            });
            l
        }
        _ => line(Verdict::Matched, code, Some(ours), Some(theirs)),
    }
}

/// One code's attempts and channel lines, as the matcher sorts them.
#[derive(Default)]
struct Sides<'a> {
    /// Succeeded or cancelled: what we believe the channel consumed.
    consumed: Vec<&'a Attempt>,
    /// Rejected, unknown or pending: what we believe it did not, or do not know yet.
    other: Vec<&'a Attempt>,
    there: Vec<&'a ChannelLine>,
}

/// Matches one day's attempts of one channel with the channel's lines, code by code, in
/// time order. Pure: the report depends on its inputs only.
pub fn reconcile(
    day: BusinessDay,
    channel: ChannelKind,
    source: Source,
    ours: &[Attempt],
    theirs: &[ChannelLine],
) -> Report {
    let mut codes: BTreeMap<&str, Sides> = BTreeMap::new();
    for a in ours.iter().filter(|a| a.channel == channel) {
        let slot = codes.entry(a.code.as_str()).or_default();
        match a.state {
            // What we believe the channel consumed (and maybe undid).
            AttemptState::Succeeded | AttemptState::Cancelled => slot.consumed.push(a),
            // What we believe it did not, or do not know yet.
            AttemptState::Rejected | AttemptState::Unknown | AttemptState::Pending => {
                slot.other.push(a)
            }
        }
    }
    for t in theirs {
        codes.entry(t.code.as_str()).or_default().there.push(t);
    }
    let mut lines = Vec::new();
    for (code, mut sides) in codes {
        sides.consumed.sort_by_key(|a| a.created_ms);
        sides.other.sort_by_key(|a| a.created_ms);
        let mut there = sides.there.into_iter();
        for a in sides.consumed {
            match there.next() {
                Some(t) => lines.push(compare(code, a, t)),
                None => lines.push(line(Verdict::OnlyHere, code, Some(a), None)),
            }
        }
        let mut other = sides.other.into_iter();
        for t in there {
            match other.next() {
                // We recorded it as not consumed (or do not know), the channel consumed it.
                Some(a) => {
                    let mut l = line(Verdict::StateDiffers, code, Some(a), Some(t));
                    l.differences.push(Difference {
                        field: "state".into(),
                        ours: ours_state_text(a.state),
                        theirs: theirs_state_text(t.state),
                    });
                    lines.push(l);
                }
                None => lines.push(line(Verdict::OnlyAtChannel, code, None, Some(t))),
            }
        }
    }
    let mut counts = BTreeMap::new();
    for l in &lines {
        *counts.entry(l.verdict).or_insert(0) += 1;
    }
    Report {
        day,
        channel,
        source,
        lines,
        counts,
    }
}

/// Which statement column holds what (saved per channel). Header names as in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementMapping {
    pub code: String,
    #[serde(default)]
    pub face_value: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
    /// Amounts are in 元 (two decimals) unless this says `fen`.
    #[serde(default)]
    pub amounts_in_fen: bool,
    /// State texts that mean "undone" (e.g. 已撤销, 已退款); any other text means redeemed.
    #[serde(default)]
    pub cancelled_values: Vec<String>,
}

/// One problem with a statement file: a row, or the mapping itself (`row: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}{message}", row.map(|r| format!("line {r}: ")).unwrap_or_default())]
pub struct StatementProblem {
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

/// Reads a statement CSV with its mapping. Rows that cannot be read are left out and each
/// gets a problem naming its line; a mapping that names a missing column is one problem and
/// no lines.
pub fn read_statement(
    bytes: &[u8],
    mapping: &StatementMapping,
) -> (Vec<ChannelLine>, Vec<StatementProblem>) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = match reader.byte_headers() {
        Ok(h) => h
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_owned())
            .collect::<Vec<_>>(),
        Err(e) => {
            return (
                Vec::new(),
                vec![StatementProblem {
                    row: Some(1),
                    column: None,
                    message: format!("the header line cannot be read: {e}"),
                }],
            )
        }
    };
    let find = |name: &Option<String>| -> Result<Option<usize>, StatementProblem> {
        match name {
            None => Ok(None),
            Some(n) => headers
                .iter()
                .position(|h| h == n.trim())
                .map(Some)
                .ok_or_else(|| StatementProblem {
                    row: None,
                    column: Some(n.clone()),
                    message: format!(
                        "the mapping names column {n:?}, but the file's columns are {headers:?}"
                    ),
                }),
        }
    };
    let columns = (|| {
        Ok::<_, StatementProblem>((
            find(&Some(mapping.code.clone()))?.unwrap_or(0),
            find(&mapping.face_value)?,
            find(&mapping.state)?,
            find(&mapping.channel_id)?,
            find(&mapping.time)?,
        ))
    })();
    let (code_at, face_at, state_at, id_at, time_at) = match columns {
        Ok(c) => c,
        Err(p) => return (Vec::new(), vec![p]),
    };
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (i, record) in reader.byte_records().enumerate() {
        let row = i + 2;
        let problem = |column: Option<&str>, message: String| StatementProblem {
            row: Some(row),
            column: column.map(str::to_owned),
            message,
        };
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(problem(None, format!("cannot be read: {e}")));
                continue;
            }
        };
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let field = |at: usize, name: &str| -> Result<String, StatementProblem> {
            let raw = record.get(at).ok_or_else(|| {
                problem(
                    Some(name),
                    format!("has {} fields, column {name:?} is missing", record.len()),
                )
            })?;
            std::str::from_utf8(raw)
                .map(|s| {
                    s.trim()
                        .trim_start_matches('=')
                        .trim_matches('"')
                        .trim()
                        .to_owned()
                })
                .map_err(|_| {
                    problem(
                        Some(name),
                        "is not UTF-8 text (save the statement as UTF-8 CSV)".into(),
                    )
                })
        };
        let result = (|| {
            let code = field(code_at, &mapping.code)?;
            if code.is_empty() {
                return Err(problem(Some(&mapping.code), "has no coupon code".into()));
            }
            let face_value =
                match (face_at, &mapping.face_value) {
                    (Some(at), Some(name)) => {
                        let text = field(at, name)?;
                        let parsed = if mapping.amounts_in_fen {
                            text.parse::<i64>().map(Fen).map_err(|_| ())
                        } else {
                            Fen::from_yuan_str(&text).map_err(|_| ())
                        };
                        Some(parsed.map_err(|_| {
                            problem(Some(name), format!("{text:?} is not an amount"))
                        })?)
                    }
                    _ => None,
                };
            let state = match (state_at, &mapping.state) {
                (Some(at), Some(name)) => {
                    let text = field(at, name)?;
                    if mapping.cancelled_values.iter().any(|c| c.trim() == text) {
                        LineState::Cancelled
                    } else {
                        LineState::Redeemed
                    }
                }
                _ => LineState::Redeemed,
            };
            let opt = |at: Option<usize>,
                       name: &Option<String>|
             -> Result<Option<String>, StatementProblem> {
                match (at, name) {
                    (Some(at), Some(name)) => {
                        field(at, name).map(|v| Some(v).filter(|v| !v.is_empty()))
                    }
                    _ => Ok(None),
                }
            };
            Ok(ChannelLine {
                code,
                channel_id: opt(id_at, &mapping.channel_id)?,
                face_value,
                state,
                at: opt(time_at, &mapping.time)?,
                statement_row: Some(row),
            })
        })();
        match result {
            Ok(l) => lines.push(l),
            Err(p) => problems.push(p),
        }
    }
    (lines, problems)
}

/// A history entry as a channel line, when it belongs to `day`.
fn history_line(
    e: &HistoryEntry,
    zone: BusinessZone,
    rule: BusinessDayRule,
    day: BusinessDay,
) -> Option<ChannelLine> {
    if let Some(at) = e.used_at.as_deref().and_then(|t| zone.parse_dashed(t)) {
        if rule.day_of(at) != day {
            return None;
        }
    }
    let cancelled = e
        .status
        .as_deref()
        .is_some_and(|s| s.contains("撤销") || s.contains("退"));
    Some(ChannelLine {
        code: e.code.clone(),
        channel_id: None,
        face_value: e.face_value,
        state: if cancelled {
            LineState::Cancelled
        } else {
            LineState::Redeemed
        },
        at: e.used_at.clone(),
        statement_row: None,
    })
}

/// A statement to reconcile against instead of the channel's history.
#[derive(Debug, Clone)]
pub struct Statement<'a> {
    pub file: String,
    pub bytes: &'a [u8],
    pub mapping: StatementMapping,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{0} has no history call: reconcile it against a statement file from its back office")]
    StatementNeeded(ChannelKind),
    #[error("{0} is not configured")]
    NotConfigured(ChannelKind),
    #[error("the statement cannot be used: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Statement(Vec<StatementProblem>),
    #[error("the channel's history could not be read: {0}")]
    History(#[from] ChannelError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl ReconcileError {
    pub fn code(&self) -> &'static str {
        match self {
            ReconcileError::StatementNeeded(_) => "statement_needed",
            ReconcileError::NotConfigured(_) => "channel_not_configured",
            ReconcileError::Statement(_) => "statement_invalid",
            ReconcileError::History(_) => "history_failed",
            ReconcileError::Ledger(e) => e.code(),
        }
    }
}

/// A reconciliation, kept in the ledger under `id`, and the statement rows it had to leave
/// out (each with its reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub id: i64,
    pub report: Report,
    pub skipped_rows: Vec<StatementProblem>,
}

impl Desk {
    /// Reconciles one business day of one channel — against `statement` when given, else the
    /// channel's history — and keeps the report in the ledger. A statement whose rows all fail, or whose mapping is wrong, is an
    /// error with every problem listed; some broken rows are reported beside the result.
    pub async fn reconcile_day(
        &self,
        day: BusinessDay,
        kind: ChannelKind,
        statement: Option<Statement<'_>>,
        actor: &Actor,
    ) -> Result<Reconciliation, ReconcileError> {
        let (source, theirs, skipped_rows) = match statement {
            Some(s) => {
                let (lines, problems) = read_statement(s.bytes, &s.mapping);
                if lines.is_empty() && !problems.is_empty() {
                    return Err(ReconcileError::Statement(problems));
                }
                (Source::Statement { file: s.file }, lines, problems)
            }
            None => {
                if !channel::capabilities(kind).history {
                    return Err(ReconcileError::StatementNeeded(kind));
                }
                let ch = self
                    .channel(kind)
                    .ok_or(ReconcileError::NotConfigured(kind))?;
                let rule = self.ledger.business_day_rule();
                // The business day's own zone is the one the channel writes its times in.
                let zone = BusinessZone::from_minutes(rule.offset_minutes).unwrap_or_default();
                // A business day (04:00–04:00) spans two calendar dates of the channel's list.
                let (start, end) = rule.range_of(day);
                let (first, last) = (zone.date(start), zone.date(end - 1));
                let mut lines = Vec::new();
                let mut date = first;
                loop {
                    let history = ch.history(date).await?;
                    lines.extend(
                        history
                            .value
                            .iter()
                            .filter_map(|e| history_line(e, zone, rule, day)),
                    );
                    match date.next_day() {
                        Some(next) if next <= last => date = next,
                        _ => break,
                    }
                }
                (Source::History, lines, Vec::new())
            }
        };
        let ours = self
            .ledger
            .day_log(
                day,
                &DayFilter {
                    channel: Some(kind),
                    ..Default::default()
                },
            )?
            .attempts;
        let report = reconcile(day, kind, source, &ours, &theirs);
        let id = self.ledger.record_reconciliation(&NewReconciliation {
            business_day: day,
            channel: kind,
            run_ms: self.clock.now_ms(),
            actor: actor.to_string(),
            source: match &report.source {
                Source::History => "history".into(),
                Source::Statement { file } => file.clone(),
            },
            lines: report.lines.len() as u32,
            mismatches: report.mismatches().count() as u32,
            report: serde_json::to_string(&report).unwrap_or_default(),
        })?;
        Ok(Reconciliation {
            id,
            report,
            skipped_rows,
        })
    }

    /// The manager signs a day's reconciliation off (kept with the ledger's chain head,
    /// which it answers so the manager sees it and can write it down).
    pub fn sign_off_day(
        &self,
        reconciliation_id: i64,
        manager: &str,
        note: Option<&str>,
    ) -> Result<crate::ledger::ChainAnchor, ReconcileError> {
        Ok(self
            .ledger
            .sign_off(reconciliation_id, manager.trim(), note, self.clock.now_ms())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> BusinessDay {
        "2026-11-22".parse().unwrap()
    }

    fn ours(code: &str, state: AttemptState, face: i64, at: i64) -> Attempt {
        Attempt {
            id: AttemptId::new_v4(),
            created_ms: at,
            business_day: day(),
            channel: ChannelKind::Allinpay,
            platform: None,
            code: code.into(),
            count: 1,
            cashier: "王芳".into(),
            face_value: Some(Fen(face)),
            price: None,
            remaining_before: None,
            state,
            state_ms: at,
            settled_face_value: Some(Fen(face)),
            settled: None,
        }
    }

    fn theirs(code: &str, state: LineState, face: i64) -> ChannelLine {
        ChannelLine {
            code: code.into(),
            channel_id: Some(format!("T{code}")),
            face_value: Some(Fen(face)),
            state,
            at: None,
            statement_row: None,
        }
    }

    #[test]
    fn each_kind_of_mismatch_is_found_with_its_evidence_and_nothing_else() {
        use AttemptState::{Rejected, Succeeded};
        use LineState::{Cancelled, Redeemed};
        let ours = [
            ours("A", Succeeded, 1000, 1),
            ours("B", Succeeded, 1000, 2),
            ours("C", Succeeded, 1000, 3),
            ours("D", Succeeded, 1000, 4),
            ours("F", Rejected, 1000, 5),
        ];
        let theirs = [
            theirs("A", Redeemed, 1000),
            theirs("B", Redeemed, 900),
            theirs("C", Cancelled, 1000),
            theirs("E", Redeemed, 500),
            theirs("F", Redeemed, 1000),
        ];
        let r = reconcile(
            day(),
            ChannelKind::Allinpay,
            Source::History,
            &ours,
            &theirs,
        );
        let verdict = |code: &str| r.lines.iter().find(|l| l.code == code).map(|l| l.verdict);
        assert_eq!(verdict("A"), Some(Verdict::Matched));
        assert_eq!(verdict("B"), Some(Verdict::AmountDiffers));
        assert_eq!(verdict("C"), Some(Verdict::StateDiffers));
        assert_eq!(
            verdict("D"),
            Some(Verdict::OnlyHere),
            "absence is reported, not acted on"
        );
        assert_eq!(verdict("E"), Some(Verdict::OnlyAtChannel));
        assert_eq!(
            verdict("F"),
            Some(Verdict::StateDiffers),
            "we said rejected, they consumed it"
        );
        assert_eq!(
            r.lines.len(),
            6,
            "one line per pairing, nothing else: {:?}",
            r.lines
        );
        let b = r.lines.iter().find(|l| l.code == "B").unwrap();
        assert_eq!(
            b.differences,
            vec![Difference {
                field: "face_value".into(),
                ours: "10.00".into(),
                theirs: "9.00".into()
            }]
        );
        assert!(
            b.our_id.is_some() && b.channel_id.as_deref() == Some("TB"),
            "both ids as evidence"
        );
        assert_eq!(r.mismatches().count(), 5);
    }

    #[test]
    fn a_times_card_used_twice_pairs_in_time_order() {
        let ours = [
            ours("K", AttemptState::Succeeded, 100, 2),
            ours("K", AttemptState::Succeeded, 100, 1),
        ];
        let theirs = [theirs("K", LineState::Redeemed, 100)];
        let r = reconcile(
            day(),
            ChannelKind::Allinpay,
            Source::History,
            &ours,
            &theirs,
        );
        let verdicts: Vec<_> = r.lines.iter().map(|l| l.verdict).collect();
        assert_eq!(verdicts, vec![Verdict::Matched, Verdict::OnlyHere]);
        assert_eq!(
            r.lines[1].our_id,
            Some(ours[0].id.clone()),
            "the later one is unmatched"
        );
    }

    fn mapping() -> StatementMapping {
        StatementMapping {
            code: "券码".into(),
            face_value: Some("面值".into()),
            state: Some("状态".into()),
            channel_id: Some("核销单号".into()),
            time: Some("核销时间".into()),
            amounts_in_fen: false,
            cancelled_values: vec!["已撤销".into()],
        }
    }

    #[test]
    fn a_statement_is_read_with_its_mapping_bom_and_text_cells() {
        let csv = "\u{feff}核销时间,券码,面值,状态,核销单号\n\
                   2026-11-22 12:03:00,=\"914095353294404024\",10.00,已核销,T1\n\
                   2026-11-22 12:04:00,5948286811,0.10,已撤销,T2\n\n";
        let (lines, problems) = read_statement(csv.as_bytes(), &mapping());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0].code, "914095353294404024",
            "a long code stays text"
        );
        assert_eq!(lines[0].face_value, Some(Fen(1000)));
        assert_eq!(lines[1].state, LineState::Cancelled);
        assert_eq!(
            lines[1].statement_row,
            Some(3),
            "the line number for the evidence"
        );
    }

    #[test]
    fn a_wrong_mapping_is_one_clear_problem_naming_the_column() {
        let csv = "时间,code,amount\n2026-11-22,1,1.00\n";
        let (lines, problems) = read_statement(csv.as_bytes(), &mapping());
        assert!(lines.is_empty());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].column.as_deref(), Some("券码"));
        assert!(
            problems[0].message.contains("券码") && problems[0].message.contains("code"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn broken_rows_get_a_message_each_and_the_good_rows_still_count() {
        let csv = "核销时间,券码,面值,状态,核销单号\n\
                   2026-11-22 12:03:00,111,10.00,已核销,T1\n\
                   2026-11-22 12:03:00,,10.00,已核销,T2\n\
                   2026-11-22 12:03:00,333,ten,已核销,T3\n\
                   2026-11-22 12:03:00,444\n\
                   2026-11-22 12:03:00,555,1.005,已核销,T5\n";
        let (lines, problems) = read_statement(csv.as_bytes(), &mapping());
        assert_eq!(lines.len(), 1, "{lines:?}");
        let rows: Vec<_> = problems.iter().map(|p| p.row).collect();
        assert_eq!(
            rows,
            vec![Some(3), Some(4), Some(5), Some(6)],
            "{problems:?}"
        );
        assert!(
            problems[0].to_string().starts_with("line 3: "),
            "{}",
            problems[0]
        );
        assert!(problems[2].message.contains("missing"), "{}", problems[2]);
    }

    #[test]
    fn a_statement_that_is_not_utf8_says_so() {
        let mut bytes = "券码\n".as_bytes().to_vec();
        bytes.extend([0xb2, 0xe2, 0xca, 0xd4, b'\n']); // GBK
        let m = StatementMapping {
            face_value: None,
            state: None,
            channel_id: None,
            time: None,
            ..mapping()
        };
        let (_, problems) = read_statement(&bytes, &m);
        assert!(problems[0].message.contains("UTF-8"), "{problems:?}");
    }
}
