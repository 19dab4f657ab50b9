//! Producer behaviour against `MockPulsar`: options on the wire, messages as
//! the server stores them and the crate's reader reads them back, receipts
//! matched by context, send errors, back-pressure, flush and close, and
//! at-least-once re-sends across reconnects.
//!
//! This file holds the shared helpers and the auto-trait check; the tests are
//! in `producer/`: builder options and the handshake, messages and receipts,
//! flow (window, sink, flush, close), and reconnects.

mod common;
#[path = "producer/flow.rs"]
mod flow;
#[path = "producer/messages.rs"]
mod messages;
#[path = "producer/options.rs"]
mod options;
#[path = "producer/reconnect.rs"]
mod reconnect;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use pulsar_eventstream::testing::{Endpoint, MockPulsar};
use pulsar_eventstream::{Client, FixedDelay, Message, MessageId, Position, Producer, Receipt};
use serde_json::Value;

/// A client that reconnects quickly.
fn fast_client(mock: &MockPulsar) -> Client {
    Client::builder(mock.service_url())
        .reconnect_policy(FixedDelay::new(Duration::from_millis(10)))
        .build()
        .unwrap()
}

async fn producer(client: &Client, name: &str) -> Producer {
    let (_, topic) = topic(name);
    within(client.producer(topic).create()).await.unwrap()
}

/// The JSON text frames clients sent on producer connections, in order.
fn producer_frames(mock: &MockPulsar) -> Vec<Value> {
    let producers: HashSet<u64> = mock
        .handshakes()
        .iter()
        .filter(|h| h.endpoint == Endpoint::Producer && h.status == 101)
        .map(|h| h.connection)
        .collect();
    mock.commands()
        .into_iter()
        .filter(|c| producers.contains(&c.connection))
        .filter_map(|c| c.json)
        .collect()
}

/// Every message of a topic as the crate's reader reads it back.
async fn read_back(client: &Client, name: &str, n: usize) -> Vec<pulsar_eventstream::Event> {
    let (_, topic) = topic(name);
    let mut events = within(
        client
            .reader(topic)
            .position(Position::Earliest)
            .subscribe(),
    )
    .await
    .unwrap();
    let got = take_events(&mut events, n).await;
    within(events.close()).await.unwrap();
    got
}

async fn enqueue_texts(producer: &Producer, range: std::ops::Range<usize>) -> Vec<Receipt> {
    let mut receipts = Vec::new();
    for i in range {
        let message = Message::text(format!("m{i}"));
        receipts.push(within(producer.enqueue(message)).await.unwrap());
    }
    receipts
}

async fn all_ok(receipts: Vec<Receipt>) -> Vec<MessageId> {
    let mut ids = Vec::new();
    for receipt in receipts {
        ids.push(within(receipt).await.unwrap());
    }
    ids
}

#[test]
fn producer_types_and_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Producer>();
    send_sync::<pulsar_eventstream::ProducerBuilder>();
    send_sync::<pulsar_eventstream::ProducerSink>();
    send_sync::<Receipt>();
    send_sync::<Message>();
    fn is_send<T: Send>(_: &T) {}
    let client = Client::builder("ws://127.0.0.1:1").build().unwrap();
    let topic: pulsar_eventstream::Topic = "persistent://t/n/x".parse().unwrap();
    is_send(&client.producer(topic).create());
    let check = |producer: &Producer| {
        is_send(&producer.send(Message::text("x")));
        is_send(&producer.enqueue(Message::text("x")));
        is_send(&producer.flush());
        is_send(&producer.clone().close());
    };
    let _ = check;
}
