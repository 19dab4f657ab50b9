//! Helpers shared by the `MockPulsar` behaviour tests.
#![allow(dead_code)]

pub mod raw;

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{Client, Event, EventStream, Result, Topic};

/// Upper bound for anything a test waits for: a hang fails instead of
/// blocking the suite. Never a stand-in for an event.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Awaits `f`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(f: F) -> F::Output {
    match tokio::time::timeout(LIMIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {LIMIT:?}"),
    }
}

/// A mock and a client pointed at it.
pub async fn setup() -> (MockPulsar, Client) {
    let mock = MockPulsar::start().await.expect("mock starts");
    let client = Client::builder(mock.service_url())
        .build()
        .expect("client builds");
    (mock, client)
}

/// A topic name unique within the test binary, as both text and `Topic`.
pub fn topic(name: &str) -> (String, Topic) {
    let text = format!("persistent://acme/events/{name}");
    let topic = text.parse().expect("valid topic");
    (text, topic)
}

/// `n` messages whose payloads are `{"n":0}`, `{"n":1}`, …
pub fn numbered(n: usize) -> Vec<MockMessage> {
    (0..n)
        .map(|i| MockMessage::new(format!("{{\"n\":{i}}}")))
        .collect()
}

/// The `n` field of a numbered event.
pub fn number(event: &Event) -> u64 {
    let value: serde_json::Value = event.json().expect("json payload");
    value["n"].as_u64().expect("n")
}

/// The next item, which must come within [`LIMIT`].
pub async fn next(stream: &mut EventStream) -> Result<Event> {
    within(stream.next()).await.expect("stream ended early")
}

/// Reads `n` events, failing on any error item.
pub async fn take_events(stream: &mut EventStream, n: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        out.push(next(stream).await.expect("event"));
    }
    out
}

/// The text frames a client sent, in order.
pub fn texts(mock: &MockPulsar) -> Vec<String> {
    mock.commands()
        .into_iter()
        .filter_map(|c| match c.kind {
            pulsar_eventstream::testing::ClientFrameKind::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// Waits for the next `Disconnected` on a stream of connection changes and
/// returns its error.
pub async fn next_disconnect(
    changes: &mut futures::stream::BoxStream<'static, pulsar_eventstream::ConnectionEvent>,
) -> pulsar_eventstream::Error {
    loop {
        match within(changes.next()).await {
            Some(pulsar_eventstream::ConnectionEvent::Disconnected { error }) => return error,
            Some(_) => continue,
            None => panic!("connection events ended"),
        }
    }
}

/// Waits for the next `Connected` on a stream of connection changes.
pub async fn next_connected(
    changes: &mut futures::stream::BoxStream<'static, pulsar_eventstream::ConnectionEvent>,
) {
    loop {
        match within(changes.next()).await {
            Some(pulsar_eventstream::ConnectionEvent::Connected { .. }) => return,
            Some(_) => continue,
            None => panic!("connection events ended"),
        }
    }
}
