//! Whether each channel answers, as the desk last saw it. A call that could
//! not connect or timed out marks the channel unreachable; any answer at all, to the till or
//! to the resolver, marks it reachable again at once. The till warns before a confirmation on
//! a channel known unreachable, and its banner follows the [`DeskEvent::Reachability`] events.

use crate::channel::{ChannelKind, Exchange, UnknownReason};
use crate::clock::UnixMs;
use crate::desk::{Desk, DeskEvent};

/// A transport failure that means the channel was not reached (nothing was answered).
pub fn is_unreachable(reason: &UnknownReason) -> bool {
    matches!(
        reason,
        UnknownReason::Timeout | UnknownReason::ConnectionFailed { .. }
    )
}

impl Desk {
    /// Since when `channel` has not answered, if it is known unreachable.
    pub fn unreachable_since(&self, channel: ChannelKind) -> Option<UnixMs> {
        self.reach
            .lock()
            .expect("reachability")
            .get(&channel)
            .copied()
    }

    /// Notes what one call to `channel` showed: `reached` false for a transport failure.
    /// Calls that made no exchange (a local preview) say nothing and are not noted.
    pub(crate) fn note_reach(&self, channel: ChannelKind, exchanges: &[Exchange], reached: bool) {
        if exchanges.is_empty() && reached {
            return;
        }
        let now = self.clock.now_ms();
        let changed = {
            let mut map = self.reach.lock().expect("reachability");
            match (reached, map.contains_key(&channel)) {
                (true, true) => map.remove(&channel).is_some(),
                (false, false) => map.insert(channel, now).is_none(),
                _ => false,
            }
        };
        if changed {
            let _ = self.events.send(DeskEvent::Reachability {
                channel,
                unreachable_since_ms: self.unreachable_since(channel),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_failed_connection_or_a_timeout_means_unreachable() {
        assert!(is_unreachable(&UnknownReason::Timeout));
        assert!(is_unreachable(&UnknownReason::ConnectionFailed {
            detail: "refused".into()
        }));
        // These came from a server that answered something.
        assert!(!is_unreachable(&UnknownReason::HttpStatus { status: 502 }));
        assert!(!is_unreachable(&UnknownReason::NotJson));
        assert!(!is_unreachable(&UnknownReason::ChannelBusy {
            code: "busy".into(),
            message: "系统繁忙".into()
        }));
    }
}
