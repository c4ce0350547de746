//! Misbehaviour on demand (channels.md §6): what a channel does instead of answering
//! normally. A fault comes either from the demo data (a code that always misbehaves when
//! redeemed) or from a rule added at run time (`POST /_control/faults` or
//! `RunningSandbox::inject_fault`), which is used up after `times` matching requests.
//!
//! Faults split by whether the redemption is committed first:
//! - before processing, nothing is consumed: `Reset`, `Http500`, `Garbage`;
//! - after the commit, the answer is spoiled: `Delay`, `BadSignature`, `CommitThenDrop`.

use redeemdesk_core::channel::ChannelKind;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// One way of misbehaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Commit, then answer only after the configured delay (past the client's timeout).
    Delay,
    /// Close the connection with a TCP RST (SO_LINGER 0) before processing.
    Reset,
    /// Answer HTTP 500 with an HTML error page before processing.
    Http500,
    /// Answer 200 with a body that is not JSON, before processing.
    Garbage,
    /// Commit and answer normally, but with a response signature that does not verify
    /// (channels without signed responses answer normally).
    BadSignature,
    /// Commit, then close the connection without writing any answer.
    CommitThenDrop,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::Delay,
        Fault::Reset,
        Fault::Http500,
        Fault::Garbage,
        Fault::BadSignature,
        Fault::CommitThenDrop,
    ];

    /// Whether the redemption is committed before the fault strikes.
    pub fn commits(self) -> bool {
        matches!(
            self,
            Fault::Delay | Fault::BadSignature | Fault::CommitThenDrop
        )
    }
}

/// Which kind of request a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// The redemption itself (and 增值券's notification).
    #[default]
    Redeem,
    /// A preview (`userTimesCardDetail`, `coupon.off-coupon`, allinpay `prepare`).
    Prepare,
    /// A query, cancel or history call.
    Query,
    /// Any request of the channel.
    Any,
}

/// A fault to apply to the next `times` matching requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub channel: ChannelKind,
    /// Only requests for this code (for 增值券: the `productNo` or `dealSerial`); all when absent.
    #[serde(default)]
    pub code: Option<String>,
    pub fault: Fault,
    #[serde(default = "one")]
    pub times: u32,
    #[serde(default)]
    pub operation: Operation,
    /// Overrides the sandbox's default delay for a `Delay` fault.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

/// What a handler must do for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strike {
    pub fault: Fault,
    pub delay: Duration,
}

/// The run-time rules. A rule matching a request is used up by it, so "reset once then
/// answer" is `times = 1`.
#[derive(Debug, Default)]
pub struct FaultBook {
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultBook {
    pub fn add(&self, rule: FaultRule) {
        if rule.times > 0 {
            self.lock().push(rule);
        }
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn pending(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// Takes one use of the first rule matching this request, if any.
    pub fn take(
        &self,
        channel: ChannelKind,
        operation: Operation,
        codes: &[&str],
        default_delay: Duration,
    ) -> Option<Strike> {
        let mut rules = self.lock();
        let index = rules.iter().position(|r| {
            r.channel == channel
                && (r.operation == Operation::Any || r.operation == operation)
                && r.code.as_deref().is_none_or(|c| codes.contains(&c))
        })?;
        let rule = &mut rules[index];
        let strike = Strike {
            fault: rule.fault,
            delay: rule
                .delay_ms
                .map(Duration::from_millis)
                .unwrap_or(default_delay),
        };
        rule.times -= 1;
        if rule.times == 0 {
            rules.remove(index);
        }
        Some(strike)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        // A panic while holding this lock cannot leave the list half-edited in a way that
        // matters to a test double; keep serving rather than poisoning every request.
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(code: Option<&str>, times: u32, operation: Operation) -> FaultRule {
        FaultRule {
            channel: ChannelKind::Shoubei,
            code: code.map(str::to_owned),
            fault: Fault::Reset,
            times,
            operation,
            delay_ms: None,
        }
    }

    #[test]
    fn a_rule_is_used_up_after_its_times() {
        let book = FaultBook::default();
        book.add(rule(None, 2, Operation::Redeem));
        let d = Duration::from_secs(1);
        assert!(book
            .take(ChannelKind::Shoubei, Operation::Redeem, &["1"], d)
            .is_some());
        assert!(book
            .take(ChannelKind::Shoubei, Operation::Redeem, &["2"], d)
            .is_some());
        assert!(
            book.take(ChannelKind::Shoubei, Operation::Redeem, &["3"], d)
                .is_none(),
            "times = 2 strikes exactly twice"
        );
    }

    #[test]
    fn a_rule_only_strikes_its_channel_operation_and_code() {
        let book = FaultBook::default();
        book.add(rule(Some("42"), 1, Operation::Redeem));
        let d = Duration::from_secs(1);
        assert!(
            book.take(ChannelKind::Zvcms, Operation::Redeem, &["42"], d)
                .is_none(),
            "other channel"
        );
        assert!(
            book.take(ChannelKind::Shoubei, Operation::Prepare, &["42"], d)
                .is_none(),
            "other operation"
        );
        assert!(
            book.take(ChannelKind::Shoubei, Operation::Redeem, &["43"], d)
                .is_none(),
            "other code"
        );
        assert!(
            book.take(ChannelKind::Shoubei, Operation::Redeem, &["42"], d)
                .is_some(),
            "the match"
        );
    }
}
