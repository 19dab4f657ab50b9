//! # pulsar-eventstream
//!
//! An async client for event streams served over Apache Pulsar's WebSocket
//! API — first of all 8x8 Contact Center's Event Streaming service, and any
//! Pulsar WebSocket endpoint besides.
//!
//! * [`EventStream`] is a `futures::Stream<Item = Result<Event>>`.
//! * [`Client::reader`] (no subscription; start at [`Position::Earliest`],
//!   [`Position::Latest`] or right after a [`MessageId`]) and
//!   [`Client::consumer`] (durable subscription, acks, redelivery, dead
//!   letters).
//! * Acknowledgements are automatic by default ([`AckMode::Auto`]: an event
//!   is acked when the next one is requested), batched into few writes and
//!   never left unflushed, so a reader that keeps up never stalls at the
//!   server's 1000-message window.
//! * Lost connections are re-established under a pluggable
//!   [`ReconnectPolicy`]; a reader resumes right after the last event handed
//!   to the application.
//! * Handshake failures are typed errors ([`Error::Unauthorized`],
//!   [`Error::Conflict`], …); a bad frame is one `Err` item and the stream
//!   goes on. No secret ever appears in `Debug`, `Display` or logs.
//! * `testing::MockPulsar` (feature `testing`) is an in-process server that
//!   behaves like the real proxy, for your own tests.
//!
//! ## Quick start: 8x8 Event Streaming
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use pulsar_eventstream::{Client, Position};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("wss://pulsar-ws-euw2.8x8.com")
//!     .api_key(std::env::var("PULSAR_API_KEY")?)
//!     .build()?;
//! let mut events = client
//!     .reader("persistent://my-tenant/event-v1/all".parse()?)
//!     .position(Position::Earliest)
//!     .subscribe()
//!     .await?;
//! while let Some(event) = events.try_next().await? {
//!     let call: serde_json::Value = event.json()?;
//!     println!("{call}");
//! }
//! # Ok(()) }
//! ```
//!
//! ## Quick start: a consumer on any Pulsar
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use pulsar_eventstream::{AckMode, Client, SubscriptionType};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("ws://127.0.0.1:8080").token("eyJ...").build()?;
//! let mut events = client
//!     .consumer("persistent://public/default/orders".parse()?, "billing")
//!     .subscription_type(SubscriptionType::Shared)
//!     .ack_mode(AckMode::Manual)
//!     .subscribe()
//!     .await?;
//! while let Some(event) = events.try_next().await? {
//!     // ... store it, then:
//!     event.ack()?;
//! }
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//!
//! * `webpki-roots` (default): trust the bundled Mozilla root certificates.
//! * `native-roots`: trust the operating system's certificate store
//!   ([`TlsRoots::Native`]).
//! * `testing`: the `testing::MockPulsar` test double.
//! * `metrics`: export every stream's counters through the `metrics` facade
//!   (`pulsar_eventstream_*`, labelled by topic) to any exporter, e.g.
//!   Prometheus. [`EventStream::stats`] works without it.
//! * `eightbyeight` (default): the `eightbyeight` module — 8x8 regions,
//!   topics, `Client::builder_8x8`, and typed, lenient events through
//!   `Event::eightbyeight`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ack;
mod auth;
mod checkpoint;
mod client;
mod connection;
mod connection_event;
mod consumer;
mod error;
mod event;
mod handler;
mod merge;
mod message_id;
mod producer;
mod reader;
mod reconnect;
mod stats;
mod stream;
mod tls;
mod topic;
mod wire;

#[cfg(feature = "testing")]
pub mod testing;

/// Decoder entry points for the fuzz targets (`fuzz/`) and their regression
/// test. **Not public API**: hidden, exempt from semver, may change or go
/// away in any release.
#[doc(hidden)]
pub mod __fuzz;

#[cfg(feature = "eightbyeight")]
pub mod eightbyeight;

pub use ack::{AckHandle, AckMode};
pub use auth::{Credentials, CredentialsProvider, Secret};
pub use checkpoint::{Checkpoint, FileCheckpoint};
pub use client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_PING_INTERVAL, DEFAULT_PONG_TIMEOUT,
};
pub use connection_event::ConnectionEvent;
pub use consumer::{ConsumerBuilder, InitialPosition, PullMode, SubscriptionType};
pub use error::{Error, Result};
pub use event::Event;
pub use handler::{Handler, HandlerReport};
pub use merge::MergedStream;
pub use message_id::MessageId;
pub use producer::{
    CompressionType, HashingScheme, Message, Producer, ProducerBuilder, ProducerSink, Receipt,
    RoutingMode, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_IN_FLIGHT,
};
pub use reader::{Position, ReaderBuilder};
pub use reconnect::{ExponentialBackoff, FixedDelay, NeverReconnect, ReconnectPolicy};
pub use stats::{ProducerStats, StreamStats};
pub use stream::EventStream;
pub use tls::TlsRoots;
pub use topic::{Domain, Topic};

#[cfg(feature = "eightbyeight")]
pub use eightbyeight::EightByEightEvent;

/// Not public API: hooks for this crate's own benchmarks (`benches/`), thin
/// wrappers over private code. They may change or vanish in any release.
#[doc(hidden)]
pub mod __bench {
    use bytes::Bytes;

    use crate::{Error, MessageId, Result};

    /// Decodes one server text frame the way the socket actor does (parse,
    /// classify, message id, base64 payload), keeping the id and payload.
    pub fn decode_frame(text: &str) -> Result<(MessageId, Bytes)> {
        let frame = crate::wire::parse(text).map_err(|e| Error::InvalidFrame {
            reason: e.to_string(),
        })?;
        match crate::wire::classify(frame)? {
            crate::wire::Inbound::Message(frame) => crate::wire::decode_message(frame)
                .map(|d| (d.message_id, d.payload))
                .map_err(|bad| bad.error),
            _ => Err(Error::InvalidFrame {
                reason: "not a message".into(),
            }),
        }
    }

    /// The ack frame for a message id, as the socket actor writes it.
    pub fn ack_frame(message_id: &str) -> String {
        crate::wire::ack_frame(message_id)
    }
}
