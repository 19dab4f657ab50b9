//! `MockPulsar`'s v3 multi-topic consumer (protocol.md §1.1, §1.2, §2.1; checked on Pulsar
//! 4.0.7): `topics` and `topicsPattern`, the shared window, the real server's handshake errors
//! and conflicts, and the consumer options across topics.

use super::*;
use pulsar_eventstream::testing::Endpoint;

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
