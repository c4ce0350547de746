//! A coupon's validity against the business clock, judged at the preview: a coupon that
//! has expired or is not yet valid is refused before any redeem call, with
//! the dates the channel stated. The channels state validity as text in the business zone
//! (`yyyy-MM-dd HH:mm:ss`, or a date alone); a text this module cannot read is no refusal,
//! and the channel decides at confirmation as before.

use crate::channel::{BusinessZone, Preview};
use crate::clock::UnixMs;
use serde::Serialize;
use time::{Date, Month};

/// Within this much of either edge the till does not refuse: its clock may be a little off
/// and the channel, whose clock decides, still answers at confirmation.
pub const EDGE_MARGIN_MS: i64 = 2 * 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfValidity {
    Expired,
    NotYetValid,
}

/// `Some` when the preview's stated validity excludes `now_ms` by more than the margin.
pub fn judge(preview: &Preview, now_ms: UnixMs, zone: BusinessZone) -> Option<OutOfValidity> {
    let until = preview
        .valid_until
        .as_deref()
        .and_then(|t| instant(t, zone, Edge::End));
    if until.is_some_and(|u| now_ms > u.saturating_add(EDGE_MARGIN_MS)) {
        return Some(OutOfValidity::Expired);
    }
    let from = preview
        .valid_from
        .as_deref()
        .and_then(|t| instant(t, zone, Edge::Start));
    if from.is_some_and(|f| now_ms < f.saturating_sub(EDGE_MARGIN_MS)) {
        return Some(OutOfValidity::NotYetValid);
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Start,
    End,
}

/// Reads `yyyy-MM-dd HH:mm:ss` (also with `/` or `T`, or without seconds), a date alone
/// (`yyyy-MM-dd`, `yyyy/MM/dd`, `yyyyMMdd`), or `yyyyMMddHHmmss`. A date alone is valid
/// through its last millisecond when it ends a validity.
fn instant(text: &str, zone: BusinessZone, edge: Edge) -> Option<UnixMs> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let digits_only = t.bytes().all(|b| b.is_ascii_digit());
    let (date, clock) = if digits_only && (t.len() == 8 || t.len() == 14) {
        (
            ymd(&t[..4], &t[4..6], &t[6..8])?,
            (t.len() == 14).then(|| (&t[8..10], &t[10..12], Some(&t[12..14]))),
        )
    } else {
        let (d, c) = match t.split_once([' ', 'T']) {
            Some((d, c)) => (d, Some(c.trim())),
            None => (t, None),
        };
        let mut parts = d.split(['-', '/']);
        let date = ymd(parts.next()?, parts.next()?, parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        let clock = match c {
            Some(c) => {
                let mut hms = c.split(':');
                let (h, m, s) = (hms.next()?, hms.next()?, hms.next());
                if hms.next().is_some() {
                    return None;
                }
                Some((h, m, s))
            }
            None => None,
        };
        (date, clock)
    };
    let at = match clock {
        Some((h, m, s)) => {
            let s = s.map(|s| s.split('.').next().unwrap_or(s));
            date.with_hms(
                h.parse().ok()?,
                m.parse().ok()?,
                s.map_or(Some(0), |s| s.parse().ok())?,
            )
            .ok()?
        }
        None => match edge {
            Edge::Start => date.midnight(),
            Edge::End => date.with_hms_milli(23, 59, 59, 999).ok()?,
        },
    };
    let at = at.assume_offset(zone.offset());
    Some(at.unix_timestamp() * 1000 + i64::from(at.millisecond()))
}

fn ymd(y: &str, m: &str, d: &str) -> Option<Date> {
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::CouponCode;

    const ZONE: BusinessZone = BusinessZone::CHINA;
    /// 2026-12-02 10:00:00 +08:00.
    const NOW: UnixMs = 1_796_176_800_000;

    fn preview(from: Option<&str>, until: Option<&str>) -> Preview {
        let mut p = Preview::bare(CouponCode::new("390962138708450035").unwrap());
        p.valid_from = from.map(str::to_owned);
        p.valid_until = until.map(str::to_owned);
        p
    }

    #[test]
    fn the_reference_instant_is_ten_in_the_morning_in_china() {
        assert_eq!(instant("2026-12-02 10:00:00", ZONE, Edge::Start), Some(NOW));
    }

    #[test]
    fn a_coupon_that_ended_in_2025_is_expired() {
        let p = preview(Some("2025-01-01 00:00:00"), Some("2025-06-30 23:59:59"));
        assert_eq!(judge(&p, NOW, ZONE), Some(OutOfValidity::Expired));
    }

    #[test]
    fn a_coupon_that_starts_next_year_is_not_yet_valid() {
        let p = preview(Some("2027-01-01"), Some("2027-12-31"));
        assert_eq!(judge(&p, NOW, ZONE), Some(OutOfValidity::NotYetValid));
    }

    #[test]
    fn a_date_alone_is_valid_through_its_last_millisecond() {
        let p = preview(None, Some("2026-12-02"));
        assert_eq!(judge(&p, NOW, ZONE), None);
        let p = preview(None, Some("20261201"));
        assert_eq!(judge(&p, NOW, ZONE), Some(OutOfValidity::Expired));
        let p = preview(None, Some("2026/12/01"));
        assert_eq!(judge(&p, NOW, ZONE), Some(OutOfValidity::Expired));
    }

    #[test]
    fn near_an_edge_the_channel_decides() {
        // Ended one minute ago: within the margin, so no refusal at the till.
        let p = preview(None, Some("2026-12-02 09:59:00"));
        assert_eq!(judge(&p, NOW, ZONE), None);
        let p = preview(None, Some("2026-12-02 09:57:59"));
        assert_eq!(judge(&p, NOW, ZONE), Some(OutOfValidity::Expired));
        let p = preview(Some("2026-12-02T10:01"), None);
        assert_eq!(judge(&p, NOW, ZONE), None);
        let p = preview(Some("20261202100300"), None);
        assert_eq!(judge(&p, NOW, ZONE), Some(OutOfValidity::NotYetValid));
    }

    #[test]
    fn text_that_cannot_be_read_is_no_refusal() {
        for text in [
            "长期有效",
            "",
            "2025-13-01",
            "2025-02-30",
            "0",
            "2025-06-30 25:00:00",
            "1751299199",
        ] {
            let p = preview(Some(text), Some(text));
            assert_eq!(judge(&p, NOW, ZONE), None, "{text:?}");
        }
    }

    #[test]
    fn the_business_zone_decides_the_day_not_the_machine() {
        // 2026-12-01 end of day in +08:00 is 15:59:59.999 UTC; at 16:05 UTC it is over.
        let p = preview(None, Some("2026-12-01"));
        let utc_16_05 = 1_796_141_100_000; // 2026-12-01T16:05:00Z
        assert_eq!(judge(&p, utc_16_05, ZONE), Some(OutOfValidity::Expired));
        let utc = BusinessZone::from_minutes(0).unwrap();
        assert_eq!(judge(&p, utc_16_05, utc), None);
    }
}
