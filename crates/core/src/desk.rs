//! The redemption desk: the ledger, the configured channels, the clock and the change feed
//! that the use cases (`redeem`, `resolver`, `outbox`) share. One per running app or CLI
//! command; the app wraps it in an `Arc`.
//!
//! Invariant: a `Desk` is handed out only after `open` has turned every `pending` attempt
//! left by a crash into `unknown`, so no scan is accepted before the resolver knows about
//! them (product.md "Resolving the unknown").

use crate::channel::{Channel, ChannelKind};
use crate::clock::{Clock, UnixMs};
use crate::ledger::{Attempt, Ledger, LedgerError, Notification};
use crate::scan::ScanRules;
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

type CheckpointHook = Box<dyn Fn(Checkpoint) + Send + Sync>;

pub struct Desk {
    pub(crate) ledger: Arc<Ledger>,
    pub(crate) channels: BTreeMap<ChannelKind, Channel>,
    pub(crate) clock: Arc<dyn Clock>,
    /// What the scanner adds around a code; a manager changes it in 设置 (desk_settings.rs).
    pub(crate) scan_rules: Mutex<ScanRules>,
    pub(crate) prepared: Mutex<crate::redeem::PreparedCache>,
    /// When each (channel, code) was last sent for redemption: the same-code debounce.
    pub(crate) recent_sends: Mutex<HashMap<(ChannelKind, String), UnixMs>>,
    pub(crate) events: broadcast::Sender<DeskEvent>,
    /// Wakes the outbox when an order is queued.
    pub(crate) outbox_wake: Notify,
    /// Wakes the print worker when a slip is queued (slip/print.rs).
    pub(crate) print_wake: Notify,
    pub(crate) printing: Mutex<crate::slip::print::PrintingState>,
    checkpoint_hook: OnceLock<CheckpointHook>,
    /// The unlocked manager, if any (roles.rs).
    pub(crate) manager_session: Mutex<Option<crate::roles::ManagerSession>>,
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
    pub(crate) lockouts: Mutex<crate::roles::Lockouts>,
    /// The last clock comparison with each channel (clock_skew.rs).
    pub(crate) clock_skews: Mutex<BTreeMap<ChannelKind, crate::clock_skew::ClockSkew>>,
    /// Since when each channel known unreachable has not answered (reachability.rs).
    pub(crate) reach: Mutex<BTreeMap<ChannelKind, UnixMs>>,
    /// Chain mode: HQ's view of the store's other tills (cross_till.rs).
    pub(crate) other_tills: OnceLock<Arc<dyn crate::cross_till::OtherTills>>,
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
        let scan_rules = crate::desk_settings::stored_scan_rules(&ledger)?.unwrap_or(scan_rules);
        let (events, _) = broadcast::channel(256);
        Ok(Desk {
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
