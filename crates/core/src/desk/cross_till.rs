//! The cross-till refusal at confirmation (issue 21 step 5, chain mode): a single-use code
//! already redeemed at another till of the store is refused with that till, the time and
//! the cashier — when HQ answers within [`CROSS_TILL_BUDGET`]. HQ is only asked, never
//! waited for: a slow, unreachable or failing HQ lets the redemption go on, so chain mode
//! adds at most the budget to a confirmation and never blocks one. HQ is reached through
//! [`OtherTills`]; its PostgreSQL client lives in `crates/hq` (this crate knows no driver).
//!
//! HQ knows what the other tills have uploaded: a code redeemed there moments ago and not
//! yet pushed is not seen, and the channel's own refusal is then the last line.

use crate::channel::{self, ChannelKind, CouponCode};
use crate::clock::UnixMs;
use crate::desk::Desk;
use crate::redeem::RedeemError;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The longest a confirmation waits for HQ's answer before going on without it.
pub const CROSS_TILL_BUDGET: Duration = Duration::from_millis(300);

/// A success of the code at another till of the store, as HQ holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedeemedElsewhere {
    pub till: String,
    pub at_ms: UnixMs,
    pub cashier: String,
}

pub type LookupFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<RedeemedElsewhere>, String>> + Send + 'a>>;

/// The way to ask HQ about the store's other tills.
pub trait OtherTills: Send + Sync {
    /// The latest success of `code` on `channel` at another till of this store.
    fn redeemed_elsewhere<'a>(&'a self, channel: ChannelKind, code: &'a str) -> LookupFuture<'a>;
}

/// The refusal. Its text is what the cashier screen reads the till, time and name from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("already redeemed at till {} at {} by {}", .0.till, .0.at_ms, .0.cashier)]
pub struct RedeemedAtAnotherTill(pub RedeemedElsewhere);

/// HQ's answer within the budget; `None` for "go on" (not seen, too slow, or failing).
pub async fn ask(
    tills: &dyn OtherTills,
    channel: ChannelKind,
    code: &str,
) -> Option<RedeemedElsewhere> {
    match tokio::time::timeout(CROSS_TILL_BUDGET, tills.redeemed_elsewhere(channel, code)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            tracing::warn!("the cross-till check at HQ failed, redeeming without it: {e}");
            None
        }
        Err(_) => {
            tracing::warn!("HQ did not answer the cross-till check within {CROSS_TILL_BUDGET:?}");
            None
        }
    }
}

impl Desk {
    /// Chain mode: confirmations ask HQ about the store's other tills (set once, at start).
    pub fn ask_other_tills(&self, tills: Arc<dyn OtherTills>) -> bool {
        self.other_tills.set(tills).is_ok()
    }

    /// At confirmation, after the local checks: refuses a single-use code HQ saw redeemed
    /// at another till of the store. Without chain mode, or for a multi-use code, nothing.
    pub(crate) async fn check_other_tills(
        &self,
        kind: ChannelKind,
        code: &CouponCode,
    ) -> Result<(), RedeemError> {
        let Some(tills) = self.other_tills.get() else {
            return Ok(());
        };
        if channel::capabilities(kind).multi_count {
            return Ok(());
        }
        match ask(tills.as_ref(), kind, code.as_str()).await {
            Some(found) => Err(RedeemError::AtAnotherTill(RedeemedAtAnotherTill(found))),
            None => Ok(()),
        }
    }
}
