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

use crate::business_day::BusinessDay;
use crate::channel::ChannelKind;
use crate::ledger::{Attempt, AttemptId, AttemptState};
use crate::money::Fen;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::statement::{
    read_statement, ChannelLine, LineState, StatementError, StatementMapping, StatementProblem,
    StatementRead,
};

/// A stored report lists every line that involves one of our attempts (a day's worth, bounded
/// by the till) but at most this many of the others (only at the channel, unreadable): a
/// statement of the wrong shop or month must not grow the ledger by megabytes. Counts stay
/// exact.
pub const MAX_FOREIGN_LINES_LISTED: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Matched,
    OnlyHere,
    OnlyAtChannel,
    AmountDiffers,
    StateDiffers,
    /// A statement row that could not be read: it may hide a redemption, so it is a mismatch.
    Unreadable,
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
    /// Why an unreadable row could not be read, and its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<StatementProblem>,
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
    /// Every line's verdict, counted, including the lines left out of `lines`.
    pub counts: BTreeMap<Verdict, usize>,
    /// Lines counted but not listed (over `MAX_FOREIGN_LINES_LISTED`).
    #[serde(default)]
    pub not_listed: usize,
}

impl Report {
    /// The lines a manager must look at (everything but `matched`), as listed.
    pub fn mismatches(&self) -> impl Iterator<Item = &ReportLine> {
        self.lines.iter().filter(|l| l.verdict != Verdict::Matched)
    }

    /// How many lines are not `matched`, listed or not.
    pub fn mismatch_count(&self) -> usize {
        self.counts
            .iter()
            .filter(|(v, _)| **v != Verdict::Matched)
            .map(|(_, n)| n)
            .sum()
    }

    /// How many statement rows could not be read.
    pub fn unreadable_count(&self) -> usize {
        self.counts.get(&Verdict::Unreadable).copied().unwrap_or(0)
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
        problem: None,
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
/// time order; each statement row that could not be read is an `unreadable` line. Pure: the
/// report depends on its inputs only.
pub fn reconcile(
    day: BusinessDay,
    channel: ChannelKind,
    source: Source,
    ours: &[Attempt],
    theirs: &[ChannelLine],
    unreadable: &[StatementProblem],
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
    lines.extend(unreadable.iter().map(|p| ReportLine {
        statement_row: p.row,
        problem: Some(p.clone()),
        ..line(Verdict::Unreadable, "", None, None)
    }));
    let mut counts = BTreeMap::new();
    for l in &lines {
        *counts.entry(l.verdict).or_insert(0) += 1;
    }
    let mut foreign = 0;
    let before = lines.len();
    lines.retain(|l| {
        let ours = l.our_id.is_some();
        foreign += usize::from(!ours);
        ours || foreign <= MAX_FOREIGN_LINES_LISTED
    });
    Report {
        day,
        channel,
        source,
        not_listed: before - lines.len(),
        lines,
        counts,
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
            &[],
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
            &[],
        );
        let verdicts: Vec<_> = r.lines.iter().map(|l| l.verdict).collect();
        assert_eq!(verdicts, vec![Verdict::Matched, Verdict::OnlyHere]);
        assert_eq!(
            r.lines[1].our_id,
            Some(ours[0].id.clone()),
            "the later one is unmatched"
        );
    }

    #[test]
    fn an_unreadable_statement_row_is_a_listed_and_counted_mismatch() {
        let problem = StatementProblem {
            row: Some(7),
            column: Some("面值".into()),
            kind: crate::statement::ProblemKind::NotAnAmount,
            message: "\"ten\" is not an amount".into(),
            raw: Some("333,ten".into()),
        };
        let r = reconcile(
            day(),
            ChannelKind::Allinpay,
            Source::History,
            &[ours("A", AttemptState::Succeeded, 1000, 1)],
            &[theirs("A", LineState::Redeemed, 1000)],
            std::slice::from_ref(&problem),
        );
        assert_eq!(r.unreadable_count(), 1);
        assert_eq!(
            r.mismatch_count(),
            1,
            "a day whose only problem is an unreadable row is not clean"
        );
        let l = r.mismatches().next().expect("the row is listed");
        assert_eq!(l.verdict, Verdict::Unreadable);
        assert_eq!(l.statement_row, Some(7));
        assert_eq!(
            l.problem.as_ref(),
            Some(&problem),
            "with its reason and text"
        );
    }

    #[test]
    fn lines_of_the_channel_alone_are_counted_exactly_but_listed_only_up_to_the_cap() {
        let theirs: Vec<_> = (0..MAX_FOREIGN_LINES_LISTED + 500)
            .map(|i| theirs(&format!("X{i}"), LineState::Redeemed, 100))
            .collect();
        let ours = [ours("X0", AttemptState::Succeeded, 100, 1)];
        let r = reconcile(
            day(),
            ChannelKind::Allinpay,
            Source::History,
            &ours,
            &theirs,
            &[],
        );
        assert_eq!(
            r.counts[&Verdict::OnlyAtChannel],
            MAX_FOREIGN_LINES_LISTED + 499,
            "every line counted"
        );
        assert_eq!(r.not_listed, 499, "the rest are counted, not listed");
        assert!(
            r.lines.iter().any(|l| l.verdict == Verdict::Matched),
            "a line with our attempt is always listed"
        );
        assert_eq!(r.lines.len(), MAX_FOREIGN_LINES_LISTED + 1);
    }
}
