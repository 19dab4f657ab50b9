//! When and how fast to reconnect after a connection is lost.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::Error;

/// Decides, after a lost connection or a failed reconnect, how long to wait
/// before the next attempt, or to give up (`None`).
///
/// `attempt` counts from 1 and restarts after a connection has stayed up for
/// a while. Any closure `Fn(u32, &Error) -> Option<Duration>` is a policy:
///
/// ```
/// use std::time::Duration;
/// use pulsar_eventstream::{Client, Error};
///
/// let client = Client::builder("ws://127.0.0.1:8080")
///     .reconnect_policy(|attempt: u32, error: &Error| {
///         (attempt <= 5 && error.is_retryable()).then(|| Duration::from_millis(200))
///     })
///     .build()?;
/// # Ok::<(), pulsar_eventstream::Error>(())
/// ```
pub trait ReconnectPolicy: Send + Sync + 'static {
    /// The delay before attempt number `attempt`, or `None` to give up and
    /// end the stream with `error`.
    fn next_delay(&self, attempt: u32, error: &Error) -> Option<Duration>;
}

impl std::fmt::Debug for dyn ReconnectPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReconnectPolicy")
    }
}

impl<F> ReconnectPolicy for F
where
    F: Fn(u32, &Error) -> Option<Duration> + Send + Sync + 'static,
{
    fn next_delay(&self, attempt: u32, error: &Error) -> Option<Duration> {
        self(attempt, error)
    }
}

/// Exponential backoff with full jitter (the default policy).
///
/// The delay before attempt `n` is a random value in
/// `[0, min(max, initial * factor^(n-1))]`, raised to `throttle_floor` for
/// 409 (busy subscription) and 429 (throttled). Errors that retrying cannot
/// fix (400, 401, 403, 404, TLS, configuration) give up at once.
#[derive(Debug, Clone)]
pub struct ExponentialBackoff {
    /// Upper bound of the first delay (default 100 ms).
    pub initial: Duration,
    /// Growth factor per attempt (default 2).
    pub factor: f64,
    /// Cap on the delay (default 30 s).
    pub max: Duration,
    /// Give up after this many attempts in a row (default: never).
    pub max_attempts: Option<u32>,
    /// Smallest delay after 409 or 429 (default 1 s).
    pub throttle_floor: Duration,
}

impl Default for ExponentialBackoff {
    fn default() -> Self {
        ExponentialBackoff {
            initial: Duration::from_millis(100),
            factor: 2.0,
            max: Duration::from_secs(30),
            max_attempts: None,
            throttle_floor: Duration::from_secs(1),
        }
    }
}

impl ExponentialBackoff {
    /// The upper bound of the delay before attempt `attempt` (no jitter).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = self
            .factor
            .max(1.0)
            .powi(attempt.saturating_sub(1).min(64) as i32);
        let secs = (self.initial.as_secs_f64() * exp).min(self.max.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }
}

impl ReconnectPolicy for ExponentialBackoff {
    fn next_delay(&self, attempt: u32, error: &Error) -> Option<Duration> {
        if !error.is_retryable() || self.max_attempts.is_some_and(|max| attempt > max) {
            return None;
        }
        let ceiling = self.ceiling(attempt);
        let delay = ceiling.mul_f64(jitter());
        let floor = match error {
            Error::Conflict { .. } | Error::TooManyRequests { .. } => self.throttle_floor,
            _ => Duration::ZERO,
        };
        Some(delay.max(floor))
    }
}

/// The same delay before every attempt, for retryable errors only.
#[derive(Debug, Clone, Copy)]
pub struct FixedDelay {
    /// The delay.
    pub delay: Duration,
    /// Give up after this many attempts in a row (`None`: never).
    pub max_attempts: Option<u32>,
}

impl FixedDelay {
    /// A fixed delay with unlimited attempts.
    pub fn new(delay: Duration) -> Self {
        FixedDelay {
            delay,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy for FixedDelay {
    fn next_delay(&self, attempt: u32, error: &Error) -> Option<Duration> {
        let exhausted = self.max_attempts.is_some_and(|max| attempt > max);
        (error.is_retryable() && !exhausted).then_some(self.delay)
    }
}

/// Never reconnect: the first lost connection ends the stream with its error.
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverReconnect;

impl ReconnectPolicy for NeverReconnect {
    fn next_delay(&self, _: u32, _: &Error) -> Option<Duration> {
        None
    }
}

/// A uniform value in [0, 1): a xorshift generator seeded once from the
/// standard library's random hasher keys. Jitter needs spread, not security.
fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x9e37_79b9_7f4a_7c15);
        x = h.finish() | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error() -> Error {
        Error::from(std::io::Error::other("reset"))
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let policy = ExponentialBackoff::default();
        assert_eq!(policy.ceiling(1), Duration::from_millis(100));
        assert_eq!(policy.ceiling(2), Duration::from_millis(200));
        assert_eq!(policy.ceiling(9), Duration::from_millis(25_600));
        assert_eq!(policy.ceiling(10), Duration::from_secs(30));
        assert_eq!(policy.ceiling(1000), Duration::from_secs(30));
        for attempt in 1..60 {
            let delay = policy.next_delay(attempt, &io_error()).unwrap();
            assert!(delay <= policy.ceiling(attempt));
        }
    }

    #[test]
    fn backoff_gives_up_on_fatal_errors_and_floors_throttling() {
        let policy = ExponentialBackoff::default();
        let fatal = Error::Unauthorized {
            body: String::new(),
        };
        assert_eq!(policy.next_delay(1, &fatal), None);
        let busy = Error::Conflict {
            body: String::new(),
        };
        assert!(policy.next_delay(1, &busy).unwrap() >= Duration::from_secs(1));
        let limited = ExponentialBackoff {
            max_attempts: Some(3),
            ..Default::default()
        };
        assert!(limited.next_delay(3, &io_error()).is_some());
        assert!(limited.next_delay(4, &io_error()).is_none());
    }

    #[test]
    fn jitter_spreads() {
        let values: Vec<f64> = (0..1000).map(|_| jitter()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }

    #[test]
    fn closures_and_stock_policies() {
        let policy = |n: u32, _: &Error| (n < 3).then_some(Duration::from_millis(5));
        assert_eq!(
            policy.next_delay(2, &io_error()),
            Some(Duration::from_millis(5))
        );
        assert_eq!(NeverReconnect.next_delay(1, &io_error()), None);
        assert_eq!(
            FixedDelay::new(Duration::from_secs(1)).next_delay(99, &io_error()),
            Some(Duration::from_secs(1))
        );
    }
}
