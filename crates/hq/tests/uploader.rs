//! The till's uploader (crates/core/src/hq_sync.rs) against a real PostgreSQL server
//! through real loopback TCP: an answer cut after HQ committed, a server killed and
//! restarted mid-backlog, a week offline, a restart of the till mid-drain, a fast clock
//! and mixed schema versions.

mod common;

use common::*;
use redeemdesk_core::clock::{Clock, MonoMs, SystemClock, UnixMs};
use redeemdesk_core::hq_sync::{
    HqBatch, HqLink, HqLinkError, LinkFuture, SyncState, UploadError, UploadIdentity, Uploader,
    BATCH_ROWS,
};
use redeemdesk_hq::{reports, testing::Cluster};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A loopback TCP proxy in front of PostgreSQL. Armed, it lets the next `ingest.push`
/// execute and commit at the server, then drops the server's answer and closes both
/// sides: the till never hears that HQ committed.
struct CutProxy {
    port: u16,
    armed: Arc<AtomicBool>,
    cuts: Arc<AtomicUsize>,
}

impl CutProxy {
    async fn start(upstream: u16) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (a, c) = (armed.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
                tokio::spawn(pump(client, server, a.clone(), c.clone()));
            }
        });
        CutProxy { port, armed, cuts }
    }
}

async fn pump(
    client: TcpStream,
    server: TcpStream,
    armed: Arc<AtomicBool>,
    cuts: Arc<AtomicUsize>,
) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    // 0: passing; 1: the push was prepared; 2: its Bind/Execute went to the server.
    let stage = Arc::new(AtomicUsize::new(0));
    let up_stage = stage.clone();
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            if armed.load(Ordering::SeqCst) {
                let s = up_stage.load(Ordering::SeqCst);
                if s == 0 && chunk.windows(11).any(|w| w == b"ingest.push") {
                    up_stage.store(1, Ordering::SeqCst);
                } else if s == 1 && chunk.first() == Some(&b'B') {
                    up_stage.store(2, Ordering::SeqCst);
                }
            }
            if sw.write_all(chunk).await.is_err() {
                return;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if stage.load(Ordering::SeqCst) == 2 {
            // The server answers only after its commit (ReadyForQuery follows Sync): drop
            // the answer, and the connection with it.
            cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if cw.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    up.abort();
    let _ = cw.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_lost_after_hq_committed_leaves_exactly_one_copy() {
    let mut hq = hq().await;
    let store = store_id("cut");
    hq.store(&store).await;
    let t = till(400, 1_000, 11);
    let end = t.ledger.chain_end().unwrap();
    let proxy = CutProxy::start(hq.cluster.port).await;
    let up = uploader(&t, hq.client_for(&store, Some(proxy.port)), &store, "1号机");

    proxy.armed.store(true, Ordering::SeqCst);
    let err = up.drain().await.expect_err("the answer never arrives");
    assert!(
        matches!(err, UploadError::Link(HqLinkError::Unreachable(_))),
        "{err}"
    );
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 1);
    let committed = hq.count("SELECT count(*) FROM hq.chain").await;
    assert_eq!(
        committed,
        end.min(BATCH_ROWS as i64),
        "HQ committed the first batch"
    );
    assert_eq!(
        t.ledger.hq_cursor().unwrap().acked_seq,
        0,
        "the till did not hear so, and did not advance"
    );
    assert!(matches!(up.state(), SyncState::Unreachable { rows, .. } if rows == end));

    proxy.armed.store(false, Ordering::SeqCst);
    let report = up.drain().await.expect("the resend through the same proxy");
    assert_eq!(report.cursor, end);
    assert_eq!(
        hq.count("SELECT count(*) FROM hq.chain").await,
        end,
        "the resent batch was a replay"
    );
    assert_eq!(
        hq.count("SELECT count(DISTINCT seq) FROM hq.chain").await,
        end
    );
    assert_eq!(hq.count("SELECT count(*) FROM hq.forks").await, 0);
    assert_eq!(hq.count("SELECT count(*) FROM hq.attempts").await, 400);
    assert_same_chain(&hq, &t).await;
    assert_eq!(up.state(), SyncState::Synced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_and_restarted_mid_backlog_is_caught_up_after() {
    // A cluster of its own: this test kills it.
    let mut hq = hq_on(Arc::new(Cluster::start())).await;
    let store = store_id("kill");
    hq.store(&store).await;
    let t = till(3_000, 3_000, 12);
    let end = t.ledger.chain_end().unwrap();
    let up = Arc::new(
        Arc::try_unwrap(uploader(&t, hq.client_for(&store, None), &store, "1号机"))
            .unwrap()
            .with_batch_rows(100),
    );
    let task = up.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while t.ledger.hq_cursor().unwrap().acked_seq == 0 {
        assert!(Instant::now() < deadline, "the upload started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hq.cluster.kill();
    let at_kill = t.ledger.hq_cursor().unwrap().acked_seq;
    assert!(at_kill < end, "killed mid-backlog ({at_kill} of {end})");
    // A backend already running may finish its batch before it notices its postmaster is
    // gone; the next push finds nobody there.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(up.state(), SyncState::Unreachable { .. }) {
        assert!(Instant::now() < deadline, "总部连不上: {:?}", up.state());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let during = t.ledger.hq_cursor().unwrap().acked_seq;
    hq.cluster.restart();
    let deadline = Instant::now() + Duration::from_secs(120);
    while t.ledger.hq_cursor().unwrap().acked_seq < end {
        assert!(Instant::now() < deadline, "caught up after the restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(task);
    eprintln!("killed at {at_kill}/{end} (cursor {during} while down), caught up after restart");
    // The admin connection died with the server.
    hq.admin = hq.cluster.admin(&hq.db).await;
    assert_same_chain(&hq, &t).await;
    assert_eq!(hq.count("SELECT count(*) FROM hq.forks").await, 0);
}

/// A link that works for `left` pushes, then is HQ gone.
struct Failing {
    inner: redeemdesk_hq::HqClient,
    left: AtomicUsize,
    pushes: AtomicUsize,
}

impl HqLink for Failing {
    fn push<'a>(&'a self, batch: &'a HqBatch) -> LinkFuture<'a> {
        Box::pin(async move {
            self.pushes.fetch_add(1, Ordering::SeqCst);
            if self
                .left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_err()
            {
                return Err(HqLinkError::Unreachable("cable pulled".into()));
            }
            self.inner.push(batch).await
        })
    }
}

fn who(store: &str) -> UploadIdentity {
    UploadIdentity {
        store_id: store.to_owned(),
        till: "1号机".to_owned(),
        app_version: "0.1.0-test".to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_offline_drains_and_a_restart_mid_drain_resumes() {
    let mut hq = hq().await;
    let store = store_id("week");
    hq.store(&store).await;
    // A week at 2,000 events a day.
    let t = till(7_000, 1_000, 13);
    let end = t.ledger.chain_end().unwrap();
    assert!(end >= 14_000, "{end} events");

    // Offline: nothing listens where HQ should be.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let offline = uploader(&t, hq.client_for(&store, Some(dead_port)), &store, "1号机");
    assert!(offline.drain().await.is_err());
    assert!(
        matches!(offline.state(), SyncState::Unreachable { rows, .. } if rows == end),
        "待上传 {end}: {:?}",
        offline.state()
    );
    drop(offline);

    // Back online, the cable is pulled again after 4 batches; then the till restarts.
    let acked = 4 * BATCH_ROWS as i64;
    assert!(acked < end, "the restart comes mid-backlog");
    let link = Arc::new(Failing {
        inner: hq.client_for(&store, None),
        left: AtomicUsize::new(4),
        pushes: AtomicUsize::new(0),
    });
    let up = Uploader::new(
        t.ledger.clone(),
        link.clone(),
        Arc::new(SystemClock),
        who(&store),
    )
    .unwrap();
    assert!(up.drain().await.is_err());
    assert_eq!(t.ledger.hq_cursor().unwrap().acked_seq, acked, "4 batches");
    drop(up);
    let Till {
        _dir, path, ledger, ..
    } = t;
    ledger.close().unwrap();
    drop(ledger);
    let reopened = Arc::new(
        redeemdesk_core::ledger::Ledger::open(&path, redeemdesk_core::app_info::Mode::Live)
            .unwrap(),
    );
    assert_eq!(
        reopened.hq_cursor().unwrap().acked_seq,
        acked,
        "kept across the restart"
    );
    let up = Uploader::new(
        reopened.clone(),
        Arc::new(hq.client_for(&store, None)),
        Arc::new(SystemClock),
        who(&store),
    )
    .unwrap();
    let started = Instant::now();
    let report = up.drain().await.expect("drains");
    let took = started.elapsed();
    eprintln!(
        "week backlog: {} rows in {} batches, {took:?} (debug build)",
        report.rows, report.batches
    );
    assert_eq!(report.cursor, end);
    assert_eq!(
        report.rows,
        end - acked,
        "resumed where HQ had acknowledged"
    );
    let per = BATCH_ROWS as i64;
    assert_eq!(report.batches as i64, (end - acked + per - 1) / per);
    assert!(took < Duration::from_secs(60), "{took:?}");
    let t = Till {
        _dir,
        path,
        ledger: reopened,
        generated: redeemdesk_core::ledger::generate::Generated {
            attempts: 0,
            events: 0,
            first_day: FIRST_DAY.parse().unwrap(),
            last_day: FIRST_DAY.parse().unwrap(),
            totals: Default::default(),
            unknown: 0,
        },
    };
    assert_same_chain(&hq, &t).await;
    let health = reports::health(&hq.admin).await.unwrap();
    assert_eq!(health[0].backlog, 0);
}

/// The machine's clock, two hours fast.
struct Fast;
impl Clock for Fast {
    fn now_ms(&self) -> UnixMs {
        SystemClock.now_ms() + 2 * 3_600_000
    }
    fn monotonic_ms(&self) -> MonoMs {
        SystemClock.monotonic_ms()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_clock_two_hours_fast_is_flagged_and_mixed_versions_are_taken() {
    let mut hq = hq().await;
    let store = store_id("clock");
    hq.store(&store).await;
    let fast = till(50, 1_000, 14);
    let up = Uploader::new(
        fast.ledger.clone(),
        Arc::new(hq.client_for(&store, None)),
        Arc::new(Fast),
        UploadIdentity {
            store_id: store.clone(),
            till: "快机".to_owned(),
            app_version: "0.1.0-test".to_owned(),
        },
    )
    .unwrap();
    up.drain().await.unwrap();
    // An older till: schema version 10, its rows without the columns it did not have.
    let old = till(30, 1_000, 15);
    let mut rows = old.ledger.chain_rows_after(0, 10_000).unwrap();
    for r in &mut rows {
        let mut body = r.body_json();
        body.as_object_mut().unwrap().remove("subject_digest");
        r.set_body(&body);
    }
    let ack = hq
        .client_for(&store, None)
        .push(&HqBatch {
            store_id: store.clone(),
            desk_id: old.ledger.desk_id().unwrap(),
            till: "旧机".to_owned(),
            app_version: "0.0.9".to_owned(),
            ledger_version: 10,
            till_now_ms: SystemClock.now_ms(),
            till_head: rows.len() as i64,
            rows,
            channel_clock: None,
        })
        .await
        .unwrap();
    assert_eq!(ack.hwm, old.ledger.chain_end().unwrap());
    let health = reports::health(&hq.admin).await.unwrap();
    let by = |till: &str| health.iter().find(|h| h.till == till).unwrap().clone();
    let f = by("快机");
    assert!(f.skew_flagged, "{f:?}");
    assert!((f.skew_ms - 7_200_000).abs() < 60_000, "{}", f.skew_ms);
    let o = by("旧机");
    assert!(!o.skew_flagged && o.skew_ms.abs() < 60_000, "{o:?}");
    assert_eq!((o.ledger_version, o.app_version.as_str()), (10, "0.0.9"));
    assert_eq!(
        f.ledger_version,
        fast.ledger.schema_version().unwrap() as i32
    );
    let day = reports::store_day(&hq.admin, &store, FIRST_DAY)
        .await
        .unwrap();
    assert_eq!(
        day.attempts.len(),
        80,
        "both versions' attempts in the store day"
    );
}
