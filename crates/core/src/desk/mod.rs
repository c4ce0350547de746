//! The redemption desk: the ledger, the configured channels, the clock, the change feed and
//! every piece of state the use cases share. One per running app or CLI command; the app
//! wraps it in an `Arc`. Each use case is a child module that adds methods to `Desk` and
//! imports only downward (this file, the ledger, the channels): `redeem`, `resolver`,
//! `outbox`, `undo`, `roles`, `settings`, `inbox`, `statements`, `reconcile`.
//!
//! Invariant: a `Desk` is handed out only after `open` has turned every `pending` attempt
//! left by a crash into `unknown`, so no scan is accepted before the resolver knows about
//! them (product.md "Resolving the unknown").

pub mod clock_skew;
pub mod cross_till;
pub mod inbox;
pub mod outbox;
pub mod reachability;
pub mod reconcile;
pub mod redeem;
pub mod resolver;
pub mod roles;
pub mod settings;
pub mod statements;
pub mod undo;

#[cfg(test)]
mod manager_rule_tests;

use crate::channel::{Channel, ChannelKind, Preview};
use crate::clock::{Clock, MonoMs, UnixMs};
use crate::ledger::{Attempt, Ledger, LedgerError, Notification};
use crate::scan::ScanRules;
use crate::slip::transport::{PrinterSettings, Timeouts};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{broadcast, Notify};

/// What changed, for whoever shows it (the app forwards these to the UI as Tauri events).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeskEvent {
    Attempt {
        attempt: Attempt,
    },
    Notification {
        notification: Notification,
    },
    /// A slip was queued, printed or failed (issue 22); `note` is what the till shows for
    /// a failure ("打印失败，可重打").
    Print {
        job: crate::ledger::PrintJob,
        note: Option<String>,
    },
    /// The ledger failed its integrity check: the till stops redeeming (issue 18).
    Halted {
        detail: String,
    },
    /// A channel stopped answering (`unreachable_since_ms`), or answered again (`None`).
    Reachability {
        channel: ChannelKind,
        unreachable_since_ms: Option<UnixMs>,
    },
}

/// The moments of a redemption at which a crash leaves a different trace. A hook installed
/// with [`Desk::set_checkpoint_hook`] runs at each; the crash test pauses the process there
/// and kills it. Production installs none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Checks passed, nothing written yet.
    BeforeWriteAhead,
    /// The `pending` attempt is committed; nothing has been sent.
    AfterWriteAhead,
    /// The channel answered; the answer is not recorded yet.
    AfterAnswer,
}

impl Checkpoint {
    pub const ALL: [Checkpoint; 3] = [
        Checkpoint::BeforeWriteAhead,
        Checkpoint::AfterWriteAhead,
        Checkpoint::AfterAnswer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Checkpoint::BeforeWriteAhead => "before_write_ahead",
            Checkpoint::AfterWriteAhead => "after_write_ahead",
            Checkpoint::AfterAnswer => "after_answer",
        }
    }

    pub fn parse(text: &str) -> Option<Checkpoint> {
        Checkpoint::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// A preview older than this is stale (the coupon may have changed): scan again.
pub const PREPARED_TTL_MS: i64 = 10 * 60_000;

/// A preview waiting for the cashier's confirmation.
#[derive(Debug, Clone)]
pub(crate) struct PendingPreview {
    pub channel: ChannelKind,
    pub preview: Preview,
    pub max_count: u32,
    pub exchange: crate::ledger::Exchange,
    pub created_ms: UnixMs,
}

/// Previews by token. Small: one per look-up, dropped on use or after the TTL.
#[derive(Debug, Default)]
pub(crate) struct PreparedCache(HashMap<String, PendingPreview>);

impl PreparedCache {
    pub(crate) fn insert(&mut self, entry: PendingPreview, now_ms: UnixMs) -> String {
        self.0
            .retain(|_, e| now_ms - e.created_ms < PREPARED_TTL_MS);
        let token = crate::channel::RedemptionId::new_v4().as_str().to_owned();
        self.0.insert(token.clone(), entry);
        token
    }

    pub(crate) fn peek(&self, token: &str, now_ms: UnixMs) -> Option<PendingPreview> {
        self.0
            .get(token)
            .filter(|e| now_ms - e.created_ms < PREPARED_TTL_MS)
            .cloned()
    }

    pub(crate) fn remove(&mut self, token: &str) {
        self.0.remove(token);
    }
}

/// Who unlocked the manager screens, and when they last did something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ManagerSession {
    pub name: String,
    pub last_action: MonoMs,
    /// The serial its [`ManagerUnlock`] carries.
    pub serial: u64,
}

/// Proof that a manager unlocked this desk with the PIN: only [`Desk::unlock_manager`]
/// makes one (its fields are private to the desk). Every manager-only method takes it and
/// holds it against the desk's open session ([`Desk::manager`], the one manager rule): a
/// token of another desk, or of a session since locked or idle too long, is refused with
/// `manager_locked`. Carries no name and no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagerUnlock {
    desk: u64,
    session: u64,
}

/// Desk ids and session serials, unique within the process.
static SERIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_serial() -> u64 {
    SERIALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// This run's lock-out ends on the monotonic clock, by the slot's `locked_until_key`.
pub(crate) type Lockouts = HashMap<String, MonoMs>;

const SCAN_PREFIX_KEY: &str = "scan.prefix";
const SCAN_SUFFIX_KEY: &str = "scan.suffix";

/// The scanner rules a manager saved, if any.
pub(crate) fn stored_scan_rules(ledger: &Ledger) -> Result<Option<ScanRules>, LedgerError> {
    let prefix = ledger.setting(SCAN_PREFIX_KEY)?;
    let suffix = ledger.setting(SCAN_SUFFIX_KEY)?;
    if prefix.is_none() && suffix.is_none() {
        return Ok(None);
    }
    Ok(Some(ScanRules {
        prefix: prefix.unwrap_or_default(),
        suffix: suffix.unwrap_or_default(),
    }))
}

/// The in-memory part of printing that the desk holds.
#[derive(Debug, Default)]
pub(crate) struct PrintingState {
    /// Settings that apply while none are saved: the sandbox's virtual printer.
    pub fallback: Option<PrinterSettings>,
    /// The coupon names of the latest redemptions, by attempt id (the ledger does not
    /// keep them; a receipt prints them).
    pub names: BTreeMap<u64, (String, String)>,
    pub next: u64,
    pub timeouts: Option<Timeouts>,
}

type CheckpointHook = Box<dyn Fn(Checkpoint) + Send + Sync>;

pub struct Desk {
    /// Which desk a [`ManagerUnlock`] was handed out by.
    id: u64,
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) channels: BTreeMap<ChannelKind, Channel>,
    pub(crate) clock: Arc<dyn Clock>,
    /// What the scanner adds around a code; a manager changes it in 设置 (settings.rs).
    pub(crate) scan_rules: Mutex<ScanRules>,
    pub(crate) prepared: Mutex<PreparedCache>,
    /// When each (channel, code) was last sent for redemption: the same-code debounce.
    pub(crate) recent_sends: Mutex<HashMap<(ChannelKind, String), UnixMs>>,
    pub(crate) events: broadcast::Sender<DeskEvent>,
    /// Wakes the outbox when an order is queued.
    pub(crate) outbox_wake: Notify,
    /// Wakes the print worker when a slip is queued (slip/print.rs).
    pub(crate) print_wake: Notify,
    pub(crate) printing: Mutex<PrintingState>,
    checkpoint_hook: OnceLock<CheckpointHook>,
    /// The unlocked manager, if any (roles.rs).
    pub(crate) manager_session: Mutex<Option<ManagerSession>>,
    /// The cashier whose shift is open, if any (roles.rs).
    pub(crate) shift: Mutex<Option<String>>,
    /// Answers the ledger refused to take (a full disk, a locked file), written at the next
    /// background round (redeem.rs); lost only with the process, and then the attempt is
    /// `pending`, which the start-up turns into `unknown` for the resolver.
    pub(crate) unrecorded: Mutex<Vec<(crate::ledger::AttemptId, crate::ledger::Transition)>>,
    /// Why the till stopped redeeming, once the ledger failed its integrity check: going on
    /// would write redemptions into a damaged file.
    halted: Mutex<Option<String>>,
    /// PIN lock-outs of this run, on the monotonic clock (roles.rs).
    pub(crate) lockouts: Mutex<Lockouts>,
    /// The last clock comparison with each channel (clock_skew.rs).
    pub(crate) clock_skews: Mutex<BTreeMap<ChannelKind, crate::clock_skew::ClockSkew>>,
    /// Since when each channel known unreachable has not answered (reachability.rs).
    pub(crate) reach: Mutex<BTreeMap<ChannelKind, UnixMs>>,
    /// Chain mode: HQ's view of the store's other tills (cross_till.rs).
    pub(crate) other_tills: OnceLock<Arc<dyn cross_till::OtherTills>>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("ledger", &self.ledger)
            .field("channels", &self.channels.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Desk {
    /// Takes the opened ledger and the configured channels, and before returning turns every
    /// `pending` attempt into `unknown` for the resolver.
    pub fn open(
        ledger: Arc<Ledger>,
        channels: Vec<Channel>,
        clock: Arc<dyn Clock>,
        scan_rules: ScanRules,
    ) -> Result<Desk, LedgerError> {
        let left_by_crash = ledger.mark_pending_as_unknown(clock.now_ms())?;
        if !left_by_crash.is_empty() {
            tracing::warn!(
                count = left_by_crash.len(),
                "attempts left pending by a stop are now unknown"
            );
        }
        // Rules a manager saved in the ledger win over the caller's defaults.
        let scan_rules = stored_scan_rules(&ledger)?.unwrap_or(scan_rules);
        let (events, _) = broadcast::channel(256);
        Ok(Desk {
            id: next_serial(),
            ledger,
            channels: channels.into_iter().map(|c| (c.kind(), c)).collect(),
            clock,
            scan_rules: Mutex::new(scan_rules),
            prepared: Mutex::new(Default::default()),
            recent_sends: Mutex::new(HashMap::new()),
            events,
            outbox_wake: Notify::new(),
            print_wake: Notify::new(),
            printing: Mutex::new(Default::default()),
            checkpoint_hook: OnceLock::new(),
            manager_session: Mutex::new(None),
            shift: Mutex::new(None),
            unrecorded: Mutex::new(Vec::new()),
            halted: Mutex::new(None),
            lockouts: Mutex::new(Default::default()),
            clock_skews: Mutex::new(BTreeMap::new()),
            reach: Mutex::new(BTreeMap::new()),
            other_tills: OnceLock::new(),
        })
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The channels that are configured, in chooser order.
    pub fn channel_kinds(&self) -> Vec<ChannelKind> {
        self.channels.keys().copied().collect()
    }

    pub fn channel(&self, kind: ChannelKind) -> Option<&Channel> {
        self.channels.get(&kind)
    }

    /// A feed of every change; a slow subscriber misses old events, never blocks the desk.
    pub fn subscribe(&self) -> broadcast::Receiver<DeskEvent> {
        self.events.subscribe()
    }

    /// Installs the hook run at each [`Checkpoint`]; only the first install counts.
    pub fn set_checkpoint_hook(&self, hook: impl Fn(Checkpoint) + Send + Sync + 'static) -> bool {
        self.checkpoint_hook.set(Box::new(hook)).is_ok()
    }

    pub(crate) fn checkpoint(&self, at: Checkpoint) {
        if let Some(hook) = self.checkpoint_hook.get() {
            hook(at);
        }
    }

    /// Checks the whole ledger file (SQLite's `quick_check`, slow on a large file: run it
    /// off the scan path). A damaged file stops the till: every later prepare and redeem
    /// is refused with `ledger_damaged`, and the UI is told at once.
    pub fn check_integrity(&self) -> Result<(), crate::ledger::LedgerError> {
        let checked = self.ledger.quick_check();
        if let Err(e) = &checked {
            tracing::error!(code = e.code(), "ledger integrity check failed: {e}");
            let detail = e.to_string();
            *self.halted.lock().expect("halted") = Some(detail.clone());
            let _ = self.events.send(DeskEvent::Halted { detail });
        }
        checked
    }

    /// Why the till stopped redeeming, if it did.
    pub fn halted(&self) -> Option<String> {
        self.halted.lock().expect("halted").clone()
    }

    pub(crate) fn announce_attempt(&self, attempt: &Attempt) {
        let _ = self.events.send(DeskEvent::Attempt {
            attempt: attempt.clone(),
        });
    }

    pub(crate) fn announce_notification(&self, notification: &Notification) {
        let _ = self.events.send(DeskEvent::Notification {
            notification: notification.clone(),
        });
    }
}

/// How often the background work looks for due checks and deliveries when nothing wakes it.
pub const BACKGROUND_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// The resolver, the outbox and the print worker running in the background; stops when
/// dropped.
#[derive(Debug)]
pub struct Background {
    task: tokio::task::JoinHandle<()>,
    printer: tokio::task::JoinHandle<()>,
}

impl Drop for Background {
    fn drop(&mut self) {
        self.task.abort();
        self.printer.abort();
    }
}

impl Desk {
    /// Starts the resolver and the outbox on the current tokio runtime. Their schedules live
    /// in the ledger, so stopping and starting again continues where they were.
    pub fn start_background(self: &Arc<Self>) -> Background {
        let desk = Arc::clone(self);
        let task = tokio::spawn(async move {
            loop {
                if let Err(e) = desk.resolve_due().await {
                    tracing::error!("resolver round failed: {e}");
                }
                if let Err(e) = desk.deliver_due().await {
                    tracing::error!("outbox round failed: {e}");
                }
                tokio::select! {
                    _ = tokio::time::sleep(BACKGROUND_TICK) => {}
                    _ = desk.outbox_wake.notified() => {}
                }
            }
        });
        // Printing on its own task: a slow printer never holds up the resolver or the
        // outbox, nor they a slip.
        let desk = Arc::clone(self);
        let printer = tokio::spawn(async move {
            if let Err(e) = desk.fail_interrupted_prints() {
                tracing::error!("interrupted slips could not be marked: {e}");
            }
            loop {
                if let Err(e) = desk.print_due().await {
                    tracing::error!("print round failed: {e}");
                }
                tokio::select! {
                    _ = tokio::time::sleep(BACKGROUND_TICK) => {}
                    _ = desk.print_wake.notified() => {}
                }
            }
        });
        Background { task, printer }
    }
}
