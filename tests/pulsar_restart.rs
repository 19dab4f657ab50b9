//! Real broker: a full broker restart in the middle of a stream.
//!
//! A test binary of its own: the restart drops every connection to the `default` broker, so
//! nothing else may run against it meanwhile (cargo runs test binaries one after the other).

#[path = "support/broker.rs"]
mod broker;
#[path = "support/events.rs"]
mod events;
#[path = "support/ws_producer.rs"]
mod ws_producer;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::Broker;
use events::*;
use futures::StreamExt;
use pulsar_eventstream::{
    Client, ConnectionEvent, EventStream, FixedDelay, InitialPosition, MessageId, Position,
};
use ws_producer::{Outgoing, WsProducer};

/// Publishes `e-<i>` for i in `range` over one fresh producer connection.
async fn publish(b: &Broker, topic: &str, range: std::ops::Range<usize>) -> Vec<String> {
    let mut producer = WsProducer::connect(b, topic).await;
    let ids = producer
        .send_all(range.map(|i| Outgoing::text(format!("e-{i}"))))
        .await;
    producer.close().await;
    ids
}

/// Counts the stream's `Disconnected` events from now on.
fn count_disconnects(stream: &EventStream) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let mut changes = stream.connection_events();
    let counter = count.clone();
    tokio::spawn(async move {
        while let Some(change) = changes.next().await {
            if let ConnectionEvent::Disconnected { error } = &change {
                eprintln!("connection lost: {error}");
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    count
}

#[tokio::test]
async fn reader_and_consumer_resume_across_a_broker_restart() {
    const BEFORE: usize = 2000;
    const AFTER: usize = 2000;
    const TAKEN: usize = 1000;
    let b = Broker::from_env().expect("the default broker");
    let topic = b.unique_topic("restart");
    let first = publish(&b, &topic, 0..BEFORE).await;

    // Patient enough for a 15-60 s restart: every 500 ms, forever.
    let client = Client::builder(&b.ws_url)
        .reconnect_policy(FixedDelay::new(Duration::from_millis(500)))
        .build()
        .unwrap();
    let mut reader = client
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let mut consumer = client
        .consumer(events::topic(&topic), "restart")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("consumer subscribes");
    let reader_drops = count_disconnects(&reader);
    let consumer_drops = count_disconnects(&consumer);

    let mut read: Vec<MessageId> = Vec::new();
    for event in take_events(&mut reader, TAKEN, "reader").await {
        assert_eq!(text(&event), format!("e-{}", read.len()), "reader");
        read.push(event.message_id().clone());
    }
    let mut consumed: Vec<MessageId> = Vec::new();
    for event in take_events(&mut consumer, TAKEN, "consumer").await {
        assert_eq!(text(&event), format!("e-{}", consumed.len()), "consumer");
        consumed.push(event.message_id().clone());
    }
    // Both streams hold events received but not handed out yet: the restart drops them with the
    // connections, and they must come again.
    let restart = Instant::now();
    b.restart_broker().await;
    let restart = restart.elapsed();
    let second = publish(&b, &topic, BEFORE..BEFORE + AFTER).await;
    let all: Vec<MessageId> = first.iter().chain(&second).map(|w| id(w)).collect();

    while read.len() < BEFORE + AFTER {
        let event = next_event(&mut reader, "reader").await;
        assert_eq!(
            text(&event),
            format!("e-{}", read.len()),
            "reader: once, in order"
        );
        read.push(event.message_id().clone());
    }
    assert_eq!(
        read, all,
        "the reader saw every event exactly once, in order"
    );

    // The consumer: nothing lost, first deliveries in order; only the event in process at the
    // restart (e-999, not yet acked in auto mode) or later ones may come twice.
    let mut duplicates = 0;
    while consumed.len() < BEFORE + AFTER {
        let event = next_event(&mut consumer, "consumer").await;
        let n: usize = text(&event)["e-".len()..].parse().expect("numbered");
        if n == consumed.len() {
            consumed.push(event.message_id().clone());
        } else {
            assert!(
                n < consumed.len() && n >= TAKEN - 1,
                "consumer: e-{n} after e-{}",
                consumed.len() - 1
            );
            duplicates += 1;
        }
    }
    assert_eq!(consumed, all, "the consumer lost nothing");
    assert!(reader_drops.load(Ordering::Relaxed) >= 1);
    assert!(consumer_drops.load(Ordering::Relaxed) >= 1);
    reader.close().await.expect("close");
    consumer.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "restart", 0, Duration::from_secs(30))
            .await,
        Some(0),
        "every event acked in the end"
    );
    eprintln!(
        "restart took {restart:?}; connections lost: reader {}, consumer {}; consumer \
         duplicates {duplicates}",
        reader_drops.load(Ordering::Relaxed),
        consumer_drops.load(Ordering::Relaxed)
    );
}
