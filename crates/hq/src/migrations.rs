//! HQ's schema as an append-only list of migrations, in the ledger's style
//! (crates/core/src/ledger/migrations.rs): a shipped migration is never edited, a change is
//! a new entry at the end. `hq_migrations.applied` records each one's SHA-256, and
//! `migrate` refuses a database whose record disagrees with this binary's list (an edited
//! migration, or a database migrated by a newer binary).

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

pub(crate) struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

/// In order; append only.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "schema",
        sql: crate::schema::MIGRATION_SCHEMA,
    },
    Migration {
        name: "ingest_push",
        sql: crate::ingest::MIGRATION_FUNCTION,
    },
    Migration {
        name: "ingest_held",
        sql: crate::anchor::MIGRATION_FUNCTIONS,
    },
    Migration {
        name: "store_view",
        sql: crate::store_view::MIGRATION_FUNCTIONS,
    },
    Migration {
        name: "report_indexes",
        sql: crate::reports::MIGRATION_REPORT_INDEXES,
    },
    Migration {
        name: "ingest_push_set",
        sql: crate::ingest::MIGRATION_PUSH_SET,
    },
    Migration {
        name: "channel_clock",
        sql: crate::ingest::MIGRATION_CHANNEL_CLOCK,
    },
    Migration {
        name: "ingest_push_columns",
        sql: crate::ingest::MIGRATION_PUSH_COLUMNS,
    },
    Migration {
        name: "attempts_lean",
        sql: crate::reports::MIGRATION_ATTEMPTS_LEAN,
    },
    Migration {
        name: "projection_apart",
        sql: crate::ingest::MIGRATION_PROJECTION_APART,
    },
    Migration {
        name: "project_behind_ordered",
        sql: crate::ingest::MIGRATION_PROJECT_BEHIND_ORDERED,
    },
];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("HQ database: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("migration {version} ({name}) was applied with another text than this binary's: the database and the program disagree")]
    Edited { version: i32, name: String },
    #[error("the database is at migration {at}, newer than this binary's {known}: use a newer redeemdesk-hq")]
    Newer { at: i32, known: i32 },
}

pub(crate) fn fingerprint(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How many migrations this binary knows.
pub fn latest_version() -> i32 {
    MIGRATIONS.len() as i32
}

/// Applies every migration the database lacks, in one transaction under an advisory lock
/// so two `migrate` runs do not race. Returns the migrations applied.
pub async fn migrate(client: &mut Client) -> Result<Vec<&'static str>, MigrateError> {
    migrate_up_to(client, MIGRATIONS.len()).await
}

/// The first `count` migrations only: an HQ an older binary migrated (the tests of mixed
/// versions).
pub(crate) async fn migrate_up_to(
    client: &mut Client,
    count: usize,
) -> Result<Vec<&'static str>, MigrateError> {
    client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS hq_migrations;
             REVOKE ALL ON SCHEMA hq_migrations FROM PUBLIC;
             CREATE TABLE IF NOT EXISTS hq_migrations.applied (
                 version integer PRIMARY KEY,
                 name text NOT NULL,
                 sha256 text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let mut done = Vec::new();
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(2121)", &[])
        .await?;
    let applied = tx
        .query(
            "SELECT version, name, sha256 FROM hq_migrations.applied ORDER BY version",
            &[],
        )
        .await?;
    let known = latest_version();
    for row in &applied {
        let version: i32 = row.get(0);
        let sha: String = row.get(2);
        let Some(m) = MIGRATIONS.get((version - 1) as usize) else {
            return Err(MigrateError::Newer { at: version, known });
        };
        if fingerprint(m.sql) != sha {
            return Err(MigrateError::Edited {
                version,
                name: row.get(1),
            });
        }
    }
    for (i, m) in MIGRATIONS
        .iter()
        .enumerate()
        .take(count)
        .skip(applied.len())
    {
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO hq_migrations.applied (version, name, sha256) VALUES ($1, $2, $3)",
            &[&((i + 1) as i32), &m.name, &fingerprint(m.sql)],
        )
        .await?;
        done.push(m.name);
    }
    tx.commit().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SHA-256 of each shipped migration. Append a line when you append a migration; never
    /// change an existing line (that would mean a shipped migration was edited).
    const SHIPPED: &[(&str, &str)] = &[
        (
            "schema",
            "f711a292bdc00dd893d327f1b57aadedf051c88e3fbc13e348daf77a123a191e",
        ),
        (
            "ingest_push",
            "8d371a50df808a3e5a28609ea63d82e9dd61b7e9907bd08c337e22201e4e6443",
        ),
        (
            "ingest_held",
            "ca099cea1cde6538502d8a06395479e23a4743158958f936276a678736107273",
        ),
        (
            "store_view",
            "aee8c0bab5ca04769bcbd93cfc6ea88d766b10fea7801b8c19bdf8b195b4165e",
        ),
        (
            "report_indexes",
            "a2366894b30a1327803857b1276d7c65ea74f80dd5d18b4a9ce4e30df07f17f1",
        ),
        (
            "ingest_push_set",
            "5502feed8f9175892f2e9dc193e72cad10f24f493ac8b6463c35b1a7a8972c6c",
        ),
        (
            "channel_clock",
            "0e4227e813dab14b4c4bf6eefabdb04e583095820ab2743d053119b709c1fe09",
        ),
        (
            "ingest_push_columns",
            "d16ccc6596243a7623fd5759bd31b45032fdd772d47a262191eee671b04edb07",
        ),
        (
            "attempts_lean",
            "33722f9c6d1806bcc0d68c8fa8cc6fd2aff65a4bd93fdd5645f889e6da92b302",
        ),
        (
            "projection_apart",
            "0d5334a27e5f3746534039f8153744018a762d8cbf265bd9111e6b1844e306b7",
        ),
        (
            "project_behind_ordered",
            "fc757e80fc90d6b559676eca7278dd067f02d1fdc5d08355d4241d908044d478",
        ),
    ];

    #[test]
    fn shipped_migrations_are_never_edited() {
        let now: Vec<(&str, String)> = MIGRATIONS
            .iter()
            .map(|m| (m.name, fingerprint(m.sql)))
            .collect();
        assert!(SHIPPED.len() <= now.len(), "the list is append-only");
        for ((name, shipped), (now_name, now_digest)) in SHIPPED.iter().zip(&now) {
            assert_eq!(name, now_name, "migrations were reordered");
            assert_eq!(
                shipped, now_digest,
                "migration {name} was edited after shipping; append a new one instead"
            );
        }
        assert_eq!(
            SHIPPED.len(),
            now.len(),
            "record the new migration's fingerprint in SHIPPED: {:?}",
            &now[SHIPPED.len()..]
        );
    }

    #[test]
    fn migrations_do_not_manage_their_own_transaction() {
        for m in MIGRATIONS {
            // A statement of its own, not `ON COMMIT DELETE ROWS` inside one.
            let own = m
                .sql
                .lines()
                .map(|l| l.trim().to_ascii_uppercase())
                .any(|l| {
                    l.starts_with("COMMIT")
                        || l.starts_with("ROLLBACK")
                        || l.starts_with("BEGIN TRANSACTION")
                        || l.starts_with("START TRANSACTION")
                });
            assert!(
                !own,
                "migration {} manages its own transaction: migrate() owns it",
                m.name
            );
        }
    }
}
