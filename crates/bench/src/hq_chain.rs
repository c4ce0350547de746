//! Benchmark 9, chain mode at headquarters (issue 21), against a real PostgreSQL 15: a
//! throwaway cluster from `scripts/pg.sh` (`redeemdesk_hq::testing::Cluster`), migrated by
//! the real migrations.
//!
//! - Upload: a till's week offline (7,000 attempts from the core's generator, about 14,000
//!   chain positions) drained by the real uploader (core `hq_sync::Uploader`, batches of
//!   `BATCH_ROWS`, each one call of `ingest.push` as the store's role over loopback TCP,
//!   then its projection on a second connection beside the next push; the drain ends when
//!   the last is projected) into a fresh database, against a bare `COPY` of the same rows
//!   into the same table (`hq.chain`) in another fresh one on a connection of its own; the
//!   uploader's login is timed apart and counted in its figure. Interleaved run by run.
//! - Reports: 100 stores × 30 days × 2,000 attempts (6 M rows of `hq.attempts`, two tills a
//!   store) made server-side with `generate_series`, then `reports::store_day` and
//!   `reports::chain_day`, the functions behind `redeemdesk-hq day` and `chain`.

use crate::stats::{self, Summary};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::clock::SystemClock;
use redeemdesk_core::hq_sync::{
    ChainRow, HqBatch, HqLink, LinkFuture, UploadIdentity, Uploader, BATCH_ROWS,
};
use redeemdesk_core::ledger::generate::{self, Synthetic};
use redeemdesk_core::ledger::Ledger;
use redeemdesk_hq::testing::Cluster;
use redeemdesk_hq::{reports, roles, HqClient, HqTarget};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const PASSWORD: &str = "bench-till-pass-7Qe";
pub const STORES: i64 = 100;
pub const DAYS: i64 = 30;
pub const PER_STORE_DAY: i64 = 2_000;
const FIRST_DAY: &str = "2026-10-01";

pub struct Sizes {
    pub week_attempts: u64,
    pub upload_runs: usize,
    pub per_store_day: i64,
    pub report_runs: usize,
}

pub fn sizes(quick: bool) -> Sizes {
    if quick {
        Sizes {
            week_attempts: 700,
            upload_runs: 2,
            per_store_day: 20,
            report_runs: 3,
        }
    } else {
        Sizes {
            week_attempts: 7_000,
            upload_runs: 7,
            per_store_day: PER_STORE_DAY,
            report_runs: 30,
        }
    }
}

pub struct Result {
    pub positions: i64,
    pub batches: u32,
    pub upload: Summary,
    pub first_push: Summary,
    pub connect: Summary,
    /// The login and the drain, as a till starting from nothing.
    pub cold: Summary,
    pub in_pushes: Summary,
    pub copy: Summary,
    /// Median rows a second of each.
    pub upload_rows_s: f64,
    pub copy_rows_s: f64,
    /// `COPY` against the upload from nothing (login and drain).
    pub ratio: f64,
    /// The same with the upload on an open connection, as the `COPY`.
    pub open_ratio: f64,
    pub rows: i64,
    pub generated_in: Duration,
    pub table_bytes: i64,
    pub store_day: Summary,
    pub store_day_rows: usize,
    pub chain_day: Summary,
    pub chain_day_stores: usize,
    pub plans: Vec<(String, String)>,
}

pub async fn run(sizes: &Sizes) -> Result {
    let cluster = Cluster::start();
    let tmp = tempfile::tempdir().expect("temp dir");

    // The week's ledger, made once and copied per run: the uploader's cursor lives in it.
    let master = tmp.path().join("week.sqlite");
    {
        let l = Ledger::open(&master, Mode::Live).expect("a fresh ledger");
        generate::fill(
            &l,
            &Synthetic {
                attempts: sizes.week_attempts,
                first_day: "2026-11-02".parse().expect("a day"),
                per_day: sizes.week_attempts / 7,
                seed: 21,
            },
        )
        .expect("generated");
        l.close().expect("closed");
    }
    let mut uploads = Vec::new();
    let mut copies = Vec::new();
    let mut first_pushes = Vec::new();
    let mut connects = Vec::new();
    let mut colds = Vec::new();
    let mut in_pushes = Vec::new();
    let (mut positions, mut batches) = (0, 0);
    for run in 0..sizes.upload_runs {
        let u = upload_once(&cluster, &master, tmp.path(), run).await;
        let (took, end) = (u.took, u.end);
        positions = end;
        batches = u.batches;
        uploads.push(took);
        first_pushes.push(u.first_push);
        connects.push(u.connect);
        colds.push(u.connect + took);
        in_pushes.push(u.in_pushes);
        copies.push(copy_once(&cluster, &master, run).await);
        eprintln!(
            "  upload {end} positions: {} after a {} login (COPY {})",
            stats::ms(took),
            stats::ms(u.connect),
            stats::ms(*copies.last().expect("a run"))
        );
    }
    let upload = stats::summarise(&uploads);
    let copy = stats::summarise(&copies);
    let first_push = stats::summarise(&first_pushes);
    let connect = stats::summarise(&connects);
    let cold = stats::summarise(&colds);
    let in_pushes = stats::summarise(&in_pushes);
    let rate = |d: Duration| positions as f64 / d.as_secs_f64();

    // The reports on 6 M attempts.
    let (db, client) = cluster.fresh_db().await;
    let started = Instant::now();
    let rows = generate_attempts(&cluster, &db, sizes.per_store_day).await;
    let generated_in = started.elapsed();
    eprintln!(
        "  {rows} attempts generated in {:.0} s",
        generated_in.as_secs_f64()
    );
    let table_bytes: i64 = client
        .query_one("SELECT pg_total_relation_size('hq.attempts')", &[])
        .await
        .expect("size")
        .get(0);
    let first: chrono_free::Day = FIRST_DAY.parse().expect("day");
    let mut store_days = Vec::new();
    let mut store_day_rows = 0;
    for i in 0..sizes.report_runs {
        // A different store and day each time, spread over the month.
        let store = store_name(1 + (i as i64 * 37) % STORES);
        let day = first.plus(((i as i64 * 7) % DAYS) as u32);
        let (took, d) = timed(reports::store_day(&client, &store, &day.0)).await;
        let d = d.expect("store day");
        store_day_rows = d.attempts.len();
        assert_eq!(
            d.attempts.len() as i64,
            sizes.per_store_day,
            "{store} {}",
            day.0
        );
        store_days.push(took);
    }
    let mut chain_days = Vec::new();
    let mut chain_day_stores = 0;
    for i in 0..sizes.report_runs {
        let day = first.plus(((i as i64 * 11) % DAYS) as u32);
        let (took, t) = timed(reports::chain_day(&client, &day.0)).await;
        let t = t.expect("chain day");
        chain_day_stores = t.len();
        assert_eq!(t.len() as i64, STORES);
        chain_days.push(took);
    }
    let mut plans = Vec::new();
    for (what, sql) in [
        (
            "store day",
            format!(
                "SELECT d.till, a.attempt_id FROM hq.attempts a JOIN hq.desks d USING (store_id, desk_id) \
                 WHERE a.store_id = '{}' AND a.business_day = '{FIRST_DAY}' ORDER BY a.created_ms, a.attempt_id",
                store_name(42)
            ),
        ),
        (
            "chain day",
            format!(
                "SELECT a.store_id, count(*), sum(a.settled_fen) FILTER (WHERE a.state = 'succeeded') \
                 FROM hq.attempts a WHERE a.business_day = '{FIRST_DAY}' GROUP BY a.store_id ORDER BY a.store_id"
            ),
        ),
    ] {
        let rows = client
            .query(&format!("EXPLAIN (COSTS OFF) {sql}"), &[])
            .await
            .expect("explain");
        let plan: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
        plans.push((what.to_owned(), plan.join(" / ")));
    }
    drop(client);
    drop(cluster);
    Result {
        positions,
        batches,
        upload,
        first_push,
        connect,
        cold,
        in_pushes,
        copy,
        upload_rows_s: rate(cold.median),
        copy_rows_s: rate(copy.median),
        ratio: copy.median.as_secs_f64() / cold.median.as_secs_f64(),
        open_ratio: copy.median.as_secs_f64() / upload.median.as_secs_f64(),
        rows,
        generated_in,
        table_bytes,
        store_day: stats::summarise(&store_days),
        store_day_rows,
        chain_day: stats::summarise(&chain_days),
        chain_day_stores,
        plans,
    }
}

/// The real client, with the time spent in its pushes (the round trips to `ingest.push`)
/// added up: the rest of a drain is the till's side (reading the ledger, the cursor).
struct Timed {
    inner: HqClient,
    pushes: std::sync::Mutex<Vec<Duration>>,
}

impl HqLink for Timed {
    fn push<'a>(&'a self, batch: &'a HqBatch) -> LinkFuture<'a> {
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.push(batch).await;
            self.pushes.lock().expect("pushes").push(t.elapsed());
            r
        })
    }

    fn settle(&self) -> redeemdesk_core::hq_sync::SettleFuture<'_> {
        self.inner.settle()
    }
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> (Duration, T) {
    let t = Instant::now();
    let out = f.await;
    (t.elapsed(), out)
}

fn store_name(n: i64) -> String {
    format!("S{n:03}")
}

/// One drain of the whole ledger into a fresh database by the real uploader: answers the
/// time, the chain's end and the batches.
async fn upload_once(cluster: &Cluster, master: &Path, dir: &Path, run: usize) -> Upload {
    let (db, mut admin) = cluster.fresh_db().await;
    let store = format!("bench-up-{run}");
    roles::add_store(&mut admin, &store, PASSWORD)
        .await
        .expect("store and role");
    let file = dir.join(format!("till-{run}.sqlite"));
    std::fs::copy(master, &file).expect("ledger copied");
    let ledger = Arc::new(Ledger::open(&file, Mode::Live).expect("the copy opens"));
    let url = cluster.tcp_url(&roles::role_name(&store), &db, None);
    let link = Arc::new(Timed {
        inner: HqClient::new(HqTarget::new(&url, Some(PASSWORD), None).expect("target")),
        pushes: Default::default(),
    });
    let up = Uploader::new(
        ledger.clone(),
        link.clone(),
        Arc::new(SystemClock),
        UploadIdentity {
            store_id: store.clone(),
            till: "1号机".into(),
            app_version: "bench".into(),
        },
    )
    .expect("uploader");
    let end = ledger.chain_end().expect("end");
    // The login timed apart: the COPY's connection is made before its timing.
    let (connect, columns) = timed(link.inner.connect()).await;
    assert!(
        columns.expect("HQ reachable"),
        "HQ takes the batch as columns"
    );
    let started = Instant::now();
    let report = up.drain().await.expect("the week drains");
    let took = started.elapsed();
    assert_eq!(report.cursor, end, "everything acknowledged");
    let pushes = link.pushes.lock().expect("pushes").clone();
    let held: i64 = admin
        .query_one("SELECT count(*) FROM hq.chain", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(held, end, "HQ holds every position once");
    let (projected, made): (i64, i64) = admin
        .query_one(
            "SELECT (SELECT count(*) FROM hq.attempts),
                    (SELECT count(*) FROM hq.chain WHERE attempt_id IS NOT NULL)",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .expect("count");
    assert!(made > 0, "the week's creating events carry their attempts");
    assert_eq!(
        projected, made,
        "the drain ends with every attempt in HQ's reports"
    );
    drop(up);
    ledger.close().expect("closed");
    drop(ledger);
    let _ = std::fs::remove_file(&file);
    drop_db(cluster, &db, admin).await;
    Upload {
        took,
        connect,
        end,
        batches: report.batches,
        first_push: pushes.first().copied().unwrap_or_default(),
        in_pushes: pushes.iter().sum(),
    }
}

struct Upload {
    took: Duration,
    /// Making the connection before the drain: TCP, SCRAM login, the push prepared.
    connect: Duration,
    end: i64,
    batches: u32,
    /// The first push (the session's first call of the function).
    first_push: Duration,
    /// Every push, the first among them.
    in_pushes: Duration,
}

/// The same rows as one `COPY` into `hq.chain` (the desk's row made first, as the foreign
/// key needs): from the rows in memory to committed, on an open connection of its own (as
/// the uploader's: not the session that just made the schema, whose caches hold it).
async fn copy_once(cluster: &Cluster, master: &Path, run: usize) -> Duration {
    let (db, admin) = cluster.fresh_db().await;
    let ledger = Ledger::open(master, Mode::Live).expect("the week opens");
    let end = ledger.chain_end().expect("end");
    let rows = ledger
        .chain_rows_after(0, end as usize)
        .expect("the chain's rows");
    let desk = uuid_of(&ledger.desk_id().expect("desk id"));
    ledger.close().expect("closed");
    drop(ledger);
    let store = format!("bench-copy-{run}");
    admin
        .batch_execute(&format!(
            "INSERT INTO hq.stores (store_id, role_name) VALUES ('{store}', 'bench_copy_{run}');
             INSERT INTO hq.desks (store_id, desk_id, till, app_version, ledger_version, head_hash)
             VALUES ('{store}', '{desk}', '1号机', 'bench', 1, repeat('0', 64));"
        ))
        .await
        .expect("the desk's row");
    let copier = cluster.admin(&db).await;
    let started = Instant::now();
    let csv = csv_of(&store, &desk, &rows);
    let sink = copier
        .copy_in(
            "COPY hq.chain (store_id, desk_id, seq, kind, prev_hash, hash, time_ms, body, \
             attempt_id, business_day, created_ms, channel, code, count, cashier) \
             FROM STDIN (FORMAT csv)",
        )
        .await
        .expect("COPY starts");
    use futures_util::SinkExt;
    let mut sink = Box::pin(sink);
    sink.send(bytes::Bytes::from(csv)).await.expect("rows sent");
    let n = sink.as_mut().finish().await.expect("COPY commits");
    let took = started.elapsed();
    assert_eq!(n as i64, end);
    drop(copier);
    drop_db(cluster, &db, admin).await;
    took
}

fn uuid_of(s: &str) -> String {
    s.to_owned()
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn csv_of(store: &str, desk: &str, rows: &[ChainRow]) -> Vec<u8> {
    let mut out = String::with_capacity(rows.len() * 400);
    for r in rows {
        // The attempt's identity on its creating event, as HQ keeps it beside the row.
        let a = r.attempt.as_ref();
        let field = |key: &str| match a.and_then(|a| a.get(key)) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => quoted(s),
            Some(v) => v.to_string(),
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            quoted(store),
            desk,
            r.seq,
            r.kind,
            r.prev_hash,
            r.hash,
            r.time_ms.map(|t| t.to_string()).unwrap_or_default(),
            quoted(r.body.get()),
            field("id"),
            field("business_day"),
            field("created_ms"),
            field("channel"),
            field("code"),
            field("count"),
            field("cashier"),
        ));
    }
    out.into_bytes()
}

async fn drop_db(cluster: &Cluster, db: &str, client: Client) {
    drop(client);
    // The dropped client's backend may still be leaving.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = cluster
        .admin("postgres")
        .await
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .await;
}

/// 100 stores of two tills, and `per_store_day` attempts a store for each of 30 days, made
/// by the server (`generate_series`) on two connections at once. A day's attempts of all
/// stores are interleaved in time, as tills upload them; a twentieth are rejected, a
/// fiftieth undone (`cancelled`), the rest succeeded. The foreign-key triggers are off for
/// the load (`session_replication_role = replica`; every row refers to a store and desk made
/// just before), the indexes are the schema's; then `VACUUM ANALYZE`, as autovacuum would.
async fn generate_attempts(cluster: &Cluster, db: &str, per_store_day: i64) -> i64 {
    let admin = cluster.admin(db).await;
    admin
        .batch_execute(&format!(
            "INSERT INTO hq.stores (store_id, role_name)
             SELECT format('S%s', lpad(s::text, 3, '0')), format('bench_store_%s', s)
             FROM generate_series(1, {STORES}) s;
             INSERT INTO hq.desks (store_id, desk_id, till, app_version, ledger_version, head_hash)
             SELECT format('S%s', lpad(s::text, 3, '0')), md5(format('desk-%s-%s', s, t))::uuid,
                    format('%s号机', t), '0.1.0', 1, repeat('0', 64)
             FROM generate_series(1, {STORES}) s, generate_series(1, 2) t;"
        ))
        .await
        .expect("stores and desks");
    let per_day = per_store_day * STORES;
    let total = per_day * DAYS;
    let load = |from: i64, to: i64| {
        let sql = format!(
            "SET session_replication_role = replica;
             INSERT INTO hq.attempts (store_id, desk_id, attempt_id, business_day, created_ms,
                 channel, code, count, cashier, state, state_ms, settled_face_fen, settled_fen)
             SELECT r.stores[g.s], r.desks[2 * g.s - 1 + g.k % 2], lpad(to_hex(g.i), 16, '0'),
                    date '{FIRST_DAY}' + g.d,
                    1790812800000 + g.d * 86400000::bigint + 28800000 + g.k * 21000 + g.s * 7,
                    r.channels[1 + g.i % 5],
                    lpad(((g.i * 7919) % 1000000000000)::text, 12, '0'),
                    1 + (g.i % 7 = 0)::int,
                    r.cashiers[1 + g.k % 3],
                    CASE WHEN g.i % 20 = 0 THEN 'rejected'
                         WHEN g.i % 50 = 1 THEN 'cancelled' ELSE 'succeeded' END,
                    1790812800000 + g.d * 86400000::bigint + 28800000 + g.k * 21000 + g.s * 7 + 800,
                    CASE WHEN g.i % 20 = 0 THEN NULL ELSE 1000 * (1 + g.i % 10) END,
                    CASE WHEN g.i % 20 = 0 THEN NULL ELSE 900 * (1 + g.i % 10) END
             FROM (SELECT (SELECT array_agg(store_id ORDER BY store_id) FROM hq.stores) AS stores,
                          (SELECT array_agg(desk_id ORDER BY store_id, till) FROM hq.desks) AS desks,
                          ARRAY['shoubei','zvcms','liantuofu','allinpay','yhtd'] AS channels,
                          ARRAY['王芳','李娜','张伟'] AS cashiers) r,
                  LATERAL (SELECT i, (i / {per_day})::int AS d,
                                  ((i / {STORES}) % {per_store_day})::int AS k,
                                  (1 + i % {STORES})::int AS s
                           FROM generate_series({from}::bigint, {to}::bigint - 1) i) g;"
        );
        async move {
            let c = cluster.admin(db).await;
            c.batch_execute(&sql).await.expect("attempts generated");
        }
    };
    let half = (DAYS / 2) * per_day;
    tokio::join!(load(0, half), load(half, total));
    admin
        .batch_execute("VACUUM ANALYZE hq.attempts")
        .await
        .expect("vacuum");
    admin
        .query_one("SELECT count(*) FROM hq.attempts", &[])
        .await
        .expect("count")
        .get(0)
}

/// A business day as `YYYY-MM-DD` and the days after it, without a date crate.
mod chrono_free {
    pub struct Day(pub String);

    impl std::str::FromStr for Day {
        type Err = String;
        fn from_str(s: &str) -> std::result::Result<Day, String> {
            Ok(Day(s.to_owned()))
        }
    }

    impl Day {
        /// Days within one month of 31 days from the 1st (the benchmark's October).
        pub fn plus(&self, days: u32) -> Day {
            let (ym, d) = self.0.rsplit_once('-').expect("YYYY-MM-DD");
            let d: u32 = d.parse().expect("day of month");
            Day(format!("{ym}-{:02}", d + days))
        }
    }
}

pub fn markdown(r: &Result) -> String {
    let met = |ok: bool| if ok { "met" } else { "**missed**" };
    let plans: String = r
        .plans
        .iter()
        .map(|(what, plan)| format!("- {what}: `{plan}`\n"))
        .collect();
    format!(
        "## 9. Chain mode: upload and reports at headquarters\n\n\
         A real PostgreSQL 15 (a throwaway cluster from `scripts/pg.sh`: `fsync=off`, \
         defaults otherwise, on this machine), migrated by `redeemdesk-hq`'s migrations.\n\n\
         **Upload.** A week offline — a ledger of the core's generator with {positions} chain \
         positions (events and seals) — drained by the till's uploader (`hq_sync::Uploader`, \
         {batches} batches of up to {BATCH_ROWS}, each one `ingest.push` call and transaction as the store's \
         role over loopback TCP, the chain checked) into a fresh database, from the login \
         to the last acknowledgement committed in the ledger and every position projected \
         into the reports' `hq.attempts` (`ingest.project` on the till's second \
         connection, each batch's projection beside the next push; the drain ends waiting \
         for the last, and the run asserts every attempt is there). The login — \
         `HqClient::connect`: TCP, SCRAM, the push prepared — is timed on its own, then the \
         drain. The baseline is a bare `COPY … FROM STDIN (FORMAT csv)` of the same rows \
         into the same table (`hq.chain`: the row, its attempt's identity on a creating \
         event, its primary key and foreign key) in another fresh database, on an open \
         connection, timed from the rows in memory to the commit: no checks, no \
         projection, one transaction. Interleaved run by run.\n\n\
         | what | median (spread) | rows/s |\n|---|---|---|\n\
         | uploader: login and the week's backlog drained | {} | {:.0} |\n\
         | … the login (TCP, SCRAM, the push prepared) | {} | |\n\
         | … the drain after it | {} | |\n\
         | … of which in `ingest.push` round trips (the projections overlap them) | {} | |\n\
         | … of which the first push (the backend's first call of the function) | {} | |\n\
         | bare `COPY` of the same rows | {} | {:.0} |\n\n\
         **Upload throughput / `COPY` = {:.2}** (target ≥ 0.5: {}); {:.2} with the upload's \
         login left out, as the `COPY`'s is. **The week drained in {}** (target < 10 s on \
         loopback: {}).\n\n\
         **Reports.** {} attempts in `hq.attempts` ({} with its indexes): {STORES} stores of \
         two tills × {DAYS} days × {} attempts, made server-side with `generate_series` in \
         {:.0} s (two connections; a day's attempts of all stores interleaved in time, as \
         tills upload them), then `VACUUM ANALYZE`. Timed through `redeemdesk_hq::reports` \
         (what `redeemdesk-hq day` and `chain` print) over the Unix socket: the store day \
         is three queries (every attempt with its till, totals per channel, totals per \
         till), a different store and day each run; the chain day is every store's totals \
         of one day.\n\n\
         | what | median (spread) | target |\n|---|---|---|\n\
         | store day ({} attempts) | {} | < 50 ms: {} |\n\
         | chain day ({} stores) | {} | < 500 ms: {} |\n\n\
         Plans (`EXPLAIN`):\n{plans}",
        stats::show(&r.cold),
        r.upload_rows_s,
        stats::show(&r.connect),
        stats::show(&r.upload),
        stats::show(&r.in_pushes),
        stats::show(&r.first_push),
        stats::show(&r.copy),
        r.copy_rows_s,
        r.ratio,
        met(r.ratio >= 0.5),
        r.open_ratio,
        stats::ms(r.cold.median),
        met(r.cold.median < Duration::from_secs(10)),
        r.rows,
        bytes(r.table_bytes),
        r.rows / (STORES * DAYS),
        r.generated_in.as_secs_f64(),
        r.store_day_rows,
        stats::show(&r.store_day),
        met(r.store_day.median < Duration::from_millis(50)),
        r.chain_day_stores,
        stats::show(&r.chain_day),
        met(r.chain_day.median < Duration::from_millis(500)),
        positions = r.positions,
        batches = r.batches,
    )
}

fn bytes(b: i64) -> String {
    format!("{:.2} GB", b as f64 / 1e9)
}
