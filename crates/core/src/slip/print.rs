//! Printing slips without touching a redemption: the printer settings, the
//! queue in the ledger (`print_jobs`), the background worker and the reprint.
//!
//! The rule, stated once: a slip is made after the answer is shown ([`Desk::after_answer`]
//! is called by the front end once the answer is on screen), queued in the ledger, and
//! sent by the worker on a blocking thread. Nothing here runs inside [`Desk::redeem`] but
//! remembering the coupon's name in memory. A job is sent at most once
//! (`Ledger::begin_print` commits `sending` first); a failure is a note on the till,
//! "打印失败，可重打", and printing again is a reprint: a new job, marked 重打 with its time,
//! recorded in the audit trail.

use super::model::{ChannelTotal, Handover, OpenUnknown, Origin, PendingNote, Receipt, Slip};
use super::transport::{self, PrinterSettings, PrinterTarget, Timeouts};
use super::{render, Reprint, TestPage};
use crate::desk::roles::{RoleError, ShiftEnd};
use crate::desk::{Desk, DeskEvent, ManagerUnlock};
use crate::ledger::{
    Actor, Attempt, AttemptId, AttemptState, AuditEntry, LedgerError, NewPrintJob, PrintJob,
    PrintState,
};
use crate::money::Fen;
use serde::Serialize;
use std::collections::BTreeMap;

const SETTINGS_KEY: &str = "printer.settings";
/// What the till says when a slip did not print.
pub const FAILED_NOTE: &str = "打印失败，可重打";
/// Coupon names kept in memory for the receipts of the latest redemptions.
const NAMES_KEPT: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("未设置打印机 / no printer is set up (设置 → 打印机)")]
    NoPrinter,
    #[error("没有这笔核销 / no attempt {0}")]
    NoSuchAttempt(String),
    #[error("没有这张单据 / no print job {0}")]
    NoSuchJob(i64),
    #[error("这笔核销没有凭证：{0} / this attempt has no slip")]
    NothingToPrint(String),
    #[error("单据无法读取 / a print job cannot be read: {0}")]
    BadJob(String),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Role(#[from] RoleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl PrintError {
    pub fn code(&self) -> &'static str {
        match self {
            PrintError::NoPrinter => "no_printer",
            PrintError::NoSuchAttempt(_) => "no_such_attempt",
            PrintError::NoSuchJob(_) => "no_such_print_job",
            PrintError::NothingToPrint(_) => "nothing_to_print",
            PrintError::Invalid { .. } => "setting_invalid",
            PrintError::BadJob(_) => "bad_print_job",
            PrintError::Role(e) => e.code(),
            PrintError::Ledger(e) => e.code(),
        }
    }
}

/// A shift that ended, and its 交班单.
#[derive(Debug, Clone, Serialize)]
pub struct ShiftEndAnswer {
    #[serde(flatten)]
    pub end: ShiftEnd,
    /// The 交班单 queued, if a printer is set up.
    pub slip: Option<PrintJob>,
    /// Why it could not be queued, if it could not.
    pub slip_error: Option<String>,
}

fn validate(s: &PrinterSettings) -> Result<PrinterSettings, PrintError> {
    let invalid = |field, reason: &str| PrintError::Invalid {
        field,
        reason: reason.to_owned(),
    };
    let mut s = s.clone();
    s.store = s.store.trim().to_owned();
    s.till = s.till.trim().to_owned();
    if s.store.chars().count() > 40 || s.till.chars().count() > 20 {
        return Err(invalid(
            "store",
            "门店最多 40 字，收银台最多 20 字 / too long",
        ));
    }
    s.target = match s.target.take() {
        Some(PrinterTarget::Network { address }) => {
            let a = address.trim();
            let a = if a.contains(':') {
                a.to_owned()
            } else {
                format!("{a}:9100")
            };
            let port_ok = a
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
            if !port_ok {
                return Err(invalid(
                    "target",
                    "地址写作 主机:端口，例如 192.168.1.50:9100 / write host:port",
                ));
            }
            Some(PrinterTarget::Network { address: a })
        }
        Some(PrinterTarget::Device { path }) if path.trim().is_empty() => {
            return Err(invalid("target", "设备路径为空 / the device path is empty"))
        }
        Some(PrinterTarget::Device { path }) => Some(PrinterTarget::Device {
            path: path.trim().to_owned(),
        }),
        Some(PrinterTarget::Spooler { name }) if name.trim().is_empty() => {
            return Err(invalid(
                "target",
                "打印机名称为空 / the printer's name is empty",
            ))
        }
        other => other,
    };
    Ok(s)
}

impl Desk {
    /// The printer the desk prints to now.
    pub fn printer_settings(&self) -> PrinterSettings {
        let stored = self
            .ledger
            .setting(SETTINGS_KEY)
            .ok()
            .flatten()
            .and_then(|t| serde_json::from_str(&t).ok());
        stored
            .or_else(|| self.printing.lock().expect("printing").fallback.clone())
            .unwrap_or_default()
    }

    /// Saves 打印机 (an unlocked manager only), checked before anything is written.
    pub fn save_printer_settings(
        &self,
        unlock: &ManagerUnlock,
        s: &PrinterSettings,
    ) -> Result<PrinterSettings, PrintError> {
        let manager = self.manager(unlock)?;
        let s = validate(s)?;
        let json = serde_json::to_string(&s).expect("settings serialise");
        self.ledger.set_setting(
            SETTINGS_KEY,
            Some(&json),
            &Actor::Manager(manager),
            self.clock.now_ms(),
        )?;
        Ok(s)
    }

    /// The settings used while none are saved (sandbox mode: the virtual printer).
    pub fn set_printer_fallback(&self, s: PrinterSettings) {
        self.printing.lock().expect("printing").fallback = Some(s);
    }

    /// Shorter waits for tests of a printer that does not answer.
    pub fn set_print_timeouts(&self, t: Timeouts) {
        self.printing.lock().expect("printing").timeouts = Some(t);
    }

    /// Called by `redeem` with the preview's name: memory only, nothing written.
    pub(crate) fn remember_coupon_name(&self, id: &AttemptId, name: Option<&str>) {
        let Some(name) = name else { return };
        let mut p = self.printing.lock().expect("printing");
        let n = p.next;
        p.next += 1;
        p.names.insert(n, (id.as_str().to_owned(), name.to_owned()));
        while p.names.len() > NAMES_KEPT {
            p.names.pop_first();
        }
    }

    fn coupon_name(&self, id: &str) -> String {
        let p = self.printing.lock().expect("printing");
        p.names
            .values()
            .rev()
            .find(|(a, _)| a == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    }

    fn origin(&self, s: &PrinterSettings) -> Origin {
        Origin {
            store: s.store.clone(),
            till: s.till.clone(),
            utc_offset_minutes: self.ledger.business_day_rule().offset_minutes,
        }
    }

    /// After the answer is on screen: a success's receipt when auto-print is on. An unknown
    /// gets no receipt (its 待确认 note is the cashier's choice, [`Desk::print_pending_note`]).
    pub fn after_answer(&self, id: &AttemptId) -> Result<Option<PrintJob>, PrintError> {
        let s = self.printer_settings();
        if !s.auto_print || s.target.is_none() {
            return Ok(None);
        }
        let attempt = self.attempt_for_slip(id.as_str())?;
        if attempt.state != AttemptState::Succeeded
            || !self.ledger.prints_for_attempt(id.as_str())?.is_empty()
        {
            return Ok(None);
        }
        let actor = Actor::Cashier(attempt.cashier.clone());
        self.queue(self.receipt_of(&attempt)?, &actor, None)
            .map(Some)
    }

    fn attempt_for_slip(&self, id: &str) -> Result<Attempt, PrintError> {
        let parsed = AttemptId::parse(id).map_err(|_| PrintError::NoSuchAttempt(id.to_owned()))?;
        self.ledger
            .attempt(&parsed)?
            .ok_or_else(|| PrintError::NoSuchAttempt(id.to_owned()))
    }

    fn receipt_of(&self, a: &Attempt) -> Result<Slip, PrintError> {
        let total = a
            .settled_face_value
            .or(a.face_value.map(|f| Fen(f.0 * i64::from(a.count))))
            .unwrap_or(Fen::ZERO);
        Ok(Slip::Receipt(Receipt {
            cashier: a.cashier.clone(),
            channel: a.channel,
            platform: a.platform,
            coupon_name: self.coupon_name(a.id.as_str()),
            code: a.code.clone(),
            count: a.count,
            unit: a.face_value,
            total,
            time_ms: a.state_ms,
            attempt_id: a.id.as_str().to_owned(),
            chain_head: self.ledger.chain_anchor()?,
        }))
    }

    /// Prints an attempt's 核销凭证 (a success) or 待确认 note (an unknown), from the recent
    /// strip or the manager's log. If one was printed or tried before, this is a reprint:
    /// marked 重打 with the time, and audited.
    pub fn print_for_attempt(&self, id: &str, actor: Actor) -> Result<PrintJob, PrintError> {
        let attempt = self.attempt_for_slip(id)?;
        let earlier = self.ledger.prints_for_attempt(id)?;
        let kind = match attempt.state {
            AttemptState::Succeeded => "receipt",
            AttemptState::Unknown | AttemptState::Pending => "pending",
            other => {
                return Err(PrintError::NothingToPrint(format!(
                    "{} / {}",
                    other.as_str(),
                    id
                )))
            }
        };
        // The receipt a reprint repeats is the one printed, with its chain head and name.
        if let Some(first) = earlier.iter().find(|j| j.kind == kind) {
            return self.reprint_as(first.id, actor);
        }
        let slip = if kind == "receipt" {
            self.receipt_of(&attempt)?
        } else {
            Slip::Pending(PendingNote {
                cashier: attempt.cashier.clone(),
                channel: attempt.channel,
                platform: attempt.platform,
                coupon_name: self.coupon_name(id),
                code: attempt.code.clone(),
                count: attempt.count,
                time_ms: attempt.created_ms,
                attempt_id: id.to_owned(),
            })
        };
        self.queue(slip, &actor, None)
    }

    /// 待确认 for an amber answer, when the cashier asks for it.
    pub fn print_pending_note(&self, id: &str, actor: Actor) -> Result<PrintJob, PrintError> {
        self.print_for_attempt(id, actor)
    }

    /// The manager prints a job's slip again (a 交班单 from the log).
    pub fn reprint(&self, unlock: &ManagerUnlock, job_id: i64) -> Result<PrintJob, PrintError> {
        self.reprint_as(job_id, Actor::Manager(self.manager(unlock)?))
    }

    /// Prints a job's slip again, marked 重打 with the time of the reprint; audited.
    fn reprint_as(&self, job_id: i64, actor: Actor) -> Result<PrintJob, PrintError> {
        let original = self
            .ledger
            .print_job(job_id)?
            .ok_or(PrintError::NoSuchJob(job_id))?;
        let first = original.reprint_of.unwrap_or(original.id);
        let slip: Slip = serde_json::from_str(&original.slip)
            .map_err(|e| PrintError::BadJob(format!("print job {job_id}: {e}")))?;
        let now = self.clock.now_ms();
        self.ledger.record_audit(&AuditEntry {
            time_ms: now,
            actor: actor.clone(),
            action: "slip_reprint".into(),
            subject: Some(
                original
                    .attempt_id
                    .clone()
                    .unwrap_or(format!("print:{first}")),
            ),
            detail: Some(format!("{} #{first}", original.kind)),
        })?;
        self.queue(slip, &actor, Some((first, now)))
    }

    /// 打印测试页.
    pub fn print_test_page(&self, unlock: &ManagerUnlock) -> Result<PrintJob, PrintError> {
        let actor = Actor::Manager(self.manager(unlock)?);
        let slip = Slip::TestPage(TestPage {
            time_ms: self.clock.now_ms(),
        });
        self.queue(slip, &actor, None)
    }

    /// 交班单 for a shift that just ended: its successes per channel, the unknowns still
    /// open, the undos and the chain head the shift end recorded.
    pub fn print_handover(&self, end: &ShiftEnd) -> Result<PrintJob, PrintError> {
        let end_ms = self.clock.now_ms();
        let start_ms = self.shift_start_ms(&end.cashier, end_ms)?;
        let attempts = self
            .ledger
            .cashier_attempts_between(&end.cashier, start_ms, end_ms)?;
        let mut per: BTreeMap<_, ChannelTotal> = BTreeMap::new();
        let mut unknowns = Vec::new();
        let (mut undo_count, mut undo_amount) = (0, Fen::ZERO);
        for a in &attempts {
            let amount = a
                .settled_face_value
                .or(a.face_value.map(|f| Fen(f.0 * i64::from(a.count))))
                .unwrap_or(Fen::ZERO);
            match a.state {
                AttemptState::Succeeded => {
                    let t = per.entry(a.channel).or_insert(ChannelTotal {
                        channel: a.channel,
                        count: 0,
                        amount: Fen::ZERO,
                    });
                    t.count += 1;
                    t.amount = Fen(t.amount.0 + amount.0);
                }
                AttemptState::Unknown | AttemptState::Pending => unknowns.push(OpenUnknown {
                    channel: a.channel,
                    code: a.code.clone(),
                    time_ms: a.created_ms,
                }),
                AttemptState::Cancelled => {
                    undo_count += 1;
                    undo_amount = Fen(undo_amount.0 + amount.0);
                }
                _ => {}
            }
        }
        let slip = Slip::Handover(Handover {
            cashier: end.cashier.clone(),
            start_ms,
            end_ms,
            per_channel: per.into_values().collect(),
            unknowns,
            undo_count,
            undo_amount,
            chain_head: end.chain_head.clone(),
        });
        self.queue(slip, &Actor::Cashier(end.cashier.clone()), None)
    }

    /// 交班 with its 交班单: the shift ends whatever the printer does; the slip is queued
    /// if a printer is set up, and a refusal to queue is told, not raised.
    pub fn end_shift_with_slip(&self) -> Result<Option<ShiftEndAnswer>, RoleError> {
        let Some(end) = self.end_shift()? else {
            return Ok(None);
        };
        let (slip, slip_error) = match self.print_handover(&end) {
            Ok(job) => (Some(job), None),
            Err(PrintError::NoPrinter) => (None, None),
            Err(e) => {
                tracing::warn!("the handover slip was not queued: {e}");
                (None, Some(e.to_string()))
            }
        };
        Ok(Some(ShiftEndAnswer {
            end,
            slip,
            slip_error,
        }))
    }

    /// When the cashier's shift began: the latest `shift_start` in the audit of the last
    /// two days (the start of that window where there is none).
    fn shift_start_ms(&self, cashier: &str, end_ms: i64) -> Result<i64, PrintError> {
        let from = end_ms - 48 * 3_600_000;
        let started = self
            .ledger
            .audit_between(from, end_ms)?
            .into_iter()
            .filter(|r| {
                r.entry.action == "shift_start"
                    && r.entry.actor == Actor::Cashier(cashier.to_owned())
            })
            .map(|r| r.entry.time_ms)
            .max();
        Ok(started.unwrap_or(from))
    }

    /// The latest slips, newest first (the manager's 单据 list).
    pub fn recent_prints(&self, limit: usize) -> Result<Vec<PrintJob>, PrintError> {
        Ok(self.ledger.recent_prints(limit)?)
    }

    /// The bytes a job sends, as the printer is set up now.
    pub fn job_bytes(&self, job: &PrintJob) -> Result<Vec<u8>, PrintError> {
        let s = self.printer_settings();
        let slip: Slip = serde_json::from_str(&job.slip)
            .map_err(|e| PrintError::BadJob(format!("print job {}: {e}", job.id)))?;
        let reprint = job.reprint_ms.map(|at_ms| Reprint { at_ms });
        Ok(render(&slip, &self.origin(&s), s.paper, reprint))
    }

    fn queue(
        &self,
        slip: Slip,
        actor: &Actor,
        reprint: Option<(i64, i64)>,
    ) -> Result<PrintJob, PrintError> {
        if self.printer_settings().target.is_none() {
            return Err(PrintError::NoPrinter);
        }
        let job = self.ledger.enqueue_print(&NewPrintJob {
            created_ms: self.clock.now_ms(),
            kind: slip.kind().to_owned(),
            attempt_id: slip.attempt_id().map(str::to_owned),
            slip: serde_json::to_string(&slip).expect("a slip serialises"),
            actor: actor.encode(),
            reprint_of: reprint.map(|r| r.0),
            reprint_ms: reprint.map(|r| r.1),
        })?;
        self.announce_print(&job);
        self.print_wake.notify_one();
        Ok(job)
    }

    fn announce_print(&self, job: &PrintJob) {
        let _ = self.events.send(DeskEvent::Print {
            job: job.clone(),
            note: (job.state == PrintState::Failed).then(|| FAILED_NOTE.to_owned()),
        });
    }

    /// Jobs a stop left half-sent are failed, to be reprinted by a person (run once at
    /// the worker's start).
    pub fn fail_interrupted_prints(&self) -> Result<Vec<i64>, LedgerError> {
        self.ledger.fail_interrupted_prints(
            self.clock.now_ms(),
            "打印被中断，可能未打完，可重打 / printing was interrupted",
        )
    }

    /// Sends every queued job once. A job is taken (`sending` committed) before its first
    /// byte leaves; whatever happens then, it is never sent again by this worker.
    pub async fn print_due(&self) -> Result<usize, LedgerError> {
        let mut printed = 0;
        for job in self.ledger.queued_prints()? {
            let settings = self.printer_settings();
            let timeouts = self
                .printing
                .lock()
                .expect("printing")
                .timeouts
                .unwrap_or_default();
            let bytes = self.job_bytes(&job);
            if !self.ledger.begin_print(job.id, self.clock.now_ms())? {
                continue;
            }
            let result = match (settings.target, bytes) {
                (None, _) => Err("未设置打印机 / no printer is set up".to_owned()),
                (_, Err(e)) => Err(e.to_string()),
                (Some(target), Ok(bytes)) => tokio::task::spawn_blocking(move || {
                    transport::send(&target, &bytes, timeouts).map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("打印线程失败 / the print thread failed: {e}"))),
            };
            let done = match &result {
                Ok(()) => {
                    printed += 1;
                    self.ledger
                        .finish_print(job.id, true, self.clock.now_ms(), None)?
                }
                Err(why) => {
                    tracing::warn!(job = job.id, "a slip did not print: {why}");
                    let detail = format!("{FAILED_NOTE}：{why}");
                    self.ledger
                        .finish_print(job.id, false, self.clock.now_ms(), Some(&detail))?
                }
            };
            self.announce_print(&done);
        }
        Ok(printed)
    }
}

#[cfg(test)]
#[path = "print_tests.rs"]
mod tests;
