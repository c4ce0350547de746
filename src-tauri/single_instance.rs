//! One desk per data directory: a second launch on the same directory brings the running
//! window to the front and exits (the data directory's lock is the backstop).
//!
//! On Linux the running desk listens on an abstract Unix socket named after the data
//! directory ([`data_dir::instance_id`]). The kernel frees an abstract name with the process
//! that held it, so a crash leaves nothing behind, and no D-Bus session is needed. This
//! replaced tauri's single-instance plugin here. Its D-Bus client (zbus and some thirty
//! crates of its own) was 124 s of the 1,758 CPU-seconds of a release build on two cores
//! (issue 7's time for `make bench`). Elsewhere the plugin still does the job
//! ([`with_plugin`]). The platform differences stay in this file: `run` calls the same
//! four things everywhere.
//!
//! Any local process can connect to an abstract name. All a message can do here is bring
//! the window forward, and the listener reads nothing else.

use redeemdesk_core::data_dir;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use tauri::{AppHandle, Builder, Manager, Runtime};

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

/// The running desk's claim on its name. Dropping it gives the name back: the app drops it
/// before a restart starts the new process, which would otherwise find this one.
pub struct Instance {
    name: String,
    raise: RaiseSlot,
    /// The thread that answers second launches (none where the plugin does it, or when
    /// the name could not be had).
    listening: Option<Listening>,
}

/// The listener thread and the flag that tells it to stop.
struct Listening {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Instance {
    fn alone(name: &str) -> Instance {
        Instance {
            name: name.to_owned(),
            raise: RaiseSlot::default(),
            listening: None,
        }
    }

    /// Where the app says what a second launch does, once its window exists.
    pub fn raise_slot(&self) -> RaiseSlot {
        self.raise.clone()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let Some(listening) = self.listening.take() else {
            return;
        };
        // The listener blocks in accept: flag the stop, wake it with a connection of our
        // own, and wait until it has closed the socket, so the name is free.
        listening.stop.store(true, Ordering::SeqCst);
        #[cfg(target_os = "linux")]
        linux::wake(&self.name);
        let _ = listening.thread.join();
    }
}

/// Takes this data directory's name, or hands over to the desk that has it: `None` when a
/// desk runs on it and was asked to come to the front (this launch should then exit).
pub fn claim() -> Option<Instance> {
    claim_name(&instance_id())
}

fn claim_name(name: &str) -> Option<Instance> {
    #[cfg(target_os = "linux")]
    return linux::claim(name);
    #[cfg(not(target_os = "linux"))]
    return Some(Instance::alone(name));
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
    use super::{Instance, Listening, RaiseSlot};
    use std::io::{Read, Write};
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// What a second launch sends.
    const FOCUS: &[u8] = b"focus\n";

    fn address(name: &str) -> std::io::Result<SocketAddr> {
        SocketAddr::from_abstract_name(format!("{name}.instance"))
    }

    pub(super) fn hand_over(name: &str) -> std::io::Result<()> {
        let mut stream = UnixStream::connect_addr(&address(name)?)?;
        stream.write_all(FOCUS)
    }

    /// Wakes the listener of `name` (it then sees its stop flag).
    pub(super) fn wake(name: &str) {
        let _ = address(name).and_then(|a| UnixStream::connect_addr(&a));
    }

    /// Two launches at once: one binds, the other finds the name taken and hands over. An
    /// error (no abstract sockets at all) is logged and the launch goes on alone.
    pub(super) fn claim(name: &str) -> Option<Instance> {
        for _ in 0..3 {
            if hand_over(name).is_ok() {
                return None;
            }
            match address(name).and_then(|a| UnixListener::bind_addr(&a)) {
                Ok(listener) => return Some(listen(name, listener)),
                // Taken between the two calls by a launch at the same moment: ask it.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => {
                    tracing::warn!("no single-instance name ({e}); this launch runs alone");
                    break;
                }
            }
        }
        Some(Instance::alone(name))
    }

    fn listen(name: &str, listener: UnixListener) -> Instance {
        let raise = RaiseSlot::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (raise2, stop2) = (raise.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("single-instance".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let mut got = [0u8; FOCUS.len()];
                    if stream.read_exact(&mut got).is_ok() && got == FOCUS {
                        tracing::info!(
                            "a second launch on this data directory: the window comes to the front"
                        );
                        raise2.raise();
                    }
                }
            })
            .ok();
        Instance {
            name: name.to_owned(),
            raise,
            listening: thread.map(|thread| Listening { stop, thread }),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::super::claim_name;
        use super::*;
        use std::sync::mpsc;
        use std::time::Duration;

        fn unique(tag: &str) -> String {
            format!("redeemdesk.test.{tag}.{}", std::process::id())
        }

        #[test]
        fn a_second_claim_raises_the_first_and_the_name_is_free_once_the_first_is_dropped() {
            let name = unique("claim");
            let first = claim_name(&name).expect("nobody has the name yet");
            assert!(first.listening.is_some(), "the first claim listens");
            let (raised, heard) = mpsc::channel();
            let raised = std::sync::Mutex::new(raised);
            first.raise_slot().set(Box::new(move || {
                let _ = raised.lock().unwrap().send(());
            }));
            assert!(
                claim_name(&name).is_none(),
                "a second launch on the same directory hands over"
            );
            heard
                .recv_timeout(Duration::from_secs(5))
                .expect("the first desk is asked to come to the front");
            let other = claim_name(&unique("other")).expect("another directory, another desk");
            drop(first);
            assert!(
                hand_over(&name).is_err(),
                "after the drop nobody answers to the name (a restart starts cleanly)"
            );
            let again = claim_name(&name).expect("the name can be taken again");
            assert!(again.listening.is_some());
            drop((again, other));
        }
    }
}
