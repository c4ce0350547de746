//! Synthetic ledgers for benchmarks and tests: fills a ledger with `n` attempts spread over
//! business days, in one transaction with prepared statements, through the same insert
//! and hashing code as the real write path (so `verify_chain` holds on the result).
//!
//! Deterministic for a given seed (ids come from the seeded generator, not from the OS), so
//! a benchmark file can be rebuilt byte for byte apart from SQLite's page layout. Each
//! attempt draws from its own generator seeded by its index, so a ledger holding the first
//! `n` attempts of a spec can be extended to the whole spec ([`extend`]) and then holds
//! what [`fill`] would have made: the benchmark makes its 1 M ledger from its 0.1 M one.

use super::error::Failure;
use super::events::{self, NewEvent, Subject};
use super::{
    attempts, schedule, Actor, AttemptId, AttemptState, ChannelTotals, Exchange, Ledger,
    NewAttempt, Platform,
};
use crate::business_day::BusinessDay;
use crate::channel::ChannelKind;
use crate::clock::UnixMs;
use crate::money::Fen;
use std::collections::BTreeMap;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synthetic {
    pub attempts: u64,
    /// The business day of the first attempt.
    pub first_day: BusinessDay,
    /// Attempts per business day (10 000 × 365 days = 3.65 M, the benchmark's year).
    pub per_day: u64,
    pub seed: u64,
}

/// What was generated, with the totals the queries must reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    pub attempts: u64,
    pub events: u64,
    pub first_day: BusinessDay,
    pub last_day: BusinessDay,
    /// Per business day, per channel: the expected `day_totals` with no filter.
    pub totals: BTreeMap<BusinessDay, Vec<ChannelTotals>>,
    /// Attempts left `unknown` (in the resolver's schedule and the inbox).
    pub unknown: u64,
}

/// SplitMix64: tiny, fast and good enough to spread synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const CASHIERS: [&str; 5] = ["王芳", "李娜", "张伟", "刘洋", "陈静"];
const CHANNELS: [ChannelKind; 4] = [
    ChannelKind::Shoubei,
    ChannelKind::Zvcms,
    ChannelKind::Liantuofu,
    ChannelKind::Allinpay,
];
const PLATFORMS: [Platform; 4] = [
    Platform::Meituan,
    Platform::Tiktok,
    Platform::Dianping,
    Platform::Mtdz,
];
const FACE_VALUES: [i64; 5] = [1_000, 2_000, 5_000, 990, 3_000];

/// Fills `ledger` in one transaction. Per 100 000 attempts: about 85 000 succeed, 10 000
/// are rejected, 3 000 succeed and are undone by a manager, 1 999 go unknown and are
/// settled by the resolver, and 1 stays unknown.
pub fn fill(ledger: &Ledger, spec: &Synthetic) -> Result<Generated, super::LedgerError> {
    extend(ledger, spec, 0)
}

/// Adds attempts `have..spec.attempts` of `spec` to a ledger that holds its first `have`
/// (made by `fill` or `extend` with the same spec but fewer attempts). What it answers
/// (counts, totals, unknowns) is about the attempts it added.
pub fn extend(
    ledger: &Ledger,
    spec: &Synthetic,
    have: u64,
) -> Result<Generated, super::LedgerError> {
    let rule = ledger.business_day_rule();
    ledger.write(|tx, _| {
        // One transaction of millions of rows: with the ledger's usual 32 MiB page cache,
        // SQLite spills dirty pages to the WAL and writes the same index pages again and
        // again (random ids); a cache that holds the whole transaction writes each page once.
        tx.pragma_update(None, "cache_size", GENERATOR_CACHE_SIZE)?;
        let indexes = drop_secondary_indexes(tx)?;
        let filled = fill_in(tx, spec, have, rule);
        if filled.is_ok() {
            for sql in &indexes {
                tx.execute_batch(sql)?;
            }
        }
        tx.pragma_update(None, "cache_size", super::CACHE_SIZE)?;
        filled
    })
}

/// Drops the indexes that can be made again from their SQL, and answers that SQL. Building
/// an index once from the finished table (a sort) is cheaper than keeping it up to date
/// through millions of inserts at random places (codes and ids are random): a 1 M ledger
/// took 42 s instead of 61 (the same build, one after the other). The file ends with the
/// same schema. Its index pages are fuller than those of a till's ledger grown one attempt
/// at a time, which the queries of benchmark 3 did not feel: on the two 1 M files, the day
/// log took 4.0–4.8 ms against 4.1–5.0, a code's timeline 36–81 µs against 30–68 and the
/// inbox 73–101 µs against 71–101 (two rounds of 30 each, twice). The UNIQUE constraint on
/// an attempt's id has no SQL of its own and stays, so it is checked on every insert.
fn drop_secondary_indexes(tx: &rusqlite::Transaction<'_>) -> Result<Vec<String>, Failure> {
    let named: Vec<(String, String)> = tx
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (name, _) in &named {
        tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    Ok(named.into_iter().map(|(_, sql)| sql).collect())
}

/// The page cache while generating (negative: KiB, 6 GiB): enough for a five-year
/// ledger's transaction; only what the transaction touches is allocated.
const GENERATOR_CACHE_SIZE: i64 = -6 * 1024 * 1024;

fn fill_in(
    tx: &rusqlite::Transaction<'_>,
    spec: &Synthetic,
    have: u64,
    rule: crate::business_day::BusinessDayRule,
) -> Result<Generated, Failure> {
    {
        let mut head = events::head(tx)?;
        let mut totals: BTreeMap<(BusinessDay, ChannelKind), ChannelTotals> = BTreeMap::new();
        let mut event_count = 0u64;
        let mut unknown = 0u64;
        let per_day = spec.per_day.max(1);
        let (first_start, _) = rule.range_of(spec.first_day);
        // Attempts fall between 06:00 and 20:00 local of their business day (the cut-off is
        // 04:00 by default, so two hours in), evenly spaced.
        let open_ms: i64 = 2 * 3_600_000;
        let spacing_ms = (14 * 3_600_000 / per_day as i64).max(1);
        let mut last_day = spec.first_day;
        for i in have..spec.attempts {
            // SplitMix64 of a seed that differs per attempt: attempt i is the same whatever
            // was generated before it.
            let mut rng = Rng(spec.seed ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03));
            let day_index = (i / per_day) as i64;
            let created_ms: UnixMs =
                first_start + day_index * 86_400_000 + open_ms + (i % per_day) as i64 * spacing_ms;
            let channel = CHANNELS[rng.below(4) as usize];
            let platform =
                (channel == ChannelKind::Allinpay).then(|| PLATFORMS[rng.below(4) as usize]);
            let unit = FACE_VALUES[rng.below(5) as usize];
            let count = if rng.below(10) == 0 { 2 } else { 1 };
            let cashier = CASHIERS[rng.below(5) as usize];
            let code = format!("{:016}", rng.next() % 10_000_000_000_000_000);
            let id = AttemptId::parse(&format!("{:016x}{:016x}", rng.next(), rng.next()))
                .map_err(|e| Failure::Invalid(e.to_string()))?;
            let new = NewAttempt {
                created_ms,
                channel,
                platform,
                code: code.clone(),
                count,
                cashier: cashier.to_owned(),
                face_value: Some(Fen(unit)),
                price: Some(Fen(unit / 10)),
                remaining_before: (channel == ChannelKind::Liantuofu).then_some(5),
                prepare: Exchange::default(),
            };
            let day = rule.day_of(created_ms);
            last_day = day;
            let digest = attempts::insert(tx, &id, day, &new)?;
            let request =
                format!(r#"{{"coupon_code":"{code}","wf_trace_no":"{id}","count":{count}}}"#);
            let mut seq = 0u32;
            let mut push = |state: AttemptState,
                            at: UnixMs,
                            actor: &Actor,
                            reason: Option<&str>,
                            face: Option<Fen>,
                            settled: Option<Fen>,
                            exchange: &Exchange,
                            digest: Option<String>|
             -> Result<(), Failure> {
                let ids = if state == AttemptState::Succeeded {
                    BTreeMap::from([("order_no".to_owned(), format!("WO{at}{seq}"))])
                } else {
                    BTreeMap::new()
                };
                events::append(
                    tx,
                    &mut head,
                    NewEvent {
                        reason,
                        channel_ids: &ids,
                        face_value: face,
                        settled,
                        exchange,
                        subject_digest: digest,
                        ..NewEvent::step(
                            Subject::Attempt(id.as_str()),
                            seq,
                            state.as_str(),
                            at,
                            actor,
                        )
                    },
                )?;
                seq += 1;
                event_count += 1;
                Ok(())
            };
            let cashier_actor = Actor::Cashier(cashier.to_owned());
            push(
                AttemptState::Pending,
                created_ms,
                &cashier_actor,
                None,
                Some(Fen(unit)),
                None,
                &Exchange::default(),
                Some(digest),
            )?;
            let face = Fen(unit * i64::from(count));
            let settled = matches!(channel, ChannelKind::Shoubei | ChannelKind::Allinpay)
                .then(|| Fen(face.0 * 9 / 10));
            let answered = |body: &str| Exchange {
                request: Some(request.clone()),
                response: Some(body.to_owned()),
                http_status: Some(200),
            };
            let roll = rng.below(100_000);
            let at = created_ms + 800;
            let (state, state_ms, cache_face, cache_settled) = if roll < 85_000 {
                push(
                    AttemptState::Succeeded,
                    at,
                    &cashier_actor,
                    None,
                    Some(face),
                    settled,
                    &answered(r#"{"result_code":"SUCCESS"}"#),
                    None,
                )?;
                (AttemptState::Succeeded, at, Some(face), settled)
            } else if roll < 95_000 {
                push(
                    AttemptState::Rejected,
                    at,
                    &cashier_actor,
                    Some("券码已使用"),
                    None,
                    None,
                    &answered(r#"{"result_code":"FAIL","return_msg":"券码已使用"}"#),
                    None,
                )?;
                (AttemptState::Rejected, at, None, None)
            } else if roll < 98_000 {
                push(
                    AttemptState::Succeeded,
                    at,
                    &cashier_actor,
                    None,
                    Some(face),
                    settled,
                    &answered(r#"{"result_code":"SUCCESS"}"#),
                    None,
                )?;
                push(
                    AttemptState::Cancelled,
                    at + 600_000,
                    &Actor::Manager("店长".to_owned()),
                    Some("customer changed their mind"),
                    None,
                    None,
                    &Exchange::default(),
                    None,
                )?;
                (AttemptState::Cancelled, at + 600_000, Some(face), settled)
            } else if roll < 99_999 {
                push(
                    AttemptState::Unknown,
                    at + 10_000,
                    &cashier_actor,
                    Some("timeout"),
                    None,
                    None,
                    &Exchange {
                        request: Some(request.clone()),
                        ..Exchange::default()
                    },
                    None,
                )?;
                schedule::start(tx, id.as_str(), at + 15_000)?;
                push(
                    AttemptState::Succeeded,
                    at + 15_000,
                    &Actor::Resolver,
                    None,
                    Some(face),
                    settled,
                    &answered(r#"{"result_code":"SUCCESS"}"#),
                    None,
                )?;
                schedule::stop(tx, id.as_str())?;
                (AttemptState::Succeeded, at + 15_000, Some(face), settled)
            } else {
                push(
                    AttemptState::Unknown,
                    at + 10_000,
                    &cashier_actor,
                    Some("timeout"),
                    None,
                    None,
                    &Exchange {
                        request: Some(request.clone()),
                        ..Exchange::default()
                    },
                    None,
                )?;
                schedule::start(tx, id.as_str(), at + 15_000)?;
                unknown += 1;
                (AttemptState::Unknown, at + 10_000, None, None)
            };
            attempts::set_cache(tx, id.as_str(), state, state_ms, cache_face, cache_settled)?;
            if state == AttemptState::Succeeded {
                let t = totals
                    .entry((day, channel))
                    .or_insert_with(|| ChannelTotals {
                        channel: Some(channel),
                        ..ChannelTotals::default()
                    });
                t.succeeded += 1;
                t.units += i64::from(count);
                t.face_value = t.face_value + face;
                t.settled = t.settled + settled.unwrap_or(Fen::ZERO);
                t.settled_unreported += u64::from(settled.is_none());
            }
        }
        let mut by_day: BTreeMap<BusinessDay, Vec<ChannelTotals>> = BTreeMap::new();
        for ((day, _), t) in totals {
            by_day.entry(day).or_default().push(t);
        }
        Ok(Generated {
            attempts: spec.attempts.saturating_sub(have),
            events: event_count,
            first_day: spec.first_day,
            last_day,
            totals: by_day,
            unknown,
        })
    }
}
