//! `MockPulsar`'s producer endpoint: messages appended and acked by context, receipts held,
//! reordered and failed on demand, event times and unique producer names.

use super::*;

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
