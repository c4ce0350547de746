//! HQ's report projection apart from the push (migration `projection_apart`), against a
//! real PostgreSQL server: pushes left unprojected are caught up by every read, a
//! projection spanning many pushes leaves what the older in-push projection leaves, and a
//! projection cannot be asked for another store.

mod common;

use common::*;
use redeemdesk_core::hq_sync::HqBatch;
use redeemdesk_hq::ingest::{Projector, Pusher};
use redeemdesk_hq::reports;
use std::collections::BTreeMap;

/// The till's attempts by id: (channel, code, last state), from its chain.
fn attempts_of(till: &Till) -> BTreeMap<String, (String, String, String)> {
    let end = till.ledger.chain_end().unwrap();
    let mut out = BTreeMap::new();
    for r in till.ledger.chain_rows_after(0, end as usize).unwrap() {
        let body = r.body_json();
        let Some(id) = body["attempt_id"].as_str() else {
            continue;
        };
        let state = body["state"].as_str().unwrap_or_default().to_owned();
        let entry = out.entry(id.to_owned()).or_insert_with(|| {
            let a = r
                .attempt
                .as_ref()
                .expect("the first event creates the attempt");
            (
                a["channel"].as_str().unwrap().to_owned(),
                a["code"].as_str().unwrap().to_owned(),
                String::new(),
            )
        });
        entry.2 = state;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_left_unprojected_are_caught_up_by_every_read_of_the_store() {
    let mut hq = hq().await;
    let (store, other) = (store_id("apart"), store_id("apart-other"));
    hq.store(&store).await;
    hq.store(&other).await;
    let (one, two) = (till(200, 1_000, 41), till(10, 1_000, 42));
    // Till one pushes everything on the apart wire and never asks for its projection (it
    // went away between the push and the projection).
    let pusher = Pusher::new(hq.connect_as(&store).await).await.unwrap();
    assert!(pusher.projects_apart());
    let end = one.ledger.chain_end().unwrap();
    for after in (0..end).step_by(64) {
        pusher.push(&batch(&store, &one, after, 64)).await.unwrap();
    }
    assert_same_chain(&hq, &one).await;
    assert_eq!(
        hq.count("SELECT count(*) FROM hq.attempts").await,
        0,
        "the apart push projects nothing itself"
    );

    // Another till of the store asks whether one of till one's successes was redeemed
    // elsewhere: the read catches the store up first.
    let (id, (channel, code, _)) = attempts_of(&one)
        .into_iter()
        .find(|(_, (_, _, state))| state == "succeeded")
        .expect("the generator makes successes");
    let as_store = hq.connect_as(&store).await;
    let desk_two = uuid::Uuid::parse_str(&two.ledger.desk_id().unwrap()).unwrap();
    let rows = as_store
        .query(
            "SELECT till FROM ingest.redeemed_elsewhere($1, $2, $3, $4)",
            &[&store, &desk_two, &channel, &code],
        )
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "{id}: till one's success, seen from till two"
    );
    assert_eq!(
        hq.count("SELECT count(*) FROM hq.attempts").await,
        200,
        "the read projected the whole desk"
    );
    assert_eq!(
        hq.count("SELECT count(*) FROM hq.projected WHERE seq < (SELECT max(hwm) FROM hq.desks)")
            .await,
        0
    );

    // Till two pushes without projecting; the store's day through the till's function, and
    // HQ's own report, both see it.
    let pusher_two = Pusher::new(hq.connect_as(&store).await).await.unwrap();
    pusher_two
        .push(&HqBatch {
            till: "2号机".to_owned(),
            ..batch(&store, &two, 0, 10_000)
        })
        .await
        .unwrap();
    let through_function: i64 = as_store
        .query(
            "SELECT * FROM ingest.store_day($1, $2::text::date)",
            &[&store, &FIRST_DAY],
        )
        .await
        .unwrap()
        .len() as i64;
    let day = reports::store_day(&hq.admin, &store, FIRST_DAY)
        .await
        .unwrap();
    assert_eq!(through_function, day.attempts.len() as i64);
    assert!(
        day.attempts.iter().any(|a| a.till == "2号机"),
        "till two's attempts are in the day"
    );
    assert_eq!(hq.count("SELECT count(*) FROM hq.attempts").await, 210);
    assert_eq!(reports::catch_up(&hq.admin, None).await.unwrap(), 0);

    // A store's role cannot project (nor so learn about) another store's desk.
    let as_other = hq.connect_as(&other).await;
    let desk_one = uuid::Uuid::parse_str(&one.ledger.desk_id().unwrap()).unwrap();
    let e = as_other
        .query("SELECT ingest.project($1, $2)", &[&store, &desk_one])
        .await
        .expect_err("another store's projection is refused");
    assert_eq!(e.code().map(|c| c.code()), Some("42501"), "{e}");
    for sql in [
        "SELECT hq.project($1, $2)",
        "SELECT count(*) FROM hq.projected WHERE store_id = $1 AND desk_id = $2",
    ] {
        let e = as_store
            .query(sql, &[&store, &desk_one])
            .await
            .expect_err("HQ's own function and table are not the till's");
        assert_eq!(e.code().map(|c| c.code()), Some("42501"), "{sql}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_over_many_pushes_leaves_what_the_in_push_projection_leaves() {
    let mut hq = hq().await;
    let (apart, inline) = (store_id("apart-late"), store_id("inline"));
    hq.store(&apart).await;
    hq.store(&inline).await;
    let till = till(400, 1_000, 43);
    let end = till.ledger.chain_end().unwrap();
    let rows = till.ledger.chain_rows_after(0, end as usize).unwrap();
    // A cut between a success and its cancel, so the cancel lands in a later push (and, on
    // the apart store, sometimes in a later projection) than the attempt it undoes.
    let mut last_state: BTreeMap<String, String> = BTreeMap::new();
    let mut cancel_at = None;
    for r in &rows {
        let body = r.body_json();
        let (Some(id), Some(state)) = (body["attempt_id"].as_str(), body["state"].as_str()) else {
            continue;
        };
        if state == "cancelled"
            && last_state.get(id).map(String::as_str) == Some("succeeded")
            && cancel_at.is_none()
        {
            cancel_at = Some(r.seq - 1);
        }
        last_state.insert(id.to_owned(), state.to_owned());
    }
    let cancel_at = cancel_at.expect("the generator cancels some successes");
    let mut cuts = vec![
        0,
        37,
        cancel_at,
        cancel_at + 1,
        300,
        301,
        555,
        end - 20,
        end,
    ];
    cuts.sort();
    cuts.dedup();
    cuts.retain(|&c| c <= end);

    // And an HQ before `projection_apart`, whose push projected with the code that came
    // before `hq.project`: the new rule checked against the old one, not against itself.
    let cluster = redeemdesk_hq::testing::Cluster::shared();
    // Up to `attempts_lean` (append-only: it stays the ninth).
    let (db, admin) = cluster.fresh_db_at(9).await;
    let mut older = Hq { cluster, db, admin };
    older.store(&apart).await;
    let old_pusher = Pusher::new(older.connect_as(&apart).await).await.unwrap();
    assert!(old_pusher.sends_columns() && !old_pusher.projects_apart());

    let pusher = Pusher::new(hq.connect_as(&apart).await).await.unwrap();
    let projector = Projector::new(hq.connect_as(&apart).await).await.unwrap();
    let json = hq.connect_as(&inline).await;
    let desk = till.ledger.desk_id().unwrap();
    for (i, w) in cuts.windows(2).enumerate() {
        let step = batch(&apart, &till, w[0], (w[1] - w[0]) as usize);
        let a = pusher.push(&step).await.unwrap();
        let b = push_as_json(
            &json,
            &HqBatch {
                store_id: inline.clone(),
                ..step.clone()
            },
        )
        .await;
        assert_eq!(a, b, "push {i}: the same answer");
        assert_eq!(
            a,
            old_pusher.push(&step).await.unwrap(),
            "push {i}: the older HQ"
        );
        // The apart store projects after every other push only: one projection then spans
        // two pushes.
        if i % 2 == 1 {
            assert_eq!(projector.project(&apart, &desk).await.unwrap(), w[1]);
        }
    }
    assert_eq!(projector.project(&apart, &desk).await.unwrap(), end);
    assert_eq!(
        projector.project(&apart, &desk).await.unwrap(),
        end,
        "a second projection finds nothing to do"
    );
    let (a, b) = (rows_of(&hq, &apart).await, rows_of(&hq, &inline).await);
    assert_eq!(a, b, "the same chain, attempts, forks and desk");
    let before_apart = rows_of(&older, &apart).await;
    assert_eq!(
        a[1..],
        before_apart[1..],
        "the attempts, forks and desk of the older HQ's projection"
    );
    assert_eq!(a[1].as_array().unwrap().len(), 400);
    let cancelled = a[1]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "cancelled")
        .collect::<Vec<_>>();
    assert!(!cancelled.is_empty());
    assert!(
        cancelled.iter().all(|t| t["settled_face_fen"].is_i64()),
        "an undo keeps the figures of the success it undid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_catching_up_many_desks_at_once_never_deadlock() {
    let mut hq = hq().await;
    let store = store_id("many-desks");
    hq.store(&store).await;
    let tills: Vec<Till> = (0..8).map(|i| till(150, 1_000, 60 + i)).collect();
    let pusher = Pusher::new(hq.connect_as(&store).await).await.unwrap();
    let (chain_reader, store_reader) = (
        hq.cluster.admin(&hq.db).await,
        hq.cluster.admin(&hq.db).await,
    );
    let mut after = 0;
    let end = tills
        .iter()
        .map(|t| t.ledger.chain_end().unwrap())
        .min()
        .unwrap();
    while after < end {
        // Every desk pushed without its projection, then HQ's chain day and the store's
        // day catch them all up at once, each locking the desks it projects.
        for t in &tills {
            pusher.push(&batch(&store, t, after, 16)).await.unwrap();
        }
        let (a, b) = tokio::join!(
            reports::catch_up(&chain_reader, None),
            reports::catch_up(&store_reader, Some(&store)),
        );
        let (a, b) = (
            a.expect("the chain's catch-up"),
            b.expect("the store's catch-up"),
        );
        assert!(a + b >= 8, "every desk was behind: {a} + {b}");
        after += 16;
    }
    assert_eq!(
        hq.count("SELECT count(*) FROM hq.projected p JOIN hq.desks d USING (store_id, desk_id) WHERE p.seq <> d.hwm")
            .await,
        0
    );
}
