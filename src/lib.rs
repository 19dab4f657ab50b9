//! # pulsar-eventstream
//!
//! An async client for event streams served over Apache Pulsar's WebSocket
//! API. It is built first for 8x8 Contact Center's Event Streaming service,
//! and it works with any Pulsar WebSocket endpoint.
//!
//! You get the events of a topic as an [`EventStream`], a
//! `futures::Stream<Item = Result<Event>>`. The stream acknowledges events,
//! reconnects after a lost connection and resumes where it left off, so a
//! loop over it is all most programs need. Around it are a
//! [`Producer`], typed 8x8 events, checkpoints, a handler API, and an
//! in-process mock server for your own tests.
//!
//! This page is a tutorial. It starts with a quick start and introduces one
//! concept per section, with code that compiles (and, against the mock
//! server, runs). The repository's `docs/` folder goes deeper, and
//! `docs/troubleshooting.md` explains every error.
//!
//! ## Quick start: 8x8 Event Streaming
//!
//! Ask the crate for your region's host (from the `vcc-<cluster>.8x8.com`
//! address in Configuration Manager), give it your API key, and read your
//! tenant's topic from the earliest event it still holds:
//!
#![cfg_attr(feature = "eightbyeight", doc = "```no_run")]
#![cfg_attr(not(feature = "eightbyeight"), doc = "```ignore")]
//! use futures::TryStreamExt;
//! use pulsar_eventstream::eightbyeight::{Region, Topics};
//! use pulsar_eventstream::{Client, Position};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let region = Region::from_cluster("NA7")?; // → wss://pulsar-ws-usw2.8x8.com
//! let client = Client::builder_8x8(region, std::env::var("PULSAR_API_KEY")?).build()?;
//! let mut events = client
//!     .reader(Topics::new("my-tenant").all()?) // persistent://my-tenant/event-v1/all
//!     .position(Position::Earliest)
//!     .subscribe()
//!     .await?;
//! while let Some(event) = events.try_next().await? {
//!     let event = event.eightbyeight()?; // typed and lenient
//!     println!("{} at {:?}", event.name(), event.time());
//! }
//! # Ok(()) }
//! ```
//!
//! [`Client::builder_8x8`] sends the key as the `X-API-Key` header and sets
//! the 45 s handshake timeout that 8x8 recommends. `Client::builder` with
//! [`ClientBuilder::api_key`] does the same for a host you name yourself.
//!
//! ## Quick start: a consumer on any Pulsar
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use pulsar_eventstream::{AckMode, Client, SubscriptionType};
//!
//! # async fn store(_: &pulsar_eventstream::Event) -> Result<(), std::io::Error> { Ok(()) }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("ws://127.0.0.1:8080").token("eyJ...").build()?;
//! let mut events = client
//!     .consumer("persistent://public/default/orders".parse()?, "billing")
//!     .subscription_type(SubscriptionType::Shared)
//!     .ack_mode(AckMode::Manual)
//!     .subscribe()
//!     .await?;
//! while let Some(event) = events.try_next().await? {
//!     store(&event).await?;
//!     event.ack()?; // or event.nack()? to have it delivered again
//! }
//! # Ok(()) }
//! ```
//!
//! ## Try it without a server
//!
//! [`MockPulsar`] (feature `testing`) is an in-process fake of the Pulsar
//! WebSocket proxy. It is convenient for a first run, and for your own tests
//! (see [Testing with `MockPulsar`](#testing-with-mockpulsar)). This example
//! runs as a doc test:
//!
#![cfg_attr(feature = "testing", doc = "```")]
#![cfg_attr(not(feature = "testing"), doc = "```ignore")]
//! use futures::TryStreamExt;
//! use pulsar_eventstream::testing::{MockMessage, MockPulsar};
//! use pulsar_eventstream::{Client, Position};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pulsar = MockPulsar::start().await?;
//! let topic = "persistent://public/default/orders";
//! pulsar.publish(topic, MockMessage::new(r#"{"order":1}"#).key("alice"));
//! pulsar.publish(topic, MockMessage::new(r#"{"order":2}"#).key("bob"));
//!
//! let client = Client::builder(pulsar.service_url()).build()?;
//! let mut events = client
//!     .reader(topic.parse()?)
//!     .position(Position::Earliest)
//!     .subscribe()
//!     .await?;
//! let first = events.try_next().await?.expect("an event");
//! assert_eq!(first.key(), Some("alice"));
//! let order: serde_json::Value = first.json()?;
//! assert_eq!(order["order"], 1);
//! let second = events.try_next().await?.expect("an event");
//! assert_eq!(second.text()?, r#"{"order":2}"#);
//! events.close().await?; // acknowledges the last event, closes cleanly
//! # Ok(()) }
//! ```
//!
//! The `tail` example does the same from the command line:
//! `cargo run --example tail -- --demo`.
//!
//! ## Readers and consumers
//!
//! A [`Client`] holds the service URL, credentials, TLS, timeouts and the
//! reconnect policy. It is cheap to clone, and every stream made from it
//! shares that configuration. From it you open one of two kinds of stream:
//!
//! | | reader: [`Client::reader`] | consumer: [`Client::consumer`] |
//! |---|---|---|
//! | position kept by | you ([`Position`], a [`Checkpoint`]) | the broker (the subscription) |
//! | start | [`Position::Earliest`], [`Position::Latest`] (default) or right **after** a [`MessageId`] | where the subscription stands; [`InitialPosition`] for a new one |
//! | an ack means | flow control only | "processed": not delivered again |
//! | redelivery, nack, dead letters | no | yes |
//! | several instances share the work | no | [`SubscriptionType::Shared`], [`KeyShared`](SubscriptionType::KeyShared), [`Failover`](SubscriptionType::Failover) |
//! | 8x8 | the documented way | the endpoint exists; permissions are 8x8's to grant |
//!
//! Both builders ([`ReaderBuilder`], [`ConsumerBuilder`]) end in
//! `subscribe()`. A refused handshake fails right there, with a typed error:
//! [`Error::Unauthorized`] for 401, [`Error::NotFound`] for 404, and so on.
//! [`Client::multi_topic_consumer`] and [`Client::pattern_consumer`] use the
//! server's multi-topic endpoint. [`EventStream::merge`] joins streams on the
//! client side instead, and works with every server.
//!
//! ## Acknowledgements
//!
//! The server keeps at most 1000 unacknowledged messages in flight (on
//! readers too), so every event must be acknowledged eventually. The
//! [`AckMode`] decides when that happens:
//!
//! | mode | an event is acked | guarantee for a consumer |
//! |---|---|---|
//! | [`AckMode::Auto`] (default) | when you ask for the next event, and on [`close`](EventStream::close) | at-least-once: the event in process when the program dies comes again |
//! | [`AckMode::Manual`] | when you call [`Event::ack`], or [`AckHandle::ack`] from any task | at-least-once, acked at the moment you choose (after a commit, say) |
//! | [`AckMode::OnReceive`] | as it arrives, before you see it | at-most-once |
//!
//! Acks are grouped for up to 10 ms and written together (see
//! [`ReaderBuilder::ack_group_time`]); a quarter window of them, any other
//! request and closing write them at once, so a stream you keep reading never
//! stalls. In manual mode, [`Event::nack`]
//! asks a consumer's broker to deliver the event again. With
//! [`ConsumerBuilder::max_redeliver_count`] and
//! [`ConsumerBuilder::dead_letter_topic`], an event that keeps failing moves
//! to a dead-letter topic.
//!
//! ## Reconnects
//!
//! A lost connection is re-established under a [`ReconnectPolicy`]. The
//! default is [`ExponentialBackoff`], from 100 ms up to 30 s with full
//! jitter. [`FixedDelay`] and [`NeverReconnect`] are also provided, and any
//! closure `Fn(attempt, &Error) -> Option<Duration>` is a policy:
//!
//! ```
//! use std::time::Duration;
//! use pulsar_eventstream::{Client, ConnectionEvent, Error};
//!
//! let client = Client::builder("ws://127.0.0.1:8080")
//!     .reconnect_policy(|attempt: u32, error: &Error| {
//!         // None gives up: the stream ends with `error`.
//!         (attempt <= 10 && error.is_retryable()).then(|| Duration::from_millis(200 * u64::from(attempt)))
//!     })
//!     .on_connection_event(|change: &ConnectionEvent| eprintln!("{change:?}"))
//!     .build()?;
//! # Ok::<(), Error>(())
//! ```
//!
//! A reader resumes right after the last event it handed to you. Across any
//! number of reconnects, you see every event of the topic once and in order.
//! A consumer resumes from its subscription. Errors that retrying cannot fix
//! (400, 401, 403, 404, TLS) end the stream with one `Err` item. Connection
//! changes ([`ConnectionEvent`]) never appear among the events: watch them
//! with [`EventStream::connection_events`] or
//! [`ClientBuilder::on_connection_event`].
//!
//! Keepalive pings go out every 30 s ([`DEFAULT_PING_INTERVAL`]). A
//! connection that does not answer within [`DEFAULT_PONG_TIMEOUT`] is
//! replaced. [`ReaderBuilder::no_events_timeout`] also replaces a connection
//! that stays silent although you are waiting for events.
//!
//! ## Checkpoints
//!
//! A reader keeps its place across restarts with a [`Checkpoint`].
//! [`FileCheckpoint`] writes it atomically to a file; implement the trait to
//! keep it in your database instead. A checkpoint that exists but cannot be
//! read makes `subscribe()` fail: the reader never silently starts again from
//! `Latest`.
//!
//! ```no_run
//! use pulsar_eventstream::{Client, FileCheckpoint, Position};
//!
//! # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
//! let events = client
//!     .reader("persistent://my-tenant/event-v1/all".parse()?)
//!     .position(Position::Earliest) // only when there is no checkpoint yet
//!     .checkpoint(FileCheckpoint::new("reader.checkpoint"))
//!     .subscribe()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! ## Processing events with a handler
//!
//! [`EventStream::handler`] runs an async function for each event: see
//! [`Handler`]. `Ok` acknowledges the event. `Err` or a panic negatively
//! acknowledges it on a consumer. You choose how many handlers run at once,
//! and whether events with the same key run one after another. When a stop
//! signal fires, the handler takes no new events, waits for the running
//! ones, and flushes their acks. [`EventStream::run`] is the short form.
//!
//! ```no_run
//! # async fn store(_: &pulsar_eventstream::Event) -> Result<(), std::io::Error> { Ok(()) }
//! # async fn run(events: pulsar_eventstream::EventStream) -> pulsar_eventstream::Result<()> {
//! let report = events
//!     .handler(|event| async move { store(&event).await })
//!     .concurrency(16)
//!     .ordered_by_key(true)
//!     .until(async { let _ = tokio::signal::ctrl_c().await; })
//!     .run()
//!     .await?;
//! println!("{} stored, {} failed", report.succeeded, report.failed);
//! # Ok(()) }
//! ```
//!
//! ## Producing
//!
//! [`Client::producer`] opens a [`Producer`]. It pipelines sends, matches each
//! receipt to its message, limits the messages in flight, and sends again
//! what was in flight after a reconnect (at-least-once).
//!
//! ```no_run
//! use pulsar_eventstream::{Client, Message};
//!
//! # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
//! let producer = client
//!     .producer("persistent://public/default/orders".parse()?)
//!     .create()
//!     .await?;
//! let id = producer.send(Message::json(&serde_json::json!({"order": 1}))?.key("alice")).await?;
//! println!("stored as {id}");
//! producer.close().await?;
//! # Ok(()) }
//! ```
//!
//! ## 8x8 events
//!
//! With the `eightbyeight` feature (on by default), the [`eightbyeight`]
//! module knows the service: its [regions], its [topics], and its loosely
//! typed JSON.
//! [`Event::eightbyeight`] gives an [`EightByEightEvent`]. Typing never fails
//! on JSON: numbers and booleans are read with or without quotes, and an
//! event type this version does not know is `Unknown`, with its raw JSON
//! kept.
//!
#![cfg_attr(feature = "eightbyeight", doc = "```")]
#![cfg_attr(not(feature = "eightbyeight"), doc = "```ignore")]
//! use pulsar_eventstream::eightbyeight::{EightByEightEvent, InteractionEventType};
//!
//! let payload = br#"{"Interaction": {"event": "InteractionQueued",
//!     "interactionGUID": "int-1", "queueId": "117", "interactionEventTS": 1763888410}}"#;
//! match EightByEightEvent::from_slice(payload)? {
//!     EightByEightEvent::Interaction(call) if call.event == Some(InteractionEventType::Queued) => {
//!         assert_eq!(call.queue_id, Some(117)); // "117" read as a number
//!         assert_eq!(call.time().map(|t| t.timestamp()), Some(1763888410));
//!     }
//!     EightByEightEvent::Unknown { root, .. } => println!("not handled: {root}"),
//!     other => println!("{}", other.name()),
//! }
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! ## Errors
//!
//! Every error is an [`Error`] variant. [`Error::is_retryable`] says whether
//! trying again can help, and [`Error::status`] gives a refused handshake's
//! HTTP status. [`Error::is_decode_error`] marks an error about one frame or
//! payload; the stream goes on after it. No error, `Debug` output or log line
//! contains a secret. The repository's `docs/troubleshooting.md` lists the
//! causes of each error on 8x8 and on plain Pulsar, and what to do.
//!
//! ## Observability
//!
//! [`EventStream::stats`] returns a [`StreamStats`] snapshot: events
//! received, delivered and buffered, acks sent, reconnects, and whether the
//! stream is connected. [`Producer::stats`] does the same for producers. With
//! the `metrics` feature, the same counters go to the `metrics` facade, and
//! from there to Prometheus or any other exporter. Diagnostics are `tracing`
//! events.
//!
//! ## Testing with `MockPulsar`
//!
//! The [`testing`] module (feature `testing`) has [`MockPulsar`], a fake of
//! the Pulsar WebSocket proxy, written from the protocol alone. It serves
//! readers, consumers and producers, with acks, nacks, redelivery and dead
//! letters. It can inject faults: refused handshakes, dropped connections, a
//! frozen peer, a broker restart. It records what it saw (handshakes, acks,
//! frames), and its `wait_for_*` methods let tests wait for a condition
//! instead of sleeping. Enable the feature for your tests only:
//!
//! ```toml
//! [dev-dependencies]
//! pulsar-eventstream = { version = "0.1", features = ["testing"] }
//! ```
//!
#![cfg_attr(feature = "testing", doc = "```")]
#![cfg_attr(not(feature = "testing"), doc = "```ignore")]
//! use std::time::Duration;
//! use futures::TryStreamExt;
//! use pulsar_eventstream::testing::{MockMessage, MockPulsar};
//! use pulsar_eventstream::{Client, Error, InitialPosition};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pulsar = MockPulsar::start().await?;
//! let topic = "persistent://public/default/orders";
//! let id = pulsar.publish(topic, MockMessage::new("order 1"));
//! pulsar.require_token(Some("secret"));
//!
//! // Without the token: a typed 401.
//! let anonymous = Client::builder(pulsar.service_url()).build()?;
//! let refused = anonymous.consumer(topic.parse()?, "billing").subscribe().await;
//! assert!(matches!(refused, Err(Error::Unauthorized { .. })));
//!
//! let client = Client::builder(pulsar.service_url()).token("secret").build()?;
//! let mut events = client
//!     .consumer(topic.parse()?, "billing")
//!     .initial_position(InitialPosition::Earliest)
//!     .subscribe()
//!     .await?;
//! let event = events.try_next().await?.expect("an event");
//! assert_eq!(event.text()?, "order 1");
//! events.close().await?; // acknowledges it
//!
//! // The server saw the ack: wait for it (bounded), then check.
//! tokio::time::timeout(Duration::from_secs(10), pulsar.wait_for_acks(topic, "billing", 1)).await?;
//! assert_eq!(pulsar.acks(topic, "billing"), vec![id]);
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `webpki-roots` | yes | trusts the bundled Mozilla root certificates ([`TlsRoots::Webpki`]) |
//! | `eightbyeight` | yes | the [`eightbyeight`] module: 8x8 regions, topics, [`Client::builder_8x8`], typed events through [`Event::eightbyeight`] |
//! | `native-roots` | no | trusts the operating system's certificate store ([`TlsRoots::Native`]) |
//! | `metrics` | no | exports every stream's and producer's counters through the `metrics` facade (`pulsar_eventstream_*`, labelled by topic); [`EventStream::stats`] works without it |
//! | `testing` | no | the [`testing`] module with [`MockPulsar`] |
//!
//! ## Examples
//!
//! The repository's `examples/` folder has small programs. Each one runs
//! with `--demo` against a `MockPulsar`, or against your service:
//!
//! | example | what it shows |
//! |---|---|
//! | `tail` | the command-line reader: positions, formats, filters, checkpoint, 8x8 flags |
//! | `reader` | a reader from the earliest event |
//! | `consumer_manual_ack` | acks after a database commit, a nack when it fails |
//! | `handler` | the handler API with concurrency and per-key order, Ctrl-C to stop |
//! | `reconnect_policy` | a policy as a closure, and connection events around a dropped connection |
//! | `batching` | batches by count or time, sorted by event time, acked once written |
//! | `typed_events` | a `match` on typed 8x8 events |
//! | `checkpoint` | a reader that continues after a restart |
//! | `eightbyeight_lifecycle` | queue and talk times per 8x8 interaction |
//! | `produce` | a pipelined producer |
//! | `prometheus` | counters served on `/metrics` |
//!
// Links to items behind features: to the items when they exist, else to the
// section describing the feature, so no build of the docs has a broken link.
#![cfg_attr(
    feature = "testing",
    doc = "
[`MockPulsar`]: testing::MockPulsar
[`testing`]: testing"
)]
#![cfg_attr(
    not(feature = "testing"),
    doc = "
[`MockPulsar`]: #testing-with-mockpulsar
[`testing`]: #testing-with-mockpulsar"
)]
#![cfg_attr(
    feature = "eightbyeight",
    doc = "
[`eightbyeight`]: eightbyeight
[`EightByEightEvent`]: eightbyeight::EightByEightEvent
[`Event::eightbyeight`]: Event::eightbyeight
[`Client::builder_8x8`]: Client::builder_8x8
[regions]: eightbyeight::Region
[topics]: eightbyeight::Topics"
)]
#![cfg_attr(
    not(feature = "eightbyeight"),
    doc = "
[`eightbyeight`]: #8x8-events
[`EightByEightEvent`]: #8x8-events
[`Event::eightbyeight`]: #8x8-events
[`Client::builder_8x8`]: #8x8-events
[regions]: #8x8-events
[topics]: #8x8-events"
)]
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
mod timestamp;
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

pub use ack::{AckHandle, AckMode, DEFAULT_ACK_GROUP_TIME};
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
pub mod __bench;
