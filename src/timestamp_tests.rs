//! The fast path agrees with chrono on every text it accepts, and accepts
//! the forms Pulsar writes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use proptest::prelude::*;

use super::*;

/// Instant and offset (`DateTime`'s `==` compares instants only).
fn key(t: Option<DateTime<FixedOffset>>) -> Option<(i64, u32, i32)> {
    t.map(|t| {
        (
            t.timestamp(),
            t.timestamp_subsec_nanos(),
            t.offset().local_minus_utc(),
        )
    })
}

/// `parse_time` (fast path first) gives what chrono alone gives, and when
/// the fast path takes a text, it reads it as chrono does.
fn agrees(text: &str) {
    let chrono = key(parse_with_chrono(text.trim()));
    assert_eq!(key(parse_time(text)), chrono, "{text:?}");
    if let Some(fast) = Timestamp::parse(text) {
        assert_eq!(
            Some((fast.secs, fast.nanos, fast.offset)),
            chrono,
            "fast path on {text:?}"
        );
    }
}

/// The latency as the stream computed it before the fast path.
fn seconds_until_with_chrono(text: &str, now: SystemTime) -> Option<f64> {
    let published = parse_with_chrono(text.trim())?;
    let now = DateTime::<Utc>::from(now);
    let micros = (now - published.to_utc()).num_microseconds().unwrap_or(0);
    Some((micros as f64 / 1e6).max(0.0))
}

#[test]
fn takes_the_fast_path_on_what_pulsar_writes() {
    for text in [
        "2024-05-01T10:00:00.967+01:00",
        "2024-05-01T10:00:00.967Z",
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:00:00+01:00",
        "2024-05-01T10:00:00.123456789-05:30",
        "2016-08-30 16:45:57.785",
        "2016-08-30 16:45:57",
        "2016-08-30T16:45:57.785",
    ] {
        assert!(Timestamp::parse(text).is_some(), "{text}");
        agrees(text);
    }
    let t = Timestamp::parse("2024-05-01T11:00:00.967+01:00").unwrap();
    assert_eq!(
        t,
        Timestamp {
            secs: 1_714_557_600,
            nanos: 967_000_000,
            offset: 3600
        }
    );
}

#[test]
fn agrees_with_chrono_on_odd_texts() {
    let texts = [
        // Offsets at and past the limits, other signs and letters.
        "2024-05-01T10:00:00+23:59",
        "2024-05-01T10:00:00-23:59",
        "2024-05-01T10:00:00+24:00",
        "2024-05-01T10:00:00+05:60",
        "2024-05-01T10:00:00-00:00",
        "2024-05-01T10:00:00+00:00",
        "2024-05-01T10:00:00\u{2212}05:00",
        "2024-05-01T10:00:00+0500",
        "2024-05-01T10:00:00+05",
        "2024-05-01T10:00:00+5:00",
        "2024-05-01t10:00:00z",
        "2024-05-01 10:00:00Z",
        "2024-05-01t10:00:00",
        "2024-05-01_10:00:00Z",
        // Fractions of every length, and broken ones.
        "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00.",
        "2024-05-01T10:00:00.1Z",
        "2024-05-01T10:00:00.12Z",
        "2024-05-01T10:00:00.123Z",
        "2024-05-01T10:00:00.1234Z",
        "2024-05-01T10:00:00.12345Z",
        "2024-05-01T10:00:00.123456Z",
        "2024-05-01T10:00:00.1234567Z",
        "2024-05-01T10:00:00.12345678Z",
        "2024-05-01T10:00:00.123456789Z",
        "2024-05-01T10:00:00.1234567891Z",
        "2024-05-01T10:00:00.999999999999+01:00",
        "2016-08-30 16:45:57.1234567891",
        "2024-05-01T10:00:00,5Z",
        // Leap years, month lengths, out-of-range fields.
        "2024-02-29T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2100-02-29 00:00:00",
        "2400-02-29 12:00:00.5",
        "2024-04-31T00:00:00Z",
        "2024-04-30T23:59:59.999999999Z",
        "2024-00-10T00:00:00Z",
        "2024-13-10T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "2024-01-32T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T23:60:00Z",
        "2024-01-01T23:59:60Z",
        "2016-12-31T23:59:60.5Z",
        "2016-12-31 23:59:60",
        // Far years, both ends.
        "0000-01-01T00:00:00Z",
        "0000-01-01T00:00:00+01:00",
        "0000-03-01 00:00:00",
        "9999-12-31T23:59:59.999999999-23:59",
        "1969-12-31T23:59:59.999Z",
        "1970-01-01T00:00:00Z",
        // Other widths, garbage, whitespace.
        "2024-5-01T10:00:00Z",
        "+2024-05-01T10:00:00Z",
        "12024-05-01T10:00:00Z",
        "2024-05-01T10:00:00Z ",
        " 2024-05-01T10:00:00Z",
        "\t2016-08-30 16:45:57.785\n",
        "2024-05-01T10:00:00Zjunk",
        "2024-05-01T10:00:00.5ZZ",
        "2024-05-01T10:00",
        "2024-05-01",
        "２０２４-05-01T10:00:00Z",
        "2024-05-01T10:00:00.٣Z",
        "yesterday",
        "",
    ];
    for text in texts {
        agrees(text);
    }
}

#[test]
fn agrees_with_chrono_on_every_day_of_many_years() {
    let years = (1968..=2032).chain([0, 1, 4, 100, 400, 1600, 1700, 1900, 2100, 2400, 9999]);
    for year in years {
        let mut date = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
        while date.year() == year {
            let day = date.format("%Y-%m-%d");
            agrees(&format!("{day}T23:59:59.5+01:00"));
            agrees(&format!("{day} 00:00:00"));
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
    }
}

#[test]
fn latency_is_what_chrono_gave() {
    let epoch = |secs: u64, nanos: u32| UNIX_EPOCH + Duration::new(secs, nanos);
    let nows = [
        epoch(1_714_557_600, 967_000_000),
        epoch(1_714_557_601, 0),
        epoch(1_714_557_600, 967_000_999),
        epoch(1_714_557_600, 967_001_000),
        epoch(1_714_557_600, 966_999_999),
        epoch(1_714_557_599, 967_000_001),
        epoch(1_714_557_599, 0),
        epoch(1_900_000_000, 123_456_789),
        epoch(0, 0),
        UNIX_EPOCH - Duration::new(5, 250_000_000),
    ];
    let texts = [
        "2024-05-01T10:00:00.967Z",
        "2024-05-01T11:00:00.967+01:00",
        "2024-05-01T10:00:00.9670005Z",
        "2024-05-01 10:00:00.967",
        " 2024-05-01T10:00:00.967Z\n",
        "2016-12-31T23:59:60.5Z",
        "1969-12-31T23:59:50Z",
        "not a time",
    ];
    for now in nows {
        for text in texts {
            assert_eq!(
                seconds_until(text, || now),
                seconds_until_with_chrono(text, now),
                "{text} at {now:?}"
            );
        }
    }
    let later = epoch(1_714_557_602, 0);
    assert_eq!(
        seconds_until("2024-05-01T10:00:00.5Z", || later),
        Some(1.5),
        "whole microseconds"
    );
}

/// Texts shaped like the server's, with every field sometimes out of range.
fn time_text() -> impl Strategy<Value = String> {
    let year = prop_oneof![
        1960..2040u32,
        0..10_000u32,
        (0..100u32).prop_map(|c| c * 100)
    ];
    let fraction = (0..12usize, any::<u64>()).prop_map(|(n, v)| match n {
        0 => String::new(),
        n => format!(".{:0>12}", v % 1_000_000_000_000)[..n + 1].to_string(),
    });
    let offset = prop_oneof![
        Just(String::new()),
        Just("Z".to_string()),
        Just("z".to_string()),
        (
            prop_oneof![Just('+'), Just('-'), Just('\u{2212}')],
            0..26u32,
            0..62u32
        )
            .prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
    ];
    let separator = prop_oneof![Just('T'), Just('t'), Just(' '), Just('_')];
    (
        (year, 0..14u32, 0..33u32),
        separator,
        (0..25u32, 0..61u32, 0..62u32),
        fraction,
        offset,
    )
        .prop_map(|((y, mo, d), sep, (h, mi, s), fraction, offset)| {
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{fraction}{offset}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn fast_path_agrees_with_chrono(text in time_text()) {
        agrees(&text);
    }

    #[test]
    fn any_text_agrees_with_chrono(text in "[0-9T :.+Zz-]{0,36}|.{0,40}") {
        agrees(&text);
    }

    #[test]
    fn latency_agrees_with_chrono(
        text in time_text(),
        secs in 1_600_000_000..1_800_000_000u64,
        nanos in 0..1_000_000_000u32,
    ) {
        let now = UNIX_EPOCH + Duration::new(secs, nanos);
        prop_assert_eq!(seconds_until(&text, || now), seconds_until_with_chrono(&text, now));
    }
}
