//! Stores and their roles. Each store gets one login role for its tills, holding USAGE on
//! the `ingest` schema and EXECUTE on its functions (`push` and `project`, `desk_state`/`held` for
//! `verify-log --against-hq`, `store_day`/`redeemed_elsewhere` for the 门店 tab and the
//! cross-till refusal) and nothing else; `hq.stores` ties the role to the store, and
//! each function refuses any other store for it.

use tokio_postgres::Client;

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("store id {0:?}: 1-32 of A-Z a-z 0-9 _ -")]
    StoreId(String),
    #[error("HQ database: {0}")]
    Db(#[from] tokio_postgres::Error),
}

/// The tills' role of a store: `till_<store id, lower case>`.
pub fn role_name(store_id: &str) -> String {
    format!("till_{}", store_id.to_ascii_lowercase().replace('-', "_"))
}

fn valid_store_id(store_id: &str) -> bool {
    (1..=32).contains(&store_id.len())
        && store_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Creates the store and its tills' role with `password` (or sets the password of an
/// existing one). Returns the role's name.
pub async fn add_store(
    client: &mut Client,
    store_id: &str,
    password: &str,
) -> Result<String, RoleError> {
    if !valid_store_id(store_id) {
        return Err(RoleError::StoreId(store_id.to_owned()));
    }
    let role = role_name(store_id);
    let tx = client.transaction().await?;
    let exists = tx
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])
        .await?
        .is_some();
    // The role name is made of [a-z0-9_] only (checked above), so quoting it is enough.
    // `ingest` holds only what a till may call (every function there checks the store), so
    // the grant is the schema's: whichever of them this database's migrations made.
    let verb = if exists { "ALTER" } else { "CREATE" };
    tx.batch_execute(&format!(
        "{verb} ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT \
         PASSWORD {pw};
         GRANT USAGE ON SCHEMA ingest TO \"{role}\";
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ingest TO \"{role}\";",
        pw = literal(password)
    ))
    .await?;
    tx.execute(
        "INSERT INTO hq.stores (store_id, role_name) VALUES ($1, $2)
         ON CONFLICT (store_id) DO NOTHING",
        &[&store_id, &role],
    )
    .await?;
    tx.commit().await?;
    Ok(role)
}
