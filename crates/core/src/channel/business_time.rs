//! Business time for the wire (channels.md §0 "Time"): China Standard Time by default,
//! configurable as a fixed offset, never the machine's zone. Converts the clock's UTC
//! milliseconds to the texts the channels expect.

use crate::clock::UnixMs;
use time::{Date, OffsetDateTime, UtcOffset};

/// A fixed UTC offset in which business dates and `ts` strings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessZone {
    offset: UtcOffset,
}

impl Default for BusinessZone {
    fn default() -> Self {
        BusinessZone::CHINA
    }
}

impl BusinessZone {
    /// +08:00, no daylight saving.
    pub const CHINA: BusinessZone = BusinessZone {
        offset: match UtcOffset::from_hms(8, 0, 0) {
            Ok(o) => o,
            Err(_) => UtcOffset::UTC,
        },
    };

    /// `None` when the offset is outside ±23:59.
    pub fn from_minutes(minutes: i32) -> Option<BusinessZone> {
        UtcOffset::from_whole_seconds(minutes.checked_mul(60)?)
            .ok()
            .map(|offset| BusinessZone { offset })
    }

    /// The fixed offset itself (for reading dates written in this zone).
    pub fn offset(self) -> UtcOffset {
        self.offset
    }

    fn at(self, ms: UnixMs) -> OffsetDateTime {
        let nanos = i128::from(ms) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(self.offset)
    }

    /// `yyyyMMddHHmmss` (收呗 `ts`).
    pub fn compact(self, ms: UnixMs) -> String {
        let t = self.at(ms);
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// `yyyy-MM-dd HH:mm:ss` (通联 `timestamp`, and the validity texts shown to cashiers).
    pub fn dashed(self, ms: UnixMs) -> String {
        let t = self.at(ms);
        format!(
            "{} {:02}:{:02}:{:02}",
            date_text(t.date()),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// Reads `yyyy-MM-dd HH:mm:ss` written in this zone back into an instant (通联's
    /// `couponUseTime`); `None` for anything else.
    pub fn parse_dashed(self, text: &str) -> Option<UnixMs> {
        let (date, clock) = text.trim().split_once(' ')?;
        let mut d = date.split('-').map(|p| p.parse::<i32>().ok());
        let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
        let mut c = clock.split(':').map(|p| p.parse::<u8>().ok());
        let (h, mi, se) = (c.next()??, c.next()??, c.next()??);
        let date = Date::from_calendar_date(
            y,
            time::Month::try_from(u8::try_from(mo).ok()?).ok()?,
            u8::try_from(da).ok()?,
        )
        .ok()?;
        let at = date.with_hms(h, mi, se).ok()?.assume_offset(self.offset);
        Some(at.unix_timestamp() * 1000)
    }

    /// The calendar date at `ms` in this zone.
    pub fn date(self, ms: UnixMs) -> Date {
        self.at(ms).date()
    }
}

/// `yyyy-MM-dd` (通联 `date` of verifyHistory).
pub fn date_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Unix seconds as text (智迈 `Timestamp`).
pub fn unix_seconds_text(ms: UnixMs) -> String {
    ms.div_euclid(1000).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_time_is_eight_hours_ahead_of_utc_whatever_the_machine_zone() {
        let ms = 1_712_563_200_000; // 2024-04-08T08:00:00Z
        let z = BusinessZone::CHINA;
        assert_eq!(z.compact(ms), "20240408160000", "16:00 in +08:00");
        assert_eq!(z.dashed(ms), "2024-04-08 16:00:00");
        assert_eq!(unix_seconds_text(ms), "1712563200");
    }

    #[test]
    fn the_business_date_turns_at_midnight_in_the_business_zone() {
        let ms = 1_712_592_000_000; // 2024-04-08T16:00:00Z = 2024-04-09 00:00 in +08:00
        assert_eq!(date_text(BusinessZone::CHINA.date(ms)), "2024-04-09");
        assert_eq!(
            date_text(BusinessZone::from_minutes(0).unwrap().date(ms)),
            "2024-04-08"
        );
    }
}
