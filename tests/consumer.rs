//! Consumer behaviour against `MockPulsar`: options on the wire, ack modes
//! as the server sees them, negative acks, and `close()`.

mod common;

use std::time::Duration;

use common::*;
use pulsar_eventstream::testing::{Endpoint, MockMessage};
use pulsar_eventstream::{AckMode, Error, InitialPosition, SubscriptionType};

#[tokio::test]
async fn every_consumer_option_reaches_the_server_as_its_query_parameter() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("options");
    let (_, dlq) = self::topic("options-dead");
    let events = client
        .consumer(topic, "billing sub")
        .subscription_type(SubscriptionType::KeyShared)
        .initial_position(InitialPosition::Earliest)
        .consumer_name("worker-1")
        .receiver_queue_size(500)
        .ack_timeout(Duration::from_secs(30))
        .negative_ack_redelivery_delay(Duration::from_millis(1500))
        .max_redeliver_count(4)
        .dead_letter_topic(dlq)
        .priority_level(2)
        .subscribe()
        .await
        .unwrap();
    let handshake = &mock.handshakes()[0];
    assert_eq!(handshake.endpoint, Endpoint::Consumer);
    assert_eq!(
        handshake.path,
        "/ws/v2/consumer/persistent/acme/events/options/billing%20sub"
    );
    assert_eq!(handshake.subscription.as_deref(), Some("billing sub"));
    let q = &handshake.query;
    let expected = [
        ("subscriptionType", "Key_Shared"),
        ("subscriptionInitialPosition", "Earliest"),
        ("consumerName", "worker-1"),
        ("receiverQueueSize", "500"),
        ("ackTimeoutMillis", "30000"),
        ("negativeAckRedeliveryDelay", "1500"),
        ("maxRedeliverCount", "4"),
        ("deadLetterTopic", "persistent://acme/events/options-dead"),
        ("priorityLevel", "2"),
    ];
    for (key, value) in expected {
        assert_eq!(q.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert_eq!(q.len(), expected.len(), "no other parameter: {q:?}");
    events.close().await.unwrap();
}

#[tokio::test]
async fn each_subscription_type_has_its_exact_name() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("types");
    let kinds = [
        (SubscriptionType::Exclusive, "Exclusive"),
        (SubscriptionType::Shared, "Shared"),
        (SubscriptionType::Failover, "Failover"),
        (SubscriptionType::KeyShared, "Key_Shared"),
    ];
    for (i, (kind, name)) in kinds.into_iter().enumerate() {
        let events = client
            .consumer(topic.clone(), format!("sub-{i}"))
            .subscription_type(kind)
            .subscribe()
            .await
            .unwrap();
        assert_eq!(mock.handshakes()[i].query["subscriptionType"], name);
        events.close().await.unwrap();
    }
}

#[tokio::test]
async fn invalid_options_fail_before_anything_is_sent() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("invalid");
    let (_, dlq) = self::topic("invalid-dlq");
    let bad = [
        client
            .consumer(topic.clone(), "s")
            .ack_timeout(Duration::from_millis(500)),
        client.consumer(topic.clone(), "s").dead_letter_topic(dlq),
        client.consumer(topic.clone(), "s").max_redeliver_count(0),
        client.consumer(topic.clone(), ""),
        client.consumer(topic.clone(), "a/b"),
    ];
    for builder in bad {
        assert!(matches!(builder.subscribe().await, Err(Error::Config(_))));
    }
    assert!(mock.handshakes().is_empty());
}

#[tokio::test]
async fn auto_ack_acks_each_event_when_the_next_is_requested_and_on_close() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("auto");
    let ids = mock.publish_many(&name, numbered(5));
    let mut events = client
        .consumer(topic, "auto")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .unwrap();
    take_events(&mut events, 2).await;
    // The first is acked because the second was requested; the second is
    // still being processed and must not be acked yet.
    // end_of_topic() is a barrier: the actor and the server handle frames in
    // order, so its answer means every earlier ack has been received.
    assert!(!within(events.end_of_topic()).await.unwrap());
    assert_eq!(mock.acks(&name, "auto"), vec![ids[0].clone()]);
    take_events(&mut events, 3).await;
    within(mock.wait_for_acks(&name, "auto", 4)).await;
    assert_eq!(mock.acks(&name, "auto"), ids[..4].to_vec());
    events.close().await.unwrap();
    assert_eq!(mock.acks(&name, "auto"), ids);
    assert_eq!(mock.backlog(&name, "auto"), Some(0));
}

#[tokio::test]
async fn manual_acks_from_other_tasks_double_acks_and_acks_after_close() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("manual");
    let ids = mock.publish_many(&name, numbered(3));
    let mut events = client
        .consumer(topic, "manual")
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .unwrap();
    let got = take_events(&mut events, 3).await;
    // Ack the last one first, from another task, after the event is gone.
    let handle = got[2].ack_handle();
    tokio::spawn(async move { handle.ack() })
        .await
        .unwrap()
        .unwrap();
    got[0].ack().unwrap();
    got[0].ack().unwrap(); // harmless: not sent twice
    within(mock.wait_for_acks(&name, "manual", 2)).await;
    assert_eq!(
        mock.acks(&name, "manual"),
        vec![ids[2].clone(), ids[0].clone()]
    );
    let late = got[1].ack_handle();
    events.close().await.unwrap();
    assert_eq!(
        mock.acks(&name, "manual").len(),
        2,
        "nothing acked by close in manual mode"
    );
    assert_eq!(mock.backlog(&name, "manual"), Some(1));
    assert!(matches!(late.ack(), Err(Error::StreamClosed)));
}

#[tokio::test]
async fn on_receive_acks_before_the_application_reads() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("on-receive");
    let ids = mock.publish_many(&name, numbered(10));
    let mut events = client
        .consumer(topic, "fast")
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::OnReceive)
        .subscribe()
        .await
        .unwrap();
    // Nothing has been read by the application yet.
    within(mock.wait_for_acks(&name, "fast", 10)).await;
    assert_eq!(mock.acks(&name, "fast"), ids);
    let got = take_events(&mut events, 10).await;
    assert_eq!(
        got.iter().map(number).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    events.close().await.unwrap();
    assert_eq!(mock.acks(&name, "fast").len(), 10, "no second ack");
}

#[tokio::test]
async fn nack_is_redelivered_with_a_higher_redelivery_count() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("nack");
    let ids = mock.publish_many(
        &name,
        [MockMessage::new("poison"), MockMessage::new("fine")],
    );
    let mut events = client
        .consumer(topic, "nack")
        .initial_position(InitialPosition::Earliest)
        .subscription_type(SubscriptionType::Shared)
        .negative_ack_redelivery_delay(Duration::ZERO)
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .unwrap();
    let first = next(&mut events).await.unwrap();
    assert_eq!(
        (first.message_id().as_str(), first.redelivery_count()),
        (ids[0].as_str(), 0)
    );
    first.nack().unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = next(&mut events).await.unwrap();
        seen.push((event.message_id().to_string(), event.redelivery_count()));
        event.ack().unwrap();
    }
    seen.sort();
    let mut expected = vec![(ids[0].clone(), 1), (ids[1].clone(), 0)];
    expected.sort();
    assert_eq!(seen, expected);
    assert_eq!(mock.nacks(&name, "nack"), vec![ids[0].clone()]);
    events.close().await.unwrap();
    assert_eq!(mock.backlog(&name, "nack"), Some(0));
}

#[tokio::test]
async fn nack_on_a_reader_is_a_typed_error() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("reader-nack");
    mock.publish(&name, MockMessage::new("x"));
    let mut events = client
        .reader(topic)
        .position(pulsar_eventstream::Position::Earliest)
        .subscribe()
        .await
        .unwrap();
    let event = next(&mut events).await.unwrap();
    assert!(matches!(event.nack(), Err(Error::Unsupported(_))));
}

#[tokio::test]
async fn close_flushes_pending_acks_then_closes_with_1000() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("close");
    let ids = mock.publish_many(&name, numbered(50));
    let mut events = client
        .consumer(topic, "close")
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .unwrap();
    for event in take_events(&mut events, 50).await {
        event.ack().unwrap();
    }
    // No waiting: close() itself must get every ack out before its Close.
    events.close().await.unwrap();
    assert_eq!(mock.acks(&name, "close"), ids);
    let closes = mock.client_closes();
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].code, Some(1000));
    let frames = mock.commands();
    let close_at = frames
        .iter()
        .position(|f| matches!(f.kind, pulsar_eventstream::testing::ClientFrameKind::Close))
        .unwrap();
    assert_eq!(
        close_at,
        frames.len() - 1,
        "the Close comes after every ack"
    );
}

#[tokio::test]
async fn a_copy_resent_on_the_same_connection_is_not_shown_twice() {
    // After a topic unload the proxy re-sends unacked messages on the same
    // session (seen on Pulsar 4.0.7): the application must not get them
    // twice, and the server must get one ack per copy it counted.
    let (mock, client) = setup().await;
    let (name, topic) = topic("same-session-copy");
    let first = mock.publish(&name, MockMessage::new("{}"));
    let mut events = client
        .consumer(topic, "dedup")
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .unwrap();
    let event = next(&mut events).await.unwrap();
    assert_eq!(event.message_id().as_str(), first);
    let copy = format!(
        r#"{{"messageId":"{first}","payload":"e30=","properties":{{}},"publishTime":"2026-11-23T10:00:00Z","redeliveryCount":0}}"#
    );
    mock.send_raw(pulsar_eventstream::testing::RawFrame::Text(copy));
    let second = mock.publish(&name, MockMessage::new("next"));
    let after = next(&mut events).await.unwrap();
    assert_eq!(
        after.message_id().as_str(),
        second,
        "the copy was not shown"
    );
    event.ack().unwrap();
    after.ack().unwrap();
    within(events.end_of_topic()).await.unwrap();
    assert_eq!(
        mock.acks(&name, "dedup"),
        vec![first.clone(), first, second]
    );
    events.close().await.unwrap();
}
