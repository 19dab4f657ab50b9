//! Real broker: streams that survive lost connections.
//!
//! * 50 cuts at random moments through a TCP relay while 50,000 events stream: the reader sees
//!   every event exactly once, in order; the consumer loses nothing and, at the end, the broker
//!   counts no backlog.
//! * A topic unload (the broker moves the topic) in the middle of a stream.
//!
//! Cut points are random; the seed is printed, and `PULSAR_TEST_SEED=<n>` replays a run.

#[path = "support/broker.rs"]
mod broker;
#[path = "support/events.rs"]
mod events;
#[path = "support/ordering.rs"]
mod ordering;
#[path = "support/relay.rs"]
mod relay;
#[path = "support/ws_producer.rs"]
mod ws_producer;

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use broker::Broker;
use events::*;
use ordering::{reader_and_consumer, take_first_copies_in_order, take_in_order};
use pulsar_eventstream::{Client, FixedDelay, InitialPosition, MessageId, Position};
use relay::Relay;
use ws_producer::produce_texts;

fn broker() -> Broker {
    Broker::from_env().expect("the default broker")
}

/// Reconnect fast: every cut costs one handshake, not a backoff.
fn fast() -> FixedDelay {
    FixedDelay::new(Duration::from_millis(10))
}

/// SplitMix64: reproducible cut points from a printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `count` distinct values in `range`, ascending.
    fn points(&mut self, count: usize, range: std::ops::Range<usize>) -> Vec<usize> {
        let mut set = BTreeSet::new();
        while set.len() < count {
            let span = (range.end - range.start) as u64;
            set.insert(range.start + (self.next() % span) as usize);
        }
        set.into_iter().collect()
    }
}

fn seed() -> u64 {
    match std::env::var("PULSAR_TEST_SEED") {
        Ok(s) => s.parse().expect("PULSAR_TEST_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

/// Cuts a relay's connections when a stream reaches its chosen points.
struct Cutter<'a> {
    relay: &'a Relay,
    points: std::iter::Peekable<std::slice::Iter<'a, usize>>,
    /// Points reached whose cut found no live connection yet.
    pending: usize,
    /// Cuts that broke at least one live connection.
    done: usize,
}

impl<'a> Cutter<'a> {
    fn new(relay: &'a Relay, points: &'a [usize]) -> Self {
        Cutter {
            relay,
            points: points.iter().peekable(),
            pending: 0,
            done: 0,
        }
    }

    /// Called after the `count`-th event. Events the client received before a cut can still be
    /// handed out after it, while it reconnects; a cut that finds no live connection then waits
    /// for the next event (which came over a new connection).
    fn at(&mut self, count: usize) {
        if self.points.peek() == Some(&&count) {
            self.points.next();
            self.pending += 1;
        }
        if self.pending > 0 && self.relay.cut() > 0 {
            self.pending -= 1;
            self.done += 1;
        }
    }
}

#[tokio::test]
async fn reader_and_consumer_survive_fifty_cuts_while_fifty_thousand_events_stream() {
    const N: usize = 50_000;
    const CUTS: usize = 50;
    let b = broker();
    let topic = b.unique_topic("resilience-cuts");
    let seed = seed();
    eprintln!("PULSAR_TEST_SEED={seed}");
    let mut rng = Rng(seed);
    // Cut while events still flow: the last cut leaves the tail to read after it.
    let reader_cuts = rng.points(CUTS, 1..N - 500);
    let consumer_cuts = rng.points(CUTS, 1..N - 500);

    // One relay per stream, so each stream's cuts happen at its own chosen points.
    let reader_relay = Relay::start(&b.ws_url).await;
    let consumer_relay = Relay::start(&b.ws_url).await;
    let started = Instant::now();
    let mut reader = Client::builder(reader_relay.url())
        .reconnect_policy(fast())
        .build()
        .unwrap()
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let mut consumer = Client::builder(consumer_relay.url())
        .reconnect_policy(fast())
        .build()
        .unwrap()
        .consumer(events::topic(&topic), "resilience")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("consumer subscribes");
    let reader_drops = count_disconnects(reader.connection_events(), "reader");
    let consumer_drops = count_disconnects(consumer.connection_events(), "consumer");

    let producer = {
        let (b, topic) = (b.clone(), topic.clone());
        // Straight to the broker, not through a relay.
        tokio::spawn(async move { produce_texts(&b, &topic, numbered("e-", 0..N)).await })
    };

    let read = async {
        let mut ids: Vec<MessageId> = Vec::with_capacity(N);
        let mut cutter = Cutter::new(&reader_relay, &reader_cuts);
        while ids.len() < N {
            let event = next_event(&mut reader, "reader").await;
            // Every event exactly once, in order: any loss, duplicate or reordering fails here.
            assert_eq!(text(&event), format!("e-{}", ids.len()), "reader");
            ids.push(event.message_id().clone());
            cutter.at(ids.len());
        }
        (ids, cutter.done)
    };
    let consume = async {
        let mut seen: HashSet<MessageId> = HashSet::with_capacity(N);
        let mut deliveries = 0usize;
        let mut cutter = Cutter::new(&consumer_relay, &consumer_cuts);
        while seen.len() < N {
            let event = next_event(&mut consumer, "consumer").await;
            deliveries += 1;
            seen.insert(event.message_id().clone());
            cutter.at(seen.len());
        }
        (seen, deliveries, cutter.done)
    };
    let ((read_ids, reader_cut), (consumed, deliveries, consumer_cut)) =
        tokio::join!(read, consume);
    assert_eq!(
        (reader_cut, consumer_cut),
        (CUTS, CUTS),
        "every cut broke a live connection"
    );
    let elapsed = started.elapsed();
    let produced: Vec<MessageId> = producer
        .await
        .expect("producer task")
        .iter()
        .map(|w| id(w))
        .collect();
    reader.close().await.expect("close the reader");
    consumer.close().await.expect("close the consumer"); // acks the last event

    assert_eq!(
        read_ids, produced,
        "the reader saw exactly the published ids, in order"
    );
    assert_eq!(
        consumed,
        produced.iter().cloned().collect::<HashSet<_>>(),
        "the consumer lost nothing"
    );
    // Each cut broke a live connection, so each is one lost connection of that stream.
    assert!(reader_drops.load(Ordering::Relaxed) >= CUTS);
    assert!(consumer_drops.load(Ordering::Relaxed) >= CUTS);
    // Acks reach the broker asynchronously; the backlog has no event of its own.
    assert_eq!(
        b.wait_for_backlog(&topic, "resilience", 0, Duration::from_secs(30))
            .await,
        Some(0),
        "every event acked in the end"
    );
    eprintln!(
        "{N} events in {elapsed:?}: reader {} connections ({} lost), consumer {} connections \
         ({} lost), {} deliveries ({} redelivered)",
        reader_relay.accepted(),
        reader_drops.load(Ordering::Relaxed),
        consumer_relay.accepted(),
        consumer_drops.load(Ordering::Relaxed),
        deliveries,
        deliveries - N
    );
}

#[tokio::test]
async fn a_topic_unload_mid_stream_loses_nothing() {
    const HALF: usize = 1000;
    let b = broker();
    let topic = b.unique_topic("resilience-unload");
    let first = produce_texts(&b, &topic, numbered("e-", 0..HALF)).await;
    let client = Client::builder(&b.ws_url)
        .reconnect_policy(fast())
        .build()
        .unwrap();
    let (mut reader, mut consumer) = reader_and_consumer(&client, &topic, "unload").await;
    let reader_drops = count_disconnects(reader.connection_events(), "reader");
    let consumer_drops = count_disconnects(consumer.connection_events(), "consumer");

    // First half of the first half, then the unload while both streams are mid-stream.
    let mut read: Vec<MessageId> = Vec::new();
    take_in_order(&mut reader, &mut read, HALF / 2, "reader").await;
    let mut consumed: Vec<MessageId> = Vec::new();
    take_in_order(&mut consumer, &mut consumed, HALF / 2, "consumer").await;
    b.unload(&topic).await;
    let second = produce_texts(&b, &topic, numbered("e-", HALF..2 * HALF)).await;
    let all: Vec<MessageId> = first.iter().chain(&second).map(|w| id(w)).collect();

    // The reader: every event exactly once, in order.
    take_in_order(&mut reader, &mut read, 2 * HALF, "reader: once, in order").await;
    assert_eq!(read, all);

    // The consumer: nothing lost, first deliveries in order; redelivered only what was not yet
    // acknowledged when the topic moved (auto mode had acked e-0..e-498; e-499 was in process).
    let duplicates = take_first_copies_in_order(
        &mut consumer,
        &mut consumed,
        2 * HALF,
        HALF / 2 - 1,
        "consumer",
    )
    .await;
    assert_eq!(consumed, all);
    // After the unload the broker wrote to a new ledger.
    assert!(all[HALF].ledger_id() > all[HALF - 1].ledger_id());
    reader.close().await.expect("close");
    consumer.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "unload", 0, Duration::from_secs(30))
            .await,
        Some(0)
    );
    eprintln!(
        "consumer redeliveries after the unload: {} (e-{:?} .. e-{:?})",
        duplicates.len(),
        duplicates.iter().min(),
        duplicates.iter().max()
    );
    // Observed on Pulsar 4.0.7: neither WebSocket session is closed by an unload (the proxy's
    // Java reader and consumer reconnect inside the broker), so this prints 0 and 0. If a
    // version starts closing them, the crate's reconnect takes over and the assertions above
    // still hold.
    eprintln!(
        "connections lost during the unload: reader {}, consumer {}",
        reader_drops.load(Ordering::Relaxed),
        consumer_drops.load(Ordering::Relaxed)
    );
}
