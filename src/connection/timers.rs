//! Optional timers for `select!` arms: a missing one never fires.

use tokio::time::{Instant, Interval};

/// The next tick of `interval`, or never when there is none.
pub(crate) async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// `deadline`, or never when there is none.
pub(crate) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
