//! Reader behaviour against `MockPulsar`: positions, options, flow control,
//! control frames and end of topic.

mod common;

use common::*;
use pulsar_eventstream::testing::MockMessage;
use pulsar_eventstream::{MessageId, Position};

#[tokio::test]
async fn earliest_reads_everything_in_order_with_metadata() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("earliest");
    let ids = mock.publish_many(
        &name,
        [
            MockMessage::new("first")
                .key("k-1")
                .property("a", "1")
                .event_time("2024-05-01T10:00:00.5Z"),
            MockMessage::new("second").publish_time("2024-05-01T11:00:00+01:00"),
            MockMessage::new(vec![0u8, 159, 255]),
        ],
    );
    let mut events = client
        .reader(topic.clone())
        .position(Position::Earliest)
        .subscribe()
        .await
        .unwrap();
    let got = take_events(&mut events, 3).await;
    let got_ids: Vec<&str> = got.iter().map(|e| e.message_id().as_str()).collect();
    assert_eq!(got_ids, ids);
    assert_eq!(got[0].text().unwrap(), "first");
    assert_eq!(got[0].key(), Some("k-1"));
    assert_eq!(got[0].property("a"), Some("1"));
    assert_eq!(
        got[0].event_time().unwrap().timestamp_millis(),
        1_714_557_600_500
    );
    assert_eq!(got[0].topic(), Some(&topic));
    assert_eq!(got[1].publish_time().unwrap().timestamp(), 1_714_557_600);
    assert_eq!(got[1].key(), None);
    assert_eq!(&got[2].payload()[..], &[0u8, 159, 255]);
    assert!(matches!(
        got[2].text(),
        Err(pulsar_eventstream::Error::PayloadNotUtf8 { .. })
    ));
    let handshake = &mock.handshakes()[0];
    assert_eq!(
        handshake.path,
        "/ws/v2/reader/persistent/acme/events/earliest"
    );
    assert_eq!(
        handshake.query.get("messageId").map(String::as_str),
        Some("earliest")
    );
    events.close().await.unwrap();
}

#[tokio::test]
async fn latest_sees_only_later_messages() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("latest");
    mock.publish_many(&name, numbered(3));
    let mut events = client.reader(topic).subscribe().await.unwrap();
    assert_eq!(mock.handshakes()[0].query["messageId"], "latest");
    let later = mock.publish_many(
        &name,
        (10..12).map(|i| MockMessage::new(format!("{{\"n\":{i}}}"))),
    );
    let got = take_events(&mut events, 2).await;
    assert_eq!(got.iter().map(number).collect::<Vec<_>>(), vec![10, 11]);
    assert_eq!(got[0].message_id().as_str(), later[0]);
}

#[tokio::test]
async fn message_id_start_is_exclusive_and_sent_verbatim() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("exclusive");
    let ids = mock.publish_many(&name, numbered(5));
    let start: MessageId = ids[1].parse().unwrap();
    let mut events = client
        .reader(topic)
        .position(Position::MessageId(start))
        .subscribe()
        .await
        .unwrap();
    let got = take_events(&mut events, 3).await;
    assert_eq!(got.iter().map(number).collect::<Vec<_>>(), vec![2, 3, 4]);
    assert_eq!(mock.handshakes()[0].query["messageId"], ids[1]);
}

#[tokio::test]
async fn message_ids_with_plus_and_slash_reach_the_server_intact() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("encoding");
    mock.publish_many(&name, numbered(1));
    // Find a position whose base64 has `+`, `/` and `=`: a raw `+` in a query
    // would arrive as a space.
    let id = (0..100_000u64)
        .map(|e| MessageId::from_parts(7, e, -1, -1, 0))
        .find(|id| id.as_str().contains('+') && id.as_str().contains('/'))
        .expect("some entry encodes with + and /");
    let events = client
        .reader(topic)
        .position(Position::MessageId(id.clone()))
        .subscribe()
        .await
        .unwrap();
    let handshake = &mock.handshakes()[0];
    assert_eq!(handshake.query["messageId"], id.as_str());
    let raw = handshake.raw_query.clone().unwrap();
    assert!(raw.contains("%2B") && raw.contains("%2F"), "{raw}");
    events.close().await.unwrap();
}

#[tokio::test]
async fn reader_options_become_query_parameters() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("options");
    let events = client
        .reader(topic)
        .reader_name("audit reader+1")
        .receiver_queue_size(250)
        .subscribe()
        .await
        .unwrap();
    let query = &mock.handshakes()[0].query;
    assert_eq!(query["readerName"], "audit reader+1");
    assert_eq!(query["receiverQueueSize"], "250");
    assert_eq!(query["messageId"], "latest");
    events.close().await.unwrap();
}

#[tokio::test]
async fn a_reader_that_keeps_up_never_stalls_at_the_window() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("window");
    const N: usize = 20_000;
    let ids = mock.publish_many(&name, numbered(N));
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .subscribe()
        .await
        .unwrap();
    for (i, expected) in ids.iter().enumerate() {
        let event = next(&mut events).await.unwrap();
        assert_eq!(event.message_id().as_str(), expected, "event {i}");
    }
    events.close().await.unwrap();
    assert_eq!(mock.delivered(), N);
    // Every event was acked (flow control), in order, exactly once.
    let acks: Vec<String> = texts(&mock)
        .into_iter()
        .filter_map(|t| {
            let v: serde_json::Value = serde_json::from_str(&t).ok()?;
            v.get("messageId")?.as_str().map(str::to_string)
        })
        .collect();
    assert_eq!(acks, ids);
}

#[tokio::test]
async fn control_frames_never_surface_as_events() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("control");
    let mut events = client.reader(topic).subscribe().await.unwrap();
    mock.send_raw(pulsar_eventstream::testing::RawFrame::Text(
        r#"{"endOfTopic":false}"#.into(),
    ));
    mock.send_raw(pulsar_eventstream::testing::RawFrame::Text(
        r#"{"type":"notice","detail":1}"#.into(),
    ));
    let id = mock.publish(&name, MockMessage::new("real"));
    let event = next(&mut events).await.unwrap();
    assert_eq!(event.message_id().as_str(), id);
    assert_eq!(event.text().unwrap(), "real");
}

#[tokio::test]
async fn end_of_topic_is_answered_and_never_an_event() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("eot");
    mock.publish_many(&name, numbered(2));
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .subscribe()
        .await
        .unwrap();
    assert!(!within(events.end_of_topic()).await.unwrap());
    mock.terminate(&name);
    take_events(&mut events, 2).await;
    assert!(within(events.end_of_topic()).await.unwrap());
    let asked = texts(&mock)
        .iter()
        .filter(|t| t.as_str() == r#"{"type":"isEndOfTopic"}"#)
        .count();
    assert_eq!(asked, 2);
}
