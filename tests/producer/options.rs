//! Producer options: every builder option as its query parameter, each enum's wire name,
//! invalid options refused before anything is sent, and typed handshake refusals.

use std::time::Duration;

use crate::common::*;
use pulsar_eventstream::testing::Endpoint;
use pulsar_eventstream::{Client, CompressionType, Error, HashingScheme, Message, RoutingMode};

#[tokio::test]
async fn every_builder_option_reaches_the_server_as_its_query_parameter() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("options");
    let producer = client
        .producer(topic)
        .producer_name("checkout 1")
        .initial_sequence_id(42)
        .hashing_scheme(HashingScheme::Murmur3)
        .send_timeout(Duration::from_millis(1500))
        .routing_mode(RoutingMode::RoundRobinPartition)
        .batching(true)
        .batching_max_messages(100)
        .max_pending_messages(2000)
        .batching_max_publish_delay(Duration::from_millis(7))
        .compression(CompressionType::Zstd)
        .max_in_flight(10)
        .create()
        .await
        .unwrap();
    let handshake = &mock.handshakes()[0];
    assert_eq!(handshake.endpoint, Endpoint::Producer);
    assert_eq!(
        handshake.path,
        "/ws/v2/producer/persistent/acme/events/options"
    );
    let q = &handshake.query;
    let expected = [
        ("producerName", "checkout 1"),
        ("initialSequenceId", "42"),
        ("hashingScheme", "Murmur3_32Hash"),
        ("sendTimeoutMillis", "1500"),
        ("messageRoutingMode", "RoundRobinPartition"),
        ("batchingEnabled", "true"),
        ("batchingMaxMessages", "100"),
        ("maxPendingMessages", "2000"),
        ("batchingMaxPublishDelay", "7"),
        ("compressionType", "ZSTD"),
    ];
    for (key, value) in expected {
        assert_eq!(q.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert_eq!(q.len(), expected.len(), "no other parameter: {q:?}");
    assert_eq!(producer.max_in_flight(), 10);
    assert_eq!(
        producer.topic().to_string(),
        "persistent://acme/events/options"
    );
    within(producer.close()).await.unwrap();
}

#[tokio::test]
async fn each_enum_value_has_its_exact_wire_name() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("enums");
    let mut expected = Vec::new();
    let mut builders = Vec::new();
    for (c, name) in [
        (CompressionType::None, "NONE"),
        (CompressionType::Lz4, "LZ4"),
        (CompressionType::Zlib, "ZLIB"),
        (CompressionType::Zstd, "ZSTD"),
        (CompressionType::Snappy, "SNAPPY"),
    ] {
        builders.push(client.producer(topic.clone()).compression(c));
        expected.push(("compressionType", name));
    }
    for (h, name) in [
        (HashingScheme::JavaString, "JavaStringHash"),
        (HashingScheme::Murmur3, "Murmur3_32Hash"),
    ] {
        builders.push(client.producer(topic.clone()).hashing_scheme(h));
        expected.push(("hashingScheme", name));
    }
    for (r, name) in [
        (RoutingMode::SinglePartition, "SinglePartition"),
        (RoutingMode::RoundRobinPartition, "RoundRobinPartition"),
    ] {
        builders.push(client.producer(topic.clone()).routing_mode(r));
        expected.push(("messageRoutingMode", name));
    }
    builders.push(client.producer(topic.clone()).batching(false));
    expected.push(("batchingEnabled", "false"));
    for (i, (builder, (key, value))) in builders.into_iter().zip(expected).enumerate() {
        let producer = within(builder.create()).await.unwrap();
        assert_eq!(mock.handshakes()[i].query[key], value);
        within(producer.close()).await.unwrap();
    }
}

#[tokio::test]
async fn invalid_options_fail_before_anything_is_sent() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("invalid");
    let bad = [
        client.producer(topic.clone()).producer_name(""),
        client.producer(topic.clone()).producer_name("a\u{7}b"),
        client.producer(topic.clone()).max_in_flight(0),
        client.producer(topic.clone()).max_frame_size(100),
        client
            .producer(topic.clone())
            .send_timeout(Duration::from_secs(10_000_000)),
        client
            .producer(topic.clone())
            .batching_max_messages(u32::MAX),
    ];
    for builder in bad {
        assert!(matches!(builder.create().await, Err(Error::Config(_))));
    }
    assert!(mock.handshakes().is_empty());
}

#[tokio::test]
async fn handshake_refusals_are_typed() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("refused");
    let first = client
        .producer(topic.clone())
        .producer_name("solo")
        .create()
        .await
        .unwrap();
    let second = client
        .producer(topic.clone())
        .producer_name("solo")
        .create()
        .await;
    match second {
        Err(error @ Error::Conflict { .. }) => {
            assert!(error.to_string().contains("solo"), "{error}");
            assert!(error.is_retryable());
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    within(first.close()).await.unwrap();
    // The name is free again once the first producer is gone.
    let again = client
        .producer(topic.clone())
        .producer_name("solo")
        .create()
        .await;
    within(again.unwrap().close()).await.unwrap();
    mock.require_api_key(Some("right"));
    let wrong = Client::builder(mock.service_url())
        .api_key("wrong")
        .build()
        .unwrap();
    let refused = wrong.producer(topic.clone()).create().await;
    assert!(
        matches!(refused, Err(Error::Unauthorized { .. })),
        "{refused:?}"
    );
    let right = Client::builder(mock.service_url())
        .api_key("right")
        .build()
        .unwrap();
    let producer = right.producer(topic).create().await.unwrap();
    within(producer.send(Message::text("authorized")))
        .await
        .unwrap();
}
