//! The crash test: a child process (the real CLI) redeems against the sandbox and
//! is killed with SIGKILL at each moment where a crash leaves a different trace — before the
//! write-ahead commit, after it and before the request, after the channel committed but
//! before the answer arrived, after the answer but before it was recorded. After each kill
//! the desk restarts on the same ledger file and the resolver runs. Then, for every channel:
//! nothing the sandbox consumed is missing from the ledger, nothing is consumed twice, and
//! every attempt ends succeeded or rejected, or waits in the manager's inbox where the
//! channel cannot answer. The sandbox lives in this test process, so its ground truth
//! survives the child's death.
//!
//! The soak (`soak/`) kills at random moments instead, on every channel under every reading.

mod soak;

use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::clock::{Clock, ManualClock, SystemClock};
use redeemdesk_core::config::Config;
use redeemdesk_core::data_dir::DataDir;
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::{
    self, AttemptState, Ledger, NOTIFICATION_INBOX_AFTER_ATTEMPTS, RESOLVER_INBOX_AFTER_TRIES,
};
use redeemdesk_core::scan::ScanRules;
use redeemdesk_sandbox::demo_keys::{AllinpayKeys, KEYS_DIR};
use redeemdesk_sandbox::{DemoCoupon, DemoData, Fault, RunningSandbox, Sandbox, SandboxOptions};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the child is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillPoint {
    BeforeWriteAhead,
    AfterWriteAhead,
    /// The sandbox has committed the redemption and holds its answer back (a `Delay`).
    ChannelCommittedNoAnswer,
    AfterAnswer,
}

const KILL_POINTS: [KillPoint; 4] = [
    KillPoint::BeforeWriteAhead,
    KillPoint::AfterWriteAhead,
    KillPoint::ChannelCommittedNoAnswer,
    KillPoint::AfterAnswer,
];

/// A valid demo coupon per code channel, cloned under fresh codes so each scenario starts
/// from an unused coupon.
const TEMPLATES: [(ChannelKind, Option<&str>, &str); 4] = [
    (ChannelKind::Shoubei, None, "679533922928"),
    (ChannelKind::Zvcms, None, "390962138708451328"),
    (ChannelKind::Liantuofu, None, "914095353294404024"),
    (ChannelKind::Allinpay, Some("meituan"), "594828681100"),
];

/// A code of the template's length ending in `prefix` and `n`, a tail no demo code has.
fn fresh_code(template: &str, prefix: &str, n: usize) -> String {
    let suffix = format!("{prefix}{n:04}");
    format!("{}{}", &template[..template.len() - suffix.len()], suffix)
}

/// The demo data with the data directory's key pairs: the CLI's `--sandbox-at` client signs
/// with `<data>/sandbox-keys`, as `redeemdesk-sandbox --keys` would share them.
fn demo_data(data: &Path) -> DemoData {
    let keys = AllinpayKeys::in_dir(&data.join(KEYS_DIR)).expect("the sandbox key pairs");
    DemoData::embedded_with(keys).expect("the embedded demo data loads")
}

/// The demo coupon `template` of `channel` under a fresh `code`, without its demo fault.
fn clone_coupon(demo: &DemoData, channel: ChannelKind, template: &str, code: String) -> DemoCoupon {
    let mut c = demo
        .coupons
        .iter()
        .find(|c| c.channel == channel && c.code == template)
        .expect("template coupon")
        .clone();
    c.code = code;
    c.fault = None;
    c
}

fn demo_with_fresh_coupons(data: &Path) -> DemoData {
    let mut demo = demo_data(data);
    let mut extra = Vec::new();
    for (i, (channel, _, template)) in TEMPLATES.iter().enumerate() {
        for (k, _) in KILL_POINTS.iter().enumerate() {
            let code = fresh_code(template, "77", i * 10 + k);
            extra.push(clone_coupon(&demo, *channel, template, code));
        }
    }
    demo.coupons.extend(extra);
    demo
}

/// What a child CLI's channels are.
#[derive(Debug, Clone, Copy)]
enum Channels<'a> {
    /// `--sandbox-at`: every channel at this sandbox, as the demo configures them.
    SandboxAt(SocketAddr),
    /// `--config`: a config.toml (a channel set up the way a reading needs).
    Config(&'a Path),
}

/// The CLI on `data` with `channels`, its output discarded.
fn cli(data: &Path, channels: Channels<'_>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redeemdesk-cli"));
    cmd.arg("--data-dir").arg(data);
    match channels {
        Channels::SandboxAt(addr) => cmd.arg("--sandbox-at").arg(addr.to_string()),
        Channels::Config(path) => cmd.arg("--config").arg(path),
    };
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

fn spawn_child(
    data: &Path,
    sandbox: &RunningSandbox,
    channel: ChannelKind,
    platform: Option<&str>,
    code: &str,
    pause: Option<&str>,
) -> Child {
    let mut cmd = cli(data, Channels::SandboxAt(sandbox.addr()));
    cmd.args(["redeem", "--channel", channel.as_str(), "--code", code])
        .stderr(Stdio::piped());
    if let Some(p) = platform {
        cmd.args(["--platform", p]);
    }
    if let Some(p) = pause {
        cmd.env("REDEEMDESK_PAUSE_AT", p);
    }
    cmd.spawn().expect("the CLI starts")
}

/// Waits for the child to report that it paused at its checkpoint.
fn wait_for_pause(child: &mut Child) {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("paused at") {
                let _ = tx.send(());
                return;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the child reaches its checkpoint");
}

/// Restarts the desk on the `mode` ledger of `data` with `config` and lets the resolver and
/// the outbox work through their whole schedules (a manual clock jumps between rounds) until
/// nothing is due.
async fn restart_and_resolve(data: &Path, mode: Mode, config: &Config) {
    let _lock = DataDir::open(data).expect("the killed child released the data directory");
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let ledger = Arc::new(
        Ledger::open(&data.join(ledger::file_name(mode)), mode).expect("the ledger reopens"),
    );
    let channels = config.build_channels(clock.clone()).unwrap();
    let desk = Desk::open(ledger, channels, clock.clone(), ScanRules::default())
        .expect("start-up marks pending as unknown");
    let step = ledger::resolver_backoff(RESOLVER_INBOX_AFTER_TRIES + 1).max(
        ledger::notification_backoff(NOTIFICATION_INBOX_AFTER_ATTEMPTS + 1),
    );
    for _ in 0..(RESOLVER_INBOX_AFTER_TRIES + 3) {
        desk.resolve_due().await.expect("a resolver round");
        desk.deliver_due().await.expect("an outbox round");
        clock.advance_ms(step + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_point_loses_nothing_and_consumes_nothing_twice_on_any_channel() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sandbox = Sandbox::start(SandboxOptions {
        demo: Some(demo_with_fresh_coupons(&data)),
        fault_delay: Duration::from_secs(4),
        ..Default::default()
    })
    .await
    .expect("the sandbox starts");

    let mut scenarios = 0;
    for (i, (channel, platform, template)) in TEMPLATES.iter().enumerate() {
        for (k, point) in KILL_POINTS.iter().enumerate() {
            let code = fresh_code(template, "77", i * 10 + k);
            let pause = match point {
                KillPoint::BeforeWriteAhead => Some("before_write_ahead"),
                KillPoint::AfterWriteAhead => Some("after_write_ahead"),
                KillPoint::AfterAnswer => Some("after_answer"),
                KillPoint::ChannelCommittedNoAnswer => {
                    sandbox.fail_next(*channel, Some(&code), Fault::Delay, 1);
                    None
                }
            };
            let mut child = spawn_child(&data, &sandbox, *channel, *platform, &code, pause);
            if pause.is_some() {
                wait_for_pause(&mut child);
            } else {
                let deadline = Instant::now() + Duration::from_secs(60);
                while sandbox.ground_truth().uses_of(*channel, &code) == 0 {
                    assert!(
                        Instant::now() < deadline,
                        "{channel} {code}: the sandbox never committed"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            child.kill().expect("SIGKILL");
            let _ = child.wait();
            restart_and_resolve(&data, Mode::Sandbox, &sandbox.demo_config()).await;
            scenarios += 1;
        }
    }

    // Let any answer the sandbox still holds back go out; it changes nothing it committed.
    let truth = sandbox.ground_truth();
    let ledger =
        Ledger::open_read_only(&data.join(ledger::file_name(Mode::Sandbox)), Mode::Sandbox)
            .unwrap();
    let inbox = ledger.inbox().unwrap();
    let (mut consumed, mut succeeded, mut rejected, mut waiting) = (0, 0, 0, 0);
    for (i, (channel, _, template)) in TEMPLATES.iter().enumerate() {
        for (k, point) in KILL_POINTS.iter().enumerate() {
            let code = fresh_code(template, "77", i * 10 + k);
            let uses = truth.uses_of(*channel, &code);
            assert!(
                uses <= 1,
                "{channel} {code} ({point:?}): consumed {uses} times"
            );
            let attempts: Vec<_> = ledger
                .code_timeline(&code)
                .unwrap()
                .into_iter()
                .map(|t| t.attempt)
                .collect();
            if uses == 1 {
                consumed += 1;
                assert!(
                    attempts.iter().any(|a| a.state == AttemptState::Succeeded),
                    "{channel} {code} ({point:?}): consumed by the channel but not a success in the ledger: {attempts:?}"
                );
            }
            if *point == KillPoint::BeforeWriteAhead {
                assert!(
                    attempts.is_empty(),
                    "{channel} {code}: nothing was written before the commit"
                );
                assert_eq!(uses, 0, "{channel} {code}: and nothing was sent");
            }
            for a in &attempts {
                match a.state {
                    AttemptState::Succeeded => succeeded += 1,
                    AttemptState::Rejected => {
                        assert_eq!(uses, 0, "{channel} {code}: rejected although consumed");
                        rejected += 1;
                    }
                    AttemptState::Unknown => {
                        assert!(
                            inbox.unknowns.iter().any(|u| u.attempt.id == a.id),
                            "{channel} {code} ({point:?}): an unknown the channel cannot settle waits in the inbox"
                        );
                        waiting += 1;
                    }
                    other => panic!("{channel} {code} ({point:?}): ended {other:?}"),
                }
            }
        }
    }
    assert!(
        ledger.verify_chain().unwrap().is_intact(),
        "the hash chain survives every crash"
    );
    println!(
        "crash test: {scenarios} kills over {} channels; sandbox consumed {consumed}; ledger: \
         {succeeded} succeeded, {rejected} rejected, {waiting} waiting in the inbox",
        TEMPLATES.len()
    );
    assert_eq!(scenarios, 16);
}

/// Issue 18: a kill, then a cleanup tool (or a backup of the .sqlite alone) loses the `-wal`.
/// The first CLI redeems to the end (a clean close), the second is killed after its
/// write-ahead commit; with the `-wal` deleted the restart is refused, naming what it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_killed_mid_redemption_whose_wal_is_deleted_is_refused_at_restart_not_reopened_short()
{
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sandbox = Sandbox::start(SandboxOptions {
        demo: Some(demo_with_fresh_coupons(&data)),
        ..Default::default()
    })
    .await
    .expect("the sandbox starts");
    let (channel, platform, template) = TEMPLATES[0];
    let mut first = spawn_child(
        &data,
        &sandbox,
        channel,
        platform,
        &fresh_code(template, "77", 0),
        None,
    );
    assert!(
        first.wait().unwrap().success(),
        "the first redemption ends normally"
    );
    let ledger_file = data.join(ledger::file_name(Mode::Sandbox));
    let wal = ledger::wal_path(&ledger_file);
    let wal_len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    assert_eq!(wal_len(&wal), 0, "a clean close leaves nothing in the -wal");

    let code = fresh_code(template, "77", 1);
    let mut child = spawn_child(
        &data,
        &sandbox,
        channel,
        platform,
        &code,
        Some("after_write_ahead"),
    );
    wait_for_pause(&mut child);
    // The keeper notes the head right after the commit; give it a moment, far below the
    // idle checkpoint (3 s).
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let left = wal_len(&wal);
    assert!(
        left > 0,
        "the killed CLI's write-ahead record is in the -wal"
    );
    std::fs::remove_file(&wal).unwrap();
    let _ = std::fs::remove_file(data.join(format!("{}-shm", ledger::file_name(Mode::Sandbox))));

    let _lock = DataDir::open(&data).expect("the killed child released the data directory");
    let err = Ledger::open(&ledger_file, Mode::Sandbox).unwrap_err();
    println!("killed after the write-ahead commit, -wal of {left} bytes deleted: {err}");
    assert_eq!(
        err.code(),
        "ledger_behind_head",
        "the pending attempt's loss is said, not silently accepted: {err}"
    );
}
