//! One desk per data directory: a second launch on the same directory brings the running
//! window to the front and exits (the data directory's lock is the backstop).
//!
//! On Linux the running desk listens on an abstract Unix socket named after the data
//! directory ([`data_dir::instance_id`]). The kernel frees an abstract name with the process
//! that held it, so a crash leaves nothing behind, and no D-Bus session is needed. This
//! replaced tauri's single-instance plugin here. Its D-Bus client (zbus and some thirty
//! crates of its own) was 124 s of the 1,758 CPU-seconds of a release build on two cores
//! (issue 7's time for `make bench`). Elsewhere the plugin still does the job.
//!
//! Any local process can connect to an abstract name. All a message can do here is bring
//! the window forward, and the listener reads nothing else.

use redeemdesk_core::data_dir;
use tauri::{AppHandle, Manager, Runtime};

/// Brings the desk's window to the front (a second launch asked for it).
fn focus<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// The single-instance name for the data directory this launch would use.
pub fn instance_id() -> String {
    match data_dir::resolve() {
        Ok(root) => data_dir::instance_id(&root),
        Err(_) => data_dir::APP_IDENTIFIER.to_owned(),
    }
}

#[cfg(target_os = "linux")]
pub use linux::{claim, Claim};

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{Read, Write};
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, OnceLock};
    use std::thread::JoinHandle;
    use tauri::{AppHandle, Runtime};

    type Raise = Box<dyn Fn() + Send + Sync>;

    /// What a second launch sends.
    const FOCUS: &[u8] = b"focus\n";

    /// The outcome of [`claim`].
    pub enum Claim {
        /// No desk runs on this data directory: this launch is the one.
        First(Instance),
        /// A desk runs on it and was asked to come to the front: this launch should exit.
        Handed,
    }

    /// The running desk's claim on its name. Dropping it gives the name back: the app drops
    /// it before a restart starts the new process, which would otherwise find this one.
    pub struct Instance {
        name: String,
        raise: RaiseSlot,
        stop: Arc<AtomicBool>,
        listening: Option<JoinHandle<()>>,
    }

    fn address(name: &str) -> std::io::Result<SocketAddr> {
        SocketAddr::from_abstract_name(format!("{name}.instance"))
    }

    fn hand_over(name: &str) -> std::io::Result<()> {
        let mut stream = UnixStream::connect_addr(&address(name)?)?;
        stream.write_all(FOCUS)
    }

    /// Takes the name `name` (from [`super::instance_id`]), or hands over to the desk that
    /// has it. Two launches at once: one binds, the other finds the name taken and hands
    /// over. An error (no abstract sockets at all) is logged and the launch goes on alone.
    pub fn claim(name: &str) -> Claim {
        for _ in 0..3 {
            if hand_over(name).is_ok() {
                return Claim::Handed;
            }
            match address(name).and_then(|a| UnixListener::bind_addr(&a)) {
                Ok(listener) => return Claim::First(Instance::listen(name, listener)),
                // Taken between the two calls by a launch at the same moment: ask it.
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => {
                    tracing::warn!("no single-instance name ({e}); this launch runs alone");
                    break;
                }
            }
        }
        Claim::First(Instance {
            name: name.to_owned(),
            raise: RaiseSlot::default(),
            stop: Arc::new(AtomicBool::new(true)),
            listening: None,
        })
    }

    /// What a second launch does to this desk, set once its window exists.
    #[derive(Clone, Default)]
    pub struct RaiseSlot(Arc<OnceLock<Raise>>);

    impl RaiseSlot {
        /// From now on a second launch raises this app's window.
        pub fn attach<R: Runtime>(&self, app: AppHandle<R>) {
            self.set(Box::new(move || super::focus(&app)));
        }

        fn set(&self, raise: Raise) {
            let _ = self.0.set(raise);
        }
    }

    impl Instance {
        fn listen(name: &str, listener: UnixListener) -> Instance {
            let raise = RaiseSlot::default();
            let stop = Arc::new(AtomicBool::new(false));
            let (raise2, stop2) = (raise.clone(), stop.clone());
            let listening = std::thread::Builder::new()
                .name("single-instance".into())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop2.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(mut stream) = stream else { continue };
                        let mut got = [0u8; FOCUS.len()];
                        if stream.read_exact(&mut got).is_ok() && got == FOCUS {
                            tracing::info!("a second launch on this data directory: the window comes to the front");
                            // Before the window exists there is nothing to raise: it opens
                            // focused anyway.
                            if let Some(raise) = raise2.0.get() {
                                raise();
                            }
                        }
                    }
                })
                .ok();
            Instance {
                name: name.to_owned(),
                raise,
                stop,
                listening,
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
            // The listener blocks in accept: flag the stop, wake it with a connection of
            // our own, and wait until it has closed the socket, so the name is free.
            self.stop.store(true, Ordering::SeqCst);
            let _ = address(&self.name).and_then(|a| UnixStream::connect_addr(&a));
            let _ = listening.join();
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::mpsc;
        use std::time::Duration;

        fn unique(tag: &str) -> String {
            format!("redeemdesk.test.{tag}.{}", std::process::id())
        }

        #[test]
        fn a_second_claim_raises_the_first_and_the_name_is_free_once_the_first_is_dropped() {
            let name = unique("claim");
            let Claim::First(first) = claim(&name) else {
                panic!("nobody has the name yet");
            };
            assert!(first.listening.is_some(), "the first claim listens");
            let (raised, heard) = mpsc::channel();
            let raised = std::sync::Mutex::new(raised);
            first.raise_slot().set(Box::new(move || {
                let _ = raised.lock().unwrap().send(());
            }));
            assert!(
                matches!(claim(&name), Claim::Handed),
                "a second launch on the same directory hands over"
            );
            heard
                .recv_timeout(Duration::from_secs(5))
                .expect("the first desk is asked to come to the front");
            let Claim::First(other) = claim(&unique("other")) else {
                panic!("another data directory is another desk");
            };
            drop(first);
            assert!(
                hand_over(&name).is_err(),
                "after the drop nobody answers to the name (a restart starts cleanly)"
            );
            let Claim::First(again) = claim(&name) else {
                panic!("the name can be taken again");
            };
            assert!(again.listening.is_some());
            drop((again, other));
        }
    }
}

/// Elsewhere tauri's single-instance plugin does it (a plugin: added to the builder).
#[cfg(not(target_os = "linux"))]
pub fn plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R> {
    tauri_plugin_single_instance::init(|app, _argv, _cwd| focus(app))
}
