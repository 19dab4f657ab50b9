//! Producer behaviour against `MockPulsar`: options on the wire, messages as
//! the server stores them and the crate's reader reads them back, receipts
//! matched by context, send errors, back-pressure, flush and close, and
//! at-least-once re-sends across reconnects.

mod common;

use std::collections::HashSet;
use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use common::*;
use futures::{stream, FutureExt, Sink, SinkExt, StreamExt};
use pulsar_eventstream::testing::{ClientFrameKind, Endpoint, MockPulsar, RawFrame};
use pulsar_eventstream::{
    Client, CompressionType, ConnectionEvent, Error, FixedDelay, HashingScheme, Message, MessageId,
    NeverReconnect, Position, Producer, Receipt, RoutingMode,
};
use serde_json::{json, Value};

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

#[tokio::test]
async fn every_builder_option_reaches_the_server_as_its_query_parameter() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("options");
    let producer = client
        .producer(topic)
        .producer_name("checkout 1")
        .initial_sequence_id(42)
        .hashing_scheme(HashingScheme::Murmur3)
        .send_timeout(Duration::from_millis(1500))
        .routing_mode(RoutingMode::RoundRobinPartition)
        .batching(true)
        .batching_max_messages(100)
        .max_pending_messages(2000)
        .batching_max_publish_delay(Duration::from_millis(7))
        .compression(CompressionType::Zstd)
        .max_in_flight(10)
        .create()
        .await
        .unwrap();
    let handshake = &mock.handshakes()[0];
    assert_eq!(handshake.endpoint, Endpoint::Producer);
    assert_eq!(
        handshake.path,
        "/ws/v2/producer/persistent/acme/events/options"
    );
    let q = &handshake.query;
    let expected = [
        ("producerName", "checkout 1"),
        ("initialSequenceId", "42"),
        ("hashingScheme", "Murmur3_32Hash"),
        ("sendTimeoutMillis", "1500"),
        ("messageRoutingMode", "RoundRobinPartition"),
        ("batchingEnabled", "true"),
        ("batchingMaxMessages", "100"),
        ("maxPendingMessages", "2000"),
        ("batchingMaxPublishDelay", "7"),
        ("compressionType", "ZSTD"),
    ];
    for (key, value) in expected {
        assert_eq!(q.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert_eq!(q.len(), expected.len(), "no other parameter: {q:?}");
    assert_eq!(producer.max_in_flight(), 10);
    assert_eq!(
        producer.topic().to_string(),
        "persistent://acme/events/options"
    );
    within(producer.close()).await.unwrap();
}

#[tokio::test]
async fn each_enum_value_has_its_exact_wire_name() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("enums");
    let mut expected = Vec::new();
    let mut builders = Vec::new();
    for (c, name) in [
        (CompressionType::None, "NONE"),
        (CompressionType::Lz4, "LZ4"),
        (CompressionType::Zlib, "ZLIB"),
        (CompressionType::Zstd, "ZSTD"),
        (CompressionType::Snappy, "SNAPPY"),
    ] {
        builders.push(client.producer(topic.clone()).compression(c));
        expected.push(("compressionType", name));
    }
    for (h, name) in [
        (HashingScheme::JavaString, "JavaStringHash"),
        (HashingScheme::Murmur3, "Murmur3_32Hash"),
    ] {
        builders.push(client.producer(topic.clone()).hashing_scheme(h));
        expected.push(("hashingScheme", name));
    }
    for (r, name) in [
        (RoutingMode::SinglePartition, "SinglePartition"),
        (RoutingMode::RoundRobinPartition, "RoundRobinPartition"),
    ] {
        builders.push(client.producer(topic.clone()).routing_mode(r));
        expected.push(("messageRoutingMode", name));
    }
    builders.push(client.producer(topic.clone()).batching(false));
    expected.push(("batchingEnabled", "false"));
    for (i, (builder, (key, value))) in builders.into_iter().zip(expected).enumerate() {
        let producer = within(builder.create()).await.unwrap();
        assert_eq!(mock.handshakes()[i].query[key], value);
        within(producer.close()).await.unwrap();
    }
}

#[tokio::test]
async fn invalid_options_fail_before_anything_is_sent() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("invalid");
    let bad = [
        client.producer(topic.clone()).producer_name(""),
        client.producer(topic.clone()).producer_name("a\u{7}b"),
        client.producer(topic.clone()).max_in_flight(0),
        client.producer(topic.clone()).max_frame_size(100),
        client
            .producer(topic.clone())
            .send_timeout(Duration::from_secs(10_000_000)),
        client
            .producer(topic.clone())
            .batching_max_messages(u32::MAX),
    ];
    for builder in bad {
        assert!(matches!(builder.create().await, Err(Error::Config(_))));
    }
    assert!(mock.handshakes().is_empty());
}

#[tokio::test]
async fn handshake_refusals_are_typed() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("refused");
    let first = client
        .producer(topic.clone())
        .producer_name("solo")
        .create()
        .await
        .unwrap();
    let second = client
        .producer(topic.clone())
        .producer_name("solo")
        .create()
        .await;
    match second {
        Err(error @ Error::Conflict { .. }) => {
            assert!(error.to_string().contains("solo"), "{error}");
            assert!(error.is_retryable());
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    within(first.close()).await.unwrap();
    // The name is free again once the first producer is gone.
    let again = client
        .producer(topic.clone())
        .producer_name("solo")
        .create()
        .await;
    within(again.unwrap().close()).await.unwrap();
    mock.require_api_key(Some("right"));
    let wrong = Client::builder(mock.service_url())
        .api_key("wrong")
        .build()
        .unwrap();
    let refused = wrong.producer(topic.clone()).create().await;
    assert!(
        matches!(refused, Err(Error::Unauthorized { .. })),
        "{refused:?}"
    );
    let right = Client::builder(mock.service_url())
        .api_key("right")
        .build()
        .unwrap();
    let producer = right.producer(topic).create().await.unwrap();
    within(producer.send(Message::text("authorized")))
        .await
        .unwrap();
}

#[tokio::test]
async fn payload_key_properties_and_event_time_reach_the_server_and_read_back() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "fields").await;
    let at: DateTime<FixedOffset> = "2024-05-01T11:00:00.250+01:00".parse().unwrap();
    let value = json!({"call": "c-1", "agents": [1, 2], "note": "ünïcode"});
    let sent = Message::json(&value)
        .unwrap()
        .key("customer-42")
        .property("source", "test")
        .property("tenant", "acme")
        .event_time(at)
        .replication_clusters(["east", "west"])
        .deliver_at(1_714_557_600_000)
        .deliver_after(Duration::from_millis(2500));
    let first = within(producer.send(sent)).await.unwrap();
    let second = within(producer.send(Message::new(vec![0u8, 0xff, 0x80])))
        .await
        .unwrap();
    let third = within(producer.send(Message::text("plain text")))
        .await
        .unwrap();
    assert!(first < second && second < third);

    let frames = producer_frames(&mock);
    assert_eq!(frames.len(), 3);
    let frame = frames[0].as_object().unwrap();
    assert!(frame["context"].is_string(), "{frame:?}");
    let expected = json!({
        "payload": base64_of(value.to_string().as_bytes()),
        "key": "customer-42",
        "properties": {"source": "test", "tenant": "acme"},
        "eventTime": "2024-05-01T11:00:00.250+01:00",
        "replicationClusters": ["east", "west"],
        "deliverAt": 1_714_557_600_000_i64,
        "deliverAfterMs": 2500,
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(&frame[key], value, "{key}");
    }
    assert_eq!(frame.len(), 8, "context plus the fields above: {frame:?}");
    assert_eq!(
        frames[1].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["context", "payload"],
        "unset fields are omitted"
    );

    let events = read_back(&client, "fields", 3).await;
    assert_eq!(events[0].message_id(), &first);
    assert_eq!(events[0].json::<Value>().unwrap(), value);
    assert_eq!(events[0].key(), Some("customer-42"));
    assert_eq!(events[0].property("source"), Some("test"));
    assert_eq!(events[0].properties().len(), 2);
    assert_eq!(events[0].event_time(), Some(at));
    assert_eq!(events[1].message_id(), &second);
    assert_eq!(events[1].payload().as_ref(), [0u8, 0xff, 0x80]);
    assert_eq!(events[1].key(), None);
    assert_eq!(events[1].event_time(), None);
    assert_eq!(events[2].text().unwrap(), "plain text");
    within(producer.close()).await.unwrap();
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn receipts_answered_out_of_order_are_matched_by_context() {
    let (mock, client) = setup().await;
    let (name, _) = topic("reordered");
    let producer = producer(&client, "reordered").await;
    // The mock answers each group of 10 in reverse: a client matching
    // receipts by arrival order would hand every send the wrong id.
    mock.reorder_receipts(10);
    let receipts = enqueue_texts(&producer, 0..30).await;
    let ids = all_ok(receipts).await;
    let stored: Vec<MessageId> = mock
        .message_ids(&name)
        .iter()
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(ids, stored);
    let events = read_back(&client, "reordered", 30).await;
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.text().unwrap(), format!("m{i}"));
        assert_eq!(event.message_id(), &ids[i]);
    }
    // Contexts are unique.
    let contexts: HashSet<String> = producer_frames(&mock)
        .iter()
        .map(|f| f["context"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(contexts.len(), 30);
}

#[tokio::test]
async fn each_send_error_kind_is_typed_and_the_producer_goes_on() {
    let (mock, client) = setup().await;
    let (name, _) = topic("errors");
    let producer = producer(&client, "errors").await;
    mock.fail_next_sends(8, "Producer send queue is full", 1);
    let error = within(producer.send(Message::text("a"))).await.unwrap_err();
    assert!(
        matches!(&error, Error::SendFailed { code: 8, message } if message == "Producer send queue is full"),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(
        error.to_string(),
        "send failed (send-error:8): Producer send queue is full"
    );
    mock.fail_next_sends(7, "Failed to decode payload", 1);
    let error = within(producer.send(Message::text("b"))).await.unwrap_err();
    assert!(
        matches!(error, Error::SendFailed { code: 7, .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    // send-error:3 answers a frame that is not JSON and carries no context
    // (this client never writes one; its decoding is unit-tested). A stray
    // receipt, or any frame that is not a receipt, changes nothing.
    mock.send_raw(RawFrame::Text(
        r#"{"result":"send-error:3","errorMsg":"Failed to deserialize from JSON"}"#.into(),
    ));
    mock.send_raw(RawFrame::Text(
        r#"{"result":"ok","messageId":"CAMQADAA","context":"999999"}"#.into(),
    ));
    mock.send_raw(RawFrame::Text("not json".into()));
    let id = within(producer.send(Message::text("c"))).await.unwrap();
    assert_eq!(mock.message_ids(&name), vec![id.to_string()]);
    within(producer.close()).await.unwrap();
}

#[tokio::test]
async fn an_oversized_message_fails_at_once_and_sends_nothing() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("large");
    let producer = client
        .producer(topic)
        .max_frame_size(4096)
        .create()
        .await
        .unwrap();
    let error = producer
        .send(Message::new(vec![b'x'; 4000]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::MessageTooLarge { max: 4096, size } if size > 4096),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    let mut sink = producer.sink();
    let error = within(sink.send(Message::new(vec![b'x'; 4000])))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::MessageTooLarge { .. }));
    within(producer.send(Message::new(vec![b'x'; 2000])))
        .await
        .unwrap();
    assert_eq!(producer_frames(&mock).len(), 1);
}

#[tokio::test]
async fn back_pressure_holds_the_send_after_max_in_flight() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("window");
    let producer = client
        .producer(topic)
        .max_in_flight(4)
        .create()
        .await
        .unwrap();
    mock.pause_receipts(true);
    let receipts = enqueue_texts(&producer, 0..4).await;
    within(mock.wait_for_held_receipts(4)).await;
    assert_eq!(producer.in_flight(), 4);
    // The fifth waits for room: it is not even handed to the connection.
    let mut fifth = Box::pin(producer.send(Message::text("m4")));
    assert!(futures::poll!(&mut fifth).is_pending());
    let mut sink = producer.sink();
    assert!(futures::poll!(poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx))).is_pending());
    for _ in 0..10 {
        tokio::task::yield_now().await;
        assert!(futures::poll!(&mut fifth).is_pending());
    }
    assert_eq!(producer_frames(&mock).len(), 4);
    assert_eq!(producer.in_flight(), 4);
    // Receipts free the window.
    mock.pause_receipts(false);
    all_ok(receipts).await;
    within(fifth).await.unwrap();
    within(poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx)))
        .await
        .unwrap();
    Pin::new(&mut sink).start_send(Message::text("m5")).unwrap();
    within(sink.flush()).await.unwrap();
    assert_eq!(producer_frames(&mock).len(), 6);
    assert_eq!(producer.in_flight(), 0);
}

#[tokio::test]
async fn a_silent_server_never_gets_more_than_the_window() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("silent");
    let producer = client
        .producer(topic)
        .max_in_flight(50)
        .create()
        .await
        .unwrap();
    mock.pause_receipts(true);
    let writer = producer.clone();
    let task = tokio::spawn(async move {
        stream::iter(0..10_000)
            .map(|i| Ok(Message::text(format!("m{i}"))))
            .forward(writer.into_sink())
            .await
    });
    within(mock.wait_for_held_receipts(50)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert_eq!(producer_frames(&mock).len(), 50);
    assert_eq!(producer.in_flight(), 50);
    assert!(!task.is_finished());
    task.abort();
}

#[tokio::test]
async fn flush_waits_for_every_outstanding_receipt() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "flush").await;
    within(producer.flush()).await.unwrap(); // nothing outstanding
    mock.pause_receipts(true);
    let mut receipts = enqueue_texts(&producer, 0..3).await;
    within(mock.wait_for_held_receipts(3)).await;
    let mut flush = Box::pin(producer.flush());
    assert!(futures::poll!(&mut flush).is_pending());
    mock.pause_receipts(false);
    within(flush).await.unwrap();
    for receipt in receipts.iter_mut() {
        let id = receipt
            .now_or_never()
            .expect("resolved before flush returned");
        id.unwrap();
    }
}

#[tokio::test]
async fn close_waits_for_receipts_then_closes_with_1000() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "close").await;
    let clone = producer.clone();
    mock.pause_receipts(true);
    let receipts = enqueue_texts(&producer, 0..3).await;
    within(mock.wait_for_held_receipts(3)).await;
    let mut close = Box::pin(producer.close());
    assert!(futures::poll!(&mut close).is_pending());
    assert!(mock.client_closes().is_empty());
    mock.pause_receipts(false);
    within(close).await.unwrap();
    all_ok(receipts).await;
    let closes = mock.client_closes();
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].code, Some(1000));
    let kinds: Vec<ClientFrameKind> = mock.commands().into_iter().map(|c| c.kind).collect();
    assert!(matches!(kinds.last(), Some(ClientFrameKind::Close)));
    // Every clone is closed.
    let late = clone.send(Message::text("late")).await;
    assert!(matches!(late, Err(Error::StreamClosed)), "{late:?}");
    within(clone.close()).await.unwrap();
}

#[tokio::test]
async fn dropping_every_handle_still_delivers_what_was_enqueued() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "dropped").await;
    mock.pause_receipts(true);
    let receipts = enqueue_texts(&producer, 0..2).await;
    drop(producer);
    within(mock.wait_for_held_receipts(2)).await;
    assert!(mock.client_closes().is_empty());
    mock.pause_receipts(false);
    all_ok(receipts).await;
    within(mock.wait_for_client_closes(1)).await;
    assert_eq!(mock.client_closes()[0].code, Some(1000));
}

#[tokio::test]
async fn a_reconnect_resends_unconfirmed_messages_in_order() {
    let mock = MockPulsar::start().await.unwrap();
    let client = fast_client(&mock);
    let (name, _) = topic("resend");
    let producer = producer(&client, "resend").await;
    // Stored, but the receipts are lost with the connection.
    mock.pause_receipts(true);
    let receipts = enqueue_texts(&producer, 0..20).await;
    within(mock.wait_for_held_receipts(20)).await;
    let mut changes = producer.connection_events();
    mock.drop_connections();
    mock.pause_receipts(false);
    mock.fail_handshakes(503, "busy", 2);
    let ids = all_ok(receipts).await;
    // 1 + 2 refused + 1 accepted.
    assert_eq!(mock.handshakes().len(), 4);
    let mut seen = Vec::new();
    while seen.len() < 5 {
        match within(changes.next()).await.unwrap() {
            ConnectionEvent::Connected { connection: 1 } => {} // may come late
            change => seen.push(format!("{change:?}")),
        }
    }
    assert!(seen[0].starts_with("Disconnected"), "{seen:?}");
    for (i, change) in seen[1..4].iter().enumerate() {
        assert!(
            change.starts_with(&format!("Reconnecting {{ attempt: {}", i + 1)),
            "{seen:?}"
        );
    }
    assert_eq!(seen[4], "Connected { connection: 2 }");
    // At-least-once: each message is stored twice, in order both times,
    // and the receipts name the second copies.
    let events = read_back(&client, "resend", 40).await;
    let texts: Vec<String> = events
        .iter()
        .map(|e| e.text().unwrap().to_string())
        .collect();
    let once: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, [once.clone(), once].concat());
    let second_copies: Vec<MessageId> = events[20..]
        .iter()
        .map(|e| e.message_id().clone())
        .collect();
    assert_eq!(ids, second_copies);
    assert_eq!(mock.message_ids(&name).len(), 40);
    // The same contexts were re-sent.
    let frames = producer_frames(&mock);
    assert_eq!(frames[..20], frames[20..40]);
    within(producer.send(Message::text("after"))).await.unwrap();
}

// Two threads: the mock, the chaos and the producer run at the same time, so
// the drops hit frames in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_dropped_mid_stream_lose_nothing() {
    let mock = MockPulsar::start().await.unwrap();
    let client = fast_client(&mock);
    let (name, topic) = topic("mid-stream");
    let producer = client
        .producer(topic)
        .max_in_flight(100)
        .create()
        .await
        .unwrap();
    const N: usize = 3000;
    let chaos = {
        let mock = mock.clone();
        let name = name.clone();
        tokio::spawn(async move {
            // First drop: at least 20 messages stored whose receipts are lost.
            mock.wait_for_messages(&name, 500).await;
            mock.pause_receipts(true);
            mock.wait_for_held_receipts(20).await;
            mock.drop_connections();
            mock.pause_receipts(false);
            // Second drop: wherever the stream is.
            mock.wait_for_messages(&name, 1500).await;
            mock.drop_connections();
        })
    };
    let mut receipts = Vec::new();
    for i in 0..N {
        receipts.push(
            within(producer.enqueue(Message::text(i.to_string())))
                .await
                .unwrap(),
        );
    }
    let ids = all_ok(receipts).await;
    within(chaos).await.unwrap();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids grow with the order of sends"
    );
    within(mock.wait_for_handshakes(3)).await;
    // Every message is in the topic at least once, and their first copies
    // are in the order they were sent.
    let stored = mock.message_ids(&name).len();
    assert!(
        stored >= N + 20,
        "the lost receipts' messages are stored twice: {stored}"
    );
    let events = read_back(&client, "mid-stream", stored).await;
    let mut seen = HashSet::new();
    let mut first_copies = Vec::new();
    for event in &events {
        let n: usize = event.text().unwrap().parse().unwrap();
        if seen.insert(n) {
            first_copies.push(n);
        }
    }
    assert_eq!(first_copies, (0..N).collect::<Vec<_>>());
    within(producer.close()).await.unwrap();
}

#[tokio::test]
async fn when_the_policy_gives_up_unconfirmed_sends_fail_with_a_retryable_error() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("give-up");
    let producer = client
        .producer(topic)
        .reconnect_policy(NeverReconnect)
        .create()
        .await
        .unwrap();
    mock.pause_receipts(true);
    let receipts = enqueue_texts(&producer, 0..3).await;
    within(mock.wait_for_held_receipts(3)).await;
    let mut changes = producer.connection_events();
    mock.drop_connections();
    for receipt in receipts {
        let error = within(receipt).await.unwrap_err();
        assert!(
            matches!(error, Error::Closed { code: 1006, .. }),
            "{error:?}"
        );
        assert!(error.is_retryable());
    }
    let later = within(producer.send(Message::text("later"))).await;
    assert!(
        matches!(later, Err(Error::Closed { code: 1006, .. })),
        "{later:?}"
    );
    assert!(matches!(
        within(producer.flush()).await,
        Err(Error::Closed { .. })
    ));
    assert!(matches!(
        within(producer.close()).await,
        Err(Error::Closed { .. })
    ));
    assert_eq!(mock.handshakes().len(), 1);
    let mut seen = Vec::new();
    while let Some(change) = within(changes.next()).await {
        if !matches!(change, ConnectionEvent::Connected { .. }) {
            seen.push(change);
        }
    }
    assert!(
        matches!(
            seen.as_slice(),
            [
                ConnectionEvent::Disconnected { .. },
                ConnectionEvent::GaveUp {
                    error: Error::Closed { code: 1006, .. }
                }
            ]
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn ten_thousand_pipelined_sends_are_all_confirmed() {
    let (mock, client) = setup().await;
    let (name, _) = topic("many");
    let producer = producer(&client, "many").await;
    const N: usize = 10_000;
    let messages = stream::iter(0..N).map(|i| Ok(Message::text(i.to_string())));
    within(messages.forward(producer.sink())).await.unwrap();
    assert_eq!(producer.in_flight(), 0);
    assert_eq!(mock.message_ids(&name).len(), N);
    let events = read_back(&client, "many", N).await;
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.text().unwrap(), i.to_string());
    }
    // And from many tasks at once through clones, with send().
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let producer = producer.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..250 {
                    ids.push(producer.send(Message::text(format!("{t}-{i}"))).await?);
                }
                Ok::<_, Error>(ids)
            })
        })
        .collect();
    let mut all = HashSet::new();
    for task in tasks {
        let ids = within(task).await.unwrap().unwrap();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "one task's sends keep their order"
        );
        all.extend(ids);
    }
    assert_eq!(all.len(), 2000);
    assert_eq!(mock.message_ids(&name).len(), N + 2000);
    within(producer.close()).await.unwrap();
}

#[tokio::test]
async fn the_sink_reports_a_refused_message_once_and_goes_on() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "sink").await;
    let mut sink = producer.sink();
    mock.fail_next_sends(8, "topic terminated", 1);
    let error = within(sink.send(Message::text("refused")))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::SendFailed { code: 8, .. }),
        "{error:?}"
    );
    within(sink.send(Message::text("accepted"))).await.unwrap();
    assert_eq!(sink.pending(), 0);
    within(sink.close()).await.unwrap();
    let closed = within(sink.send(Message::text("after close"))).await;
    assert!(matches!(closed, Err(Error::StreamClosed)), "{closed:?}");
    within(producer.close()).await.unwrap();
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
