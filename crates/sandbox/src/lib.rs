//! RedeemDesk's sandbox: an emulator of every coupon channel, same wire format
//! (channels.md §1–6), served from ONE axum server on 127.0.0.1 with a path prefix per
//! channel (`/shoubei`, `/zvcms`, `/liantuofu`, `/allinpay`, `/yhtd` — `ChannelKind::as_str`).
//! It checks signatures with the demo data's keys, keeps coupon state, replays answers for a
//! repeated idempotency key, misbehaves on demand (delay, reset, 500, garbage, wrong
//! signature, commit-then-drop) and exposes the ground truth for tests.
//!
//! The app embeds it in sandbox mode: `Sandbox::start(options).await`, then
//! `RunningSandbox::demo_config()` is the core's channel `Config` pointing every channel at
//! it with the demo data's secrets (the allinpay key pairs are each install's own,
//! `demo_keys`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), redeemdesk_sandbox::SandboxError> {
//! use redeemdesk_sandbox::{Sandbox, SandboxOptions};
//! let sandbox = Sandbox::start(SandboxOptions::default()).await?;
//! println!("{}", sandbox.base_url(redeemdesk_core::channel::ChannelKind::Shoubei));
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod boot;
pub mod channels;
pub mod control;
pub mod demo;
pub mod demo_config;
pub mod demo_keys;
pub mod fault;
pub mod persist;
pub mod printer;
pub mod reading;
pub mod server;
pub mod store;
pub mod time;

pub use demo::{DemoCoupon, DemoData, DemoError, Platform};
pub use fault::{Fault, FaultRule, Operation};
pub use reading::Readings;
pub use store::{Consumption, CouponState, GroundTruth, Notification, Refusal, Snapshot};

use channels::Shared;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::clock::{Clock, SystemClock};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("the sandbox could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error(transparent)]
    Keys(#[from] demo_keys::KeyError),
}

/// How to start the sandbox.
#[derive(Clone)]
pub struct SandboxOptions {
    /// 0 picks a free port (tests, the app's embedded sandbox).
    pub port: u16,
    /// The time coupons expire by and records are stamped with.
    pub clock: Arc<dyn Clock>,
    /// How long a `Delay` fault holds its answer; longer than the client's timeout.
    pub fault_delay: Duration,
    /// The demo data; `None` loads the embedded file.
    pub demo: Option<DemoData>,
    /// How the emulators read the open points of channels.md (`reading`); the default
    /// takes the demo data's `[readings]` (itself the default unless the file says more).
    pub readings: Readings,
    /// Where to keep the sandbox's state across restarts (the app's data directory in
    /// sandbox mode); `None` keeps it in memory only (tests, the CLI).
    pub state_file: Option<std::path::PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            port: 0,
            clock: Arc::new(SystemClock),
            fault_delay: Duration::from_secs(30),
            demo: None,
            readings: Readings::default(),
            state_file: None,
        }
    }
}

impl SandboxOptions {
    /// A sandbox standing in for a real channel, for tests of going live (channel setup,
    /// then a live start against it): the embedded demo data with fresh shared secrets,
    /// since a live configuration refuses the published ones. Its 通联 key pairs are this
    /// process's in-memory ones, in no data directory's `sandbox-keys/`.
    pub fn standing_in_for_live() -> Result<Self, DemoError> {
        Ok(SandboxOptions {
            demo: Some(DemoData::embedded()?.with_fresh_secrets()),
            ..Default::default()
        })
    }
}

impl std::fmt::Debug for SandboxOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxOptions")
            .field("port", &self.port)
            .field("fault_delay", &self.fault_delay)
            .field("readings", &self.readings)
            .field("state_file", &self.state_file)
            .finish_non_exhaustive()
    }
}

/// The entry point: `Sandbox::start(options).await`.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Binds 127.0.0.1 (never another interface) and serves on the current tokio runtime.
    /// Cheap (a few milliseconds) when given its demo data: otherwise it parses the
    /// embedded file with this process's key pairs (made on the first call, slow: tests and
    /// the standalone sandbox only). Reads the state file if one is configured.
    pub async fn start(options: SandboxOptions) -> Result<RunningSandbox, SandboxError> {
        let demo = match options.demo {
            Some(demo) => demo,
            None => DemoData::embedded()?,
        };
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))
            .await
            .map_err(|source| SandboxError::Bind {
                port: options.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            port: options.port,
            source,
        })?;
        let readings = if options.readings == Readings::default() {
            demo.readings
        } else {
            options.readings
        };
        let mut store = store::Store::new(&demo);
        if let Some(path) = &options.state_file {
            if let Some(snapshot) = persist::load(path).await {
                store.restore(snapshot);
            }
        }
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            faults: fault::FaultBook::default(),
            demo,
            clock: options.clock,
            fault_delay: options.fault_delay,
            readings: std::sync::RwLock::new(readings),
            zvcms_nonces: Mutex::new(Default::default()),
            changed: tokio::sync::Notify::new(),
        });
        let state = options.state_file.map(|path| {
            let written = Arc::new(Mutex::new(shared.store().version()));
            let task = tokio::spawn(persist::writer(
                shared.clone(),
                path.clone(),
                written.clone(),
            ));
            StateFile {
                path,
                written,
                task,
            }
        });
        let router = router(shared.clone());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, router, stop_rx));
        tracing::info!(%addr, "sandbox listening");
        Ok(RunningSandbox {
            addr,
            shared,
            stop,
            task: Some(task),
            state,
        })
    }
}

/// Whether the emulator of `channel` signs its answers (收呗 MD5 `sign`, 通联 RSA2). The
/// others answer unsigned (channels.md §1, §3, §4), so a `BadSignature` fault there has
/// nothing to spoil and the answer goes out as normal.
pub fn signs_answers(channel: ChannelKind) -> bool {
    matches!(channel, ChannelKind::Shoubei | ChannelKind::Allinpay)
}

/// The whole router: every channel under its prefix, plus `/_control`.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    ChannelKind::ALL
        .into_iter()
        .fold(axum::Router::new(), |router, channel| {
            router.nest(&format!("/{}", channel.as_str()), channels::routes(channel))
        })
        .merge(control::routes())
        .with_state(shared)
}

/// A sandbox serving on loopback. Dropping it stops it (without waiting); `shutdown`
/// stops it and waits until the listener is closed.
pub struct RunningSandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    state: Option<StateFile>,
}

/// The state file and its writer task.
struct StateFile {
    path: std::path::PathBuf,
    written: Arc<Mutex<u64>>,
    task: JoinHandle<()>,
}

impl StateFile {
    /// Stops the writer and writes what it may not have written yet.
    fn flush_and_stop(&self, shared: &Shared) {
        self.task.abort();
        persist::write_now(shared, &self.path, &self.written);
    }
}

impl std::fmt::Debug for RunningSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSandbox")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RunningSandbox {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/<channel>`: the `base_url` a client uses in sandbox mode.
    pub fn base_url(&self, channel: ChannelKind) -> String {
        demo_config::base_url(self.addr, channel)
    }

    /// The core's channel configuration for sandbox mode: every channel pointed at this
    /// sandbox with the demo data's secrets and the core's default timeouts.
    pub fn demo_config(&self) -> redeemdesk_core::config::Config {
        self.demo_config_with(redeemdesk_core::channel::Timeouts::default())
    }

    /// [`RunningSandbox::demo_config`] with other timeouts (tests use short ones so that a
    /// `Delay` fault outlasts them quickly).
    pub fn demo_config_with(
        &self,
        timeouts: redeemdesk_core::channel::Timeouts,
    ) -> redeemdesk_core::config::Config {
        demo_config::config(&self.shared.demo, self.addr, timeouts)
    }

    /// The demo data the sandbox started from (credentials, coupons, products).
    pub fn demo(&self) -> &DemoData {
        &self.shared.demo
    }

    /// Adds a fault rule (the same as `POST /_control/faults`).
    pub fn inject_fault(&self, rule: FaultRule) {
        self.shared.faults.add(rule);
    }

    /// Shorthand: the next `times` redemptions on `channel` (of `code` if given) misbehave.
    pub fn fail_next(&self, channel: ChannelKind, code: Option<&str>, fault: Fault, times: u32) {
        self.inject_fault(FaultRule {
            channel,
            code: code.map(str::to_owned),
            fault,
            times,
            operation: Operation::Redeem,
            delay_ms: None,
        });
    }

    /// How the emulators read the open points of channels.md now.
    pub fn readings(&self) -> Readings {
        self.shared.readings()
    }

    /// Changes the readings from the next request on (the same as `POST
    /// /_control/readings` with every channel given).
    pub fn set_readings(&self, readings: Readings) {
        self.shared.set_readings(readings);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Every consumption actually committed and every 增值券 notification received.
    pub fn ground_truth(&self) -> GroundTruth {
        self.shared.store().ground_truth()
    }

    /// Uses left on a coupon now, as the channel would report them.
    pub fn uses_left(&self, channel: ChannelKind, code: &str) -> Option<u32> {
        self.shared.store().coupon(channel, code).map(|c| c.left)
    }

    /// A coupon's state now (date expiry included).
    pub fn coupon_state(&self, channel: ChannelKind, code: &str) -> Option<CouponState> {
        let now = self.shared.now_ms();
        self.shared
            .store()
            .coupon(channel, code)
            .map(|c| c.state_at(now))
    }

    /// The channel's own records (what its query and history calls report).
    pub fn channel_records(&self) -> Vec<Consumption> {
        self.shared.store().records().to_vec()
    }

    /// Plants a reconciliation mismatch: changes the channel's own record `record_id`
    /// (e.g. its amount) while the ground truth keeps what really happened. False when
    /// there is no such record.
    pub fn alter_record(&self, record_id: &str, change: impl FnOnce(&mut Consumption)) -> bool {
        self.shared.store().alter_record(record_id, change)
    }

    /// Plants an "only on the channel" record: the coupon is consumed as if at another
    /// till, without the app. Returns the record (marked `foreign` in the ground truth).
    pub fn consume_elsewhere(
        &self,
        channel: ChannelKind,
        code: &str,
        count: u32,
    ) -> Result<Consumption, Refusal> {
        let now = self.shared.now_ms();
        let mut store = self.shared.store();
        let seq = store.next_seq();
        let request = store::ConsumeRequest {
            channel,
            code,
            count,
            idempotency_key: None,
            certificates: store.coupon(channel, code).and_then(|c| {
                (!c.certificates.is_empty()).then(|| {
                    c.certificates
                        .iter()
                        .filter(|cert| cert.left > 0)
                        .take(count as usize)
                        .map(|cert| (cert.demo.id.clone(), 1))
                        .collect()
                })
            }),
            operator: "elsewhere".into(),
        };
        let record_id = format!("{}{seq:012}", time::ts14(now));
        let mut record = store.consume(&request, record_id, now)?;
        store.mark_foreign(&record.record_id);
        record.foreign = true;
        Ok(record)
    }

    /// Stops accepting, closes every open connection, waits for the accept loop and writes
    /// the state file one last time.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(state) = self.state.take() {
            state.flush_and_stop(&self.shared);
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(state) = self.state.take() {
            state.flush_and_stop(&self.shared);
        }
    }
}
