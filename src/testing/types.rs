//! Public value types of the mock: messages to publish and records of what the server saw.

use std::collections::BTreeMap;

/// A message to publish on a [`MockPulsar`](super::MockPulsar) topic.
///
/// ```
/// use pulsar_eventstream::testing::MockMessage;
/// let msg = MockMessage::new("hello")
///     .key("k1")
///     .property("source", "test")
///     .event_time("2026-11-23T10:00:00Z");
/// # let _ = msg;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockMessage {
    pub(crate) payload: Vec<u8>,
    pub(crate) key: Option<String>,
    pub(crate) properties: BTreeMap<String, String>,
    pub(crate) event_time: Option<String>,
    pub(crate) publish_time: Option<String>,
}

impl MockMessage {
    /// A message carrying `payload` (sent base64-encoded in the frame's `payload` field).
    pub fn new(payload: impl Into<Vec<u8>>) -> Self {
        MockMessage {
            payload: payload.into(),
            key: None,
            properties: BTreeMap::new(),
            event_time: None,
            publish_time: None,
        }
    }

    /// Sets the message key (the frame's `key` field, which is absent when unset).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds one string property (the frame's `properties` object).
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Sets `eventTime`, sent verbatim (RFC 3339 expected); absent from the frame when unset.
    pub fn event_time(mut self, rfc3339: impl Into<String>) -> Self {
        self.event_time = Some(rfc3339.into());
        self
    }

    /// Overrides `publishTime`, sent verbatim. The default is the publish instant formatted like
    /// Pulsar's `DateFormatter` in UTC, e.g. `2026-11-23T10:00:01.5Z`.
    pub fn publish_time(mut self, time: impl Into<String>) -> Self {
        self.publish_time = Some(time.into());
        self
    }
}

/// Which servlet a request path was routed to (protocol.md §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/ws/v2/reader/...` (or the v1 `/ws/reader/...`).
    Reader,
    /// `/ws/v2/consumer/...` (or the v1 `/ws/consumer/...`).
    Consumer,
    /// `/ws/v2/producer/...` (or the v1 `/ws/producer/...`).
    Producer,
    /// `/ws/v3/consumer/{subscription}?topics=a,b` or `?topicsPattern=<regex>`: one consumer on
    /// several topics (see [`MockPulsar`](super::MockPulsar) for what the mock implements).
    MultiTopicConsumer,
    /// Any other path (answered 404).
    Unknown,
}

/// One upgrade request as the server saw it, accepted or rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// Connection number (1, 2, ... in accept order), shared with [`ClientFrame`] and [`ClientClose`].
    pub connection: u64,
    /// The raw request path, still percent-encoded, without the query.
    pub path: String,
    /// The endpoint the path routed to.
    pub endpoint: Endpoint,
    /// The full decoded topic name, e.g. `persistent://tenant/ns/name`, when the path had one
    /// (`None` on the v3 endpoint: its topics are in [`query`](Self::query)).
    pub topic: Option<String>,
    /// The decoded subscription name (consumer paths).
    pub subscription: Option<String>,
    /// Query parameters, form-decoded, first value per key.
    pub query: BTreeMap<String, String>,
    /// The raw query string, if any.
    pub raw_query: Option<String>,
    /// Request headers with lower-cased names, in request order.
    pub headers: Vec<(String, String)>,
    /// The HTTP status answered: 101 when upgraded.
    pub status: u16,
}

impl Handshake {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The kind and content of a frame a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrameKind {
    /// A text frame.
    Text(String),
    /// A binary frame (ignored by the server, §5.3).
    Binary(Vec<u8>),
    /// A ping (answered with a pong).
    Ping,
    /// A pong.
    Pong,
    /// A close frame (details in [`MockPulsar::client_closes`](super::MockPulsar::client_closes)).
    Close,
}

/// One frame received from a client.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientFrame {
    /// The connection it arrived on.
    pub connection: u64,
    /// What it was.
    pub kind: ClientFrameKind,
    /// The text parsed as JSON, when it is a text frame holding valid JSON.
    pub json: Option<serde_json::Value>,
}

impl ClientFrame {
    /// The JSON `type` field of a text command, if any (`None` for a plain ack).
    pub fn command_type(&self) -> Option<&str> {
        self.json.as_ref()?.get("type")?.as_str()
    }
}

/// A close frame received from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientClose {
    /// The connection it arrived on.
    pub connection: u64,
    /// The close code, `None` for a close frame without payload.
    pub code: Option<u16>,
    /// The close reason (empty when none).
    pub reason: String,
}

/// A frame to inject with [`MockPulsar::send_raw`](super::MockPulsar::send_raw).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawFrame {
    /// A text frame, sent verbatim.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A ping with this payload.
    Ping(Vec<u8>),
    /// A close frame (`None` code: empty payload), after which the server closes the socket.
    Close(Option<u16>, String),
}
