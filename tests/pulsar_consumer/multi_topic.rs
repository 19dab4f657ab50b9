//! Real broker: the v3 consumers. A multi-topic consumer and a pattern consumer receive every
//! message of each topic once, in order.

use std::collections::HashMap;

use super::{broker, client, BACKLOG_WAIT};
use crate::events::{self, *};
use crate::ws_producer::produce_texts;
use pulsar_eventstream::{InitialPosition, MessageId};

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
