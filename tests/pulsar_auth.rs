//! Real broker, `auth` instance (token authentication and authorization): handshake refusals
//! as typed errors, a permitted token streaming, and the token in the query string.
//!
//! Roles (see scripts/pulsar.sh): `admin` (super-user), `reader` (consume on public/default),
//! `nobody` (a valid token without permission), and a token signed with another key.

#[path = "support/broker.rs"]
mod broker;
#[path = "support/events.rs"]
mod events;
#[path = "support/relay.rs"]
mod relay;

use std::time::Duration;

use broker::{Broker, ProduceOptions};
use events::*;
use pulsar_eventstream::{Client, Credentials, Error, EventStream, InitialPosition, Position};
use relay::Relay;

fn broker() -> Broker {
    let b = Broker::auth_from_env().expect("the auth broker");
    assert!(
        b.is_auth(),
        "PULSAR_AUTH_ENV_FILE points at the auth instance"
    );
    b
}

fn token(t: &Option<String>) -> String {
    t.clone().expect("the auth instance has this token")
}

async fn reader(client: &Client, topic: &str) -> pulsar_eventstream::Result<EventStream> {
    client
        .reader(events::topic(topic))
        .position(Position::Earliest)
        .subscribe()
        .await
}

async fn consumer(client: &Client, topic: &str) -> pulsar_eventstream::Result<EventStream> {
    client
        .consumer(events::topic(topic), "auth-sub")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
}

/// The error of a refused subscribe, checked to never show the token.
fn refusal(result: pulsar_eventstream::Result<EventStream>, secret: Option<&str>) -> Error {
    let error = match result {
        Ok(_) => panic!("the broker accepted the handshake"),
        Err(e) => e,
    };
    if let Some(secret) = secret {
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(secret), "the token leaked: {shown}");
    }
    error
}

#[tokio::test]
async fn a_bad_or_missing_token_is_unauthorized() {
    let b = broker();
    let topic = b.unique_topic("auth-bad");
    let bad = token(&b.tokens.bad);
    let with_bad = Client::builder(&b.ws_url)
        .token(bad.as_str())
        .build()
        .unwrap();
    let without = Client::builder(&b.ws_url).build().unwrap();
    for (what, result, secret) in [
        (
            "reader, bad token",
            reader(&with_bad, &topic).await,
            Some(&bad),
        ),
        (
            "consumer, bad token",
            consumer(&with_bad, &topic).await,
            Some(&bad),
        ),
        ("reader, no token", reader(&without, &topic).await, None),
    ] {
        let error = refusal(result, secret.map(String::as_str));
        assert!(
            matches!(error, Error::Unauthorized { .. }),
            "{what}: {error:?}"
        );
        assert_eq!(error.status(), Some(401));
        assert!(!error.is_retryable(), "{what}: retrying cannot help");
    }
}

#[tokio::test]
async fn a_valid_token_without_permission_is_forbidden() {
    let b = broker();
    let topic = b.unique_topic("auth-noperm");
    let nobody = token(&b.tokens.noperm);
    let client = Client::builder(&b.ws_url)
        .token(nobody.as_str())
        .build()
        .unwrap();
    for (what, result) in [
        ("reader", reader(&client, &topic).await),
        ("consumer", consumer(&client, &topic).await),
    ] {
        let error = refusal(result, Some(&nobody));
        assert!(
            matches!(error, Error::Forbidden { .. }),
            "{what}: {error:?}"
        );
        assert!(!error.is_retryable());
    }
}

#[tokio::test]
async fn the_reader_role_reads_and_consumes() {
    let b = broker();
    let topic = b.unique_topic("auth-reader");
    let produced = b
        .python_produce(&topic, 5, &ProduceOptions::default()) // with the admin token
        .await;
    let client = Client::builder(&b.ws_url)
        .token(token(&b.tokens.reader).as_str())
        .build()
        .unwrap();
    let mut events = reader(&client, &topic).await.expect("reader subscribes");
    let seen = take_events(&mut events, 5, "reader").await;
    assert_eq!(
        seen.iter().map(text).collect::<Vec<_>>(),
        numbered("msg-", 0..5)
    );
    for (event, p) in seen.iter().zip(&produced) {
        let got = event.message_id();
        assert_eq!((got.ledger_id(), got.entry_id()), (p.ledger_id, p.entry_id));
    }
    events.close().await.expect("close");

    let mut events = consumer(&client, &topic)
        .await
        .expect("consumer subscribes");
    take_events(&mut events, 5, "consumer").await;
    events.close().await.expect("close");
    // The admin API (admin token) sees the reader role's acks.
    assert_eq!(
        b.wait_for_backlog(&topic, "auth-sub", 0, Duration::from_secs(30))
            .await,
        Some(0)
    );
}

#[tokio::test]
async fn a_token_in_the_query_authenticates_and_replaces_the_header() {
    let b = broker();
    let topic = b.unique_topic("auth-query");
    b.python_produce(&topic, 3, &ProduceOptions::default())
        .await;
    let relay = Relay::start(&b.ws_url).await;
    let reader_token = token(&b.tokens.reader);

    let client = Client::builder(relay.url())
        .credentials(Credentials::token(reader_token.as_str()).token_in_query(true))
        .build()
        .unwrap();
    let mut events = reader(&client, &topic).await.expect("reader subscribes");
    let seen = take_events(&mut events, 3, "reader").await;
    assert_eq!(
        seen.iter().map(text).collect::<Vec<_>>(),
        numbered("msg-", 0..3)
    );
    events.close().await.expect("close");

    // A permissionless token in the query gets 403, not the 401 of "no token": the broker
    // authenticated the query's token.
    let nobody = token(&b.tokens.noperm);
    let client = Client::builder(relay.url())
        .credentials(Credentials::token(nobody.as_str()).token_in_query(true))
        .build()
        .unwrap();
    let error = refusal(reader(&client, &topic).await, Some(&nobody));
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");

    // What went over the wire: the token in the query, no Authorization header.
    let heads = relay.request_heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    for (head, secret) in heads.iter().zip([&reader_token, &nobody]) {
        let request_line = head.lines().next().unwrap_or_default();
        assert!(
            request_line.contains(&format!("token={secret}")),
            "token in the query: {request_line}"
        );
        assert!(
            !head.to_ascii_lowercase().contains("\r\nauthorization:"),
            "no Authorization header: {head}"
        );
    }

    // And the default: the header, not the query.
    let client = Client::builder(relay.url())
        .token(reader_token.as_str())
        .build()
        .unwrap();
    let events = reader(&client, &topic).await.expect("reader subscribes");
    events.close().await.expect("close");
    let heads = relay.request_heads();
    let head = heads.last().expect("a third handshake");
    assert!(!head.lines().next().unwrap_or_default().contains("token="));
    assert!(
        head.to_ascii_lowercase().contains(&format!(
            "\r\nauthorization: bearer {}",
            reader_token.to_ascii_lowercase()
        )),
        "{head}"
    );
}
