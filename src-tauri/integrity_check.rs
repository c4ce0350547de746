//! The ledger's integrity check after start-up: SQLite's `PRAGMA quick_check`, which reads
//! the whole file, on a thread of its own that the scheduler serves only when nothing else
//! wants the CPU (Linux's `SCHED_IDLE`; the lowest priority elsewhere).
//!
//! Why idle and not just "in the background": the check reads the whole ledger and a till
//! has two cores; at normal priority it slowed the manager's first screens, at idle it costs
//! them nothing measurable (docs/measurements.md). The check is for the log file and the
//! manager's morning reading, not for the next second; it runs in the moments the desk waits
//! for a scan. (A slower check keeps its read snapshot open longer: WAL checkpoints stop
//! short of it meanwhile, and the WAL file grows by what is written in that time.)

use redeemdesk_core::desk::Desk;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Starts the check; a damaged file stops the till (`Desk::check_integrity`: the cashier
/// screen turns red and refuses to redeem) and is logged loudly.
pub fn spawn(desk: Arc<Desk>) -> std::io::Result<JoinHandle<()>> {
    in_background("ledger-check", move || {
        if desk.check_integrity().is_ok() {
            tracing::info!("ledger integrity check passed");
        }
    })
}

/// Runs `work` on a new named thread that first gives up its claim on the CPU.
fn in_background<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            if let Err(e) = yield_the_cpu() {
                // Still worth doing at normal priority: the check matters more than the
                // frames it may slow down.
                tracing::warn!("background work at normal priority: {e:?}");
            }
            work()
        })
}

/// The calling thread from now on runs only when no other thread wants the CPU. Its disk
/// reads go to the idle I/O class too: Linux derives that from `SCHED_IDLE`.
#[cfg(target_os = "linux")]
fn yield_the_cpu() -> Result<(), thread_priority::Error> {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    )
}

#[cfg(not(target_os = "linux"))]
fn yield_the_cpu() -> Result<(), thread_priority::Error> {
    thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use thread_priority::unix::{
        thread_schedule_policy, NormalThreadSchedulePolicy, ThreadSchedulePolicy,
    };

    #[test]
    fn background_work_runs_at_idle_priority_and_the_caller_keeps_its_own() {
        let before = thread_schedule_policy().expect("this thread's policy");
        let (policy, name) = in_background("ledger-check", || {
            (
                thread_schedule_policy().expect("the worker's policy"),
                std::thread::current().name().map(str::to_owned),
            )
        })
        .expect("spawned")
        .join()
        .expect("joined");
        assert_eq!(
            policy,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        assert_eq!(name.as_deref(), Some("ledger-check"));
        assert_eq!(thread_schedule_policy().expect("again"), before);
        assert_ne!(
            before,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
    }
}
