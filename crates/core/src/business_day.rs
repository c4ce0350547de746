//! The business day (营业日): which day's log an instant belongs to. A store that closes at
//! 02:00 books its last sales on the day that began the morning before, so the day starts
//! at a configurable cut-off (default 04:00) in a configured fixed UTC offset (default
//! +08:00, China Standard Time, which has no DST). The machine's local zone is never used:
//! a POS whose OS clock is set to UTC must still book into the right day (channels.md §0
//! "Time").
//!
//! Invariant: for every instant `ms`, `rule.range_of(rule.day_of(ms))` contains `ms`, and
//! consecutive days' ranges touch without overlap (every day is exactly 24 h long).

use crate::clock::UnixMs;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::{Date, Month};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// The Julian day number of 1970-01-01, so that day counts since the Unix epoch map to dates.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// A business day, shown and stored as `YYYY-MM-DD` (the text sorts in date order, which the
/// ledger's day index relies on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusinessDay(Date);

impl BusinessDay {
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Result<BusinessDay, BusinessDayError> {
        let month = Month::try_from(month)
            .map_err(|_| BusinessDayError::BadDate(format!("{year}-{month}-{day}")))?;
        Date::from_calendar_date(year, month, day)
            .map(BusinessDay)
            .map_err(|_| BusinessDayError::BadDate(format!("{year}-{month}-{day}")))
    }

    pub fn date(self) -> Date {
        self.0
    }

    /// Days since 1970-01-01 (negative before it).
    fn days_since_epoch(self) -> i64 {
        i64::from(self.0.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
    }

    /// Saturates at the ends of the calendar `time` supports (±9999 years), far outside any
    /// instant a till will see; saturating keeps `day_of` total instead of panicking.
    fn from_days_since_epoch(days: i64) -> BusinessDay {
        let julian = days.saturating_add(UNIX_EPOCH_JULIAN_DAY);
        let julian = julian.clamp(
            i64::from(Date::MIN.to_julian_day()),
            i64::from(Date::MAX.to_julian_day()),
        );
        // In range after the clamp, so the conversion cannot fail.
        BusinessDay(Date::from_julian_day(julian as i32).unwrap_or(Date::MIN))
    }

    /// The day after this one (saturating at the end of the calendar).
    pub fn next(self) -> BusinessDay {
        BusinessDay(self.0.next_day().unwrap_or(self.0))
    }

    /// The day before this one (saturating at the start of the calendar).
    pub fn previous(self) -> BusinessDay {
        BusinessDay(self.0.previous_day().unwrap_or(self.0))
    }

    /// The day `n` days later (earlier when negative), saturating at the calendar's ends.
    pub fn plus_days(self, n: i64) -> BusinessDay {
        BusinessDay(
            self.0
                .checked_add(time::Duration::days(n))
                .unwrap_or(self.0),
        )
    }
}

impl fmt::Display for BusinessDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

impl FromStr for BusinessDay {
    type Err = BusinessDayError;
    /// Accepts exactly `YYYY-MM-DD`, what the ledger stores and the CLI takes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BusinessDayError::BadDate(s.to_owned());
        let bytes = s.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad());
        }
        let digits = |r: std::ops::Range<usize>| -> Result<u32, BusinessDayError> {
            let part = &s[r];
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let year = digits(0..4)? as i32;
        let month = digits(5..7)? as u8;
        let day = digits(8..10)? as u8;
        BusinessDay::from_ymd(year, month, day).map_err(|_| bad())
    }
}

impl Serialize for BusinessDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BusinessDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessDayError {
    #[error("not a date in the form YYYY-MM-DD: {0:?}")]
    BadDate(String),
    #[error("the business-day cut-off must be between 00:00 and 23:59, got {0} minutes")]
    BadCutoff(i32),
    #[error("the UTC offset must be between -14:00 and +14:00, got {0} minutes")]
    BadOffset(i32),
}

/// When a business day starts: `cutoff_minutes` after local midnight in the fixed zone
/// `UTC + offset_minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessDayRule {
    /// Minutes after local midnight at which the new business day starts (240 = 04:00).
    pub cutoff_minutes: i32,
    /// The zone's fixed offset from UTC in minutes (480 = +08:00).
    pub offset_minutes: i32,
}

impl Default for BusinessDayRule {
    fn default() -> Self {
        BusinessDayRule::CHINA_4AM
    }
}

impl BusinessDayRule {
    /// 04:00 in China Standard Time, the product's default.
    pub const CHINA_4AM: BusinessDayRule = BusinessDayRule {
        cutoff_minutes: 4 * 60,
        offset_minutes: 8 * 60,
    };

    /// A rule from settings; refuses values no real store has so a typo cannot shift days.
    pub fn new(cutoff_minutes: i32, offset_minutes: i32) -> Result<Self, BusinessDayError> {
        if !(0..24 * 60).contains(&cutoff_minutes) {
            return Err(BusinessDayError::BadCutoff(cutoff_minutes));
        }
        if !(-14 * 60..=14 * 60).contains(&offset_minutes) {
            return Err(BusinessDayError::BadOffset(offset_minutes));
        }
        Ok(BusinessDayRule {
            cutoff_minutes,
            offset_minutes,
        })
    }

    /// How far a business day's start is from UTC midnight of the same date, in ms.
    fn start_shift_ms(self) -> i64 {
        (i64::from(self.cutoff_minutes) - i64::from(self.offset_minutes)) * MINUTE_MS
    }

    /// The business day an instant belongs to.
    pub fn day_of(self, ms: UnixMs) -> BusinessDay {
        let shifted = ms.saturating_sub(self.start_shift_ms());
        BusinessDay::from_days_since_epoch(shifted.div_euclid(DAY_MS))
    }

    /// The instants of one business day: `start_ms` inclusive, `end_ms` exclusive.
    pub fn range_of(self, day: BusinessDay) -> (UnixMs, UnixMs) {
        let start = day
            .days_since_epoch()
            .saturating_mul(DAY_MS)
            .saturating_add(self.start_shift_ms());
        (start, start.saturating_add(DAY_MS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22 `hh:mm` at +08:00, as UTC ms.
    fn cst(day: u8, hh: i64, mm: i64) -> UnixMs {
        // 2026-11-22T00:00:00Z
        let utc_midnight_22 = 1_795_305_600_000;
        utc_midnight_22 + (i64::from(day) - 22) * DAY_MS + (hh * 60 + mm - 8 * 60) * MINUTE_MS
    }

    fn day(s: &str) -> BusinessDay {
        s.parse().unwrap()
    }

    #[test]
    fn three_fifty_nine_in_the_morning_still_belongs_to_the_previous_day() {
        let rule = BusinessDayRule::default();
        assert_eq!(
            rule.day_of(cst(22, 3, 59)),
            day("2026-11-21"),
            "before the 04:00 cut-off"
        );
        assert_eq!(
            rule.day_of(cst(22, 4, 0) - 1),
            day("2026-11-21"),
            "the last millisecond before the cut-off"
        );
    }

    #[test]
    fn four_in_the_morning_starts_the_new_day() {
        let rule = BusinessDayRule::default();
        assert_eq!(
            rule.day_of(cst(22, 4, 0)),
            day("2026-11-22"),
            "the cut-off itself is the new day"
        );
    }

    #[test]
    fn utc_midnight_is_eight_in_the_morning_in_china_and_not_a_boundary() {
        let rule = BusinessDayRule::default();
        let utc_midnight = 1_795_305_600_000; // 2026-11-22T00:00Z = 08:00 CST
        assert_eq!(rule.day_of(utc_midnight - 1), day("2026-11-22"));
        assert_eq!(
            rule.day_of(utc_midnight),
            day("2026-11-22"),
            "UTC midnight must not split a day"
        );
    }

    #[test]
    fn local_midnight_belongs_to_the_day_that_started_the_morning_before() {
        let rule = BusinessDayRule::default();
        assert_eq!(
            rule.day_of(cst(22, 0, 0)),
            day("2026-11-21"),
            "00:00 to 03:59 is late night of the 21st"
        );
        assert_eq!(rule.day_of(cst(21, 23, 59)), day("2026-11-21"));
    }

    #[test]
    fn range_of_a_day_runs_from_cutoff_to_cutoff() {
        let rule = BusinessDayRule::default();
        let (start, end) = rule.range_of(day("2026-11-22"));
        assert_eq!(start, cst(22, 4, 0), "the day starts at 04:00 +08:00");
        assert_eq!(
            end,
            cst(23, 4, 0),
            "and ends (exclusive) at 04:00 the next morning"
        );
    }

    #[test]
    fn a_midnight_cutoff_in_utc_is_the_calendar_day() {
        let rule = BusinessDayRule::new(0, 0).unwrap();
        let utc_midnight = 1_795_305_600_000;
        assert_eq!(rule.day_of(utc_midnight), day("2026-11-22"));
        assert_eq!(rule.day_of(utc_midnight - 1), day("2026-11-21"));
        assert_eq!(
            rule.range_of(day("2026-11-22")),
            (utc_midnight, utc_midnight + DAY_MS)
        );
    }

    #[test]
    fn a_negative_offset_and_instants_before_1970_work() {
        let rule = BusinessDayRule::new(6 * 60, -5 * 60).unwrap();
        // 1969-12-31T10:59:59.999Z is 05:59:59.999 at -05:00: still the 30th's business day.
        let ms = -DAY_MS + 11 * 3_600_000 - 1;
        assert_eq!(rule.day_of(ms), day("1969-12-30"));
        assert_eq!(
            rule.day_of(ms + 1),
            day("1969-12-31"),
            "06:00 at -05:00 starts the day"
        );
    }

    #[test]
    fn every_instant_lies_inside_the_range_of_its_own_day() {
        let rules = [
            BusinessDayRule::default(),
            BusinessDayRule::new(0, 0).unwrap(),
            BusinessDayRule::new(23 * 60 + 59, -14 * 60).unwrap(),
            BusinessDayRule::new(30, 14 * 60).unwrap(),
        ];
        for rule in rules {
            let mut ms = -3 * DAY_MS;
            while ms < 3 * DAY_MS {
                let (start, end) = rule.range_of(rule.day_of(ms));
                assert!(
                    start <= ms && ms < end,
                    "{rule:?}: {ms} not in [{start}, {end})"
                );
                assert_eq!(end - start, DAY_MS, "no DST: every day is 24 h");
                ms += 7 * MINUTE_MS + 13;
            }
        }
    }

    #[test]
    fn absurd_instants_saturate_instead_of_panicking() {
        let rule = BusinessDayRule::default();
        let _ = rule.day_of(i64::MAX);
        let _ = rule.day_of(i64::MIN);
        let _ = rule.range_of(rule.day_of(i64::MAX));
    }

    #[test]
    fn business_days_print_and_parse_as_iso_dates() {
        let d = BusinessDay::from_ymd(2026, 1, 5).unwrap();
        assert_eq!(
            d.to_string(),
            "2026-01-05",
            "zero-padded so the text sorts by date"
        );
        assert_eq!("2026-01-05".parse::<BusinessDay>(), Ok(d));
        for bad in [
            "2026-1-05",
            "2026-02-30",
            "20260105",
            "2026-01-05 ",
            "abcd-ef-gh",
            "",
        ] {
            assert!(
                bad.parse::<BusinessDay>().is_err(),
                "{bad:?} is not a business day"
            );
        }
        assert_eq!(d.next().to_string(), "2026-01-06");
        assert_eq!(d.previous().to_string(), "2026-01-04");
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        assert_eq!(
            BusinessDayRule::new(24 * 60, 480),
            Err(BusinessDayError::BadCutoff(1440))
        );
        assert_eq!(
            BusinessDayRule::new(-1, 480),
            Err(BusinessDayError::BadCutoff(-1))
        );
        assert_eq!(
            BusinessDayRule::new(240, 15 * 60),
            Err(BusinessDayError::BadOffset(900))
        );
    }
}
