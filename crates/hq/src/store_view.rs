//! What a till may read of its own store at HQ (issue 21 step 5): the store's business day
//! across all its tills (the manager's 门店 tab) and whether a single-use code was already
//! redeemed at another till of the store (the cross-till refusal at confirmation). Both go
//! through SECURITY DEFINER functions that refuse any store but the calling role's own, so
//! the role still holds no privilege on a table.

use crate::client::db_text;
use crate::reports::{AttemptLine, StoreDay, Totals};
use redeemdesk_core::cross_till::RedeemedElsewhere;
use std::collections::BTreeMap;
use tokio_postgres::Client;

pub(crate) const MIGRATION_FUNCTIONS: &str = r#"
CREATE FUNCTION ingest.store_day(p_store text, p_day date)
RETURNS TABLE (till text, desk_id text, attempt_id text, created_ms bigint, channel text,
               code text, count integer, cashier text, state text, settled_face_fen bigint,
               settled_fen bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not read for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
        SELECT d.till, a.desk_id::text, a.attempt_id, a.created_ms, a.channel, a.code,
               a.count, a.cashier, a.state, a.settled_face_fen, a.settled_fen
        FROM hq.attempts a JOIN hq.desks d USING (store_id, desk_id)
        WHERE a.store_id = p_store AND a.business_day = p_day
        ORDER BY a.created_ms, a.attempt_id;
END
$fn$;
-- The latest success of this code on this channel at another desk of the store.
CREATE FUNCTION ingest.redeemed_elsewhere(p_store text, p_desk uuid, p_channel text,
                                          p_code text)
RETURNS TABLE (till text, at_ms bigint, cashier text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not read for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
        SELECT d.till, a.state_ms, a.cashier
        FROM hq.attempts a JOIN hq.desks d USING (store_id, desk_id)
        WHERE a.store_id = p_store AND a.code = p_code AND a.channel = p_channel
          AND a.desk_id <> p_desk AND a.state = 'succeeded'
        ORDER BY a.state_ms DESC LIMIT 1;
END
$fn$;
REVOKE ALL ON FUNCTION ingest.store_day(text, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION ingest.redeemed_elsewhere(text, uuid, text, text) FROM PUBLIC;
DO $grant$
DECLARE r text;
BEGIN
    FOR r IN SELECT role_name FROM hq.stores LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION ingest.store_day(text, date) TO %I', r);
        EXECUTE format('GRANT EXECUTE ON FUNCTION ingest.redeemed_elsewhere(text, uuid, text, text) TO %I', r);
    END LOOP;
END
$grant$;
"#;

#[derive(Debug, thiserror::Error)]
pub enum StoreViewError {
    #[error("HQ: {}", db_text(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("desk id {0:?} is not a UUID")]
    DeskId(String),
    #[error("day {0:?} is not YYYY-MM-DD")]
    Day(String),
}

/// The store's business day as the store's role reads it: every attempt of every till,
/// with totals per channel and per till by the reports' rule (only successes count).
pub async fn store_day(
    client: &Client,
    store: &str,
    day: &str,
) -> Result<StoreDay, StoreViewError> {
    if !is_day(day) {
        return Err(StoreViewError::Day(day.to_owned()));
    }
    let attempts: Vec<AttemptLine> = client
        .query(
            "SELECT till, desk_id, attempt_id, created_ms, channel, code, count, cashier,
                    state, settled_face_fen, settled_fen
             FROM ingest.store_day($1, $2::text::date)",
            &[&store, &day],
        )
        .await?
        .iter()
        .map(AttemptLine::from_row)
        .collect();
    Ok(StoreDay {
        store_id: store.to_owned(),
        day: day.to_owned(),
        per_channel: totals_by(&attempts, |a| a.channel.clone()),
        per_till: totals_by(&attempts, |a| a.till.clone()),
        attempts,
    })
}

fn is_day(day: &str) -> bool {
    let b = day.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// Totals under each key, in key order, as `reports::store_day` sums them in SQL.
pub fn totals_by(lines: &[AttemptLine], key: impl Fn(&AttemptLine) -> String) -> Vec<Totals> {
    let mut by: BTreeMap<String, Totals> = BTreeMap::new();
    for a in lines {
        let k = key(a);
        let t = by.entry(k.clone()).or_insert_with(|| Totals {
            key: k,
            attempts: 0,
            succeeded: 0,
            units: 0,
            face_value_fen: 0,
            settled_fen: 0,
        });
        t.attempts += 1;
        if a.state == "succeeded" {
            t.succeeded += 1;
            t.units += i64::from(a.count);
            t.face_value_fen += a.settled_face_fen.unwrap_or(0);
            t.settled_fen += a.settled_fen.unwrap_or(0);
        }
    }
    by.into_values().collect()
}

/// The latest success of `code` on `channel` at another till of the store, if HQ holds one.
pub async fn redeemed_elsewhere(
    client: &Client,
    store: &str,
    desk_id: &str,
    channel: &str,
    code: &str,
) -> Result<Option<RedeemedElsewhere>, StoreViewError> {
    let desk =
        uuid::Uuid::parse_str(desk_id).map_err(|_| StoreViewError::DeskId(desk_id.to_owned()))?;
    Ok(client
        .query_opt(
            "SELECT till, at_ms, cashier FROM ingest.redeemed_elsewhere($1, $2, $3, $4)",
            &[&store, &desk, &channel, &code],
        )
        .await?
        .map(|r| RedeemedElsewhere {
            till: r.get(0),
            at_ms: r.get(1),
            cashier: r.get(2),
        }))
}
