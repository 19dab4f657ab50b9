//! The server's time texts (`publishTime`, `eventTime`): a hand-written fast
//! path for the forms Pulsar writes, chrono for anything else.
//!
//! With the `metrics` feature every event's `publishTime` is parsed for the
//! publish-to-receive histogram, on the read path: chrono's RFC 3339 parser,
//! `Utc::now` and the `TimeDelta` arithmetic took about 830 instructions per
//! event, the fast path, `SystemTime` and integer arithmetic below about
//! 440 (docs/performance.md). The fast path accepts only texts whose meaning
//! is certain and leaves everything else to chrono, so both always agree
//! (the tests compare them on many inputs).

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, NaiveDateTime};

/// An instant read from a time text: whole seconds since the Unix epoch
/// (UTC), the nanoseconds within that second, and the text's UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp {
    pub(crate) secs: i64,
    pub(crate) nanos: u32,
    pub(crate) offset: i32,
}

/// Parses a Pulsar timestamp leniently: RFC 3339 with 0–9 fraction digits
/// and any offset (what `DateFormatter` writes), or the old
/// `yyyy-MM-dd HH:mm:ss.SSS` form without an offset, taken as UTC.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    // A text the fast path takes starts with a digit and ends with a digit
    // or `Z`: it has nothing to trim.
    match Timestamp::parse(text) {
        Some(t) => t.to_datetime(),
        None => parse_with_chrono(text.trim()),
    }
}

/// The general parser (chrono's RFC 3339, then the two forms without an
/// offset); `text` is already trimmed.
pub(crate) fn parse_with_chrono(text: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc().fixed_offset());
        }
    }
    None
}

/// Seconds from the time in `text` to `now()` (read only when the text
/// parses), in whole microseconds, never negative; `None` when the text does
/// not parse. Exactly what `(now - parse_time(text)?.to_utc())
/// .num_microseconds()` gives, without building chrono values on the fast
/// path.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn seconds_until(text: &str, now: impl FnOnce() -> SystemTime) -> Option<f64> {
    let micros = match Timestamp::parse(text) {
        Some(t) => {
            let (now_secs, now_nanos) = since_epoch(now());
            let mut secs = now_secs - t.secs;
            let mut nanos = i64::from(now_nanos) - i64::from(t.nanos);
            if nanos < 0 {
                secs -= 1;
                nanos += 1_000_000_000;
            }
            if secs < 0 {
                // Published after `now`: clamped to zero below anyway.
                return Some(0.0);
            }
            // Whole microseconds of a span that is not negative, zero on
            // overflow: chrono's `num_microseconds().unwrap_or(0)`.
            secs.checked_mul(1_000_000)
                .and_then(|m| m.checked_add(nanos / 1000))
                .unwrap_or(0)
        }
        None => {
            let published = parse_with_chrono(text.trim())?;
            let (now_secs, now_nanos) = since_epoch(now());
            let now = DateTime::from_timestamp(now_secs, now_nanos)?;
            (now - published.to_utc()).num_microseconds().unwrap_or(0)
        }
    };
    Some((micros as f64 / 1e6).max(0.0))
}

/// `now` as whole seconds since the epoch and nanoseconds within the
/// second (before 1970 too: a clock set that far back does not panic).
fn since_epoch(now: SystemTime) -> (i64, u32) {
    match now.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(before) => {
            let d = before.duration();
            match d.subsec_nanos() {
                0 => (-(d.as_secs() as i64), 0),
                n => (-(d.as_secs() as i64) - 1, 1_000_000_000 - n),
            }
        }
    }
}

impl Timestamp {
    /// The forms Pulsar writes, fixed width, and nothing else:
    /// `YYYY-MM-DDThh:mm:ss[.f]` + `Z` or `±hh:mm` (also `t`/space for `T`
    /// and `z` for `Z`, as RFC 3339 allows and chrono accepts), and
    /// `YYYY-MM-DD hh:mm:ss[.f]` / `YYYY-MM-DDThh:mm:ss[.f]` without an
    /// offset (UTC). One to nine fraction digits. Any other text (more
    /// fraction digits, a leap second, a Unicode minus, digits of other
    /// widths, ...) gives `None`: the caller falls back to chrono.
    pub(crate) fn parse(text: &str) -> Option<Timestamp> {
        let (head, mut rest) = text.as_bytes().split_first_chunk::<19>()?;
        // Checked all at once, without a branch per byte.
        let mut fixed = head[4] == b'-' && head[7] == b'-' && head[13] == b':' && head[16] == b':';
        for at in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] {
            fixed &= head[at].is_ascii_digit();
        }
        if !fixed {
            return None;
        }
        let digit = |at: usize| u32::from(head[at] - b'0');
        let two = |at: usize| digit(at) * 10 + digit(at + 1);
        let year = two(0) * 100 + two(2);
        let (month, day) = (two(5), two(8));
        let (hour, minute, second) = (two(11), two(14), two(17));
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let mut nanos = 0u32;
        if let [b'.', fraction @ ..] = rest {
            rest = fraction;
            let mut count = 0;
            while let [c @ b'0'..=b'9', more @ ..] = rest {
                if count == 9 {
                    return None;
                }
                nanos = nanos * 10 + u32::from(c - b'0');
                count += 1;
                rest = more;
            }
            if count == 0 {
                return None;
            }
            nanos *= SCALE[count];
        }
        let separator = head[10];
        let offset = match rest {
            // Without an offset: the two `NaiveDateTime` formats only.
            [] if separator == b' ' || separator == b'T' => 0,
            [b'Z' | b'z'] if matches!(separator, b'T' | b't' | b' ') => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
                if matches!(separator, b'T' | b't' | b' ')
                    && [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
            {
                let hours = i32::from((h1 - b'0') * 10 + (h2 - b'0'));
                let minutes = i32::from((m1 - b'0') * 10 + (m2 - b'0'));
                if hours > 23 || minutes > 59 {
                    return None;
                }
                let seconds = hours * 3600 + minutes * 60;
                if *sign == b'-' {
                    -seconds
                } else {
                    seconds
                }
            }
            _ => return None,
        };
        let seconds_of_day = hour * 3600 + minute * 60 + second;
        let secs = days_from_civil(year, month, day) * 86_400 + i64::from(seconds_of_day)
            - i64::from(offset);
        Some(Timestamp {
            secs,
            nanos,
            offset,
        })
    }

    /// The same instant and offset as chrono's parse of the same text.
    pub(crate) fn to_datetime(self) -> Option<DateTime<FixedOffset>> {
        let offset = FixedOffset::east_opt(self.offset)?;
        Some(DateTime::from_timestamp(self.secs, self.nanos)?.with_timezone(&offset))
    }
}

/// What `count` fraction digits are worth in nanoseconds.
const SCALE: [u32; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (H. Hinnant's `days_from_civil`), for years 0–9999: one era (400 years)
/// added keeps the arithmetic unsigned.
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let year = year + 400 - u32::from(month <= 2);
    let (era, year_of_era) = (year / 400, year % 400);
    let march_based = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * march_based + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    i64::from(era * 146_097 + day_of_era) - 719_468 - 146_097
}

#[cfg(test)]
#[path = "timestamp_tests.rs"]
mod tests;
