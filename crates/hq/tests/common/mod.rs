//! Shared by the HQ test binaries: a migrated database on the binary's real PostgreSQL
//! cluster, stores with their tills' roles, real ledgers filled by the core's generator,
//! and uploaders pushing them over loopback TCP.
#![allow(dead_code)]

use redeemdesk_core::app_info::Mode;
use redeemdesk_core::clock::SystemClock;
use redeemdesk_core::hq_sync::{HqAck, HqBatch, UploadIdentity, Uploader};
use redeemdesk_core::ledger::generate::{self, Generated, Synthetic};
use redeemdesk_core::ledger::{self, Ledger};
use redeemdesk_hq::testing::Cluster;
use redeemdesk_hq::{roles, HqClient, HqTarget};
use std::sync::Arc;
use tokio_postgres::Client;

pub struct Hq {
    pub cluster: Arc<Cluster>,
    pub db: String,
    pub admin: Client,
}

pub async fn hq() -> Hq {
    hq_on(Cluster::shared()).await
}

pub async fn hq_on(cluster: Arc<Cluster>) -> Hq {
    let (db, admin) = cluster.fresh_db().await;
    Hq { cluster, db, admin }
}

/// A store id unique in this cluster (roles are cluster-wide).
pub fn store_id(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub const PASSWORD: &str = "till-pass-Q7e!";

impl Hq {
    /// Creates the store and its role; returns the role.
    pub async fn store(&mut self, store: &str) -> String {
        roles::add_store(&mut self.admin, store, PASSWORD)
            .await
            .expect("store and role")
    }

    /// The till's client: the store's role with its password over loopback TCP
    /// (`port` to go through a proxy).
    pub fn client_for(&self, store: &str, port: Option<u16>) -> HqClient {
        let url = self
            .cluster
            .tcp_url(&roles::role_name(store), &self.db, port);
        HqClient::new(HqTarget::new(&url, Some(PASSWORD), None).expect("target"))
    }

    /// A connection as the store's role, for the tests that try what a till must not do.
    pub async fn connect_as(&self, store: &str) -> Client {
        let url = self
            .cluster
            .tcp_url(&roles::role_name(store), &self.db, None);
        HqTarget::new(&url, Some(PASSWORD), None)
            .unwrap()
            .connect()
            .await
            .expect("the till's role logs in with its password")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.admin.query_one(sql, &[]).await.unwrap().get(0)
    }
}

pub struct Till {
    pub _dir: tempfile::TempDir,
    pub path: std::path::PathBuf,
    pub ledger: Arc<Ledger>,
    pub generated: Generated,
}

pub const FIRST_DAY: &str = "2026-11-02";

/// A ledger file with `attempts` attempts from the core's generator (about two events each).
pub fn till(attempts: u64, per_day: u64, seed: u64) -> Till {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::file_name(Mode::Live));
    let l = Ledger::open(&path, Mode::Live).expect("a fresh ledger");
    let generated = generate::fill(
        &l,
        &Synthetic {
            attempts,
            first_day: FIRST_DAY.parse().unwrap(),
            per_day,
            seed,
        },
    )
    .expect("generated");
    Till {
        _dir: dir,
        path,
        ledger: Arc::new(l),
        generated,
    }
}

pub fn uploader(till: &Till, client: HqClient, store: &str, name: &str) -> Arc<Uploader> {
    Arc::new(
        Uploader::new(
            till.ledger.clone(),
            Arc::new(client),
            Arc::new(SystemClock),
            UploadIdentity {
                store_id: store.to_owned(),
                till: name.to_owned(),
                app_version: "0.1.0-test".to_owned(),
            },
        )
        .expect("uploader"),
    )
}

/// Every position HQ holds for the desk matches the ledger's chain, once each.
pub async fn assert_same_chain(hq: &Hq, till: &Till) {
    let desk = uuid::Uuid::parse_str(&till.ledger.desk_id().unwrap()).unwrap();
    let end = till.ledger.chain_end().unwrap();
    let rows = hq
        .admin
        .query(
            "SELECT seq, hash FROM hq.chain WHERE desk_id = $1 ORDER BY seq",
            &[&desk],
        )
        .await
        .unwrap();
    assert_eq!(rows.len() as i64, end, "one row per chain position");
    let local = till.ledger.chain_rows_after(0, end as usize).unwrap();
    for (r, l) in rows.iter().zip(&local) {
        assert_eq!(r.get::<_, i64>(0), l.seq);
        assert_eq!(r.get::<_, String>(1), l.hash, "position {}", l.seq);
    }
}

/// The batch of the till's chain positions after `after` (at most `n`), for `store`.
pub fn batch(store: &str, till: &Till, after: i64, n: usize) -> HqBatch {
    HqBatch {
        store_id: store.to_owned(),
        desk_id: till.ledger.desk_id().unwrap(),
        till: "1号机".to_owned(),
        app_version: "0.1.0-test".to_owned(),
        ledger_version: till.ledger.schema_version().unwrap() as i32,
        till_now_ms: redeemdesk_core::clock::Clock::now_ms(&redeemdesk_core::clock::SystemClock),
        till_head: till.ledger.chain_end().unwrap(),
        rows: till.ledger.chain_rows_after(after, n).unwrap(),
        channel_clock: None,
    }
}

/// What an older till sends: its rows as one JSON argument, on the same role.
pub async fn push_as_json(conn: &tokio_postgres::Client, b: &HqBatch) -> HqAck {
    let desk = uuid::Uuid::parse_str(&b.desk_id).unwrap();
    let row = conn
        .query_one(
            "SELECT hwm, head_hash, quarantined \
             FROM ingest.push($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &b.store_id,
                &desk,
                &b.till,
                &b.app_version,
                &b.ledger_version,
                &b.till_now_ms,
                &b.till_head,
                &tokio_postgres::types::Json(&b.rows),
            ],
        )
        .await
        .expect("the JSON push answers");
    HqAck {
        hwm: row.get(0),
        head_hash: row.get(1),
        quarantined: i64::from(row.get::<_, i32>(2)),
    }
}

/// A store's rows at HQ in a comparable form: every column but the store and the times HQ
/// stamps itself.
pub async fn rows_of(hq: &Hq, store: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for sql in [
        "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'store_id' - 'received_at' ORDER BY seq), '[]')
         FROM hq.chain t WHERE store_id = $1",
        "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'store_id' ORDER BY attempt_id), '[]')
         FROM hq.attempts t WHERE store_id = $1",
        "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'store_id' - 'received_at' ORDER BY seq, hash),
                         '[]')
         FROM hq.forks t WHERE store_id = $1",
        "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'store_id' - 'first_seen' - 'last_seen'
                                   - 'skew_ms'), '[]')
         FROM hq.desks t WHERE store_id = $1",
    ] {
        out.push(hq.admin.query_one(sql, &[&store]).await.unwrap().get(0));
    }
    out
}
