//! HQ as the external anchor of every till's chain (`verify-log --against-hq`): what HQ
//! holds of one desk, read through two more SECURITY DEFINER functions a store's role may
//! call for its own store only (`ingest.held`, `ingest.desk_state`); still no table access.

use crate::client::{db_text, ConnectError, HqTarget};
use redeemdesk_core::hq_sync::HqHeld;

pub(crate) const MIGRATION_FUNCTIONS: &str = r#"
CREATE FUNCTION ingest.desk_state(p_store text, p_desk uuid)
RETURNS TABLE (hwm bigint, head_hash text, forks bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not read for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
        SELECT d.hwm, d.head_hash,
               (SELECT count(*) FROM hq.forks f
                WHERE f.store_id = p_store AND f.desk_id = p_desk)
        FROM hq.desks d WHERE d.store_id = p_store AND d.desk_id = p_desk;
END
$fn$;
CREATE FUNCTION ingest.held(p_store text, p_desk uuid, p_after bigint, p_limit integer)
RETURNS TABLE (seq bigint, hash text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not read for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
        SELECT c.seq, c.hash FROM hq.chain c
        WHERE c.store_id = p_store AND c.desk_id = p_desk AND c.seq > p_after
        ORDER BY c.seq LIMIT p_limit;
END
$fn$;
REVOKE ALL ON FUNCTION ingest.desk_state(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION ingest.held(text, uuid, bigint, integer) FROM PUBLIC;
DO $grant$
DECLARE r text;
BEGIN
    FOR r IN SELECT role_name FROM hq.stores LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION ingest.desk_state(text, uuid) TO %I', r);
        EXECUTE format('GRANT EXECUTE ON FUNCTION ingest.held(text, uuid, bigint, integer) TO %I', r);
    END LOOP;
END
$grant$;
"#;

#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("HQ: {}", db_text(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("desk id {0:?} is not a UUID")]
    DeskId(String),
}

/// Everything HQ holds of one desk's chain (positions and hashes), as the store's role.
pub async fn held(target: &HqTarget, store: &str, desk_id: &str) -> Result<HqHeld, AnchorError> {
    let desk =
        uuid::Uuid::parse_str(desk_id).map_err(|_| AnchorError::DeskId(desk_id.to_owned()))?;
    let client = target.connect().await?;
    let state = client
        .query_opt(
            "SELECT hwm, head_hash, forks FROM ingest.desk_state($1, $2)",
            &[&store, &desk],
        )
        .await?;
    let Some(state) = state else {
        return Ok(HqHeld::default());
    };
    let mut hashes = Vec::new();
    let mut after = 0i64;
    loop {
        let rows = client
            .query(
                "SELECT seq, hash FROM ingest.held($1, $2, $3, 10000)",
                &[&store, &desk, &after],
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            hashes.push((r.get::<_, i64>(0), r.get::<_, String>(1)));
        }
        after = hashes.last().map_or(after, |h| h.0);
    }
    Ok(HqHeld {
        known: true,
        hwm: state.get(0),
        head_hash: state.get(1),
        forks: state.get(2),
        hashes,
    })
}
