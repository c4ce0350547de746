//! The only place that reads the time. Everything else takes a `&dyn Clock` so tests and
//! the resolver's schedule can run on a fixed or stepped time.
//!
//! Two readings: the wall clock (`now_ms`, UTC, what the ledger records and business days
//! are cut from) and a monotonic one (`monotonic_ms`, meaningful only as a difference
//! within one run). Anything that must not shorten when somebody sets the wall clock
//! forward (lock-outs, session timeouts) measures its delays on the monotonic reading.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, UTC. Fields holding one end in `_ms`.
pub type UnixMs = i64;

/// Milliseconds on a clock that never goes backwards and ignores wall-clock changes; only
/// differences between two readings of one run mean anything.
pub type MonoMs = i64;

pub trait Clock: Send + Sync {
    fn now_ms(&self) -> UnixMs;
    fn monotonic_ms(&self) -> MonoMs;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one home of the wall clock
    fn now_ms(&self) -> UnixMs {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    fn monotonic_ms(&self) -> MonoMs {
        static START: OnceLock<Instant> = OnceLock::new();
        let start = START.get_or_init(Instant::now);
        i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to: for tests and benchmarks. `advance_ms` is time
/// passing (both readings move); `set_ms` and `jump_wall_ms` are somebody changing the
/// wall clock (only the wall reading moves, as with `faketime` or an RTC reset).
#[derive(Debug, Default)]
pub struct ManualClock {
    wall: AtomicI64,
    mono: AtomicI64,
}

impl ManualClock {
    pub fn new(start_ms: UnixMs) -> Self {
        ManualClock {
            wall: AtomicI64::new(start_ms),
            mono: AtomicI64::new(0),
        }
    }
    pub fn advance_ms(&self, ms: i64) {
        self.wall.fetch_add(ms, Ordering::SeqCst);
        self.mono.fetch_add(ms.max(0), Ordering::SeqCst);
    }
    /// Sets the wall clock only, as a person or an RTC reset would.
    pub fn set_ms(&self, ms: UnixMs) {
        self.wall.store(ms, Ordering::SeqCst);
    }
    /// Moves the wall clock only, by `ms` (negative: backwards).
    pub fn jump_wall_ms(&self, ms: i64) {
        self.wall.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> UnixMs {
        self.wall.load(Ordering::SeqCst)
    }
    fn monotonic_ms(&self) -> MonoMs {
        self.mono.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(1_000);
        assert_eq!(c.now_ms(), 1_000);
        c.advance_ms(500);
        assert_eq!(c.now_ms(), 1_500, "advance adds to the current time");
        assert_eq!(c.monotonic_ms(), 500, "time passing moves both readings");
    }

    #[test]
    fn a_wall_clock_jump_leaves_the_monotonic_reading_alone() {
        let c = ManualClock::new(1_000);
        c.jump_wall_ms(2 * 3_600_000);
        c.set_ms(5);
        assert_eq!(c.now_ms(), 5, "the wall clock is where it was set");
        assert_eq!(c.monotonic_ms(), 0, "no time passed");
    }

    #[test]
    fn system_clock_is_after_2024_and_its_monotonic_reading_never_goes_back() {
        assert!(
            SystemClock.now_ms() > 1_704_067_200_000,
            "the machine clock reads epoch ms"
        );
        let a = SystemClock.monotonic_ms();
        let b = SystemClock.monotonic_ms();
        assert!(b >= a, "monotonic: {a} then {b}");
    }
}
