//! Statistics and tracing: the counters match what the server did, and a
//! captured trace of a reconnecting session holds no secret.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use pulsar_eventstream::testing::{MockMessage, RawFrame};
use pulsar_eventstream::{Client, FixedDelay, InitialPosition, Position};

#[tokio::test]
async fn counters_match_what_the_server_did() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("stats");
    const N: usize = 300;
    let ids = mock.publish_many(&name, numbered(N));
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .reconnect_policy(FixedDelay::new(Duration::from_millis(1)))
        .subscribe()
        .await
        .unwrap();
    assert!(events.stats().connected);
    let mut seen: std::collections::BTreeSet<String> = take_events(&mut events, 100)
        .await
        .iter()
        .map(|e| e.message_id().to_string())
        .collect();
    // Two bad frames, then two connection losses.
    mock.send_raw(RawFrame::Text("not json".into()));
    mock.send_raw(RawFrame::Text(
        r#"{"messageId":"!!!","payload":"e30="}"#.into(),
    ));
    let mut errors = 0;
    while errors < 2 || seen.len() < N {
        match next(&mut events).await {
            Ok(event) => assert!(seen.insert(event.message_id().to_string())),
            Err(_) => errors += 1,
        }
    }
    assert_eq!(seen, ids.iter().cloned().collect());
    // Acks as the server received them (end_of_topic is a barrier: frames
    // are handled in order): one per event (the bad frames came after the
    // 300 events, so asking for them acked the last event), plus one
    // flow-control frame per bad frame.
    within(events.end_of_topic()).await.unwrap();
    let server_acks = texts(&mock)
        .iter()
        .filter(|t| !t.contains("isEndOfTopic"))
        .count() as u64;
    let stats = events.stats();
    assert_eq!(stats.events_delivered, N as u64);
    assert_eq!(server_acks, N as u64 + 2);
    assert_eq!(stats.acks_sent, server_acks);
    assert_eq!(stats.decode_errors, 2);

    // Wait for the client's own word that it is connected again before the
    // next cut (the server's answer alone may race with the cut).
    let mut changes = events.connection_events();
    for _ in 0..2 {
        mock.drop_connections();
        next_connected(&mut changes).await;
    }
    let more = mock.publish_many(&name, numbered(50));
    for id in &more {
        assert_eq!(next(&mut events).await.unwrap().message_id().as_str(), id);
    }
    let stats = events.stats();
    assert_eq!(stats.reconnects, 2);
    assert_eq!(stats.handshake_failures, 0);
    assert_eq!(
        stats.events_delivered,
        N as u64 + 50,
        "each event exactly once"
    );
    assert!(stats.events_received >= stats.events_delivered);
    assert!(stats.bytes_received > 0);
    assert!(stats.connected);
    events.close().await.unwrap();
}

#[tokio::test]
async fn consumer_counters_count_acks_and_nacks() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("stats-consumer");
    mock.publish_many(&name, numbered(10));
    let mut events = client
        .consumer(topic, "s")
        .initial_position(InitialPosition::Earliest)
        .ack_mode(pulsar_eventstream::AckMode::Manual)
        .subscribe()
        .await
        .unwrap();
    for (i, event) in take_events(&mut events, 10).await.into_iter().enumerate() {
        if i < 7 {
            event.ack().unwrap();
        } else {
            event.nack().unwrap();
        }
    }
    let stats_before_close = events.stats();
    within(events.end_of_topic()).await.unwrap();
    assert_eq!(mock.acks(&name, "s").len(), 7);
    assert_eq!(mock.nacks(&name, "s").len(), 3);
    let stats = events.stats();
    assert_eq!((stats.acks_sent, stats.nacks_sent), (7, 3));
    assert_eq!(stats.events_delivered, 10);
    assert_eq!(stats_before_close.events_delivered, 10);
    events.close().await.unwrap();
}

/// A `Write` that appends to a shared buffer, for capturing traces.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_trace_of_a_reconnecting_session_holds_no_secret() {
    const KEY: &str = "eght_TRACE_SECRET_KEY";
    const TOKEN: &str = "TRACE.SECRET.JWT";
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = pulsar_eventstream::testing::MockPulsar::start()
        .await
        .unwrap();
    let client = Client::builder(mock.service_url())
        .api_key(KEY)
        .api_key_in_query(true)
        .token(TOKEN)
        .build()
        .unwrap();
    let (name, topic) = topic("traced");
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .reconnect_policy(FixedDelay::new(Duration::from_millis(1)))
        .subscribe()
        .await
        .unwrap();
    mock.publish(&name, MockMessage::new("one"));
    next(&mut events).await.unwrap();
    mock.fail_handshakes(503, "busy", 1);
    mock.drop_connections();
    mock.publish(&name, MockMessage::new("two"));
    next(&mut events).await.unwrap();
    events.close().await.unwrap();

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("connection lost"),
        "the trace has content:\n{text}"
    );
    assert!(text.contains("reconnecting"), "{text}");
    assert!(
        text.contains("REDACTED"),
        "URLs are shown redacted:\n{text}"
    );
    assert!(!text.contains(KEY), "API key leaked:\n{text}");
    assert!(!text.contains(TOKEN), "token leaked:\n{text}");
}

#[tokio::test]
async fn producer_counters_count_sends_receipts_and_errors() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("producer-stats");
    let producer = client.producer(topic).create().await.unwrap();
    mock.fail_next_sends(8, "broker busy", 2);
    let mut refused = 0;
    for i in 0..10 {
        let message = pulsar_eventstream::Message::text(format!("m{i}"));
        if producer.send(message).await.is_err() {
            refused += 1;
        }
    }
    assert_eq!(refused, 2);
    let stats = producer.stats();
    assert_eq!(
        (stats.frames_sent, stats.receipts, stats.send_errors),
        (10, 8, 2)
    );
    assert_eq!(mock.message_ids(&name).len(), 8);
    producer.close().await.unwrap();
}

/// With a Prometheus recorder: every event's latency is recorded (none
/// sampled away), and the `events_buffered` gauge follows the hand-off
/// queue: what arrived and was not taken yet, zero once it is all taken.
#[test]
fn exported_latency_and_buffered_gauge_follow_the_stream() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mock, client) = rt.block_on(setup());
    let (name, topic) = topic("exported");
    let label = format!("topic=\"{name}\"");
    let value = |metric: &str| -> Option<f64> {
        handle
            .render()
            .lines()
            .find(|l| l.starts_with(metric) && l.contains(&label))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    let eventually = |metric: &str, expected: f64| {
        let deadline = std::time::Instant::now() + LIMIT;
        while value(metric) != Some(expected) {
            assert!(
                std::time::Instant::now() < deadline,
                "{metric} is {:?}, not {expected}",
                value(metric)
            );
            rt.block_on(async { tokio::time::sleep(Duration::from_millis(5)).await });
        }
    };
    mock.publish_many(&name, numbered(5));
    // The stream's handles are made while it subscribes: with this recorder.
    let mut events = metrics::with_local_recorder(&recorder, || {
        rt.block_on(
            client
                .reader(topic)
                .position(Position::Earliest)
                .subscribe(),
        )
    })
    .unwrap();
    eventually("pulsar_eventstream_events_buffered", 5.0);
    rt.block_on(take_events(&mut events, 5));
    assert_eq!(value("pulsar_eventstream_events_buffered"), Some(0.0));
    mock.publish_many(&name, numbered(3));
    eventually("pulsar_eventstream_events_buffered", 3.0);
    rt.block_on(take_events(&mut events, 3));
    assert_eq!(value("pulsar_eventstream_events_buffered"), Some(0.0));
    assert_eq!(
        value("pulsar_eventstream_publish_to_receive_seconds_count"),
        Some(8.0)
    );
    rt.block_on(events.close()).unwrap();
}
