//! Real broker (Pulsar 4.0.7 standalone): the crate's producer (`/ws/v2/producer/...`).
//!
//! Every builder option accepted by the real server, a duplicate producer name refused, what the
//! crate publishes read back byte for byte by the crate's reader and by the official Python
//! client (binary protocol), `send-error:8` after an admin `terminate`, and 100,000 pipelined
//! messages read back in order. The broker-restart test is in `pulsar_producer_restart.rs` (a
//! binary of its own). Run with `scripts/test.sh` (see docs/testing.md).

#[path = "support/broker.rs"]
mod broker;
#[path = "support/events.rs"]
mod events;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use broker::Broker;
use chrono::{DateTime, FixedOffset};
use events::*;
use futures::{stream, StreamExt};
use pulsar_eventstream::{
    Client, CompressionType, Error, FixedDelay, HashingScheme, Message, MessageId, Position,
    Producer, ProducerBuilder, RoutingMode,
};

fn broker() -> Broker {
    Broker::from_env().expect("the default broker")
}

fn client(b: &Broker) -> Client {
    Client::builder(&b.ws_url).build().expect("client")
}

async fn create(builder: ProducerBuilder, what: &str) -> Producer {
    within(what, builder.create())
        .await
        .unwrap_or_else(|e| panic!("{what}: create: {e:?}"))
}

async fn send(producer: &Producer, message: Message, what: &str) -> MessageId {
    within(what, producer.send(message))
        .await
        .unwrap_or_else(|e| panic!("{what}: send: {e:?}"))
}

/// The names of the producers connected to `topic`, from the broker's stats.
async fn publisher_names(b: &Broker, topic: &str) -> Vec<String> {
    let stats = b.topic_stats(topic).await;
    stats["publishers"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|p| p["producerName"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

type Options = fn(ProducerBuilder, &str) -> ProducerBuilder;

/// Messages per batch in the option sets with batching on.
const BATCH: usize = 3;

#[tokio::test]
async fn every_builder_option_is_accepted_and_a_duplicate_name_is_a_conflict() {
    let b = broker();
    let topic = b.unique_topic("producer-options");
    let client = client(&b);
    // One producer per option set, one after the other on the same topic; each publishes one
    // message (three with batching on), and a reader reads them all back at the end (compressed
    // ones included: the proxy's reader decompresses).
    let sets: Vec<(&str, Options)> = vec![
        ("nothing set", |p, _| p),
        ("producer_name", |p, name| p.producer_name(name)),
        ("initial_sequence_id", |p, _| p.initial_sequence_id(1_000)),
        ("hashing JavaString", |p, _| {
            p.hashing_scheme(HashingScheme::JavaString)
        }),
        ("hashing Murmur3", |p, _| {
            p.hashing_scheme(HashingScheme::Murmur3)
        }),
        ("send_timeout", |p, _| {
            p.send_timeout(Duration::from_secs(10))
        }),
        ("send_timeout 0 (none)", |p, _| {
            p.send_timeout(Duration::ZERO)
        }),
        ("routing SinglePartition", |p, _| {
            p.routing_mode(RoutingMode::SinglePartition)
        }),
        ("routing RoundRobinPartition", |p, _| {
            p.routing_mode(RoutingMode::RoundRobinPartition)
        }),
        ("batching off", |p, _| p.batching(false)),
        // A batch is sent when it holds batching_max_messages; the long delay makes sure the
        // three messages sent below form exactly one batch.
        ("batching on, with its limits", |p, _| {
            p.batching(true)
                .batching_max_messages(BATCH as u32)
                .batching_max_publish_delay(Duration::from_secs(10))
                .max_pending_messages(500)
        }),
        ("max_pending_messages without batching", |p, _| {
            p.max_pending_messages(500)
        }),
        ("compression NONE", |p, _| {
            p.compression(CompressionType::None)
        }),
        ("compression LZ4", |p, _| {
            p.compression(CompressionType::Lz4)
        }),
        ("compression ZLIB", |p, _| {
            p.compression(CompressionType::Zlib)
        }),
        ("compression ZSTD", |p, _| {
            p.compression(CompressionType::Zstd)
        }),
        ("compression SNAPPY", |p, _| {
            p.compression(CompressionType::Snappy)
        }),
        ("client side only", |p, _| {
            p.max_in_flight(16)
                .max_frame_size(64 * 1024)
                .reconnect_policy(FixedDelay::new(Duration::from_millis(200)))
        }),
        ("everything at once", |p, name| {
            p.producer_name(name)
                .initial_sequence_id(5)
                .hashing_scheme(HashingScheme::Murmur3)
                .send_timeout(Duration::from_secs(20))
                .routing_mode(RoutingMode::RoundRobinPartition)
                .batching(true)
                .batching_max_messages(BATCH as u32)
                .batching_max_publish_delay(Duration::from_secs(10))
                .max_pending_messages(100)
                .compression(CompressionType::Lz4)
                .max_in_flight(8)
                .max_frame_size(512 * 1024)
                .reconnect_policy(FixedDelay::new(Duration::from_millis(200)))
        }),
    ];
    // Compressible payloads, so that compression has something to do.
    let payload = |i: usize, j: usize| format!("option set {i}/{j}: {}", "abc".repeat(200));
    let mut sent: Vec<(usize, usize, MessageId)> = Vec::new();
    for (i, (what, options)) in sets.iter().enumerate() {
        let name = format!("opts-{i}-{}", std::process::id());
        let producer = create(options(client.producer(events::topic(&topic)), &name), what).await;
        if what.contains("name") || what.contains("everything") {
            assert!(
                publisher_names(&b, &topic).await.contains(&name),
                "{what}: the broker knows the producer by its name"
            );
        }
        let batching = what.contains("batching on") || what.contains("everything");
        let mut receipts = Vec::new();
        for j in 0..if batching { BATCH } else { 1 } {
            let message = Message::text(payload(i, j));
            receipts.push(
                within(what, producer.enqueue(message))
                    .await
                    .expect("enqueue"),
            );
        }
        let mut ids = Vec::new();
        for receipt in receipts {
            ids.push(
                within(what, receipt)
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e:?}")),
            );
        }
        if batching {
            // One entry; each message its index in the batch. (The receipt's id has no batch
            // size: `batch_size()` is 0 there, while the reader's id of the same message says 3.)
            for (j, id) in ids.iter().enumerate() {
                assert_eq!(
                    (id.entry_id(), id.batch_index()),
                    (ids[0].entry_id(), Some(j as u32)),
                    "{what}: message {j} of the batch: {id:?}"
                );
            }
        } else {
            assert_eq!(ids[0].batch_index(), None, "{what}: {:?}", ids[0]);
        }
        for (j, id) in ids.into_iter().enumerate() {
            if let Some((_, _, last)) = sent.last() {
                assert!(*last < id, "{what}: ids increase");
            }
            sent.push((i, j, id));
        }
        within(what, producer.close())
            .await
            .unwrap_or_else(|e| panic!("{what}: close: {e:?}"));
    }

    let mut reader = client
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    for (i, j, id) in &sent {
        let what = sets[*i].0;
        let event = next_event(&mut reader, what).await;
        assert_eq!(text(&event), payload(*i, *j), "{what}");
        assert_eq!(event.message_id(), id, "{what}");
        if id.batch_index().is_some() {
            assert_eq!(event.message_id().batch_size(), BATCH as u32, "{what}");
        }
    }
    reader.close().await.expect("close");

    // A name in use on the topic: 409, typed; the first producer is not disturbed.
    let name = format!("the-only-one-{}", std::process::id());
    let first = create(
        client.producer(events::topic(&topic)).producer_name(&name),
        "first",
    )
    .await;
    let second = within(
        "second",
        client
            .producer(events::topic(&topic))
            .producer_name(&name)
            .create(),
    )
    .await;
    match &second {
        Err(Error::Conflict { body }) => {
            assert!(body.contains("already connected"), "{body}")
        }
        other => panic!("expected Error::Conflict, got {other:?}"),
    }
    send(
        &first,
        Message::text("still fine"),
        "first after the conflict",
    )
    .await;
    assert_eq!(publisher_names(&b, &topic).await, vec![name]);
    first.close().await.expect("close");
}

#[tokio::test]
async fn payload_key_properties_and_event_time_reach_our_reader_and_the_python_client_intact() {
    let b = broker();
    let topic = b.unique_topic("producer-interop");
    // Every byte value, invalid UTF-8 included, 64 KiB + 7.
    let binary: Vec<u8> = (0..=255u8).cycle().take(65_543).collect();
    let properties: BTreeMap<String, String> = [
        ("plain", "value"),
        ("ünï cödé", "välue ✓ \"quoted\" \\ / {json: [1]}"),
        ("empty", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // Given with an offset; the broker keeps the instant in whole milliseconds.
    let at: DateTime<FixedOffset> = "2024-05-01T11:00:00.250+01:00".parse().unwrap();
    let key = "key/with spaces & ü";
    let json = serde_json::json!({"order": 42, "items": ["ä", "✓"], "total": 12.5});

    let messages: Vec<Message> = vec![
        Message::new(binary.clone())
            .key(key)
            .properties(properties.clone())
            .event_time(at),
        Message::text("ünïcödé text ✓").key("k2").property("n", "2"),
        Message::json(&json).unwrap(),
        Message::new(Vec::new()), // an empty payload, nothing else
    ];
    let expected_payloads: Vec<Vec<u8>> = vec![
        binary.clone(),
        "ünïcödé text ✓".as_bytes().to_vec(),
        serde_json::to_vec(&json).unwrap(),
        Vec::new(),
    ];
    let client = client(&b);
    let producer = create(client.producer(events::topic(&topic)), "producer").await;
    let mut ids = Vec::new();
    for (i, m) in messages.into_iter().enumerate() {
        ids.push(send(&producer, m, &format!("message {i}")).await);
    }
    producer.close().await.expect("close");

    // Our reader.
    let mut reader = client
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let events = take_events(&mut reader, 4, "reader").await;
    reader.close().await.expect("close");
    for (i, event) in events.iter().enumerate() {
        assert_eq!(
            event.message_id(),
            &ids[i],
            "message {i}: the id send returned"
        );
        assert!(
            event.payload()[..] == expected_payloads[i][..],
            "message {i}: payload byte for byte"
        );
    }
    let props: HashMap<String, String> = properties.clone().into_iter().collect();
    assert_eq!(events[0].key(), Some(key));
    assert_eq!(events[0].properties(), &props);
    assert_eq!(events[0].property("empty"), Some(""));
    assert_eq!(events[0].event_time(), Some(at), "the same instant");
    assert!(events[0].text().is_err(), "not UTF-8, and said so");
    assert_eq!(events[1].text().unwrap(), "ünïcödé text ✓");
    assert_eq!(
        (events[1].key(), events[1].property("n")),
        (Some("k2"), Some("2"))
    );
    assert_eq!(events[2].json::<serde_json::Value>().unwrap(), json);
    for event in &events[1..] {
        assert_eq!(event.event_time(), None, "no event time set");
    }
    assert_eq!(events[3].key(), None);
    assert!(events[3].properties().is_empty());

    // The official Python client (binary protocol, C++ core): the same bytes and metadata.
    let consumed = b
        .python_consume(&topic, "python", 4, Duration::from_secs(60))
        .await;
    assert_eq!(consumed.len(), 4, "the Python client got all four");
    for (i, m) in consumed.iter().enumerate() {
        assert_eq!(
            (m.id.ledger_id, m.id.entry_id),
            (ids[i].ledger_id(), ids[i].entry_id()),
            "message {i}: same position"
        );
        assert!(
            m.payload == expected_payloads[i],
            "message {i}: payload byte for byte ({} bytes vs {})",
            m.payload.len(),
            expected_payloads[i].len()
        );
        assert_eq!(m.redelivery_count, 0);
    }
    assert_eq!(consumed[0].key.as_deref(), Some(key));
    assert_eq!(consumed[0].properties, properties);
    assert_eq!(
        consumed[0].event_time_ms,
        Some(at.timestamp_millis() as u64)
    );
    assert_eq!(consumed[1].key.as_deref(), Some("k2"));
    assert_eq!(
        consumed[1].properties,
        BTreeMap::from([("n".to_string(), "2".to_string())])
    );
    for m in &consumed[1..] {
        assert_eq!(m.event_time_ms, None, "no event time set");
    }
    assert_eq!(consumed[3].key, None);
    assert!(consumed[3].properties.is_empty());
    // The Python consumer acked all four.
    assert_eq!(
        b.wait_for_backlog(&topic, "python", 0, Duration::from_secs(30))
            .await,
        Some(0)
    );
}

#[tokio::test]
async fn sends_to_a_terminated_topic_fail_with_send_error_8_and_the_producer_stays_up() {
    let b = broker();
    let topic = b.unique_topic("producer-terminated");
    let producer = create(client(&b).producer(events::topic(&topic)), "producer").await;
    let before = send(&producer, Message::text("before"), "before").await;
    b.terminate_topic(&topic).await;
    for attempt in ["first after terminate", "second after terminate"] {
        let refused = within(attempt, producer.send(Message::text(attempt))).await;
        match &refused {
            Err(e @ Error::SendFailed { code: 8, message }) => {
                assert!(message.contains("TopicTerminated"), "{attempt}: {message}");
                assert!(e.is_retryable(), "send-error:8 is retryable");
            }
            other => panic!("{attempt}: expected send-error:8, got {other:?}"),
        }
    }
    let stats = producer.stats();
    assert_eq!(
        (stats.frames_sent, stats.receipts, stats.send_errors),
        (3, 1, 2)
    );
    producer.close().await.expect("close");
    // Nothing after the termination was stored.
    let mut reader = client(&b)
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let event = next_event(&mut reader, "reader").await;
    assert_eq!(
        (text(&event), event.message_id()),
        ("before".into(), &before)
    );
    assert_eq!(
        b.topic_stats(&topic).await["msgInCounter"].as_u64(),
        Some(1),
        "the broker stored one message"
    );
    reader.close().await.expect("close");
}

#[tokio::test]
async fn a_hundred_thousand_pipelined_messages_are_read_back_in_order_none_lost() {
    const N: usize = 100_000;
    const HALF: usize = N / 2;
    let b = broker();
    let topic = b.unique_topic("producer-100k");
    let client = client(&b);
    let producer = create(client.producer(events::topic(&topic)), "producer").await;
    let started = std::time::Instant::now();

    // The first half with enqueue (receipts awaited afterwards), the second through the sink.
    let mut receipts = Vec::with_capacity(HALF);
    for i in 0..HALF {
        let receipt = within("enqueue", producer.enqueue(Message::text(format!("p-{i}"))))
            .await
            .expect("enqueue");
        receipts.push(receipt);
    }
    let rest = stream::iter((HALF..N).map(|i| Ok(Message::text(format!("p-{i}")))));
    within("the sink", rest.forward(producer.sink()))
        .await
        .expect("every message through the sink confirmed");
    let mut ids = Vec::with_capacity(HALF);
    for receipt in receipts {
        ids.push(within("receipt", receipt).await.expect("confirmed"));
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids in send order");
    let stats = producer.stats();
    within("close", producer.close()).await.expect("close");
    let published = started.elapsed();
    assert_eq!(
        (stats.frames_sent, stats.receipts, stats.send_errors),
        (N as u64, N as u64, 0),
        "each message sent once and confirmed"
    );
    assert_eq!(
        b.topic_stats(&topic).await["msgInCounter"].as_u64(),
        Some(N as u64),
        "the broker stored exactly {N}"
    );

    let started = std::time::Instant::now();
    let mut reader = client
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    for i in 0..N {
        let event = next_event(&mut reader, "reader").await;
        let got = event.text().expect("text");
        if got != format!("p-{i}") {
            panic!("event {i}: got {got:?}: lost or out of order");
        }
        if let Some(id) = ids.get(i) {
            assert_eq!(event.message_id(), id, "event {i}: the id of its receipt");
        }
    }
    reader.close().await.expect("close");
    eprintln!(
        "published {N} in {published:?}, read back in {:?}",
        started.elapsed()
    );
}
