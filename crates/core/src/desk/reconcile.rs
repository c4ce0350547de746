//! The desk's part of reconciliation (`crate::reconcile` compares; this fetches and keeps):
//! a business day of one channel against its history call or a statement file, the report
//! kept in the ledger, and the manager's sign-off with the chain head.

use super::{Desk, ManagerUnlock};
use crate::business_day::{BusinessDay, BusinessDayRule};
use crate::channel::{self, BusinessZone, ChannelError, ChannelKind, HistoryEntry};
use crate::ledger::{Actor, DayFilter, LedgerError, NewReconciliation};
use crate::reconcile::{
    read_statement, reconcile, ChannelLine, LineState, Report, Source, StatementError,
    StatementMapping, StatementProblem,
};
use serde::Serialize;

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

/// A statement to reconcile against instead of the channel's history, read streaming.
pub struct Statement<'a> {
    pub file: String,
    pub source: Box<dyn std::io::Read + Send + 'a>,
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
    #[error(transparent)]
    StatementFile(#[from] StatementError),
    #[error("the channel's history could not be read: {0}")]
    History(#[from] ChannelError),
    #[error(transparent)]
    TooLong(#[from] crate::limits::TooLong),
    #[error(transparent)]
    Role(#[from] crate::desk::roles::RoleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl ReconcileError {
    pub fn code(&self) -> &'static str {
        match self {
            ReconcileError::StatementNeeded(_) => "statement_needed",
            ReconcileError::NotConfigured(_) => "channel_not_configured",
            ReconcileError::Statement(_) => "statement_invalid",
            ReconcileError::StatementFile(e) => e.code(),
            ReconcileError::History(_) => "history_failed",
            ReconcileError::TooLong(e) => e.code(),
            ReconcileError::Role(e) => e.code(),
            ReconcileError::Ledger(e) => e.code(),
        }
    }
}

/// A reconciliation, kept in the ledger under `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub id: i64,
    pub report: Report,
}

/// What a manager signed off: the mismatches the day still had, unreadable rows among them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedOff {
    pub reconciliation_id: i64,
    pub mismatches: u32,
    pub unreadable_rows: usize,
    /// The chain head kept with the sign-off.
    pub chain_head: crate::ledger::ChainAnchor,
}

impl Desk {
    /// Reconciles one business day of one channel — against `statement` when given, else the
    /// channel's history — and keeps the report in the ledger. A statement whose rows all
    /// fail, or whose mapping is wrong, is an error with every problem listed; some broken rows
    /// are `unreadable` lines of the report, each a mismatch.
    pub async fn reconcile_day(
        &self,
        day: BusinessDay,
        kind: ChannelKind,
        statement: Option<Statement<'_>>,
        unlock: &ManagerUnlock,
    ) -> Result<Reconciliation, ReconcileError> {
        let manager = self.manager(unlock)?;
        let actor = &Actor::Manager(
            crate::limits::Field::ManagerName
                .check(&manager)?
                .to_owned(),
        );
        let (source, theirs, unreadable) = match statement {
            Some(s) => {
                crate::desk::statements::check_names(&s.mapping)?;
                let read = read_statement(s.source, &s.mapping)?;
                if read.lines.is_empty() && !read.problems.is_empty() {
                    return Err(ReconcileError::Statement(read.problems));
                }
                (
                    Source::Statement { file: s.file },
                    read.lines,
                    read.problems,
                )
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
        let report = reconcile(day, kind, source, &ours, &theirs, &unreadable);
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
            mismatches: u32::try_from(report.mismatch_count()).unwrap_or(u32::MAX),
            report: serde_json::to_string(&report).unwrap_or_default(),
        })?;
        Ok(Reconciliation { id, report })
    }

    /// The manager signs a day's reconciliation off (kept with the ledger's chain head), and
    /// is told what was signed: the mismatches, unreadable statement rows among them, and
    /// the head, so the manager sees it and can write it down.
    pub fn sign_off_day(
        &self,
        reconciliation_id: i64,
        unlock: &ManagerUnlock,
        note: Option<&str>,
    ) -> Result<SignedOff, ReconcileError> {
        let manager = self.manager(unlock)?;
        let manager = crate::limits::Field::ManagerName.check(&manager)?;
        let note = note
            .map(|n| crate::limits::Field::Note.check(n))
            .transpose()?;
        let chain_head =
            self.ledger
                .sign_off(reconciliation_id, manager, note, self.clock.now_ms())?;
        let stored = self.ledger.reconciliation(reconciliation_id)?;
        // A report kept by an older version may not parse; its mismatches column still counts.
        let unreadable_rows = serde_json::from_str::<Report>(&stored.run.report)
            .map(|r| r.unreadable_count())
            .unwrap_or(0);
        Ok(SignedOff {
            reconciliation_id,
            mismatches: stored.run.mismatches,
            unreadable_rows,
            chain_head,
        })
    }
}
