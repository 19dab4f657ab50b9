//! Producer reconnects: unconfirmed messages re-sent in order (at-least-once), connections
//! dropped mid-stream losing nothing, and unconfirmed sends failing with a retryable error when
//! the policy gives up.

use std::collections::HashSet;

use futures::StreamExt;

use super::{all_ok, enqueue_texts, fast_client, producer, producer_frames, read_back};
use crate::common::*;
use pulsar_eventstream::testing::MockPulsar;
use pulsar_eventstream::{ConnectionEvent, Error, Message, MessageId, NeverReconnect};

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
