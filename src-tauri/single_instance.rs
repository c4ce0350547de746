//! One desk per data directory: a second launch on the same directory brings the running
//! window to the front and exits (the data directory's lock is the backstop).
//!
//! On Linux the running desk listens on an abstract Unix socket named after the data
//! directory ([`data_dir::instance_id`]). The kernel frees an abstract name with the process
//! that held it, so a crash leaves nothing behind, and no D-Bus session is needed. This
//! replaced tauri's single-instance plugin here, whose D-Bus client (zbus and some thirty
//! crates of its own) was a large share of the release build (docs/measurements.md).
//! Elsewhere the plugin still does the job ([`with_plugin`]). The platform differences stay in this file: `run` calls the same
//! four things everywhere.
//!
//! Any local process, of any user, can bind or connect to an abstract name, so neither
//! side trusts the other without checking: the listener serves only connections whose peer
//! is our own uid (`SO_PEERCRED`) and gives each one a short read timeout, so a connection
//! held open blocks nothing; a second launch hands over only to a
//! listener of our uid that acknowledges within a second, and otherwise says why on stderr
//! and on the window (a start-up warning) and runs on: the data directory's lock then
//! decides, and when the first desk holds it the start-up page says the directory is in
//! use and the launch exits with status 2. Nothing is ever left waiting: the hand-over has
//! a deadline, and quitting does not wait for the listener more than a moment.

use redeemdesk_core::data_dir;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;
use tauri::{AppHandle, Builder, Manager, Runtime};

/// How long a second launch waits for the running desk's acknowledgement.
const HAND_OVER_DEADLINE: Duration = Duration::from_millis(1_500);
/// How long the listener waits for a connection's message before dropping it.
const READ_TIMEOUT: Duration = Duration::from_millis(500);
/// How long quitting waits for the listener to give the name back; then it goes on.
const STOP_WAIT: Duration = Duration::from_millis(1_000);

/// Brings the desk's window to the front (a second launch asked for it).
fn focus<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// The single-instance name for the data directory this launch would use.
fn instance_id() -> String {
    match data_dir::resolve() {
        Ok(root) => data_dir::instance_id(&root),
        Err(_) => data_dir::APP_IDENTIFIER.to_owned(),
    }
}

type Raise = Box<dyn Fn() + Send + Sync>;

/// What a second launch does to this desk, set once its window exists.
#[derive(Clone, Default)]
pub struct RaiseSlot(Arc<OnceLock<Raise>>);

impl RaiseSlot {
    /// From now on a second launch raises this app's window.
    pub fn attach<R: Runtime>(&self, app: AppHandle<R>) {
        self.set(Box::new(move || focus(&app)));
    }

    fn set(&self, raise: Raise) {
        let _ = self.0.set(raise);
    }

    fn raise(&self) {
        // Before the window exists there is nothing to raise: it opens focused anyway.
        if let Some(raise) = self.0.get() {
            raise();
        }
    }
}

/// Why this launch could not hand over to the desk that holds its name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreachable {
    #[error("另一个用户（uid {uid}）的程序占用了核销台的单实例名称：再次启动不会切换到已运行的窗口。 A program of another user (uid {uid}) holds RedeemDesk's single-instance name: a second launch cannot bring the running window forward.")]
    OtherUser { uid: u32 },
    #[error("占用核销台单实例名称的程序没有应答：再次启动不会切换到已运行的窗口。 The program holding RedeemDesk's single-instance name does not answer: a second launch cannot bring the running window forward.")]
    NoAnswer,
}

impl Unreachable {
    pub fn code(&self) -> &'static str {
        match self {
            Unreachable::OtherUser { .. } => "instance_name_taken",
            Unreachable::NoAnswer => "instance_no_answer",
        }
    }
}

/// What became of this launch's claim on its data directory's name.
pub enum Claim {
    /// The desk running on this directory acknowledged and comes to the front: exit.
    HandedOver,
    /// This launch goes on, listening for later ones or, when the name is not usable, alone.
    Run(Instance),
}

/// The running desk's claim on its name. Dropping it gives the name back: the app drops it
/// before a restart starts the new process, which would otherwise find this one.
pub struct Instance {
    name: String,
    raise: RaiseSlot,
    /// The thread that answers second launches (none where the plugin does it, or when
    /// the name could not be had).
    listening: Option<Listening>,
    /// Why the name could not be had, to say so.
    problem: Option<Unreachable>,
}

/// The listener thread's stop flag, and word from it once the name is free.
struct Listening {
    stop: Arc<AtomicBool>,
    stopped: mpsc::Receiver<()>,
}

impl Instance {
    fn alone(name: &str, problem: Option<Unreachable>) -> Instance {
        Instance {
            name: name.to_owned(),
            raise: RaiseSlot::default(),
            listening: None,
            problem,
        }
    }

    /// Where the app says what a second launch does, once its window exists.
    pub fn raise_slot(&self) -> RaiseSlot {
        self.raise.clone()
    }

    /// Why this launch runs without the single-instance name, if it does.
    pub fn problem(&self) -> Option<&Unreachable> {
        self.problem.as_ref()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let Some(listening) = self.listening.take() else {
            return;
        };
        // The listener blocks in accept: flag the stop and wake it with a connection of our
        // own. It frees the name as it ends; wait for that a moment (a restart looks for
        // the name next), never longer: a connection held open must not hang a quit.
        listening.stop.store(true, Ordering::SeqCst);
        #[cfg(target_os = "linux")]
        linux::wake(&self.name);
        if listening.stopped.recv_timeout(STOP_WAIT).is_err() {
            tracing::warn!("the single-instance listener did not stop in time; quitting anyway");
        }
    }
}

/// Takes this data directory's name, or hands over to the desk that has it.
pub fn claim() -> Claim {
    claim_name(&instance_id())
}

fn claim_name(name: &str) -> Claim {
    #[cfg(target_os = "linux")]
    return linux::claim(name);
    #[cfg(not(target_os = "linux"))]
    return Claim::Run(Instance::alone(name, None));
}

/// Adds tauri's single-instance plugin where this file has no hand-over of its own. It
/// must be the builder's first plugin, as the plugin's docs require.
pub fn with_plugin<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    #[cfg(not(target_os = "linux"))]
    return builder.plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
        focus(app)
    }));
    #[cfg(target_os = "linux")]
    builder
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{
        Claim, Instance, Listening, RaiseSlot, Unreachable, HAND_OVER_DEADLINE, READ_TIMEOUT,
    };
    use std::io::{Read, Write};
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};

    /// What a second launch sends, and what the running desk answers once it has raised
    /// its window.
    const FOCUS: &[u8] = b"focus\n";
    const ACK: &[u8] = b"ok\n";

    fn address(name: &str) -> std::io::Result<SocketAddr> {
        SocketAddr::from_abstract_name(format!("{name}.instance"))
    }

    /// The uid of the process at the other end of `stream`.
    fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
        Ok(rustix::net::sockopt::socket_peercred(stream)?.uid.as_raw())
    }

    fn my_uid() -> u32 {
        rustix::process::getuid().as_raw()
    }

    /// What asking the holder of the name gave.
    #[derive(Debug)]
    pub(super) enum Asked {
        Acknowledged,
        /// Nobody listens on the name: it is free to bind.
        Free,
        Unreachable(Unreachable),
    }

    /// Asks the desk holding `name` to come to the front. The whole exchange has a
    /// deadline: even a connect that a full backlog would block cannot hold this launch.
    pub(super) fn hand_over(name: &str) -> Asked {
        let name = name.to_owned();
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("single-instance-ask".into())
            .spawn(move || {
                let _ = tx.send(ask(&name));
            });
        if spawned.is_err() {
            return Asked::Unreachable(Unreachable::NoAnswer);
        }
        // A thread stuck past the deadline is left behind: it holds nothing of ours.
        rx.recv_timeout(HAND_OVER_DEADLINE + READ_TIMEOUT)
            .unwrap_or(Asked::Unreachable(Unreachable::NoAnswer))
    }

    fn ask(name: &str) -> Asked {
        let stream = match address(name).and_then(|a| UnixStream::connect_addr(&a)) {
            Ok(s) => s,
            Err(_) => return Asked::Free,
        };
        match peer_uid(&stream) {
            Ok(uid) if uid == my_uid() => {}
            Ok(uid) => return Asked::Unreachable(Unreachable::OtherUser { uid }),
            Err(_) => return Asked::Unreachable(Unreachable::NoAnswer),
        }
        let mut stream = stream;
        let mut got = [0u8; ACK.len()];
        let answered = stream.set_read_timeout(Some(HAND_OVER_DEADLINE)).is_ok()
            && stream.set_write_timeout(Some(HAND_OVER_DEADLINE)).is_ok()
            && stream.write_all(FOCUS).is_ok()
            && stream.read_exact(&mut got).is_ok()
            && got == ACK;
        if answered {
            Asked::Acknowledged
        } else {
            Asked::Unreachable(Unreachable::NoAnswer)
        }
    }

    /// Wakes the listener of `name` (it then sees its stop flag).
    pub(super) fn wake(name: &str) {
        let _ = address(name).and_then(|a| UnixStream::connect_addr(&a));
    }

    /// Two launches at once: one binds, the other finds the name taken and hands over. An
    /// error (no abstract sockets at all) is logged and the launch goes on alone.
    pub(super) fn claim(name: &str) -> Claim {
        for _ in 0..3 {
            match hand_over(name) {
                Asked::Acknowledged => return Claim::HandedOver,
                Asked::Unreachable(why) => {
                    tracing::warn!(code = why.code(), "{why}");
                    return Claim::Run(Instance::alone(name, Some(why)));
                }
                Asked::Free => {}
            }
            match address(name).and_then(|a| UnixListener::bind_addr(&a)) {
                Ok(listener) => return Claim::Run(listen(name, listener)),
                // Taken between the two calls by a launch at the same moment: ask it.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => {
                    tracing::warn!("no single-instance name ({e}); this launch runs alone");
                    break;
                }
            }
        }
        Claim::Run(Instance::alone(name, None))
    }

    /// Serves one connection: our own uid only, its message within the read timeout.
    fn serve(mut stream: UnixStream, me: u32, raise: &RaiseSlot) {
        match peer_uid(&stream) {
            Ok(uid) if uid == me => {}
            other => {
                tracing::warn!(peer = ?other.ok(), "a connection from another user is ignored");
                return;
            }
        }
        let mut got = [0u8; FOCUS.len()];
        if stream.set_read_timeout(Some(READ_TIMEOUT)).is_ok()
            && stream.read_exact(&mut got).is_ok()
            && got == FOCUS
        {
            tracing::info!("a second launch on this data directory: the window comes to the front");
            raise.raise();
            let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
            let _ = stream.write_all(ACK);
        }
    }

    fn listen(name: &str, listener: UnixListener) -> Instance {
        let raise = RaiseSlot::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (stopped_tx, stopped) = mpsc::channel();
        let (raise2, stop2) = (raise.clone(), stop.clone());
        let me = my_uid();
        let thread = std::thread::Builder::new()
            .name("single-instance".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, me, &raise2);
                    }
                }
                // The name is free once the socket is closed; then say so.
                drop(listener);
                let _ = stopped_tx.send(());
            });
        Instance {
            name: name.to_owned(),
            raise,
            listening: thread.ok().map(|_| Listening { stop, stopped }),
            problem: None,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::super::{claim_name, Claim};
        use super::*;
        use std::os::unix::process::CommandExt;
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};

        fn unique(tag: &str) -> String {
            format!("redeemdesk.test.{tag}.{}", std::process::id())
        }

        fn running(claim: Claim) -> Instance {
            match claim {
                Claim::Run(i) => i,
                Claim::HandedOver => panic!("this launch must go on, not exit"),
            }
        }

        fn counting_raises(instance: &Instance) -> mpsc::Receiver<()> {
            let (raised, heard) = mpsc::channel();
            let raised = std::sync::Mutex::new(raised);
            instance.raise_slot().set(Box::new(move || {
                let _ = raised.lock().unwrap().send(());
            }));
            heard
        }

        #[test]
        fn a_second_claim_raises_the_first_and_the_name_is_free_once_the_first_is_dropped() {
            let name = unique("claim");
            let first = running(claim_name(&name));
            assert!(first.listening.is_some(), "the first claim listens");
            let heard = counting_raises(&first);
            assert!(
                matches!(claim_name(&name), Claim::HandedOver),
                "a second launch on the same directory hands over"
            );
            heard
                .recv_timeout(Duration::from_secs(5))
                .expect("the first desk is asked to come to the front");
            let other = running(claim_name(&unique("other")));
            drop(first);
            assert!(
                matches!(hand_over(&name), Asked::Free),
                "after the drop nobody answers to the name (a restart starts cleanly)"
            );
            let again = running(claim_name(&name));
            assert!(again.listening.is_some() && again.problem().is_none());
            drop((again, other));
        }

        /// A squatter of our own uid: binds the name and never accepts, or accepts and holds
        /// each connection open without a word.
        fn squat(name: &str, hold: bool, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
            let listener = UnixListener::bind_addr(&address(name).unwrap()).unwrap();
            listener.set_nonblocking(true).unwrap();
            std::thread::spawn(move || {
                let mut held = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    if hold {
                        if let Ok((s, _)) = listener.accept() {
                            held.push(s);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        }

        #[test]
        fn a_squatter_that_never_answers_neither_hangs_the_launch_nor_makes_it_exit_silently() {
            for hold in [false, true] {
                let name = unique(if hold { "holds" } else { "silent" });
                let done = Arc::new(AtomicBool::new(false));
                let squatter = squat(&name, hold, done.clone());
                let started = Instant::now();
                let launch = running(claim_name(&name));
                let took = started.elapsed();
                // The deadline is 1.5 s; the bound only tells a hang from a slow machine.
                assert!(
                    took < Duration::from_secs(10),
                    "hold={hold}: the launch goes on, it does not hang: took {took:?}"
                );
                assert_eq!(
                    launch.problem(),
                    Some(&Unreachable::NoAnswer),
                    "hold={hold}: the launch runs and says why it could not hand over"
                );
                let message = launch.problem().unwrap().to_string();
                assert!(message.contains("没有应答") && message.contains("does not answer"));
                println!("hold={hold}: went on after {took:?}: {message}");
                drop(launch);
                done.store(true, Ordering::SeqCst);
                squatter.join().unwrap();
            }
        }

        #[test]
        fn a_client_holding_a_connection_open_delays_neither_a_second_launch_nor_a_quit() {
            let name = unique("held");
            let first = running(claim_name(&name));
            let heard = counting_raises(&first);
            let _held = UnixStream::connect_addr(&address(&name).unwrap()).unwrap();
            let started = Instant::now();
            assert!(
                matches!(claim_name(&name), Claim::HandedOver),
                "the held connection times out and the second launch is served"
            );
            heard.recv_timeout(Duration::from_secs(1)).unwrap();
            let _held_again = UnixStream::connect_addr(&address(&name).unwrap()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            let quitting = Instant::now();
            drop(first);
            let quit = quitting.elapsed();
            // Quitting waits at most 1 s for the listener; the bound tells a hang from load.
            assert!(
                quit < Duration::from_secs(5),
                "quitting does not wait on a held connection: {quit:?}"
            );
            println!(
                "hand-over past a held connection {:?}, quit {quit:?}",
                started.elapsed()
            );
            assert!(
                matches!(claim_name(&name), Claim::Run(ref i) if i.listening.is_some()),
                "the name is free again after the quit"
            );
        }

        /// Not a test on its own: the other user's process of the test below (run as
        /// `--ignored --exact` with `REDEEMDESK_SQUAT` set), binding or connecting.
        #[test]
        #[ignore]
        fn squatter_of_another_user() {
            let Ok(name) = std::env::var("REDEEMDESK_SQUAT") else {
                return;
            };
            let addr = address(&name).unwrap();
            if std::env::var("REDEEMDESK_SQUAT_MODE").as_deref() == Ok("connect") {
                let mut s = UnixStream::connect_addr(&addr).unwrap();
                // The desk may already have dropped us (another uid): a refused write is fine.
                let _ = s.write_all(FOCUS);
                let mut answer = Vec::new();
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.read_to_end(&mut answer);
                println!("ANSWER {answer:?}");
                return;
            }
            let _listener = UnixListener::bind_addr(&addr).unwrap();
            println!("BOUND");
            std::thread::sleep(Duration::from_secs(8));
        }

        /// This test binary where uid 65534 can run it: the build's own folder may be
        /// private to root (a clone under /root), /tmp is not.
        fn runnable_copy() -> (tempfile::TempDir, std::path::PathBuf) {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let exe = dir.path().join("tests");
            std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
            for p in [dir.path(), exe.as_path()] {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            (dir, exe)
        }

        fn as_nobody(exe: &std::path::Path, name: &str, mode: &str) -> Command {
            let mut c = Command::new(exe);
            c.args([
                "--ignored",
                "--exact",
                "single_instance::linux::tests::squatter_of_another_user",
                "--nocapture",
            ])
            .env("REDEEMDESK_SQUAT", name)
            .env("REDEEMDESK_SQUAT_MODE", mode)
            .uid(65534)
            .gid(65534)
            .stdout(Stdio::piped());
            c
        }

        #[test]
        fn another_users_process_can_neither_take_the_hand_over_nor_raise_the_window() {
            if my_uid() != 0 {
                println!("needs root to run a process as another user (CI is root): skipped");
                return;
            }
            // It squats the name: the launch sees another uid and says so, at once.
            let (_copy, exe) = runnable_copy();
            let name = unique("other-user");
            let mut squatter = as_nobody(&exe, &name, "bind").spawn().unwrap();
            let mut lines =
                std::io::BufRead::lines(std::io::BufReader::new(squatter.stdout.take().unwrap()));
            let bound = lines.any(|l| l.is_ok_and(|l| l.contains("BOUND")));
            assert!(bound, "the squatter, uid 65534, holds the name");
            let started = Instant::now();
            let launch = running(claim_name(&name));
            assert_eq!(
                launch.problem(),
                Some(&Unreachable::OtherUser { uid: 65534 }),
                "not handed over to another user's process"
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no wait for another user's process"
            );
            let _ = squatter.kill();
            let _ = squatter.wait();

            // It connects to our desk: no raise, no answer.
            let name = unique("other-client");
            let first = running(claim_name(&name));
            let heard = counting_raises(&first);
            let out = as_nobody(&exe, &name, "connect").output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("ANSWER []"), "no acknowledgement: {text}");
            assert!(
                heard.try_recv().is_err(),
                "another user's connection does not raise the window"
            );
        }
    }
}
