//! The 增值券 outbox (channels.md §1): a sale is validated and written to the ledger first,
//! then delivered in the background with persisted retry and backoff across restarts, always
//! with the same `dealSerial`, until the platform says delivered or rejected. This is the one
//! flow that works while the network is down.

use crate::channel::yhtd::{self, NotificationError, Product};
use crate::channel::{Channel, ChannelKind, NotifyOutcome, RedemptionId};
use crate::desk::Desk;
use crate::ledger::{
    notification_backoff, DeliveryAttempt, DeliveryResult, LedgerError, NewNotification,
    Notification, HELD_FOR_MANAGER_MS,
};
use serde::{Deserialize, Serialize};

/// A 增值券 sale as the cashier enters it; the total is computed, never typed, and the
/// cashier is the open shift's (roles.rs), never a typed name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderInput {
    pub product_no: String,
    pub consumer_name: String,
    pub consumer_phone: String,
    pub quantity: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("增值券 is not configured")]
    NotConfigured,
    #[error("no product {0} in the product table")]
    UnknownProduct(String),
    #[error(transparent)]
    Invalid(#[from] NotificationError),
    #[error(transparent)]
    Role(#[from] crate::desk::roles::RoleError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl OrderError {
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::NotConfigured => "channel_not_configured",
            OrderError::UnknownProduct(_) => "unknown_product",
            OrderError::Invalid(_) => "order_invalid",
            OrderError::Role(e) => e.code(),
            OrderError::Ledger(e) => e.code(),
        }
    }
}

/// What one delivery round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryRound {
    pub delivered: usize,
    pub rejected: usize,
    pub failed: usize,
}

impl Desk {
    fn yhtd(&self) -> Option<&yhtd::Yhtd> {
        match self.channels.get(&ChannelKind::Yhtd) {
            Some(Channel::Yhtd(c)) => Some(c),
            _ => None,
        }
    }

    /// The configured product table.
    pub fn products(&self) -> Vec<Product> {
        self.yhtd()
            .map(|c| c.products().to_vec())
            .unwrap_or_default()
    }

    /// Validates the sale and queues its notification; delivery happens in the background.
    pub fn submit_order(&self, input: OrderInput) -> Result<Notification, OrderError> {
        let cashier = self.shift_cashier()?;
        let channel = self.yhtd().ok_or(OrderError::NotConfigured)?;
        let product = channel
            .products()
            .iter()
            .find(|p| p.no == input.product_no)
            .ok_or_else(|| OrderError::UnknownProduct(input.product_no.clone()))?;
        // The channel's rules (lengths, phone, quantity) before anything is stored.
        let draft = yhtd::Notification::new(
            RedemptionId::new_v4(),
            product,
            &input.consumer_name,
            &input.consumer_phone,
            input.quantity,
        )?;
        let id = self.ledger.enqueue_notification(NewNotification {
            created_ms: self.clock.now_ms(),
            cashier,
            order_no: None,
            product_no: draft.product_no,
            product_name: draft.product_name,
            consumer_name: draft.consumer_name,
            consumer_phone: draft.consumer_phone,
            quantity: draft.quantity,
            total: draft.total,
        })?;
        let stored = self
            .ledger
            .notification(&id)?
            .expect("a notification just stored reads back");
        self.announce_notification(&stored);
        self.outbox_wake.notify_one();
        Ok(stored)
    }

    /// Delivers every queued notification whose time has come, once each.
    pub async fn deliver_due(&self) -> Result<DeliveryRound, LedgerError> {
        let mut round = DeliveryRound::default();
        let Some(channel) = self.channels.get(&ChannelKind::Yhtd) else {
            return Ok(round);
        };
        for n in self.ledger.notifications_due(self.clock.now_ms())? {
            match self.deliver_one(channel, &n).await?.1 {
                DeliveryResult::Delivered => round.delivered += 1,
                DeliveryResult::Rejected { .. } => round.rejected += 1,
                DeliveryResult::Failed { .. } => round.failed += 1,
            }
        }
        Ok(round)
    }
}

impl Desk {
    /// Sends one notification once and records how it went (a failure is retried on the
    /// backoff); the outbox round and a manager's "retry now" share it.
    pub(crate) async fn deliver_one(
        &self,
        channel: &Channel,
        n: &Notification,
    ) -> Result<(Notification, DeliveryResult), LedgerError> {
        let wire = yhtd::Notification {
            order_no: n.order_no.clone(),
            product_no: n.product_no.clone(),
            product_name: n.product_name.clone(),
            consumer_name: n.consumer_name.clone(),
            consumer_phone: n.consumer_phone.clone(),
            deal_serial: RedemptionId::parse(n.id.as_str())
                .expect("notification ids are redemption ids"),
            quantity: n.quantity,
            total: n.total,
        };
        // Set when the answer was lost after the order may have arrived, on a platform that
        // counts a resend again: the outbox holds it for a manager instead of resending.
        let mut held = false;
        if channel.counts_resends() {
            // Held before it leaves: a crash before the answer is recorded must not make
            // the next round send it again.
            self.ledger
                .mark_notification_sending(&n.id, self.clock.now_ms())?;
        }
        let (result, exchange) = match channel.notify(&wire).await {
            Ok(answer) => {
                let exchange = crate::ledger::Exchange::from(&answer.exchanges[..]);
                let result = match answer.value {
                    NotifyOutcome::Delivered => DeliveryResult::Delivered,
                    NotifyOutcome::Rejected { code, message } => DeliveryResult::Rejected {
                        reason: format!("{code}: {message}"),
                    },
                    NotifyOutcome::Unknown { reason } => {
                        held = !channel.may_resend(&reason);
                        DeliveryResult::Failed {
                            error: reason.to_string(),
                        }
                    }
                };
                (result, exchange)
            }
            Err(e) => (
                DeliveryResult::Failed {
                    error: e.to_string(),
                },
                Default::default(),
            ),
        };
        let now = self.clock.now_ms();
        let next = matches!(result, DeliveryResult::Failed { .. }).then(|| {
            if held {
                HELD_FOR_MANAGER_MS
            } else {
                now + notification_backoff(n.attempts + 1)
            }
        });
        let updated = self.ledger.record_delivery_attempt(
            &n.id,
            DeliveryAttempt {
                at_ms: now,
                result: result.clone(),
                exchange,
            },
            next,
        )?;
        self.announce_notification(&updated);
        Ok((updated, result))
    }
}
