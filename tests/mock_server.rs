//! Tests of `MockPulsar` itself, driven by a raw tokio-tungstenite client (never the crate's
//! client), against the behaviour protocol.md describes.
#![cfg(feature = "testing")]

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use pulsar_eventstream::testing::*;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const T: Duration = Duration::from_secs(10);
const TOPIC: &str = "persistent://acme/ns/events";

async fn within<F: std::future::Future>(f: F) -> F::Output {
    timeout(T, f).await.expect("timed out")
}

async fn connect(p: &MockPulsar, path: &str) -> Ws {
    let (ws, resp) = within(tokio_tungstenite::connect_async(format!(
        "{}{}",
        p.service_url(),
        path
    )))
    .await
    .expect("handshake failed");
    assert_eq!(resp.status(), 101);
    ws
}

/// The HTTP status and body of a rejected handshake.
async fn reject(p: &MockPulsar, path: &str) -> (u16, String) {
    match within(tokio_tungstenite::connect_async(format!(
        "{}{}",
        p.service_url(),
        path
    )))
    .await
    {
        Err(WsError::Http(resp)) => {
            let body = resp
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .into_owned();
            (resp.status().as_u16(), body)
        }
        Ok(_) => panic!("handshake on {path} unexpectedly succeeded"),
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn reader(q: &str) -> String {
    format!("/ws/v2/reader/persistent/acme/ns/events{q}")
}

fn consumer(sub: &str, q: &str) -> String {
    format!("/ws/v2/consumer/persistent/acme/ns/events/{sub}{q}")
}

/// Next text frame as JSON (pings and pongs skipped).
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(&t).expect("server sent non-JSON")
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    within(ws.send(Message::text(v.to_string())))
        .await
        .expect("send failed");
}

async fn ack(ws: &mut Ws, id: &str) {
    send(ws, json!({ "messageId": id })).await;
}

/// Sends `isEndOfTopic` and collects the message frames received before its reply.
async fn drain_until_eot(ws: &mut Ws) -> (Vec<Value>, bool) {
    send(ws, json!({"type": "isEndOfTopic"})).await;
    let mut msgs = Vec::new();
    loop {
        let v = next_json(ws).await;
        if let Some(end) = v.get("endOfTopic") {
            return (
                msgs,
                end.as_bool().expect("endOfTopic must be a JSON boolean"),
            );
        }
        msgs.push(v);
    }
}

fn payload(v: &Value) -> String {
    String::from_utf8(STANDARD.decode(v["payload"].as_str().unwrap()).unwrap()).unwrap()
}

fn publish_n(p: &MockPulsar, n: usize) -> Vec<String> {
    p.publish_many(TOPIC, (0..n).map(|i| MockMessage::new(format!("m{i}"))))
}

/// The socket ends without a Close frame (EOF or reset: 1006 for the client).
async fn expect_abrupt_end(ws: &mut Ws) {
    loop {
        match within(ws.next()).await {
            None | Some(Err(_)) => return,
            Some(Ok(Message::Close(f))) => panic!("expected no close frame, got {f:?}"),
            Some(Ok(_)) => continue,
        }
    }
}

/// The next non-data frame is a Close; returns it after completing the closing handshake.
async fn expect_close(ws: &mut Ws) -> Option<(u16, String)> {
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Close(f))) => {
                while let Some(Ok(_)) = within(ws.next()).await {}
                return f.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

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

#[tokio::test]
async fn consumer_acks_and_backlog() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 3);
    let mut ws = connect(
        &p,
        &consumer("sub", "?subscriptionInitialPosition=Earliest"),
    )
    .await;
    assert_eq!(p.subscriptions(TOPIC), vec!["sub".to_string()]);
    assert_eq!(p.backlog(TOPIC, "sub"), Some(3));
    for id in &ids {
        let m = next_json(&mut ws).await;
        assert_eq!(m["messageId"], id.as_str());
        ack(&mut ws, id).await;
    }
    ack(&mut ws, &ids[0]).await; // duplicate: recorded, harmless
    within(p.wait_for_acks(TOPIC, "sub", 4)).await;
    assert_eq!(
        p.acks(TOPIC, "sub"),
        vec![
            ids[0].clone(),
            ids[1].clone(),
            ids[2].clone(),
            ids[0].clone()
        ]
    );
    assert_eq!(p.backlog(TOPIC, "sub"), Some(0));
    assert_eq!(p.backlog(TOPIC, "nope"), None);
    // A new subscription starts at Latest by default.
    let _ws2 = connect(&p, &consumer("late", "")).await;
    assert_eq!(p.backlog(TOPIC, "late"), Some(0));
    p.publish(TOPIC, MockMessage::new("x"));
    assert_eq!(p.backlog(TOPIC, "late"), Some(1));
    assert!(p.commands().iter().any(|c| c
        .json
        .as_ref()
        .is_some_and(|j| j["messageId"] == ids[2].as_str())));
}

#[tokio::test]
async fn consumer_window_counts_only_acks() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 5);
    let mut ws = connect(
        &p,
        &consumer(
            "sub",
            "?subscriptionInitialPosition=Earliest&receiverQueueSize=2",
        ),
    )
    .await;
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 2);
    ack(&mut ws, &ids[0]).await;
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["messageId"], ids[2].as_str());
}

#[tokio::test]
async fn unacked_messages_are_redelivered_after_disconnect() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 2);
    let mut ws = connect(
        &p,
        &consumer("sub", "?subscriptionInitialPosition=Earliest"),
    )
    .await;
    let first = next_json(&mut ws).await;
    ack(&mut ws, first["messageId"].as_str().unwrap()).await;
    let _second = next_json(&mut ws).await;
    within(p.wait_for_acks(TOPIC, "sub", 1)).await;
    within(ws.close(None)).await.unwrap();
    within(p.wait_for_connections(0)).await;
    assert_eq!(p.client_closes().len(), 1);
    let mut ws = connect(&p, &consumer("sub", "")).await;
    let again = next_json(&mut ws).await;
    assert_eq!(again["messageId"], ids[1].as_str());
    assert_eq!(again["redeliveryCount"], 1);
}

#[tokio::test]
async fn nack_redelivers_with_higher_count_and_dead_letters() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 1);
    let q =
        "?subscriptionInitialPosition=Earliest&negativeAckRedeliveryDelay=10&maxRedeliverCount=1";
    let mut ws = connect(&p, &consumer("sub", q)).await;
    let m = next_json(&mut ws).await;
    assert_eq!(m["redeliveryCount"], 0);
    send(
        &mut ws,
        json!({"type": "negativeAcknowledge", "messageId": ids[0]}),
    )
    .await;
    let m = next_json(&mut ws).await;
    assert_eq!(m["messageId"], ids[0].as_str());
    assert_eq!(m["redeliveryCount"], 1);
    assert_eq!(p.nacks(TOPIC, "sub"), vec![ids[0].clone()]);
    send(
        &mut ws,
        json!({"type": "negativeAcknowledge", "messageId": ids[0]}),
    )
    .await;
    let dlq = format!("{TOPIC}-sub-DLQ");
    within(p.wait_for_messages(&dlq, 1)).await;
    assert_eq!(p.backlog(TOPIC, "sub"), Some(0));
    let mut dl = connect(
        &p,
        "/ws/v2/reader/persistent/acme/ns/events-sub-DLQ?messageId=earliest",
    )
    .await;
    let d = next_json(&mut dl).await;
    assert_eq!(payload(&d), "m0");
    assert_eq!(d["properties"]["REAL_TOPIC"], TOPIC);
}

#[tokio::test]
async fn ack_timeout_redelivers() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 1);
    let mut ws = connect(
        &p,
        &consumer(
            "sub",
            "?subscriptionInitialPosition=Earliest&ackTimeoutMillis=1000",
        ),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["redeliveryCount"], 0);
    let m = next_json(&mut ws).await;
    assert_eq!(m["messageId"], ids[0].as_str());
    assert_eq!(m["redeliveryCount"], 1);
    assert_eq!(
        reject(&p, &consumer("s2", "?ackTimeoutMillis=10")).await.0,
        400
    );
}

#[tokio::test]
async fn pull_mode_delivers_exactly_the_permits() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 10);
    let mut ws = connect(
        &p,
        &consumer("sub", "?subscriptionInitialPosition=Earliest&pullMode=true"),
    )
    .await;
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert!(msgs.is_empty());
    send(&mut ws, json!({"type": "permit", "permitMessages": 3})).await;
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 3);
    for id in &ids[..3] {
        ack(&mut ws, id).await; // acks grant no permits
    }
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert!(msgs.is_empty());
    for _ in 0..3 {
        send(&mut ws, json!({"type": "permit", "permitMessages": 2})).await;
    }
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 6);
    assert_eq!(p.delivered(), 9);
    // A permit without permitMessages closes the session (error 3: abrupt).
    send(&mut ws, json!({"type": "permit"})).await;
    expect_abrupt_end(&mut ws).await;
}

#[tokio::test]
async fn subscription_types() {
    let p = MockPulsar::start().await.unwrap();
    let _a = connect(&p, &consumer("ex", "")).await;
    let (status, body) = reject(&p, &consumer("ex", "")).await;
    assert_eq!(status, 409);
    assert!(
        body.contains("Exclusive consumer is already connected"),
        "{body}"
    );
    assert_eq!(
        reject(&p, &consumer("ex", "?subscriptionType=Shared"))
            .await
            .0,
        409
    );

    // Shared: round robin.
    let mut s1 = connect(&p, &consumer("sh", "?subscriptionType=Shared")).await;
    let mut s2 = connect(&p, &consumer("sh", "?subscriptionType=Shared")).await;
    publish_n(&p, 4);
    let (m1, _) = drain_until_eot(&mut s1).await;
    let (m2, _) = drain_until_eot(&mut s2).await;
    assert_eq!((m1.len(), m2.len()), (2, 2));

    // Failover: the second consumer is standby until the first leaves.
    let mut f1 = connect(&p, &consumer("fo", "?subscriptionType=Failover")).await;
    let mut f2 = connect(&p, &consumer("fo", "?subscriptionType=Failover")).await;
    let ids = publish_n(&p, 1);
    assert_eq!(next_json(&mut f1).await["messageId"], ids[0].as_str());
    let (m, _) = drain_until_eot(&mut f2).await;
    assert!(m.is_empty());
    drop(f1);
    let m = next_json(&mut f2).await;
    assert_eq!(m["messageId"], ids[0].as_str());
    assert_eq!(m["redeliveryCount"], 1);

    // Key_Shared: one key always goes to the same consumer.
    let mut k1 = connect(&p, &consumer("ks", "?subscriptionType=Key_Shared")).await;
    let mut k2 = connect(&p, &consumer("ks", "?subscriptionType=Key_Shared")).await;
    p.publish_many(
        TOPIC,
        (0..20).map(|i| MockMessage::new(format!("{i}")).key(format!("key{}", i % 4))),
    );
    let (a, _) = drain_until_eot(&mut k1).await;
    let (b, _) = drain_until_eot(&mut k2).await;
    assert_eq!(a.len() + b.len(), 20);
    for x in &a {
        assert!(b.iter().all(|y| y["key"] != x["key"]));
    }
}

#[tokio::test]
async fn handshake_failures_are_injected_then_cleared() {
    let p = MockPulsar::start().await.unwrap();
    p.fail_handshakes(503, "try later", 2);
    assert_eq!(
        reject(&p, &reader("")).await,
        (503, "try later".to_string())
    );
    assert_eq!(reject(&p, &reader("")).await.0, 503);
    let _ws = connect(&p, &reader("")).await;
    let statuses: Vec<u16> = p.handshakes().iter().map(|h| h.status).collect();
    assert_eq!(statuses, vec![503, 503, 101]);
    p.forbid_topic(TOPIC);
    assert_eq!(reject(&p, &reader("")).await.0, 403);
}

#[tokio::test]
async fn handshake_delay_holds_the_upgrade() {
    let p = MockPulsar::start().await.unwrap();
    p.set_handshake_delay(Some(Duration::from_millis(200)));
    let started = std::time::Instant::now();
    let _ws = connect(&p, &reader("")).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn query_and_path_validation_statuses() {
    let p = MockPulsar::start().await.unwrap();
    let (status, body) = reject(&p, &consumer("s", "?subscriptionType=Bogus")).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("Invalid query params: Invalid subscriptionType Bogus"),
        "{body}"
    );
    assert_eq!(
        reject(&p, &consumer("s", "?subscriptionInitialPosition=First"))
            .await
            .0,
        400
    );
    assert_eq!(
        reject(&p, &consumer("s", "?receiverQueueSize=abc")).await.0,
        400
    );
    assert_eq!(
        reject(&p, &consumer("s", "?deadLetterTopic=dlq")).await.0,
        400
    );
    assert_eq!(reject(&p, &consumer("", "")).await.0, 400);
    assert_eq!(reject(&p, &reader("?receiverQueueSize=abc")).await.0, 500);
    let (status, body) = reject(&p, &reader("?messageId=notanid")).await;
    assert_eq!(status, 500);
    assert!(body.contains("Failed to create reader"), "{body}");
    assert_eq!(reject(&p, "/ws/v2/reader/persistent/acme/ns").await.0, 500);
    assert_eq!(reject(&p, "/ws/v2/reader/bogus/acme/ns/t").await.0, 500);
    assert_eq!(
        reject(&p, "/ws/v2/nothing/persistent/acme/ns/t").await.0,
        404
    );
    assert_eq!(reject(&p, "/admin/v2/x").await.0, 404);
    // Unknown keys are ignored; the first value of a repeated key wins.
    let _ok = connect(
        &p,
        &consumer(
            "s",
            "?foo=bar&subscriptionType=Shared&subscriptionType=Bogus",
        ),
    )
    .await;
    p.set_topic_must_exist(true);
    let (status, body) = reject(&p, "/ws/v2/reader/persistent/acme/ns/missing").await;
    assert_eq!(status, 500);
    assert!(body.contains("Failed to create reader"), "{body}");
    assert_eq!(
        reject(&p, "/ws/v2/consumer/persistent/acme/ns/missing/s")
            .await
            .0,
        404
    );
    let _exists = connect(&p, &consumer("s2", "")).await;
}

#[tokio::test]
async fn path_segments_are_form_decoded() {
    let p = MockPulsar::start().await.unwrap();
    let _ws = connect(
        &p,
        "/ws/v2/consumer/persistent/acme/ns/my%20topic+x/sub%2B1?consumerName=a+b",
    )
    .await;
    let hs = &p.handshakes()[0];
    assert_eq!(hs.topic.as_deref(), Some("persistent://acme/ns/my topic x"));
    assert_eq!(hs.subscription.as_deref(), Some("sub+1"));
    assert_eq!(
        hs.query.get("consumerName").map(String::as_str),
        Some("a b")
    );
    assert_eq!(hs.raw_query.as_deref(), Some("consumerName=a+b"));
    assert_eq!(hs.endpoint, Endpoint::Consumer);
}

#[tokio::test]
async fn non_json_text_drops_the_connection_without_close_frame() {
    let p = MockPulsar::start().await.unwrap();
    let mut ws = connect(&p, &reader("")).await;
    within(ws.send(Message::text("not json"))).await.unwrap();
    expect_abrupt_end(&mut ws).await;
    within(p.wait_for_connections(0)).await;

    let mut ws = connect(&p, &consumer("s", "")).await;
    within(ws.send(Message::binary(vec![1, 2, 3])))
        .await
        .unwrap(); // ignored
    let (_, end) = drain_until_eot(&mut ws).await;
    assert!(!end);
    within(ws.send(Message::text("{oops"))).await.unwrap();
    expect_abrupt_end(&mut ws).await;
}

#[tokio::test]
async fn bad_ack_ids_close_with_1011_or_drop() {
    let p = MockPulsar::start().await.unwrap();
    let mut ws = connect(&p, &consumer("s", "")).await;
    send(&mut ws, json!({"type": "ack"})).await;
    assert_eq!(expect_close(&mut ws).await.map(|c| c.0), Some(1011));

    let mut ws = connect(&p, &consumer("s", "")).await;
    send(&mut ws, json!({"messageId": "***"})).await;
    assert_eq!(expect_close(&mut ws).await.map(|c| c.0), Some(1011));

    let mut ws = connect(&p, &consumer("s", "")).await;
    send(&mut ws, json!({"messageId": "AAAA"})).await; // base64, but not a MessageIdData
    expect_abrupt_end(&mut ws).await;
}

#[tokio::test]
async fn unsubscribe_leaves_a_silent_socket() {
    let p = MockPulsar::start().await.unwrap();
    let mut a = connect(&p, &consumer("s", "?subscriptionType=Shared")).await;
    let mut b = connect(&p, &consumer("s", "?subscriptionType=Shared")).await;
    send(&mut b, json!({"type": "unsubscribe"})).await; // another consumer attached: error 3
    expect_abrupt_end(&mut b).await;
    within(p.wait_for_connections(1)).await;
    send(&mut a, json!({"type": "unsubscribe"})).await;
    within(p.wait_for_commands(2)).await;
    assert!(p.subscriptions(TOPIC).is_empty());
    p.publish(TOPIC, MockMessage::new("after"));
    within(a.send(Message::Ping(b"hi".to_vec().into())))
        .await
        .unwrap();
    match within(a.next()).await {
        Some(Ok(Message::Pong(p))) => assert_eq!(&p[..], b"hi"),
        other => panic!("expected only a pong, got {other:?}"),
    }
    assert_eq!(p.open_connections(), 1);
}

#[tokio::test]
async fn end_of_topic_is_a_json_boolean() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 1);
    let mut ws = connect(&p, &reader("?messageId=earliest")).await;
    let (msgs, end) = drain_until_eot(&mut ws).await;
    assert_eq!((msgs.len(), end), (1, false));
    p.terminate(TOPIC);
    let (_, end) = drain_until_eot(&mut ws).await;
    assert!(end);
    let mut c = connect(
        &p,
        &consumer("s", "?subscriptionInitialPosition=Earliest&pullMode=true"),
    )
    .await;
    let (_, end) = drain_until_eot(&mut c).await;
    assert!(!end);
    send(&mut c, json!({"type": "permit", "permitMessages": 1})).await;
    let (msgs, end) = drain_until_eot(&mut c).await;
    assert_eq!(msgs[0]["messageId"], ids[0].as_str());
    assert!(end);
    send(&mut c, json!({"type": "isEndOfTopic"})).await;
    match within(c.next()).await {
        Some(Ok(Message::Text(t))) => assert_eq!(t.as_str(), r#"{"endOfTopic":true}"#),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn api_key_and_token_are_required_when_set() {
    let p = MockPulsar::start().await.unwrap();
    p.require_api_key(Some("eght_secret"));
    assert_eq!(reject(&p, &reader("")).await.0, 401);
    assert_eq!(reject(&p, &reader("?x-api-key=wrong")).await.0, 401);
    assert_eq!(reject(&p, &reader("?X-API-KEY=eght_secret")).await.0, 401);
    let _ok = connect(&p, &reader("?x-api-key=eght_secret")).await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{}{}", p.service_url(), reader(""))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("X-Api-Key", "eght_secret".parse().unwrap());
    let (_ws, _) = within(tokio_tungstenite::connect_async(req)).await.unwrap();
    let hs = p.handshakes();
    assert_eq!(hs.last().unwrap().header("x-api-key"), Some("eght_secret"));

    p.require_api_key(None);
    p.require_token(Some("jwt"));
    assert_eq!(reject(&p, &reader("")).await.0, 401);
    let _ok = connect(&p, &reader("?token=jwt")).await;
    let _ok = connect(&p, &reader("?token=Bearer%20jwt")).await;
    let mut req = format!("{}{}", p.service_url(), reader("?token=jwt"))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Authorization", "Bearer nope".parse().unwrap());
    assert!(
        matches!(within(tokio_tungstenite::connect_async(req)).await, Err(WsError::Http(r)) if r.status() == 401)
    );
}

#[tokio::test]
async fn server_side_closes_and_drops() {
    let p = MockPulsar::start().await.unwrap();
    let mut a = connect(&p, &reader("")).await;
    p.drop_connections();
    expect_abrupt_end(&mut a).await;
    assert_eq!(p.open_connections(), 0);

    let mut b = connect(&p, &reader("")).await;
    p.close_connections(None, "");
    assert_eq!(expect_close(&mut b).await, None);
    let mut c = connect(&p, &reader("")).await;
    p.close_connections(Some(1001), "going away");
    assert_eq!(
        expect_close(&mut c).await,
        Some((1001, "going away".to_string()))
    );

    // Client Close 1000 is echoed.
    let mut d = connect(&p, &reader("")).await;
    within(
        d.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })),
    )
    .await
    .unwrap();
    assert_eq!(expect_close(&mut d).await, Some((1000, "bye".to_string())));
    within(p.wait_for_client_closes(1)).await;
    let cl = p
        .client_closes()
        .into_iter()
        .find(|c| c.reason == "bye")
        .unwrap();
    assert_eq!(cl.code, Some(1000));
}

#[tokio::test]
async fn drop_after_delivered_cuts_after_exactly_n() {
    let p = MockPulsar::start().await.unwrap();
    publish_n(&p, 10);
    p.drop_after_delivered(4);
    let mut ws = connect(&p, &reader("?messageId=earliest")).await;
    let mut got = 0;
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Text(_))) => got += 1,
            Some(Ok(Message::Close(f))) => panic!("unexpected close {f:?}"),
            Some(Ok(_)) => {}
            None | Some(Err(_)) => break,
        }
    }
    assert_eq!(got, 4);
    let mut ws = connect(&p, &reader("?messageId=earliest")).await; // one-shot
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 10);
}

#[tokio::test]
async fn pause_and_freeze() {
    let p = MockPulsar::start().await.unwrap();
    let mut ws = connect(&p, &reader("?messageId=earliest")).await;
    p.pause_delivery(true);
    publish_n(&p, 3);
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert!(msgs.is_empty());
    p.pause_delivery(false);
    within(p.wait_for_delivered(3)).await;
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 3);

    p.freeze(true);
    within(ws.send(Message::Ping(b"x".to_vec().into())))
        .await
        .unwrap();
    assert!(
        timeout(Duration::from_millis(300), ws.next())
            .await
            .is_err(),
        "a frozen server answered"
    );
    p.freeze(false);
    match within(ws.next()).await {
        Some(Ok(Message::Pong(_))) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn send_raw_and_restart() {
    let p = MockPulsar::start().await.unwrap();
    let ids = publish_n(&p, 2);
    let mut ws = connect(&p, &consumer("s", "?subscriptionInitialPosition=Earliest")).await;
    let _ = next_json(&mut ws).await;
    let _ = next_json(&mut ws).await;
    p.send_raw(RawFrame::Text("{\"hello\":1}".into()));
    assert_eq!(next_json(&mut ws).await, json!({"hello": 1}));
    ack(&mut ws, &ids[0]).await;
    within(p.wait_for_acks(TOPIC, "s", 1)).await;
    p.restart();
    expect_abrupt_end(&mut ws).await;
    assert_eq!(p.subscriptions(TOPIC), vec!["s".to_string()]);
    let mut ws = connect(&p, &consumer("s", "")).await;
    let m = next_json(&mut ws).await;
    assert_eq!(m["messageId"], ids[1].as_str());
    assert_eq!(m["redeliveryCount"], 0); // in-memory redelivery counts are lost on restart
    let new_id = p.publish(TOPIC, MockMessage::new("after restart"));
    assert_eq!(next_json(&mut ws).await["messageId"], new_id.as_str());
    assert_ne!(new_id, ids[0]);
}

#[tokio::test]
async fn producer_endpoint_appends_and_acks() {
    let p = MockPulsar::start().await.unwrap();
    let mut ws = connect(&p, "/ws/v2/producer/persistent/acme/ns/events").await;
    send(
        &mut ws,
        json!({"payload": STANDARD.encode("hi"), "context": "c1", "key": "k"}),
    )
    .await;
    let a = next_json(&mut ws).await;
    assert_eq!(a["result"], "ok");
    assert_eq!(a["context"], "c1");
    assert_eq!(
        p.message_ids(TOPIC),
        vec![a["messageId"].as_str().unwrap().to_string()]
    );
    send(&mut ws, json!({"payload": "***", "context": 7})).await;
    let a = next_json(&mut ws).await;
    assert_eq!(a["result"], "send-error:7");
    assert_eq!(a["context"], "7");
    within(ws.send(Message::text("nope"))).await.unwrap();
    assert_eq!(next_json(&mut ws).await["result"], "send-error:3");
}

const PRODUCER: &str = "/ws/v2/producer/persistent/acme/ns/events";

/// Sends `n` producer frames with contexts `c0`, `c1`, …
async fn produce_n(ws: &mut Ws, n: usize) {
    for i in 0..n {
        send(
            ws,
            json!({"payload": STANDARD.encode(format!("m{i}")), "context": format!("c{i}")}),
        )
        .await;
    }
}

#[tokio::test]
async fn producer_receipts_can_be_held_reordered_and_failed() {
    let p = MockPulsar::start().await.unwrap();
    let mut ws = connect(&p, PRODUCER).await;
    // Paused: stored, but no ack until resumed; then in arrival order.
    p.pause_receipts(true);
    produce_n(&mut ws, 3).await;
    within(p.wait_for_held_receipts(3)).await;
    assert_eq!(p.message_ids(TOPIC).len(), 3);
    p.pause_receipts(false);
    assert_eq!(p.held_receipts(), 0);
    for i in 0..3 {
        assert_eq!(next_json(&mut ws).await["context"], format!("c{i}"));
    }
    // Reordered in groups of 3, reversed; the rest released in order when turned off.
    p.reorder_receipts(3);
    produce_n(&mut ws, 5).await;
    within(p.wait_for_held_receipts(2)).await;
    let order: Vec<Value> = vec![
        next_json(&mut ws).await,
        next_json(&mut ws).await,
        next_json(&mut ws).await,
    ];
    let contexts: Vec<&str> = order
        .iter()
        .map(|a| a["context"].as_str().unwrap())
        .collect();
    assert_eq!(contexts, ["c2", "c1", "c0"]);
    p.reorder_receipts(0);
    assert_eq!(next_json(&mut ws).await["context"], "c3");
    assert_eq!(next_json(&mut ws).await["context"], "c4");
    // Failed sends: not stored, answered with the code, message and context.
    let stored = p.message_ids(TOPIC).len();
    p.fail_next_sends(8, "Producer send queue is full", 1);
    produce_n(&mut ws, 2).await;
    let a = next_json(&mut ws).await;
    assert_eq!(
        a,
        json!({"result": "send-error:8", "errorMsg": "Producer send queue is full", "context": "c0"})
    );
    assert_eq!(next_json(&mut ws).await["result"], "ok");
    assert_eq!(p.message_ids(TOPIC).len(), stored + 1);
    // Held acks are lost with their connection; the messages stay stored.
    p.pause_receipts(true);
    produce_n(&mut ws, 2).await;
    within(p.wait_for_held_receipts(2)).await;
    p.drop_connections();
    expect_abrupt_end(&mut ws).await;
    assert_eq!(p.held_receipts(), 0);
    assert_eq!(p.message_ids(TOPIC).len(), stored + 3);
}

#[tokio::test]
async fn producer_event_time_needs_an_offset_and_names_are_unique() {
    let p = MockPulsar::start().await.unwrap();
    let mut ws = connect(&p, PRODUCER).await;
    let frame = |t: &str| json!({"payload": "aGk=", "eventTime": t, "context": "1"});
    send(&mut ws, frame("2024-05-01T10:00:00.5+01:00")).await;
    assert_eq!(next_json(&mut ws).await["result"], "ok");
    send(&mut ws, frame("2024-05-01T10:00:00")).await;
    assert_eq!(next_json(&mut ws).await["result"], "send-error:7");
    let named = format!("{PRODUCER}?producerName=solo");
    let _first = connect(&p, &named).await;
    let (status, body) = reject(&p, &named).await;
    assert_eq!(status, 409);
    assert!(body.contains("solo"), "{body}");
    let _other_topic = connect(
        &p,
        "/ws/v2/producer/persistent/acme/ns/other?producerName=solo",
    )
    .await;
    let (status, _) = reject(&p, &format!("{PRODUCER}?initialSequenceId=x")).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn server_stops_when_last_handle_drops() {
    let p = MockPulsar::start().await.unwrap();
    let url = p.service_url();
    let mut ws = connect(&p, &reader("")).await;
    let p2 = p.clone();
    drop(p);
    let _still = connect(&p2, &reader("")).await;
    p2.shutdown().await;
    expect_abrupt_end(&mut ws).await;
    drop(p2);
    assert!(within(tokio_tungstenite::connect_async(format!(
        "{url}/ws/v2/reader/persistent/a/b/c"
    )))
    .await
    .is_err());
}

#[test]
fn handles_are_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<MockPulsar>();
    check::<MockMessage>();
    check::<Handshake>();
    check::<ClientFrame>();
}

// ----- the v3 multi-topic consumer (protocol.md §1.1, §1.2, §2.1; checked on Pulsar 4.0.7) -----

const TOPIC_A: &str = "persistent://acme/ns/orders-eu";
const TOPIC_B: &str = "persistent://acme/ns/orders-us";

fn multi(sub: &str, q: &str) -> String {
    format!("/ws/v3/consumer/{sub}{q}")
}

fn publish_to(p: &MockPulsar, topic: &str, prefix: &str, n: usize) -> Vec<String> {
    p.publish_many(
        topic,
        (0..n).map(|i| MockMessage::new(format!("{prefix}{i}"))),
    )
}

/// The message frames before the `isEndOfTopic` reply, split by payload prefix (`a`/`b`).
fn split_by_prefix(msgs: &[Value]) -> (Vec<Value>, Vec<Value>) {
    msgs.iter()
        .cloned()
        .partition(|m| payload(m).starts_with('a'))
}

fn ids_of(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .map(|m| m["messageId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn v3_topics_delivers_every_topic_without_a_topic_field_and_routes_acks() {
    let p = MockPulsar::start().await.unwrap();
    let ids_a = publish_to(&p, TOPIC_A, "a", 30);
    let ids_b = publish_to(&p, TOPIC_B, "b", 20);
    // Short names are expanded like TopicName.get does; a space after the comma is trimmed.
    let q = format!("?topics={TOPIC_A},%20{TOPIC_B}&subscriptionInitialPosition=Earliest");
    let mut ws = connect(&p, &multi("all%20of%20them", &q)).await;
    let hs = &p.handshakes()[0];
    assert_eq!(hs.endpoint, Endpoint::MultiTopicConsumer);
    assert_eq!(hs.subscription.as_deref(), Some("all of them"));
    assert_eq!(hs.topic, None, "the path names no topic");
    assert_eq!(p.subscriptions(TOPIC_A), vec!["all of them".to_string()]);
    assert_eq!(p.subscriptions(TOPIC_B), vec!["all of them".to_string()]);

    let mut msgs = Vec::new();
    while msgs.len() < 50 {
        msgs.push(next_json(&mut ws).await);
    }
    for m in &msgs {
        let mut keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "messageId",
                "payload",
                "properties",
                "publishTime",
                "redeliveryCount"
            ],
            "no topic field (§4.1)"
        );
    }
    let (a, b) = split_by_prefix(&msgs);
    assert_eq!(ids_of(&a), ids_a, "topic A complete and in order");
    assert_eq!(ids_of(&b), ids_b, "topic B complete and in order");
    // Live messages of either topic arrive too.
    let live_b = p.publish(TOPIC_B, MockMessage::new("b-live"));
    assert_eq!(next_json(&mut ws).await["messageId"], live_b.as_str());

    // Each ack lands on the subscription of the topic that holds the id.
    for id in ids_a.iter().chain(&ids_b).chain([&live_b]) {
        ack(&mut ws, id).await;
    }
    within(p.wait_for_acks(TOPIC_B, "all of them", 21)).await;
    within(p.wait_for_acks(TOPIC_A, "all of them", 30)).await;
    assert_eq!(p.acks(TOPIC_A, "all of them"), ids_a);
    let mut expect_b = ids_b.clone();
    expect_b.push(live_b);
    assert_eq!(p.acks(TOPIC_B, "all of them"), expect_b);
    assert_eq!(p.backlog(TOPIC_A, "all of them"), Some(0));
    assert_eq!(p.backlog(TOPIC_B, "all of them"), Some(0));

    // An id of a topic this consumer is not on is recorded nowhere (the proxy cannot route it).
    let foreign = p.publish("persistent://acme/ns/elsewhere", MockMessage::new("x"));
    ack(&mut ws, &foreign).await;
    let (_, end) = drain_until_eot(&mut ws).await;
    assert!(!end);
    assert_eq!(p.acks(TOPIC_A, "all of them").len(), 30);
    assert_eq!(p.acks(TOPIC_B, "all of them").len(), 21);
    assert!(p.subscriptions("persistent://acme/ns/elsewhere").is_empty());
}

#[tokio::test]
async fn v3_topics_window_is_shared_fairly_and_short_names_expand() {
    let p = MockPulsar::start().await.unwrap();
    let a = "persistent://public/default/short-a";
    let b = "persistent://public/default/short-b";
    publish_to(&p, a, "a", 50);
    publish_to(&p, b, "b", 5);
    let mut ws = connect(
        &p,
        &multi(
            "s",
            "?topics=short-a,public/default/short-b&receiverQueueSize=10\
             &subscriptionInitialPosition=Earliest",
        ),
    )
    .await;
    let (first, _) = drain_until_eot(&mut ws).await;
    assert_eq!(first.len(), 10, "one window for all topics");
    // Acking one at a time: topic B is not starved while A still has messages.
    let mut seen = first;
    let mut i = 0;
    while seen.iter().filter(|m| payload(m).starts_with('b')).count() < 5 {
        assert!(
            i < 40,
            "topic B starved: {:?}",
            seen.iter().map(payload).collect::<Vec<_>>()
        );
        ack(&mut ws, seen[i]["messageId"].as_str().unwrap()).await;
        seen.push(next_json(&mut ws).await);
        i += 1;
    }
    assert!(
        seen.iter().filter(|m| payload(m).starts_with('a')).count() < 50,
        "B's messages came before all of A's"
    );
    assert_eq!(p.subscriptions(a), vec!["s".to_string()]);
    assert_eq!(p.subscriptions(b), vec!["s".to_string()]);
}

#[tokio::test]
async fn v3_pattern_covers_the_matching_topics_and_those_created_later() {
    let p = MockPulsar::start().await.unwrap();
    let ids_a = publish_to(&p, TOPIC_A, "a", 3);
    let ids_b = publish_to(&p, TOPIC_B, "b", 3);
    publish_to(&p, "persistent://acme/ns/payments", "x", 1);
    publish_to(&p, "persistent://acme/other/orders-eu", "x", 1);
    let pattern = "persistent://acme/ns/orders-.*";
    let mut ws = connect(
        &p,
        &multi(
            "pat",
            &format!("?topicsPattern={pattern}&subscriptionInitialPosition=Earliest"),
        ),
    )
    .await;
    assert_eq!(p.handshakes()[0].query["topicsPattern"], pattern);
    let (msgs, end) = drain_until_eot(&mut ws).await;
    assert!(!end);
    let (a, b) = split_by_prefix(&msgs);
    assert_eq!(
        (ids_of(&a), ids_of(&b)),
        (ids_a, ids_b),
        "only the two matches"
    );
    assert!(p.subscriptions("persistent://acme/ns/payments").is_empty());
    assert!(p
        .subscriptions("persistent://acme/other/orders-eu")
        .is_empty());

    // A topic created afterwards that matches joins the subscription (the broker's topic-list
    // watcher); one that does not match stays out.
    let asia = p.publish("persistent://acme/ns/orders-asia", MockMessage::new("asia"));
    p.publish("persistent://acme/ns/refunds", MockMessage::new("no"));
    let m = next_json(&mut ws).await;
    assert_eq!(
        (m["messageId"].as_str(), payload(&m).as_str()),
        (Some(asia.as_str()), "asia")
    );
    ack(&mut ws, &asia).await;
    within(p.wait_for_acks("persistent://acme/ns/orders-asia", "pat", 1)).await;
    assert_eq!(
        p.backlog("persistent://acme/ns/orders-asia", "pat"),
        Some(0)
    );
    assert!(p.subscriptions("persistent://acme/ns/refunds").is_empty());

    // Without the scheme: the same topics.
    let _ws2 = connect(&p, &multi("noscheme", "?topicsPattern=acme/ns/orders-.*")).await;
    assert_eq!(
        p.subscriptions(TOPIC_A),
        vec!["noscheme".to_string(), "pat".into()]
    );
    // A short pattern cannot match `acme/ns/...` (its namespace is public/default), and a prefix
    // is not a match: no topic at all, which the server reports as end of topic.
    for q in [
        "?topicsPattern=orders-.*",
        "?topicsPattern=persistent://acme/ns/orders",
    ] {
        let mut none = connect(&p, &multi("none", q)).await;
        let (msgs, end) = drain_until_eot(&mut none).await;
        assert!(msgs.is_empty() && end, "{q}");
    }
    assert!(!p.subscriptions(TOPIC_A).contains(&"none".to_string()));
}

#[tokio::test]
async fn v3_handshake_errors_are_the_real_servers() {
    let p = MockPulsar::start().await.unwrap();
    let a = TOPIC_A;
    let cases: [(String, u16, &str); 9] = [
        (multi("s", ""), 500, "Should set topics or topicsPattern"),
        (
            multi("s", &format!("?topics={a}&topicsPattern=x")),
            500,
            "Topics must be null when use topicsPattern",
        ),
        (multi("s", "?topics="), 500, "Invalid short topic name"),
        (
            multi("s", "?topicsPattern="),
            500,
            "Invalid short topic name",
        ),
        (
            multi("s", &format!("?topics={a},")),
            400,
            "Invalid query params: topicNames cannot have blank topic",
        ),
        (
            multi("", &format!("?topics={a}")),
            400,
            "Invalid query params: Empty subscription name",
        ),
        (
            multi("s", &format!("?topics={a}&subscriptionType=Bogus")),
            400,
            "Invalid query params: Invalid subscriptionType Bogus",
        ),
        (
            multi("s", &format!("?topics={a}&deadLetterTopic=x")),
            400,
            "Invalid query params",
        ),
        (
            multi("s", "?topicsPattern=persistent://acme/ns/(orders"),
            400,
            "Invalid query params",
        ),
    ];
    for (path, status, text) in &cases {
        let (got, body) = reject(&p, path).await;
        assert_eq!(got, *status, "{path}: {body}");
        assert!(body.contains(text), "{path}: {body}");
    }
    // Authorization on each listed topic (§3.2).
    p.forbid_topic(TOPIC_B);
    let both = multi("s", &format!("?topics={TOPIC_A},{TOPIC_B}"));
    assert_eq!(reject(&p, &both).await.0, 403);
    p.forbid_topic("persistent://acme/ns/secret-.*");
    assert_eq!(
        reject(
            &p,
            &multi("s", "?topicsPattern=persistent://acme/ns/secret-.*")
        )
        .await
        .0,
        403
    );
    p.set_topic_must_exist(true);
    let (status, body) = reject(&p, &multi("s", &format!("?topics={TOPIC_A}"))).await;
    assert_eq!(status, 404, "{body}");
    assert!(p.subscriptions(TOPIC_A).is_empty());
}

#[tokio::test]
async fn v3_conflicts_are_per_topic_like_the_real_server() {
    let p = MockPulsar::start().await.unwrap();
    p.create_topic(TOPIC_A);
    p.create_topic(TOPIC_B);
    let both = format!("?topics={TOPIC_A},{TOPIC_B}");
    // A v2 Exclusive consumer holds `s` on A: a v3 consumer of `s` on A and B is refused, and
    // (as the proxy's Java consumer subscribed B before giving up) `s` now exists on B.
    let _v2 = connect(&p, "/ws/v2/consumer/persistent/acme/ns/orders-eu/s").await;
    let (status, body) = reject(&p, &multi("s", &both)).await;
    assert_eq!(status, 409);
    assert!(
        body.contains("Exclusive consumer is already connected"),
        "{body}"
    );
    let (status, body) = reject(&p, &multi("s", &format!("{both}&subscriptionType=Shared"))).await;
    assert_eq!(status, 409);
    assert!(body.contains("Subscription is of different type"), "{body}");
    assert_eq!(p.subscriptions(TOPIC_B), vec!["s".to_string()]);
    // A v3 Exclusive consumer holds `t` on both topics.
    let _v3 = connect(&p, &multi("t", &both)).await;
    assert_eq!(reject(&p, &multi("t", &both)).await.0, 409);
    assert_eq!(
        reject(&p, "/ws/v2/consumer/persistent/acme/ns/orders-us/t")
            .await
            .0,
        409
    );
    // Shared: two v3 consumers split the messages of both topics.
    let shared = format!("{both}&subscriptionType=Shared&subscriptionInitialPosition=Earliest");
    let mut c1 = connect(&p, &multi("sh", &shared)).await;
    let mut c2 = connect(&p, &multi("sh", &shared)).await;
    let mut all = publish_to(&p, TOPIC_A, "a", 4);
    all.extend(publish_to(&p, TOPIC_B, "b", 4));
    let (m1, _) = drain_until_eot(&mut c1).await;
    let (m2, _) = drain_until_eot(&mut c2).await;
    assert!(!m1.is_empty() && !m2.is_empty(), "both got a share");
    let mut got: Vec<String> = ids_of(&m1).into_iter().chain(ids_of(&m2)).collect();
    got.sort();
    all.sort();
    assert_eq!(got, all, "none lost or doubled");
}

#[tokio::test]
async fn v3_consumer_options_nack_dead_letter_pull_unsubscribe_and_end_of_topic() {
    let p = MockPulsar::start().await.unwrap();
    let a = publish_to(&p, TOPIC_A, "a", 2);
    let b = publish_to(&p, TOPIC_B, "b", 2);
    let both = format!("?topics={TOPIC_A},{TOPIC_B}&subscriptionInitialPosition=Earliest");

    // Nack: redelivered from its own topic with redeliveryCount 1; past maxRedeliverCount it
    // goes to the DLQ named after the first topic (§2.1), with its real topic.
    let q = format!("{both}&negativeAckRedeliveryDelay=10&maxRedeliverCount=1");
    let mut ws = connect(&p, &multi("n", &q)).await;
    let (msgs, _) = drain_until_eot(&mut ws).await;
    assert_eq!(msgs.len(), 4);
    for id in [&a[0], &a[1], &b[0]] {
        ack(&mut ws, id).await;
    }
    send(
        &mut ws,
        json!({"type": "negativeAcknowledge", "messageId": b[1]}),
    )
    .await;
    let m = next_json(&mut ws).await;
    assert_eq!(
        (m["messageId"].as_str(), m["redeliveryCount"].as_u64()),
        (Some(b[1].as_str()), Some(1))
    );
    assert_eq!(p.nacks(TOPIC_B, "n"), vec![b[1].clone()]);
    assert!(p.nacks(TOPIC_A, "n").is_empty());
    send(
        &mut ws,
        json!({"type": "negativeAcknowledge", "messageId": b[1]}),
    )
    .await;
    let dlq = format!("{TOPIC_A}-n-DLQ");
    within(p.wait_for_messages(&dlq, 1)).await;
    assert_eq!(p.backlog(TOPIC_A, "n"), Some(0));
    assert_eq!(p.backlog(TOPIC_B, "n"), Some(0));
    let mut dl = connect(
        &p,
        "/ws/v2/reader/persistent/acme/ns/orders-eu-n-DLQ?messageId=earliest",
    )
    .await;
    let d = next_json(&mut dl).await;
    assert_eq!(payload(&d), "b1");
    assert_eq!(d["properties"]["REAL_TOPIC"], TOPIC_B);

    // Pull mode: permits count over all topics.
    let mut pull = connect(&p, &multi("pull", &format!("{both}&pullMode=true"))).await;
    assert!(drain_until_eot(&mut pull).await.0.is_empty());
    send(&mut pull, json!({"type": "permit", "permitMessages": 3})).await;
    assert_eq!(drain_until_eot(&mut pull).await.0.len(), 3);
    send(&mut pull, json!({"type": "permit", "permitMessages": 5})).await;
    assert_eq!(drain_until_eot(&mut pull).await.0.len(), 1);

    // A dropped connection: the unacked messages of every topic come again, count + 1.
    let mut once = connect(&p, &multi("drop", &both)).await;
    assert_eq!(drain_until_eot(&mut once).await.0.len(), 4);
    drop(once);
    within(p.wait_for_connections(3)).await;
    let mut again = connect(&p, &multi("drop", &both)).await;
    let (msgs, _) = drain_until_eot(&mut again).await;
    assert_eq!(msgs.len(), 4);
    assert!(msgs.iter().all(|m| m["redeliveryCount"] == 1));

    // Unsubscribe removes the subscription from every topic. The server records a frame and
    // acts on it in one step, so once it is recorded it has been handled.
    assert!(p.subscriptions(TOPIC_B).contains(&"drop".to_string()));
    let before = p.commands().len();
    send(&mut again, json!({"type": "unsubscribe"})).await;
    within(p.wait_for_commands(before + 1)).await;
    assert!(!p.subscriptions(TOPIC_A).contains(&"drop".to_string()));
    assert!(!p.subscriptions(TOPIC_B).contains(&"drop".to_string()));

    // End of topic: true once every topic is terminated and everything was dispatched.
    p.terminate(TOPIC_A);
    assert!(!drain_until_eot(&mut ws).await.1, "B is still open");
    p.terminate(TOPIC_B);
    assert!(drain_until_eot(&mut ws).await.1);
}
