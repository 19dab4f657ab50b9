//! Crate-side helpers for the real-broker tests: bounded waits, event shortcuts and a count of
//! lost connections.
//!
//! ```ignore
//! #[path = "support/events.rs"]
//! mod events;
//! ```
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use pulsar_eventstream::{ConnectionEvent, Event, MessageId, Result, Topic};

/// Upper bound for any single event-driven wait: a hang fails the test instead of blocking the
/// run. Never a stand-in for an event. Generous because the machine is shared (2 cores, two
/// brokers, other builds).
pub const LIMIT: Duration = Duration::from_secs(60);

/// Awaits `f`, failing the test after [`LIMIT`].
pub async fn within<F: Future>(what: &str, f: F) -> F::Output {
    within_for(LIMIT, what, f).await
}

/// Awaits `f`, failing the test after `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, f: F) -> F::Output {
    match tokio::time::timeout(limit, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: timed out after {limit:?}"),
    }
}

/// The next event, which must come within [`LIMIT`]; any error item or the end fails the test.
pub async fn next_event<S>(stream: &mut S, what: &str) -> Event
where
    S: Stream<Item = Result<Event>> + Unpin,
{
    match within(what, stream.next()).await {
        Some(Ok(event)) => event,
        Some(Err(e)) => panic!("{what}: error item {e:?}"),
        None => panic!("{what}: the stream ended"),
    }
}

/// The next `n` events.
pub async fn take_events<S>(stream: &mut S, n: usize, what: &str) -> Vec<Event>
where
    S: Stream<Item = Result<Event>> + Unpin,
{
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        out.push(next_event(stream, what).await);
    }
    out
}

/// Asserts that no item arrives within `quiet`. A negative can only be checked over a window;
/// this is never used to wait for something to happen.
pub async fn assert_quiet<S>(stream: &mut S, quiet: Duration, what: &str)
where
    S: Stream<Item = Result<Event>> + Unpin,
{
    if let Ok(item) = tokio::time::timeout(quiet, stream.next()).await {
        panic!("{what}: expected nothing within {quiet:?}, got {item:?}");
    }
}

/// The payload as text (panics if not UTF-8).
pub fn text(event: &Event) -> String {
    event.text().expect("UTF-8 payload").to_string()
}

/// Parses a topic name.
pub fn topic(name: &str) -> Topic {
    name.parse().expect("valid topic name")
}

/// Parses a message id the broker sent (e.g. from the WebSocket producer's acks).
pub fn id(wire: &str) -> MessageId {
    MessageId::from_wire(wire).expect("valid message id")
}

/// Payloads `"<prefix><i>"` for i in `range`.
pub fn numbered(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

/// Counts the `Disconnected` events of a stream's or a producer's `connection_events()` from now
/// on, printing each one's error after `what`.
pub fn count_disconnects(
    mut changes: futures::stream::BoxStream<'static, ConnectionEvent>,
    what: &str,
) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let what = what.to_string();
    tokio::spawn(async move {
        while let Some(change) = changes.next().await {
            if let ConnectionEvent::Disconnected { error } = &change {
                eprintln!("{what}: connection lost: {error}");
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    count
}
