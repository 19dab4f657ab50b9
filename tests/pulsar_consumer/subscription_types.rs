//! Real broker: the subscription types. Shared consumers split the messages, a busy Exclusive
//! subscription refuses a second consumer, Key_Shared keeps each key on one consumer in order,
//! and Failover switches to the standby.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;

use super::{broker, client, BACKLOG_WAIT};
use crate::events::{self, *};
use crate::ws_producer::{produce_texts, Outgoing, WsProducer};
use pulsar_eventstream::{Error, InitialPosition, MessageId, SubscriptionType};

#[tokio::test]
async fn two_shared_consumers_split_the_messages_with_none_lost_or_doubled() {
    let b = broker();
    let topic = b.unique_topic("consumer-shared");
    let c = client(&b);
    let consumer = || {
        c.consumer(events::topic(&topic), "workers")
            .subscription_type(SubscriptionType::Shared)
            .initial_position(InitialPosition::Earliest)
            .subscribe()
    };
    // Both attached before anything is published, so the broker has two to dispatch to.
    let mut one = consumer().await.expect("first consumer");
    let mut two = consumer().await.expect("second consumer");
    const N: usize = 2000;
    let ids: BTreeSet<MessageId> = produce_texts(&b, &topic, numbered("s-", 0..N))
        .await
        .iter()
        .map(|w| id(w))
        .collect();
    let mut seen_one = BTreeSet::new();
    let mut seen_two = BTreeSet::new();
    let mut deliveries = 0;
    while seen_one.len() + seen_two.len() < N {
        let (who, item) = within("shared consumers", async {
            tokio::select! {
                Some(item) = one.next() => (1, item),
                Some(item) = two.next() => (2, item),
            }
        })
        .await;
        let event = item.expect("event");
        deliveries += 1;
        let fresh = match who {
            1 => seen_one.insert(event.message_id().clone()),
            _ => seen_two.insert(event.message_id().clone()),
        };
        assert!(fresh, "{} delivered twice to consumer {who}", text(&event));
    }
    assert_eq!(deliveries, N);
    assert!(seen_one.is_disjoint(&seen_two), "no message went to both");
    assert!(
        !seen_one.is_empty() && !seen_two.is_empty(),
        "both got a share"
    );
    let all: BTreeSet<MessageId> = seen_one.union(&seen_two).cloned().collect();
    assert_eq!(all, ids);
    one.close().await.expect("close");
    two.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "workers", 0, BACKLOG_WAIT).await,
        Some(0)
    );
}

#[tokio::test]
async fn a_second_consumer_on_a_busy_exclusive_subscription_gets_conflict() {
    let b = broker();
    let topic = b.unique_topic("consumer-exclusive");
    let c = client(&b);
    let consumer = || {
        c.consumer(events::topic(&topic), "only-one")
            .subscription_type(SubscriptionType::Exclusive)
            .subscribe()
    };
    let mut first = consumer().await.expect("first consumer");
    let refused = consumer().await;
    match &refused {
        Err(Error::Conflict { body }) => {
            assert!(
                body.contains("Exclusive consumer is already connected"),
                "{body}"
            )
        }
        other => panic!("expected Error::Conflict, got {other:?}"),
    }
    // The refusal did not disturb the first one.
    let wire = WsProducer::connect(&b, &topic)
        .await
        .send(Outgoing::text("still mine"))
        .await;
    let event = next_event(&mut first, "first consumer").await;
    assert_eq!(event.message_id(), &id(&wire));
    first.close().await.expect("close");
}

#[tokio::test]
async fn key_shared_keeps_each_key_on_one_consumer_in_order() {
    let b = broker();
    let topic = b.unique_topic("consumer-key-shared");
    let c = client(&b);
    let consumer = || {
        c.consumer(events::topic(&topic), "keyed")
            .subscription_type(SubscriptionType::KeyShared)
            .initial_position(InitialPosition::Earliest)
            .subscribe()
    };
    let mut one = consumer().await.expect("first consumer");
    let mut two = consumer().await.expect("second consumer");
    const N: usize = 1600;
    const KEYS: usize = 16;
    let mut producer = WsProducer::connect(&b, &topic).await;
    producer
        .send_all((0..N).map(|i| Outgoing::text(i.to_string()).key(format!("k{}", i % KEYS))))
        .await;
    producer.close().await;
    let mut per_key: HashMap<String, (u8, Vec<usize>)> = HashMap::new();
    for _ in 0..N {
        let (who, item) = within("key-shared consumers", async {
            tokio::select! {
                Some(item) = one.next() => (1u8, item),
                Some(item) = two.next() => (2u8, item),
            }
        })
        .await;
        let event = item.expect("event");
        let key = event.key().expect("keyed").to_string();
        let entry = per_key.entry(key.clone()).or_insert((who, Vec::new()));
        assert_eq!(entry.0, who, "key {key} stays with one consumer");
        entry.1.push(text(&event).parse().expect("number"));
    }
    assert_eq!(per_key.len(), KEYS);
    for (key, (_, seen)) in &per_key {
        let k: usize = key[1..].parse().unwrap();
        let expected: Vec<usize> = (0..N).filter(|i| i % KEYS == k).collect();
        assert_eq!(seen, &expected, "key {key}: every message once, in order");
    }
    let owners: BTreeSet<u8> = per_key.values().map(|(who, _)| *who).collect();
    assert_eq!(owners.len(), 2, "both consumers own keys");
    one.close().await.expect("close");
    two.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "keyed", 0, BACKLOG_WAIT).await,
        Some(0)
    );
}

#[tokio::test]
async fn failover_switches_to_the_standby_when_the_active_consumer_closes() {
    let b = broker();
    let topic = b.unique_topic("consumer-failover");
    let c = client(&b);
    let consumer = |name: &'static str| {
        c.consumer(events::topic(&topic), "ha")
            .subscription_type(SubscriptionType::Failover)
            .consumer_name(name)
            .subscribe()
    };
    let mut a = consumer("a").await.expect("consumer a");
    let mut z = consumer("z").await.expect("consumer z");
    let mut producer = WsProducer::connect(&b, &topic).await;
    let first = producer.send(Outgoing::text("to the active one")).await;
    let (who, item) = within("the active consumer", async {
        tokio::select! {
            Some(item) = a.next() => ('a', item),
            Some(item) = z.next() => ('z', item),
        }
    })
    .await;
    assert_eq!(item.expect("event").message_id(), &id(&first));
    let (active, mut standby) = if who == 'a' { (a, z) } else { (z, a) };
    active.close().await.expect("close the active one"); // acks the first message
    let second = producer.send(Outgoing::text("to the standby")).await;
    producer.close().await;
    let event = next_event(&mut standby, "the standby").await;
    assert_eq!(
        event.message_id(),
        &id(&second),
        "the standby takes over, the first message is not redelivered"
    );
    standby.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "ha", 0, BACKLOG_WAIT).await,
        Some(0)
    );
}
