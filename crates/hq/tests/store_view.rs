//! What a till reads of its own store at HQ, against a real PostgreSQL server: the 门店
//! tab's store day through `ingest.store_day` (and never another store's), and the
//! cross-till refusal at confirmation through `ingest.redeemed_elsewhere` — refused with
//! the till, time and cashier when HQ answers, and going on after the 300 ms budget when
//! HQ is slow (a loopback TCP proxy holding HQ's answers back).

mod common;

use common::*;
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::clock::SystemClock;
use redeemdesk_core::cross_till::CROSS_TILL_BUDGET;
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::{self, AttemptState, Ledger};
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemError, RedeemInput};
use redeemdesk_core::scan::ScanRules;
use redeemdesk_hq::till::StoreLink;
use redeemdesk_hq::{reports, roles, HqTarget};
use redeemdesk_sandbox::{RunningSandbox, Sandbox, SandboxOptions};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn link(hq: &Hq, store: &str, role_of: &str, desk_id: &str, port: Option<u16>) -> StoreLink {
    let url = hq.cluster.tcp_url(&roles::role_name(role_of), &hq.db, port);
    StoreLink::with_target(
        HqTarget::new(&url, Some(PASSWORD), None).expect("target"),
        store,
        desk_id,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_till_reads_its_stores_day_across_tills_and_never_another_stores() {
    let mut hq = hq().await;
    let (a, b) = (store_id("own"), store_id("other"));
    hq.store(&a).await;
    hq.store(&b).await;
    let one = till(300, 150, 11);
    let two = till(200, 100, 12);
    let theirs = till(100, 100, 13);
    for (t, store, name) in [
        (&one, &a, "1号机"),
        (&two, &a, "2号机"),
        (&theirs, &b, "1号机"),
    ] {
        uploader(t, hq.client_for(store, None), store, name)
            .drain()
            .await
            .expect("drains");
    }
    let own = link(&hq, &a, &a, &one.ledger.desk_id().unwrap(), None);
    let day = FIRST_DAY;
    let got = own
        .store_day(day)
        .await
        .expect("the till reads its own store's day");
    let want = reports::store_day(&hq.admin, &a, day).await.unwrap();
    assert_eq!(
        got, want,
        "the till's read is HQ's own report of the store day"
    );
    let tills: Vec<&str> = got.per_till.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(
        tills,
        ["1号机", "2号机"],
        "both tills of the store, none of the other"
    );
    assert!(
        got.attempts.len() > 100,
        "every attempt: {}",
        got.attempts.len()
    );
    println!(
        "store day {day}: {} attempts, per till {:?}",
        got.attempts.len(),
        got.per_till
            .iter()
            .map(|t| (&t.key, t.succeeded, t.settled_fen))
            .collect::<Vec<_>>()
    );

    // Store A's role asking for store B's day, however it asks: refused by the function.
    let sneaky = link(&hq, &b, &a, &one.ledger.desk_id().unwrap(), None);
    let e = sneaky
        .store_day(day)
        .await
        .expect_err("another store's day is refused");
    assert!(e.to_string().contains("does not read for store"), "{e}");
    let as_a = hq.connect_as(&a).await;
    for sql in [
        "SELECT * FROM ingest.store_day($1, '2026-11-02')",
        "SELECT * FROM ingest.redeemed_elsewhere($1, gen_random_uuid(), 'shoubei', 'x')",
    ] {
        let e = as_a
            .query(sql, &[&b])
            .await
            .expect_err("another store's rows through the functions");
        assert_eq!(e.code().map(|c| c.code()), Some("42501"), "{sql}: {e}");
    }
    // And no table is readable directly either.
    let e = as_a
        .query("SELECT count(*) FROM hq.attempts", &[])
        .await
        .expect_err("no table access");
    assert_eq!(e.code().map(|c| c.code()), Some("42501"), "{e}");
}

/// A till's desk on its own ledger file, over the store's channels (one sandbox shared by
/// the tills, as one store's tills share the channels' servers).
struct DeskOn {
    _dir: tempfile::TempDir,
    desk: Arc<Desk>,
}

fn desk_on(sandbox: &RunningSandbox) -> DeskOn {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(SystemClock);
    let channels = sandbox
        .demo_config()
        .build_channels(clock.clone())
        .expect("the demo config builds");
    let l = Ledger::open(
        &dir.path().join(ledger::file_name(Mode::Sandbox)),
        Mode::Sandbox,
    )
    .expect("a fresh ledger");
    let desk = Desk::open(Arc::new(l), channels, clock, ScanRules::default()).expect("desk");
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .expect("a shift");
    DeskOn {
        _dir: dir,
        desk: Arc::new(desk),
    }
}

async fn preview(desk: &Desk, code: &str) -> String {
    match desk
        .prepare(PrepareInput {
            channel: ChannelKind::Shoubei,
            platform: None,
            raw_code: code.to_owned(),
        })
        .await
        .expect("prepare")
    {
        Prepared::Ready { token, .. } => token,
        other => panic!("{code}: not ready: {other:?}"),
    }
}

fn confirm(token: String) -> RedeemInput {
    RedeemInput {
        token,
        count: 1,
        certificates: Vec::new(),
    }
}

fn upload_identity(
    desk: &Desk,
    hq: &Hq,
    store: &str,
    name: &str,
) -> Arc<redeemdesk_core::hq_sync::Uploader> {
    Arc::new(
        redeemdesk_core::hq_sync::Uploader::new(
            desk.ledger().clone(),
            Arc::new(hq.client_for(store, None)),
            Arc::new(SystemClock),
            redeemdesk_core::hq_sync::UploadIdentity {
                store_id: store.to_owned(),
                till: name.to_owned(),
                app_version: "0.1.0-test".to_owned(),
            },
        )
        .expect("uploader"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_redeemed_at_another_till_is_refused_at_confirmation_with_the_till_time_and_cashier()
{
    let mut hq = hq().await;
    let store = store_id("x");
    hq.store(&store).await;
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let (one, two) = (desk_on(&sandbox), desk_on(&sandbox));
    let code = "679533922928"; // 收呗, single use
                               // Till 2 looks the code up while it is still valid…
    let token = preview(&two.desk, code).await;
    // …then till 1 redeems it, and its chain reaches HQ.
    let won = one
        .desk
        .redeem(confirm(preview(&one.desk, code).await))
        .await
        .expect("till 1 redeems");
    assert_eq!(won.attempt.state, AttemptState::Succeeded);
    upload_identity(&one.desk, &hq, &store, "1号机")
        .drain()
        .await
        .expect("till 1 uploads");

    let desk_two = two.desk.ledger().desk_id().unwrap();
    let l = Arc::new(link(&hq, &store, &store, &desk_two, None));
    l.warm().await;
    assert!(two.desk.ask_other_tills(l));
    let started = Instant::now();
    let refused = two.desk.redeem(confirm(token)).await;
    let took = started.elapsed();
    let Err(RedeemError::AtAnotherTill(at)) = refused else {
        panic!("refused as redeemed at another till: {refused:?}");
    };
    assert_eq!(at.0.till, "1号机", "the till");
    assert_eq!(
        at.0.at_ms, won.attempt.state_ms,
        "the time of till 1's success"
    );
    assert_eq!(
        at.0.cashier,
        redeemdesk_core::roles::DEFAULT_CASHIER,
        "the cashier"
    );
    assert_eq!(
        RedeemError::AtAnotherTill(at.clone()).code(),
        "redeemed_at_another_till"
    );
    println!("refused in {took:?}: {at}");
    assert!(
        two.desk
            .ledger()
            .recent_attempts(None, 10)
            .unwrap()
            .is_empty(),
        "nothing written at till 2: the channel was never called"
    );
    assert_eq!(
        sandbox.ground_truth().uses_of(ChannelKind::Shoubei, code),
        1,
        "the channel consumed the code once, at till 1"
    );
}

/// A loopback TCP proxy in front of PostgreSQL that, once slowed, holds every answer from
/// the server back for `delay`.
struct SlowProxy {
    port: u16,
    slow: Arc<AtomicBool>,
    held: Arc<AtomicUsize>,
}

impl SlowProxy {
    async fn start(upstream: u16, delay: Duration) -> SlowProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let slow = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicUsize::new(0));
        let (s, h) = (slow.clone(), held.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let (s, h) = (s.clone(), h.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match sr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if s.load(Ordering::SeqCst) {
                            h.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(delay).await;
                        }
                        if cw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SlowProxy { port, slow, held }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_hq_is_slow_the_confirmation_waits_no_longer_than_300_ms_and_redeems() {
    let mut hq = hq().await;
    let store = store_id("slow");
    hq.store(&store).await;
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let two = desk_on(&sandbox);
    let proxy = SlowProxy::start(hq.cluster.port, Duration::from_secs(5)).await;
    let desk_two = two.desk.ledger().desk_id().unwrap();
    let l = Arc::new(link(&hq, &store, &store, &desk_two, Some(proxy.port)));
    l.warm().await; // connected while HQ is quick
    assert!(two.desk.ask_other_tills(l));
    let code = "679533922935";
    let token = preview(&two.desk, code).await;

    proxy.slow.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let done = two
        .desk
        .redeem(confirm(token))
        .await
        .expect("redeemed without HQ");
    let took = started.elapsed();
    println!("redeemed in {took:?} with HQ holding its answer back 5 s");
    assert_eq!(done.attempt.state, AttemptState::Succeeded);
    assert!(
        proxy.held.load(Ordering::SeqCst) > 0,
        "HQ was asked (its answer was held back)"
    );
    assert!(
        took >= CROSS_TILL_BUDGET - Duration::from_millis(50),
        "the confirmation gave HQ (nearly) its budget — the link gives up 20 ms early to \
         drop the stuck connection: {took:?}"
    );
    assert!(
        took < CROSS_TILL_BUDGET + Duration::from_millis(700),
        "and no more (the channel call on loopback is the rest): {took:?}"
    );
    assert_eq!(
        sandbox.ground_truth().uses_of(ChannelKind::Shoubei, code),
        1,
        "the channel consumed the code once"
    );
}
