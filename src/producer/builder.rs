//! `ProducerBuilder`: the producer endpoint's options (`protocol.md` §2.3)
//! and the client-side ones.

use std::sync::Arc;
use std::time::Duration;

use crate::client::Client;
use crate::connection::dial;
use crate::error::{Error, Result};
use crate::reader::check_name;
use crate::reconnect::ReconnectPolicy;
use crate::topic::Topic;

use super::{actor, Producer};

/// Default limit on messages sent and not yet confirmed by a receipt.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;
/// Default largest frame a producer writes: the proxy's default
/// `webSocketMaxTextFrameSize` (1 MiB). A base64 payload grows by 4/3, so
/// the largest payload is about 750 KiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 1 << 20;

/// Compression the broker-side producer applies (`compressionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionType {
    /// `NONE` (the server's default).
    None,
    /// `LZ4`.
    Lz4,
    /// `ZLIB`.
    Zlib,
    /// `ZSTD`.
    Zstd,
    /// `SNAPPY`.
    Snappy,
}

impl CompressionType {
    /// The value sent on the wire, e.g. `"LZ4"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompressionType::None => "NONE",
            CompressionType::Lz4 => "LZ4",
            CompressionType::Zlib => "ZLIB",
            CompressionType::Zstd => "ZSTD",
            CompressionType::Snappy => "SNAPPY",
        }
    }
}

/// How keys are hashed to partitions (`hashingScheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashingScheme {
    /// `JavaStringHash`: Java's `String.hashCode` (the Java client's default).
    JavaString,
    /// `Murmur3_32Hash`: the hash every non-Java client uses; pick it when
    /// other clients publish the same keys.
    Murmur3,
}

impl HashingScheme {
    /// The value sent on the wire, e.g. `"Murmur3_32Hash"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashingScheme::JavaString => "JavaStringHash",
            HashingScheme::Murmur3 => "Murmur3_32Hash",
        }
    }
}

/// Which partition of a partitioned topic an unkeyed message goes to
/// (`messageRoutingMode`); keyed messages always follow their key's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutingMode {
    /// `SinglePartition`: one partition picked at random for the producer's
    /// life (the proxy's default).
    SinglePartition,
    /// `RoundRobinPartition`: spread over all partitions.
    RoundRobinPartition,
}

impl RoutingMode {
    /// The value sent on the wire, e.g. `"RoundRobinPartition"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingMode::SinglePartition => "SinglePartition",
            RoutingMode::RoundRobinPartition => "RoundRobinPartition",
        }
    }
}

impl Client {
    /// Configures a producer that publishes to `topic`.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Client, Message};
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let producer = client
    ///     .producer("persistent://public/default/orders".parse()?)
    ///     .producer_name("checkout-1")
    ///     .create()
    ///     .await?;
    /// let id = producer.send(Message::text("hello")).await?;
    /// println!("stored as {id}");
    /// producer.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn producer(&self, topic: Topic) -> ProducerBuilder {
        ProducerBuilder::new(self.clone(), topic)
    }
}

/// Configures a producer; made by [`Client::producer`].
///
/// Options left unset are not sent, so the server's defaults apply: no
/// batching, `SinglePartition` routing, no compression, a 30 s send timeout.
#[derive(Debug)]
#[must_use = "a builder does nothing until create() is awaited"]
pub struct ProducerBuilder {
    client: Client,
    topic: Topic,
    producer_name: Option<String>,
    initial_sequence_id: Option<i64>,
    hashing_scheme: Option<HashingScheme>,
    send_timeout: Option<Duration>,
    routing_mode: Option<RoutingMode>,
    batching: Option<bool>,
    batching_max_messages: Option<u32>,
    max_pending_messages: Option<u32>,
    batching_max_publish_delay: Option<Duration>,
    compression: Option<CompressionType>,
    max_in_flight: usize,
    max_frame_size: usize,
    reconnect: Option<Arc<dyn ReconnectPolicy>>,
}

impl ProducerBuilder {
    pub(crate) fn new(client: Client, topic: Topic) -> Self {
        ProducerBuilder {
            client,
            topic,
            producer_name: None,
            initial_sequence_id: None,
            hashing_scheme: None,
            send_timeout: None,
            routing_mode: None,
            batching: None,
            batching_max_messages: None,
            max_pending_messages: None,
            batching_max_publish_delay: None,
            compression: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            reconnect: None,
        }
    }

    /// The producer's name on the topic (`producerName`). Names are unique
    /// per topic: a second producer with a name in use is refused with
    /// [`Error::Conflict`] (409). Unset, the broker generates one.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Client, Error};
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let topic: pulsar_eventstream::Topic = "persistent://public/default/orders".parse()?;
    /// match client.producer(topic).producer_name("the-only-one").create().await {
    ///     Err(Error::Conflict { body }) => eprintln!("name taken: {body}"),
    ///     other => { other?; }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn producer_name(mut self, name: impl Into<String>) -> Self {
        self.producer_name = Some(name.into());
        self
    }

    /// The sequence id of the first message (`initialSequenceId`), for
    /// broker-side deduplication across producer restarts.
    pub fn initial_sequence_id(mut self, id: i64) -> Self {
        self.initial_sequence_id = Some(id);
        self
    }

    /// How keys map to partitions (`hashingScheme`).
    pub fn hashing_scheme(mut self, scheme: HashingScheme) -> Self {
        self.hashing_scheme = Some(scheme);
        self
    }

    /// How long the broker-side producer tries to store a message before
    /// the send fails with `send-error:8` (`sendTimeoutMillis`, whole
    /// milliseconds; server default 30 s, zero means no timeout).
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use pulsar_eventstream::Client;
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let producer = client
    ///     .producer("persistent://public/default/orders".parse()?)
    ///     .send_timeout(Duration::from_secs(10))
    ///     .create()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = Some(timeout);
        self
    }

    /// Partition choice for unkeyed messages (`messageRoutingMode`).
    pub fn routing_mode(mut self, mode: RoutingMode) -> Self {
        self.routing_mode = Some(mode);
        self
    }

    /// Lets the broker-side producer group messages into batches
    /// (`batchingEnabled`; off by default on the proxy). Receipts then carry
    /// batch message ids: the batch index is set, but the real broker (4.0.7)
    /// reports batch size 0 in receipts while readers see the real size, so
    /// compare ids by position ([`MessageId`](crate::MessageId) equality), never as strings.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use pulsar_eventstream::Client;
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let producer = client
    ///     .producer("persistent://public/default/metrics".parse()?)
    ///     .batching(true)
    ///     .batching_max_messages(500)
    ///     .batching_max_publish_delay(Duration::from_millis(5))
    ///     .create()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn batching(mut self, enabled: bool) -> Self {
        self.batching = Some(enabled);
        self
    }

    /// Most messages in one batch (`batchingMaxMessages`; used by the server
    /// only with batching on).
    pub fn batching_max_messages(mut self, max: u32) -> Self {
        self.batching_max_messages = Some(max);
        self
    }

    /// Longest a batch waits before it is sent (`batchingMaxPublishDelay`,
    /// whole milliseconds; used by the server only with batching on).
    pub fn batching_max_publish_delay(mut self, delay: Duration) -> Self {
        self.batching_max_publish_delay = Some(delay);
        self
    }

    /// Queue size of the broker-side producer (`maxPendingMessages`). The
    /// proxy applies it only with batching on, and never blocks on a full
    /// queue: the send fails with `send-error:8`. The client-side bound is
    /// [`max_in_flight`](Self::max_in_flight).
    pub fn max_pending_messages(mut self, max: u32) -> Self {
        self.max_pending_messages = Some(max);
        self
    }

    /// Compression applied by the broker-side producer (`compressionType`).
    pub fn compression(mut self, compression: CompressionType) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Most messages sent and not yet confirmed (default 1000): this is the
    /// back-pressure bound. A send waits for room once this many are in
    /// flight, so memory is bounded by it, never by the producer's speed.
    /// Also bounds what is re-sent after a reconnect.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::Client;
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let producer = client
    ///     .producer("persistent://public/default/orders".parse()?)
    ///     .max_in_flight(64)
    ///     .create()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = max;
        self
    }

    /// Largest frame the producer writes (default 1 MiB, the proxy's
    /// default limit). A bigger message fails at once with
    /// [`Error::MessageTooLarge`] instead of having the server drop the
    /// connection on every re-send.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Overrides the client's reconnect policy for this producer.
    pub fn reconnect_policy(mut self, policy: impl ReconnectPolicy) -> Self {
        self.reconnect = Some(Arc::new(policy));
        self
    }

    /// Connects and returns the producer. Fails here, with a typed error,
    /// when the server refuses the handshake: [`Error::Conflict`] for a
    /// producer name in use, [`Error::BadRequest`] for a rejected option,
    /// [`Error::Unauthorized`] / [`Error::Forbidden`] for credentials.
    pub async fn create(self) -> Result<Producer> {
        let spec = self.into_spec()?;
        actor::open(spec).await
    }

    /// The query parameters, in a fixed order.
    fn query(&self) -> Result<Vec<(&'static str, String)>> {
        let mut query = Vec::new();
        if let Some(name) = &self.producer_name {
            check_name(name, "producer name")?;
            query.push(("producerName", name.clone()));
        }
        if let Some(id) = self.initial_sequence_id {
            query.push(("initialSequenceId", id.to_string()));
        }
        if let Some(scheme) = self.hashing_scheme {
            query.push(("hashingScheme", scheme.as_str().to_string()));
        }
        if let Some(timeout) = self.send_timeout {
            query.push(("sendTimeoutMillis", int_millis(timeout, "send_timeout")?));
        }
        if let Some(mode) = self.routing_mode {
            query.push(("messageRoutingMode", mode.as_str().to_string()));
        }
        if let Some(on) = self.batching {
            query.push(("batchingEnabled", on.to_string()));
        }
        if let Some(max) = self.batching_max_messages {
            query.push(("batchingMaxMessages", int(max, "batching_max_messages")?));
        }
        if let Some(max) = self.max_pending_messages {
            query.push(("maxPendingMessages", int(max, "max_pending_messages")?));
        }
        if let Some(delay) = self.batching_max_publish_delay {
            let ms = int_millis(delay, "batching_max_publish_delay")?;
            query.push(("batchingMaxPublishDelay", ms));
        }
        if let Some(compression) = self.compression {
            query.push(("compressionType", compression.as_str().to_string()));
        }
        Ok(query)
    }

    pub(crate) fn into_spec(self) -> Result<actor::ProducerSpec> {
        let query = self.query()?;
        if self.max_in_flight == 0 || self.max_in_flight > tokio::sync::Semaphore::MAX_PERMITS {
            return Err(Error::Config(
                "max_in_flight must be at least 1 (and fit a semaphore)".into(),
            ));
        }
        if self.max_frame_size < 1024 {
            return Err(Error::Config(
                "max_frame_size must be at least 1 KiB".into(),
            ));
        }
        let path = format!("ws/v2/producer/{}", self.topic.encoded_path());
        let url = dial::build_url(&self.client.inner.service_url, &path, &query)?;
        Ok(actor::ProducerSpec {
            policy: self
                .reconnect
                .unwrap_or_else(|| self.client.inner.reconnect.clone()),
            client: self.client,
            url,
            topic: Arc::new(self.topic),
            max_in_flight: self.max_in_flight,
            max_frame_size: self.max_frame_size,
        })
    }
}

/// A count the server parses with `Integer.parseInt`.
fn int(value: u32, what: &str) -> Result<String> {
    i32::try_from(value)
        .map(|v| v.to_string())
        .map_err(|_| Error::Config(format!("{what} must be at most {}", i32::MAX)))
}

/// A duration in whole milliseconds that fits a Java `int`.
fn int_millis(value: Duration, what: &str) -> Result<String> {
    i32::try_from(value.as_millis())
        .map(|v| v.to_string())
        .map_err(|_| Error::Config(format!("{what} must be at most {} ms", i32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ProducerBuilder {
        let client = Client::builder("ws://127.0.0.1:1").build().unwrap();
        client.producer("persistent://t/n/x".parse().unwrap())
    }

    #[test]
    fn nothing_set_nothing_sent() {
        let spec = builder().into_spec().unwrap();
        assert_eq!(
            spec.url.as_str(),
            "ws://127.0.0.1:1/ws/v2/producer/persistent/t/n/x"
        );
        assert_eq!(spec.max_in_flight, DEFAULT_MAX_IN_FLIGHT);
    }

    #[test]
    fn bad_options_are_config_errors() {
        let too_long = Duration::from_millis(i32::MAX as u64 + 1);
        let bad = [
            builder().producer_name(""),
            builder().producer_name("a\nb"),
            builder().send_timeout(too_long),
            builder().batching_max_publish_delay(too_long),
            builder().batching_max_messages(u32::MAX),
            builder().max_pending_messages(i32::MAX as u32 + 1),
            builder().max_in_flight(0),
            builder().max_frame_size(10),
        ];
        for b in bad {
            assert!(matches!(b.into_spec(), Err(Error::Config(_))));
        }
    }
}
