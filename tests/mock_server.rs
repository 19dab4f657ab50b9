//! Tests of `MockPulsar` itself, driven by a raw tokio-tungstenite client (never the crate's
//! client), against the behaviour protocol.md describes.
//!
//! This file holds the raw client's helpers; the tests are in `mock_server/`, one concern each:
//! the reader, consumer and producer endpoints, the handshake (validation, auth, injected
//! failures), what the server does with the client's frames, the control knobs (drops, closes,
//! pauses, restart, shutdown) and the v3 multi-topic consumer.
#![cfg(feature = "testing")]

#[path = "mock_server/client_frames.rs"]
mod client_frames;
#[path = "mock_server/consumer_endpoint.rs"]
mod consumer_endpoint;
#[path = "mock_server/control.rs"]
mod control;
#[path = "mock_server/handshake.rs"]
mod handshake;
#[path = "mock_server/producer_endpoint.rs"]
mod producer_endpoint;
#[path = "mock_server/reader_endpoint.rs"]
mod reader_endpoint;
#[path = "mock_server/v3_consumer.rs"]
mod v3_consumer;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
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
