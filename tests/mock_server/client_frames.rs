//! What `MockPulsar` does with the client's frames: non-JSON text and bad ack ids (dropped or
//! closed with 1011, as the real proxy does), `unsubscribe`, and `isEndOfTopic`.

use super::*;

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
