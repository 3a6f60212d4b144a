//! Event timestamps: UTC, microsecond precision.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time in UTC with microsecond precision.
///
/// Stores keep timestamps to the microsecond, so a timestamp is truncated to
/// microseconds when it is taken: what is read back equals what was written.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    micros: i64,
}

impl Timestamp {
    /// The current time, truncated to microseconds.
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// A timestamp from microseconds since the Unix epoch.
    pub const fn from_unix_micros(micros: i64) -> Self {
        Self { micros }
    }

    /// Microseconds since the Unix epoch (negative before 1970).
    pub const fn unix_micros(self) -> i64 {
        self.micros
    }

    /// This timestamp as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let magnitude = Duration::from_micros(self.micros.unsigned_abs());
        if self.micros >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        let micros = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_micros())
                .map(|m| -m)
                .unwrap_or(i64::MIN),
        };
        Self { micros }
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days`, valid for the whole `i64` microsecond range.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with microseconds, e.g. `2026-11-23T19:18:38.123456Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MICROS_PER_DAY: i64 = 86_400_000_000;
        let days = self.micros.div_euclid(MICROS_PER_DAY);
        let in_day = self.micros.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let seconds = in_day / 1_000_000;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            in_day % 1_000_000
        )
    }
}

/// Why a text is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an RFC 3339 timestamp: {reason}")]
pub struct TimestampParseError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampParseError;

    /// Reads RFC 3339 (`2026-11-23T19:18:38.123456Z`, or with an offset
    /// such as `+01:00`), as [`Display`](fmt::Display) writes it and as other
    /// systems send it (CloudEvents' `time`). Digits after the sixth of the
    /// fraction are dropped: timestamps keep microseconds.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| TimestampParseError {
            text: text.to_owned(),
            reason,
        };
        let bytes = text.as_bytes();
        let number = |from: usize, len: usize| -> Result<i64, TimestampParseError> {
            match bytes.get(from..from + len) {
                Some(digits) if digits.iter().all(u8::is_ascii_digit) => Ok(digits
                    .iter()
                    .fold(0, |n, digit| n * 10 + i64::from(digit - b'0'))),
                _ => Err(fail("expected digits as in 2026-11-23T19:18:38Z")),
            }
        };
        let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
        if separators.iter().any(|&(at, c)| bytes.get(at) != Some(&c))
            || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
        {
            return Err(fail("expected the form 2026-11-23T19:18:38Z"));
        }
        let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
        let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(fail("month or day out of range"));
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(fail("hour, minute or second out of range"));
        }
        let mut at = 19;
        let mut micros = 0;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                if at - start < 6 {
                    micros = micros * 10 + i64::from(bytes[at] - b'0');
                }
                at += 1;
            }
            if at == start {
                return Err(fail("a fraction needs digits"));
            }
            micros *= 10i64.pow(6u32.saturating_sub((at - start) as u32));
        }
        let offset_minutes = match bytes.get(at) {
            Some(b'Z' | b'z') if at + 1 == bytes.len() => 0,
            Some(sign @ (b'+' | b'-')) if at + 6 == bytes.len() && bytes[at + 3] == b':' => {
                let minutes = number(at + 1, 2)? * 60 + number(at + 4, 2)?;
                if *sign == b'-' {
                    -minutes
                } else {
                    minutes
                }
            }
            _ => return Err(fail("expected Z or an offset such as +01:00 at the end")),
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
        Ok(Self::from_unix_micros(seconds * 1_000_000 + micros))
    }
}

/// A proleptic Gregorian date to days since 1970-01-01 (Howard Hinnant's
/// `days_from_civil`, the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_microseconds() {
        assert_eq!(
            Timestamp::from_unix_micros(0).to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_micros(1_795_461_518_123_456).to_string(),
            "2026-11-23T19:18:38.123456Z"
        );
        assert_eq!(
            Timestamp::from_unix_micros(-1).to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            Timestamp::from_unix_micros(951_782_400_000_000).to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for micros in [0, 1_795_461_518_123_456, -1, 951_782_400_000_000] {
            let time = Timestamp::from_unix_micros(micros);
            assert_eq!(time.to_string().parse::<Timestamp>(), Ok(time));
        }
        assert_eq!(
            "2026-11-23T20:18:38.1234569+01:00".parse::<Timestamp>(),
            Ok(Timestamp::from_unix_micros(1_795_461_518_123_456))
        );
        assert_eq!(
            "2026-11-23T19:18:38Z".parse::<Timestamp>(),
            Ok(Timestamp::from_unix_micros(1_795_461_518_000_000))
        );
        for bad in [
            "",
            "2026-11-23",
            "2026-13-01T00:00:00Z",
            "2026-11-23T19:18:38",
            "2026-11-23T19:18:38.Z",
            "2026-11-23T19:18:3xZ",
        ] {
            let error = bad.parse::<Timestamp>().unwrap_err();
            assert_eq!(error.text, bad);
        }
    }

    #[test]
    fn round_trips_through_system_time() {
        let now = Timestamp::now();
        assert_eq!(Timestamp::from(now.to_system_time()), now);
        let before_epoch = Timestamp::from_unix_micros(-1_500_000);
        assert_eq!(Timestamp::from(before_epoch.to_system_time()), before_epoch);
    }
}
