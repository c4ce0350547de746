//! The sandbox's coupon store: the state every emulated channel keeps (channels.md §6).
//! Coupons are unused / used / refunded / locked / expired with the uses they have left;
//! Douyin vouchers keep their certificates' uses. Every committed consumption is kept
//! twice: once as the channel's own record (what its query and history calls report, and
//! what a test may alter to plant a reconciliation mismatch) and once, untouched, as
//! ground truth. Answers are kept by idempotency key so a repeated key is answered with the
//! original bytes and consumes nothing.
//!
//! Invariant: a coupon's `left` never goes below zero and only `consume` lowers it; a
//! consumption and its replayable answer are recorded under the same lock.

use crate::demo::{DemoCertificate, DemoCoupon, DemoData, DemoProduct, DemoState, Platform};
use crate::fault::Fault;
use bytes_body::AnswerBytes;
use redeemdesk_core::channel::ChannelKind;
use redeemdesk_core::clock::UnixMs;
use redeemdesk_core::money::Fen;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A coupon's state as the channel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CouponState {
    Unused,
    Used,
    Refunded,
    Locked,
    Expired,
}

/// A certificate of a Douyin voucher with its uses left.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub demo: DemoCertificate,
    pub left: u32,
}

/// A coupon as the sandbox holds it now.
#[derive(Debug, Clone)]
pub struct Coupon {
    pub demo: DemoCoupon,
    /// The stored state; `Used` once `left` reaches zero. Expiry by date is computed on
    /// read (see [`Coupon::state_at`]) so that moving the clock expires a coupon.
    pub state: CouponState,
    pub left: u32,
    pub certificates: Vec<Certificate>,
}

impl Coupon {
    fn new(demo: DemoCoupon) -> Self {
        let state = match demo.state {
            DemoState::Unused if demo.left == 0 => CouponState::Used,
            DemoState::Unused => CouponState::Unused,
            DemoState::Used => CouponState::Used,
            DemoState::Refunded => CouponState::Refunded,
            DemoState::Locked => CouponState::Locked,
            DemoState::Expired => CouponState::Expired,
        };
        let used = demo.state == DemoState::Used;
        let certificates: Vec<Certificate> = demo
            .certificates
            .iter()
            .map(|c| Certificate {
                demo: c.clone(),
                left: if used { 0 } else { c.num },
            })
            .collect();
        // A Douyin voucher's uses are its certificates' uses.
        let left = if demo.certificates.is_empty() {
            demo.left
        } else {
            certificates.iter().map(|c| c.left).sum()
        };
        Coupon {
            left,
            state,
            certificates,
            demo,
        }
    }

    /// The state at `now_ms`: an unused coupon past its end date reads as expired.
    pub fn state_at(&self, now_ms: UnixMs) -> CouponState {
        match self.state {
            CouponState::Unused if self.demo.valid_to_ms.is_some_and(|end| now_ms > end) => {
                CouponState::Expired
            }
            s => s,
        }
    }

    /// How many uses can be redeemed now (0 when not redeemable at all).
    pub fn redeemable_at(&self, now_ms: UnixMs) -> u32 {
        match self.state_at(now_ms) {
            CouponState::Unused if !self.not_started(now_ms) => self.left,
            _ => 0,
        }
    }

    fn not_started(&self, now_ms: UnixMs) -> bool {
        self.demo.valid_from_ms.is_some_and(|start| now_ms < start)
    }
}

/// Why a redemption is refused. Each channel words it its own way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such coupon")]
    NotFound,
    #[error("already used")]
    Used,
    #[error("refunded")]
    Refunded,
    #[error("expired")]
    Expired,
    #[error("not valid yet")]
    NotStarted,
    #[error("locked")]
    Locked,
    #[error("only {left} uses left")]
    NotEnoughLeft { left: u32 },
    #[error("count must be at least 1")]
    BadCount,
    #[error("Douyin vouchers need tiktokCertificateList")]
    CertificatesRequired,
    #[error("certificate {0} is not part of this voucher")]
    UnknownCertificate(String),
    #[error("certificate {0} has not enough uses left")]
    CertificateUsed(String),
    /// The demo coupon's `refuse_redeem`: valid at the preview, refused at the redemption.
    #[error("valid, but this redemption is refused")]
    RedeemRefused,
}

/// What a channel is asked to consume.
#[derive(Debug, Clone)]
pub struct ConsumeRequest<'a> {
    pub channel: ChannelKind,
    pub code: &'a str,
    pub count: u32,
    pub idempotency_key: Option<&'a str>,
    /// Douyin: which certificates, with how many uses each.
    pub certificates: Option<Vec<(String, u32)>>,
    /// Who redeemed (allinpay `operUserId`, 收呗 shop), reported by history calls.
    pub operator: String,
}

/// One committed consumption: ground truth, and the channel's own record of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumption {
    pub channel: ChannelKind,
    pub code: String,
    pub platform: Option<Platform>,
    pub name: String,
    pub count: u32,
    /// The idempotency key the request carried, where the channel has one.
    pub idempotency_key: Option<String>,
    /// The channel's id of the record (收呗 `order_no`, 智迈 response `bizId`, allinpay
    /// `tranNo`; 联拓富 has none, so the sandbox's own `LTF…` id, never sent on the wire).
    pub record_id: String,
    pub at_ms: UnixMs,
    /// Face value of what was consumed (per-use face × count).
    pub face: Fen,
    /// What the customer paid for what was consumed.
    pub price: Fen,
    /// What the merchant receives (收呗 `settle_amount`).
    pub settle: Fen,
    pub certificates: Vec<(String, u32)>,
    pub operator: String,
    /// Uses left on the coupon right after this consumption.
    pub left_after: u32,
    /// Set when the channel's record was cancelled (收呗 cancel).
    pub cancelled_at_ms: Option<UnixMs>,
    /// True for a consumption planted by a test as if made outside the app.
    pub foreign: bool,
}

/// One 增值券 notification as the platform received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub deal_serial: String,
    pub order_no: String,
    pub product_no: String,
    pub by_number: u32,
    pub sum_money: Fen,
    pub consume_name: String,
    pub consume_phone: String,
    pub first_received_ms: UnixMs,
    /// How many times it arrived (the outbox may resend the same `dealSerial`).
    pub received: u32,
    /// How many orders the platform recorded under this `dealSerial`: 1, unless the
    /// `count_again` reading makes every arrival a new order (the coupon issued again).
    #[serde(default = "one")]
    pub orders: u32,
}

fn one() -> u32 {
    1
}

/// Everything that really happened, for tests to compare with what the app believes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroundTruth {
    pub consumptions: Vec<Consumption>,
    pub notifications: Vec<Notification>,
}

impl GroundTruth {
    /// The consumptions of one code on one channel.
    pub fn consumptions_of(&self, channel: ChannelKind, code: &str) -> Vec<&Consumption> {
        self.consumptions
            .iter()
            .filter(|c| c.channel == channel && c.code == code)
            .collect()
    }

    /// Total uses committed for one code on one channel (cancellations not subtracted).
    pub fn uses_of(&self, channel: ChannelKind, code: &str) -> u32 {
        self.consumptions_of(channel, code)
            .iter()
            .map(|c| c.count)
            .sum()
    }
}

/// An answer as first sent, replayed byte for byte for a repeated idempotency key.
#[derive(Debug, Clone)]
pub struct StoredAnswer {
    /// The code the original request was for: the same key with another code is refused.
    pub code: String,
    pub answer: AnswerBytes,
}

/// Plain bytes of an answer; lives here so the store does not depend on axum.
pub mod bytes_body {
    /// A JSON (or other) body with its content type and HTTP status.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct AnswerBytes {
        pub status: u16,
        pub content_type: &'static str,
        pub body: Vec<u8>,
    }
}

/// The sandbox's state as saved to a state file (`SandboxOptions::state_file`), so that
/// an app restarted in sandbox mode finds the coupons it redeemed still redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub seq: u64,
    pub coupons: Vec<CouponSnapshot>,
    pub records: Vec<Consumption>,
    pub truth: Vec<Consumption>,
    pub notifications: Vec<Notification>,
    pub answers: Vec<AnswerSnapshot>,
}

impl Snapshot {
    /// Bumped when the shape changes; a file of another format is not restored.
    pub const FORMAT: u32 = 1;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponSnapshot {
    pub channel: ChannelKind,
    pub code: String,
    pub state: CouponState,
    pub left: u32,
    pub certificates: Vec<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerSnapshot {
    pub channel: ChannelKind,
    pub key: String,
    pub code: String,
    pub status: u16,
    pub body: String,
}

/// The whole mutable state of the sandbox. Callers hold it behind one mutex.
#[derive(Debug)]
pub struct Store {
    coupons: HashMap<(ChannelKind, String), Coupon>,
    products: Vec<DemoProduct>,
    /// The channels' own records, in commit order.
    records: Vec<Consumption>,
    /// Ground truth, in commit order; never altered by tests.
    truth: Vec<Consumption>,
    notifications: Vec<Notification>,
    answers: HashMap<(ChannelKind, String), StoredAnswer>,
    seq: u64,
    /// Bumped by every change, so a persister knows when to write a snapshot.
    version: u64,
}

impl Store {
    pub fn new(demo: &DemoData) -> Self {
        Store {
            coupons: demo
                .coupons
                .iter()
                .map(|c| ((c.channel, c.code.clone()), Coupon::new(c.clone())))
                .collect(),
            products: demo.products.clone(),
            records: Vec::new(),
            truth: Vec::new(),
            notifications: Vec::new(),
            answers: HashMap::new(),
            seq: 0,
            version: 0,
        }
    }

    pub fn coupon(&self, channel: ChannelKind, code: &str) -> Option<&Coupon> {
        self.coupons.get(&(channel, code.to_owned()))
    }

    pub fn coupon_mut(&mut self, channel: ChannelKind, code: &str) -> Option<&mut Coupon> {
        self.version += 1;
        self.coupons.get_mut(&(channel, code.to_owned()))
    }

    pub fn product(&self, product_no: &str) -> Option<&DemoProduct> {
        self.products.iter().find(|p| p.product_no == product_no)
    }

    /// The fault the demo data attaches to this code, if any.
    pub fn demo_fault(&self, channel: ChannelKind, code: &str) -> Option<Fault> {
        if channel == ChannelKind::Yhtd {
            return self.product(code).and_then(|p| p.fault);
        }
        self.coupon(channel, code).and_then(|c| c.demo.fault)
    }

    /// A fresh sequence number for the channel's record ids.
    pub fn next_seq(&mut self) -> u64 {
        self.version += 1;
        self.seq += 1;
        self.seq
    }

    pub fn answer_for(&self, channel: ChannelKind, key: &str) -> Option<&StoredAnswer> {
        self.answers.get(&(channel, key.to_owned()))
    }

    pub fn remember_answer(&mut self, channel: ChannelKind, key: &str, stored: StoredAnswer) {
        self.version += 1;
        self.answers.insert((channel, key.to_owned()), stored);
    }

    /// Checks that the request could be consumed now, without changing anything.
    pub fn check(&self, req: &ConsumeRequest<'_>, now_ms: UnixMs) -> Result<(), Refusal> {
        if req.count == 0 {
            return Err(Refusal::BadCount);
        }
        let coupon = self
            .coupon(req.channel, req.code)
            .ok_or(Refusal::NotFound)?;
        match coupon.state_at(now_ms) {
            CouponState::Used => return Err(Refusal::Used),
            CouponState::Refunded => return Err(Refusal::Refunded),
            CouponState::Expired => return Err(Refusal::Expired),
            CouponState::Locked => return Err(Refusal::Locked),
            CouponState::Unused => {}
        }
        if coupon.not_started(now_ms) {
            return Err(Refusal::NotStarted);
        }
        if coupon.demo.refuse_redeem {
            return Err(Refusal::RedeemRefused);
        }
        if coupon.certificates.is_empty() {
            if req.count > coupon.left {
                return Err(Refusal::NotEnoughLeft { left: coupon.left });
            }
            return Ok(());
        }
        let wanted = req
            .certificates
            .as_ref()
            .filter(|w| !w.is_empty())
            .ok_or(Refusal::CertificatesRequired)?;
        for (id, num) in wanted {
            let cert = coupon
                .certificates
                .iter()
                .find(|c| &c.demo.id == id)
                .ok_or_else(|| Refusal::UnknownCertificate(id.clone()))?;
            let asked: u32 = wanted
                .iter()
                .filter(|(i, _)| i == id)
                .map(|(_, n)| *n)
                .sum();
            if *num == 0 {
                return Err(Refusal::BadCount);
            }
            if asked > cert.left {
                return Err(Refusal::CertificateUsed(id.clone()));
            }
        }
        Ok(())
    }

    /// Consumes, records the consumption (record and ground truth) and returns it.
    /// `record_id` is the channel's id for the record, made by the channel's handler.
    pub fn consume(
        &mut self,
        req: &ConsumeRequest<'_>,
        record_id: String,
        now_ms: UnixMs,
    ) -> Result<Consumption, Refusal> {
        self.check(req, now_ms)?;
        self.version += 1;
        let coupon = self
            .coupons
            .get_mut(&(req.channel, req.code.to_owned()))
            .ok_or(Refusal::NotFound)?;
        let (count, face, price, certificates) = if coupon.certificates.is_empty() {
            coupon.left -= req.count;
            let n = i64::from(req.count);
            (
                req.count,
                Fen(coupon.demo.face.0 * n),
                Fen(coupon.demo.price.0 * n),
                Vec::new(),
            )
        } else {
            let wanted = req.certificates.clone().unwrap_or_default();
            let mut face = 0;
            let mut count = 0;
            for (id, num) in &wanted {
                if let Some(cert) = coupon.certificates.iter_mut().find(|c| &c.demo.id == id) {
                    cert.left -= num;
                    face += cert.demo.market_price_fen * i64::from(*num);
                    count += num;
                }
            }
            // A voucher is used once none of its certificates has a use left.
            coupon.left = coupon.certificates.iter().map(|c| c.left).sum();
            let face = Fen(face);
            // The price paid is the voucher's price shared by face value.
            let total_face: i64 = coupon
                .certificates
                .iter()
                .map(|c| c.demo.market_price_fen * i64::from(c.demo.num))
                .sum();
            let price = if total_face > 0 {
                Fen(coupon.demo.price.0 * face.0 / total_face)
            } else {
                Fen::ZERO
            };
            (count, face, price, wanted)
        };
        if coupon.left == 0 {
            coupon.state = CouponState::Used;
        }
        let settle = if coupon.demo.settle == coupon.demo.price {
            price
        } else {
            Fen(coupon.demo.settle.0 * i64::from(count))
        };
        let consumption = Consumption {
            channel: req.channel,
            code: req.code.to_owned(),
            platform: coupon.demo.platform,
            name: coupon.demo.name.clone(),
            count,
            idempotency_key: req.idempotency_key.map(str::to_owned),
            record_id,
            at_ms: now_ms,
            face,
            price,
            settle,
            certificates,
            operator: req.operator.clone(),
            left_after: coupon.left,
            cancelled_at_ms: None,
            foreign: false,
        };
        self.records.push(consumption.clone());
        self.truth.push(consumption.clone());
        Ok(consumption)
    }

    /// The channel's own records.
    pub fn records(&self) -> &[Consumption] {
        &self.records
    }

    pub fn record_by_key(&self, channel: ChannelKind, key: &str) -> Option<&Consumption> {
        self.records
            .iter()
            .find(|r| r.channel == channel && r.idempotency_key.as_deref() == Some(key))
    }

    /// The latest record of a code that is not cancelled, whatever its key.
    pub fn latest_live_record(&self, channel: ChannelKind, code: &str) -> Option<&Consumption> {
        self.records
            .iter()
            .rev()
            .find(|r| r.channel == channel && r.code == code && r.cancelled_at_ms.is_none())
    }

    /// Cancels a record: the coupon gets its uses back. Returns the record as cancelled,
    /// or `None` when there is no such live record.
    pub fn cancel(
        &mut self,
        channel: ChannelKind,
        key: &str,
        now_ms: UnixMs,
    ) -> Option<Consumption> {
        self.cancel_where(channel, now_ms, |r| {
            r.idempotency_key.as_deref() == Some(key)
        })
    }

    /// [`Store::cancel`] of the record with the channel's id `record_id`.
    pub fn cancel_record(
        &mut self,
        channel: ChannelKind,
        record_id: &str,
        now_ms: UnixMs,
    ) -> Option<Consumption> {
        self.cancel_where(channel, now_ms, |r| r.record_id == record_id)
    }

    fn cancel_where(
        &mut self,
        channel: ChannelKind,
        now_ms: UnixMs,
        wanted: impl Fn(&Consumption) -> bool,
    ) -> Option<Consumption> {
        self.version += 1;
        let record = self
            .records
            .iter_mut()
            .find(|r| r.channel == channel && wanted(r) && r.cancelled_at_ms.is_none())?;
        record.cancelled_at_ms = Some(now_ms);
        let cancelled = record.clone();
        if let Some(t) = self
            .truth
            .iter_mut()
            .find(|t| t.channel == channel && t.record_id == cancelled.record_id)
        {
            t.cancelled_at_ms = Some(now_ms);
        }
        if let Some(coupon) = self.coupon_mut(channel, &cancelled.code) {
            coupon.left += cancelled.count;
            for (id, num) in &cancelled.certificates {
                if let Some(cert) = coupon.certificates.iter_mut().find(|c| &c.demo.id == id) {
                    cert.left += num;
                }
            }
            coupon.state = CouponState::Unused;
        }
        Some(cancelled)
    }

    /// Changes the channel's own record (not the ground truth): plants a reconciliation
    /// mismatch. Returns false when no record has that id.
    pub fn alter_record(&mut self, record_id: &str, change: impl FnOnce(&mut Consumption)) -> bool {
        self.version += 1;
        match self.records.iter_mut().find(|r| r.record_id == record_id) {
            Some(r) => {
                change(r);
                true
            }
            None => false,
        }
    }

    /// Marks a consumption as made outside the app (another till, the vendor's back
    /// office): it is in the channel's records and the ground truth with `foreign` set.
    pub fn mark_foreign(&mut self, record_id: &str) {
        self.version += 1;
        for r in self.records.iter_mut().chain(self.truth.iter_mut()) {
            if r.record_id == record_id {
                r.foreign = true;
            }
        }
    }

    /// Records one arrival of a 增值券 notification; returns the stored notification and
    /// whether it had been seen before. `new_order` counts a repeat as one more order.
    pub fn notification_received(
        &mut self,
        n: Notification,
        new_order: bool,
    ) -> (Notification, bool) {
        self.version += 1;
        if let Some(seen) = self
            .notifications
            .iter_mut()
            .find(|s| s.deal_serial == n.deal_serial)
        {
            seen.received += 1;
            if new_order {
                seen.orders += 1;
            }
            return (seen.clone(), true);
        }
        self.notifications.push(n.clone());
        (n, false)
    }

    /// Changes so far; compare two readings to know whether anything changed between.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Everything that changed since the demo data was loaded, for a state file.
    pub fn snapshot(&self) -> Snapshot {
        let mut coupons: Vec<CouponSnapshot> = self
            .coupons
            .values()
            .map(|c| CouponSnapshot {
                channel: c.demo.channel,
                code: c.demo.code.clone(),
                state: c.state,
                left: c.left,
                certificates: c
                    .certificates
                    .iter()
                    .map(|x| (x.demo.id.clone(), x.left))
                    .collect(),
            })
            .collect();
        coupons.sort_by(|a, b| (a.channel, &a.code).cmp(&(b.channel, &b.code)));
        let mut answers: Vec<AnswerSnapshot> = self
            .answers
            .iter()
            .map(|((channel, key), stored)| AnswerSnapshot {
                channel: *channel,
                key: key.clone(),
                code: stored.code.clone(),
                status: stored.answer.status,
                body: String::from_utf8_lossy(&stored.answer.body).into_owned(),
            })
            .collect();
        answers.sort_by(|a, b| (a.channel, &a.key).cmp(&(b.channel, &b.key)));
        Snapshot {
            format: Snapshot::FORMAT,
            seq: self.seq,
            coupons,
            records: self.records.clone(),
            truth: self.truth.clone(),
            notifications: self.notifications.clone(),
            answers,
        }
    }

    /// Applies a snapshot over the demo data. Coupons the demo data no longer lists are
    /// ignored; everything else is taken as saved.
    pub fn restore(&mut self, snapshot: Snapshot) {
        for saved in snapshot.coupons {
            if let Some(c) = self.coupons.get_mut(&(saved.channel, saved.code)) {
                c.state = saved.state;
                c.left = saved.left;
                for (id, left) in saved.certificates {
                    if let Some(cert) = c.certificates.iter_mut().find(|x| x.demo.id == id) {
                        cert.left = left;
                    }
                }
            }
        }
        self.seq = self.seq.max(snapshot.seq);
        self.records = snapshot.records;
        self.truth = snapshot.truth;
        self.notifications = snapshot.notifications;
        for a in snapshot.answers {
            self.answers.insert(
                (a.channel, a.key),
                StoredAnswer {
                    code: a.code,
                    answer: AnswerBytes {
                        status: a.status,
                        // Only JSON answers are ever stored (faulty bodies are not answers).
                        content_type: "application/json;charset=UTF-8",
                        body: a.body.into_bytes(),
                    },
                },
            );
        }
        self.version += 1;
    }

    pub fn ground_truth(&self) -> GroundTruth {
        GroundTruth {
            consumptions: self.truth.clone(),
            notifications: self.notifications.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMs = 1_795_305_600_000; // 2026-11-22 08:00 +08:00

    fn store() -> Store {
        Store::new(&DemoData::embedded().unwrap())
    }

    fn req<'a>(channel: ChannelKind, code: &'a str, count: u32) -> ConsumeRequest<'a> {
        ConsumeRequest {
            channel,
            code,
            count,
            idempotency_key: None,
            certificates: None,
            operator: "cashier".into(),
        }
    }

    #[test]
    fn a_single_use_coupon_is_consumed_once() {
        let mut s = store();
        let r = req(ChannelKind::Shoubei, "679533922928", 1);
        let c = s
            .consume(&r, "1".into(), NOW)
            .expect("a valid coupon is consumed");
        assert_eq!((c.count, c.face, c.left_after), (1, Fen(1000), 0));
        assert_eq!(
            s.consume(&r, "2".into(), NOW),
            Err(Refusal::Used),
            "the second time it is used"
        );
    }

    #[test]
    fn a_times_card_cannot_go_below_zero() {
        let mut s = store();
        let code = "914095353294404031"; // 2 left
        assert_eq!(
            s.consume(&req(ChannelKind::Liantuofu, code, 3), "x".into(), NOW),
            Err(Refusal::NotEnoughLeft { left: 2 }),
            "3 uses asked of 2 left is refused whole"
        );
        s.consume(&req(ChannelKind::Liantuofu, code, 2), "y".into(), NOW)
            .unwrap();
        assert_eq!(s.coupon(ChannelKind::Liantuofu, code).unwrap().left, 0);
    }

    #[test]
    fn moving_the_clock_past_the_end_date_expires_a_coupon() {
        let s = store();
        let c = s.coupon(ChannelKind::Shoubei, "679533922928").unwrap();
        assert_eq!(c.state_at(NOW), CouponState::Unused);
        let later = crate::time::parse_cst("2031-01-01 00:00:00").unwrap();
        assert_eq!(
            c.state_at(later),
            CouponState::Expired,
            "valid_to is 2030-12-31"
        );
    }

    #[test]
    fn a_douyin_voucher_is_consumed_per_certificate() {
        let mut s = store();
        let code = "802436197254310";
        assert_eq!(
            s.check(&req(ChannelKind::Allinpay, code, 1), NOW),
            Err(Refusal::CertificatesRequired),
            "the cashier must tick certificates"
        );
        let mut r = req(ChannelKind::Allinpay, code, 1);
        r.certificates = Some(vec![("7301284619204573184".into(), 1)]);
        let c = s.consume(&r, "t1".into(), NOW).unwrap();
        assert_eq!((c.count, c.left_after), (1, 2), "two certificates remain");
        assert_eq!(
            s.consume(&r, "t2".into(), NOW),
            Err(Refusal::CertificateUsed("7301284619204573184".into())),
            "a certificate is used once"
        );
    }

    #[test]
    fn cancel_gives_the_uses_back_and_ground_truth_keeps_the_history() {
        let mut s = store();
        let mut r = req(ChannelKind::Shoubei, "679533922928", 1);
        r.idempotency_key = Some("k1");
        s.consume(&r, "o1".into(), NOW).unwrap();
        assert!(s.cancel(ChannelKind::Shoubei, "k1", NOW + 1).is_some());
        assert!(
            s.cancel(ChannelKind::Shoubei, "k1", NOW + 2).is_none(),
            "cancelled once"
        );
        assert_eq!(
            s.coupon(ChannelKind::Shoubei, "679533922928")
                .unwrap()
                .redeemable_at(NOW),
            1
        );
        let truth = s.ground_truth();
        assert_eq!(
            truth.consumptions.len(),
            1,
            "the consumption still happened"
        );
        assert_eq!(truth.consumptions[0].cancelled_at_ms, Some(NOW + 1));
    }
}
