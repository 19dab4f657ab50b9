//! No secret in any `Debug` or `Display`, error, or URL the crate prints; and
//! credentials reach the server where they belong.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures::StreamExt;
use pulsar_eventstream::{
    AckMode, Client, ConnectionEvent, Credentials, Error, FixedDelay, NeverReconnect, Position,
};

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

/// Everything written by the subscriber installed in
/// `no_secret_in_any_log_line_or_printed_value`.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Secrets with characters that URL and base64 encodings change, so that
/// every encoded form can be looked for too.
const Q_API_KEY: &str = "eght_QUERY+API/KEY=77";
const Q_TOKEN: &str = "QUERY.JWT/TOKEN+9=";
const B_PASSWORD: &str = "b@sic:PASS/word+1";

fn forms(secret: &str) -> Vec<String> {
    let url_encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent_encoded = url_encoded.replace('+', "%20");
    vec![
        secret.to_string(),
        url_encoded,
        percent_encoded,
        base64_of(secret),
        base64_of(&format!("user:{secret}")),
    ]
}

/// One global subscriber at TRACE captures every `tracing` event and span
/// field of the crate and, through `tracing-log`, every `log` record of its
/// dependencies (tungstenite, rustls), while a session with an API key (in
/// the header and the query), a token (header, then query), and basic
/// credentials connects, is refused, loses its connection, reconnects, reads
/// and closes. No form of any secret appears in the log or in the `Debug` or
/// `Display` of any value the application could print.
#[tokio::test]
async fn no_secret_in_any_log_line_or_printed_value() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only global subscriber of this test binary");
    let mut printed = String::new();
    let mut print = |text: String| {
        printed.push_str(&text);
        printed.push('\n');
    };

    let (mock, _) = setup().await;
    let (name, topic) = topic("traced");
    mock.publish_many(&name, numbered(2));
    mock.require_api_key(Some(Q_API_KEY));
    mock.require_token(Some(Q_TOKEN));
    let connection_events = Arc::new(Mutex::new(Vec::new()));
    let sink = connection_events.clone();
    let builder = Client::builder(mock.service_url())
        .api_key(Q_API_KEY)
        .api_key_in_query(true)
        .token(Q_TOKEN)
        .reconnect_policy(FixedDelay::new(Duration::from_millis(10)))
        .on_connection_event(move |e: &ConnectionEvent| sink.lock().unwrap().push(e.clone()));
    print(format!("{builder:?}"));
    let client = builder.build().unwrap();
    print(format!("{client:?} {}", client.service_url()));
    let reader = client.reader(topic.clone()).position(Position::Earliest);
    print(format!("{reader:?}"));
    let mut events = within(reader.subscribe()).await.unwrap();
    print(format!("{events:?}"));
    for event in take_events(&mut events, 2).await {
        print(format!(
            "{event:?} {:?} {} {:?}",
            event.ack_handle(),
            event.message_id(),
            event.message_id()
        ));
    }
    // Lost, then refused once (503), then back: every reconnect path logs.
    mock.fail_handshakes(503, "Service Unavailable", 1);
    mock.drop_connections();
    mock.publish_many(&name, numbered(4));
    for event in take_events(&mut events, 4).await {
        print(format!("{event:?}"));
    }
    within(events.close()).await.unwrap();
    for e in connection_events.lock().unwrap().iter() {
        print(format!("{e:?}"));
        if let ConnectionEvent::Disconnected { error } | ConnectionEvent::GaveUp { error } = e {
            print(format!("{error} {error:?}"));
        }
    }
    assert!(
        mock.handshakes().len() >= 3,
        "connected, refused, reconnected"
    );

    // The token in the query, and basic credentials, each refused and accepted.
    mock.require_api_key(None);
    let in_query = Client::builder(mock.service_url())
        .credentials(Credentials::token(Q_TOKEN).token_in_query(true))
        .build()
        .unwrap();
    print(format!("{in_query:?}"));
    let stream = within(
        in_query
            .consumer(topic.clone(), "traced")
            .ack_mode(AckMode::Manual)
            .subscribe(),
    )
    .await
    .unwrap();
    print(format!("{stream:?}"));
    within(stream.close()).await.unwrap();
    mock.require_token(None);
    mock.fail_handshakes(401, "Failed to authenticate", 1);
    let basic = Client::builder(mock.service_url())
        .basic_auth("user", B_PASSWORD)
        .reconnect_policy(NeverReconnect)
        .build()
        .unwrap();
    print(format!(
        "{basic:?} {:?}",
        Credentials::basic("user", B_PASSWORD)
    ));
    let refused = within(basic.reader(topic.clone()).subscribe())
        .await
        .unwrap_err();
    print(format!("{refused} {refused:?}"));
    let stream = within(basic.reader(topic).subscribe()).await.unwrap();
    within(stream.close()).await.unwrap();
    assert_eq!(
        mock.handshakes().last().unwrap().header("authorization"),
        Some(format!("Basic {}", base64_of(&format!("user:{B_PASSWORD}"))).as_str()),
        "the secrets did travel"
    );

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("connecting") && log.contains("REDACTED"),
        "capture works: {log}"
    );
    assert!(
        log.contains("reconnecting") && log.contains("TRACE"),
        "{log}"
    );
    for secret in [Q_API_KEY, Q_TOKEN, B_PASSWORD] {
        for form in forms(secret) {
            for (what, text) in [("log", &log), ("Debug/Display", &printed)] {
                if let Some(at) = text.find(&form) {
                    let from = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    let line = text[from..].lines().next().unwrap_or_default();
                    panic!("{secret:?} as {form:?} in the {what}: {line}");
                }
            }
        }
    }
}
