//! `MockPulsar`'s control knobs and lifecycle: server-side closes and drops, cutting after n
//! deliveries, pause and freeze, raw frames and a restart, shutdown when the last handle drops,
//! and the handles' auto traits.

use super::*;
use pulsar_eventstream::testing::{ClientFrame, Handshake, RawFrame};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

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
