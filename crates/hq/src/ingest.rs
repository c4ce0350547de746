//! The one way a till writes to HQ: `ingest.push`, a SECURITY DEFINER function. A till's
//! role holds EXECUTE on it (and USAGE on its schema) and nothing else, so it can neither
//! read another store's rows nor rewrite any row; the function itself refuses a store the
//! calling role was not made for.
//!
//! One call is one transaction (one statement). It locks the desk's row first, so two
//! pushes of one desk (a retry racing its lost predecessor) run one after the other; then,
//! over the batch in `seq` order:
//! - a position HQ already holds with the same hash is a replay: nothing happens;
//! - the same position with another hash is a fork: quarantined in `hq.forks`;
//! - the next position linking to HQ's head is inserted (`ON CONFLICT DO NOTHING`);
//! - the next position not linking to it is a fork too, and so is everything after it in
//!   the batch: HQ's chain stops there until someone looks;
//! - a position beyond the next (a gap) is ignored: the till resends from the answer.
//!
//! It answers the contiguous high-water mark, HQ's head hash and how many rows of this
//! batch were quarantined.

use crate::errors::PushError;
use redeemdesk_core::hq_sync::{HqAck, HqBatch};

pub(crate) const MIGRATION_FUNCTION: &str = r#"
CREATE FUNCTION ingest.push(
    p_store text,
    p_desk uuid,
    p_till text,
    p_app_version text,
    p_ledger_version integer,
    p_till_now_ms bigint,
    p_till_head bigint,
    p_rows jsonb
) RETURNS TABLE (hwm bigint, head_hash text, quarantined integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    d_hwm bigint;
    d_head text;
    new_hwm bigint;
    new_head text;
    bad_rn bigint;
    bad_gap boolean;
    q integer := 0;
    n integer;
    hq_now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not write for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- Locks the desk's row: pushes of one desk run one after the other.
    INSERT INTO hq.desks AS d (store_id, desk_id, till, app_version, ledger_version,
                               skew_ms, head_hash, till_head)
    VALUES (p_store, p_desk, p_till, p_app_version, p_ledger_version,
            p_till_now_ms - hq_now_ms, repeat('0', 64), p_till_head)
    ON CONFLICT (store_id, desk_id) DO UPDATE
        SET till = EXCLUDED.till, app_version = EXCLUDED.app_version,
            ledger_version = EXCLUDED.ledger_version, last_seen = now(),
            skew_ms = EXCLUDED.skew_ms, till_head = EXCLUDED.till_head
    RETURNING d.hwm, d.head_hash INTO d_hwm, d_head;

    -- The batch, parsed once (set-based below: a row-by-row loop grew with the square of
    -- the batch). Owned by this function's owner: the till's role cannot read it.
    IF to_regclass('pg_temp.hq_batch') IS NULL THEN
        CREATE TEMP TABLE hq_batch (
            seq bigint, kind text, prev_hash text, hash text, time_ms bigint,
            body jsonb, attempt jsonb) ON COMMIT DELETE ROWS;
    END IF;
    DELETE FROM pg_temp.hq_batch;
    INSERT INTO pg_temp.hq_batch
        SELECT x.seq, x.kind, x.prev_hash, x.hash, x.time_ms, coalesce(x.body, '{}'), x.attempt
        FROM jsonb_to_recordset(p_rows) AS x(seq bigint, kind text, prev_hash text,
            hash text, time_ms bigint, body jsonb, attempt jsonb);
    -- Without statistics the planner takes the batch for one row and nests loops over it.
    ANALYZE pg_temp.hq_batch;

    -- Positions HQ holds: a different hash is a fork.
    WITH bad AS (
        SELECT b.*, c.hash AS held FROM pg_temp.hq_batch b
        LEFT JOIN hq.chain c ON c.store_id = p_store AND c.desk_id = p_desk AND c.seq = b.seq
        WHERE b.seq <= d_hwm AND c.hash IS DISTINCT FROM b.hash),
    ins AS (
        INSERT INTO hq.forks (store_id, desk_id, seq, hash, prev_hash, reason, held_hash,
                              kind, time_ms, body)
        SELECT p_store, p_desk, seq, hash, prev_hash, 'different_hash', held, kind, time_ms,
               body FROM bad
        ON CONFLICT DO NOTHING)
    SELECT count(*) INTO n FROM bad;
    q := q + n;

    -- The new positions continue HQ's chain up to the first that does not: a gap (left
    -- for a resend) or a broken link (a fork).
    SELECT s.rn, s.seq <> d_hwm + s.rn INTO bad_rn, bad_gap
    FROM (SELECT b.seq, b.prev_hash, row_number() OVER w AS rn, lag(b.hash) OVER w AS prevh
          FROM pg_temp.hq_batch b WHERE b.seq > d_hwm WINDOW w AS (ORDER BY b.seq)) s
    WHERE s.seq <> d_hwm + s.rn
       OR s.prev_hash IS DISTINCT FROM CASE WHEN s.rn = 1 THEN d_head ELSE s.prevh END
    ORDER BY s.rn LIMIT 1;
    IF bad_rn IS NULL THEN
        SELECT greatest(max(b.seq), d_hwm) INTO new_hwm FROM pg_temp.hq_batch b;
    ELSE
        new_hwm := d_hwm + bad_rn - 1;
    END IF;
    new_head := coalesce((SELECT b.hash FROM pg_temp.hq_batch b
                          WHERE b.seq = new_hwm AND new_hwm > d_hwm LIMIT 1), d_head);

    INSERT INTO hq.chain (store_id, desk_id, seq, kind, prev_hash, hash, time_ms, body)
    SELECT p_store, p_desk, b.seq, b.kind, b.prev_hash, b.hash, b.time_ms, b.body
    FROM pg_temp.hq_batch b WHERE b.seq > d_hwm AND b.seq <= new_hwm
    ON CONFLICT DO NOTHING;

    IF bad_rn IS NOT NULL AND NOT bad_gap THEN
        WITH bad AS (SELECT * FROM pg_temp.hq_batch b WHERE b.seq > new_hwm),
        ins AS (
            INSERT INTO hq.forks (store_id, desk_id, seq, hash, prev_hash, reason, held_hash,
                                  kind, time_ms, body)
            SELECT p_store, p_desk, seq, hash, prev_hash, 'does_not_continue', new_head,
                   kind, time_ms, body FROM bad
            ON CONFLICT DO NOTHING)
        SELECT count(*) INTO n FROM bad;
        q := q + n;
    END IF;

    -- The reports' projection of what was accepted.
    INSERT INTO hq.attempts (store_id, desk_id, attempt_id, business_day, created_ms, channel,
                             code, count, cashier, state, state_ms)
    SELECT p_store, p_desk, b.attempt->>'id', (b.attempt->>'business_day')::date,
           (b.attempt->>'created_ms')::bigint, b.attempt->>'channel', b.attempt->>'code',
           (b.attempt->>'count')::integer, b.attempt->>'cashier', b.body->>'state', b.time_ms
    FROM pg_temp.hq_batch b
    WHERE b.seq > d_hwm AND b.seq <= new_hwm AND b.attempt IS NOT NULL
    ON CONFLICT DO NOTHING;
    -- The till's cache rule (ledger/mod.rs): a success carries its figures, an undo keeps
    -- them, any other state has none.
    WITH ev AS (
        SELECT b.seq, b.time_ms, b.body->>'attempt_id' AS id, b.body->>'state' AS state,
               (b.body->>'face_value_fen')::bigint AS face, (b.body->>'settled_fen')::bigint AS settled
        FROM pg_temp.hq_batch b
        WHERE b.seq > d_hwm AND b.seq <= new_hwm AND b.kind = 'event'
          AND b.body->>'attempt_id' IS NOT NULL),
    last AS (SELECT DISTINCT ON (id) * FROM ev ORDER BY id, seq DESC),
    won AS (SELECT DISTINCT ON (id) * FROM ev WHERE state = 'succeeded' ORDER BY id, seq DESC)
    UPDATE hq.attempts a
    SET state = l.state, state_ms = l.time_ms,
        settled_face_fen = CASE l.state WHEN 'succeeded' THEN l.face
            WHEN 'cancelled' THEN CASE WHEN w.id IS NULL THEN a.settled_face_fen ELSE w.face END END,
        settled_fen = CASE l.state WHEN 'succeeded' THEN l.settled
            WHEN 'cancelled' THEN CASE WHEN w.id IS NULL THEN a.settled_fen ELSE w.settled END END
    FROM last l LEFT JOIN won w ON w.id = l.id
    WHERE a.store_id = p_store AND a.desk_id = p_desk AND a.attempt_id = l.id;

    UPDATE hq.desks d SET hwm = new_hwm, head_hash = new_head, forks = d.forks + q
    WHERE d.store_id = p_store AND d.desk_id = p_desk;
    RETURN QUERY SELECT new_hwm, new_head, q;
END
$fn$;
REVOKE ALL ON FUNCTION ingest.push(text, uuid, text, text, integer, bigint, bigint, jsonb)
    FROM PUBLIC;
"#;

/// The same function, set-based end to end (migration `ingest_push_set`): the batch is read
/// straight from the argument, each attempt of the batch is written once, and an attempt
/// HQ already holds is found by its key, never by scanning the desk's attempts. Same
/// signature, so the grants stay; same answers for every batch.
pub(crate) const MIGRATION_PUSH_SET: &str = r#"
CREATE OR REPLACE FUNCTION ingest.push(
    p_store text,
    p_desk uuid,
    p_till text,
    p_app_version text,
    p_ledger_version integer,
    p_till_now_ms bigint,
    p_till_head bigint,
    p_rows jsonb
) RETURNS TABLE (hwm bigint, head_hash text, quarantined integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    d_hwm bigint;
    d_head text;
    new_hwm bigint;
    new_head text;
    bad_rn bigint;
    bad_gap boolean;
    tail_forks boolean;
    q integer;
    hq_now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not write for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- Locks the desk's row: pushes of one desk run one after the other.
    INSERT INTO hq.desks AS d (store_id, desk_id, till, app_version, ledger_version,
                               skew_ms, head_hash, till_head)
    VALUES (p_store, p_desk, p_till, p_app_version, p_ledger_version,
            p_till_now_ms - hq_now_ms, repeat('0', 64), p_till_head)
    ON CONFLICT (store_id, desk_id) DO UPDATE
        SET till = EXCLUDED.till, app_version = EXCLUDED.app_version,
            ledger_version = EXCLUDED.ledger_version, last_seen = now(),
            skew_ms = EXCLUDED.skew_ms, till_head = EXCLUDED.till_head
    RETURNING d.hwm, d.head_hash INTO d_hwm, d_head;

    -- The new positions continue HQ's chain up to the first that does not: a gap (left
    -- for a resend) or a broken link (a fork). One pass over the batch's keys and hashes.
    SELECT s.rn, s.seq <> d_hwm + s.rn INTO bad_rn, bad_gap
    FROM (SELECT x.seq, x.prev_hash, row_number() OVER w AS rn, lag(x.hash) OVER w AS prevh
          FROM jsonb_to_recordset(p_rows) AS x(seq bigint, prev_hash text, hash text)
          WHERE x.seq > d_hwm WINDOW w AS (ORDER BY x.seq)) s
    WHERE s.seq <> d_hwm + s.rn
       OR s.prev_hash IS DISTINCT FROM CASE WHEN s.rn = 1 THEN d_head ELSE s.prevh END
    ORDER BY s.rn LIMIT 1;
    IF bad_rn IS NULL THEN
        SELECT greatest(max(x.seq), d_hwm) INTO new_hwm
        FROM jsonb_to_recordset(p_rows) AS x(seq bigint);
    ELSE
        new_hwm := d_hwm + bad_rn - 1;
    END IF;
    new_head := coalesce((SELECT x.hash
                          FROM jsonb_to_recordset(p_rows) AS x(seq bigint, hash text)
                          WHERE x.seq = new_hwm AND new_hwm > d_hwm LIMIT 1), d_head);
    tail_forks := bad_rn IS NOT NULL AND NOT bad_gap;

    -- Everything else in one statement over the batch parsed once (no temp table, no
    -- ANALYZE, nothing per row): quarantine (a held position with another hash; after a
    -- broken link, the rest of the batch), the chain's new positions, and the reports'
    -- projection. Its UPDATE sees hq.attempts as it was before the statement, so it moves
    -- only attempts HQ already held; the ones created in this batch are inserted once, in
    -- their latest state, instead of inserted and then updated.
    WITH b AS MATERIALIZED (
        SELECT x.seq, x.kind, x.prev_hash, x.hash, x.time_ms, coalesce(x.body, '{}') AS body,
               x.attempt
        FROM jsonb_to_recordset(p_rows) AS x(seq bigint, kind text, prev_hash text,
            hash text, time_ms bigint, body jsonb, attempt jsonb)),
    held_bad AS MATERIALIZED (
        SELECT b.*, c.hash AS held FROM b
        LEFT JOIN hq.chain c ON c.store_id = p_store AND c.desk_id = p_desk AND c.seq = b.seq
        WHERE b.seq <= d_hwm AND c.hash IS DISTINCT FROM b.hash),
    tail_bad AS MATERIALIZED (SELECT * FROM b WHERE tail_forks AND b.seq > new_hwm),
    f1 AS (
        INSERT INTO hq.forks (store_id, desk_id, seq, hash, prev_hash, reason, held_hash,
                              kind, time_ms, body)
        SELECT p_store, p_desk, seq, hash, prev_hash, 'different_hash', held, kind, time_ms,
               body FROM held_bad
        ON CONFLICT DO NOTHING),
    f2 AS (
        INSERT INTO hq.forks (store_id, desk_id, seq, hash, prev_hash, reason, held_hash,
                              kind, time_ms, body)
        SELECT p_store, p_desk, seq, hash, prev_hash, 'does_not_continue', new_head,
               kind, time_ms, body FROM tail_bad
        ON CONFLICT DO NOTHING),
    acc AS MATERIALIZED (SELECT * FROM b WHERE b.seq > d_hwm AND b.seq <= new_hwm),
    ch AS (
        INSERT INTO hq.chain (store_id, desk_id, seq, kind, prev_hash, hash, time_ms, body)
        SELECT p_store, p_desk, seq, kind, prev_hash, hash, time_ms, body FROM acc
        ON CONFLICT DO NOTHING),
    -- Per attempt of this batch: its identity when its creating event is here, its latest
    -- event, and its latest success (the till's cache rule, ledger/mod.rs: a success
    -- carries its figures, an undo keeps them, any other state has none).
    latest AS MATERIALIZED (
        SELECT DISTINCT ON (e.id) e.* FROM (
            SELECT coalesce(acc.attempt->>'id', acc.body->>'attempt_id') AS id, acc.seq,
                   acc.body->>'state' AS state, acc.time_ms AS state_ms,
                   (acc.body->>'face_value_fen')::bigint AS face,
                   (acc.body->>'settled_fen')::bigint AS settled,
                   (array_agg(acc.attempt) FILTER (WHERE acc.attempt IS NOT NULL) OVER w)[1]
                       AS attempt,
                   array_agg((acc.body->>'face_value_fen')::bigint)
                       FILTER (WHERE acc.body->>'state' = 'succeeded') OVER w AS won_faces,
                   array_agg((acc.body->>'settled_fen')::bigint)
                       FILTER (WHERE acc.body->>'state' = 'succeeded') OVER w AS won_settled
            FROM acc
            WHERE acc.kind = 'event'
              AND coalesce(acc.attempt->>'id', acc.body->>'attempt_id') IS NOT NULL
            WINDOW w AS (PARTITION BY coalesce(acc.attempt->>'id', acc.body->>'attempt_id')
                         ORDER BY acc.seq DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) e
        ORDER BY e.id, e.seq DESC),
    ins AS (
        INSERT INTO hq.attempts (store_id, desk_id, attempt_id, business_day, created_ms,
                                 channel, code, count, cashier, state, state_ms,
                                 settled_face_fen, settled_fen)
        SELECT p_store, p_desk, l.id, (l.attempt->>'business_day')::date,
               (l.attempt->>'created_ms')::bigint, l.attempt->>'channel',
               l.attempt->>'code', (l.attempt->>'count')::integer,
               l.attempt->>'cashier', l.state, l.state_ms,
               CASE l.state WHEN 'succeeded' THEN l.face WHEN 'cancelled' THEN l.won_faces[1] END,
               CASE l.state WHEN 'succeeded' THEN l.settled WHEN 'cancelled' THEN l.won_settled[1] END
        FROM latest l WHERE l.attempt IS NOT NULL
        ON CONFLICT DO NOTHING
        RETURNING attempt_id),
    -- Attempts HQ already holds: made by an earlier push (an attempt across two batches),
    -- or (never from a well-formed ledger) a creating event HQ already had.
    held AS MATERIALIZED (
        SELECT l.* FROM latest l
        WHERE l.attempt IS NULL OR l.id NOT IN (SELECT ins.attempt_id FROM ins)),
    upd AS (
        UPDATE hq.attempts a
        SET state = l.state, state_ms = l.state_ms,
            settled_face_fen = CASE l.state WHEN 'succeeded' THEN l.face
                WHEN 'cancelled' THEN CASE WHEN l.won_faces IS NULL THEN a.settled_face_fen
                                           ELSE l.won_faces[1] END END,
            settled_fen = CASE l.state WHEN 'succeeded' THEN l.settled
                WHEN 'cancelled' THEN CASE WHEN l.won_settled IS NULL THEN a.settled_fen
                                           ELSE l.won_settled[1] END END
        FROM held l
        WHERE a.store_id = p_store AND a.desk_id = p_desk AND a.attempt_id = l.id
          -- As an index condition: the desk's other attempts are never scanned.
          AND a.attempt_id = ANY (ARRAY(SELECT h.id FROM held h)))
    SELECT (SELECT count(*) FROM held_bad) + (SELECT count(*) FROM tail_bad) INTO q;

    UPDATE hq.desks d SET hwm = new_hwm, head_hash = new_head, forks = d.forks + q
    WHERE d.store_id = p_store AND d.desk_id = p_desk;
    RETURN QUERY SELECT new_hwm, new_head, q;
END
$fn$;
"#;

/// The till's latest reading of a channel's clock (the `Date` of the channel's last answer
/// against the till's clock) beside HQ's own comparison: three columns of the desk's row,
/// and a push that carries them (migration `channel_clock`). The eight-argument push stays
/// for tills that send no reading; this one runs it, then keeps the reading.
pub(crate) const MIGRATION_CHANNEL_CLOCK: &str = r#"
ALTER TABLE hq.desks
    ADD COLUMN channel text,
    -- The till's clock minus the channel's, as the till read it at channel_seen_ms (its clock).
    ADD COLUMN channel_skew_ms bigint,
    ADD COLUMN channel_seen_ms bigint;
CREATE FUNCTION ingest.push(
    p_store text,
    p_desk uuid,
    p_till text,
    p_app_version text,
    p_ledger_version integer,
    p_till_now_ms bigint,
    p_till_head bigint,
    p_rows jsonb,
    p_channel text,
    p_channel_skew_ms bigint,
    p_channel_seen_ms bigint
) RETURNS TABLE (hwm bigint, head_hash text, quarantined integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    -- Refuses another store's role and locks the desk's row, as every push does.
    RETURN QUERY SELECT * FROM ingest.push(p_store, p_desk, p_till, p_app_version,
        p_ledger_version, p_till_now_ms, p_till_head, p_rows);
    IF p_channel IS NOT NULL THEN
        UPDATE hq.desks d
        SET channel = p_channel, channel_skew_ms = p_channel_skew_ms,
            channel_seen_ms = p_channel_seen_ms
        WHERE d.store_id = p_store AND d.desk_id = p_desk;
    END IF;
END
$fn$;
REVOKE ALL ON FUNCTION ingest.push(text, uuid, text, text, integer, bigint, bigint, jsonb,
    text, bigint, bigint) FROM PUBLIC;
DO $grant$
DECLARE r text;
BEGIN
    FOR r IN SELECT role_name FROM hq.stores LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION ingest.push(text, uuid, text, text, integer, '
                       'bigint, bigint, jsonb, text, bigint, bigint) TO %I', r);
    END LOOP;
END
$grant$;
"#;

/// The call, as the uploader's connection sends it: with the till's channel reading when
/// it has one.
const PUSH: &str =
    "SELECT hwm, head_hash, quarantined FROM ingest.push($1, $2, $3, $4, $5, $6, $7, $8)";
const PUSH_WITH_CHANNEL_CLOCK: &str = "SELECT hwm, head_hash, quarantined \
     FROM ingest.push($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Sends one batch as one transaction and returns HQ's answer.
pub async fn push(client: &tokio_postgres::Client, batch: &HqBatch) -> Result<HqAck, PushError> {
    use tokio_postgres::types::ToSql;
    let desk =
        uuid::Uuid::parse_str(&batch.desk_id).map_err(|e| PushError::Invalid(e.to_string()))?;
    // Serialised straight from the rows as the parameter is written (no JSON tree copied).
    let rows = tokio_postgres::types::Json(&batch.rows);
    let pushed: [&(dyn ToSql + Sync); 8] = [
        &batch.store_id,
        &desk,
        &batch.till,
        &batch.app_version,
        &batch.ledger_version,
        &batch.till_now_ms,
        &batch.till_head,
        &rows,
    ];
    let row = match &batch.channel_clock {
        None => client.query_one(PUSH, &pushed).await?,
        Some(c) => {
            let channel = c.channel.to_string();
            let reading: [&(dyn ToSql + Sync); 3] = [&channel, &c.skew_ms, &c.seen_ms];
            let all: Vec<&(dyn ToSql + Sync)> = pushed.into_iter().chain(reading).collect();
            client.query_one(PUSH_WITH_CHANNEL_CLOCK, &all).await?
        }
    };
    Ok(HqAck {
        hwm: row.get(0),
        head_hash: row.get(1),
        quarantined: i64::from(row.get::<_, i32>(2)),
    })
}
