//! Real broker (Pulsar 4.0.7 standalone): the consumer endpoints.
//!
//! Acks as the broker counts them (admin stats), redelivery after a reconnect and after a nack,
//! dead letters, the subscription types, pull mode, unsubscribe, the handler API, the v3
//! multi-topic endpoint, and Python-published messages. Run with `scripts/test.sh`.

#[path = "support/broker.rs"]
mod broker;
#[path = "support/events.rs"]
mod events;
#[path = "support/ws_producer.rs"]
mod ws_producer;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use broker::{Broker, Payload, ProduceOptions};
use events::*;
use futures::StreamExt;
use pulsar_eventstream::{
    AckMode, Client, Error, InitialPosition, MessageId, Position, PullMode, SubscriptionType,
};
use ws_producer::{produce_texts, Outgoing, WsProducer};

fn broker() -> Broker {
    Broker::from_env().expect("the default broker")
}

fn client(b: &Broker) -> Client {
    Client::builder(&b.ws_url).build().expect("client")
}

/// Acks reach the broker asynchronously: this bounds how long its backlog may take to follow.
const BACKLOG_WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn manual_acks_reach_the_broker_while_the_stream_stays_open() {
    let b = broker();
    let topic = b.unique_topic("consumer-acks");
    let ids = produce_texts(&b, &topic, numbered("a-", 0..100)).await;
    let mut events = client(&b)
        .consumer(events::topic(&topic), "acks")
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .expect("consumer subscribes");
    let seen = take_events(&mut events, 100, "consumer").await;
    for (i, (event, wire)) in seen.iter().zip(&ids).enumerate() {
        assert_eq!(text(event), format!("a-{i}"));
        assert_eq!(event.message_id(), &id(wire));
    }
    // Nothing acknowledged yet: the broker still counts all of them.
    assert_eq!(b.subscription_backlog(&topic, "acks").await, Some(100));
    for event in &seen {
        event.ack().expect("ack");
    }
    assert_eq!(
        b.wait_for_backlog(&topic, "acks", 0, BACKLOG_WAIT).await,
        Some(0),
        "acks flushed without closing the stream"
    );
    events.close().await.expect("close");
}

#[tokio::test]
async fn auto_mode_acks_each_event_when_the_next_is_asked_for_and_the_last_on_close() {
    let b = broker();
    let topic = b.unique_topic("consumer-auto");
    produce_texts(&b, &topic, numbered("a-", 0..50)).await;
    let mut events = client(&b)
        .consumer(events::topic(&topic), "auto")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("consumer subscribes");
    take_events(&mut events, 50, "consumer").await;
    // 49 acked by asking for the next; the 50th is still "in process".
    assert_eq!(
        b.wait_for_backlog(&topic, "auto", 1, BACKLOG_WAIT).await,
        Some(1)
    );
    events.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "auto", 0, BACKLOG_WAIT).await,
        Some(0)
    );
}

#[tokio::test]
async fn unacked_events_come_again_on_the_next_connection() {
    let b = broker();
    let topic = b.unique_topic("consumer-redeliver");
    let ids = produce_texts(&b, &topic, numbered("r-", 0..10)).await;
    let c = client(&b);
    let consumer = || {
        c.consumer(events::topic(&topic), "redeliver")
            .subscription_type(SubscriptionType::Shared)
            .initial_position(InitialPosition::Earliest)
            .ack_mode(AckMode::Manual)
            .subscribe()
    };
    let mut events = consumer().await.expect("first consumer");
    let seen = take_events(&mut events, 10, "first connection").await;
    for event in seen.iter().step_by(2) {
        event.ack().expect("ack"); // r-0, r-2, ... r-8
    }
    events
        .close()
        .await
        .expect("close without acking the odd ones");

    let mut events = consumer().await.expect("second consumer");
    let again = take_events(&mut events, 5, "second connection").await;
    let expected: Vec<MessageId> = ids.iter().skip(1).step_by(2).map(|w| id(w)).collect();
    let got: Vec<MessageId> = again.iter().map(|e| e.message_id().clone()).collect();
    assert_eq!(got, expected, "exactly the unacked ones, in order");
    // Pulsar 4.0.7 does not count this kind of redelivery: the frames say `redeliveryCount: 0`
    // (Shared and Exclusive alike, checked with a raw WebSocket client). Only a nack raises it,
    // and only on Shared / Key_Shared subscriptions (next test).
    let counts: Vec<u32> = again.iter().map(|e| e.redelivery_count()).collect();
    eprintln!("redelivery counts after a reconnect: {counts:?}");
    for event in &again {
        event.ack().expect("ack");
    }
    assert_eq!(
        b.wait_for_backlog(&topic, "redeliver", 0, BACKLOG_WAIT)
            .await,
        Some(0)
    );
    events.close().await.expect("close");
}

#[tokio::test]
async fn a_nacked_event_comes_back_after_the_delay_with_its_count_raised() {
    let b = broker();
    let topic = b.unique_topic("consumer-nack");
    let ids = produce_texts(&b, &topic, ["once".to_string(), "twice".to_string()]).await;
    let delay = Duration::from_millis(1500);
    let mut events = client(&b)
        .consumer(events::topic(&topic), "nack")
        // The broker tracks redelivery counts on Shared and Key_Shared subscriptions only: an
        // Exclusive one redelivers a nacked message with `redeliveryCount: 0`.
        .subscription_type(SubscriptionType::Shared)
        .initial_position(InitialPosition::Earliest)
        .negative_ack_redelivery_delay(delay)
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .expect("consumer subscribes");
    let first = next_event(&mut events, "first delivery").await;
    assert_eq!(text(&first), "once");
    assert_eq!(first.redelivery_count(), 0);
    first.ack().expect("ack");
    let second = next_event(&mut events, "second message").await;
    assert_eq!(text(&second), "twice");
    assert_eq!(second.redelivery_count(), 0);
    let nacked_at = Instant::now();
    second.nack().expect("nack");

    let again = next_event(&mut events, "redelivery").await;
    let waited = nacked_at.elapsed();
    assert_eq!(again.message_id(), &id(&ids[1]), "the nacked message");
    assert_eq!(again.redelivery_count(), 1);
    // The proxy's nack tracker fires on a timer tick: allow it to come a little early.
    assert!(
        waited >= delay.mul_f64(0.8),
        "redelivered after {waited:?}, delay {delay:?}"
    );
    again.ack().expect("ack");
    assert_eq!(
        b.wait_for_backlog(&topic, "nack", 0, BACKLOG_WAIT).await,
        Some(0)
    );
    events.close().await.expect("close");
}

#[tokio::test]
async fn an_event_nacked_past_max_redeliver_count_lands_on_the_dead_letter_topic() {
    let b = broker();
    let topic = b.unique_topic("consumer-dlq");
    let dlq = b.unique_topic("consumer-dlq-letters");
    let mut producer = WsProducer::connect(&b, &topic).await;
    let poison = producer
        .send(Outgoing {
            payload: b"poison".to_vec(),
            key: Some("bad-key".into()),
            properties: vec![("origin".into(), "test".into())],
        })
        .await;
    producer.close().await;
    let c = client(&b);
    let mut events = c
        .consumer(events::topic(&topic), "dlq")
        .subscription_type(SubscriptionType::Shared)
        .initial_position(InitialPosition::Earliest)
        .negative_ack_redelivery_delay(Duration::from_millis(200))
        .max_redeliver_count(2)
        .dead_letter_topic(events::topic(&dlq))
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .expect("consumer subscribes");
    // Delivered with counts 0, 1, 2 (= max); the nack of the last sends it to the dead letters.
    let mut counts = Vec::new();
    for _ in 0..3 {
        let event = next_event(&mut events, "delivery of the poison message").await;
        assert_eq!(event.message_id(), &id(&poison));
        counts.push(event.redelivery_count());
        event.nack().expect("nack");
    }
    assert_eq!(counts, [0, 1, 2]);

    let mut letters = c
        .reader(events::topic(&dlq))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader on the dead-letter topic");
    let letter = next_event(&mut letters, "dead letter").await;
    assert_eq!(&letter.payload()[..], b"poison");
    assert_eq!(letter.key(), Some("bad-key"));
    assert_eq!(letter.property("origin"), Some("test"));
    letters.close().await.expect("close");
    // Acknowledged on the original subscription once dead-lettered (no event for that).
    assert_eq!(
        b.wait_for_backlog(&topic, "dlq", 0, BACKLOG_WAIT).await,
        Some(0)
    );
    assert_quiet(&mut events, Duration::from_secs(1), "no fourth delivery").await;
    events.close().await.expect("close");
}

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
async fn manual_pull_mode_delivers_exactly_as_many_as_permitted() {
    let b = broker();
    let topic = b.unique_topic("consumer-pull");
    produce_texts(&b, &topic, numbered("p-", 0..20)).await;
    let mut events = client(&b)
        .consumer(events::topic(&topic), "pull")
        .initial_position(InitialPosition::Earliest)
        .pull_mode(PullMode::Manual)
        .subscribe()
        .await
        .expect("consumer subscribes");
    let quiet = Duration::from_secs(1);
    assert_quiet(&mut events, quiet, "no permits yet").await;
    events.permit(5).expect("permit");
    let got = take_events(&mut events, 5, "five permitted").await;
    assert_eq!(
        got.iter().map(text).collect::<Vec<_>>(),
        numbered("p-", 0..5)
    );
    assert_quiet(&mut events, quiet, "five used up").await;
    events.permit(3).expect("permit");
    events.permit(4).expect("permit");
    let got = take_events(&mut events, 7, "permits add up").await;
    assert_eq!(
        got.iter().map(text).collect::<Vec<_>>(),
        numbered("p-", 5..12)
    );
    assert_quiet(&mut events, quiet, "seven used up").await;
    events.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "pull", 8, BACKLOG_WAIT).await,
        Some(8),
        "the 12 delivered are acked, 8 never sent"
    );
}

#[tokio::test]
async fn unsubscribe_deletes_the_subscription_and_is_refused_while_others_are_attached() {
    let b = broker();
    let topic = b.unique_topic("consumer-unsubscribe");
    produce_texts(&b, &topic, numbered("u-", 0..3)).await;
    let c = client(&b);
    let mut events = c
        .consumer(events::topic(&topic), "temporary")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("consumer subscribes");
    take_events(&mut events, 3, "consumer").await;
    assert!(b
        .subscriptions(&topic)
        .await
        .contains(&"temporary".to_string()));
    within("unsubscribe", events.unsubscribe())
        .await
        .expect("unsubscribe");
    // The proxy answers the unsubscribe with nothing but the close, which may overtake the
    // broker's bookkeeping: poll the admin API (bounded, 50 x 100 ms).
    let mut gone = false;
    for _ in 0..50 {
        if !b
            .subscriptions(&topic)
            .await
            .contains(&"temporary".to_string())
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "subscriptions: {:?}", b.subscriptions(&topic).await);

    // Refused while another consumer is attached: a typed error, the subscription stays.
    let shared = || {
        c.consumer(events::topic(&topic), "busy")
            .subscription_type(SubscriptionType::Shared)
            .subscribe()
    };
    let one = shared().await.expect("first shared consumer");
    let two = shared().await.expect("second shared consumer");
    let refused = within("unsubscribe", one.unsubscribe()).await;
    assert!(
        matches!(refused, Err(Error::UnsubscribeFailed(_))),
        "{refused:?}"
    );
    assert!(b.subscriptions(&topic).await.contains(&"busy".to_string()));
    two.close().await.expect("close");
}

#[tokio::test]
async fn the_handler_acks_ok_and_gets_err_redelivered() {
    let b = broker();
    let topic = b.unique_topic("consumer-handler");
    let ids = produce_texts(&b, &topic, numbered("h-", 0..10)).await;
    let events = client(&b)
        .consumer(events::topic(&topic), "handler")
        .subscription_type(SubscriptionType::Shared)
        .initial_position(InitialPosition::Earliest)
        .negative_ack_redelivery_delay(Duration::from_millis(300))
        .subscribe()
        .await
        .expect("consumer subscribes");
    // payload -> redelivery counts of its attempts
    let attempts: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let all_done = Arc::new(tokio::sync::Notify::new());
    let handler = {
        let attempts = attempts.clone();
        let all_done = all_done.clone();
        move |event: pulsar_eventstream::Event| {
            let attempts = attempts.clone();
            let all_done = all_done.clone();
            async move {
                let name = text(&event);
                let mut attempts = attempts.lock().unwrap();
                let tries = attempts.entry(name.clone()).or_default();
                tries.push(event.redelivery_count());
                if name == "h-3" && tries.len() == 1 {
                    return Err("transient failure");
                }
                let succeeded = attempts
                    .iter()
                    .filter(|(n, t)| *n != "h-3" || t.len() == 2)
                    .count();
                if succeeded == 10 {
                    all_done.notify_one();
                }
                Ok(())
            }
        }
    };
    let report = within(
        "handler",
        events
            .handler(handler)
            .concurrency(4)
            .until(async move { all_done.notified().await })
            .run(),
    )
    .await
    .expect("handler run");
    assert_eq!(
        (report.succeeded, report.failed, report.panicked),
        (10, 1, 0)
    );
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts.len(), 10);
    assert_eq!(attempts["h-3"], [0, 1], "failed once, redelivered once");
    for (name, tries) in &attempts {
        if name != "h-3" {
            assert_eq!(tries, &[0], "{name} handled once");
        }
    }
    assert_eq!(ids.len(), 10);
    assert_eq!(
        b.wait_for_backlog(&topic, "handler", 0, BACKLOG_WAIT).await,
        Some(0)
    );
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

#[tokio::test]
async fn the_v3_multi_topic_consumer_receives_from_both_topics() {
    let b = broker();
    let t1 = b.unique_topic("consumer-multi-a");
    let t2 = b.unique_topic("consumer-multi-b");
    let ids1 = produce_texts(&b, &t1, numbered("a-", 0..50)).await;
    let ids2 = produce_texts(&b, &t2, numbered("b-", 0..50)).await;
    let mut events = client(&b)
        .multi_topic_consumer([events::topic(&t1), events::topic(&t2)], "both")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("v3 consumer subscribes");
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..100 {
        let event = next_event(&mut events, "multi-topic consumer").await;
        assert!(
            event.topic().is_none(),
            "the server does not say which topic"
        );
        let name = text(&event);
        if name.starts_with("a-") {
            seen_a.push((name, event.message_id().clone()));
        } else {
            seen_b.push((name, event.message_id().clone()));
        }
    }
    let expect = |prefix: &str, ids: &[String]| -> Vec<(String, MessageId)> {
        ids.iter()
            .enumerate()
            .map(|(i, w)| (format!("{prefix}{i}"), id(w)))
            .collect()
    };
    // Each topic's messages once and in order (ids of the two topics may coincide, so compare
    // per topic).
    assert_eq!(seen_a, expect("a-", &ids1));
    assert_eq!(seen_b, expect("b-", &ids2));
    events.close().await.expect("close");
    for t in [&t1, &t2] {
        assert_eq!(
            b.wait_for_backlog(t, "both", 0, BACKLOG_WAIT).await,
            Some(0)
        );
    }
}

#[tokio::test]
async fn the_v3_pattern_consumer_receives_from_every_matching_topic() {
    let b = broker();
    // A prefix of our own, so that the pattern matches only this test's topics.
    let prefix = b.unique_topic("consumer-pattern");
    let t1 = format!("{prefix}-one");
    let t2 = format!("{prefix}-two");
    let ids1 = produce_texts(&b, &t1, numbered("one-", 0..20)).await;
    let ids2 = produce_texts(&b, &t2, numbered("two-", 0..20)).await;
    let mut events = client(&b)
        .pattern_consumer(format!("{prefix}-.*"), "pattern")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("pattern consumer subscribes");
    let mut seen: HashMap<String, Vec<(String, MessageId)>> = HashMap::new();
    for _ in 0..40 {
        let event = next_event(&mut events, "pattern consumer").await;
        let name = text(&event);
        let topic = name.split('-').next().unwrap().to_string();
        seen.entry(topic)
            .or_default()
            .push((name, event.message_id().clone()));
    }
    let expect = |prefix: &str, ids: &[String]| -> Vec<(String, MessageId)> {
        ids.iter()
            .enumerate()
            .map(|(i, w)| (format!("{prefix}{i}"), id(w)))
            .collect()
    };
    assert_eq!(seen["one"], expect("one-", &ids1));
    assert_eq!(seen["two"], expect("two-", &ids2));
    events.close().await.expect("close");
    for t in [&t1, &t2] {
        assert_eq!(
            b.wait_for_backlog(t, "pattern", 0, BACKLOG_WAIT).await,
            Some(0)
        );
    }
}

#[tokio::test]
async fn python_published_messages_are_consumed_byte_for_byte() {
    let b = broker();
    let topic = b.unique_topic("consumer-interop");
    // 512 KiB of every byte value in a shifting pattern.
    let payload: Vec<u8> = (0..512 * 1024u32)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect();
    let produced = b
        .python_produce(
            &topic,
            3,
            &ProduceOptions {
                key: Some("interop".into()),
                properties: vec![("kind".into(), "binary".into())],
                event_time_ms: None,
                payload: Payload::Bytes(payload.clone()),
                batching: false,
            },
        )
        .await;
    let mut events = client(&b)
        .consumer(events::topic(&topic), "interop")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("consumer subscribes");
    for p in &produced {
        let event = next_event(&mut events, "interop consumer").await;
        let got = event.message_id();
        assert_eq!((got.ledger_id(), got.entry_id()), (p.ledger_id, p.entry_id));
        assert!(event.payload()[..] == payload[..], "payload byte for byte");
        assert_eq!(event.key(), Some("interop"));
        assert_eq!(event.property("kind"), Some("binary"));
        assert_eq!(event.event_time(), None, "no event time set");
    }
    events.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "interop", 0, BACKLOG_WAIT).await,
        Some(0)
    );
}
