//! When pixels reach the screen: the X server's DAMAGE extension reports every drawing
//! request that changes the root window's contents (any window on the display), with its
//! rectangle. Benchmark 7 uses it for the moment a day's rows are on the (Xvfb) screen:
//! later than the page's own "painted" clock can see, because WebKit paints in the web
//! process and the UI process then draws the result into the X window.
//!
//! Each report is stamped with the wall clock when it reaches this process (the watcher's
//! thread is blocked reading the socket), which is the clock the page's `Date`/
//! `performance.timeOrigin` uses, so the two can be compared to the millisecond.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use x11rb::connection::Connection;
use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};
use x11rb::protocol::xproto::{
    ClientMessageEvent, ConnectionExt as _, CreateWindowAux, EventMask, Rectangle, WindowClass,
};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

/// One drawing request that changed the screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Damage {
    /// Unix time in milliseconds, when the report arrived.
    pub at_ms: f64,
    pub area: Area,
}

/// A rectangle in screen pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

impl Area {
    fn intersects(&self, other: &Area) -> bool {
        self.x < other.x + other.width
            && other.x < self.x + self.width
            && self.y < other.y + other.height
            && other.y < self.y + self.height
    }
}

/// Records every damage report of the display in `$DISPLAY` until [`Watch::stop`].
pub struct Watch {
    conn: Arc<RustConnection>,
    /// A window of our own, only to post ourselves the message that ends the reader.
    wake: u32,
    seen: Arc<Mutex<Vec<Damage>>>,
    reader: JoinHandle<()>,
}

impl Watch {
    pub fn start() -> Result<Watch, String> {
        let (conn, screen) = x11rb::connect(None).map_err(|e| format!("X display: {e}"))?;
        let conn = Arc::new(conn);
        let root = conn.setup().roots[screen].root;
        let fail = |e: &dyn std::fmt::Display| format!("X DAMAGE: {e}");
        conn.damage_query_version(1, 1)
            .map_err(|e| fail(&e))?
            .reply()
            .map_err(|e| fail(&e))?;
        let damage = conn.generate_id().map_err(|e| fail(&e))?;
        // Raw rectangles: one report per drawing request, nothing to acknowledge.
        conn.damage_create(damage, root, ReportLevel::RAW_RECTANGLES)
            .map_err(|e| fail(&e))?;
        let wake = conn.generate_id().map_err(|e| fail(&e))?;
        conn.create_window(
            0,
            wake,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_ONLY,
            0,
            &CreateWindowAux::new(),
        )
        .map_err(|e| fail(&e))?;
        // The reply proves the server has both requests before the first measured frame.
        conn.get_input_focus()
            .map_err(|e| fail(&e))?
            .reply()
            .map_err(|e| fail(&e))?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let conn = Arc::clone(&conn);
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                while let Ok(event) = conn.wait_for_event() {
                    match event {
                        Event::DamageNotify(n) => {
                            let at_ms = now_ms();
                            let Rectangle {
                                x,
                                y,
                                width,
                                height,
                            } = n.area;
                            seen.lock().expect("damage list").push(Damage {
                                at_ms,
                                area: Area {
                                    x: i32::from(x),
                                    y: i32::from(y),
                                    width: i32::from(width),
                                    height: i32::from(height),
                                },
                            });
                        }
                        Event::ClientMessage(m) if m.window == wake => break,
                        _ => {}
                    }
                }
            })
        };
        Ok(Watch {
            conn,
            wake,
            seen,
            reader,
        })
    }

    /// Ends the watch and answers every report, oldest first.
    pub fn stop(self) -> Vec<Damage> {
        // An event with an empty mask goes to the client that made the window: us.
        let bye = ClientMessageEvent::new(32, self.wake, 0u32, [0u32; 5]);
        let sent = self
            .conn
            .send_event(false, self.wake, EventMask::NO_EVENT, bye)
            .is_ok()
            && self.conn.flush().is_ok();
        if sent {
            let _ = self.reader.join();
        }
        let seen = self.seen.lock().expect("damage list");
        seen.clone()
    }
}

fn now_ms() -> f64 {
    use redeemdesk_core::clock::Clock;
    redeemdesk_core::clock::SystemClock.now_ms() as f64
}

/// The first drawing of `area` at or after `from_ms` and the requests that follow it
/// within `gap_ms` of each other (one frame reaches X as a few requests in a row): answers
/// when the last of them arrived, or `None` if nothing drew there.
pub fn frame_landed(seen: &[Damage], area: &Area, from_ms: f64, gap_ms: f64) -> Option<f64> {
    let mut hits = seen
        .iter()
        .filter(|d| d.at_ms >= from_ms && d.area.intersects(area));
    let mut last = hits.next()?.at_ms;
    for d in hits {
        if d.at_ms - last > gap_ms {
            break;
        }
        last = d.at_ms;
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(at_ms: f64, x: i32, y: i32, width: i32, height: i32) -> Damage {
        Damage {
            at_ms,
            area: Area {
                x,
                y,
                width,
                height,
            },
        }
    }

    #[test]
    fn a_frame_is_the_first_drawing_of_the_area_and_the_requests_right_after_it() {
        let rows = Area {
            x: 0,
            y: 200,
            width: 1000,
            height: 600,
        };
        let seen = [
            d(100.0, 0, 200, 1000, 600), // the day before: too early
            d(130.0, 10, 10, 2, 16),     // the date input's caret: elsewhere
            d(141.0, 0, 0, 1000, 300),   // the frame: starts here
            d(142.0, 0, 300, 1000, 500), // and goes on
            d(160.0, 0, 300, 1000, 500), // the next frame, not this one
        ];
        assert_eq!(frame_landed(&seen, &rows, 120.0, 4.0), Some(142.0));
        assert_eq!(frame_landed(&seen, &rows, 150.0, 4.0), Some(160.0));
        assert_eq!(frame_landed(&seen, &rows, 161.0, 4.0), None);
        let elsewhere = Area {
            x: 2000,
            y: 0,
            width: 10,
            height: 10,
        };
        assert_eq!(frame_landed(&seen, &elsewhere, 0.0, 4.0), None);
    }
}
