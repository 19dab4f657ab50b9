//! `MockPulsar`'s consumer endpoint: acks and the backlog, the window, redelivery after a
//! disconnect, a nack and an ack timeout, dead letters, pull mode and the subscription types.

use super::*;

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
