//! One emulator per channel, each under its `ChannelKind::as_str()` path prefix, sharing
//! the state in [`Shared`], and each with its demo merchant as the core configures it. This
//! module is the sandbox's one dispatch over channels. Each module owns its wire format (channels.md §1–5) including
//! the quirks its answers carry; this module holds what they share: the clock, the fault
//! decision and the small JSON/text helpers.

pub mod allinpay;
pub mod liantuofu;
pub mod shoubei;
pub mod yhtd;
pub mod zvcms;

use crate::demo::DemoData;
use crate::fault::{FaultBook, Operation, Strike};
use crate::reading::Readings;
use crate::store::bytes_body::AnswerBytes;
use crate::store::Store;
use redeemdesk_core::channel::{ChannelConfig, ChannelKind};
use redeemdesk_core::clock::{Clock, UnixMs};
use redeemdesk_core::money::Fen;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// A demo merchant as a manager types it in 设置: settings, then secrets, by form name.
pub type DemoSetup = (Vec<(&'static str, String)>, Vec<(&'static str, String)>);

/// The core's configuration of `channel`'s demo merchant at `base_url` (sandbox mode).
pub fn demo_config(
    channel: ChannelKind,
    demo: &DemoData,
    base_url: url::Url,
    timeouts: redeemdesk_core::channel::Timeouts,
) -> ChannelConfig {
    match channel {
        ChannelKind::Shoubei => {
            ChannelConfig::Shoubei(shoubei::demo_config(demo, base_url, timeouts))
        }
        ChannelKind::Zvcms => ChannelConfig::Zvcms(zvcms::demo_config(demo, base_url, timeouts)),
        ChannelKind::Liantuofu => {
            ChannelConfig::Liantuofu(liantuofu::demo_config(demo, base_url, timeouts))
        }
        ChannelKind::Allinpay => {
            ChannelConfig::Allinpay(allinpay::demo_config(demo, base_url, timeouts))
        }
        ChannelKind::Yhtd => ChannelConfig::Yhtd(yhtd::demo_config(demo, base_url, timeouts)),
    }
}

/// `channel`'s demo merchant as a manager types it in 设置.
pub fn demo_setup(channel: ChannelKind, demo: &DemoData, base_url: &str) -> DemoSetup {
    match channel {
        ChannelKind::Shoubei => shoubei::demo_setup(demo, base_url),
        ChannelKind::Zvcms => zvcms::demo_setup(demo, base_url),
        ChannelKind::Liantuofu => liantuofu::demo_setup(demo, base_url),
        ChannelKind::Allinpay => allinpay::demo_setup(demo, base_url),
        ChannelKind::Yhtd => yhtd::demo_setup(demo, base_url),
    }
}

/// One channel's emulator, to be served under `/<channel>` (`ChannelKind::as_str`).
pub fn routes(channel: ChannelKind) -> axum::Router<Arc<Shared>> {
    match channel {
        ChannelKind::Shoubei => shoubei::routes(),
        ChannelKind::Zvcms => zvcms::routes(),
        ChannelKind::Liantuofu => liantuofu::routes(),
        ChannelKind::Allinpay => allinpay::routes(),
        ChannelKind::Yhtd => yhtd::routes(),
    }
}

/// The state every emulator shares.
pub struct Shared {
    pub store: Mutex<Store>,
    pub faults: FaultBook,
    pub demo: DemoData,
    pub clock: Arc<dyn Clock>,
    pub fault_delay: Duration,
    /// How the emulators read the open points of channels.md; changeable at run time.
    pub readings: RwLock<Readings>,
    /// zvcms `(Nonce, Timestamp)` pairs already seen: a repeat is a replayed request.
    pub zvcms_nonces: Mutex<HashSet<(String, String)>>,
    /// Signalled whenever the store changed (for the state-file writer).
    pub changed: Notify,
}

/// The store, locked. Dropping it signals [`Shared::changed`] when something changed.
pub struct StoreGuard<'a> {
    guard: MutexGuard<'a, Store>,
    version_before: u64,
    changed: &'a Notify,
}

impl Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.guard
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.guard
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        if self.guard.version() != self.version_before {
            self.changed.notify_one();
        }
    }
}

impl Shared {
    pub fn now_ms(&self) -> UnixMs {
        self.clock.now_ms()
    }

    /// The readings now (a copy: a request reads them once, so a change mid-request
    /// cannot mix two readings in one answer).
    pub fn readings(&self) -> Readings {
        *self.readings.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_readings(&self, readings: Readings) {
        *self.readings.write().unwrap_or_else(|p| p.into_inner()) = readings;
    }

    pub fn store(&self) -> StoreGuard<'_> {
        // Handlers never panic while holding the store; if one did, the data is still the
        // best account of what happened, so keep serving it.
        let guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        StoreGuard {
            version_before: guard.version(),
            guard,
            changed: &self.changed,
        }
    }

    /// The fault for this request: a run-time rule first, else — for a first (not
    /// replayed) redemption — the fault the demo data gives the code.
    pub fn strike(
        &self,
        channel: ChannelKind,
        operation: Operation,
        codes: &[&str],
        replay: bool,
    ) -> Option<Strike> {
        if let Some(strike) = self
            .faults
            .take(channel, operation, codes, self.fault_delay)
        {
            return Some(strike);
        }
        if operation != Operation::Redeem || replay {
            return None;
        }
        let store = self.store();
        codes
            .iter()
            .find_map(|code| store.demo_fault(channel, code))
            .map(|fault| Strike {
                fault,
                delay: self.fault_delay,
            })
    }
}

/// A JSON answer, 200, as the vendors send it.
pub fn json_answer(value: &Value) -> AnswerBytes {
    AnswerBytes {
        status: 200,
        content_type: "application/json;charset=UTF-8",
        body: serde_json::to_vec(value).unwrap_or_default(),
    }
}

/// A JSON value read as text: strings raw, numbers and booleans as their text, `null` as
/// absent. Requests are read tolerantly, as channels.md §0 asks of our own decoding.
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// Non-empty text of a field.
pub fn field(map: &Map<String, Value>, key: &str) -> Option<String> {
    text(map.get(key)).filter(|s| !s.trim().is_empty())
}

/// A count field holding something that is not a non-negative integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotACount;

/// A count from a field that may be a number, a string or absent.
pub fn count_field(map: &Map<String, Value>, key: &str) -> Result<Option<u32>, NotACount> {
    match field(map, key) {
        None => Ok(None),
        Some(t) => t.trim().parse::<u32>().map(Some).map_err(|_| NotACount),
    }
}

/// 元 as the shortest decimal text (`"0.1"`, `"128"`, `"12.5"`), as the allinpay seed
/// writes `couponValue`.
pub fn yuan_text(fen: Fen) -> String {
    let full = fen.to_yuan_string();
    let trimmed = full.trim_end_matches('0').trim_end_matches('.');
    trimmed.to_owned()
}

/// 元 as a JSON number (allinpay's `Bigdecimal` fields). Built from the decimal text, so
/// it prints exactly as written (`0.1`, not `0.1000000000000000055`).
pub fn yuan_number(fen: Fen) -> Value {
    serde_json::from_str::<Value>(&yuan_text(fen)).unwrap_or(Value::Null)
}

/// Parses a JSON object body; `None` when it is not one.
pub fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Parses a form-urlencoded body into sorted pairs (a repeated key keeps its last value).
pub fn form(body: &[u8]) -> Option<std::collections::BTreeMap<String, String>> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()
        .map(|pairs| pairs.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_texts_are_as_short_as_the_seed_writes_them() {
        assert_eq!(yuan_text(Fen(10)), "0.1");
        assert_eq!(yuan_text(Fen(12800)), "128");
        assert_eq!(yuan_text(Fen(1250)), "12.5");
        assert_eq!(yuan_text(Fen(5)), "0.05");
        assert_eq!(
            yuan_number(Fen(10)).to_string(),
            "0.1",
            "no binary noise in a number"
        );
    }
}
