//! HQ's reports, read from `hq.attempts` (the chain's projection) and `hq.desks`. Totals
//! follow the till's rule (ledger/attempts.rs `day_totals`): only attempts whose state is
//! `succeeded` count; an undone one is `cancelled` and drops out. Money is integer fen.

use redeemdesk_core::export::{encode, Cell, ExportError, ExportFormat, Table};
use redeemdesk_core::money::Fen;
use serde::Serialize;
use tokio_postgres::Client;

/// The reports' own indexes (migration 4), measured by `make bench` (benchmark 9) on 100
/// stores × 30 days × 2,000 attempts. The store day read every attempt through the schema's
/// `attempts_by_day` and fetched its row from the heap, where a day's attempts of all stores
/// lie interleaved (4 s, cold): the covering index answers it from the index alone and
/// replaces that one (its leading columns are the same). The chain day filtered on the day
/// alone, which no index led with: a scan of every row (2.4 s); the second index leads with
/// the day and carries what the totals add up. Both lead with what is filtered on, so on
/// Citus they stay local to each store's shard.
pub(crate) const MIGRATION_REPORT_INDEXES: &str = r#"
DROP INDEX hq.attempts_by_day;
CREATE INDEX attempts_by_store_day ON hq.attempts (store_id, business_day, created_ms, attempt_id)
    INCLUDE (desk_id, channel, code, count, cashier, state, settled_face_fen, settled_fen);
CREATE INDEX attempts_by_day_store ON hq.attempts (business_day, store_id)
    INCLUDE (state, count, settled_face_fen, settled_fen);
"#;

/// What every push pays per attempt, made smaller (migration `attempts_lean`, measured by
/// benchmark 9's upload):
/// - the foreign key to `hq.desks`: the projection is written only by `ingest.push`, after
///   it has upserted the desk's row in the same transaction, and desks are never deleted;
///   `hq.chain`, the record itself, keeps its own;
/// - `attempts_by_day_store`: the chain day now reads each store's day from
///   `attempts_by_store_day` (`chain_day`), one index fewer to write;
/// - attempt ids and codes compare as bytes (`COLLATE "C"`): they are machine strings, so
///   their order and equality do not change, and the index writes skip the locale.
pub(crate) const MIGRATION_ATTEMPTS_LEAN: &str = r#"
ALTER TABLE hq.attempts DROP CONSTRAINT attempts_store_id_desk_id_fkey;
DROP INDEX hq.attempts_by_day_store;
ALTER TABLE hq.attempts ALTER COLUMN attempt_id TYPE text COLLATE "C",
    ALTER COLUMN code TYPE text COLLATE "C";
"#;

/// One store's business day across its tills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreDay {
    pub store_id: String,
    pub day: String,
    pub attempts: Vec<AttemptLine>,
    pub per_channel: Vec<Totals>,
    pub per_till: Vec<Totals>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptLine {
    pub till: String,
    pub desk_id: String,
    pub attempt_id: String,
    pub created_ms: i64,
    pub channel: String,
    pub code: String,
    pub count: i32,
    pub cashier: String,
    pub state: String,
    pub settled_face_fen: Option<i64>,
    pub settled_fen: Option<i64>,
}

impl AttemptLine {
    /// A row of the columns both day reads select, in this order: till, desk_id,
    /// attempt_id, created_ms, channel, code, count, cashier, state, settled_face_fen,
    /// settled_fen (HQ's own report and the till's `ingest.store_day`).
    pub(crate) fn from_row(r: &tokio_postgres::Row) -> AttemptLine {
        AttemptLine {
            till: r.get(0),
            desk_id: r.get(1),
            attempt_id: r.get(2),
            created_ms: r.get(3),
            channel: r.get(4),
            code: r.get(5),
            count: r.get(6),
            cashier: r.get(7),
            state: r.get(8),
            settled_face_fen: r.get(9),
            settled_fen: r.get(10),
        }
    }
}

/// Totals of successes under one key (a channel, a till or a store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub key: String,
    pub attempts: i64,
    pub succeeded: i64,
    pub units: i64,
    pub face_value_fen: i64,
    pub settled_fen: i64,
}

const TOTALS: &str = "count(*)::bigint,
    (count(*) FILTER (WHERE a.state = 'succeeded'))::bigint,
    coalesce(sum(a.count) FILTER (WHERE a.state = 'succeeded'), 0)::bigint,
    coalesce(sum(a.settled_face_fen) FILTER (WHERE a.state = 'succeeded'), 0)::bigint,
    coalesce(sum(a.settled_fen) FILTER (WHERE a.state = 'succeeded'), 0)::bigint";

fn totals(row: &tokio_postgres::Row) -> Totals {
    Totals {
        key: row.get(0),
        attempts: row.get(1),
        succeeded: row.get(2),
        units: row.get(3),
        face_value_fen: row.get(4),
        settled_fen: row.get(5),
    }
}

/// Projects every desk (of `store`, or of all) whose `hq.attempts` rows are behind its
/// chain: a till that went away between a push and its projection
/// (`MIGRATION_PROJECTION_APART`). Each report runs it first; answers the desks caught up.
pub async fn catch_up(client: &Client, store: Option<&str>) -> Result<i32, tokio_postgres::Error> {
    Ok(client
        .query_one("SELECT hq.project_behind($1)", &[&store])
        .await?
        .get(0))
}

/// `redeemdesk-hq day --store S --day D`.
pub async fn store_day(
    client: &Client,
    store: &str,
    day: &str,
) -> Result<StoreDay, tokio_postgres::Error> {
    let day = day.to_owned();
    catch_up(client, Some(store)).await?;
    let attempts = client
        .query(
            "SELECT d.till, a.desk_id::text, a.attempt_id, a.created_ms, a.channel, a.code,
                    a.count, a.cashier, a.state, a.settled_face_fen, a.settled_fen
             FROM hq.attempts a JOIN hq.desks d USING (store_id, desk_id)
             WHERE a.store_id = $1 AND a.business_day = $2::text::date
             ORDER BY a.created_ms, a.attempt_id",
            &[&store, &day],
        )
        .await?
        .iter()
        .map(AttemptLine::from_row)
        .collect();
    let per_channel = client
        .query(
            &format!(
                "SELECT a.channel, {TOTALS} FROM hq.attempts a
                 WHERE a.store_id = $1 AND a.business_day = $2::text::date
                 GROUP BY a.channel ORDER BY a.channel"
            ),
            &[&store, &day],
        )
        .await?
        .iter()
        .map(totals)
        .collect();
    let per_till = client
        .query(
            &format!(
                "SELECT d.till, {TOTALS} FROM hq.attempts a JOIN hq.desks d USING (store_id, desk_id)
                 WHERE a.store_id = $1 AND a.business_day = $2::text::date
                 GROUP BY d.till ORDER BY d.till"
            ),
            &[&store, &day],
        )
        .await?
        .iter()
        .map(totals)
        .collect();
    Ok(StoreDay {
        store_id: store.to_owned(),
        day,
        attempts,
        per_channel,
        per_till,
    })
}

/// `redeemdesk-hq chain --day D`: every store's totals that day, each store's day read from
/// its own range of `attempts_by_store_day` (on Citus, from its own shard).
pub async fn chain_day(client: &Client, day: &str) -> Result<Vec<Totals>, tokio_postgres::Error> {
    catch_up(client, None).await?;
    Ok(client
        .query(
            &format!(
                "SELECT s.store_id, t.* FROM hq.stores s CROSS JOIN LATERAL (
                     SELECT {TOTALS} FROM hq.attempts a
                     WHERE a.store_id = s.store_id AND a.business_day = $1::text::date)
                     AS t (attempts, succeeded, units, face_value_fen, settled_fen)
                 WHERE t.attempts > 0 ORDER BY s.store_id"
            ),
            &[&day],
        )
        .await?
        .iter()
        .map(totals)
        .collect())
}

/// How far a till's clock may be from HQ's, or from a channel's, before `health` flags it.
pub const SKEW_FLAG_MS: i64 = 5 * 60_000;

/// One till in `redeemdesk-hq health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TillHealth {
    pub store_id: String,
    pub till: String,
    pub desk_id: String,
    /// Last push received, RFC 3339 in UTC.
    pub last_seen: String,
    pub seconds_since_seen: i64,
    /// Chain positions the till had and HQ did not, at its last push.
    pub backlog: i64,
    pub hwm: i64,
    pub app_version: String,
    pub ledger_version: i32,
    /// The till's clock minus HQ's receive time at the last push.
    pub skew_ms: i64,
    pub skew_flagged: bool,
    /// The channel whose clock the till last compared with its own (the `Date` of its
    /// answer), when the till has sent such a reading.
    pub channel: Option<String>,
    /// The till's clock minus that channel's.
    pub channel_skew_ms: Option<i64>,
    pub channel_skew_flagged: bool,
    /// When the till read it, on the till's clock, RFC 3339 in UTC.
    pub channel_seen: Option<String>,
    pub forks: i64,
}

pub async fn health(client: &Client) -> Result<Vec<TillHealth>, tokio_postgres::Error> {
    Ok(client
        .query(
            "SELECT store_id, till, desk_id::text,
                    to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    extract(epoch FROM now() - last_seen)::bigint,
                    greatest(till_head - hwm, 0), hwm, app_version, ledger_version, skew_ms,
                    (SELECT count(*) FROM hq.forks f
                     WHERE f.store_id = d.store_id AND f.desk_id = d.desk_id),
                    channel, channel_skew_ms,
                    to_char(to_timestamp(channel_seen_ms / 1000.0) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM hq.desks d ORDER BY store_id, till, desk_id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let skew_ms: i64 = r.get(9);
            let channel_skew_ms: Option<i64> = r.get(12);
            TillHealth {
                store_id: r.get(0),
                till: r.get(1),
                desk_id: r.get(2),
                last_seen: r.get(3),
                seconds_since_seen: r.get(4),
                backlog: r.get(5),
                hwm: r.get(6),
                app_version: r.get(7),
                ledger_version: r.get(8),
                skew_ms,
                skew_flagged: skew_ms.abs() > SKEW_FLAG_MS,
                channel: r.get(11),
                channel_skew_ms,
                channel_skew_flagged: channel_skew_ms.is_some_and(|s| s.abs() > SKEW_FLAG_MS),
                channel_seen: r.get(13),
                forks: r.get(10),
            }
        })
        .collect())
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn money(fen: Option<i64>) -> Cell {
    fen.map_or_else(|| text(""), |f| Cell::Money(Fen(f)))
}

fn totals_table(title: String, first: &'static str, t: &[Totals]) -> Table {
    Table {
        title,
        header: vec![
            first,
            "尝试 Attempts",
            "成功 Succeeded",
            "份数 Units",
            "面值(元) Face value",
            "结算(元) Settled",
        ],
        rows: t
            .iter()
            .map(|t| {
                vec![
                    text(t.key.clone()),
                    Cell::Count(t.attempts),
                    Cell::Count(t.succeeded),
                    Cell::Count(t.units),
                    Cell::Money(Fen(t.face_value_fen)),
                    Cell::Money(Fen(t.settled_fen)),
                ]
            })
            .collect(),
    }
}

/// The store's day as CSV or XLSX, with the till's export conventions.
pub fn store_day_file(d: &StoreDay, format: ExportFormat) -> Result<Vec<u8>, ExportError> {
    let attempts = Table {
        title: format!("门店流水 Store day {} {}", d.store_id, d.day),
        header: vec![
            "收银台 Till",
            "时间(UTC ms) Time",
            "渠道 Channel",
            "券码 Code",
            "份数 Count",
            "收银员 Cashier",
            "状态 State",
            "面值(元) Face value",
            "结算(元) Settled",
            "流水号 Attempt id",
        ],
        rows: d
            .attempts
            .iter()
            .map(|a| {
                vec![
                    text(a.till.clone()),
                    Cell::Count(a.created_ms),
                    text(a.channel.clone()),
                    text(a.code.clone()),
                    Cell::Count(i64::from(a.count)),
                    text(a.cashier.clone()),
                    text(a.state.clone()),
                    money(a.settled_face_fen),
                    money(a.settled_fen),
                    text(a.attempt_id.clone()),
                ]
            })
            .collect(),
    };
    let tables = [
        attempts,
        totals_table(
            "按渠道合计 Totals per channel".into(),
            "渠道 Channel",
            &d.per_channel,
        ),
        totals_table(
            "按收银台合计 Totals per till".into(),
            "收银台 Till",
            &d.per_till,
        ),
    ];
    encode(&tables, format, "门店 Store")
}

pub fn chain_day_file(
    day: &str,
    t: &[Totals],
    format: ExportFormat,
) -> Result<Vec<u8>, ExportError> {
    encode(
        &[totals_table(
            format!("全部门店 All stores {day}"),
            "门店 Store",
            t,
        )],
        format,
        "总部 Chain",
    )
}

pub fn health_file(h: &[TillHealth], format: ExportFormat) -> Result<Vec<u8>, ExportError> {
    let table = Table {
        title: "收银台状态 Till health".into(),
        header: vec![
            "门店 Store",
            "收银台 Till",
            "Desk id",
            "最后上传(UTC) Last seen",
            "积压 Backlog",
            "版本 App version",
            "账本版本 Ledger version",
            "时钟偏差(ms) Clock skew",
            "偏差过大 Skew flagged",
            "对渠道时钟偏差(ms) Skew vs channel",
            "渠道 Channel",
            "渠道读数时间(UTC) Channel read at",
            "对渠道偏差过大 Channel skew flagged",
            "分叉 Forks",
        ],
        rows: h
            .iter()
            .map(|t| {
                vec![
                    text(t.store_id.clone()),
                    text(t.till.clone()),
                    text(t.desk_id.clone()),
                    text(t.last_seen.clone()),
                    Cell::Count(t.backlog),
                    text(t.app_version.clone()),
                    Cell::Count(i64::from(t.ledger_version)),
                    Cell::Count(t.skew_ms),
                    text(if t.skew_flagged { "是 yes" } else { "否 no" }),
                    t.channel_skew_ms.map_or_else(|| text(""), Cell::Count),
                    text(t.channel.clone().unwrap_or_default()),
                    text(t.channel_seen.clone().unwrap_or_default()),
                    text(match (t.channel_skew_ms, t.channel_skew_flagged) {
                        (None, _) => "",
                        (Some(_), true) => "是 yes",
                        (Some(_), false) => "否 no",
                    }),
                    Cell::Count(t.forks),
                ]
            })
            .collect(),
    };
    encode(&[table], format, "状态 Health")
}
