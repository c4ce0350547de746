//! HQ's tables. Every key starts with `store_id`, so each table can be distributed by store
//! on Citus unchanged (README "Chain mode"): a till's rows, its desk row and its forks all
//! live on the store's shard, and the ingest function touches only that one store.
//!
//! `hq.chain` is append-only (nothing here or in the ingest function updates or deletes
//! it, and the tills' roles hold no privilege on it); `hq.attempts` is a projection of the
//! chain for the reports, made by `hq.project` (`MIGRATION_PROJECTION_APART`): after the
//! push on a second connection of the till, or inside an older till's push, and caught up
//! by every read of it.

pub(crate) const MIGRATION_SCHEMA: &str = r#"
CREATE SCHEMA hq;
-- The one schema the tills' roles may use: it holds only the ingest function.
CREATE SCHEMA ingest;
REVOKE ALL ON SCHEMA hq FROM PUBLIC;
REVOKE ALL ON SCHEMA ingest FROM PUBLIC;

CREATE TABLE hq.stores (
    store_id text PRIMARY KEY CHECK (store_id ~ '^[A-Za-z0-9_-]{1,32}$'),
    role_name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per till's ledger (a desk id is made once per ledger file).
CREATE TABLE hq.desks (
    store_id text NOT NULL REFERENCES hq.stores (store_id),
    desk_id uuid NOT NULL,
    till text NOT NULL,
    app_version text NOT NULL,
    ledger_version integer NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    -- The till's clock minus HQ's receive time at the last push.
    skew_ms bigint NOT NULL DEFAULT 0,
    -- The contiguous high-water mark: every position 1..hwm is held, chained.
    hwm bigint NOT NULL DEFAULT 0,
    head_hash text NOT NULL,
    -- The till's own chain head at its last push: backlog = till_head - hwm.
    till_head bigint NOT NULL DEFAULT 0,
    forks bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, desk_id)
);

-- Every position of every till's chain: events and seals, as the till hashed them.
CREATE TABLE hq.chain (
    store_id text NOT NULL,
    desk_id uuid NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    kind text NOT NULL CHECK (kind IN ('event', 'seal')),
    prev_hash text NOT NULL,
    hash text NOT NULL,
    -- The till's clock at the event (seals: NULL).
    time_ms bigint,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- The row's other columns as the till stores them.
    body jsonb NOT NULL,
    PRIMARY KEY (store_id, desk_id, seq),
    FOREIGN KEY (store_id, desk_id) REFERENCES hq.desks (store_id, desk_id)
);

-- What did not fit the chain HQ holds: never merged, never overwriting.
CREATE TABLE hq.forks (
    store_id text NOT NULL,
    desk_id uuid NOT NULL,
    seq bigint NOT NULL,
    hash text NOT NULL,
    prev_hash text NOT NULL,
    -- 'different_hash': HQ holds another row at this position;
    -- 'does_not_continue': the next position does not link to HQ's head.
    reason text NOT NULL CHECK (reason IN ('different_hash', 'does_not_continue')),
    held_hash text,
    kind text NOT NULL,
    time_ms bigint,
    body jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, desk_id, seq, hash),
    FOREIGN KEY (store_id, desk_id) REFERENCES hq.desks (store_id, desk_id)
);

-- Each attempt's identity (from its creating event) and its state after its latest event.
CREATE TABLE hq.attempts (
    store_id text NOT NULL,
    desk_id uuid NOT NULL,
    attempt_id text NOT NULL,
    business_day date NOT NULL,
    created_ms bigint NOT NULL,
    channel text NOT NULL,
    code text NOT NULL,
    count integer NOT NULL,
    cashier text NOT NULL,
    state text NOT NULL,
    state_ms bigint NOT NULL,
    settled_face_fen bigint,
    settled_fen bigint,
    PRIMARY KEY (store_id, desk_id, attempt_id),
    FOREIGN KEY (store_id, desk_id) REFERENCES hq.desks (store_id, desk_id)
);
CREATE INDEX attempts_by_day ON hq.attempts (store_id, business_day, created_ms);
-- The cross-till check at confirmation: the same code at another till of the store.
CREATE INDEX attempts_by_code ON hq.attempts (store_id, code, channel);
"#;
