//! Benchmark 8, the manager's commands on a ledger with the largest statement the limits
//! accept (issue 18 item 8), in the real release app under Xvfb (WebDriver, as benchmarks 6
//! and 7), and the Argon2 PIN hash's cost (item 6).
//!
//! The statement goes in through the real path: `reconcile_day` from the page's IPC bridge,
//! as the 对账 screen sends a pasted statement. Then each manager command that reads it —
//! 需处理 (`inbox`), the day's reconciliation reports (`day_reconciliations`) and 流水
//! (`day_log`, its first page) — is called from the page again and again, and while each
//! one runs the page records (a) its animation-frame gaps (the web process's main thread)
//! and (b) the answer times of a small synchronous command sent every 10 ms
//! (`manager_pin_is_set`: a sync Tauri command runs on the window's main thread, so it waits
//! while anything else holds that thread). The same two are recorded with the window idle.
//! The baseline of each command is its core call (`Ledger::…`) on the same file, in the
//! bench process, after the app has closed.

use crate::stats::{self, Summary};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::business_day::BusinessDay;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::ledger::{self, DayFilter, Ledger};
use redeemdesk_core::statement::{MAX_BYTES, MAX_ROWS};
use redeemdesk_e2e::{Desk, Launch};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PIN: &str = "246810";
const MANAGER: &str = "李店长";
/// Every tenth row's amount is unreadable: those rows are kept with their text as evidence.
const UNREADABLE_EVERY: usize = 10;

pub struct Command {
    pub name: &'static str,
    pub ui: Summary,
    pub core: Summary,
    /// The longest frame gap and the slowest sync command answer while it ran, per run.
    pub frame_gap_ms: stats::Range,
    pub sync_answer_ms: stats::Range,
    pub answer_bytes: usize,
}

pub struct Result {
    pub rows: usize,
    pub bytes: usize,
    pub reconcile: Duration,
    /// The report's verdict counts, as the command answered them.
    pub mismatches: String,
    pub ledger_growth: u64,
    pub idle_frame_gap_ms: stats::Range,
    pub idle_sync_answer_ms: stats::Range,
    pub commands: Vec<Command>,
    pub unlock: Summary,
    pub argon2_verify: Summary,
    pub argon2_params: String,
}

/// The statement as CSV text: `rows` lines of codes this ledger never redeemed (each one a
/// mismatch, 只在对账单), padded so that the file is just under the byte limit.
fn statement_js(rows: usize, bytes: usize) -> String {
    // Built in the page, so 20 MB do not cross WebDriver: one line is
    // `code,amount,state,time,note` with the note padding every line to the same length.
    format!(
        "const rows = {rows}, target = {bytes};
         const head = '券码,金额,状态,核销时间,备注\\n';
         const per = Math.floor((target - head.length * 3) / rows) - 1;
         const parts = [head];
         for (let i = 0; i < rows; i++) {{
           const code = String(800000000000 + i * 7);
           const amount = i % {UNREADABLE_EVERY} === 0 ? '十元' : (10 + i % 90) + '.00';
           let line = code + ',' + amount + ',已核销,2026-12-01 12:00:00,';
           // The note is ASCII padding: the byte count is the character count.
           line += 'x'.repeat(Math.max(0, per - line.length - 20)) + '\\n';
           parts.push(line);
         }}
         window.__bench_statement = parts.join('');"
    )
}

/// One call of `cmd` from the page with the frame and sync-command probes running.
const PROBED: &str = "
const [cmd, args, settle, done] = arguments;
window.__probe_stage = ['start'];
const stage = (x) => window.__probe_stage.push(x + '@' + Math.round(performance.now()));
const invoke = window.__TAURI__.core.invoke;
let running = true;
const gaps = [];
const syncs = [];
let last = null;
// WebKit draws a frame only when something changed: a 1-pixel mark repainted every frame
// keeps the frames coming, so a gap is the page's main thread, not a still screen.
const mark = document.createElement('div');
mark.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none;background:rgba(0,0,0,0.02)';
document.documentElement.append(mark);
let n = 0;
const tick = (t) => {
  if (last !== null) gaps.push(t - last);
  last = t;
  mark.style.background = n++ % 2 ? 'rgba(0,0,0,0.01)' : 'rgba(0,0,0,0.02)';
  if (running) requestAnimationFrame(tick); else mark.remove();
};
requestAnimationFrame(tick);
const probe = async () => {
  while (running) {
    const s = performance.now();
    await invoke('manager_pin_is_set');
    syncs.push(performance.now() - s);
    await new Promise((r) => setTimeout(r, 10));
  }
};
stage('armed');
setTimeout(async () => {
  stage('timer');
  probe();
  const t0 = performance.now();
  let answer = null, error = null;
  try {
    answer = cmd === null ? await new Promise((r) => setTimeout(r, settle)) : await invoke(cmd, args);
  } catch (e) { error = JSON.stringify(e); }
  const ms = performance.now() - t0;
  stage('answered');
  // One more frame, so a frame held up by the answer's arrival is counted.
  await Promise.race([
    new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))),
    new Promise((r) => setTimeout(r, 500)),
  ]);
  running = false;
  stage('done');
  done({ ms, error, gaps, syncs, frames: gaps.length, bytes: answer == null ? 0 : JSON.stringify(answer).length });
}, 50);
";

struct Probe {
    ms: f64,
    max_gap: f64,
    max_sync: f64,
    bytes: usize,
}

async fn probed(desk: &Desk, cmd: Option<&str>, args: Value) -> Probe {
    let v = desk
        .client
        .execute_async(
            PROBED,
            vec![cmd.map_or(Value::Null, |c| json!(c)), args, json!(300)],
        )
        .await;
    let v = match v {
        Ok(v) => v,
        Err(e) => {
            let stage = desk
                .js("return JSON.stringify(window.__probe_stage || null)")
                .await;
            panic!("{cmd:?} from the page: {e} (stage {stage})")
        }
    };
    assert!(v["error"].is_null(), "{cmd:?}: {}", v["error"]);
    let max = |k: &str| {
        v[k].as_array()
            .filter(|a| !a.is_empty())
            .map(|a| a.iter().filter_map(Value::as_f64).fold(0.0, f64::max))
            .unwrap_or(f64::NAN)
    };
    Probe {
        ms: v["ms"].as_f64().unwrap_or(f64::NAN),
        max_gap: max("gaps"),
        max_sync: max("syncs"),
        bytes: v["bytes"].as_u64().unwrap_or(0) as usize,
    }
}

fn file_bytes(path: &std::path::Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|s| {
            std::fs::metadata(format!("{}{s}", path.display()))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

pub async fn run(runs: usize, quick: bool) -> Result {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let desk = Desk::launch(Launch::at(data.clone())).await;
    desk.set_pin_and_open_manager(MANAGER, PIN).await;
    let day = desk
        .js("return document.getElementById('log-day').value")
        .await
        .as_str()
        .expect("the log's day")
        .to_owned();
    let file = data.join(ledger::file_name(Mode::Sandbox));

    // The Argon2 verification through the real command (the PIN is right each time).
    let mut unlocks = Vec::new();
    for _ in 0..if quick { 2 } else { 7 } {
        let started = Instant::now();
        let r = desk
            .invoke("manager_unlock", json!({"pin": PIN, "name": MANAGER}))
            .await;
        unlocks.push(started.elapsed());
        assert!(r.is_null(), "unlock: {r}");
    }

    let (rows, bytes) = if quick {
        (2_000, 200_000)
    } else {
        (MAX_ROWS, MAX_BYTES as usize - 64 * 1024)
    };
    desk.js(&statement_js(rows, bytes)).await;
    let made = desk
        .js("return new TextEncoder().encode(window.__bench_statement).length")
        .await
        .as_u64()
        .expect("the statement's length") as usize;
    assert!(made as u64 <= MAX_BYTES, "{made} bytes: over the limit");
    let before = file_bytes(&file);
    let started = Instant::now();
    let rec = desk
        .client
        .execute_async(
            "const [day, done] = arguments;
             window.__TAURI__.core.invoke('reconcile_day', {day, channel: 'shoubei', statement: {
               file: 'statement.csv', text: window.__bench_statement,
               mapping: {code: '券码', face_value: '金额', state: '状态', time: '核销时间',
                         amounts_in_fen: false, cancelled_values: []}}})
               .then((r) => { delete window.__bench_statement;
                              done({counts: r.report.counts, listed: r.report.lines.length}); },
                     (e) => done({error: JSON.stringify(e)}));",
            vec![json!(day)],
        )
        .await
        .expect("reconcile_day from the page");
    let reconcile = started.elapsed();
    assert!(rec["error"].is_null(), "reconcile_day: {}", rec["error"]);
    let mismatches = format!(
        "{} ({} lines listed in the report)",
        rec["counts"], rec["listed"]
    );
    eprintln!(
        "  statement of {rows} rows, {made} bytes reconciled in {}: {mismatches} mismatches",
        stats::ms(reconcile)
    );

    let commands: [(&'static str, Value); 3] = [
        ("inbox", json!({})),
        ("day_reconciliations", json!({ "day": day })),
        (
            "day_log",
            json!({"day": day, "filter": {"channel": null, "state": null, "cashier": null, "code": null}, "first": 80}),
        ),
    ];
    let mut idle_gaps = Vec::new();
    let mut idle_syncs = Vec::new();
    let mut probes: Vec<Vec<Probe>> = commands.iter().map(|_| Vec::new()).collect();
    // One unmeasured round (first-call costs), then interleaved rounds.
    for round in 0..=runs {
        let idle = probed(&desk, None, Value::Null).await;
        for (i, (cmd, args)) in commands.iter().enumerate() {
            let p = probed(&desk, Some(cmd), args.clone()).await;
            if round > 0 {
                probes[i].push(p);
            }
        }
        if round > 0 {
            idle_gaps.push(idle.max_gap);
            idle_syncs.push(idle.max_sync);
        }
    }
    desk.close().await;
    // The app has closed the ledger; its file as the app left it.
    let ledger_growth = file_bytes(&file).saturating_sub(before);

    // The core calls on the same file, and the Argon2 verification of the stored hash.
    let l = Ledger::open(&file, Mode::Sandbox).expect("the app's ledger opens");
    let d: BusinessDay = day.parse().expect("a business day");
    let mut core: [Vec<Duration>; 3] = Default::default();
    for _ in 0..=runs {
        core[0].push(stats::time(|| l.inbox().expect("inbox")).0);
        core[1].push(
            stats::time(|| {
                ChannelKind::ALL
                    .iter()
                    .map(|k| l.reconciliations(d, *k).expect("reports").len())
                    .sum::<usize>()
            })
            .0,
        );
        core[2].push(
            stats::time(|| {
                l.day_log_first(d, &DayFilter::default(), 80)
                    .expect("day log")
            })
            .0,
        );
    }
    let stored = l
        .setting("manager.pin_hash")
        .expect("settings")
        .expect("the manager PIN's hash");
    l.close().expect("closed");
    drop(l);
    let (argon2_params, argon2_verify) = argon2_cost(&stored, if quick { 2 } else { 9 });

    let commands = commands
        .iter()
        .zip(probes)
        .zip(core)
        .map(|(((name, _), p), mut core)| {
            core.remove(0); // the first call warms the file's pages
            Command {
                name,
                ui: stats::summarise(
                    &p.iter()
                        .map(|p| Duration::from_secs_f64(p.ms / 1000.0))
                        .collect::<Vec<_>>(),
                ),
                core: stats::summarise(&core),
                frame_gap_ms: stats::range(&p.iter().map(|p| p.max_gap).collect::<Vec<_>>()),
                sync_answer_ms: stats::range(&p.iter().map(|p| p.max_sync).collect::<Vec<_>>()),
                answer_bytes: p.last().map_or(0, |p| p.bytes),
            }
        })
        .collect();
    Result {
        rows,
        bytes: made,
        reconcile,
        mismatches,
        ledger_growth,
        idle_frame_gap_ms: stats::range(&idle_gaps),
        idle_sync_answer_ms: stats::range(&idle_syncs),
        commands,
        unlock: stats::summarise(&unlocks),
        argon2_verify,
        argon2_params,
    }
}

/// The cost parameters as stored in the PHC string, and the time of verifying the right PIN
/// against it (what every unlock and every offline guess pays), in this process.
fn argon2_cost(stored: &str, runs: usize) -> (String, Summary) {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let hash = PasswordHash::new(stored).expect("a PHC string");
    let params = format!(
        "{} {}",
        hash.algorithm,
        hash.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut samples = Vec::new();
    for _ in 0..runs {
        let (took, ok) = stats::time(|| {
            argon2::Argon2::default()
                .verify_password(PIN.as_bytes(), &hash)
                .is_ok()
        });
        assert!(ok, "the stored hash verifies the PIN");
        samples.push(took);
    }
    (params, stats::summarise(&samples))
}

fn range(r: &stats::Range) -> String {
    format!("{:.1} ms ({:.1} – {:.1})", r.median, r.min, r.max)
}

pub fn markdown(r: &Result) -> String {
    let rows: String = r
        .commands
        .iter()
        .map(|c| {
            format!(
                "| `{}` | {} | {} | {} | {} | {:.1} MB |\n",
                c.name,
                stats::show(&c.core),
                stats::show(&c.ui),
                range(&c.frame_gap_ms),
                range(&c.sync_answer_ms),
                c.answer_bytes as f64 / 1e6,
            )
        })
        .collect();
    let worst_gap = r
        .commands
        .iter()
        .map(|c| c.frame_gap_ms.max)
        .fold(0.0, f64::max);
    let worst_sync = r
        .commands
        .iter()
        .map(|c| c.sync_answer_ms.max)
        .fold(0.0, f64::max);
    format!(
        "## 8. Manager commands on a ledger with the largest statement\n\n\
         The release app under Xvfb (WebDriver, as benchmark 6), sandbox mode, the manager \
         screen unlocked. A 收呗 statement of {} rows and {:.1} MB (the limits are {MAX_ROWS} \
         rows and {} MB: `crates/core/src/statement.rs`), none of whose codes this ledger \
         redeemed and every {UNREADABLE_EVERY}th with an unreadable amount, reconciled \
         through the real path: `reconcile_day` from the page's IPC bridge, as 对账 sends a \
         pasted statement. It took {} and counted {}; the ledger file (with its \
         WAL) grew by {:.1} MB.\n\n\
         Then each manager command that reads it, called from the page ({} runs each, \
         interleaved, after one unmeasured round). While each runs, the page records its \
         animation-frame gaps (the web process's main thread: a long gap is a frozen \
         window) and sends a small synchronous command every 10 ms (`manager_pin_is_set`; \
         Tauri runs a sync command on the window's main thread, so its answer waits while \
         anything holds that thread). Per run the longest gap and the slowest sync answer \
         are kept; the table shows their median (min – max) over the runs, next to the \
         same with the window idle. The baseline is the command's core call (`Ledger::inbox`, \
         `Ledger::reconciliations` for every channel, `Ledger::day_log_first` with 80 rows) \
         on the same file in the bench process, after the app closed.\n\n\
         | command | core call | answered in the page | longest frame gap | slowest sync answer | answer |\n\
         |---|---|---|---|---|---|\n\
         | (window idle) | | | {} | {} | |\n\
         {rows}\n\
         **The window stays responsive**: the longest frame gap while any of these ran was \
         {worst_gap:.1} ms and the slowest sync command answer {worst_sync:.1} ms (every \
         manager command is async, its work on the blocking pool: `src-tauri/commands.rs`, \
         `manager_commands.rs::off_main`).\n\n\
         **PIN hash (issue 18 item 6).** The manager PIN's stored hash is `{}` (cost in the \
         PHC string, `crates/core/src/roles.rs`). Verifying the right PIN against it in \
         process (what each unlock and each offline guess costs on this machine): **{}**; \
         `manager_unlock` from the page (the verification, the lock-out state and the audit \
         entry): {}. At that cost one core tries about {:.0} PINs a second: the million \
         6-digit PINs take about {:.1} core-days.\n",
        r.rows,
        r.bytes as f64 / 1e6,
        MAX_BYTES / (1024 * 1024),
        stats::ms(r.reconcile),
        r.mismatches,
        r.ledger_growth as f64 / 1e6,
        r.commands.first().map_or(0, |c| c.ui.runs),
        range(&r.idle_frame_gap_ms),
        range(&r.idle_sync_answer_ms),
        r.argon2_params,
        stats::show(&r.argon2_verify),
        stats::show(&r.unlock),
        1.0 / r.argon2_verify.median.as_secs_f64(),
        1e6 * r.argon2_verify.median.as_secs_f64() / 86_400.0,
    )
}
