//! The end-to-end harness: starts `tauri-driver` (which starts WebKitWebDriver, which starts
//! the real app binary) in a process group of its own, opens a WebDriver session on the app
//! and stops the whole group by its id when the test ends, pass or fail. Needs a display
//! (`make e2e` runs the tests under `xvfb-run` and a private D-Bus session).

use fantoccini::{Client, ClientBuilder, Locator};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long the app may take from launch to a ready screen (a debug build on a busy
/// 2-core machine is slow to start; a healthy one answers in well under a second).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the manager's PIN dialog and first screen may take to appear.
const MANAGER_WAIT: Duration = Duration::from_secs(15);
/// How long a screen may take to show an answer the sandbox gives at once.
pub const QUICK: Duration = Duration::from_secs(15);
/// A keyboard-wedge scanner's gap between keys.
pub const SCANNER: Duration = Duration::from_millis(2);
/// WebDriver's Enter key.
pub const ENTER: &str = "\u{E007}";

/// How many uses of `code` the app's embedded sandbox consumed: its ground truth, from the
/// state file it rewrites after every change in `data_dir` (read it once the app, and with
/// it the sandbox, has closed). No file means its state never changed: nothing consumed.
pub fn sandbox_consumed(data_dir: &Path, code: &str) -> u64 {
    let path = data_dir.join(redeemdesk_sandbox::boot::SANDBOX_STATE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return 0,
        Err(e) => panic!("the sandbox's state file {}: {e}", path.display()),
    };
    let state: serde_json::Value = serde_json::from_slice(&bytes).expect("the state file is JSON");
    state["truth"]
        .as_array()
        .map(|truth| {
            truth
                .iter()
                .filter(|c| c["code"] == code)
                .map(|c| c["count"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

/// The app binary under test: `$REDEEMDESK_APP_BIN`, or the workspace's debug build.
pub fn app_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("REDEEMDESK_APP_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("debug/redeemdesk")
}

/// Where screenshots go: `target/e2e/` at the workspace root.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e must be creatable");
    dir
}

/// The demo secrets that must never reach a screen, the ledger, the log or an export: the
/// demo data's shared secrets and a line of each allinpay private key the app made in
/// `data_dir/sandbox-keys/` on its first start (the one place those keys belong).
pub fn sandbox_secrets(data_dir: &Path) -> Vec<String> {
    use redeemdesk_sandbox::demo_keys::{AllinpayKeys, KEYS_DIR};
    let keys = AllinpayKeys::read(&data_dir.join(KEYS_DIR))
        .expect("the app made its sandbox key pairs on its first start");
    // With the install's pairs: embedded() would make this process's own pairs for nothing.
    let demo =
        redeemdesk_sandbox::DemoData::embedded_with(keys.clone()).expect("the embedded demo data");
    // A line from the middle of the PEM: base64 of the key itself, not its frame.
    let line = |pem: String| pem.lines().nth(3).expect("a PEM key").to_owned();
    vec![
        demo.shoubei.key.clone(),
        demo.zvcms.secret.clone(),
        demo.liantuofu.key.clone(),
        line(keys.merchant_private_pem()),
        line(keys.platform_private_pem()),
    ]
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One running app with a WebDriver session on it.
pub struct Desk {
    pub client: Client,
    /// The driver's process group; dropping the desk (a test that panicked) kills it, so a
    /// failed test never leaves a driver and an app running behind it.
    driver: GroupGuard,
    pub data_dir: PathBuf,
}

/// How to launch the app.
pub struct Launch {
    pub data_dir: PathBuf,
    /// Run the app through a wrapper that writes its exit code to this file (the driver
    /// itself never reports the application's exit status).
    pub exit_code_file: Option<PathBuf>,
    /// The app's log level (`REDEEMDESK_LOG`).
    pub log: &'static str,
    /// More environment for the app (e.g. `REDEEMDESK_EXPORT_DIR`, the export test seam).
    pub env: Vec<(&'static str, String)>,
}

impl Launch {
    /// A normal launch on `data_dir`.
    pub fn at(data_dir: PathBuf) -> Launch {
        Launch {
            data_dir,
            exit_code_file: None,
            log: "info",
            env: Vec::new(),
        }
    }
}

impl Desk {
    /// Starts the driver and the app, and waits until the UI says it is ready
    /// (`body[data-ready]`).
    ///
    /// When several apps start on a loaded machine, tauri-driver now and then cuts the
    /// session request before the app has started (an incomplete HTTP message); that first
    /// failure is retried once on fresh ports, and said so, and a second one fails the test.
    pub async fn launch(launch: Launch) -> Desk {
        match Desk::launch_once(&launch).await {
            Ok(desk) => desk,
            Err(e) => {
                eprintln!("the WebDriver session did not start ({e}); launching once more");
                tokio::time::sleep(Duration::from_secs(1)).await;
                Desk::launch_once(&launch)
                    .await
                    .unwrap_or_else(|e| panic!("a WebDriver session on the app, twice: {e}"))
            }
        }
    }

    async fn launch_once(launch: &Launch) -> Result<Desk, String> {
        let port = free_port();
        let native_port = free_port();
        let application = match &launch.exit_code_file {
            None => app_binary(),
            Some(exit_file) => write_exit_code_wrapper(&launch.data_dir, exit_file),
        };
        let mut cmd = tokio::process::Command::new(tauri_driver());
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .env("REDEEMDESK_DATA_DIR", &launch.data_dir)
        .env("REDEEMDESK_LOG", launch.log)
        .envs(launch.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .kill_on_drop(false);
        let child = cmd
            .spawn()
            .expect("tauri-driver must start (make e2e installs it)");
        let driver_group = Pid::from_raw(child.id().expect("driver pid") as i32);
        // From here on, a panic must still stop the driver: the guard does it.
        let guard = GroupGuard(Some(driver_group));
        // tauri-driver starts WebKitWebDriver and at once serves, forwarding to it: a
        // session asked for before WebKitWebDriver listens is cut ("SendRequest"). That
        // happened when the machine was slow, e.g. in bench 7 right after it copied a
        // 3.9 GB ledger (twice in a row once, so the retry below failed too).
        wait_for_port(port, "tauri-driver").await;
        wait_for_port(native_port, "WebKitWebDriver").await;

        let caps: serde_json::Map<String, serde_json::Value> =
            serde_json::from_value(serde_json::json!({
                "tauri:options": { "application": application }
            }))
            .expect("capabilities are a JSON object");
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| e.to_string())?;
        client
            .wait()
            .at_most(READY_TIMEOUT)
            .for_element(Locator::Css("body[data-ready]"))
            .await
            .expect("the UI reports ready within the timeout");
        Ok(Desk {
            client,
            driver: guard,
            data_dir: launch.data_dir.clone(),
        })
    }

    /// Sets the first manager PIN through the IPC, then opens the manager side the way a
    /// manager does: F9, the name and the PIN in the dialog, Enter; returns on 流水.
    /// (The set-PIN form itself is driven key by key in the manager e2e tests.)
    pub async fn set_pin_and_open_manager(&self, name: &str, pin: &str) {
        let set = self
            .invoke(
                "set_manager_pin",
                serde_json::json!({"current": null, "newPin": pin, "name": name}),
            )
            .await;
        assert!(set.is_null(), "the first manager PIN is set: {set}");
        self.open_manager(name, pin).await;
    }

    /// Opens the manager side of a desk that has a manager PIN: F9, the name and the PIN in
    /// the dialog, Enter; returns on 流水.
    pub async fn open_manager(&self, name: &str, pin: &str) {
        self.scan("\u{E039}", Duration::from_millis(2)).await; // F9
        self.wait_until(
            "document.body.dataset.screen === 'manager-pin' && \
             document.getElementById('manager-pin').dataset.mode === 'unlock'",
            MANAGER_WAIT,
            "the PIN dialog",
        )
        .await;
        self.client
            .execute(
                "document.getElementById('pin-name').value = arguments[0];
                 const i = document.getElementById('pin-input'); i.focus(); i.value = arguments[1];
                 return true",
                vec![serde_json::json!(name), serde_json::json!(pin)],
            )
            .await
            .expect("the PIN typed");
        self.scan("\u{E007}", Duration::from_millis(2)).await; // Enter
        self.wait_until(
            "document.body.dataset.screen === 'manager-log'",
            MANAGER_WAIT,
            "the manager log after unlocking",
        )
        .await;
    }

    /// Chooses `day` (YYYY-MM-DD) in the manager's 流水 date picker the way the picker does
    /// (value, then its change event); the caller waits for what it needs to see.
    pub async fn pick_log_day(&self, day: &str) {
        self.js(&format!(
            "const d = document.getElementById('log-day'); d.value = '{day}'; \
             d.dispatchEvent(new Event('change', {{bubbles: true}})); return true;"
        ))
        .await;
    }

    /// Calls a command through the page's real IPC bridge and returns its answer, or
    /// `{"error": …}` when it was refused.
    pub async fn invoke(&self, cmd: &str, args: serde_json::Value) -> serde_json::Value {
        self.client
            .execute_async(
                "const [cmd, args, done] = arguments;
                 window.__TAURI__.core.invoke(cmd, args).then(done, (e) => done({error: e}));",
                vec![serde_json::Value::String(cmd.into()), args],
            )
            .await
            .unwrap_or_else(|e| panic!("{cmd} through the IPC: {e}"))
    }

    /// Pairs of visible elements matching `css` whose boxes overlap, and elements reaching
    /// past the window's right edge, as "a ⟷ b" / "a → edge" lines (empty when the layout
    /// holds). For rows of controls that must all stay readable and clickable.
    pub async fn overlaps(&self, css: &str) -> Vec<String> {
        let found = self
            .client
            .execute(
                "const els = [...document.querySelectorAll(arguments[0])]
                   .filter((e) => e.getClientRects().length > 0);
                 const name = (e) => (e.id || e.className) + ' “' + e.textContent.trim() + '”';
                 const out = [];
                 els.forEach((a, i) => {
                   const r = a.getBoundingClientRect();
                   if (r.right > window.innerWidth + 0.5) out.push(name(a) + ' → edge');
                   for (const b of els.slice(i + 1)) {
                     if (a.contains(b) || b.contains(a)) continue;
                     const q = b.getBoundingClientRect();
                     if (r.left < q.right - 0.5 && q.left < r.right - 0.5 &&
                         r.top < q.bottom - 0.5 && q.top < r.bottom - 0.5)
                       out.push(name(a) + ' ⟷ ' + name(b));
                   }
                 });
                 return out;",
                vec![serde_json::json!(css)],
            )
            .await
            .expect("layout read");
        serde_json::from_value(found).expect("a list of strings")
    }

    /// Text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} must exist: {e}"))
            .text()
            .await
            .expect("element text")
    }

    /// Clicks the element `css` finds. A screen that re-renders between the find and the
    /// click (a list reloaded by a desk event) leaves a stale node: found again, up to twice.
    pub async fn click(&self, css: &str) {
        for attempt in 0..3 {
            let found = self
                .client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css} must exist: {e}"));
            match found.click().await {
                Ok(_) => return,
                Err(e) if attempt < 2 && e.to_string().contains("was not found") => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{css} must be clickable: {e}"),
            }
        }
    }

    /// Types `keys` into the focused element the way a keyboard-wedge scanner does: a key
    /// down and up per character with `per_key` between characters, all in one WebDriver
    /// actions call, so the gap is the scanner's and not an HTTP round trip's. WebDriver key
    /// codes: `\u{E007}` Enter, `\u{E006}` Return, `\u{E004}` Tab, `\u{E00C}` Escape.
    pub async fn scan(&self, keys: &str, per_key: Duration) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut seq = KeyActions::new("scanner".into());
        for (i, ch) in keys.chars().enumerate() {
            if i > 0 {
                seq = seq.pause(per_key);
            }
            seq = seq
                .then(KeyAction::Down { value: ch })
                .then(KeyAction::Up { value: ch });
        }
        self.client
            .perform_actions(seq)
            .await
            .unwrap_or_else(|e| panic!("typing {keys:?}: {e}"));
        let _ = self.client.release_actions().await;
    }

    /// Waits for the preview, then as long as a person takes to look at it: an Enter right
    /// behind the scan's own terminator would be the LF of a CRLF, which the screen swallows.
    pub async fn wait_preview(&self) {
        self.wait_until(
            "!document.getElementById('preview-panel').hidden && \
             document.getElementById('preview-panel').dataset.busy !== 'true'",
            QUICK,
            "the preview",
        )
        .await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    /// Waits for the result panel to show `state` (succeeded, rejected, unknown, idle…).
    pub async fn wait_result(&self, state: &str, timeout: Duration) {
        self.wait_until(
            &format!(
                "!document.getElementById('result-panel').hidden && \
                 document.getElementById('result-panel').dataset.state === '{state}'"
            ),
            timeout,
            &format!("the result panel to show {state}"),
        )
        .await;
    }

    /// Scans `code` at scanner speed, waits for the preview, confirms with Enter and waits
    /// for the result panel to show `state`.
    pub async fn scan_and_redeem(&self, code: &str, state: &str) {
        self.scan(&format!("{code}{ENTER}"), SCANNER).await;
        self.wait_preview().await;
        self.scan(ENTER, SCANNER).await;
        self.wait_result(state, QUICK).await;
    }

    /// Every text the window shows that is ours: visible text nodes, placeholders, titles and
    /// labels, leaving out what is marked as someone else's (`data-theirs`: the channel's own
    /// text, a person's name, a code) or deliberately in both languages (`data-bilingual`).
    pub async fn our_visible_texts(&self) -> Vec<String> {
        let v = self
            .js(r#"
                const shown = (e) => e.getClientRects().length > 0
                    && getComputedStyle(e).visibility !== 'hidden';
                const skip = (e) => e.closest('[data-theirs], [data-bilingual], script, style, template');
                const out = [];
                const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
                while (w.nextNode()) {
                    const p = w.currentNode.parentElement;
                    const s = w.currentNode.textContent.trim();
                    if (s && p && !skip(p) && shown(p)) out.push(s);
                }
                for (const e of document.querySelectorAll('[placeholder], [title], [aria-label]')) {
                    if (skip(e) || !shown(e)) continue;
                    for (const a of ['placeholder', 'title', 'aria-label']) {
                        const s = (e.getAttribute(a) || '').trim();
                        if (s) out.push(s);
                    }
                }
                return out;"#)
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Polls `script` (an expression) until it is truthy, then returns its value; panics
    /// with `what` after `timeout`.
    pub async fn wait_until(
        &self,
        script: &str,
        timeout: Duration,
        what: &str,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        let body = format!("return ({script});");
        loop {
            // A script that answers an element the page re-renders in the same moment gets
            // "stale element" back: that is a poll to repeat, not an answer.
            let v = match self.client.execute(&body, vec![]).await {
                Ok(v) => v,
                Err(e) if e.to_string().contains("tale element") => serde_json::Value::Null,
                Err(e) => panic!("script {body:?}: {e}"),
            };
            let truthy = !matches!(&v, serde_json::Value::Null | serde_json::Value::Bool(false))
                && v != serde_json::json!(0)
                && v != serde_json::json!("");
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                // What the window showed, so a failure on a loaded machine can be read
                // from the log without rerunning it.
                let page = self
                    .js("return [document.body.dataset.screen, \
                         JSON.stringify(window.__redeemdesk_stats || null), \
                         document.body.innerText.slice(0, 600)].join(' | ');")
                    .await;
                panic!("waited {timeout:?} for {what} ({script}); the window showed: {page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot as `target/e2e/<name>.png` after two animation frames, so the
    /// picture shows the DOM as it is now and not a frame behind.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        // WebKit's automation screenshot waits for the next presentation update. The app
        // paints without GPU compositing (src-tauri/rendering.rs), and then an update comes
        // only with a repaint: on a still screen (the fatal one) the request never returns.
        // A 1-pixel, near-transparent corner mark repainted every frame keeps the updates
        // coming until the shot is taken; it is removed right after.
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 const mark = document.createElement('div');
                 mark.id = 'e2e-repaint-mark';
                 mark.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none';
                 document.documentElement.append(mark);
                 let n = 0;
                 const tick = () => {
                   if (!mark.isConnected) return;
                   mark.style.background = n++ % 2 ? 'rgba(0,0,0,0.01)' : 'rgba(0,0,0,0.02)';
                   requestAnimationFrame(tick);
                 };
                 tick();
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await
            .expect("animation frames run");
        let png = self.client.screenshot().await;
        let _ = self
            .client
            .execute(
                "document.getElementById('e2e-repaint-mark')?.remove()",
                vec![],
            )
            .await;
        let png = png.expect("a screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// Ends the session (the driver closes the app) and stops the driver's process group.
    pub async fn close(self) {
        let Desk {
            client, mut driver, ..
        } = self;
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        if let Some(group) = driver.0.take() {
            stop_group(group).await;
        }
    }
}

/// Kills a process group on drop: after a panic anywhere between spawning the driver and
/// closing the desk.
struct GroupGuard(Option<Pid>);
impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            let _ = killpg(g, Signal::SIGKILL);
        }
    }
}

async fn stop_group(group: Pid) {
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        // killpg with no signal tells whether any process of the group is left.
        if killpg(group, None).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = killpg(group, Signal::SIGKILL);
}

fn tauri_driver() -> PathBuf {
    std::env::var_os("TAURI_DRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

async fn wait_for_port(port: u16, server: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{server} did not listen on port {port} within 20 s");
}

/// A shell wrapper that runs the app and records its exit status. It forwards TERM to the
/// app so that a driver stopping the wrapper also stops the app.
fn write_exit_code_wrapper(dir_hint: &Path, exit_file: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let parent = exit_file.parent().unwrap_or(dir_hint);
    let wrapper = parent.join("redeemdesk-wrapper.sh");
    let script = format!(
        "#!/bin/sh\n\"{app}\" \"$@\" &\nchild=$!\ntrap 'kill -TERM $child' TERM INT\nwait $child\necho $? > \"{exit}\"\n",
        app = app_binary().display(),
        exit = exit_file.display()
    );
    std::fs::write(&wrapper, script).expect("wrapper written");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
        .expect("wrapper executable");
    wrapper
}

/// Waits for a file to appear and returns its trimmed content.
pub async fn wait_for_file(path: &Path, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(s) = std::fs::read_to_string(path) {
            if !s.trim().is_empty() {
                return Some(s.trim().to_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// A Chinese character (CJK unified ideographs, their extension A, and CJK punctuation).
pub fn has_han(s: &str) -> bool {
    s.chars().any(|c| {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
            || ('\u{3400}'..='\u{4dbf}').contains(&c)
            || ('\u{3000}'..='\u{303f}').contains(&c)
            || ('\u{ff01}'..='\u{ff5e}').contains(&c)
    })
}

/// English words of ours in a Chinese screen: a run of three or more Latin letters that is
/// not one of the few names the Chinese UI uses as they are (PIN, SANDBOX, key names…).
pub fn english_words(s: &str) -> Vec<String> {
    const KEPT: &[&str] = &[
        "PIN", "SANDBOX", "CSV", "XLSX", "Enter", "Esc", "Tab", "Ctrl", "ESC", "POS", "USB",
        "HTTP", "HTTPS", "TCP", "URL", "UUID", "SHA", "PNG", "GBK", "UTF", "RSA", "MD5", "API",
        "HQ", "ID", "HTML", "JSON", "Excel", "OpenId", "AppId", "Token", "PEM",
    ];
    s.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3 && !KEPT.contains(w))
        .map(str::to_owned)
        .collect()
}
