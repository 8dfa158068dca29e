//! UTC instants as whole seconds, written and read as RFC 3339 (`2026-11-25T18:00:00Z`).
//!
//! The pure stages never read the system clock: the edge reads it once and passes a `Timestamp`
//! in, so previews' created-at and expires-at annotations are reproducible in tests. Only the `Z`
//! form is written; reading accepts `Z` or a numeric offset, because other tools may have edited
//! the annotations.

use std::fmt;
use std::time::Duration;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Text that is not an RFC 3339 date-time.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an RFC 3339 date-time such as 2026-11-25T18:00:00Z")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// The system clock now. Only the command line's edge calls this, once per command.
    pub fn now() -> Timestamp {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Timestamp(seconds)
    }

    /// The instant `duration` later (saturating).
    pub fn plus(self, duration: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)))
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; fractions of a second are dropped.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let fail = || TimestampError(text.to_owned());
        let bytes = text.as_bytes();
        if bytes.len() < 20
            || bytes[4] != b'-'
            || bytes[7] != b'-'
            || !matches!(bytes[10], b'T' | b't')
            || bytes[13] != b':'
            || bytes[16] != b':'
        {
            return Err(fail());
        }
        let number = |range: std::ops::Range<usize>| -> Result<i64, TimestampError> {
            let part = text.get(range).ok_or_else(fail)?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail());
            }
            part.parse().map_err(|_| fail())
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(fail());
        }
        let mut rest = &text[19..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail());
            }
            rest = &fraction[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return Err(fail()),
                };
                let hours: i64 = rest[1..3].parse().map_err(|_| fail())?;
                let minutes: i64 = rest[4..6].parse().map_err(|_| fail())?;
                sign * (hours * 3600 + minutes * 60)
            }
            _ => return Err(fail()),
        };
        let days = days_from_civil(year, month, day);
        Ok(Timestamp(days * 86_400 + hour * 3600 + minute * 60 + second - offset))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let seconds = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            seconds / 3600,
            seconds % 3600 / 60,
            seconds % 60
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms (public domain): days since the epoch <-> y/m/d in the
// proleptic Gregorian calendar, exact for every date we can meet.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_795_629_600).to_string(), "2026-11-25T18:00:00Z");
        assert_eq!(Timestamp(951_782_400).to_string(), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parse_reads_what_display_writes_and_offsets() {
        for seconds in [0, 951_782_400, 1_795_629_600, 4_102_444_799] {
            assert_eq!(Timestamp::parse(&Timestamp(seconds).to_string()), Ok(Timestamp(seconds)));
        }
        assert_eq!(Timestamp::parse("2026-11-25T19:00:00.123+01:00"), Ok(Timestamp(1_795_629_600)));
    }

    #[test]
    fn parse_rejects_impossible_dates_and_other_text() {
        for bad in [
            "",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-25 18:00:00Z",
            "2026-11-25T18:00:00",
            "yesterday",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn adding_a_duration_moves_the_timestamp() {
        assert_eq!(Timestamp(10).plus(Duration::from_secs(5)), Timestamp(15));
    }
}
