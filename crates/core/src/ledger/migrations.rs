//! The ledger's schema as an append-only list of migrations. `PRAGMA user_version` holds
//! how many have been applied. A shipped migration is never edited (the fingerprint test
//! below fails if one is): a change to the schema is a new entry at the end. PRAGMAs that
//! configure the connection belong to `Ledger::open`, not here.

use super::error::Failure;
use super::{
    attempts, audit, events, hq_upload, meta, notifications, print_jobs, reconciliations, schedule,
    seals, settings,
};
use rusqlite::Connection;

pub(crate) struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

/// In order; append only.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "meta",
        sql: meta::MIGRATION_CREATE,
    },
    Migration {
        name: "attempts",
        sql: attempts::MIGRATION_CREATE,
    },
    Migration {
        name: "notifications",
        sql: notifications::MIGRATION_CREATE,
    },
    Migration {
        name: "events",
        sql: events::MIGRATION_CREATE,
    },
    Migration {
        name: "resolver_schedule",
        sql: schedule::MIGRATION_CREATE,
    },
    Migration {
        name: "settings",
        sql: settings::MIGRATION_CREATE,
    },
    Migration {
        name: "audit",
        sql: audit::MIGRATION_CREATE,
    },
    Migration {
        name: "reconciliations",
        sql: reconciliations::MIGRATION_CREATE,
    },
    Migration {
        name: "audit_chain_head",
        sql: audit::MIGRATION_CHAIN_HEAD,
    },
    Migration {
        name: "seals",
        sql: seals::MIGRATION_CREATE,
    },
    Migration {
        name: "hq_upload",
        sql: hq_upload::MIGRATION_CREATE,
    },
    Migration {
        name: "print_jobs",
        sql: print_jobs::MIGRATION_CREATE,
    },
];

pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub(crate) fn version(conn: &Connection) -> Result<i64, Failure> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Applies the migrations after `from`. Runs inside the caller's write transaction, so a
/// failure leaves the file at its old version.
pub(crate) fn apply(conn: &Connection, from: i64) -> Result<(), Failure> {
    for (i, m) in MIGRATIONS.iter().enumerate().skip(from.max(0) as usize) {
        if let Err(e) = conn.execute_batch(m.sql) {
            tracing::error!(
                migration = i + 1,
                name = m.name,
                "ledger migration failed: {e}"
            );
            return Err(Failure::Sql(e));
        }
        conn.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// SHA-256 of each shipped migration's SQL. Append a line when you append a migration;
    /// never change an existing line (that would mean a shipped migration was edited).
    const SHIPPED: &[(&str, &str)] = &[
        (
            "meta",
            "89a4951668d8f9203f4bd50ae03865225814a93c05ecec0af15fc9ac11b0bd86",
        ),
        (
            "attempts",
            "21fa68f9d91d576e7de2be19da70a86d19b654355d668fef30fb576917b6f3f9",
        ),
        (
            "notifications",
            "f1bd83a861ec3245a98d0cc9e7d97801786c502be9c86d7de7deb598fec25f0d",
        ),
        (
            "events",
            "41b7e0521ee0c1a3212ac9ab220fd5c2d6089817eabd65c297916c0b0475b195",
        ),
        (
            "resolver_schedule",
            "89ad82260e020a4fa9b31c6e605bf84ec737a0e0f4dce2d3bb5e6ccc2f85eb79",
        ),
        (
            "settings",
            "3af09c7e9fac1bafa51364eb881bf1b736797c805421c54368a0fc958844bdd1",
        ),
        (
            "audit",
            "560313fa80a66301baa3637eeec9b96842be67f7e6e9e976e36d2ccd639d2d8f",
        ),
        (
            "reconciliations",
            "fdb119010f1c272dffb02732afa5f9f1ce835143990eaea6f7ad606efe65fa1f",
        ),
        (
            "audit_chain_head",
            "3fb0ba83abc4b8f4dc0fcc89a0e01bd3e11e0bd8c13ed01a4ce144aec62113cb",
        ),
        (
            "seals",
            "f7a712cb3d143960f4a9bb6edff49997f11216d15ac8fce6ffd3747753502b42",
        ),
        (
            "hq_upload",
            "7b0d1709df7724b7eee37e3cd885061636b0dfbf4b066e98890a4268b4419794",
        ),
        (
            "print_jobs",
            "0f9819ad4dc14abe633d6cd1b74cdbee4f05aae91c8cc3918bbb62917f1731be",
        ),
    ];

    #[test]
    fn every_migration_applies_in_order_to_an_empty_database() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        apply(&conn, 0).expect("the migrations must apply cleanly, one after another");
        assert_eq!(
            version(&conn).unwrap(),
            latest_version(),
            "user_version counts them"
        );
        let problems: Vec<String> = conn
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            problems.is_empty(),
            "foreign keys point at real tables: {problems:?}"
        );
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn applying_from_the_latest_version_does_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        apply(&conn, 0).unwrap();
        apply(&conn, latest_version()).expect("a second run must not re-create tables");
        assert_eq!(version(&conn).unwrap(), latest_version());
    }

    #[test]
    fn migrations_do_not_configure_the_connection() {
        for m in MIGRATIONS {
            assert!(
                !m.sql.to_ascii_uppercase().contains("PRAGMA"),
                "migration {} sets a PRAGMA: that belongs to Ledger::open",
                m.name
            );
            assert!(
                !m.sql.to_ascii_uppercase().contains("BEGIN TRANSACTION")
                    && !m.sql.to_ascii_uppercase().contains("COMMIT"),
                "migration {} manages its own transaction: apply() owns it",
                m.name
            );
        }
    }

    #[test]
    fn shipped_migrations_are_never_edited() {
        let now: Vec<(&str, String)> = MIGRATIONS
            .iter()
            .map(|m| {
                let digest = Sha256::digest(m.sql.as_bytes());
                (m.name, digest.iter().map(|b| format!("{b:02x}")).collect())
            })
            .collect();
        assert!(
            SHIPPED.len() <= now.len(),
            "a shipped migration was removed: the list is append-only"
        );
        for ((name, shipped), (now_name, now_digest)) in SHIPPED.iter().zip(&now) {
            assert_eq!(name, now_name, "migrations were reordered");
            assert_eq!(
                shipped, now_digest,
                "migration {name} was edited after shipping; append a new migration instead"
            );
        }
        assert_eq!(
            SHIPPED.len(),
            now.len(),
            "record the new migration's fingerprint in SHIPPED: {:?}",
            &now[SHIPPED.len()..]
        );
    }
}
