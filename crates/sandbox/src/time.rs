//! Business time for the emulators: China Standard Time (+08:00, no DST), the zone every
//! channel's dates are written in (channels.md §0 "Time"). The sandbox never reads the
//! machine's clock or zone itself: instants come from the `Clock` it was given.

use redeemdesk_core::clock::UnixMs;
use time::format_description::BorrowedFormatItem;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const CST: UtcOffset = offset!(+8);
const DATETIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
const TS14: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day][hour][minute][second]");

/// A date or time text the sandbox could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a `yyyy-MM-dd HH:mm:ss` time: {0:?}")]
pub struct TimeParseError(pub String);

fn at(ms: UnixMs) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(CST)
}

/// Parses `yyyy-MM-dd HH:mm:ss` read as +08:00.
pub fn parse_cst(text: &str) -> Result<UnixMs, TimeParseError> {
    let local = PrimitiveDateTime::parse(text.trim(), DATETIME)
        .map_err(|_| TimeParseError(text.to_owned()))?;
    let t = local.assume_offset(CST);
    Ok((t.unix_timestamp_nanos() / 1_000_000) as UnixMs)
}

/// Checks a `yyyy-MM-dd HH:mm:ss` text (allinpay `timestamp`).
pub fn is_datetime(text: &str) -> bool {
    PrimitiveDateTime::parse(text, DATETIME).is_ok()
}

/// Checks a `yyyy-MM-dd` date text (allinpay `date`).
pub fn is_date(text: &str) -> bool {
    time::Date::parse(text, DATE).is_ok()
}

/// `yyyy-MM-dd HH:mm:ss` in +08:00.
pub fn datetime(ms: UnixMs) -> String {
    at(ms).format(DATETIME).unwrap_or_default()
}

/// `yyyy-MM-dd` in +08:00: the business date a history is kept by.
pub fn date(ms: UnixMs) -> String {
    at(ms).format(DATE).unwrap_or_default()
}

/// `yyyyMMddHHmmss` in +08:00 (the `ts` of 收呗).
pub fn ts14(ms: UnixMs) -> String {
    at(ms).format(TS14).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_and_written_in_china_standard_time() {
        let ms = parse_cst("2026-11-22 08:00:00").unwrap();
        assert_eq!(ms, 1_795_305_600_000, "08:00 at +08:00 is midnight UTC");
        assert_eq!(datetime(ms), "2026-11-22 08:00:00", "round trip");
        assert_eq!(
            date(ms - 1),
            "2026-11-22",
            "07:59:59 is still the same +08:00 day"
        );
        assert_eq!(
            date(ms - 8 * 3_600_000 - 1),
            "2026-11-21",
            "UTC midnight minus 8 h is the day before"
        );
        assert_eq!(ts14(ms), "20261122080000");
    }

    #[test]
    fn a_malformed_time_is_an_error() {
        assert!(
            parse_cst("2026/11/22").is_err(),
            "only yyyy-MM-dd HH:mm:ss is accepted"
        );
        assert!(
            is_date("2026-02-28") && !is_date("2026-02-30"),
            "dates are checked for real"
        );
    }
}
