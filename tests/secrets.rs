//! No secret in any `Debug` or `Display`, error, or URL the crate prints; and
//! credentials reach the server where they belong.

mod common;

use common::*;
use futures::StreamExt;
use pulsar_eventstream::{Client, Credentials, Error, NeverReconnect};

const API_KEY: &str = "eght_SECRET_API_KEY_123";
const TOKEN: &str = "SECRET.JWT.TOKEN";
const PASSWORD: &str = "SECRET-PASSWORD";

fn assert_clean(text: &str) {
    for secret in [API_KEY, TOKEN, PASSWORD] {
        assert!(!text.contains(secret), "secret leaked in: {text}");
    }
}

#[tokio::test]
async fn secrets_never_appear_in_debug_display_or_errors() {
    let (mock, _) = setup().await;
    let (_, topic) = topic("secrets");
    let builder = Client::builder(mock.service_url())
        .api_key(API_KEY)
        .api_key_in_query(true)
        .token(TOKEN)
        .header("X-Extra", PASSWORD);
    assert_clean(&format!("{builder:?}"));
    let client = builder.build().unwrap();
    assert_clean(&format!("{client:?} {}", client.service_url()));
    assert_clean(&format!("{:?}", Credentials::basic("me", PASSWORD)));
    let reader = client.reader(topic.clone());
    assert_clean(&format!("{reader:?}"));
    let consumer = client.consumer(topic.clone(), "s");
    assert_clean(&format!("{consumer:?}"));

    // Errors from every stage.
    mock.fail_handshakes(401, "Failed to authenticate", 1);
    let refused = client.reader(topic.clone()).subscribe().await.unwrap_err();
    assert_clean(&format!("{refused:?} {refused}"));
    let bad_header = Client::builder(mock.service_url())
        .api_key(format!("{API_KEY}\n"))
        .build()
        .unwrap_err();
    assert_clean(&format!("{bad_header:?} {bad_header}"));

    let mut events = client
        .reader(topic)
        .reconnect_policy(NeverReconnect)
        .subscribe()
        .await
        .unwrap();
    assert_clean(&format!("{events:?}"));
    mock.drop_connections();
    let lost = next(&mut events).await.unwrap_err();
    assert!(matches!(lost, Error::Closed { .. }));
    assert_clean(&format!("{lost:?} {lost}"));
    assert!(within(events.next()).await.is_none());
}

#[tokio::test]
async fn credentials_travel_in_headers_and_only_asked_for_in_the_query() {
    let (mock, _) = setup().await;
    let (_, topic) = topic("where");
    let client = Client::builder(mock.service_url())
        .api_key(API_KEY)
        .token(TOKEN)
        .build()
        .unwrap();
    client
        .reader(topic.clone())
        .subscribe()
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    let h = &mock.handshakes()[0];
    assert_eq!(h.header("x-api-key"), Some(API_KEY));
    assert_eq!(
        h.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(!h.query.contains_key("x-api-key") && !h.query.contains_key("token"));

    let in_query = Client::builder(mock.service_url())
        .api_key(API_KEY)
        .api_key_in_query(true)
        .build()
        .unwrap();
    in_query
        .reader(topic.clone())
        .subscribe()
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    assert_eq!(mock.handshakes()[1].query["x-api-key"], API_KEY);

    let basic = Client::builder(mock.service_url())
        .basic_auth("user", PASSWORD)
        .build()
        .unwrap();
    basic
        .reader(topic)
        .subscribe()
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    let expected = format!("Basic {}", base64_of(&format!("user:{PASSWORD}")));
    assert_eq!(
        mock.handshakes()[2].header("authorization"),
        Some(expected.as_str())
    );
}

#[tokio::test]
async fn the_credentials_provider_is_asked_on_every_connect() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (mock, _) = setup().await;
    let (_, topic) = topic("provider");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let client = Client::builder(mock.service_url())
        .credentials_provider(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Ok(Credentials::token(format!("token-{n}"))) }
        })
        .build()
        .unwrap();
    for _ in 0..2 {
        client
            .reader(topic.clone())
            .subscribe()
            .await
            .unwrap()
            .close()
            .await
            .unwrap();
    }
    let seen: Vec<Option<String>> = mock
        .handshakes()
        .iter()
        .map(|h| h.header("authorization").map(str::to_string))
        .collect();
    assert_eq!(
        seen,
        vec![Some("Bearer token-1".into()), Some("Bearer token-2".into())]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

fn base64_of(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
