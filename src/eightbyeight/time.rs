//! Event times (`8x8.md` §5.8).
//!
//! * `interactionEventTS` (epoch **seconds**, truncated) is an interaction
//!   event's own time: use it for queue, ring, talk and wrap-up durations.
//! * `msgInfo.timestamp` (epoch **milliseconds**) is the fallback when it is
//!   absent.
//! * `eventTS` is the interaction's offer/queue-entry time, the same on every
//!   event of an interaction: never a per-event time.
//! * `statusEventTS` (seconds) is an `AgentStatusChange`'s time.
//!
//! A missing time is `None`, never 1970: a time of 0 or below is treated as
//! missing too, since no 8x8 event can be that old.

use chrono::{DateTime, Utc};

/// Which field an event's time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeSource {
    /// `interactionEventTS` (whole seconds).
    InteractionEventTs,
    /// `statusEventTS` (whole seconds).
    StatusEventTs,
    /// `msgInfo.timestamp` (milliseconds).
    MsgInfoTimestamp,
}

/// Epoch seconds as a time; `None` for 0, negatives and out-of-range values.
pub(crate) fn from_seconds(seconds: i64) -> Option<DateTime<Utc>> {
    if seconds <= 0 {
        return None;
    }
    DateTime::from_timestamp(seconds, 0)
}

/// Epoch milliseconds as a time; `None` for 0, negatives and out-of-range
/// values.
pub(crate) fn from_millis(millis: i64) -> Option<DateTime<Utc>> {
    if millis <= 0 {
        return None;
    }
    DateTime::from_timestamp_millis(millis)
}

/// The first usable time of `candidates`, in order, with its source.
pub(crate) fn first_time(
    candidates: impl IntoIterator<Item = (Option<DateTime<Utc>>, TimeSource)>,
) -> Option<(DateTime<Utc>, TimeSource)> {
    candidates
        .into_iter()
        .find_map(|(time, source)| time.map(|t| (t, source)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_garbage_are_missing_never_1970() {
        assert_eq!(from_seconds(0), None);
        assert_eq!(from_seconds(-5), None);
        assert_eq!(from_seconds(i64::MAX), None);
        assert_eq!(from_millis(0), None);
        assert_eq!(from_millis(i64::MIN), None);
        assert_eq!(
            from_seconds(1_669_235_827).map(|t| t.timestamp()),
            Some(1_669_235_827)
        );
        assert_eq!(
            from_millis(1_669_235_544_917).map(|t| t.timestamp_millis()),
            Some(1_669_235_544_917)
        );
    }

    #[test]
    fn first_time_skips_missing_candidates() {
        let t = from_seconds(100);
        assert_eq!(
            first_time([
                (None, TimeSource::InteractionEventTs),
                (t, TimeSource::MsgInfoTimestamp)
            ]),
            t.map(|t| (t, TimeSource::MsgInfoTimestamp))
        );
        assert_eq!(first_time([(None, TimeSource::StatusEventTs)]), None);
    }
}
