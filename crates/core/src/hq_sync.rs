//! Chain mode's uploader: a background worker beside the outbox that pushes the
//! ledger's chain — every event and seal, in chain order — to headquarters. HQ is reached
//! through [`HqLink`]; the PostgreSQL client behind it lives in `crates/hq`, so this crate
//! knows no database driver.
//!
//! Invariants:
//! - it reads the ledger on a connection of its own (`Ledger::chain_rows_after`) and writes
//!   only its cursor, once per acknowledged batch: the scan-to-answer path never waits for
//!   it, nor for HQ;
//! - each batch is one HQ transaction, keyed by (desk id, seq) with each row's prev hash and
//!   hash, so a resend after a lost answer is a replay HQ ignores;
//! - the acknowledged cursor advances only to what HQ answered it has committed (its
//!   contiguous high-water mark), and only forward; it lives in the ledger, so a restart
//!   resumes from it;
//! - a failure backs off exponentially with jitter; a fork — HQ quarantined rows, or the
//!   ledger no longer holds what HQ acknowledged (a tail cut or a rechain after upload) —
//!   stops the upload and is shown to the manager (总部发现本机流水与已上传记录不一致).

use crate::clock::{Clock, UnixMs};
use crate::clock_skew::ClockSkew;
use crate::ledger::{HqCursor, Ledger, LedgerError};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the manager side says when HQ holds another chain than this till's.
pub const FORK_MESSAGE: &str =
    "总部发现本机流水与已上传记录不一致 / HQ found this till's ledger differs from what was uploaded";

// The row type is the ledger's (it reads them); its path here stays for HQ.
pub use crate::ledger::ChainRow;

/// One push: a run of consecutive chain positions and who sends them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HqBatch {
    pub store_id: String,
    pub desk_id: String,
    pub till: String,
    pub app_version: String,
    pub ledger_version: i32,
    pub till_now_ms: UnixMs,
    /// The till's chain head now, so HQ can tell the backlog.
    pub till_head: i64,
    pub rows: Vec<ChainRow>,
    /// The till's clock against a channel's (the `Date` of the channel's last answer,
    /// clock_skew.rs), when a channel has answered: the ledger's events do not keep that
    /// header, so the reading travels with the push.
    pub channel_clock: Option<ClockSkew>,
}

/// HQ's answer to a committed push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HqAck {
    /// Every position 1..=hwm is held at HQ, chained.
    pub hwm: i64,
    pub head_hash: String,
    /// Rows of this batch HQ quarantined as a fork.
    pub quarantined: i64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum HqLinkError {
    /// HQ could not be reached or the connection broke: retried on the backoff.
    #[error("HQ unreachable: {0}")]
    Unreachable(String),
    /// HQ refused the push (a role not made for this store, a bad batch).
    #[error("HQ refused the push: {0}")]
    Refused(String),
}

pub type LinkFuture<'a> = Pin<Box<dyn Future<Output = Result<HqAck, HqLinkError>> + Send + 'a>>;

pub type SettleFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The way to HQ. `push` commits the batch in one transaction or not at all.
pub trait HqLink: Send + Sync {
    fn push<'a>(&'a self, batch: &'a HqBatch) -> LinkFuture<'a>;

    /// Waits for what HQ still does with the pushes already answered (its report
    /// projection, which a link may run beside the next push). A drain ends with it, so a
    /// caught-up till is one HQ's reports show.
    fn settle(&self) -> SettleFuture<'_> {
        Box::pin(async {})
    }
}

/// Where the uploader reads the till's latest comparison with a channel's clock (the desk's
/// `channel_clock`).
pub type ChannelClockSource = Arc<dyn Fn() -> Option<ClockSkew> + Send + Sync>;

/// Who this till is at HQ (`[hq]` in config.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadIdentity {
    pub store_id: String,
    pub till: String,
    pub app_version: String,
}

/// The sync badge's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncState {
    /// 已同步
    Synced,
    /// 待上传 n
    Pending { rows: i64 },
    /// 总部连不上 (with what is waiting)
    Unreachable { rows: i64, error: String },
    /// HQ quarantined a fork of this till's chain.
    Fork { message: String },
}

/// Rows per batch: big enough that a week offline drains in seconds, small enough that one
/// transaction stays short.
pub const BATCH_ROWS: usize = 2_000;
const BACKOFF_FIRST_MS: u64 = 500;
const BACKOFF_MAX_MS: u64 = 60_000;
/// How often a caught-up uploader looks for new rows when nothing wakes it.
pub const IDLE_TICK: Duration = Duration::from_secs(2);

/// The delay before retry number `failures` (from 1): doubling from 0.5 s to a minute, each
/// drawn uniformly from its upper half so tills that lost HQ together do not return together.
pub fn backoff(failures: u32) -> Duration {
    use rand::Rng;
    let cap = BACKOFF_FIRST_MS
        .saturating_mul(1u64 << failures.saturating_sub(1).min(16))
        .min(BACKOFF_MAX_MS);
    Duration::from_millis(rand::thread_rng().gen_range(cap / 2..=cap))
}

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub batches: u32,
    pub rows: i64,
    pub cursor: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Link(#[from] HqLinkError),
    #[error("{FORK_MESSAGE}: HQ quarantined {quarantined} row(s) at or after position {at}")]
    Fork { at: i64, quarantined: i64 },
}

/// The uploader of one ledger.
pub struct Uploader {
    ledger: Arc<Ledger>,
    link: Arc<dyn HqLink>,
    clock: Arc<dyn Clock>,
    who: UploadIdentity,
    desk_id: String,
    ledger_version: i32,
    batch_rows: usize,
    channel_clock: Option<ChannelClockSource>,
    state: Mutex<SyncState>,
    wake: tokio::sync::Notify,
}

impl std::fmt::Debug for Uploader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploader")
            .field("desk_id", &self.desk_id)
            .field("store_id", &self.who.store_id)
            .finish_non_exhaustive()
    }
}

impl Uploader {
    pub fn new(
        ledger: Arc<Ledger>,
        link: Arc<dyn HqLink>,
        clock: Arc<dyn Clock>,
        who: UploadIdentity,
    ) -> Result<Uploader, LedgerError> {
        let desk_id = ledger.desk_id()?;
        let ledger_version = ledger.schema_version()? as i32;
        let cursor = ledger.hq_cursor()?;
        let state = match cursor.fork {
            Some(_) => SyncState::Fork {
                message: FORK_MESSAGE.to_owned(),
            },
            None => SyncState::Pending { rows: 0 },
        };
        Ok(Uploader {
            ledger,
            link,
            clock,
            who,
            desk_id,
            ledger_version,
            batch_rows: BATCH_ROWS,
            channel_clock: None,
            state: Mutex::new(state),
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn with_batch_rows(mut self, rows: usize) -> Uploader {
        self.batch_rows = rows.max(1);
        self
    }

    /// Sends the till's latest comparison with a channel's clock with every push.
    pub fn with_channel_clock(mut self, source: ChannelClockSource) -> Uploader {
        self.channel_clock = Some(source);
        self
    }

    pub fn desk_id(&self) -> &str {
        &self.desk_id
    }

    /// The badge's state as of the last round.
    pub fn state(&self) -> SyncState {
        self.state.lock().expect("sync state").clone()
    }

    /// The cashier's sync badge now: the last round's state, with what is waiting counted
    /// from the ledger as it is now (a redemption since the last round is 待上传 at once).
    pub fn badge(&self) -> Result<SyncState, LedgerError> {
        let waiting = || -> Result<i64, LedgerError> {
            Ok((self.ledger.chain_end()? - self.ledger.hq_cursor()?.acked_seq).max(0))
        };
        Ok(match self.state() {
            SyncState::Fork { message } => SyncState::Fork { message },
            SyncState::Unreachable { error, .. } => SyncState::Unreachable {
                rows: waiting()?,
                error,
            },
            SyncState::Synced | SyncState::Pending { .. } => match waiting()? {
                0 => SyncState::Synced,
                rows => SyncState::Pending { rows },
            },
        })
    }

    /// Asks for a round now (after a redemption, say); never waits.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn set_state(&self, s: SyncState) {
        *self.state.lock().expect("sync state") = s;
    }

    /// Pushes batches until HQ holds the whole chain as it is now, or one push fails.
    pub async fn drain(&self) -> Result<DrainReport, UploadError> {
        let mut report = DrainReport::default();
        let mut cursor: HqCursor = self.ledger.hq_cursor()?;
        if cursor.fork.is_some() {
            return Err(UploadError::Fork {
                at: cursor.acked_seq + 1,
                quarantined: 0,
            });
        }
        report.cursor = cursor.acked_seq;
        // What HQ acknowledged must still be in the ledger as it was: a tail cut or a
        // rechain after upload is a fork the till finds itself, before sending anything.
        if cursor.acked_seq > 0
            && self.ledger.chain_hash_at(cursor.acked_seq)?.as_deref()
                != Some(cursor.acked_hash.as_str())
        {
            self.ledger.mark_hq_fork(
                &format!(
                    "the ledger no longer holds position {} as HQ acknowledged it ({})",
                    cursor.acked_seq, cursor.acked_hash
                ),
                self.clock.now_ms(),
            )?;
            self.set_state(SyncState::Fork {
                message: FORK_MESSAGE.to_owned(),
            });
            return Err(UploadError::Fork {
                at: cursor.acked_seq,
                quarantined: 0,
            });
        }
        // The next batch's rows, read while the last one was at HQ.
        let mut read_ahead: Option<Vec<ChainRow>> = None;
        loop {
            let head = self.ledger.chain_end()?;
            let waiting = head - cursor.acked_seq;
            if waiting <= 0 {
                self.link.settle().await;
                self.set_state(SyncState::Synced);
                return Ok(report);
            }
            self.set_state(SyncState::Pending { rows: waiting });
            let rows = match read_ahead.take() {
                // Read from where HQ now stands: positions only ever come after it.
                Some(rows) if rows.first().map(|r| r.seq) == Some(cursor.acked_seq + 1) => rows,
                _ => self
                    .ledger
                    .chain_rows_after(cursor.acked_seq, self.batch_rows)?,
            };
            let batch = HqBatch {
                store_id: self.who.store_id.clone(),
                desk_id: self.desk_id.clone(),
                till: self.who.till.clone(),
                app_version: self.who.app_version.clone(),
                ledger_version: self.ledger_version,
                till_now_ms: self.clock.now_ms(),
                till_head: head,
                rows,
                channel_clock: self.channel_clock.as_ref().and_then(|read| read()),
            };
            let sent_to = batch.rows.last().map_or(cursor.acked_seq, |r| r.seq);
            // While HQ takes this batch, the ledger is read for the next one on a thread of
            // its own (its own connection, as every upload read): the two overlap.
            let ahead = (sent_to < head).then(|| {
                let (ledger, limit) = (self.ledger.clone(), self.batch_rows);
                tokio::task::spawn_blocking(move || ledger.chain_rows_after(sent_to, limit))
            });
            let pushed = self.link.push(&batch).await;
            if let Some(task) = ahead {
                // A failed read ahead is read again, in order, by the next round.
                read_ahead = task.await.ok().and_then(Result::ok);
            }
            let ack = match pushed {
                Ok(ack) => ack,
                Err(e) => {
                    self.set_state(SyncState::Unreachable {
                        rows: waiting,
                        error: e.to_string(),
                    });
                    return Err(e.into());
                }
            };
            if ack.quarantined > 0 || ack.hwm < cursor.acked_seq {
                // HQ holds another chain: stop, and keep saying so until a person looks.
                self.ledger.mark_hq_fork(
                    &format!(
                        "HQ quarantined {} row(s); HQ holds up to {} ({})",
                        ack.quarantined, ack.hwm, ack.head_hash
                    ),
                    self.clock.now_ms(),
                )?;
                self.set_state(SyncState::Fork {
                    message: FORK_MESSAGE.to_owned(),
                });
                return Err(UploadError::Fork {
                    at: ack.hwm + 1,
                    quarantined: ack.quarantined,
                });
            }
            // Only what HQ committed, never past what was sent.
            let acked = ack.hwm.min(sent_to);
            if acked > cursor.acked_seq {
                self.ledger
                    .advance_hq_cursor(acked, &ack.head_hash, self.clock.now_ms())?;
                report.rows += acked - cursor.acked_seq;
            } else if acked == cursor.acked_seq {
                // HQ took nothing of a batch that started where it stands: resending it
                // would loop. Treat as a refusal and back off.
                let e = HqLinkError::Refused(format!("HQ stays at {acked}"));
                self.set_state(SyncState::Unreachable {
                    rows: waiting,
                    error: e.to_string(),
                });
                return Err(e.into());
            }
            report.batches += 1;
            cursor = self.ledger.hq_cursor()?;
            report.cursor = cursor.acked_seq;
        }
    }

    /// Runs drains forever on the current tokio runtime: after a failure on the backoff,
    /// when caught up every [`IDLE_TICK`] or when woken. Stops when the handle is dropped.
    pub fn start(self: &Arc<Self>) -> UploaderTask {
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                let pause = match me.drain().await {
                    Ok(_) => {
                        failures = 0;
                        IDLE_TICK
                    }
                    Err(UploadError::Fork { .. }) => {
                        tracing::error!("{FORK_MESSAGE}");
                        // Nothing more is sent; the state stays Fork.
                        return;
                    }
                    Err(e) => {
                        failures += 1;
                        tracing::warn!(failures, "HQ upload failed: {e}");
                        backoff(failures)
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = me.wake.notified(), if failures == 0 => {}
                }
            }
        });
        UploaderTask { task }
    }
}

/// The running uploader; stops when dropped.
#[derive(Debug)]
pub struct UploaderTask {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for UploaderTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What HQ holds of one desk's chain (`verify-log --against-hq`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HqHeld {
    /// HQ has heard of this desk at all.
    pub known: bool,
    pub hwm: i64,
    pub head_hash: String,
    pub forks: i64,
    /// Every position HQ holds, in order, with its hash.
    pub hashes: Vec<(i64, String)>,
}

/// The local chain against HQ's copy: HQ is the external anchor, so a tail cut or a
/// rechain after upload shows here even when the local chain is well formed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HqComparison {
    pub local_end: i64,
    pub hq_hwm: i64,
    pub hq_forks: i64,
    /// The first position where HQ holds another hash than the ledger: rewritten after upload.
    pub first_difference: Option<i64>,
    /// HQ holds positions beyond the ledger's end: its tail was cut after upload.
    pub tail_cut: bool,
    /// Positions the ledger has and HQ does not yet.
    pub not_yet_uploaded: i64,
}

impl HqComparison {
    pub fn holds(&self) -> bool {
        self.first_difference.is_none() && !self.tail_cut && self.hq_forks == 0
    }

    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        if let Some(at) = self.first_difference {
            out.push(format!(
                "总部记录与本机流水不一致 / HQ holds another chain from position {at}: the ledger was rewritten after upload"
            ));
        }
        if self.tail_cut {
            out.push(format!(
                "本机流水比总部记录短 / the ledger ends at {} but HQ holds {}: its tail was cut after upload",
                self.local_end, self.hq_hwm
            ));
        }
        if self.hq_forks > 0 {
            out.push(format!(
                "{FORK_MESSAGE} ({} quarantined at HQ)",
                self.hq_forks
            ));
        }
        if out.is_empty() {
            format!(
                "与总部一致 / matches HQ up to {} ({} not yet uploaded)",
                self.hq_hwm, self.not_yet_uploaded
            )
        } else {
            out.join("; ")
        }
    }
}

/// Compares the ledger's chain with what HQ holds, position by position.
pub fn compare_with_hq(ledger: &Ledger, held: &HqHeld) -> Result<HqComparison, LedgerError> {
    let local_end = ledger.chain_end()?;
    let mut first_difference = None;
    let mut theirs = held.hashes.iter().peekable();
    let mut after = 0;
    'outer: while after < local_end && theirs.peek().is_some() {
        let rows = ledger.chain_rows_after(after, 5_000)?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            while let Some((seq, _)) = theirs.peek() {
                if *seq < r.seq {
                    theirs.next();
                } else {
                    break;
                }
            }
            match theirs.peek() {
                Some((seq, hash)) if *seq == r.seq => {
                    if *hash != r.hash {
                        first_difference = Some(r.seq);
                        break 'outer;
                    }
                    theirs.next();
                }
                Some(_) => {}
                None => break 'outer,
            }
        }
        after = rows.last().map_or(local_end, |r| r.seq);
    }
    Ok(HqComparison {
        local_end,
        hq_hwm: held.hwm,
        hq_forks: held.forks,
        first_difference,
        tail_cut: held.hwm > local_end,
        not_yet_uploaded: (local_end - held.hwm).max(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_minute_with_jitter_in_the_upper_half() {
        for (n, cap) in [
            (1u32, 500u64),
            (2, 1_000),
            (5, 8_000),
            (8, 60_000),
            (40, 60_000),
        ] {
            let draws: Vec<u64> = (0..200).map(|_| backoff(n).as_millis() as u64).collect();
            assert!(
                draws.iter().all(|d| (cap / 2..=cap).contains(d)),
                "{n}: {draws:?}"
            );
            let distinct: std::collections::BTreeSet<_> = draws.iter().collect();
            assert!(distinct.len() > 10, "jittered, not fixed: {n}");
        }
    }
}
