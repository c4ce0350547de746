//! The kill-anywhere soak: the real CLI redeems (or sells a 增值券 product)
//! against a sandbox living in this process and is SIGKILLed at a random moment of its life —
//! while it boots, before the write-ahead, with the request in flight, while the sandbox
//! holds back an answer it has already committed (a short `Delay`), after the answer — on
//! every channel under every reading of `reading::variants()`, with every fault kind now and
//! then. Each reading has its own sandbox and data directory; after its kills the desk
//! restarts on that ledger, the resolver and the outbox run their whole schedule, and the
//! ledger is compared with the sandbox's ground truth: nothing lost, doubled or invented,
//! nothing left pending; an attempt the channel cannot settle under a reading stays unknown
//! and must be in the manager's inbox.
//!
//! `REDEEMDESK_SOAK_SEED` (default [`DEFAULT_SEED`]) and `REDEEMDESK_SOAK_KILLS` (default
//! [`DEFAULT_KILLS`]) set the run; every failure names the seed, the channel, the reading,
//! the code and the kill moment.

use super::{cli, clone_coupon, demo_data, fresh_code, restart_and_resolve, Channels};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::config::Config;
use redeemdesk_core::ledger::{
    self, Attempt, AttemptState, Inbox, Ledger, LedgerError, NotificationId, NotificationState,
};
use redeemdesk_sandbox::demo_keys::{AllinpayKeys, KEYS_DIR};
use redeemdesk_sandbox::reading::{variants, Readings, YhtdResend, YhtdSign};
use redeemdesk_sandbox::{
    DemoData, Fault, FaultRule, GroundTruth, Operation, RunningSandbox, Sandbox, SandboxOptions,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEFAULT_SEED: u64 = 20_170_007;
const DEFAULT_KILLS: usize = 300;
/// Readings soaked at the same time (each on its own sandbox and data directory).
const LANES: usize = 3;

/// Coupons cloned for the kills: channel, 通联 platform, template code, most uses asked.
const TEMPLATES: [(ChannelKind, Option<&str>, &str, u32); 6] = [
    (ChannelKind::Shoubei, None, "679533922928", 1),
    (ChannelKind::Shoubei, None, "679533922935", 1),
    (ChannelKind::Zvcms, None, "390962138708451328", 1),
    // A times card with 10 uses: a redemption may ask for several.
    (ChannelKind::Liantuofu, None, "914095353294404024", 3),
    (ChannelKind::Allinpay, Some("meituan"), "594828681100", 1),
    // 美团 multi-count: up to 3 vouchers at once.
    (ChannelKind::Allinpay, Some("meituan"), "594828681117", 3),
];

/// 增值券 products the platform accepts.
const PRODUCTS: [&str; 2] = ["2112291922150704074", "2112291922150704075"];

/// Faults other than the delayed answer, one of them now and then.
const OTHER_FAULTS: [Fault; 5] = [
    Fault::Reset,
    Fault::Http500,
    Fault::Garbage,
    Fault::BadSignature,
    Fault::CommitThenDrop,
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// One reading of one channel, as soaked.
#[derive(Debug, Clone)]
struct Variant {
    index: usize,
    name: String,
    kind: ChannelKind,
    readings: Readings,
}

/// What a child is asked to do.
#[derive(Debug, Clone)]
enum Work {
    Redeem {
        platform: Option<&'static str>,
        template: &'static str,
        code: String,
        count: u32,
    },
    Order {
        product: &'static str,
        quantity: u32,
    },
}

/// Where the kill found the child, read from the ledger and the ground truth right after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    /// Nothing of it in the ledger yet (booting, previewing).
    BeforeWriteAhead,
    /// Written ahead; the channel has not committed.
    InFlightNotCommitted,
    /// The channel committed; the child had not recorded the answer.
    InFlightCommitted,
    /// The outcome was recorded (the child was finishing).
    AfterRecord,
    /// The child finished before its moment came: no kill.
    Finished,
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Moment::BeforeWriteAhead => "before the write-ahead",
            Moment::InFlightNotCommitted => "written ahead, not committed by the channel",
            Moment::InFlightCommitted => "committed by the channel, answer not recorded",
            Moment::AfterRecord => "after the outcome was recorded",
            Moment::Finished => "finished before the kill",
        })
    }
}

/// One child: what it did, its fault, when it was killed and what the kill found.
#[derive(Debug, Clone)]
struct Run {
    work: Work,
    fault: Option<Fault>,
    delay_ms: Option<u64>,
    /// Where in its expected life the kill lands, 0 (spawn) to 1 (the horizon).
    share: f64,
    kill_at_ms: u64,
    moment: Moment,
    /// 增值券: the notification the child queued (its `dealSerial`).
    deal_serial: Option<String>,
}

impl Run {
    fn plan(rng: &mut StdRng, kind: ChannelKind, n: usize) -> Run {
        let work = if kind == ChannelKind::Yhtd {
            Work::Order {
                product: PRODUCTS[rng.gen_range(0..PRODUCTS.len())],
                quantity: rng.gen_range(1..=3),
            }
        } else {
            let of_kind: Vec<_> = TEMPLATES.iter().filter(|t| t.0 == kind).collect();
            let &(_, platform, template, most) = of_kind[rng.gen_range(0..of_kind.len())];
            Work::Redeem {
                platform,
                template,
                code: fresh_code(template, "8", n),
                count: rng.gen_range(1..=most),
            }
        };
        let (fault, delay_ms) = match rng.gen_range(0..100) {
            // Mostly the answer some time after the commit: the kill often falls in between.
            0..=54 => (Some(Fault::Delay), Some(rng.gen_range(20..=400))),
            55..=84 => (
                Some(OTHER_FAULTS[rng.gen_range(0..OTHER_FAULTS.len())]),
                None,
            ),
            _ => (None, None),
        };
        Run {
            work,
            fault,
            delay_ms,
            share: rng.gen_range(0.0..1.0),
            kill_at_ms: 0,
            moment: Moment::Finished,
            deal_serial: None,
        }
    }

    fn what(&self) -> String {
        match &self.work {
            Work::Redeem { code, count, .. } => format!("code {code} (count {count})"),
            Work::Order { product, quantity } => format!(
                "dealSerial {} (product {product} × {quantity})",
                self.deal_serial.as_deref().unwrap_or("never queued")
            ),
        }
    }
}

/// The totals of one reading, or of the whole soak.
#[derive(Debug, Default)]
struct Tally {
    kills: usize,
    finished: usize,
    moments: BTreeMap<Moment, usize>,
    consumed_uses: u32,
    orders: u32,
    lost: usize,
    doubled: usize,
    invented: usize,
    pending: usize,
    unknown: usize,
    /// Unknown attempts whose code the channel did consume.
    unknown_consumed: usize,
    /// Unknowns per `channel reading`.
    unknown_under: BTreeMap<String, usize>,
    problems: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.kills += other.kills;
        self.finished += other.finished;
        for (m, n) in other.moments {
            *self.moments.entry(m).or_default() += n;
        }
        self.consumed_uses += other.consumed_uses;
        self.orders += other.orders;
        self.lost += other.lost;
        self.doubled += other.doubled;
        self.invented += other.invented;
        self.pending += other.pending;
        self.unknown += other.unknown;
        self.unknown_consumed += other.unknown_consumed;
        for (r, n) in other.unknown_under {
            *self.unknown_under.entry(r).or_default() += n;
        }
        self.problems.extend(other.problems);
    }
}

/// A sandbox, a data directory and the CLI's channels for one reading.
struct Bench {
    variant: Variant,
    sandbox: RunningSandbox,
    data: PathBuf,
    /// 增值券's config.toml (set up as the reading needs); `None`: `--sandbox-at`.
    config_file: Option<PathBuf>,
}

impl Bench {
    async fn start(variant: Variant, root: &Path, keys: &AllinpayKeys, runs: &[Run]) -> Bench {
        let data = root.join(format!("reading-{:02}", variant.index));
        keys.write(&data.join(KEYS_DIR))
            .expect("the key pairs copy");
        // A configured 增值券 is a live configuration: it may not carry a published key.
        let mut demo = demo_data(&data).with_fresh_secrets();
        let extra: Vec<_> = runs
            .iter()
            .filter_map(|r| match &r.work {
                Work::Redeem { template, code, .. } => {
                    Some(clone_coupon(&demo, variant.kind, template, code.clone()))
                }
                Work::Order { .. } => None,
            })
            .collect();
        demo.coupons.extend(extra);
        let sandbox = Sandbox::start(SandboxOptions {
            demo: Some(demo),
            readings: variant.readings,
            ..Default::default()
        })
        .await
        .expect("the sandbox starts");
        let config_file = (variant.kind == ChannelKind::Yhtd)
            .then(|| write_yhtd_config(&data, &variant, &sandbox));
        Bench {
            variant,
            sandbox,
            data,
            config_file,
        }
    }

    fn channels(&self) -> Channels<'_> {
        match &self.config_file {
            Some(path) => Channels::Config(path),
            None => Channels::SandboxAt(self.sandbox.addr()),
        }
    }

    fn mode(&self) -> Mode {
        match self.config_file {
            Some(_) => Mode::Live,
            None => Mode::Sandbox,
        }
    }

    fn config(&self) -> Config {
        match &self.config_file {
            Some(path) => Config::load(path, &self.data).expect("the soak's config.toml loads"),
            None => self.sandbox.demo_config(),
        }
    }

    fn ledger_path(&self) -> PathBuf {
        self.data.join(ledger::file_name(self.mode()))
    }

    fn command(&self, work: &Work) -> std::process::Command {
        let mut cmd = cli(&self.data, self.channels());
        match work {
            Work::Redeem {
                platform,
                code,
                count,
                ..
            } => {
                cmd.args(["redeem", "--channel", self.variant.kind.as_str()])
                    .args(["--code", code, "--count", &count.to_string()]);
                if let Some(p) = platform {
                    cmd.args(["--platform", p]);
                }
            }
            Work::Order { product, quantity } => {
                cmd.args(["order", "--product", product, "--name", "王小明"])
                    .args(["--phone", "13800138000"])
                    .args(["--quantity", &quantity.to_string()]);
            }
        }
        cmd
    }
}

/// 增值券 set up the way config.toml states what no answer tells (as the contract's
/// `client_adjust` does): the signature when the platform requires one, and whether a resent
/// `dealSerial` is deduplicated (channels.md §1).
fn write_yhtd_config(data: &Path, variant: &Variant, sandbox: &RunningSandbox) -> PathBuf {
    let dir = data.join("live-config");
    std::fs::create_dir_all(&dir).unwrap();
    let demo: &DemoData = sandbox.demo();
    let sign = variant.readings.yhtd.sign == YhtdSign::Md5Required;
    let mut text = format!(
        "[channels.yhtd]\nbase_url = \"{}\"\nsign = {sign}\nresend_deduplicated = {}\n",
        sandbox.base_url(ChannelKind::Yhtd),
        variant.readings.yhtd.resend == YhtdResend::Dedup,
    );
    if sign {
        text.push_str("secrets = \"secrets.toml\"\n");
        std::fs::write(
            dir.join("secrets.toml"),
            format!("[yhtd]\nkey = \"{}\"\n", demo.yhtd.key),
        )
        .unwrap();
    }
    for p in &demo.products {
        text.push_str(&format!(
            "[[channels.yhtd.products]]\nno = \"{}\"\nname = \"{}\"\nunit_price_fen = {}\n",
            p.product_no, p.name, p.price_fen
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// How long one uninterrupted redemption takes here (the median of three), so the kill
/// moments spread over a child's whole life on this machine.
async fn calibrate(root: &Path, keys: &AllinpayKeys) -> u64 {
    let variant = Variant {
        index: 99,
        name: "calibration".into(),
        kind: ChannelKind::Shoubei,
        readings: Readings::default(),
    };
    let mut rng = StdRng::seed_from_u64(0);
    let runs: Vec<_> = (0..3)
        .map(|n| {
            let mut r = Run::plan(&mut rng, variant.kind, n);
            r.fault = None;
            r
        })
        .collect();
    let bench = Bench::start(variant, root, keys, &runs).await;
    let mut times: Vec<u64> = Vec::new();
    for r in &runs {
        let start = Instant::now();
        let status = bench.command(&r.work).status().expect("the CLI runs");
        assert!(status.success(), "the calibration redemption succeeds");
        times.push(start.elapsed().as_millis() as u64);
    }
    times.sort_unstable();
    times[1]
}

/// Spawns the child and SIGKILLs it at its moment, unless it finished first.
async fn kill_at(bench: &Bench, run: &Run) -> bool {
    let deadline = Duration::from_millis(run.kill_at_ms);
    let start = Instant::now();
    let mut child = bench.command(&run.work).spawn().expect("the CLI starts");
    loop {
        if child.try_wait().expect("the child's status").is_some() {
            return false;
        }
        let elapsed = start.elapsed();
        if elapsed >= deadline {
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            return true;
        }
        tokio::time::sleep((deadline - elapsed).min(Duration::from_millis(2))).await;
    }
}

/// Every notification in the ledger: id and deliveries tried.
fn notifications(path: &Path) -> Vec<(String, u32)> {
    if !path.exists() {
        return Vec::new();
    }
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the ledger opens read-only");
    // No table yet: killed before the migrations made it.
    let Ok(mut stmt) = conn.prepare("SELECT id, attempts FROM notifications") else {
        return Vec::new();
    };
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Where the kill found the child (read before anything else touches the ledger).
fn moment_of(bench: &Bench, run: &mut Run, seen: &mut BTreeSet<String>) -> Moment {
    let truth = bench.sandbox.ground_truth();
    match &run.work {
        Work::Redeem { code, .. } => {
            let ledger = match Ledger::open_read_only(&bench.ledger_path(), bench.mode()) {
                Ok(ledger) => ledger,
                // Killed before the ledger was made, or while its migrations ran.
                Err(LedgerError::CannotOpen { .. } | LedgerError::ReadOnly { .. }) => {
                    return Moment::BeforeWriteAhead
                }
                Err(e) => panic!("the ledger reads after a kill: {e}"),
            };
            let attempts = ledger.code_timeline(code).unwrap();
            match attempts.first().map(|t| t.attempt.state) {
                None => Moment::BeforeWriteAhead,
                Some(AttemptState::Pending) if truth.uses_of(bench.variant.kind, code) > 0 => {
                    Moment::InFlightCommitted
                }
                Some(AttemptState::Pending) => Moment::InFlightNotCommitted,
                Some(_) => Moment::AfterRecord,
            }
        }
        Work::Order { .. } => {
            let new = notifications(&bench.ledger_path())
                .into_iter()
                .find(|(id, _)| !seen.contains(id));
            let Some((id, attempts)) = new else {
                return Moment::BeforeWriteAhead;
            };
            seen.insert(id.clone());
            run.deal_serial = Some(id.clone());
            let arrived = truth.notifications.iter().any(|n| n.deal_serial == id);
            match (attempts, arrived) {
                (0, true) => Moment::InFlightCommitted,
                (0, false) => Moment::InFlightNotCommitted,
                _ => Moment::AfterRecord,
            }
        }
    }
}

/// Soaks one reading: `kills` SIGKILLs, then the restart, the resolver and the comparison.
async fn soak_reading(
    seed: u64,
    variant: Variant,
    kills: usize,
    horizon_ms: u64,
    root: &Path,
    keys: &AllinpayKeys,
) -> Tally {
    // A generator per reading: the plan does not depend on how the lanes interleave.
    let mut rng = StdRng::seed_from_u64(
        seed ^ (variant.index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    // Room for children that finish before their moment.
    let most = kills * 8 + 10;
    let mut runs: Vec<Run> = (0..most)
        .map(|n| Run::plan(&mut rng, variant.kind, n))
        .collect();
    let bench = Bench::start(variant, root, keys, &runs).await;
    let kind = bench.variant.kind;
    let mut tally = Tally::default();
    let mut seen = BTreeSet::new();
    let mut used = 0;
    for run in runs.iter_mut() {
        if tally.kills == kills {
            break;
        }
        used += 1;
        // This child's fault only: one left unused by an earlier kill would strike here.
        bench.sandbox.clear_faults();
        if let Some(fault) = run.fault {
            let target = match &run.work {
                Work::Redeem { code, .. } => code.clone(),
                Work::Order { product, .. } => (*product).to_owned(),
            };
            bench.sandbox.inject_fault(FaultRule {
                channel: kind,
                code: Some(target),
                fault,
                times: 1,
                operation: Operation::Redeem,
                delay_ms: run.delay_ms,
            });
        }
        run.kill_at_ms = (run.share * (horizon_ms + run.delay_ms.unwrap_or(0)) as f64) as u64;
        let killed = kill_at(&bench, run).await;
        let moment = moment_of(&bench, run, &mut seen);
        run.moment = if killed { moment } else { Moment::Finished };
        if killed {
            tally.kills += 1;
        } else {
            tally.finished += 1;
        }
        *tally.moments.entry(run.moment).or_default() += 1;
    }
    runs.truncate(used);
    bench.sandbox.clear_faults();
    restart_and_resolve(&bench.data, bench.mode(), &bench.config()).await;

    let truth = bench.sandbox.ground_truth();
    let ledger = Ledger::open_read_only(&bench.ledger_path(), bench.mode()).expect("the ledger");
    let inbox = ledger.inbox().unwrap();
    assert!(
        ledger.verify_chain().unwrap().is_intact(),
        "seed {seed}, {kind} under {}: the hash chain survives every kill",
        bench.variant.name
    );
    for run in &runs {
        let context = format!(
            "seed {seed}, {kind} under {}, {}, fault {}, killed at {} ms of a {} ms horizon ({})",
            bench.variant.name,
            run.what(),
            match (run.fault, run.delay_ms) {
                (Some(f), Some(d)) => format!("{f:?} {d} ms"),
                (Some(f), None) => format!("{f:?}"),
                (None, _) => "none".into(),
            },
            run.kill_at_ms,
            horizon_ms + run.delay_ms.unwrap_or(0),
            run.moment,
        );
        match &run.work {
            Work::Redeem { code, count, .. } => {
                let attempts: Vec<Attempt> = ledger
                    .code_timeline(code)
                    .unwrap()
                    .into_iter()
                    .map(|t| t.attempt)
                    .collect();
                check_redemption(
                    &truth, kind, code, *count, &attempts, &inbox, &context, &mut tally,
                );
            }
            Work::Order { quantity, .. } => {
                let Some(id) = &run.deal_serial else {
                    continue;
                };
                let n = ledger
                    .notification(&NotificationId::parse(id).unwrap())
                    .unwrap()
                    .expect("a notification seen in the ledger stays there");
                let on_platform = truth.notifications.iter().find(|t| &t.deal_serial == id);
                tally.orders += on_platform.map_or(0, |t| t.orders);
                let held = inbox.failing_notifications.iter().any(|f| f.id == n.id);
                let mut problem = |counter: &mut usize, what: String| {
                    *counter += 1;
                    tally.problems.push(format!("{context}: {what}"));
                };
                match (n.state, on_platform) {
                    (NotificationState::Rejected, Some(t)) => problem(
                        &mut tally.lost,
                        format!("LOST: the platform has the order ({} received) but the ledger says rejected", t.received),
                    ),
                    (NotificationState::Delivered, None) => problem(
                        &mut tally.invented,
                        "INVENTED: delivered in the ledger, the platform never received it".into(),
                    ),
                    (NotificationState::Delivered, Some(t)) if t.by_number != *quantity => problem(
                        &mut tally.invented,
                        format!("INVENTED: {quantity} sold, the platform has {}", t.by_number),
                    ),
                    (NotificationState::Queued, _) if held => tally.unknown += 1,
                    (NotificationState::Queued, _) => problem(
                        &mut tally.pending,
                        "PENDING: still queued after the outbox's whole schedule, not in the inbox".into(),
                    ),
                    _ => {}
                }
                if let Some(t) = on_platform.filter(|t| t.orders > 1) {
                    problem(
                        &mut tally.doubled,
                        format!(
                            "DOUBLED: the platform recorded {} orders under this dealSerial ({} arrivals; the outbox resent it)",
                            t.orders, t.received
                        ),
                    );
                }
            }
        }
    }
    // Nothing on the platform that the ledger does not know of.
    let known: BTreeSet<_> = runs.iter().filter_map(|r| r.deal_serial.clone()).collect();
    for t in &truth.notifications {
        if !known.contains(&t.deal_serial) {
            tally.lost += 1;
            tally.problems.push(format!(
                "seed {seed}, yhtd under {}: LOST: dealSerial {} arrived but no soaked child queued it",
                bench.variant.name, t.deal_serial
            ));
        }
    }
    if tally.unknown > 0 {
        tally.unknown_under.insert(
            format!(
                "{kind} {} ({} consumed)",
                bench.variant.name, tally.unknown_consumed
            ),
            tally.unknown,
        );
    }
    bench.sandbox.shutdown().await;
    tally
}

/// Compares one code's attempts with what the channel committed.
#[allow(clippy::too_many_arguments)]
fn check_redemption(
    truth: &GroundTruth,
    kind: ChannelKind,
    code: &str,
    asked: u32,
    attempts: &[Attempt],
    inbox: &Inbox,
    context: &str,
    tally: &mut Tally,
) {
    let consumptions = truth.consumptions_of(kind, code);
    let uses: u32 = consumptions.iter().map(|c| c.count).sum();
    tally.consumed_uses += uses;
    let mut problem = |counter: &mut usize, what: String| {
        *counter += 1;
        tally
            .problems
            .push(format!("{context}: {what}; ledger: {attempts:?}"));
    };
    let state_of = |s: AttemptState| attempts.iter().filter(move |a| a.state == s);
    let succeeded = state_of(AttemptState::Succeeded).count();
    if consumptions.len() > 1 || uses > asked || succeeded > 1 {
        problem(
            &mut tally.doubled,
            format!(
                "DOUBLED: {} consumptions, {uses} uses for {asked} asked, {succeeded} successes",
                consumptions.len()
            ),
        );
    }
    let standing = attempts
        .iter()
        .any(|a| matches!(a.state, AttemptState::Succeeded | AttemptState::Unknown));
    let undone = attempts
        .iter()
        .any(|a| matches!(a.state, AttemptState::Rejected | AttemptState::Cancelled));
    if uses > 0 && (!standing || undone) {
        problem(
            &mut tally.lost,
            format!("LOST: the channel consumed {uses} use(s), the ledger does not hold a success"),
        );
    }
    for a in state_of(AttemptState::Succeeded) {
        if uses == 0 || a.count != uses {
            problem(
                &mut tally.invented,
                format!(
                    "INVENTED: recorded succeeded × {}, the channel consumed {uses}",
                    a.count
                ),
            );
        }
    }
    if state_of(AttemptState::Pending).next().is_some() {
        problem(&mut tally.pending, "PENDING after the restart".into());
    }
    for a in state_of(AttemptState::Unknown) {
        tally.unknown += 1;
        tally.unknown_consumed += usize::from(uses > 0);
        if !inbox.unknowns.iter().any(|u| u.attempt.id == a.id) {
            problem(
                &mut tally.pending,
                "UNKNOWN but not in the manager's inbox".into(),
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_cli_at_random_moments_on_every_channel_and_reading_loses_doubles_and_invents_nothing(
) {
    let seed = env_or("REDEEMDESK_SOAK_SEED", DEFAULT_SEED);
    let kills = env_or("REDEEMDESK_SOAK_KILLS", DEFAULT_KILLS);
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let root = Arc::new(tmp.path().to_owned());
    let keys = Arc::new(
        AllinpayKeys::in_dir(&root.join("keys")).expect("the sandbox key pairs are made once"),
    );
    let life_ms = calibrate(&root, &keys).await;
    // Past the end of an uninterrupted life, so some kills land after the answer.
    let horizon_ms = life_ms * 2;

    let all: Vec<Variant> = variants()
        .into_iter()
        .enumerate()
        .map(|(index, (name, kind, readings))| Variant {
            index,
            name,
            kind,
            readings,
        })
        .collect();
    let channels: BTreeSet<_> = all.iter().map(|v| v.kind).collect();
    let readings = all.len();
    let mut lanes: Vec<Vec<(Variant, usize)>> = vec![Vec::new(); LANES];
    for v in all {
        let share = kills / readings + usize::from(v.index < kills % readings);
        lanes[v.index % LANES].push((v, share));
    }
    let mut tasks = tokio::task::JoinSet::new();
    for lane in lanes {
        let (root, keys) = (root.clone(), keys.clone());
        tasks.spawn(async move {
            let mut tally = Tally::default();
            for (variant, share) in lane {
                tally.add(soak_reading(seed, variant, share, horizon_ms, &root, &keys).await);
            }
            tally
        });
    }
    let mut tally = Tally::default();
    while let Some(lane) = tasks.join_next().await {
        tally.add(lane.expect("a lane of the soak ran to its end"));
    }

    println!(
        "soak: seed {seed}, {} kills over {} channels × {readings} readings, {} consumed uses \
         and {} 增值券 orders, {} lost, {} doubled, {} invented, {} pending, {} unknown (in the \
         inbox)",
        tally.kills,
        channels.len(),
        tally.consumed_uses,
        tally.orders,
        tally.lost,
        tally.doubled,
        tally.invented,
        tally.pending,
        tally.unknown,
    );
    println!(
        "soak: kill moments over a {horizon_ms} ms horizon (+ the delay): {}; {} children \
         finished first; {:.0} s",
        tally
            .moments
            .iter()
            .filter(|(m, _)| **m != Moment::Finished)
            .map(|(m, n)| format!("{n} {m}"))
            .collect::<Vec<_>>()
            .join(", "),
        tally.finished,
        started.elapsed().as_secs_f64()
    );
    println!(
        "soak: unknown (in the inbox; {} consumed by the channel, the others not) under: {}",
        tally.unknown_consumed,
        tally
            .unknown_under
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(
        tally.kills >= kills,
        "seed {seed}: {} kills of the {kills} asked (children kept finishing first)",
        tally.kills
    );
    assert!(
        tally.problems.is_empty(),
        "seed {seed} (rerun with REDEEMDESK_SOAK_SEED={seed}): {} lost, {} doubled, {} \
         invented, {} pending — the ledger must agree with what the channels did:\n{}",
        tally.lost,
        tally.doubled,
        tally.invented,
        tally.pending,
        tally.problems.join("\n")
    );
}
