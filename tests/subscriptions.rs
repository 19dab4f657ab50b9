//! Subscription types, pull mode, unsubscribe and many-topic streams against
//! `MockPulsar`.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::*;
use futures::StreamExt;
use pulsar_eventstream::testing::{Endpoint, MockMessage};
use pulsar_eventstream::{
    AckMode, Error, EventStream, InitialPosition, Position, PullMode, SubscriptionType,
};

#[tokio::test]
async fn two_shared_consumers_split_the_messages_with_none_lost_or_doubled() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("shared");
    const N: usize = 10_000;
    let ids = mock.publish_many(&name, numbered(N));
    let consumer = || {
        client
            .consumer(topic.clone(), "workers")
            .subscription_type(SubscriptionType::Shared)
            .initial_position(InitialPosition::Earliest)
            .subscribe()
    };
    let mut a = consumer().await.unwrap();
    let mut b = consumer().await.unwrap();
    let mut seen_a = BTreeSet::new();
    let mut seen_b = BTreeSet::new();
    while seen_a.len() + seen_b.len() < N {
        tokio::select! {
            Some(item) = a.next() => { seen_a.insert(item.unwrap().message_id().to_string()); }
            Some(item) = b.next() => { seen_b.insert(item.unwrap().message_id().to_string()); }
        }
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
    assert!(seen_a.is_disjoint(&seen_b), "no message delivered to both");
    assert!(!seen_a.is_empty() && !seen_b.is_empty(), "both got a share");
    let all: BTreeSet<String> = seen_a.union(&seen_b).cloned().collect();
    assert_eq!(all, ids.into_iter().collect::<BTreeSet<_>>());
    assert_eq!(mock.backlog(&name, "workers"), Some(0));
}

#[tokio::test]
async fn key_shared_keeps_per_key_order_across_two_consumers() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("key-shared");
    let keys = ["k0", "k1", "k2", "k3", "k4", "k5"];
    let consumer = || {
        client
            .consumer(topic.clone(), "keyed")
            .subscription_type(SubscriptionType::KeyShared)
            .initial_position(InitialPosition::Earliest)
            .subscribe()
    };
    let mut a = consumer().await.unwrap();
    let mut b = consumer().await.unwrap();
    // Both are attached before any message exists, so the key ranges are
    // stable for the whole run.
    mock.publish_many(
        &name,
        (0..1200).map(|i| MockMessage::new(format!("{i}")).key(keys[i % keys.len()])),
    );
    let mut per_key: HashMap<String, (usize, Vec<u32>)> = HashMap::new();
    let mut total = 0;
    while total < 1200 {
        let (who, event) = tokio::select! {
            Some(item) = a.next() => (0, item.unwrap()),
            Some(item) = b.next() => (1, item.unwrap()),
        };
        total += 1;
        let entry = per_key
            .entry(event.key().unwrap().to_string())
            .or_insert((who, Vec::new()));
        assert_eq!(entry.0, who, "a key stays with one consumer");
        entry.1.push(event.text().unwrap().parse().unwrap());
    }
    for (key, (_, seen)) in &per_key {
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "key {key} out of order"
        );
    }
}

#[tokio::test]
async fn failover_switches_to_the_standby_when_the_active_consumer_leaves() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("failover");
    let consumer = |consumer_name: &'static str| {
        client
            .consumer(topic.clone(), "ha")
            .subscription_type(SubscriptionType::Failover)
            .consumer_name(consumer_name)
            .subscribe()
    };
    let mut active = consumer("active").await.unwrap();
    let mut standby = consumer("standby").await.unwrap();
    let first = mock.publish(&name, MockMessage::new("to the active one"));
    assert_eq!(
        next(&mut active).await.unwrap().message_id().as_str(),
        first
    );
    active.close().await.unwrap();
    let second = mock.publish(&name, MockMessage::new("to the standby"));
    assert_eq!(
        next(&mut standby).await.unwrap().message_id().as_str(),
        second
    );
}

#[tokio::test]
async fn manual_pull_mode_delivers_exactly_the_permitted_count() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("pull-manual");
    mock.publish_many(&name, numbered(20));
    let mut events = client
        .consumer(topic, "pull")
        .initial_position(InitialPosition::Earliest)
        .pull_mode(PullMode::Manual)
        .subscribe()
        .await
        .unwrap();
    assert_eq!(mock.handshakes()[0].query["pullMode"], "true");
    // Nothing without permits: end_of_topic's answer proves the server has
    // handled everything before it, and it sent no message.
    within(events.end_of_topic()).await.unwrap();
    assert_eq!(mock.delivered(), 0);
    events.permit(3).unwrap();
    take_events(&mut events, 3).await;
    within(events.end_of_topic()).await.unwrap();
    assert_eq!(mock.delivered(), 3, "exactly three");
    events.permit(2).unwrap();
    events.permit(2).unwrap();
    take_events(&mut events, 4).await;
    within(events.end_of_topic()).await.unwrap();
    assert_eq!(mock.delivered(), 7, "permits add up");
    let permits: Vec<String> = texts(&mock)
        .into_iter()
        .filter(|t| t.contains("permit"))
        .collect();
    assert_eq!(
        permits,
        vec![
            r#"{"type":"permit","permitMessages":3}"#,
            r#"{"type":"permit","permitMessages":2}"#,
            r#"{"type":"permit","permitMessages":2}"#,
        ]
    );
    assert!(matches!(
        client
            .reader(common::topic("r").1)
            .subscribe()
            .await
            .unwrap()
            .permit(1),
        Err(Error::Unsupported(_))
    ));
}

#[tokio::test]
async fn automatic_pull_mode_never_grants_more_than_the_buffer_holds() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("pull-auto");
    const N: usize = 1000;
    let ids = mock.publish_many(&name, numbered(N));
    let mut events = client
        .consumer(topic, "pull")
        .initial_position(InitialPosition::Earliest)
        .receiver_queue_size(50)
        .pull_mode(PullMode::Automatic)
        .subscribe()
        .await
        .unwrap();
    for (i, id) in ids.iter().enumerate() {
        let event = next(&mut events).await.unwrap();
        assert_eq!(event.message_id().as_str(), id);
        // Granted so far never exceeds what was taken plus the buffer.
        let granted: u64 = texts(&mock)
            .iter()
            .filter_map(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .filter_map(|v| v.get("permitMessages").and_then(|p| p.as_u64()))
            .sum();
        assert!(
            granted <= (i as u64 + 1) + 50,
            "{granted} granted after {} taken",
            i + 1
        );
    }
    events.close().await.unwrap();
    assert_eq!(mock.backlog(&name, "pull"), Some(0));
}

#[tokio::test]
async fn unsubscribe_removes_the_subscription_and_closes() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("unsubscribe");
    mock.publish_many(&name, numbered(3));
    let mut events = client
        .consumer(topic.clone(), "temporary")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .unwrap();
    take_events(&mut events, 3).await;
    assert_eq!(mock.subscriptions(&name), vec!["temporary".to_string()]);
    within(events.unsubscribe()).await.unwrap();
    assert!(mock.subscriptions(&name).is_empty());
    assert_eq!(mock.client_closes().last().and_then(|c| c.code), Some(1000));

    // Refused while another consumer is attached: a typed error.
    let shared = || {
        client
            .consumer(topic.clone(), "busy")
            .subscription_type(SubscriptionType::Shared)
            .subscribe()
    };
    let one = shared().await.unwrap();
    let _two = shared().await.unwrap();
    let refused = within(one.unsubscribe()).await;
    assert!(
        matches!(refused, Err(Error::UnsubscribeFailed(_))),
        "{refused:?}"
    );
    assert_eq!(mock.subscriptions(&name), vec!["busy".to_string()]);
}

#[tokio::test]
async fn a_merged_stream_tags_every_event_with_its_topic() {
    let (mock, client) = setup().await;
    let names = [
        "InteractionCreated",
        "InteractionDeleted",
        "AgentStatusChange",
    ];
    let mut streams = Vec::new();
    let mut expected = BTreeSet::new();
    for n in names {
        let (text, topic) = topic(n);
        for id in mock.publish_many(&text, numbered(50)) {
            expected.insert((text.clone(), id));
        }
        streams.push(
            client
                .reader(topic)
                .position(Position::Earliest)
                .subscribe()
                .await
                .unwrap(),
        );
    }
    let mut merged = EventStream::merge(streams);
    assert_eq!(merged.len(), 3);
    let mut seen = BTreeSet::new();
    let mut last_per_topic: HashMap<String, u64> = HashMap::new();
    while seen.len() < expected.len() {
        let event = within(merged.next()).await.unwrap().unwrap();
        let topic = event.topic().expect("tagged").to_string();
        let n = number(&event);
        if let Some(prev) = last_per_topic.insert(topic.clone(), n) {
            assert!(n > prev, "each topic keeps its order");
        }
        seen.insert((topic, event.message_id().to_string()));
    }
    assert_eq!(seen, expected);
    merged.close().await.unwrap();
}

#[tokio::test]
async fn multi_topic_and_pattern_consumers_use_the_v3_endpoint() {
    let (mock, client) = setup().await;
    let (name_a, a) = topic("multi-a");
    let (name_b, b) = topic("multi-b");
    let ids_a = mock.publish_many(&name_a, numbered(40));
    let ids_b = mock.publish_many(&name_b, numbered(25));
    // Not matched by the pattern below.
    mock.publish_many(&topic("other").0, numbered(5));

    // MockPulsar serves the v3 endpoint as the real broker-embedded service does (checked on
    // Pulsar 4.0.7): every topic's messages, in order per topic, in frames that do not say
    // which topic they come from.
    let mut events = client
        .multi_topic_consumer([a.clone(), b.clone()], "all of them")
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .unwrap();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for event in take_events(&mut events, 65).await {
        assert!(event.topic().is_none(), "the server does not say");
        assert!(seen.insert(event.message_id().to_string()), "no duplicate");
        event.ack().unwrap();
    }
    let expected: BTreeSet<String> = ids_a.iter().chain(&ids_b).cloned().collect();
    assert_eq!(seen, expected, "every event of both topics");
    // Each ack reached the subscription of its own topic, in delivery order.
    within(mock.wait_for_acks(&name_a, "all of them", 40)).await;
    within(mock.wait_for_acks(&name_b, "all of them", 25)).await;
    assert_eq!(mock.acks(&name_a, "all of them"), ids_a);
    assert_eq!(mock.acks(&name_b, "all of them"), ids_b);
    assert_eq!(mock.backlog(&name_a, "all of them"), Some(0));
    assert_eq!(mock.backlog(&name_b, "all of them"), Some(0));
    events.close().await.unwrap();

    let mut pattern = client
        .pattern_consumer("persistent://acme/events/multi-.*", "by pattern")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .unwrap();
    let mut per_topic: HashMap<bool, Vec<String>> = HashMap::new();
    for event in take_events(&mut pattern, 65).await {
        assert!(event.topic().is_none());
        let id = event.message_id().to_string();
        per_topic.entry(ids_a.contains(&id)).or_default().push(id);
    }
    assert_eq!(per_topic[&true], ids_a, "topic a complete, in order");
    assert_eq!(per_topic[&false], ids_b, "topic b complete, in order");
    // Auto mode: the last event is acked on close.
    pattern.close().await.unwrap();
    assert_eq!(mock.backlog(&name_a, "by pattern"), Some(0));
    assert_eq!(mock.backlog(&name_b, "by pattern"), Some(0));
    assert!(mock.subscriptions(&topic("other").0).is_empty());

    let handshakes = mock.handshakes();
    assert_eq!(handshakes[0].endpoint, Endpoint::MultiTopicConsumer);
    assert_eq!(handshakes[0].path, "/ws/v3/consumer/all%20of%20them");
    assert_eq!(handshakes[0].query["topics"], format!("{a},{b}"));
    assert_eq!(handshakes[1].path, "/ws/v3/consumer/by%20pattern");
    assert_eq!(
        handshakes[1].query["topicsPattern"],
        "persistent://acme/events/multi-.*"
    );
}
