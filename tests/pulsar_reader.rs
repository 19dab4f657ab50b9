//! Real broker (Pulsar 4.0.7 standalone): the reader endpoint.
//!
//! Start positions (`Earliest`, `Latest`, right after a `MessageId`, from a `FileCheckpoint`),
//! what the official Python client publishes arriving intact (payload bytes, key, properties,
//! event time, ids), and `isEndOfTopic`. Run with `scripts/test.sh` (see docs/testing.md).

#[path = "support/broker.rs"]
mod broker;
#[path = "support/events.rs"]
mod events;
#[path = "support/ws_producer.rs"]
mod ws_producer;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use broker::{Broker, Payload, ProduceOptions, ProducedId};
use events::*;
use pulsar_eventstream::{Client, FileCheckpoint, MessageId, Position};
use ws_producer::{produce_texts, Outgoing, WsProducer};

fn broker() -> Broker {
    Broker::from_env().expect("the default broker")
}

fn client(b: &Broker) -> Client {
    Client::builder(&b.ws_url).build().expect("client")
}

/// A Python-produced id as the crate's `MessageId` (the C++ client's encoding, without
/// `batch_size`: equal to the WebSocket's by position, not by text).
fn py_id(p: &ProducedId) -> MessageId {
    MessageId::from_wire(&p.message_id_b64).expect("Python message id decodes")
}

#[tokio::test]
async fn earliest_reads_a_python_filled_topic_in_order_exactly_once() {
    let b = broker();
    let topic = b.unique_topic("reader-earliest");
    const N: usize = 200;
    let produced = b
        .python_produce(&topic, N, &ProduceOptions::default())
        .await;
    assert_eq!(produced.len(), N);

    let mut events = client(&b)
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    for (i, p) in produced.iter().enumerate() {
        let event = next_event(&mut events, "earliest reader").await;
        assert_eq!(text(&event), format!("msg-{i}"), "event {i} in order");
        let id = event.message_id();
        assert_eq!(
            (id.ledger_id(), id.entry_id()),
            (p.ledger_id, p.entry_id),
            "event {i}: the id the Python producer got"
        );
        assert_eq!(id, &py_id(p));
        assert_eq!(event.topic().map(|t| t.to_string()), Some(topic.clone()));
    }
    // Nothing doubled or left over: the next event is the one published now.
    let marker = WsProducer::connect(&b, &topic)
        .await
        .send(Outgoing::text("marker"))
        .await;
    let event = next_event(&mut events, "marker").await;
    assert_eq!(text(&event), "marker");
    assert_eq!(event.message_id(), &id(&marker));
    events.close().await.expect("close");
}

#[tokio::test]
async fn latest_sees_only_messages_published_after_subscribe() {
    let b = broker();
    let topic = b.unique_topic("reader-latest");
    produce_texts(&b, &topic, numbered("before-", 0..20)).await;

    let mut events = client(&b)
        .reader(events::topic(&topic))
        .position(Position::Latest)
        .subscribe()
        .await
        .expect("reader subscribes");
    // subscribe() returns after the proxy created its reader: what follows is "later".
    let later = produce_texts(&b, &topic, numbered("after-", 0..20)).await;
    for (i, wire) in later.iter().enumerate() {
        let event = next_event(&mut events, "latest reader").await;
        assert_eq!(text(&event), format!("after-{i}"));
        assert_eq!(event.message_id(), &id(wire));
    }
    events.close().await.expect("close");
}

#[tokio::test]
async fn a_message_id_position_starts_right_after_that_message() {
    let b = broker();
    let topic = b.unique_topic("reader-from-id");
    let produced = b
        .python_produce(&topic, 10, &ProduceOptions::default())
        .await;
    let c = client(&b);

    // The Python client's id string (`CAcQAA==`-style, no batch_size field) is accepted as a start.
    let mut events = c
        .reader(events::topic(&topic))
        .position(Position::MessageId(py_id(&produced[3])))
        .subscribe()
        .await
        .expect("reader from a Python id");
    let seen = take_events(&mut events, 6, "after msg-3").await;
    let texts: Vec<String> = seen.iter().map(text).collect();
    assert_eq!(texts, numbered("msg-", 4..10));
    for (event, p) in seen.iter().zip(&produced[4..]) {
        assert_eq!(event.message_id(), &py_id(p));
    }
    let resume_from = seen[3].message_id().clone(); // msg-7, the WebSocket's own id string
    assert_eq!(text(&seen[3]), "msg-7");
    events.close().await.expect("close");

    // An id the reader handed out resumes right after it.
    let mut events = c
        .reader(events::topic(&topic))
        .position(Position::MessageId(resume_from))
        .subscribe()
        .await
        .expect("reader from a WebSocket id");
    let seen = take_events(&mut events, 2, "after msg-7").await;
    assert_eq!(
        seen.iter().map(text).collect::<Vec<_>>(),
        ["msg-8", "msg-9"]
    );
    let marker = WsProducer::connect(&b, &topic)
        .await
        .send(Outgoing::text("marker"))
        .await;
    let event = next_event(&mut events, "marker").await;
    assert_eq!(event.message_id(), &id(&marker), "nothing in between");
    events.close().await.expect("close");
}

#[tokio::test]
async fn python_payload_key_properties_and_event_time_arrive_intact() {
    let b = broker();
    let topic = b.unique_topic("reader-interop");
    // Every byte value, invalid UTF-8 included, 64 KiB + 7.
    let payload: Vec<u8> = (0..=255u8).cycle().take(65_543).collect();
    let properties = vec![
        ("plain".to_string(), "value".to_string()),
        (
            "ünï cödé".to_string(),
            "välue ✓ \"quoted\" \\ /".to_string(),
        ),
        ("empty".to_string(), String::new()),
    ];
    let event_time_ms: u64 = 1_714_557_600_123; // 2024-05-01T10:00:00.123Z
    let key = "key/with spaces & ü";
    let before = now_ms();
    let produced = b
        .python_produce(
            &topic,
            3,
            &ProduceOptions {
                key: Some(key.into()),
                properties: properties.clone(),
                event_time_ms: Some(event_time_ms),
                payload: Payload::Bytes(payload.clone()),
                batching: false,
            },
        )
        .await;
    let after = now_ms();

    let mut events = client(&b)
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let expected_props: HashMap<String, String> = properties.into_iter().collect();
    for p in &produced {
        let event = next_event(&mut events, "interop reader").await;
        assert_eq!(event.message_id(), &py_id(p));
        assert!(event.payload()[..] == payload[..], "payload byte for byte");
        assert!(event.text().is_err(), "not UTF-8, and said so");
        assert_eq!(event.key(), Some(key));
        assert_eq!(event.properties(), &expected_props);
        assert_eq!(event.property("empty"), Some(""));
        let et = event.event_time().expect("event time parses");
        assert_eq!(et.timestamp_millis() as u64, event_time_ms, "event time");
        let pt = event.publish_time().expect("publish time parses");
        let pt = pt.timestamp_millis() as u64;
        // Same machine, so the same clock: the broker stamped it while Python was sending.
        assert!(
            before.saturating_sub(1_000) <= pt && pt <= after + 1_000,
            "publish time {pt} within [{before}, {after}] ({:?})",
            event.publish_time_raw()
        );
        assert_eq!(event.redelivery_count(), 0);
    }
    events.close().await.expect("close");
}

#[tokio::test]
async fn end_of_topic_is_false_while_open_and_true_once_terminated_and_read() {
    let b = broker();
    let topic = b.unique_topic("reader-eot");
    produce_texts(&b, &topic, numbered("m-", 0..3)).await;
    let mut events = client(&b)
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let first = next_event(&mut events, "first").await;
    assert_eq!(text(&first), "m-0");
    assert!(!within("isEndOfTopic", events.end_of_topic())
        .await
        .expect("isEndOfTopic answers"));

    b.terminate_topic(&topic).await;
    let rest = take_events(&mut events, 2, "the rest").await;
    assert_eq!(rest.iter().map(text).collect::<Vec<_>>(), ["m-1", "m-2"]);
    // The broker tells the proxy's reader "end of topic" by itself once it has read the last
    // entry of a terminated topic; nothing reaches our stream when it does. So ask until the
    // answer flips (bounded: 100 x 100 ms).
    let mut answers = Vec::new();
    for _ in 0..100 {
        let end = within("isEndOfTopic", events.end_of_topic())
            .await
            .expect("isEndOfTopic answers");
        answers.push(end);
        if end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answers.last(), Some(&true), "answers: {answers:?}");
    events.close().await.expect("close");
}

#[tokio::test]
async fn a_file_checkpoint_resumes_right_after_the_last_acknowledged_event() {
    let b = broker();
    let topic = b.unique_topic("reader-checkpoint");
    let ids = produce_texts(&b, &topic, numbered("c-", 0..100)).await;
    let path = std::env::temp_dir().join(format!(
        "pulsar-eventstream-checkpoint-{}",
        topic.rsplit('/').next().unwrap()
    ));
    let _ = std::fs::remove_file(&path);
    let c = client(&b);

    let mut events = c
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .checkpoint(FileCheckpoint::new(&path))
        .subscribe()
        .await
        .expect("reader subscribes");
    let seen = take_events(&mut events, 40, "first run").await;
    assert_eq!(
        seen.iter().map(text).collect::<Vec<_>>(),
        numbered("c-", 0..40)
    );
    // close() acks the last event handed out (auto mode) and saves the checkpoint.
    events.close().await.expect("close");

    // `Position::Latest` is ignored: the checkpoint exists.
    let mut events = c
        .reader(events::topic(&topic))
        .position(Position::Latest)
        .checkpoint(FileCheckpoint::new(&path))
        .subscribe()
        .await
        .expect("reader resumes");
    for (i, wire) in ids.iter().enumerate().skip(40) {
        let event = next_event(&mut events, "second run").await;
        assert_eq!(text(&event), format!("c-{i}"));
        assert_eq!(event.message_id(), &id(wire));
    }
    events.close().await.expect("close");
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn merged_readers_tag_every_event_with_its_topic() {
    let b = broker();
    let c = client(&b);
    let mut streams = Vec::new();
    let mut expected: Vec<(String, Vec<MessageId>)> = Vec::new();
    for name in ["merge-a", "merge-b", "merge-c"] {
        let topic = b.unique_topic(name);
        let ids = produce_texts(&b, &topic, numbered("m-", 0..30)).await;
        expected.push((topic.clone(), ids.iter().map(|w| id(w)).collect()));
        streams.push(
            c.reader(events::topic(&topic))
                .position(Position::Earliest)
                .subscribe()
                .await
                .expect("reader subscribes"),
        );
    }
    let mut merged = pulsar_eventstream::EventStream::merge(streams);
    let mut seen: HashMap<String, Vec<MessageId>> = HashMap::new();
    for _ in 0..90 {
        let event = next_event(&mut merged, "merged readers").await;
        let topic = event.topic().expect("tagged with its topic").to_string();
        let list = seen.entry(topic).or_default();
        assert_eq!(
            text(&event),
            format!("m-{}", list.len()),
            "each topic in order"
        );
        list.push(event.message_id().clone());
    }
    for (topic, ids) in &expected {
        assert_eq!(&seen[topic], ids, "{topic}");
    }
    merged.close().await.expect("close");
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}
