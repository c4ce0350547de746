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
//!
//! The reports' projection of those positions (`hq.attempts`) is `hq.project`'s: a till of
//! this version asks for it on a second connection (`ingest.project`, [`Projector`]) while
//! its next batch is pushed, an older till's push runs it before committing, and every
//! read of `hq.attempts` first catches up a desk left behind.

use crate::errors::PushError;
use redeemdesk_core::hq_sync::{ChainRow, HqAck, HqBatch};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

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

/// The batch as columns (migration `ingest_push_columns`): one typed array per column and
/// the bodies as one JSON array, so the server parses no JSON but the bodies, once, and
/// the till sends no keys. The two JSON signatures stay for tills not yet updated, and now
/// only turn their argument into these columns: the checks, the quarantine and the
/// projection live here alone. Same answers for every batch (tests/ingest.rs compares).
///
/// Every statement here plans as well with the batch unknown (the plan cache goes generic
/// after five calls): no join of the batch with itself, and a held position is looked up by
/// its key, never by hashing the desk's whole chain.
pub(crate) const MIGRATION_PUSH_COLUMNS: &str = r#"
CREATE FUNCTION ingest.push(
    p_store text,
    p_desk uuid,
    p_till text,
    p_app_version text,
    p_ledger_version integer,
    p_till_now_ms bigint,
    p_till_head bigint,
    p_seq bigint[],
    p_kind text[],
    p_prev_hash text[],
    p_hash text[],
    p_time_ms bigint[],
    p_body jsonb,
    -- On an attempt's creating event, its identity for the reports; NULL elsewhere.
    p_attempt_id text[],
    p_business_day text[],
    p_created_ms bigint[],
    p_channel text[],
    p_code text[],
    p_count integer[],
    p_cashier text[],
    -- The till's latest reading of a channel's clock, or NULL.
    p_clock_channel text,
    p_clock_skew_ms bigint,
    p_clock_seen_ms bigint
) RETURNS TABLE (hwm bigint, head_hash text, quarantined integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    n integer := coalesce(cardinality(p_seq), 0);
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
    -- One position per index of every column: a shorter column would pair one row's hash
    -- with another row's body.
    IF array_ndims(p_seq) > 1 OR EXISTS (
        SELECT 1 FROM unnest(ARRAY[cardinality(p_kind), cardinality(p_prev_hash),
            cardinality(p_hash), cardinality(p_time_ms), jsonb_array_length(p_body),
            cardinality(p_attempt_id), cardinality(p_business_day), cardinality(p_created_ms),
            cardinality(p_channel), cardinality(p_code), cardinality(p_count),
            cardinality(p_cashier)]) AS c(len)
        WHERE coalesce(c.len, 0) <> n) THEN
        RAISE EXCEPTION 'the batch''s columns differ in length'
            USING ERRCODE = 'invalid_parameter_value';
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
    -- for a resend) or a broken link (a fork).
    SELECT s.rn, s.seq <> d_hwm + s.rn INTO bad_rn, bad_gap
    FROM (SELECT u.seq, u.prev_hash, row_number() OVER w AS rn, lag(u.hash) OVER w AS prevh
          FROM unnest(p_seq, p_prev_hash, p_hash) AS u(seq, prev_hash, hash)
          WHERE u.seq > d_hwm WINDOW w AS (ORDER BY u.seq)) s
    WHERE s.seq <> d_hwm + s.rn
       OR s.prev_hash IS DISTINCT FROM CASE WHEN s.rn = 1 THEN d_head ELSE s.prevh END
    ORDER BY s.rn LIMIT 1;
    IF bad_rn IS NULL THEN
        SELECT greatest(max(u.seq), d_hwm) INTO new_hwm FROM unnest(p_seq) AS u(seq);
    ELSE
        new_hwm := d_hwm + bad_rn - 1;
    END IF;
    new_head := coalesce((SELECT u.hash FROM unnest(p_seq, p_hash) AS u(seq, hash)
                          WHERE u.seq = new_hwm AND new_hwm > d_hwm LIMIT 1), d_head);
    tail_forks := bad_rn IS NOT NULL AND NOT bad_gap;

    -- The rest in one statement over the batch read once: quarantine (a held position
    -- with another hash; after a broken link, the rest of the batch), the chain's new
    -- positions, and the reports' projection. Its UPDATE sees hq.attempts as it was before
    -- the statement, so it moves only attempts HQ already held; the ones created in this
    -- batch are inserted once, in their latest state.
    WITH b AS MATERIALIZED (
        SELECT u.seq, u.kind, u.prev_hash, u.hash, u.time_ms,
               coalesce(nullif(u.body, 'null'::jsonb), '{}') AS body,
               u.attempt_id, u.business_day, u.created_ms, u.channel, u.code, u.count, u.cashier
        FROM ROWS FROM (unnest(p_seq), unnest(p_kind), unnest(p_prev_hash), unnest(p_hash),
                        unnest(p_time_ms), jsonb_array_elements(p_body), unnest(p_attempt_id),
                        unnest(p_business_day), unnest(p_created_ms), unnest(p_channel),
                        unnest(p_code), unnest(p_count), unnest(p_cashier))
             AS u(seq, kind, prev_hash, hash, time_ms, body, attempt_id, business_day,
                  created_ms, channel, code, count, cashier)),
    held_bad AS MATERIALIZED (
        SELECT h.* FROM (
            SELECT b.*, (SELECT c.hash FROM hq.chain c
                         WHERE c.store_id = p_store AND c.desk_id = p_desk AND c.seq = b.seq)
                        AS held
            FROM b WHERE b.seq <= d_hwm OFFSET 0) h
        WHERE h.held IS DISTINCT FROM h.hash),
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
            SELECT coalesce(acc.attempt_id, acc.body->>'attempt_id') AS id, acc.seq,
                   acc.body->>'state' AS state, acc.time_ms AS state_ms,
                   (acc.body->>'face_value_fen')::bigint AS face,
                   (acc.body->>'settled_fen')::bigint AS settled,
                   bool_or(acc.attempt_id IS NOT NULL) OVER w AS made_here,
                   (array_agg(acc.business_day) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS business_day,
                   (array_agg(acc.created_ms) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS created_ms,
                   (array_agg(acc.channel) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS channel,
                   (array_agg(acc.code) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS code,
                   (array_agg(acc.count) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS count,
                   (array_agg(acc.cashier) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS cashier,
                   array_agg((acc.body->>'face_value_fen')::bigint)
                       FILTER (WHERE acc.body->>'state' = 'succeeded') OVER w AS won_faces,
                   array_agg((acc.body->>'settled_fen')::bigint)
                       FILTER (WHERE acc.body->>'state' = 'succeeded') OVER w AS won_settled
            FROM acc
            WHERE acc.kind = 'event'
              AND coalesce(acc.attempt_id, acc.body->>'attempt_id') IS NOT NULL
            WINDOW w AS (PARTITION BY coalesce(acc.attempt_id, acc.body->>'attempt_id')
                         ORDER BY acc.seq DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) e
        ORDER BY e.id, e.seq DESC),
    ins AS (
        INSERT INTO hq.attempts (store_id, desk_id, attempt_id, business_day, created_ms,
                                 channel, code, count, cashier, state, state_ms,
                                 settled_face_fen, settled_fen)
        SELECT p_store, p_desk, l.id, l.business_day::date, l.created_ms, l.channel, l.code,
               l.count, l.cashier, l.state, l.state_ms,
               CASE l.state WHEN 'succeeded' THEN l.face WHEN 'cancelled' THEN l.won_faces[1] END,
               CASE l.state WHEN 'succeeded' THEN l.settled WHEN 'cancelled' THEN l.won_settled[1] END
        FROM latest l WHERE l.made_here
        ON CONFLICT DO NOTHING
        RETURNING attempt_id),
    -- Attempts HQ already holds: made by an earlier push (an attempt across two batches),
    -- or (never from a well-formed ledger) a creating event HQ already had.
    held AS MATERIALIZED (
        SELECT l.* FROM latest l
        WHERE NOT l.made_here OR l.id NOT IN (SELECT ins.attempt_id FROM ins)),
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

    UPDATE hq.desks d SET hwm = new_hwm, head_hash = new_head, forks = d.forks + q,
        channel = coalesce(p_clock_channel, d.channel),
        channel_skew_ms = CASE WHEN p_clock_channel IS NULL THEN d.channel_skew_ms
                               ELSE p_clock_skew_ms END,
        channel_seen_ms = CASE WHEN p_clock_channel IS NULL THEN d.channel_seen_ms
                               ELSE p_clock_seen_ms END
    WHERE d.store_id = p_store AND d.desk_id = p_desk;
    RETURN QUERY SELECT new_hwm, new_head, q;
END
$fn$;
REVOKE ALL ON FUNCTION ingest.push(text, uuid, text, text, integer, bigint, bigint, bigint[],
    text[], text[], text[], bigint[], jsonb, text[], text[], bigint[], text[], text[],
    integer[], text[], text, bigint, bigint) FROM PUBLIC;
DO $grant$
DECLARE r text;
BEGIN
    FOR r IN SELECT role_name FROM hq.stores LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION ingest.push(text, uuid, text, text, integer, '
                       'bigint, bigint, bigint[], text[], text[], text[], bigint[], jsonb, '
                       'text[], text[], bigint[], text[], text[], integer[], text[], text, '
                       'bigint, bigint) TO %I', r);
    END LOOP;
END
$grant$;

-- The JSON pushes of older tills: their rows turned into the columns above (one pass:
-- every aggregate takes the rows in the same order). The grants they had stay.
CREATE OR REPLACE FUNCTION ingest.push(
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
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT p.* FROM (
        SELECT array_agg(x.seq) AS seq, array_agg(x.kind) AS kind,
               array_agg(x.prev_hash) AS prev_hash, array_agg(x.hash) AS hash,
               array_agg(x.time_ms) AS time_ms,
               jsonb_agg(x.body) AS body,
               array_agg(CASE WHEN x.attempt IS NOT NULL
                              THEN coalesce(x.attempt->>'id', x.body->>'attempt_id') END)
                   AS attempt_id,
               array_agg(x.attempt->>'business_day') AS business_day,
               array_agg((x.attempt->>'created_ms')::bigint) AS created_ms,
               array_agg(x.attempt->>'channel') AS channel,
               array_agg(x.attempt->>'code') AS code,
               array_agg((x.attempt->>'count')::integer) AS count,
               array_agg(x.attempt->>'cashier') AS cashier
        FROM jsonb_to_recordset(p_rows) AS x(seq bigint, kind text, prev_hash text,
             hash text, time_ms bigint, body jsonb, attempt jsonb)) c,
    LATERAL ingest.push(p_store, p_desk, p_till, p_app_version, p_ledger_version,
        p_till_now_ms, p_till_head, c.seq, c.kind, c.prev_hash, c.hash, c.time_ms, c.body,
        c.attempt_id, c.business_day, c.created_ms, c.channel, c.code, c.count, c.cashier,
        p_channel, p_channel_skew_ms, p_channel_seen_ms) p
$fn$;
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
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM ingest.push(p_store, p_desk, p_till, p_app_version, p_ledger_version,
        p_till_now_ms, p_till_head, p_rows, NULL::text, NULL::bigint, NULL::bigint)
$fn$;
"#;

/// The projection apart from the push (migration `projection_apart`): `hq.project` makes a
/// desk's `hq.attempts` rows from the chain HQ holds, each creating event now keeping its
/// attempt's identity, so the till can push the next batch on one connection while HQ
/// projects the last on another (two backends: the upload is not one backend's work). The
/// projection's rule lives here alone: the pushes of older tills (the 23-argument one, and
/// the JSON ones through it) project inside their transaction by calling it, and every read
/// of `hq.attempts` first catches up a desk left behind (`hq.project_behind`: a till gone
/// between its push and its projection).
pub(crate) const MIGRATION_PROJECTION_APART: &str = r#"
-- On an attempt's creating event, its identity as the till sent it (NULL elsewhere).
ALTER TABLE hq.chain ADD COLUMN attempt_id text COLLATE "C", ADD COLUMN business_day text,
    ADD COLUMN created_ms bigint, ADD COLUMN channel text, ADD COLUMN code text COLLATE "C",
    ADD COLUMN count integer, ADD COLUMN cashier text;

-- How far each desk's chain is in hq.attempts: a row of its own, so a projection (which
-- locks it) never waits for a push of the desk (which locks the desk's row), nor holds one.
-- Written only by hq.project, after the desk's row exists, so no foreign key is checked.
CREATE TABLE hq.projected (
    store_id text NOT NULL,
    desk_id uuid NOT NULL,
    seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, desk_id)
);
-- Every push so far projected its own positions.
INSERT INTO hq.projected (store_id, desk_id, seq) SELECT store_id, desk_id, hwm FROM hq.desks;

CREATE FUNCTION hq.project(p_store text, p_desk uuid) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    done bigint;
    upto bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.desks d WHERE d.store_id = p_store AND d.desk_id = p_desk)
    THEN
        RETURN 0;
    END IF;
    -- One projection of a desk at a time; a second waits, then finds the work done.
    SELECT p.seq INTO done FROM hq.projected p
    WHERE p.store_id = p_store AND p.desk_id = p_desk FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO hq.projected (store_id, desk_id) VALUES (p_store, p_desk)
        ON CONFLICT DO NOTHING;
        SELECT p.seq INTO done FROM hq.projected p
        WHERE p.store_id = p_store AND p.desk_id = p_desk FOR UPDATE;
    END IF;
    -- The committed high-water mark (or this transaction's own, in a push): every position
    -- up to it is HQ's chain, none of it ever rewritten.
    SELECT d.hwm INTO upto FROM hq.desks d WHERE d.store_id = p_store AND d.desk_id = p_desk;
    IF upto IS NULL OR upto <= done THEN
        RETURN done;
    END IF;

    -- Per attempt of these positions: its identity when its creating event is here, its
    -- latest event, and its latest success (the till's cache rule, ledger/mod.rs: a success
    -- carries its figures, an undo keeps them, any other state has none). The UPDATE sees
    -- hq.attempts as it was before the statement, so it moves only attempts HQ already
    -- held; the ones created here are inserted once, in their latest state.
    WITH acc AS MATERIALIZED (
        SELECT c.seq, c.time_ms, c.body, c.attempt_id, c.business_day, c.created_ms,
               c.channel, c.code, c.count, c.cashier
        FROM hq.chain c
        WHERE c.store_id = p_store AND c.desk_id = p_desk AND c.seq > done AND c.seq <= upto
          AND c.kind = 'event'),
    latest AS MATERIALIZED (
        SELECT DISTINCT ON (e.id) e.* FROM (
            SELECT coalesce(acc.attempt_id, acc.body->>'attempt_id') AS id, acc.seq,
                   acc.body->>'state' AS state, acc.time_ms AS state_ms,
                   (acc.body->>'face_value_fen')::bigint AS face,
                   (acc.body->>'settled_fen')::bigint AS settled,
                   bool_or(acc.attempt_id IS NOT NULL) OVER w AS made_here,
                   (array_agg(acc.business_day) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS business_day,
                   (array_agg(acc.created_ms) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS created_ms,
                   (array_agg(acc.channel) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS channel,
                   (array_agg(acc.code) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS code,
                   (array_agg(acc.count) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS count,
                   (array_agg(acc.cashier) FILTER (WHERE acc.attempt_id IS NOT NULL)
                       OVER w)[1] AS cashier,
                   array_agg((acc.body->>'face_value_fen')::bigint)
                       FILTER (WHERE acc.body->>'state' = 'succeeded') OVER w AS won_faces,
                   array_agg((acc.body->>'settled_fen')::bigint)
                       FILTER (WHERE acc.body->>'state' = 'succeeded') OVER w AS won_settled
            FROM acc
            WHERE coalesce(acc.attempt_id, acc.body->>'attempt_id') IS NOT NULL
            WINDOW w AS (PARTITION BY coalesce(acc.attempt_id, acc.body->>'attempt_id')
                         ORDER BY acc.seq DESC
                         ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) e
        ORDER BY e.id, e.seq DESC),
    ins AS (
        INSERT INTO hq.attempts (store_id, desk_id, attempt_id, business_day, created_ms,
                                 channel, code, count, cashier, state, state_ms,
                                 settled_face_fen, settled_fen)
        SELECT p_store, p_desk, l.id, l.business_day::date, l.created_ms, l.channel, l.code,
               l.count, l.cashier, l.state, l.state_ms,
               CASE l.state WHEN 'succeeded' THEN l.face WHEN 'cancelled' THEN l.won_faces[1] END,
               CASE l.state WHEN 'succeeded' THEN l.settled WHEN 'cancelled' THEN l.won_settled[1] END
        FROM latest l WHERE l.made_here
        ON CONFLICT DO NOTHING
        RETURNING attempt_id),
    -- Attempts HQ already holds: made by earlier positions (an attempt across two
    -- projections), or (never from a well-formed ledger) a second creating event.
    held AS MATERIALIZED (
        SELECT l.* FROM latest l
        WHERE NOT l.made_here OR l.id NOT IN (SELECT ins.attempt_id FROM ins)),
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
          -- As an index condition (in the key's collation): the desk's other attempts are
          -- never scanned.
          AND a.attempt_id = ANY (ARRAY(SELECT h.id COLLATE "C" FROM held h)))
    UPDATE hq.projected p SET seq = upto
    WHERE p.store_id = p_store AND p.desk_id = p_desk;
    RETURN upto;
END
$fn$;

-- Every desk (of one store, or of all with NULL) whose projection is behind its chain,
-- projected: what each read of hq.attempts runs first. Answers how many desks it caught up.
CREATE FUNCTION hq.project_behind(p_store text) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN SELECT d.store_id, d.desk_id FROM hq.desks d
             LEFT JOIN hq.projected p USING (store_id, desk_id)
             WHERE (p_store IS NULL OR d.store_id = p_store) AND d.hwm > coalesce(p.seq, 0)
    LOOP
        PERFORM hq.project(r.store_id, r.desk_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$fn$;


CREATE FUNCTION ingest.push(
    p_store text,
    p_desk uuid,
    p_till text,
    p_app_version text,
    p_ledger_version integer,
    p_till_now_ms bigint,
    p_till_head bigint,
    p_seq bigint[],
    p_kind text[],
    p_prev_hash text[],
    p_hash text[],
    p_time_ms bigint[],
    p_body jsonb,
    -- On an attempt's creating event, its identity for the reports; NULL elsewhere.
    p_attempt_id text[],
    p_business_day text[],
    p_created_ms bigint[],
    p_channel text[],
    p_code text[],
    p_count integer[],
    p_cashier text[],
    -- The till's latest reading of a channel's clock, or NULL.
    p_clock_channel text,
    p_clock_skew_ms bigint,
    p_clock_seen_ms bigint,
    -- false: the till projects on a connection of its own (ingest.project), after the
    -- commit; true: this call projects its positions before it commits.
    p_project boolean
) RETURNS TABLE (hwm bigint, head_hash text, quarantined integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    n integer := coalesce(cardinality(p_seq), 0);
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
    -- One position per index of every column: a shorter column would pair one row's hash
    -- with another row's body.
    IF array_ndims(p_seq) > 1 OR EXISTS (
        SELECT 1 FROM unnest(ARRAY[cardinality(p_kind), cardinality(p_prev_hash),
            cardinality(p_hash), cardinality(p_time_ms), jsonb_array_length(p_body),
            cardinality(p_attempt_id), cardinality(p_business_day), cardinality(p_created_ms),
            cardinality(p_channel), cardinality(p_code), cardinality(p_count),
            cardinality(p_cashier)]) AS c(len)
        WHERE coalesce(c.len, 0) <> n) THEN
        RAISE EXCEPTION 'the batch''s columns differ in length'
            USING ERRCODE = 'invalid_parameter_value';
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
    -- for a resend) or a broken link (a fork).
    SELECT s.rn, s.seq <> d_hwm + s.rn INTO bad_rn, bad_gap
    FROM (SELECT u.seq, u.prev_hash, row_number() OVER w AS rn, lag(u.hash) OVER w AS prevh
          FROM unnest(p_seq, p_prev_hash, p_hash) AS u(seq, prev_hash, hash)
          WHERE u.seq > d_hwm WINDOW w AS (ORDER BY u.seq)) s
    WHERE s.seq <> d_hwm + s.rn
       OR s.prev_hash IS DISTINCT FROM CASE WHEN s.rn = 1 THEN d_head ELSE s.prevh END
    ORDER BY s.rn LIMIT 1;
    IF bad_rn IS NULL THEN
        SELECT greatest(max(u.seq), d_hwm) INTO new_hwm FROM unnest(p_seq) AS u(seq);
    ELSE
        new_hwm := d_hwm + bad_rn - 1;
    END IF;
    new_head := coalesce((SELECT u.hash FROM unnest(p_seq, p_hash) AS u(seq, hash)
                          WHERE u.seq = new_hwm AND new_hwm > d_hwm LIMIT 1), d_head);
    tail_forks := bad_rn IS NOT NULL AND NOT bad_gap;

    -- The rest in one statement over the batch read once: quarantine (a held position
    -- with another hash; after a broken link, the rest of the batch) and the chain's new
    -- positions, each creating event with its attempt's identity for hq.project.
    WITH b AS MATERIALIZED (
        SELECT u.seq, u.kind, u.prev_hash, u.hash, u.time_ms,
               coalesce(nullif(u.body, 'null'::jsonb), '{}') AS body,
               u.attempt_id, u.business_day, u.created_ms, u.channel, u.code, u.count, u.cashier
        FROM ROWS FROM (unnest(p_seq), unnest(p_kind), unnest(p_prev_hash), unnest(p_hash),
                        unnest(p_time_ms), jsonb_array_elements(p_body), unnest(p_attempt_id),
                        unnest(p_business_day), unnest(p_created_ms), unnest(p_channel),
                        unnest(p_code), unnest(p_count), unnest(p_cashier))
             AS u(seq, kind, prev_hash, hash, time_ms, body, attempt_id, business_day,
                  created_ms, channel, code, count, cashier)),
    held_bad AS MATERIALIZED (
        SELECT h.* FROM (
            SELECT b.*, (SELECT c.hash FROM hq.chain c
                         WHERE c.store_id = p_store AND c.desk_id = p_desk AND c.seq = b.seq)
                        AS held
            FROM b WHERE b.seq <= d_hwm OFFSET 0) h
        WHERE h.held IS DISTINCT FROM h.hash),
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
        INSERT INTO hq.chain (store_id, desk_id, seq, kind, prev_hash, hash, time_ms, body,
                              attempt_id, business_day, created_ms, channel, code, count,
                              cashier)
        SELECT p_store, p_desk, seq, kind, prev_hash, hash, time_ms, body, attempt_id,
               business_day, created_ms, channel, code, count, cashier FROM acc
        ON CONFLICT DO NOTHING)
    SELECT (SELECT count(*) FROM held_bad) + (SELECT count(*) FROM tail_bad) INTO q;

    UPDATE hq.desks d SET hwm = new_hwm, head_hash = new_head, forks = d.forks + q,
        channel = coalesce(p_clock_channel, d.channel),
        channel_skew_ms = CASE WHEN p_clock_channel IS NULL THEN d.channel_skew_ms
                               ELSE p_clock_skew_ms END,
        channel_seen_ms = CASE WHEN p_clock_channel IS NULL THEN d.channel_seen_ms
                               ELSE p_clock_seen_ms END
    WHERE d.store_id = p_store AND d.desk_id = p_desk;
    IF p_project THEN
        PERFORM hq.project(p_store, p_desk);
    END IF;
    RETURN QUERY SELECT new_hwm, new_head, q;
END
$fn$;
REVOKE ALL ON FUNCTION ingest.push(text, uuid, text, text, integer, bigint, bigint, bigint[], text[], text[], text[], bigint[], jsonb, text[], text[], bigint[], text[], text[], integer[], text[], text, bigint, bigint, boolean) FROM PUBLIC;

-- The 23-argument push of tills before this one: the same, projecting in its transaction.
CREATE OR REPLACE FUNCTION ingest.push(
    p_store text,
    p_desk uuid,
    p_till text,
    p_app_version text,
    p_ledger_version integer,
    p_till_now_ms bigint,
    p_till_head bigint,
    p_seq bigint[],
    p_kind text[],
    p_prev_hash text[],
    p_hash text[],
    p_time_ms bigint[],
    p_body jsonb,
    p_attempt_id text[],
    p_business_day text[],
    p_created_ms bigint[],
    p_channel text[],
    p_code text[],
    p_count integer[],
    p_cashier text[],
    p_clock_channel text,
    p_clock_skew_ms bigint,
    p_clock_seen_ms bigint
) RETURNS TABLE (hwm bigint, head_hash text, quarantined integer)
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT * FROM ingest.push(p_store, p_desk, p_till, p_app_version, p_ledger_version,
        p_till_now_ms, p_till_head, p_seq, p_kind, p_prev_hash, p_hash, p_time_ms, p_body,
        p_attempt_id, p_business_day, p_created_ms, p_channel, p_code, p_count, p_cashier,
        p_clock_channel, p_clock_skew_ms, p_clock_seen_ms, true)
$fn$;

-- The till's projection of its own desk, after its push committed (the till's store only).
CREATE FUNCTION ingest.project(p_store text, p_desk uuid) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not write for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN hq.project(p_store, p_desk);
END
$fn$;
REVOKE ALL ON FUNCTION ingest.project(text, uuid) FROM PUBLIC;

-- The store's reads first catch up a desk of the store left behind (VOLATILE: they may
-- write hq.attempts, and then read what they wrote).
CREATE OR REPLACE FUNCTION ingest.store_day(p_store text, p_day date)
RETURNS TABLE (till text, desk_id text, attempt_id text, created_ms bigint, channel text,
               code text, count integer, cashier text, state text, settled_face_fen bigint,
               settled_fen bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not read for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM hq.project_behind(p_store);
    RETURN QUERY
        SELECT d.till, a.desk_id::text, a.attempt_id, a.created_ms, a.channel, a.code,
               a.count, a.cashier, a.state, a.settled_face_fen, a.settled_fen
        FROM hq.attempts a JOIN hq.desks d USING (store_id, desk_id)
        WHERE a.store_id = p_store AND a.business_day = p_day
        ORDER BY a.created_ms, a.attempt_id;
END
$fn$;
-- The latest success of this code on this channel at another desk of the store.
CREATE OR REPLACE FUNCTION ingest.redeemed_elsewhere(p_store text, p_desk uuid, p_channel text,
                                          p_code text)
RETURNS TABLE (till text, at_ms bigint, cashier text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM hq.stores s
                   WHERE s.store_id = p_store AND s.role_name = session_user) THEN
        RAISE EXCEPTION 'role % does not read for store %', session_user, p_store
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM hq.project_behind(p_store);
    RETURN QUERY
        SELECT d.till, a.state_ms, a.cashier
        FROM hq.attempts a JOIN hq.desks d USING (store_id, desk_id)
        WHERE a.store_id = p_store AND a.code = p_code AND a.channel = p_channel
          AND a.desk_id <> p_desk AND a.state = 'succeeded'
        ORDER BY a.state_ms DESC LIMIT 1;
END
$fn$;
DO $grant$
DECLARE r text;
BEGIN
    FOR r IN SELECT role_name FROM hq.stores LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION ingest.push(text, uuid, text, text, integer, bigint, bigint, bigint[], text[], text[], text[], bigint[], jsonb, text[], text[], bigint[], text[], text[], integer[], text[], text, bigint, bigint, boolean) TO %I', r);
        EXECUTE format('GRANT EXECUTE ON FUNCTION ingest.project(text, uuid) TO %I', r);
    END LOOP;
END
$grant$;
"#;

/// `hq.project_behind` takes the desks in key order (migration `project_behind_ordered`).
/// It holds each desk's projection lock to the end of the read that called it, so two
/// reads catching up the same desks in different orders (the chain day's scan of every
/// desk, a store's read through its index) deadlocked; in one order the second waits.
pub(crate) const MIGRATION_PROJECT_BEHIND_ORDERED: &str = r#"
CREATE OR REPLACE FUNCTION hq.project_behind(p_store text) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN SELECT d.store_id, d.desk_id FROM hq.desks d
             LEFT JOIN hq.projected p USING (store_id, desk_id)
             WHERE (p_store IS NULL OR d.store_id = p_store) AND d.hwm > coalesce(p.seq, 0)
             ORDER BY d.store_id, d.desk_id
    LOOP
        PERFORM hq.project(r.store_id, r.desk_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$fn$;
"#;

/// The call, as the uploader's connection sends it: the batch as columns
/// (`MIGRATION_PUSH_COLUMNS`), the casts naming the overload.
const PUSH_COLUMNS: &str = "SELECT hwm, head_hash, quarantined FROM ingest.push($1, $2, $3, $4, \
     $5, $6, $7, $8::bigint[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::jsonb, \
     $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[], $19::integer[], \
     $20::text[], $21::text, $22::bigint, $23::bigint)";
/// The same, the projection left to the till's own `ingest.project` call
/// (`MIGRATION_PROJECTION_APART`).
const PUSH_APART: &str = "SELECT hwm, head_hash, quarantined FROM ingest.push($1, $2, $3, $4, \
     $5, $6, $7, $8::bigint[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::jsonb, \
     $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[], $19::integer[], \
     $20::text[], $21::text, $22::bigint, $23::bigint, false)";
/// The projection of the till's own desk, up to what HQ holds of it.
const PROJECT: &str = "SELECT ingest.project($1, $2)";
/// The same as JSON rows, for an HQ not yet migrated to the columns.
const PUSH_JSON: &str =
    "SELECT hwm, head_hash, quarantined FROM ingest.push($1, $2, $3, $4, $5, $6, $7, $8)";
const PUSH_JSON_WITH_CHANNEL_CLOCK: &str = "SELECT hwm, head_hash, quarantined \
     FROM ingest.push($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// A connection to HQ with its push prepared once: which push this HQ has is learnt at
/// connection, and a push is one round trip.
pub struct Pusher {
    client: tokio_postgres::Client,
    wire: Wire,
}

enum Wire {
    /// The batch as columns; the till projects on a connection of its own.
    Apart(tokio_postgres::Statement),
    /// The batch as columns, projected in the push (an HQ before `projection_apart`).
    Columns(tokio_postgres::Statement),
    /// HQ has no column push yet (an older `redeemdesk-hq migrate`): JSON rows, with and
    /// without the till's channel reading.
    Json {
        plain: tokio_postgres::Statement,
        with_clock: tokio_postgres::Statement,
    },
}

impl Pusher {
    pub async fn new(client: tokio_postgres::Client) -> Result<Pusher, PushError> {
        let undefined = |e: &tokio_postgres::Error| e.code() == Some(&SqlState::UNDEFINED_FUNCTION);
        let wire = match client.prepare(PUSH_APART).await {
            Ok(s) => Wire::Apart(s),
            Err(e) if undefined(&e) => match client.prepare(PUSH_COLUMNS).await {
                Ok(s) => Wire::Columns(s),
                Err(e) if undefined(&e) => Wire::Json {
                    plain: client.prepare(PUSH_JSON).await?,
                    with_clock: client.prepare(PUSH_JSON_WITH_CHANNEL_CLOCK).await?,
                },
                Err(e) => return Err(e.into()),
            },
            Err(e) => return Err(e.into()),
        };
        Ok(Pusher { client, wire })
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Whether HQ takes the batch as columns (false: an HQ not yet migrated).
    pub fn sends_columns(&self) -> bool {
        matches!(self.wire, Wire::Apart(_) | Wire::Columns(_))
    }

    /// Whether the projection of what this connection pushes is the till's to ask for
    /// ([`Projector`]); otherwise HQ projects in the push.
    pub fn projects_apart(&self) -> bool {
        matches!(self.wire, Wire::Apart(_))
    }

    /// Sends one batch as one transaction and returns HQ's answer.
    pub async fn push(&self, batch: &HqBatch) -> Result<HqAck, PushError> {
        match &self.wire {
            Wire::Apart(statement) | Wire::Columns(statement) => {
                push_columns(&self.client, statement, batch).await
            }
            Wire::Json { plain, with_clock } => {
                push_json(&self.client, plain, with_clock, batch).await
            }
        }
    }
}

/// A second connection to HQ, for the till's projection of what it pushed: HQ projects
/// one batch on this backend while the next is pushed on the other.
pub struct Projector {
    client: tokio_postgres::Client,
    statement: tokio_postgres::Statement,
}

impl Projector {
    pub async fn new(client: tokio_postgres::Client) -> Result<Projector, PushError> {
        let statement = client.prepare(PROJECT).await?;
        Ok(Projector { client, statement })
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Projects the desk up to HQ's high-water mark; answers how far that is.
    pub async fn project(&self, store_id: &str, desk_id: &str) -> Result<i64, PushError> {
        let desk = uuid::Uuid::parse_str(desk_id).map_err(|e| PushError::Invalid(e.to_string()))?;
        Ok(self
            .client
            .query_one(&self.statement, &[&store_id, &desk])
            .await?
            .get(0))
    }
}

#[derive(serde::Deserialize)]
struct BodyId {
    attempt_id: Option<String>,
}

/// One column of the batch per array; the attempt's identity only on its creating event
/// (the JSON push took the attempt's id from the event's body when the identity had none).
struct Columns<'a> {
    seq: Vec<i64>,
    kind: Vec<&'a str>,
    prev_hash: Vec<&'a str>,
    hash: Vec<&'a str>,
    time_ms: Vec<Option<i64>>,
    body: Vec<&'a serde_json::value::RawValue>,
    attempt_id: Vec<Option<String>>,
    business_day: Vec<Option<&'a str>>,
    created_ms: Vec<Option<i64>>,
    channel: Vec<Option<&'a str>>,
    code: Vec<Option<&'a str>>,
    count: Vec<Option<i32>>,
    cashier: Vec<Option<&'a str>>,
}

impl<'a> Columns<'a> {
    fn of(rows: &'a [ChainRow]) -> Result<Columns<'a>, PushError> {
        let n = rows.len();
        let mut c = Columns {
            seq: Vec::with_capacity(n),
            kind: Vec::with_capacity(n),
            prev_hash: Vec::with_capacity(n),
            hash: Vec::with_capacity(n),
            time_ms: Vec::with_capacity(n),
            body: Vec::with_capacity(n),
            attempt_id: Vec::with_capacity(n),
            business_day: Vec::with_capacity(n),
            created_ms: Vec::with_capacity(n),
            channel: Vec::with_capacity(n),
            code: Vec::with_capacity(n),
            count: Vec::with_capacity(n),
            cashier: Vec::with_capacity(n),
        };
        for r in rows {
            c.seq.push(r.seq);
            c.kind.push(&r.kind);
            c.prev_hash.push(&r.prev_hash);
            c.hash.push(&r.hash);
            c.time_ms.push(r.time_ms);
            c.body.push(&r.body);
            let a = r.attempt.as_ref();
            let text = |key: &str| {
                a.and_then(|a| a.get(key))
                    .and_then(serde_json::Value::as_str)
            };
            let int = |key: &str| {
                a.and_then(|a| a.get(key))
                    .and_then(serde_json::Value::as_i64)
            };
            c.attempt_id.push(match a {
                None => None,
                Some(_) => match text("id") {
                    Some(id) => Some(id.to_owned()),
                    // Only an identity without its id reads the body.
                    None => serde_json::from_str::<BodyId>(r.body.get())
                        .ok()
                        .and_then(|b| b.attempt_id),
                },
            });
            c.business_day.push(text("business_day"));
            c.created_ms.push(int("created_ms"));
            c.channel.push(text("channel"));
            c.code.push(text("code"));
            c.count.push(match int("count") {
                None => None,
                Some(n) => Some(i32::try_from(n).map_err(|_| {
                    PushError::Invalid(format!("position {}: count {n} out of range", r.seq))
                })?),
            });
            c.cashier.push(text("cashier"));
        }
        Ok(c)
    }
}

async fn push_columns(
    client: &tokio_postgres::Client,
    statement: &tokio_postgres::Statement,
    batch: &HqBatch,
) -> Result<HqAck, PushError> {
    let desk = desk_uuid(batch)?;
    let c = Columns::of(&batch.rows)?;
    // The bodies as one JSON array: the server parses one document, not one per row.
    let body = tokio_postgres::types::Json(&c.body);
    let clock = batch.channel_clock.as_ref();
    let clock_channel = clock.map(|c| c.channel.to_string());
    let clock_skew = clock.map(|c| c.skew_ms);
    let clock_seen = clock.map(|c| c.seen_ms);
    let params: [&(dyn ToSql + Sync); 23] = [
        &batch.store_id,
        &desk,
        &batch.till,
        &batch.app_version,
        &batch.ledger_version,
        &batch.till_now_ms,
        &batch.till_head,
        &c.seq,
        &c.kind,
        &c.prev_hash,
        &c.hash,
        &c.time_ms,
        &body,
        &c.attempt_id,
        &c.business_day,
        &c.created_ms,
        &c.channel,
        &c.code,
        &c.count,
        &c.cashier,
        &clock_channel,
        &clock_skew,
        &clock_seen,
    ];
    ack(client.query_one(statement, &params).await?)
}

async fn push_json(
    client: &tokio_postgres::Client,
    plain: &tokio_postgres::Statement,
    with_clock: &tokio_postgres::Statement,
    batch: &HqBatch,
) -> Result<HqAck, PushError> {
    let desk = desk_uuid(batch)?;
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
        None => client.query_one(plain, &pushed).await?,
        Some(c) => {
            let channel = c.channel.to_string();
            let reading: [&(dyn ToSql + Sync); 3] = [&channel, &c.skew_ms, &c.seen_ms];
            let all: Vec<&(dyn ToSql + Sync)> = pushed.into_iter().chain(reading).collect();
            client.query_one(with_clock, &all).await?
        }
    };
    ack(row)
}

fn desk_uuid(batch: &HqBatch) -> Result<uuid::Uuid, PushError> {
    uuid::Uuid::parse_str(&batch.desk_id).map_err(|e| PushError::Invalid(e.to_string()))
}

fn ack(row: tokio_postgres::Row) -> Result<HqAck, PushError> {
    Ok(HqAck {
        hwm: row.get(0),
        head_hash: row.get(1),
        quarantined: i64::from(row.get::<_, i32>(2)),
    })
}
