//! The `attempts` table: one row per redemption attempt, its SQL and its queries.
//!
//! Invariants: the identifying columns (id … `remaining_before`) are written once, at
//! creation, and a trigger aborts any UPDATE of them or any DELETE; only the cached columns
//! (`state`, `state_ms`, `settled_face_fen`, `settled_fen`) change, always in the same
//! transaction as the event that justifies them, so the cache never disagrees with the
//! history (`verify_chain` checks it does not).

use super::canon::{Canon, Val};
use super::chain_report::{BreakProblem, ChainBreak};
use super::error::Failure;
use super::state::{decode_state, AttemptId, AttemptState, Platform};
use crate::business_day::BusinessDay;
use crate::channel::ChannelKind;
use crate::clock::UnixMs;
use crate::money::Fen;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE attempts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE CHECK (length(id) = 32),
    created_ms INTEGER NOT NULL,
    business_day TEXT NOT NULL CHECK (length(business_day) = 10),
    channel TEXT NOT NULL,
    platform TEXT,
    code TEXT NOT NULL CHECK (length(code) > 0),
    count INTEGER NOT NULL CHECK (count >= 1),
    cashier TEXT NOT NULL,
    face_value_fen INTEGER,
    price_fen INTEGER,
    remaining_before INTEGER,
    state TEXT NOT NULL
        CHECK (state IN ('pending', 'succeeded', 'rejected', 'unknown', 'cancelled')),
    state_ms INTEGER NOT NULL,
    settled_face_fen INTEGER,
    settled_fen INTEGER
);
-- The day log in time order, with no sort.
CREATE INDEX attempts_by_day ON attempts(business_day, created_ms);
-- The day's totals read only this index (it covers them).
CREATE INDEX attempts_day_totals
    ON attempts(business_day, state, channel, count, settled_face_fen, settled_fen);
-- Same-code checks before a redeem and the per-code timeline.
CREATE INDEX attempts_by_code ON attempts(code, channel, created_ms);
-- The cashier's strip of recent attempts.
CREATE INDEX attempts_by_cashier ON attempts(cashier, created_ms);
-- Start-up and the inbox look only at the few open attempts.
CREATE INDEX attempts_pending ON attempts(created_ms) WHERE state = 'pending';
CREATE INDEX attempts_unknown ON attempts(created_ms) WHERE state = 'unknown';
CREATE TRIGGER attempts_identity_is_immutable
BEFORE UPDATE OF seq, id, created_ms, business_day, channel, platform, code, count, cashier,
    face_value_fen, price_fen, remaining_before ON attempts
BEGIN SELECT RAISE(ABORT, 'an attempt''s identifying columns never change'); END;
CREATE TRIGGER attempts_no_delete BEFORE DELETE ON attempts
BEGIN SELECT RAISE(ABORT, 'attempts are never deleted'); END;
";

/// What the redeem use case knows before it calls the channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAttempt {
    pub created_ms: UnixMs,
    pub channel: ChannelKind,
    /// Required for allinpay (its prepare and consume need it), absent for every other channel.
    pub platform: Option<Platform>,
    /// The normalised code, never truncated (a Douyin short link can be long).
    pub code: String,
    pub count: u32,
    pub cashier: String,
    /// Face value of one unit, from the preview, where the channel told us.
    pub face_value: Option<Fen>,
    /// Price the customer paid for one unit, where known.
    pub price: Option<Fen>,
    /// 联拓富 `suplusTimes` read by the prepare: the only way to resolve an unknown there
    /// (channels.md §4).
    pub remaining_before: Option<i64>,
    /// The prepare call's request and response, if there was one, as evidence.
    pub prepare: super::Exchange,
}

/// One attempt as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: AttemptId,
    pub created_ms: UnixMs,
    pub business_day: BusinessDay,
    pub channel: ChannelKind,
    pub platform: Option<Platform>,
    pub code: String,
    pub count: u32,
    pub cashier: String,
    pub face_value: Option<Fen>,
    pub price: Option<Fen>,
    pub remaining_before: Option<i64>,
    /// The state after the latest event.
    pub state: AttemptState,
    /// When the latest event happened.
    pub state_ms: UnixMs,
    /// Total face value of a success (the channel's figure, else unit face value × count).
    pub settled_face_value: Option<Fen>,
    /// What the merchant receives for a success, where the channel says (收呗
    /// `settle_amount`, 美团到综 `merchantAmount`).
    pub settled: Option<Fen>,
}

const COLUMNS: &str = "id, created_ms, business_day, channel, platform, code, count, cashier, \
    face_value_fen, price_fen, remaining_before, state, state_ms, settled_face_fen, settled_fen";

/// The immutable columns, prefixed for the chain verifier's join (alias `a`).
pub(crate) const IMMUTABLE_COLUMNS: &str = "a.id, a.created_ms, a.business_day, a.channel, \
    a.platform, a.code, a.count, a.cashier, a.face_value_fen, a.price_fen, a.remaining_before";
pub(crate) const IMMUTABLE_COLUMN_COUNT: usize = 11;

/// The stored form of the immutable columns, as hashed into the creating event.
pub(crate) struct Identity<'a> {
    pub id: &'a str,
    pub created_ms: i64,
    pub business_day: &'a str,
    pub channel: &'a str,
    pub platform: Option<&'a str>,
    pub code: &'a str,
    pub count: i64,
    pub cashier: &'a str,
    pub face_value_fen: Option<i64>,
    pub price_fen: Option<i64>,
    pub remaining_before: Option<i64>,
}

impl Identity<'_> {
    pub(crate) fn digest(&self) -> String {
        let mut c = Canon::new("redeemdesk.ledger.attempt.v1");
        c.field("id", Val::Text(self.id));
        c.field("created_ms", Val::Int(self.created_ms));
        c.field("business_day", Val::Text(self.business_day));
        c.field("channel", Val::Text(self.channel));
        c.field("platform", Val::opt_text(self.platform));
        c.field("code", Val::Text(self.code));
        c.field("count", Val::Int(self.count));
        c.field("cashier", Val::Text(self.cashier));
        c.field("face_value_fen", Val::opt_int(self.face_value_fen));
        c.field("price_fen", Val::opt_int(self.price_fen));
        c.field("remaining_before", Val::opt_int(self.remaining_before));
        c.finish()
    }
}

/// The digest of the immutable columns read at `at` (in `IMMUTABLE_COLUMNS` order), or
/// `None` when the joined row is absent.
pub(crate) fn digest_of_row(row: &Row<'_>, at: usize) -> Result<Option<String>, Failure> {
    let id: Option<String> = row.get(at)?;
    let Some(id) = id else { return Ok(None) };
    let business_day: String = row.get(at + 2)?;
    let channel: String = row.get(at + 3)?;
    let platform: Option<String> = row.get(at + 4)?;
    let code: String = row.get(at + 5)?;
    let cashier: String = row.get(at + 7)?;
    Ok(Some(
        Identity {
            id: &id,
            created_ms: row.get(at + 1)?,
            business_day: &business_day,
            channel: &channel,
            platform: platform.as_deref(),
            code: &code,
            count: row.get(at + 6)?,
            cashier: &cashier,
            face_value_fen: row.get(at + 8)?,
            price_fen: row.get(at + 9)?,
            remaining_before: row.get(at + 10)?,
        }
        .digest(),
    ))
}

/// Inserts a new attempt in state `pending` and returns the digest of its identity for the
/// creating event.
pub(crate) fn insert(
    conn: &Connection,
    id: &AttemptId,
    business_day: BusinessDay,
    new: &NewAttempt,
) -> Result<String, Failure> {
    let day = business_day.to_string();
    let identity = Identity {
        id: id.as_str(),
        created_ms: new.created_ms,
        business_day: &day,
        channel: new.channel.as_str(),
        platform: new.platform.map(Platform::as_str),
        code: &new.code,
        count: i64::from(new.count),
        cashier: &new.cashier,
        face_value_fen: new.face_value.map(|f| f.0),
        price_fen: new.price.map(|f| f.0),
        remaining_before: new.remaining_before,
    };
    conn.prepare_cached(
        "INSERT INTO attempts (id, created_ms, business_day, channel, platform, code, count,
             cashier, face_value_fen, price_fen, remaining_before, state, state_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?2)",
    )?
    .execute(params![
        identity.id,
        identity.created_ms,
        identity.business_day,
        identity.channel,
        identity.platform,
        identity.code,
        identity.count,
        identity.cashier,
        identity.face_value_fen,
        identity.price_fen,
        identity.remaining_before,
    ])?;
    Ok(identity.digest())
}

/// Writes the cached columns; called only next to `events::append` in one transaction.
pub(crate) fn set_cache(
    conn: &Connection,
    id: &str,
    state: AttemptState,
    state_ms: UnixMs,
    settled_face: Option<Fen>,
    settled: Option<Fen>,
) -> Result<(), Failure> {
    conn.prepare_cached(
        "UPDATE attempts SET state = ?2, state_ms = ?3, settled_face_fen = ?4, settled_fen = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        state.as_str(),
        state_ms,
        settled_face.map(|f| f.0),
        settled.map(|f| f.0)
    ])?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> Result<Attempt, Failure> {
    // Borrowed reads for the small enum-like columns: the day log decodes 10 000 rows and
    // every allocation avoided shows in its 20 ms budget.
    let text = |i: usize| -> Result<&str, Failure> {
        Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
    };
    let id = text(0)?;
    let corrupt = |what: &str| Failure::Corrupt(format!("attempt {id} has an unreadable {what}"));
    let channel = text(3)?;
    let platform = row
        .get_ref(4)?
        .as_str_or_null()
        .map_err(rusqlite::Error::from)?;
    Ok(Attempt {
        id: AttemptId::parse(id).map_err(|_| corrupt("id"))?,
        created_ms: row.get(1)?,
        business_day: text(2)?.parse().map_err(|_| corrupt("business day"))?,
        channel: ChannelKind::ALL
            .into_iter()
            .find(|c| c.as_str() == channel)
            .ok_or_else(|| corrupt("channel"))?,
        platform: match platform {
            None => None,
            Some(p) => Some(p.parse().map_err(|_| corrupt("platform"))?),
        },
        code: row.get(5)?,
        count: row
            .get::<_, i64>(6)?
            .try_into()
            .map_err(|_| corrupt("count"))?,
        cashier: row.get(7)?,
        face_value: row.get::<_, Option<i64>>(8)?.map(Fen),
        price: row.get::<_, Option<i64>>(9)?.map(Fen),
        remaining_before: row.get(10)?,
        state: decode_state(text(11)?)?,
        state_ms: row.get(12)?,
        settled_face_value: row.get::<_, Option<i64>>(13)?.map(Fen),
        settled: row.get::<_, Option<i64>>(14)?.map(Fen),
    })
}

fn collect(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Attempt>, Failure> {
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Attempt>, Failure> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM attempts WHERE id = ?1"))?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(row) => Ok(Some(from_row(row)?)),
        None => Ok(None),
    }
}

/// How to match codes in the day log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "text", rename_all = "lowercase")]
pub enum CodeFilter {
    Exact(String),
    /// The text appears anywhere in the code (taken literally: `%` and `_` are not wildcards).
    Contains(String),
}

/// The daily log's filters; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFilter {
    pub channel: Option<ChannelKind>,
    pub state: Option<AttemptState>,
    pub cashier: Option<String>,
    pub code: Option<CodeFilter>,
}

impl DayFilter {
    /// `AND …` clauses and their parameters, numbered from `?2` (`?1` is the day).
    fn clauses(&self, with_state: bool) -> (String, Vec<Value>) {
        let mut sql = String::new();
        let mut params = Vec::new();
        let mut push = |clause: &str, v: Value| {
            params.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", params.len() + 1)));
        };
        if let Some(c) = self.channel {
            push(" AND channel = ?", Value::Text(c.as_str().to_owned()));
        }
        if let (true, Some(s)) = (with_state, self.state) {
            push(" AND state = ?", Value::Text(s.as_str().to_owned()));
        }
        if let Some(c) = &self.cashier {
            push(" AND cashier = ?", Value::Text(c.clone()));
        }
        match &self.code {
            Some(CodeFilter::Exact(code)) => push(" AND code = ?", Value::Text(code.clone())),
            Some(CodeFilter::Contains(part)) => {
                push(" AND instr(code, ?) > 0", Value::Text(part.clone()))
            }
            None => {}
        }
        (sql, params)
    }

    /// The `WHERE` condition of one day under this filter, and its parameters (`?1` is the
    /// day): what the log's page, its count and its totals all select from.
    fn of_day(&self, day: BusinessDay, with_state: bool) -> (String, Vec<Value>) {
        let (clauses, extra) = self.clauses(with_state);
        let mut params = vec![Value::Text(day.to_string())];
        params.extend(extra);
        (format!("business_day = ?1{clauses}"), params)
    }
}

/// One channel's totals for a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTotals {
    pub channel: Option<ChannelKind>,
    /// Attempts that succeeded and were not undone.
    pub succeeded: u64,
    /// Units redeemed by them (the sum of their counts).
    pub units: i64,
    pub face_value: Fen,
    /// What the merchant receives, summed over the successes whose channel reported it.
    pub settled: Fen,
    /// Successes with no face value, and with no settled amount: a sum over them is not
    /// the day's amount, so the screens and exports say how many rows had none.
    #[serde(default)]
    pub face_value_unreported: u64,
    #[serde(default)]
    pub settled_unreported: u64,
}

/// One day's attempts matching the filter, oldest first (ties in insertion order: the index
/// breaks them by rowid); only the first `limit` when given.
///
/// `INDEXED BY`: without statistics SQLite may start a filtered day from the cashier or
/// code index and walk a whole year of that cashier; one day is at most ~10 000 rows, so
/// the day index is always the right start, and its order is the log's order.
pub(crate) fn day(
    conn: &Connection,
    day: BusinessDay,
    filter: &DayFilter,
    limit: Option<usize>,
) -> Result<Vec<Attempt>, Failure> {
    let (condition, params) = filter.of_day(day, true);
    let sql = format!(
        "SELECT {COLUMNS} FROM attempts INDEXED BY attempts_by_day
         WHERE {condition} ORDER BY created_ms LIMIT {}",
        limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX))
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    collect(&mut stmt, params_from_iter(params))
}

/// How many of one day's attempts match the filter.
pub(crate) fn count_day(
    conn: &Connection,
    day: BusinessDay,
    filter: &DayFilter,
) -> Result<usize, Failure> {
    let (condition, params) = filter.of_day(day, true);
    let sql = format!("SELECT count(*) FROM attempts INDEXED BY attempts_by_day WHERE {condition}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let n: i64 = stmt.query_row(params_from_iter(params), |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Per-channel totals of one day. Only attempts whose current state is `succeeded` count:
/// a success that was later undone is `cancelled` and drops out; `unknown` counts nowhere
/// until it is settled. The filter's `state` is ignored (totals are always of successes).
pub(crate) fn totals(
    conn: &Connection,
    day: BusinessDay,
    filter: &DayFilter,
) -> Result<Vec<ChannelTotals>, Failure> {
    let (condition, params) = filter.of_day(day, false);
    let sql = format!(
        "SELECT channel, count(*), total(count), total(settled_face_fen), total(settled_fen),
                count(settled_face_fen), count(settled_fen)
         FROM attempts INDEXED BY attempts_day_totals
         WHERE {condition} AND state = 'succeeded'
         GROUP BY channel"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let channel: String = row.get(0)?;
        // total() is a float in SQLite; sums of fen stay far below 2^53, so it is exact.
        let n = row.get::<_, i64>(1)?;
        out.push(ChannelTotals {
            channel: Some(channel.parse().map_err(|_| {
                Failure::Corrupt(format!("an attempt names an unknown channel {channel:?}"))
            })?),
            succeeded: row.get::<_, i64>(1)? as u64,
            units: row.get::<_, f64>(2)? as i64,
            face_value: Fen(row.get::<_, f64>(3)? as i64),
            settled: Fen(row.get::<_, f64>(4)? as i64),
            face_value_unreported: (n - row.get::<_, i64>(5)?) as u64,
            settled_unreported: (n - row.get::<_, i64>(6)?) as u64,
        });
    }
    out.sort_by_key(|t| t.channel);
    Ok(out)
}

pub(crate) fn last_for_code(
    conn: &Connection,
    channel: ChannelKind,
    code: &str,
) -> Result<Option<Attempt>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM attempts WHERE code = ?1 AND channel = ?2
         ORDER BY created_ms DESC, seq DESC LIMIT 1"
    ))?;
    Ok(collect(&mut stmt, params![code, channel.as_str()])?.pop())
}

pub(crate) fn last_for_code_in_state(
    conn: &Connection,
    channel: ChannelKind,
    code: &str,
    states: &[AttemptState],
) -> Result<Option<Attempt>, Failure> {
    let list = states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(",");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM attempts WHERE code = ?1 AND channel = ?2 AND state IN ({list})
         ORDER BY created_ms DESC, seq DESC LIMIT 1"
    ))?;
    Ok(collect(&mut stmt, params![code, channel.as_str()])?.pop())
}

/// Every attempt on a code, on any channel, oldest first.
pub(crate) fn by_code(conn: &Connection, code: &str) -> Result<Vec<Attempt>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM attempts WHERE code = ?1 ORDER BY created_ms, seq"
    ))?;
    collect(&mut stmt, [code])
}

/// The latest `limit` attempts, newest first, of one cashier or of everyone.
pub(crate) fn recent(
    conn: &Connection,
    cashier: Option<&str>,
    limit: usize,
) -> Result<Vec<Attempt>, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    match cashier {
        Some(c) => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM attempts WHERE cashier = ?1
                 ORDER BY created_ms DESC, seq DESC LIMIT ?2"
            ))?;
            collect(&mut stmt, params![c, limit])
        }
        None => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM attempts ORDER BY seq DESC LIMIT ?1"
            ))?;
            collect(&mut stmt, params![limit])
        }
    }
}

/// Ids of every attempt still `pending` (only a crash leaves one behind).
/// A cashier's attempts made in `[from_ms, to_ms]`, oldest first: a shift's (交班单).
pub(crate) fn of_cashier_between(
    conn: &Connection,
    cashier: &str,
    from_ms: UnixMs,
    to_ms: UnixMs,
) -> Result<Vec<Attempt>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM attempts WHERE cashier = ?1 AND created_ms BETWEEN ?2 AND ?3
         ORDER BY created_ms, seq"
    ))?;
    collect(&mut stmt, params![cashier, from_ms, to_ms])
}

pub(crate) fn pending_ids(conn: &Connection) -> Result<Vec<String>, Failure> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM attempts WHERE state = 'pending' ORDER BY created_ms")?;
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ids)
}

/// Every attempt currently `unknown`, oldest first.
pub(crate) fn unknown(conn: &Connection) -> Result<Vec<Attempt>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM attempts WHERE state = 'unknown' ORDER BY created_ms"
    ))?;
    collect(&mut stmt, [])
}

/// The first attempt whose cached columns disagree with its events, or that has no
/// creating event.
pub(crate) fn first_cache_mismatch(conn: &Connection) -> Result<Option<ChainBreak>, Failure> {
    let sql = "
        SELECT id, state, settled_face_fen, settled_fen, has_first, last_state, ev_face, ev_settled
        FROM (
            SELECT a.seq AS seq, a.id AS id, a.state AS state,
                a.settled_face_fen AS settled_face_fen, a.settled_fen AS settled_fen,
                EXISTS (SELECT 1 FROM events e WHERE e.attempt_id = a.id AND e.seq = 0) AS has_first,
                (SELECT e.state FROM events e WHERE e.attempt_id = a.id
                    ORDER BY e.seq DESC LIMIT 1) AS last_state,
                (SELECT e.face_value_fen FROM events e WHERE e.attempt_id = a.id
                    AND e.state = 'succeeded' ORDER BY e.seq DESC LIMIT 1) AS ev_face,
                (SELECT e.settled_fen FROM events e WHERE e.attempt_id = a.id
                    AND e.state = 'succeeded' ORDER BY e.seq DESC LIMIT 1) AS ev_settled
            FROM attempts a
        )
        WHERE NOT has_first OR last_state IS NOT state
            OR ev_face IS NOT settled_face_fen OR ev_settled IS NOT settled_fen
        ORDER BY seq LIMIT 1";
    let found = conn
        .query_row(sql, [], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<i64>>(7)?,
            ))
        })
        .optional()?;
    let Some((id, state, face, settled, has_first, last_state, ev_face, ev_settled)) = found else {
        return Ok(None);
    };
    let show = |v: Option<i64>| v.map_or("NULL".to_owned(), |v| v.to_string());
    let problem = if !has_first {
        BreakProblem::CreatingEventMissing
    } else if last_state.as_deref() != Some(state.as_str()) {
        BreakProblem::CacheMismatch {
            column: "state".to_owned(),
            cached: state,
            from_events: last_state.unwrap_or_else(|| "NULL".to_owned()),
        }
    } else if face != ev_face {
        BreakProblem::CacheMismatch {
            column: "settled_face_fen".to_owned(),
            cached: show(face),
            from_events: show(ev_face),
        }
    } else {
        BreakProblem::CacheMismatch {
            column: "settled_fen".to_owned(),
            cached: show(settled),
            from_events: show(ev_settled),
        }
    };
    Ok(Some(ChainBreak {
        event_id: None,
        subject: format!("attempt {id}"),
        seq: None,
        problem,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::migrations;
    use super::*;

    fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows.join(" | ")
    }

    #[test]
    fn every_hot_query_searches_an_index_instead_of_scanning_the_year() {
        let conn = Connection::open_in_memory().unwrap();
        migrations::apply(&conn, 0).unwrap();
        let cases = [
            (
                "SELECT * FROM attempts INDEXED BY attempts_by_day WHERE business_day = '2026-01-01' AND cashier = 'x' ORDER BY created_ms",
                "attempts_by_day",
            ),
            (
                "SELECT channel, count(*), total(count), total(settled_face_fen), total(settled_fen) FROM attempts INDEXED BY attempts_day_totals WHERE business_day = '2026-01-01' AND state = 'succeeded' GROUP BY channel",
                "COVERING INDEX attempts_day_totals",
            ),
            (
                "SELECT * FROM attempts WHERE code = 'c' AND channel = 'shoubei' ORDER BY created_ms DESC, seq DESC LIMIT 1",
                "attempts_by_code",
            ),
            ("SELECT * FROM attempts WHERE code = 'c' ORDER BY created_ms, seq", "attempts_by_code"),
            (
                "SELECT * FROM attempts WHERE cashier = 'x' ORDER BY created_ms DESC, seq DESC LIMIT 10",
                "attempts_by_cashier",
            ),
            ("SELECT id FROM attempts WHERE state = 'pending' ORDER BY created_ms", "attempts_pending"),
            ("SELECT * FROM attempts WHERE state = 'unknown' ORDER BY created_ms", "attempts_unknown"),
            ("SELECT max(seq) FROM events WHERE attempt_id = 'x'", "events_by_attempt"),
            ("SELECT * FROM resolver_schedule WHERE next_check_ms IS NOT NULL AND next_check_ms <= 5", "resolver_due"),
            (
                "SELECT * FROM notifications WHERE state = 'queued' AND next_retry_ms <= 5",
                "notifications_due",
            ),
        ];
        for (sql, index) in cases {
            let p = plan(&conn, sql);
            assert!(p.contains(index), "{sql}\n  must use {index}, plan: {p}");
            // A scan is fine only over a partial index, which holds just the open rows.
            let scans_whole_table = p.split(" | ").any(|step| {
                step.starts_with("SCAN")
                    && !step.contains("attempts_pending")
                    && !step.contains("attempts_unknown")
            });
            assert!(!scans_whole_table, "{sql}\n  scans: {p}");
        }
        let day_plan = plan(&conn, &format!("SELECT {COLUMNS} FROM attempts INDEXED BY attempts_by_day WHERE business_day = '2026-01-01' AND channel = 'zvcms' ORDER BY created_ms"));
        assert!(
            !day_plan.contains("TEMP B-TREE"),
            "the day log streams in index order, unsorted: {day_plan}"
        );
    }
}
