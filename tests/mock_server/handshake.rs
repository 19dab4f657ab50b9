//! `MockPulsar`'s handshake: injected failures and delays, the statuses of query and path
//! validation, form-decoded path segments, and the API key and token when they are required.

use super::*;
use pulsar_eventstream::testing::Endpoint;

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
