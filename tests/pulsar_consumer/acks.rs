//! Real broker: acks as the broker counts them (manual and auto mode, grouped), unacked events coming
//! again on the next connection, a nacked event after its delay, and dead letters past
//! `max_redeliver_count`.

use std::time::{Duration, Instant};

use super::{broker, client, BACKLOG_WAIT};
use crate::events::{self, *};
use crate::ws_producer::{produce_texts, Outgoing, WsProducer};
use pulsar_eventstream::{AckMode, InitialPosition, MessageId, Position, SubscriptionType};

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

/// With an hour's group time only the triggers can write acks: a quarter
/// window (250 of the 1000) while the stream stays open, then a request
/// (`end_of_topic`), then the close.
#[tokio::test]
async fn grouped_acks_reach_the_broker_by_quarter_window_request_and_close() {
    let b = broker();
    let topic = b.unique_topic("consumer-grouped");
    produce_texts(&b, &topic, numbered("g-", 0..400)).await;
    let mut events = client(&b)
        .consumer(events::topic(&topic), "grouped")
        .initial_position(InitialPosition::Earliest)
        .ack_group_time(Duration::from_secs(3600))
        .subscribe()
        .await
        .expect("consumer subscribes");
    take_events(&mut events, 300, "consumer").await;
    // 299 acked by asking for the next: at least one quarter window is out.
    let deadline = Instant::now() + BACKLOG_WAIT;
    let mut backlog = b.subscription_backlog(&topic, "grouped").await;
    while backlog.is_none_or(|n| n > 150) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        backlog = b.subscription_backlog(&topic, "grouped").await;
    }
    assert!(
        backlog.is_some_and(|n| n <= 150),
        "backlog {backlog:?}: no batch of acks was written"
    );
    assert!(!events.end_of_topic().await.expect("end of topic"));
    assert_eq!(
        b.wait_for_backlog(&topic, "grouped", 101, BACKLOG_WAIT)
            .await,
        Some(101),
        "the request wrote every grouped ack"
    );
    events.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "grouped", 100, BACKLOG_WAIT)
            .await,
        Some(100)
    );
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
