//! A minimal producer over the broker's WebSocket producer endpoint, for the real-broker tests.
//!
//! Include it after `support/broker.rs`:
//!
//! ```ignore
//! #[path = "support/broker.rs"]
//! mod broker;
//! #[path = "support/ws_producer.rs"]
//! mod ws_producer;
//! ```
//!
//! The crate under test only reads, so the tests need a way to publish fast and with per-message
//! keys: the Python client (`Broker::python_produce`) starts a process and sends synchronously,
//! one key per call. This talks to `/ws/v2/producer/...` directly with `tokio-tungstenite` (no
//! crate API), keeps up to [`WINDOW`] sends unacknowledged, and returns the message ids the broker
//! acknowledged, in send order. Batching is off (`batchingEnabled=false`), so every message is
//! its own entry and its id has no batch index.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::broker::{base64_encode, topic_path, Broker};

/// Sends in flight at most (the proxy's producer rejects sends beyond its pending queue instead of
/// blocking).
pub const WINDOW: usize = 500;

/// Bound on any single wait for the broker (connect, one ack).
const LIMIT: Duration = Duration::from_secs(60);

/// One message to publish.
#[derive(Clone, Debug, Default)]
pub struct Outgoing {
    pub payload: Vec<u8>,
    pub key: Option<String>,
    pub properties: Vec<(String, String)>,
}

impl Outgoing {
    /// A message with a UTF-8 payload and nothing else.
    pub fn text(payload: impl Into<String>) -> Outgoing {
        Outgoing {
            payload: payload.into().into_bytes(),
            ..Outgoing::default()
        }
    }

    /// The same message with a key.
    pub fn key(mut self, key: impl Into<String>) -> Outgoing {
        self.key = Some(key.into());
        self
    }
}

/// One producer connection.
pub struct WsProducer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_context: u64,
    topic: String,
}

impl WsProducer {
    /// Connects a producer to `topic` (the admin token on the auth instance). Panics on failure.
    pub async fn connect(broker: &Broker, topic: &str) -> WsProducer {
        let url = broker.ws(&format!(
            "/ws/v2/producer/{}?batchingEnabled=false&sendTimeoutMillis=30000",
            topic_path(topic)
        ));
        let mut request = url
            .as_str()
            .into_client_request()
            .expect("producer handshake request");
        if let Some(token) = &broker.tokens.admin {
            request.headers_mut().insert(
                "Authorization",
                format!("Bearer {token}").parse().expect("header value"),
            );
        }
        let (ws, _) = tokio::time::timeout(LIMIT, tokio_tungstenite::connect_async(request))
            .await
            .unwrap_or_else(|_| panic!("producer connect to {topic}: timed out"))
            .unwrap_or_else(|e| panic!("producer connect to {topic}: {e}"));
        WsProducer {
            ws,
            next_context: 0,
            topic: topic.to_string(),
        }
    }

    /// Publishes every message in order, with up to [`WINDOW`] unacknowledged; returns the ids
    /// (the broker's base64 strings) in the same order. Panics on any send error.
    pub async fn send_all(&mut self, messages: impl IntoIterator<Item = Outgoing>) -> Vec<String> {
        let mut ids = Vec::new();
        let mut in_flight: VecDeque<String> = VecDeque::new();
        for message in messages {
            if in_flight.len() >= WINDOW {
                ids.push(self.await_ack(&mut in_flight).await);
            }
            let context = self.next_context.to_string();
            self.next_context += 1;
            let mut frame = json!({
                "payload": base64_encode(&message.payload),
                "context": context,
            });
            if let Some(key) = &message.key {
                frame["key"] = Value::from(key.as_str());
            }
            if !message.properties.is_empty() {
                let props: serde_json::Map<String, Value> = message
                    .properties
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect();
                frame["properties"] = Value::Object(props);
            }
            self.ws
                .feed(Message::text(frame.to_string()))
                .await
                .unwrap_or_else(|e| panic!("producer on {}: send: {e}", self.topic));
            in_flight.push_back(context);
            if in_flight.len().is_multiple_of(64) {
                self.flush().await;
            }
        }
        self.flush().await;
        while !in_flight.is_empty() {
            ids.push(self.await_ack(&mut in_flight).await);
        }
        ids
    }

    /// Publishes one message; returns its id.
    pub async fn send(&mut self, message: Outgoing) -> String {
        self.send_all([message]).await.remove(0)
    }

    /// Closes the connection (best effort).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    async fn flush(&mut self) {
        self.ws
            .flush()
            .await
            .unwrap_or_else(|e| panic!("producer on {}: flush: {e}", self.topic));
    }

    /// The next ack, which must be for the oldest message in flight (one producer's sends
    /// complete in order).
    async fn await_ack(&mut self, in_flight: &mut VecDeque<String>) -> String {
        self.flush().await;
        loop {
            let msg = tokio::time::timeout(LIMIT, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("producer on {}: no ack within {LIMIT:?}", self.topic))
                .unwrap_or_else(|| panic!("producer on {}: connection closed", self.topic))
                .unwrap_or_else(|e| panic!("producer on {}: {e}", self.topic));
            let text = match msg {
                Message::Text(t) => t.to_string(),
                Message::Close(frame) => panic!("producer on {}: closed: {frame:?}", self.topic),
                _ => continue,
            };
            let ack: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("producer on {}: bad ack {text}: {e}", self.topic));
            if ack["result"] != "ok" {
                panic!("producer on {}: send failed: {text}", self.topic);
            }
            let expected = in_flight
                .pop_front()
                .expect("an ack for a message in flight");
            assert_eq!(
                ack["context"].as_str(),
                Some(expected.as_str()),
                "acks come in send order: {text}"
            );
            return ack["messageId"]
                .as_str()
                .unwrap_or_else(|| panic!("ack without messageId: {text}"))
                .to_string();
        }
    }
}

/// Publishes `payloads` as text messages over one fresh producer connection; returns their ids.
pub async fn produce_texts(
    broker: &Broker,
    topic: &str,
    payloads: impl IntoIterator<Item = String>,
) -> Vec<String> {
    let mut producer = WsProducer::connect(broker, topic).await;
    let ids = producer
        .send_all(payloads.into_iter().map(Outgoing::text))
        .await;
    producer.close().await;
    ids
}
