//! Producer messages and receipts: every field as the server stores it and the reader reads it
//! back, receipts matched by context when answered out of order, typed send errors, and an
//! oversized message refused before it is sent.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use futures::SinkExt;
use serde_json::{json, Value};

use super::{all_ok, enqueue_texts, producer, producer_frames, read_back};
use crate::common::*;
use pulsar_eventstream::testing::RawFrame;
use pulsar_eventstream::{Error, Message, MessageId};

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
