//! Benchmark 5, start-up and memory (issue 7): RedeemDesk against the smallest Tauri 2
//! window built from the same tauri in the same `cargo build --release`
//! (crates/bench/baseline-app). Each launch gets a fresh data directory (the app starts as
//! on a fresh install: sandbox mode, a new ledger; both get a cold webview data directory)
//! holding only sandbox mode's 通联 key pairs, which an install makes once on its very first
//! start (timed on their own: `keygen_ms`), and `REDEEMDESK_READY_PROBE=1`, which makes both print one line once the page has set
//! `body[data-ready]` and painted the frame after it (src-tauri/ready_probe.rs, compiled
//! into both). Start-up is the wall time from spawning the binary to that line. Memory is
//! read 2 s later from /proc/<pid>/smaps_rollup for the app and every process below it
//! (WebKitWebProcess, WebKitNetworkProcess). Needs a display and a session bus:
//! `make bench` runs the bench under `xvfb-run` and `dbus-run-session`.

use crate::stats::{self, Range};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use redeemdesk_sandbox::demo_keys::{AllinpayKeys, KEYS_DIR};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long after ready memory is read: long enough for the first burst of allocations to
/// settle, short enough that nothing the cashier does is in the figure.
pub const SETTLE: Duration = Duration::from_secs(2);
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The target (issue 7): at most this many times the baseline, for time and for memory.
pub const TARGET: f64 = 1.25;

/// What one app does to be measured.
pub struct Subject {
    pub name: &'static str,
    pub binary: PathBuf,
    /// The `data-ready` value of a good start ("cashier"; the baseline says "hello").
    pub ready: &'static str,
    /// Environment set for this launch only.
    pub env: &'static [(&'static str, &'static str)],
    /// Written into each launch's data directory (`sandbox-keys/`) before it starts.
    pub sandbox_keys: Option<AllinpayKeys>,
}

/// The minimal window once more with the page painted without GPU compositing: under Xvfb
/// (Mesa's software GL) compositing is most of the first frame's cost, and this row shows
/// how much. RedeemDesk does not set it: with it, WebDriver sessions on the app hung now and
/// then (the end-to-end suite), so it waits for that to be understood.
pub const NO_COMPOSITING: &[(&str, &str)] = &[("WEBKIT_DISABLE_COMPOSITING_MODE", "1")];

/// One launch.
struct Launch {
    ready_ms: f64,
    /// From the page's clock: launch → the page's load starts (the Rust side's start-up, the
    /// window, the WebKit processes), → DOMContentLoaded (HTML, scripts and styles through
    /// the app protocol), → `data-ready` set (the first command answered, the screen's DOM
    /// built), → painted (style, layout and paint of that screen, two frames).
    phases: Option<[f64; 4]>,
    /// Per process of the tree: name (`/proc/<pid>/comm`), Rss and Pss in KiB.
    processes: Vec<(String, u64, u64)>,
}

#[derive(Default)]
pub struct Side {
    pub ready_ms: Vec<f64>,
    pub rss_mib: Vec<f64>,
    pub pss_mib: Vec<f64>,
    /// Pss per kind of process (the app itself, WebKitWebProcess, …), MiB per launch.
    pub pss_by_process: BTreeMap<String, Vec<f64>>,
    pub phases: [Vec<f64>; 4],
}

impl Side {
    fn add(&mut self, main: &str, l: Launch) {
        let kib = |v: u64| v as f64 / 1024.0;
        self.ready_ms.push(l.ready_ms);
        if let Some(p) = l.phases {
            for (v, x) in self.phases.iter_mut().zip(p) {
                v.push(x);
            }
        }
        self.rss_mib
            .push(kib(l.processes.iter().map(|p| p.1).sum::<u64>()));
        self.pss_mib
            .push(kib(l.processes.iter().map(|p| p.2).sum::<u64>()));
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for (i, (name, _, pss)) in l.processes.iter().enumerate() {
            // The root process is named after the app; call it the same on both sides.
            let kind = match name.as_str() {
                _ if i == 0 => main.to_owned(),
                // /proc/<pid>/comm keeps 15 bytes of the name.
                "WebKitWebProces" => "WebKitWebProcess".to_owned(),
                "WebKitNetworkPr" => "WebKitNetworkProcess".to_owned(),
                other => other.to_owned(),
            };
            *by.entry(kind).or_default() += pss;
        }
        for (kind, pss) in by {
            self.pss_by_process.entry(kind).or_default().push(kib(pss));
        }
    }
}

pub struct Result {
    pub app: Side,
    pub baseline: Side,
    /// The baseline painted without GPU compositing (`NO_COMPOSITING`).
    pub same: Side,
    pub runs: usize,
    /// Making sandbox mode's two key pairs, once per run: what an install's very first
    /// start adds (ms).
    pub keygen_ms: Vec<f64>,
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The release binaries `make bench` builds: `target/release/<name>`.
pub fn release_binary(root: &Path, name: &str) -> PathBuf {
    target_dir(root).join("release").join(name)
}

/// `runs` launches of each, rotating which goes first, after one discarded launch of each
/// (it pays for the session's accessibility bus and portal starting, and for the OS reading
/// the binaries and WebKit from disk for the first time). `same` is the baseline painted
/// without GPU compositing.
pub fn run(app: &Subject, baseline: &Subject, same: &Subject, runs: usize) -> Result {
    for s in [app, baseline, same] {
        assert!(
            s.binary.exists(),
            "{} must be built first: cargo build --release -p redeemdesk -p redeemdesk-baseline",
            s.binary.display()
        );
    }
    assert!(
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some(),
        "benchmark 5 needs a display: run it under xvfb-run and dbus-run-session (make bench does)"
    );
    for s in [app, baseline, same] {
        launch(s);
    }
    let mut sides = [Side::default(), Side::default(), Side::default()];
    let subjects = [app, baseline, same];
    for i in 0..runs {
        for k in 0..3 {
            let j = (i + k) % 3;
            let l = launch(subjects[j]);
            eprintln!(
                "  {}: ready {:.0} ms, Pss {:.1} MiB",
                subjects[j].name,
                l.ready_ms,
                l.processes.iter().map(|p| p.2).sum::<u64>() as f64 / 1024.0
            );
            sides[j].add("main process", l);
        }
    }
    let keygen_ms = (0..runs)
        .map(|_| {
            let t = Instant::now();
            AllinpayKeys::generate().expect("RSA key generation");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let [a, b, c] = sides;
    Result {
        app: a,
        baseline: b,
        same: c,
        runs,
        keygen_ms,
    }
}

fn launch(subject: &Subject) -> Launch {
    let dir = tempfile::tempdir().expect("temp dir");
    if let Some(keys) = &subject.sandbox_keys {
        keys.write(&dir.path().join("data").join(KEYS_DIR))
            .expect("the sandbox key pairs written");
    }
    let log = dir.path().join("stderr.log");
    let started = Instant::now();
    let epoch_ms =
        redeemdesk_core::clock::Clock::now_ms(&redeemdesk_core::clock::SystemClock) as f64;
    let mut child = Command::new(&subject.binary)
        .env("REDEEMDESK_READY_PROBE", "1")
        .env("REDEEMDESK_DATA_DIR", dir.path().join("data"))
        .envs(subject.env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("stderr log"))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{} must start: {e}", subject.binary.display()));
    let group = Pid::from_raw(child.id() as i32);
    let stop = Stop(Some(group));
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if let Some(state) = line.strip_prefix("redeemdesk-ready ") {
                let _ = tx.send(state.to_owned());
            }
        }
    });
    let state = rx.recv_timeout(READY_TIMEOUT).unwrap_or_else(|_| {
        panic!(
            "{} gave no ready line within {READY_TIMEOUT:?}; its stderr: {}",
            subject.name,
            tail(&log)
        )
    });
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut words = state.split_whitespace();
    let state = words.next().unwrap_or_default().to_owned();
    let clock: Vec<f64> = words.filter_map(|w| w.parse().ok()).collect();
    let phases = match clock[..] {
        [origin, loaded, set, painted] if loaded > 0.0 => {
            Some([origin - epoch_ms, loaded, set - loaded, painted - set])
        }
        _ => None,
    };
    assert_eq!(
        state,
        subject.ready,
        "{} did not start cleanly; its stderr: {}",
        subject.name,
        tail(&log)
    );
    std::thread::sleep(SETTLE);
    let processes = tree(child.id())
        .into_iter()
        .filter_map(|pid| memory(pid).map(|(rss, pss)| (comm(pid), rss, pss)))
        .collect::<Vec<_>>();
    assert!(
        processes.iter().any(|p| p.0.starts_with("WebKitWebProces")),
        "{}: no WebKitWebProcess below the app: {processes:?}",
        subject.name
    );
    stop.end(&mut child);
    Launch {
        ready_ms,
        phases,
        processes,
    }
}

/// The pid and all its descendants, the pid first.
fn tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let Some(ppid) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
            })
        else {
            continue;
        };
        children.entry(ppid).or_default().push(pid);
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(c) = children.get(&out[i]) {
            out.extend(c);
        }
        i += 1;
    }
    out
}

/// Rss and Pss of one process in KiB.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
    };
    Some((field("Rss:")?, field("Pss:")?))
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn tail(log: &Path) -> String {
    let s = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Stops the app's process group (the app and the WebKit processes it started) when
/// dropped, so a panicking bench leaves nothing running.
struct Stop(Option<Pid>);

impl Stop {
    /// SIGTERM to the launch's process group, then its leader reaped: until it is, the
    /// leader is a zombie and the group still "exists" (that waited out the whole grace
    /// period on every launch, 5 s each). Then the rest of the group (the WebKit processes
    /// leave with their parent) is given the same grace before SIGKILL.
    fn end(mut self, child: &mut Child) {
        let Some(group) = self.0.take() else { return };
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let _ = child.wait();
        }
        Stop::wait_gone(group, deadline);
    }

    fn wait_gone(group: Pid, deadline: Instant) {
        while Instant::now() < deadline {
            if killpg(group, None).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = killpg(group, Signal::SIGKILL);
    }
}

/// A launch that panicked half-way still stops its whole process group.
impl Drop for Stop {
    fn drop(&mut self) {
        let Some(group) = self.0.take() else { return };
        let _ = killpg(group, Signal::SIGTERM);
        Stop::wait_gone(group, Instant::now() + Duration::from_secs(5));
    }
}

fn show_ms(r: &Range) -> String {
    format!(
        "{:.0} ms ({:.0} – {:.0}, {} runs)",
        r.median, r.min, r.max, r.runs
    )
}

fn show_mib(r: &Range) -> String {
    format!(
        "{:.1} MiB ({:.1} – {:.1}, {} runs)",
        r.median, r.min, r.max, r.runs
    )
}

/// The three ratios of medians (RedeemDesk / baseline): start-up, Rss, Pss.
pub fn ratios(r: &Result) -> [f64; 3] {
    ratios_to(&r.app, &r.baseline)
}

fn ratios_to(app: &Side, baseline: &Side) -> [f64; 3] {
    let m = |v: &[f64]| stats::range(v).median;
    [
        m(&app.ready_ms) / m(&baseline.ready_ms),
        m(&app.rss_mib) / m(&baseline.rss_mib),
        m(&app.pss_mib) / m(&baseline.pss_mib),
    ]
}

fn verdict(ratio: f64) -> &'static str {
    if ratio <= TARGET {
        "met"
    } else {
        "**missed**"
    }
}

fn phase(side: &Side, i: usize) -> String {
    let v = &side.phases[i];
    if v.is_empty() {
        "—".into()
    } else {
        format!("{:.0}", stats::range(v).median)
    }
}

pub fn markdown(r: &Result) -> String {
    let [t, rss, pss] = ratios(r);
    let [st, srss, spss] = ratios_to(&r.app, &r.same);
    let row = |what: &str, f: &dyn Fn(&Side) -> String, ratio: f64, same: f64| {
        format!(
            "| {what} | {} | {} | **{ratio:.2}** | {} | {} | {same:.2} |\n",
            f(&r.app),
            f(&r.baseline),
            verdict(ratio),
            f(&r.same)
        )
    };
    let mut md = format!(
        "## 5. Start-up and memory\n\n\
         RedeemDesk (release build, sandbox mode on a fresh data directory: the ledger \
         created, the embedded sandbox started, the cashier screen rendered; the directory \
         holds only sandbox mode's 通联 key pairs, which an install makes once, on its very \
         first start — timed below) against the \
         smallest Tauri 2 window (`crates/bench/baseline-app`: one page calling one command on \
         load and showing the answer) built by the same `cargo build --release` from the same \
         tauri. All run with `REDEEMDESK_READY_PROBE=1` (`src-tauri/ready_probe.rs`, one file \
         compiled into both): a line on stdout two animation frames after the page sets \
         `body[data-ready]`, i.e. once the screen showing it has been painted. **Start-up** is \
         the wall time from spawning the binary to that line. **Memory** is read {} s after \
         ready from `/proc/<pid>/smaps_rollup` of the app and every process below it \
         (WebKitWebProcess, WebKitNetworkProcess): Rss counts shared libraries once per \
         process, Pss shares them out. Xvfb and a private D-Bus session; one discarded launch \
         of each first, then {} launches of each, rotating which goes first. Median \
         (min – max).\n\n\
         The last two columns are the minimal window with `WEBKIT_DISABLE_COMPOSITING_MODE=1` \
         (WebKitGTK paints the page directly instead of compositing it through GL, which here \
         is Mesa's software GL), which is how RedeemDesk paints its own window \
         (`src-tauri/rendering.rs` sets that policy on its webview): the like-for-like \
         comparison. The target compares against the minimal window as built, with WebKit's \
         default.\n\n\
         | what | RedeemDesk | minimal Tauri window | ratio | target ≤ {TARGET} | minimal window, no compositing | ratio to it |\n\
         |---|---|---|---|---|---|---|\n{}{}{}\n\
         Where the start-up goes (median ms, from the page's own clock: \
         `performance.timeOrigin`, DOMContentLoaded, `performance.now()` when `data-ready` \
         is set and two frames later):\n\n\
         | phase | RedeemDesk | minimal Tauri window | no compositing |\n|---|---|---|---|\n\
         | launch → the page starts loading (Rust start-up, window, WebKit processes) | {} | {} | {} |\n\
         | → DOMContentLoaded (HTML, scripts, styles) | {} | {} | {} |\n\
         | → `data-ready` set (first command answered, screen's DOM built) | {} | {} | {} |\n\
         | → painted (style, layout, paint: two frames) | {} | {} | {} |\n\n\
         Pss by process (median MiB):\n\n\
         | process | RedeemDesk | minimal Tauri window | no compositing |\n|---|---|---|---|\n",
        SETTLE.as_secs(),
        r.runs,
        row(
            "launch → ready for a scan",
            &|s| show_ms(&stats::range(&s.ready_ms)),
            t,
            st
        ),
        row(
            "Rss, whole process tree",
            &|s| show_mib(&stats::range(&s.rss_mib)),
            rss,
            srss
        ),
        row(
            "Pss, whole process tree",
            &|s| show_mib(&stats::range(&s.pss_mib)),
            pss,
            spss
        ),
        phase(&r.app, 0),
        phase(&r.baseline, 0),
        phase(&r.same, 0),
        phase(&r.app, 1),
        phase(&r.baseline, 1),
        phase(&r.same, 1),
        phase(&r.app, 2),
        phase(&r.baseline, 2),
        phase(&r.same, 2),
        phase(&r.app, 3),
        phase(&r.baseline, 3),
        phase(&r.same, 3),
    );
    let mut kinds: Vec<&String> = r.app.pss_by_process.keys().collect();
    for k in r
        .baseline
        .pss_by_process
        .keys()
        .chain(r.same.pss_by_process.keys())
    {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let cell = |side: &Side, k: &String| {
        side.pss_by_process
            .get(k)
            .map(|v| format!("{:.1}", stats::range(v).median))
            .unwrap_or_else(|| "—".into())
    };
    for k in kinds.iter() {
        md.push_str(&format!(
            "| {k} | {} | {} | {} |\n",
            cell(&r.app, k),
            cell(&r.baseline, k),
            cell(&r.same, k)
        ));
    }
    if t > TARGET {
        md.push_str(&format!(
            "\n**Start-up gap.** {} ({t:.2}× against ≤ {TARGET}×).\n",
            largest_phase(&r.app, &r.baseline, "the minimal window")
        ));
    }
    if rss.max(pss) > TARGET {
        md.push_str(&format!(
            "\n**Memory gap** ({:.2}× against ≤ {TARGET}×): {}. The web process holds the \
             page's DOM, styles and script heap; the main process holds the embedded sandbox \
             (the five channel emulators a fresh install runs against), the ledger's SQLite \
             cache, the async runtime and the log writer; a desk in live mode runs no \
             sandbox.\n",
            rss.max(pss),
            memory_parts(&r.app, &r.baseline)
        ));
    }
    md.push_str(&format!(
        "\n**An install's very first start** also makes sandbox mode's two 通联 RSA-2048 key \
         pairs (then reads them back from `sandbox-keys/`): {} (RSA key generation \
         searches for primes, so its time varies), once per install.\n",
        show_ms(&stats::range(&r.keygen_ms))
    ));
    md.push_str(&format!(
        "\n**Against the minimal window without compositing** ({st:.2}× start-up, \
         {spss:.2}× Pss): {}. Memory: {}.\n",
        largest_phase(&r.app, &r.same, "that window"),
        memory_parts(&r.app, &r.same)
    ));
    md
}

/// What to do about each phase of the start-up when it is where the difference is.
const PHASE_FIX: [(&str, &str); 4] = [
    (
        "the Rust side's start-up before the page loads",
        "the ledger and the embedded sandbox already open beside the window system's start; \
         what is left is the larger binary and its libraries loading, and the join in `setup` \
         when the desk takes longer than GTK",
    ),
    (
        "loading the page's HTML, scripts and styles",
        "fewer modules before the first screen (the manager side is already imported on \
         first use; the English table and the sale form could be too) — every module is one \
         request through the app protocol",
    ),
    (
        "the first command and building the screen's DOM",
        "build less DOM before ready: the hidden panels on demand",
    ),
    (
        "the first style, layout and paint of the cashier screen",
        "a cheaper first frame: fewer elements, borders and text runs styled before ready \
         (the hidden panels and the recent strip could be built after the first paint). \
         Already done: GPU compositing off (its first frame cost about 300 ms here), the \
         system's sans-serif instead of a named CJK font list (about 90 ms)",
    ),
];

/// The phase where `app` loses most to `other`, how much, and what would close it.
fn largest_phase(app: &Side, other: &Side, name: &str) -> String {
    let diffs: Vec<f64> = (0..4)
        .map(|i| {
            let m = |s: &Side| (!s.phases[i].is_empty()).then(|| stats::range(&s.phases[i]).median);
            m(app).zip(m(other)).map_or(0.0, |(a, b)| a - b)
        })
        .collect();
    let total = stats::range(&app.ready_ms).median - stats::range(&other.ready_ms).median;
    let Some((worst, d)) = diffs
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
    else {
        return String::new();
    };
    let (what, fix) = PHASE_FIX[worst];
    format!(
        "RedeemDesk is ready {total:.0} ms after {name}; the largest part, {d:.0} ms, is \
         {what}. What would shorten it: {fix}"
    )
}

/// Pss differences per kind of process above 1 MiB, `WebKitWebProcess −40 MiB, …`.
fn memory_parts(app: &Side, other: &Side) -> String {
    let parts: Vec<String> = app
        .pss_by_process
        .iter()
        .map(|(k, v)| {
            let base = other
                .pss_by_process
                .get(k)
                .map_or(0.0, |b| stats::range(b).median);
            (k, stats::range(v).median - base)
        })
        .filter(|(_, d)| d.abs() > 1.0)
        .map(|(k, d)| format!("{k} {}{:.0} MiB", if d > 0.0 { "+" } else { "−" }, d.abs()))
        .collect();
    if parts.is_empty() {
        "no process differs by more than 1 MiB".into()
    } else {
        parts.join(", ")
    }
}
