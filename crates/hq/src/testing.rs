//! Real PostgreSQL for tests: a throwaway cluster from `scripts/pg.sh`, one per test binary
//! (shared while any test holds it, stopped when the last one lets go, and by the script's
//! watcher if the binary dies), and a fresh migrated database per test.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
/// The admin connection `fresh_db` answers, for tests outside this crate to name.
pub use tokio_postgres::Client;
use tokio_postgres::NoTls;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
}

/// A running cluster: Unix socket in `dir`, TCP on 127.0.0.1:`port`.
#[derive(Debug)]
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    pid: Mutex<u32>,
}

static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
static NEXT_DB: AtomicU32 = AtomicU32::new(1);

impl Cluster {
    /// A cluster of this test's own (for tests that stop or kill the server).
    pub fn start() -> Cluster {
        let out = Command::new(script())
            .arg("start")
            .env("PG_WATCH_PID", std::process::id().to_string())
            .output()
            .expect("scripts/pg.sh runs");
        assert!(
            out.status.success(),
            "scripts/pg.sh start failed (PostgreSQL installed? scripts/deps.sh test): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("pg.sh printed no {k}: {text}"))
                .to_owned()
        };
        Cluster {
            dir: PathBuf::from(get("PGDIR")),
            port: get("PGPORT").parse().expect("port"),
            pid: Mutex::new(get("PGPID").parse().expect("pid")),
        }
    }

    /// The test binary's shared cluster.
    pub fn shared() -> Arc<Cluster> {
        let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slot.upgrade() {
            return c;
        }
        let c = Arc::new(Cluster::start());
        *slot = Arc::downgrade(&c);
        c
    }

    pub fn pid(&self) -> u32 {
        *self.pid.lock().expect("pid")
    }

    /// A superuser connection string over the Unix socket.
    pub fn admin_url(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.dir.display(),
            self.port
        )
    }

    /// A URL over loopback TCP for `user` (a password is needed there).
    pub fn tcp_url(&self, user: &str, db: &str, port: Option<u16>) -> String {
        format!(
            "postgres://{user}@127.0.0.1:{}/{db}?sslmode=disable",
            port.unwrap_or(self.port)
        )
    }

    pub async fn admin(&self, db: &str) -> Client {
        let (client, conn) = tokio_postgres::connect(&self.admin_url(db), NoTls)
            .await
            .expect("superuser connects over the socket");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }

    /// A fresh database, migrated. Its name is unique in this cluster.
    pub async fn fresh_db(&self) -> (String, Client) {
        self.fresh_db_at(crate::migrations::latest_version() as usize)
            .await
    }

    /// A fresh database with only the first `migrations` applied, as an older
    /// `redeemdesk-hq migrate` left it.
    pub async fn fresh_db_at(&self, migrations: usize) -> (String, Client) {
        let name = format!(
            "hq_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        self.admin("postgres")
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let mut client = self.admin(&name).await;
        crate::migrations::migrate_up_to(&mut client, migrations)
            .await
            .expect("migrations apply");
        (name, client)
    }

    /// Kills the server the hard way: SIGKILL to the postmaster, then waits for its
    /// backends (which notice and exit) so the cluster can start again.
    pub fn kill(&self) {
        let pid = self.pid().to_string();
        let children = Command::new("pgrep")
            .args(["-P", &pid])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill");
        let gone = |p: &str| !std::path::Path::new(&format!("/proc/{p}")).exists();
        for _ in 0..200 {
            if gone(&pid) && children.split_whitespace().all(gone) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Starts the cluster again on the same port (crash recovery runs).
    pub fn restart(&self) {
        let out = Command::new(script())
            .arg("restart")
            .arg(&self.dir)
            .output()
            .expect("pg.sh restart");
        assert!(
            out.status.success(),
            "restart: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pid = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pid");
        *self.pid.lock().expect("pid") = pid;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).status();
    }
}
