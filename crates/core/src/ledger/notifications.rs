//! The `notifications` table: the 增值券 outbox (channels.md §1). A sale is written here
//! first and delivered later by the background outbox, with retries persisted across
//! restarts and resent under the same `dealSerial` (the notification's id).
//!
//! Invariants: the order columns are written once (a trigger aborts UPDATE of them and any
//! DELETE); the cached columns (`state`, `state_ms`, `attempts`, `next_retry_ms`,
//! `last_error`) change only in the transaction that appends the matching event.

use super::canon::{Canon, Val};
use super::chain_report::{BreakProblem, ChainBreak};
use super::error::Failure;
use super::state::{decode_state, NotificationId, NotificationState};
use crate::business_day::BusinessDay;
use crate::clock::UnixMs;
use crate::money::Fen;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

pub(crate) const MIGRATION_CREATE: &str = "
CREATE TABLE notifications (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE CHECK (length(id) = 32),
    created_ms INTEGER NOT NULL,
    business_day TEXT NOT NULL CHECK (length(business_day) = 10),
    cashier TEXT NOT NULL,
    order_no TEXT NOT NULL,
    product_no TEXT NOT NULL,
    product_name TEXT NOT NULL,
    consumer_name TEXT NOT NULL,
    consumer_phone TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 1),
    total_fen INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'delivered', 'rejected')),
    state_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_retry_ms INTEGER,
    last_error TEXT
);
CREATE INDEX notifications_due ON notifications(next_retry_ms) WHERE state = 'queued';
CREATE INDEX notifications_by_day ON notifications(business_day);
CREATE TRIGGER notifications_order_is_immutable
BEFORE UPDATE OF seq, id, created_ms, business_day, cashier, order_no, product_no, product_name,
    consumer_name, consumer_phone, quantity, total_fen ON notifications
BEGIN SELECT RAISE(ABORT, 'a notification''s order columns never change'); END;
CREATE TRIGGER notifications_no_delete BEFORE DELETE ON notifications
BEGIN SELECT RAISE(ABORT, 'notifications are never deleted'); END;
";

/// After this many failed deliveries a queued notification shows in the manager's inbox.
pub const NOTIFICATION_INBOX_AFTER_ATTEMPTS: u32 = 3;

/// The `next_retry_ms` of a notification the outbox must not resend by itself (its answer
/// was lost after it may have arrived, on a platform that counts a resend again): it
/// waits in the inbox for a manager, at once.
pub const HELD_FOR_MANAGER_MS: UnixMs = i64::MAX;

/// How long the outbox waits after `attempts` failed deliveries: 10 s, 30 s, 1 min, 5 min,
/// then every 15 min (the sale is already paid; the platform only has to issue the coupon).
pub fn notification_backoff(attempts: u32) -> i64 {
    match attempts {
        0 | 1 => 10_000,
        2 => 30_000,
        3 => 60_000,
        4 => 300_000,
        _ => 900_000,
    }
}

/// A 增值券 sale to notify (channels.md §1 request fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewNotification {
    pub created_ms: UnixMs,
    pub cashier: String,
    /// `orderNo`; `None` uses the notification's own id.
    pub order_no: Option<String>,
    /// `productNo`, ≤ 32 characters.
    pub product_no: String,
    /// `productNm`, ≤ 300 characters.
    pub product_name: String,
    /// `consumeName`, ≤ 50 characters.
    pub consumer_name: String,
    /// `consumePhone`: 11 digits starting with 1.
    pub consumer_phone: String,
    /// `byNumber`, ≥ 1.
    pub quantity: u32,
    /// `sumMoney` in fen.
    pub total: Fen,
}

/// One notification as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Sent as `dealSerial`.
    pub id: NotificationId,
    pub created_ms: UnixMs,
    pub business_day: BusinessDay,
    pub cashier: String,
    pub order_no: String,
    pub product_no: String,
    pub product_name: String,
    pub consumer_name: String,
    pub consumer_phone: String,
    pub quantity: u32,
    pub total: Fen,
    pub state: NotificationState,
    pub state_ms: UnixMs,
    /// Deliveries tried so far.
    pub attempts: u32,
    pub next_retry_ms: Option<UnixMs>,
    pub last_error: Option<String>,
}

/// How one delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DeliveryResult {
    /// `resultCode` `0000`.
    Delivered,
    /// Any other `resultCode`: final, never retried.
    Rejected { reason: String },
    /// Transport error, 5xx, a body that does not parse: retried later.
    Failed { error: String },
}

const COLUMNS: &str = "id, created_ms, business_day, cashier, order_no, product_no, product_name, \
    consumer_name, consumer_phone, quantity, total_fen, state, state_ms, attempts, next_retry_ms, \
    last_error";

pub(crate) const IMMUTABLE_COLUMNS: &str = "n.id, n.created_ms, n.business_day, n.cashier, \
    n.order_no, n.product_no, n.product_name, n.consumer_name, n.consumer_phone, n.quantity, \
    n.total_fen";

struct Identity<'a> {
    id: &'a str,
    created_ms: i64,
    business_day: &'a str,
    cashier: &'a str,
    order_no: &'a str,
    product_no: &'a str,
    product_name: &'a str,
    consumer_name: &'a str,
    consumer_phone: &'a str,
    quantity: i64,
    total_fen: i64,
}

impl Identity<'_> {
    fn digest(&self) -> String {
        let mut c = Canon::new("redeemdesk.ledger.notification.v1");
        c.field("id", Val::Text(self.id));
        c.field("created_ms", Val::Int(self.created_ms));
        c.field("business_day", Val::Text(self.business_day));
        c.field("cashier", Val::Text(self.cashier));
        c.field("order_no", Val::Text(self.order_no));
        c.field("product_no", Val::Text(self.product_no));
        c.field("product_name", Val::Text(self.product_name));
        c.field("consumer_name", Val::Text(self.consumer_name));
        c.field("consumer_phone", Val::Text(self.consumer_phone));
        c.field("quantity", Val::Int(self.quantity));
        c.field("total_fen", Val::Int(self.total_fen));
        c.finish()
    }
}

pub(crate) fn digest_of_row(row: &Row<'_>, at: usize) -> Result<Option<String>, Failure> {
    let id: Option<String> = row.get(at)?;
    let Some(id) = id else { return Ok(None) };
    let texts: Vec<String> = [2, 3, 4, 5, 6, 7, 8]
        .into_iter()
        .map(|i| row.get(at + i))
        .collect::<Result<_, _>>()?;
    Ok(Some(
        Identity {
            id: &id,
            created_ms: row.get(at + 1)?,
            business_day: &texts[0],
            cashier: &texts[1],
            order_no: &texts[2],
            product_no: &texts[3],
            product_name: &texts[4],
            consumer_name: &texts[5],
            consumer_phone: &texts[6],
            quantity: row.get(at + 9)?,
            total_fen: row.get(at + 10)?,
        }
        .digest(),
    ))
}

/// The checks of channels.md §1 "Validate before storing".
pub(crate) fn validate(n: &NewNotification) -> Result<(), Failure> {
    let bad = |what: String| Err(Failure::Invalid(what));
    let within = |name: &str, text: &str, max: usize| -> Result<(), Failure> {
        let len = text.chars().count();
        if text.trim().is_empty() {
            return Err(Failure::Invalid(format!("{name} must not be empty")));
        }
        if len > max {
            return Err(Failure::Invalid(format!(
                "{name} is longer than {max} characters"
            )));
        }
        Ok(())
    };
    within("the product number", &n.product_no, 32)?;
    within("the product name", &n.product_name, 300)?;
    within("the consumer name", &n.consumer_name, 50)?;
    within("the cashier", &n.cashier, 100)?;
    if let Some(order_no) = &n.order_no {
        within("the order number", order_no, 32)?;
    }
    let phone = n.consumer_phone.as_bytes();
    if phone.len() != 11 || phone[0] != b'1' || !phone.iter().all(u8::is_ascii_digit) {
        return bad(format!(
            "{:?} is not a mainland mobile number (11 digits starting with 1)",
            n.consumer_phone
        ));
    }
    if n.quantity == 0 || n.quantity > 99_999_999 {
        return bad("the quantity must be between 1 and 99999999".to_owned());
    }
    if n.total.0 < 0 || n.total.0 > 999_999_999_999 {
        return bad("the total must be between 0 and 999999999999 fen".to_owned());
    }
    Ok(())
}

/// Inserts a queued notification, due at once; returns its identity digest.
pub(crate) fn insert(
    conn: &Connection,
    id: &NotificationId,
    day: BusinessDay,
    n: &NewNotification,
) -> Result<String, Failure> {
    let day = day.to_string();
    let identity = Identity {
        id: id.as_str(),
        created_ms: n.created_ms,
        business_day: &day,
        cashier: &n.cashier,
        order_no: n.order_no.as_deref().unwrap_or(id.as_str()),
        product_no: &n.product_no,
        product_name: &n.product_name,
        consumer_name: &n.consumer_name,
        consumer_phone: &n.consumer_phone,
        quantity: i64::from(n.quantity),
        total_fen: n.total.0,
    };
    conn.prepare_cached(
        "INSERT INTO notifications (id, created_ms, business_day, cashier, order_no, product_no,
             product_name, consumer_name, consumer_phone, quantity, total_fen, state, state_ms,
             attempts, next_retry_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'queued', ?2, 0, ?2)",
    )?
    .execute(params![
        identity.id,
        identity.created_ms,
        identity.business_day,
        identity.cashier,
        identity.order_no,
        identity.product_no,
        identity.product_name,
        identity.consumer_name,
        identity.consumer_phone,
        identity.quantity,
        identity.total_fen,
    ])?;
    Ok(identity.digest())
}

pub(crate) fn set_cache(
    conn: &Connection,
    id: &str,
    state: NotificationState,
    state_ms: UnixMs,
    attempts: u32,
    next_retry_ms: Option<UnixMs>,
    last_error: Option<&str>,
) -> Result<(), Failure> {
    conn.prepare_cached(
        "UPDATE notifications
         SET state = ?2, state_ms = ?3, attempts = ?4, next_retry_ms = ?5, last_error = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        state.as_str(),
        state_ms,
        attempts,
        next_retry_ms,
        last_error
    ])?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> Result<Notification, Failure> {
    let id: String = row.get(0)?;
    let day: String = row.get(2)?;
    let state: String = row.get(11)?;
    let corrupt =
        |what: &str| Failure::Corrupt(format!("notification {id} has an unreadable {what}"));
    Ok(Notification {
        id: NotificationId::parse(&id).map_err(|_| corrupt("id"))?,
        created_ms: row.get(1)?,
        business_day: day.parse().map_err(|_| corrupt("business day"))?,
        cashier: row.get(3)?,
        order_no: row.get(4)?,
        product_no: row.get(5)?,
        product_name: row.get(6)?,
        consumer_name: row.get(7)?,
        consumer_phone: row.get(8)?,
        quantity: row
            .get::<_, i64>(9)?
            .try_into()
            .map_err(|_| corrupt("quantity"))?,
        total: Fen(row.get(10)?),
        state: decode_state(&state)?,
        state_ms: row.get(12)?,
        attempts: row.get(13)?,
        next_retry_ms: row.get(14)?,
        last_error: row.get(15)?,
    })
}

fn collect(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Notification>, Failure> {
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Notification>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications WHERE id = ?1"
    ))?;
    Ok(collect(&mut stmt, [id])?.pop())
}

/// Queued notifications whose next try is due at `now_ms`, earliest first; a try scheduled
/// beyond the longest backoff from `now_ms` was scheduled by a clock since set back, and is due.
pub(crate) fn due(conn: &Connection, now_ms: UnixMs) -> Result<Vec<Notification>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications
         WHERE state = 'queued' AND (next_retry_ms <= ?1 OR next_retry_ms > ?3)
           AND next_retry_ms < ?2
         ORDER BY next_retry_ms, seq"
    ))?;
    collect(
        &mut stmt,
        [
            now_ms,
            HELD_FOR_MANAGER_MS,
            now_ms.saturating_add(notification_backoff(u32::MAX)),
        ],
    )
}

/// Queued notifications that have failed at least `min_attempts` times.
pub(crate) fn failing(conn: &Connection, min_attempts: u32) -> Result<Vec<Notification>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM notifications
         WHERE state = 'queued' AND next_retry_ms IS NOT NULL
           AND (attempts >= ?1 OR next_retry_ms = ?2)
         ORDER BY created_ms"
    ))?;
    collect(&mut stmt, params![min_attempts, HELD_FOR_MANAGER_MS])
}

/// The first notification whose cached state disagrees with its events.
pub(crate) fn first_cache_mismatch(conn: &Connection) -> Result<Option<ChainBreak>, Failure> {
    let found = conn
        .query_row(
            "SELECT id, state, has_first, last_state, attempts, tries FROM (
                SELECT n.seq AS seq, n.id AS id, n.state AS state, n.attempts AS attempts,
                    EXISTS (SELECT 1 FROM events e WHERE e.notification_id = n.id AND e.seq = 0)
                        AS has_first,
                    (SELECT e.state FROM events e WHERE e.notification_id = n.id
                        ORDER BY e.seq DESC LIMIT 1) AS last_state,
                    (SELECT count(*) FROM events e WHERE e.notification_id = n.id
                        AND e.seq > 0 AND e.actor = 'outbox') AS tries
                FROM notifications n)
             WHERE NOT has_first OR last_state IS NOT state OR attempts <> tries
             ORDER BY seq LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((id, state, has_first, last_state, attempts, tries)) = found else {
        return Ok(None);
    };
    let problem = if !has_first {
        BreakProblem::CreatingEventMissing
    } else if last_state.as_deref() != Some(state.as_str()) {
        BreakProblem::CacheMismatch {
            column: "state".to_owned(),
            cached: state,
            from_events: last_state.unwrap_or_else(|| "NULL".to_owned()),
        }
    } else {
        BreakProblem::CacheMismatch {
            column: "attempts".to_owned(),
            cached: attempts.to_string(),
            from_events: tries.to_string(),
        }
    };
    Ok(Some(ChainBreak {
        event_id: None,
        subject: format!("notification {id}"),
        seq: None,
        problem,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sale() -> NewNotification {
        NewNotification {
            created_ms: 0,
            cashier: "王芳".into(),
            order_no: None,
            product_no: "P001".into(),
            product_name: "畅玩单人联票".into(),
            consumer_name: "张三".into(),
            consumer_phone: "13800138000".into(),
            quantity: 2,
            total: Fen(19_800),
        }
    }

    #[test]
    fn a_proper_sale_passes_validation() {
        assert!(validate(&sale()).is_ok());
    }

    #[test]
    fn phone_numbers_that_are_not_mainland_mobiles_are_refused() {
        for phone in [
            "",
            "1380013800",
            "138001380001",
            "23800138000",
            "1380013800a",
            "１3800138000",
        ] {
            let n = NewNotification {
                consumer_phone: phone.into(),
                ..sale()
            };
            assert!(
                validate(&n).is_err(),
                "{phone:?} must be refused before storing"
            );
        }
    }

    #[test]
    fn empty_or_over_long_fields_and_zero_quantity_are_refused() {
        let cases = [
            NewNotification {
                quantity: 0,
                ..sale()
            },
            NewNotification {
                product_no: "x".repeat(33),
                ..sale()
            },
            NewNotification {
                consumer_name: " ".into(),
                ..sale()
            },
            NewNotification {
                product_name: "票".repeat(301),
                ..sale()
            },
            NewNotification {
                total: Fen(-1),
                ..sale()
            },
        ];
        for n in cases {
            assert!(validate(&n).is_err(), "{n:?} must be refused");
        }
        let long_but_ok = NewNotification {
            product_name: "票".repeat(300),
            ..sale()
        };
        assert!(
            validate(&long_but_ok).is_ok(),
            "300 Chinese characters is the documented limit"
        );
    }

    #[test]
    fn outbox_backoff_grows_then_stays_at_fifteen_minutes() {
        let d: Vec<i64> = (0..8).map(notification_backoff).collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "never shrinks: {d:?}");
        assert_eq!(notification_backoff(100), 900_000);
    }
}
