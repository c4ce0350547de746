//! The ingest function against a real PostgreSQL server: replays, forks, the tills' roles,
//! a backend killed mid-push, and two tills' store day.

mod common;

use common::*;
use redeemdesk_core::hq_sync::{HqBatch, HqLink};
use redeemdesk_hq::reports;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_pushed_then_replayed_is_held_once() {
    let mut hq = hq().await;
    let store = store_id("replay");
    hq.store(&store).await;
    let till = till(150, 1_000, 1);
    let client = hq.client_for(&store, None);
    let first = batch(&store, &till, 0, 200);
    let ack = client.push(&first).await.expect("the first push commits");
    assert_eq!(ack.hwm, 200);
    assert_eq!(ack.quarantined, 0);
    assert_eq!(ack.head_hash, first.rows[199].hash);
    // The same batch again, and again with the next rows overlapping it.
    let again = client.push(&first).await.unwrap();
    assert_eq!(again, ack, "a replay changes nothing");
    let overlap = batch(&store, &till, 100, 10_000);
    let end = till.ledger.chain_end().unwrap();
    let ack = client.push(&overlap).await.unwrap();
    assert_eq!((ack.hwm, ack.quarantined), (end, 0));
    assert_eq!(hq.count("SELECT count(*) FROM hq.chain").await, end);
    assert_eq!(hq.count("SELECT count(*) FROM hq.forks").await, 0);
    client.settled().await;
    assert_eq!(
        hq.count("SELECT count(*) FROM hq.attempts").await,
        150,
        "one projected attempt per attempt"
    );
    assert_same_chain(&hq, &till).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_is_quarantined_and_never_overwrites() {
    let mut hq = hq().await;
    let store = store_id("fork");
    hq.store(&store).await;
    let till = till(40, 1_000, 2);
    let client = hq.client_for(&store, None);
    let ack = client.push(&batch(&store, &till, 0, 50)).await.unwrap();
    assert_eq!(ack.hwm, 50);

    // The same position with another hash (a ledger rewritten after upload).
    let mut rewritten = batch(&store, &till, 4, 1);
    let held = rewritten.rows[0].hash.clone();
    rewritten.rows[0].hash = "f".repeat(64);
    let mut body = rewritten.rows[0].body_json();
    body["state"] = serde_json::json!("succeeded");
    rewritten.rows[0].set_body(&body);
    let ack = client.push(&rewritten).await.unwrap();
    assert_eq!((ack.hwm, ack.quarantined), (50, 1));
    let kept: String = hq
        .admin
        .query_one("SELECT hash FROM hq.chain WHERE seq = 5", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, held, "HQ's row is not overwritten");

    // A next position that does not link to HQ's head (a rechained tail), and what follows.
    let mut rechained = batch(&store, &till, 50, 3);
    rechained.rows[0].prev_hash = "e".repeat(64);
    let ack = client.push(&rechained).await.unwrap();
    assert_eq!(
        (ack.hwm, ack.quarantined),
        (50, 3),
        "HQ's chain stops at the fork"
    );
    let forks = hq
        .admin
        .query(
            "SELECT seq, reason, held_hash FROM hq.forks ORDER BY seq",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(i64, String)> = forks.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![
            (5, "different_hash".to_owned()),
            (51, "does_not_continue".to_owned()),
            (52, "does_not_continue".to_owned()),
            (53, "does_not_continue".to_owned()),
        ]
    );
    assert_eq!(forks[0].get::<_, Option<String>>(2), Some(held));
    assert_eq!(hq.count("SELECT count(*) FROM hq.chain").await, 50);
    // Sent again, the fork is not counted twice.
    client.push(&rewritten).await.unwrap();
    assert_eq!(hq.count("SELECT count(*) FROM hq.forks").await, 4);
    let health = reports::health(&hq.admin).await.unwrap();
    assert_eq!(health[0].forks, 4, "health shows the forks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tills_role_cannot_read_or_change_another_stores_rows() {
    let mut hq = hq().await;
    let (a, b) = (store_id("a"), store_id("b"));
    hq.store(&a).await;
    hq.store(&b).await;
    let till_b = till(20, 1_000, 3);
    hq.client_for(&b, None)
        .push(&batch(&b, &till_b, 0, 1_000))
        .await
        .expect("store B's till pushes its own");
    let held = hq.count("SELECT count(*) FROM hq.chain").await;
    assert!(held > 0);

    let as_a = hq.connect_as(&a).await;
    let refused = |sql: &'static str| {
        let as_a = &as_a;
        async move {
            let e = as_a
                .batch_execute(sql)
                .await
                .expect_err(&format!("refused: {sql}"));
            assert_eq!(
                e.code().map(|c| c.code()),
                Some("42501"),
                "{sql}: insufficient_privilege, got {e}"
            );
        }
    };
    refused("SELECT * FROM hq.chain").await;
    refused("SELECT * FROM hq.attempts").await;
    refused("SELECT * FROM hq.desks").await;
    refused("UPDATE hq.chain SET hash = 'x'").await;
    refused("DELETE FROM hq.chain").await;
    refused("INSERT INTO hq.stores (store_id, role_name) VALUES ('z', 'z')").await;
    refused("CREATE TABLE ingest.mine (x int)").await;
    // HQ's copy of store B's desk, read as store A through the anchor function: refused.
    let desk_b = uuid::Uuid::parse_str(&till_b.ledger.desk_id().unwrap()).unwrap();
    let e = as_a
        .query("SELECT * FROM ingest.held($1, $2, 0, 10)", &[&b, &desk_b])
        .await
        .expect_err("store A's role cannot read store B's chain");
    assert_eq!(e.code().map(|c| c.code()), Some("42501"), "{e}");
    // Through the function, as the other store: refused by the function itself.
    let e = hq
        .client_for(&a, None)
        .push(&batch(&b, &till_b, 0, 5))
        .await
        .expect_err("store A's role cannot write for store B");
    assert!(e.to_string().contains("does not write for store"), "{e}");
    assert_eq!(hq.count("SELECT count(*) FROM hq.chain").await, held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_terminated_during_a_push_loses_nothing_and_duplicates_nothing() {
    let mut hq = hq().await;
    let store = store_id("term");
    let role = hq.store(&store).await;
    let till = till(4_000, 4_000, 4);
    let end = till.ledger.chain_end().unwrap();
    let client = hq.client_for(&store, None);
    let big = batch(&store, &till, 0, end as usize);
    let pushing = tokio::spawn(async move {
        let r = client.push(&big).await;
        (client, big, r)
    });
    // Terminate the till's backend while its push runs.
    let mut terminated = false;
    for _ in 0..2_000 {
        let row = hq
            .admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FILTER (WHERE pg_terminate_backend(pid))
                 FROM pg_stat_activity
                 WHERE usename = $1 AND state = 'active' AND query LIKE '%ingest.push%'",
                &[&role],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            terminated = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    assert!(terminated, "the push was caught running");
    let (client, big, r) = pushing.await.unwrap();
    let e = r.expect_err("the terminated push fails");
    assert!(
        matches!(e, redeemdesk_core::hq_sync::HqLinkError::Unreachable(_)),
        "a killed backend is HQ being away, retried: {e}"
    );
    assert_eq!(
        hq.count("SELECT count(*) FROM hq.chain").await,
        0,
        "the batch was one transaction: none of it"
    );
    let t = std::time::Instant::now();
    let ack = client
        .push(&big)
        .await
        .expect("the resend on a new connection");
    eprintln!("resend of {} rows: {:?}", big.rows.len(), t.elapsed());
    assert_eq!((ack.hwm, ack.quarantined), (end, 0));
    assert_same_chain(&hq, &till).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tills_of_one_store_add_up_to_the_store_day() {
    let mut hq = hq().await;
    let store = store_id("two");
    hq.store(&store).await;
    let one = till(1_200, 400, 5);
    let two = till(900, 300, 6);
    for (t, name) in [(&one, "1号机"), (&two, "2号机")] {
        let up = uploader(t, hq.client_for(&store, None), &store, name);
        up.drain().await.expect("drains");
        assert_same_chain(&hq, t).await;
    }
    for (day, _) in one.generated.totals.iter() {
        let d = day.to_string();
        let report = reports::store_day(&hq.admin, &store, &d).await.unwrap();
        let want = |t: &Till| t.generated.totals.get(day).cloned().unwrap_or_default();
        let (w1, w2) = (want(&one), want(&two));
        let channels: std::collections::BTreeSet<String> = w1
            .iter()
            .chain(&w2)
            .map(|c| c.channel.unwrap().as_str().to_owned())
            .collect();
        assert_eq!(report.per_channel.len(), channels.len(), "{d}");
        for got in &report.per_channel {
            let sum =
                |w: &[redeemdesk_core::ledger::ChannelTotals],
                 f: fn(&redeemdesk_core::ledger::ChannelTotals) -> i64| {
                    w.iter()
                        .filter(|c| c.channel.unwrap().as_str() == got.key)
                        .map(f)
                        .sum::<i64>()
                };
            let both =
                |f: fn(&redeemdesk_core::ledger::ChannelTotals) -> i64| sum(&w1, f) + sum(&w2, f);
            assert_eq!(
                got.succeeded,
                both(|c| c.succeeded as i64),
                "{d} {}",
                got.key
            );
            assert_eq!(got.units, both(|c| c.units), "{d} {}", got.key);
            assert_eq!(
                got.face_value_fen,
                both(|c| c.face_value.0),
                "{d} {}",
                got.key
            );
            assert_eq!(got.settled_fen, both(|c| c.settled.0), "{d} {}", got.key);
        }
        let tills: Vec<&str> = report.per_till.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(tills, ["1号机", "2号机"], "{d}");
        let per_till_ok: i64 = report.per_till.iter().map(|t| t.succeeded).sum();
        let per_channel_ok: i64 = report.per_channel.iter().map(|t| t.succeeded).sum();
        assert_eq!(per_till_ok, per_channel_ok);
        assert_eq!(
            report.attempts.len() as i64,
            report.per_till.iter().map(|t| t.attempts).sum::<i64>()
        );
    }
    let first = FIRST_DAY;
    let chain = reports::chain_day(&hq.admin, first).await.unwrap();
    let store_row = chain.iter().find(|t| t.key == store).expect("the store");
    let day = reports::store_day(&hq.admin, &store, first).await.unwrap();
    assert_eq!(
        store_row.settled_fen,
        day.per_till.iter().map(|t| t.settled_fen).sum::<i64>()
    );
    let csv = reports::store_day_file(&day, redeemdesk_core::export::ExportFormat::Csv).unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert!(
        text.starts_with('\u{feff}'),
        "a BOM like the till's exports"
    );
    assert!(text.contains("2号机"));
    let xlsx = reports::store_day_file(&day, redeemdesk_core::export::ExportFormat::Xlsx).unwrap();
    assert!(xlsx.starts_with(b"PK"), "an XLSX is a zip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_tills_json_rows_leave_the_same_rows_as_the_columns() {
    let mut hq = hq().await;
    let (by_columns, by_json) = (store_id("columns"), store_id("json"));
    hq.store(&by_columns).await;
    hq.store(&by_json).await;
    let till = till(300, 1_000, 31);
    let end = till.ledger.chain_end().unwrap();
    let columns = hq.client_for(&by_columns, None);
    let json = hq.connect_as(&by_json).await;
    let for_store = |b: &HqBatch, store: &str| HqBatch {
        store_id: store.to_owned(),
        ..b.clone()
    };
    // A batch whose attempts go on in the next, a replay, the rest but 40, a held position
    // with another hash, a gap, and a next position that does not link.
    let mut steps = vec![
        batch(&by_columns, &till, 0, 171),
        batch(&by_columns, &till, 100, 50),
        batch(&by_columns, &till, 171, (end - 40 - 171) as usize),
    ];
    let mut rewritten = batch(&by_columns, &till, 4, 1);
    rewritten.rows[0].hash = "f".repeat(64);
    let mut body = rewritten.rows[0].body_json();
    body["state"] = serde_json::json!("succeeded");
    rewritten.rows[0].set_body(&body);
    steps.push(rewritten);
    steps.push(batch(&by_columns, &till, end - 30, 10));
    let mut rechained = batch(&by_columns, &till, end - 40, 5);
    rechained.rows[0].prev_hash = "e".repeat(64);
    steps.push(rechained);
    for (i, step) in steps.iter().enumerate() {
        let a = columns.push(step).await.expect("the column push answers");
        let b = push_as_json(&json, &for_store(step, &by_json)).await;
        assert_eq!(a, b, "step {i}: the same answer");
    }
    columns.settled().await;
    let (a, b) = (
        rows_of(&hq, &by_columns).await,
        rows_of(&hq, &by_json).await,
    );
    assert_eq!(a, b, "the same chain, attempts, forks and desk");
    let held = |i: usize| a[i].as_array().unwrap().len() as i64;
    assert_eq!(held(0), end - 40, "the chain up to the fork");
    let made = till
        .ledger
        .chain_rows_after(0, (end - 40) as usize)
        .unwrap()
        .iter()
        .filter(|r| r.attempt.is_some())
        .count() as i64;
    assert!(made > 250, "{made}");
    assert_eq!(held(1), made, "an attempt per creating event held");
    assert_eq!(
        held(2),
        1 + 5,
        "the rewritten position and the rechained tail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hq_not_yet_migrated_takes_json_rows_then_columns_after_migrate() {
    let cluster = redeemdesk_hq::testing::Cluster::shared();
    // Up to `channel_clock`, the last migration before the column push (append-only: it
    // stays the seventh).
    let (db, admin) = cluster.fresh_db_at(7).await;
    let mut hq = Hq { cluster, db, admin };
    let store = store_id("older-hq");
    hq.store(&store).await;
    let till = till(60, 1_000, 32);
    let pusher = redeemdesk_hq::ingest::Pusher::new(hq.connect_as(&store).await)
        .await
        .unwrap();
    assert!(!pusher.sends_columns(), "this HQ has no column push yet");
    let ack = pusher.push(&batch(&store, &till, 0, 70)).await.unwrap();
    assert_eq!((ack.hwm, ack.quarantined), (70, 0));

    let applied = redeemdesk_hq::migrate(&mut hq.admin).await.unwrap();
    assert_eq!(
        applied,
        vec![
            "ingest_push_columns",
            "attempts_lean",
            "projection_apart",
            "project_behind_ordered"
        ]
    );
    let pusher = redeemdesk_hq::ingest::Pusher::new(hq.connect_as(&store).await)
        .await
        .unwrap();
    assert!(pusher.sends_columns());
    assert!(
        pusher.projects_apart(),
        "this HQ leaves the projection apart"
    );
    let end = till.ledger.chain_end().unwrap();
    let ack = pusher
        .push(&batch(&store, &till, 70, 10_000))
        .await
        .unwrap();
    assert_eq!((ack.hwm, ack.quarantined), (end, 0));
    assert_same_chain(&hq, &till).await;
    // The JSON push projected its rows in its transaction; the apart push left the rest to
    // a projection nobody ran here: the first read of the store runs it.
    let before = hq.count("SELECT count(*) FROM hq.attempts").await;
    assert!(
        before < 60,
        "{before}: the apart push projects nothing itself"
    );
    assert_eq!(reports::catch_up(&hq.admin, Some(&store)).await.unwrap(), 1);
    assert_eq!(hq.count("SELECT count(*) FROM hq.attempts").await, 60);
    assert_eq!(reports::catch_up(&hq.admin, Some(&store)).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_made_before_the_first_push_is_the_one_the_pushes_use() {
    let mut hq = hq().await;
    let store = store_id("connect");
    hq.store(&store).await;
    let role = redeemdesk_hq::roles::role_name(&store);
    let till = till(20, 1_000, 7);
    let client = hq.client_for(&store, None);
    let backends = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}' \
         AND datname = current_database() AND application_name = 'redeemdesk'"
    );
    assert_eq!(
        hq.count(&backends).await,
        0,
        "nothing connects before it is asked"
    );
    assert!(
        client.connect().await.expect("HQ reachable"),
        "a migrated HQ takes columns"
    );
    assert_eq!(hq.count(&backends).await, 1, "the login happened here");
    let pid: i32 = hq
        .admin
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND datname = current_database()",
            &[&role],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        client.connect().await.unwrap(),
        "a second call keeps the open one"
    );
    let end = till.ledger.chain_end().unwrap();
    let ack = client.push(&batch(&store, &till, 0, 10_000)).await.unwrap();
    assert_eq!((ack.hwm, ack.quarantined), (end, 0));
    client.settled().await;
    let after: Vec<i32> = hq
        .admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND datname = current_database() \
             AND application_name = 'redeemdesk'",
            &[&role],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        after,
        vec![pid],
        "the push went over the connection made before it"
    );
    let projection = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}' \
         AND datname = current_database() AND application_name = '{}'",
        redeemdesk_hq::client::PROJECTION_SESSION
    );
    assert_eq!(
        hq.count(&projection).await,
        1,
        "the projection ran on a session of its own"
    );
    assert_same_chain(&hq, &till).await;
}
