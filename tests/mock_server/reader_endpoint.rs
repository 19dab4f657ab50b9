//! `MockPulsar`'s reader endpoint: `earliest`, `latest` and an exclusive start id, the message
//! frame's fields, the 1,000-message window that acks move on, and `receiverQueueSize=0`.

use super::*;
use pulsar_eventstream::testing::Endpoint;

#[tokio::test]
async fn reader_earliest_latest_and_exclusive_start() {
    let p = MockPulsar::start().await.unwrap();
    let ids = p.publish_many(
        TOPIC,
        [
            MockMessage::new("a")
                .key("k")
                .property("p", "v")
                .event_time("2026-01-01T00:00:00Z"),
            MockMessage::new("b"),
            MockMessage::new("c"),
        ],
    );
    assert_eq!(p.message_ids(TOPIC), ids);

    let mut ws = connect(&p, &reader("?messageId=earliest")).await;
    let first = next_json(&mut ws).await;
    assert_eq!(first["messageId"], ids[0].as_str());
    assert_eq!(payload(&first), "a");
    assert_eq!(first["key"], "k");
    assert_eq!(first["properties"], json!({"p": "v"}));
    assert_eq!(first["eventTime"], "2026-01-01T00:00:00Z");
    assert_eq!(first["redeliveryCount"], 0);
    assert!(first["publishTime"].as_str().unwrap().ends_with('Z'));
    let second = next_json(&mut ws).await;
    assert_eq!(second["properties"], json!({}));
    assert!(second.get("key").is_none() && second.get("eventTime").is_none());
    assert_eq!(payload(&next_json(&mut ws).await), "c");

    // Exclusive start: the first message strictly after the given id (URL-encoded).
    let q = format!(
        "?messageId={}",
        url::form_urlencoded::byte_serialize(ids[0].as_bytes()).collect::<String>()
    );
    let mut ws2 = connect(&p, &reader(&q)).await;
    assert_eq!(payload(&next_json(&mut ws2).await), "b");

    // Latest (default): only messages published after connecting.
    let mut ws3 = connect(&p, &reader("")).await;
    p.publish(TOPIC, MockMessage::new("d"));
    assert_eq!(payload(&next_json(&mut ws3).await), "d");
    assert_eq!(payload(&next_json(&mut ws2).await), "c");
    let hs = p.handshakes();
    assert_eq!(hs[1].query.get("messageId"), Some(&ids[0]));
    assert_eq!(hs[1].topic.as_deref(), Some(TOPIC));
    assert_eq!(hs[1].endpoint, Endpoint::Reader);
}

#[tokio::test]
async fn reader_window_stops_at_1000_and_resumes_after_acks() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 1500);
    let mut ws = connect(&p, &reader("?messageId=earliest")).await;
    within(p.wait_for_delivered(1000)).await;
    let (msgs, end) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 1000);
    assert!(!end);
    assert_eq!(p.delivered(), 1000);
    for id in &ids[..10] {
        ack(&mut ws, id).await;
    }
    within(p.wait_for_delivered(1010)).await;
    let (more, _) = drain_until_eot(&mut ws).await;
    assert_eq!(more.len(), 10);
    assert_eq!(more[0]["messageId"], ids[1000].as_str());
    assert_eq!(p.delivered(), 1010);
    // Any JSON object counts for a reader (§5.2).
    send(&mut ws, json!({"whatever": 1})).await;
    let (one, _) = drain_until_eot(&mut ws).await;
    assert_eq!(one.len(), 1);
}

#[tokio::test]
async fn reader_receiver_queue_size_zero_means_one_in_flight() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 3);
    let mut ws = connect(&p, &reader("?messageId=earliest&receiverQueueSize=0")).await;
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 1);
    ack(&mut ws, &ids[0]).await;
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 1);
}
