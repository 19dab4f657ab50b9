//! The consumer endpoint: a durable subscription whose position the broker
//! keeps (`protocol.md` §2.1).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::ack::{AckMode, DEFAULT_ACK_GROUP_TIME};
use crate::client::Client;
use crate::connection::{self, EndpointKind, StreamSpec};
use crate::error::{Error, Result};
use crate::reader::{check_name, window};
use crate::reconnect::ReconnectPolicy;
use crate::stream::EventStream;
use crate::topic::{encode_component, Topic};

/// How a subscription shares messages among its consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubscriptionType {
    /// One consumer only; a second one is refused with
    /// [`Error::Conflict`] (409). The server's default.
    #[default]
    Exclusive,
    /// Every consumer gets a share of the messages, round-robin: scale out
    /// when order does not matter.
    Shared,
    /// One active consumer, the others stand by and take over when it leaves.
    Failover,
    /// Like `Shared`, but all messages with the same key go to the same
    /// consumer, so per-key order is kept.
    KeyShared,
}

impl SubscriptionType {
    /// The value of the `subscriptionType` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionType::Exclusive => "Exclusive",
            SubscriptionType::Shared => "Shared",
            SubscriptionType::Failover => "Failover",
            SubscriptionType::KeyShared => "Key_Shared",
        }
    }
}

/// Where a subscription that does not exist yet starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialPosition {
    /// From the oldest retained message.
    Earliest,
    /// From the next published message (the server's default).
    Latest,
}

/// How a pull-mode consumer grants the server permits to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullMode {
    /// The client grants permits as the application takes events, never more
    /// than its buffer can hold.
    Automatic,
    /// Nothing is sent until the application calls
    /// [`EventStream::permit`](crate::EventStream::permit).
    Manual,
}

/// What a consumer subscribes to.
#[derive(Debug, Clone)]
enum Target {
    Topic(Topic),
    /// The v3 multi-topic endpoint with `topics=a,b`.
    Topics(Vec<Topic>),
    /// The v3 multi-topic endpoint with `topicsPattern=`.
    Pattern(String),
}

/// Configures a consumer; made by [`Client::consumer`],
/// [`Client::multi_topic_consumer`] or [`Client::pattern_consumer`].
#[must_use = "a builder does nothing until subscribe() is awaited"]
pub struct ConsumerBuilder {
    client: Client,
    target: Target,
    subscription: String,
    subscription_type: Option<SubscriptionType>,
    initial_position: Option<InitialPosition>,
    consumer_name: Option<String>,
    receiver_queue_size: Option<u32>,
    ack_timeout: Option<Duration>,
    nack_delay: Option<Duration>,
    max_redeliver_count: Option<u32>,
    dead_letter_topic: Option<Topic>,
    priority_level: Option<u32>,
    ack_mode: AckMode,
    ack_group_time: Duration,
    reconnect: Option<Arc<dyn ReconnectPolicy>>,
    no_events_timeout: Option<Duration>,
    pull: Option<PullMode>,
}

impl ConsumerBuilder {
    pub(crate) fn new(client: Client, topic: Topic, subscription: String) -> Self {
        Self::with_target(client, Target::Topic(topic), subscription)
    }

    pub(crate) fn multi(client: Client, topics: Vec<Topic>, subscription: String) -> Self {
        Self::with_target(client, Target::Topics(topics), subscription)
    }

    pub(crate) fn pattern(client: Client, pattern: String, subscription: String) -> Self {
        Self::with_target(client, Target::Pattern(pattern), subscription)
    }

    fn with_target(client: Client, target: Target, subscription: String) -> Self {
        ConsumerBuilder {
            client,
            target,
            subscription,
            subscription_type: None,
            initial_position: None,
            consumer_name: None,
            receiver_queue_size: None,
            ack_timeout: None,
            nack_delay: None,
            max_redeliver_count: None,
            dead_letter_topic: None,
            priority_level: None,
            ack_mode: AckMode::Auto,
            ack_group_time: DEFAULT_ACK_GROUP_TIME,
            reconnect: None,
            no_events_timeout: None,
            pull: None,
        }
    }

    /// How messages are shared among this subscription's consumers
    /// (`subscriptionType`; server default `Exclusive`).
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Client, SubscriptionType};
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let events = client
    ///     .consumer("persistent://public/default/orders".parse()?, "billing")
    ///     .subscription_type(SubscriptionType::KeyShared)
    ///     .subscribe()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn subscription_type(mut self, kind: SubscriptionType) -> Self {
        self.subscription_type = Some(kind);
        self
    }

    /// Where a new subscription starts (`subscriptionInitialPosition`;
    /// servers from 2024 on; older ones ignore it and start at the latest).
    pub fn initial_position(mut self, position: InitialPosition) -> Self {
        self.initial_position = Some(position);
        self
    }

    /// A name for this consumer (`consumerName`).
    pub fn consumer_name(mut self, name: impl Into<String>) -> Self {
        self.consumer_name = Some(name.into());
        self
    }

    /// The server's receive queue size (`receiverQueueSize`, capped at 1000
    /// by the server); also the number of unacknowledged messages in flight.
    pub fn receiver_queue_size(mut self, size: u32) -> Self {
        self.receiver_queue_size = Some(size);
        self
    }

    /// Redeliver a message not acknowledged within this time
    /// (`ackTimeoutMillis`; zero or at least one second).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = Some(timeout);
        self
    }

    /// Delay before a negatively acknowledged message is redelivered
    /// (`negativeAckRedeliveryDelay`; server default 60 s).
    pub fn negative_ack_redelivery_delay(mut self, delay: Duration) -> Self {
        self.nack_delay = Some(delay);
        self
    }

    /// After this many redeliveries a message goes to the dead-letter topic
    /// instead (`maxRedeliverCount`; must be at least 1).
    pub fn max_redeliver_count(mut self, count: u32) -> Self {
        self.max_redeliver_count = Some(count);
        self
    }

    /// The dead-letter topic (`deadLetterTopic`; default
    /// `<topic>-<subscription>-DLQ`). Needs
    /// [`max_redeliver_count`](Self::max_redeliver_count).
    pub fn dead_letter_topic(mut self, topic: Topic) -> Self {
        self.dead_letter_topic = Some(topic);
        self
    }

    /// The consumer's priority for `Shared` dispatch (`priorityLevel`; 0 is
    /// the highest).
    pub fn priority_level(mut self, level: u32) -> Self {
        self.priority_level = Some(level);
        self
    }

    /// When events are acknowledged (default [`AckMode::Auto`]).
    pub fn ack_mode(mut self, mode: AckMode) -> Self {
        self.ack_mode = mode;
        self
    }

    /// How long acks are gathered before they are written, in one frame
    /// burst and one write (default [`DEFAULT_ACK_GROUP_TIME`], 10 ms;
    /// `Duration::ZERO` writes each ack at once). Grouping spares the
    /// application a wake-up of the socket task and a system call per ack;
    /// the Java client does the same (`acknowledgmentGroupTime`, 100 ms).
    /// A quarter window of acks, a close and every other request are
    /// written at once whatever the group time, so the server's window
    /// never waits on it. An ack reaches the server up to this much later:
    /// at-least-once delivery is unchanged (a crash may redeliver what was
    /// acknowledged in the last group).
    pub fn ack_group_time(mut self, time: Duration) -> Self {
        self.ack_group_time = time;
        self
    }

    /// Overrides the client's reconnect policy for this stream.
    pub fn reconnect_policy(mut self, policy: impl ReconnectPolicy) -> Self {
        self.reconnect = Some(Arc::new(policy));
        self
    }

    /// Reconnects when no event arrives for `timeout` although the
    /// application is ready for one (off by default): see
    /// [`ReaderBuilder::no_events_timeout`](crate::ReaderBuilder::no_events_timeout).
    pub fn no_events_timeout(mut self, timeout: Duration) -> Self {
        self.no_events_timeout = Some(timeout);
        self
    }

    /// Flow control by permits (`pullMode=true`): the server sends only as
    /// many messages as permitted, and acks do not grant more.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Client, PullMode};
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let events = client
    ///     .consumer("persistent://public/default/jobs".parse()?, "workers")
    ///     .pull_mode(PullMode::Manual)
    ///     .subscribe()
    ///     .await?;
    /// events.permit(10)?; // exactly ten messages may come now
    /// # Ok(()) }
    /// ```
    pub fn pull_mode(mut self, mode: PullMode) -> Self {
        self.pull = Some(mode);
        self
    }

    /// Connects and returns the stream. Fails here, with a typed error, when
    /// the server refuses the handshake: [`Error::Conflict`] when an
    /// `Exclusive` subscription is taken, [`Error::Unauthorized`] for a bad
    /// key, [`Error::BadRequest`] for a rejected option.
    pub async fn subscribe(self) -> Result<EventStream> {
        let spec = self.into_spec()?;
        connection::open(spec).await
    }

    pub(crate) fn into_spec(self) -> Result<StreamSpec> {
        check_name(&self.subscription, "subscription name")?;
        if self.subscription.contains('/') {
            return Err(Error::Config(
                "subscription name must not contain `/`".into(),
            ));
        }
        // A `.` or `..` path segment (even as `%2E`) is removed by URL
        // normalisation: the server would see another path.
        if matches!(self.subscription.as_str(), "." | "..") {
            return Err(Error::Config(
                "subscription name must not be `.` or `..`".into(),
            ));
        }
        let mut query: Vec<(&'static str, String)> = Vec::new();
        if let Some(kind) = self.subscription_type {
            query.push(("subscriptionType", kind.as_str().into()));
        }
        if let Some(position) = self.initial_position {
            let value = match position {
                InitialPosition::Earliest => "Earliest",
                InitialPosition::Latest => "Latest",
            };
            query.push(("subscriptionInitialPosition", value.into()));
        }
        if let Some(name) = &self.consumer_name {
            check_name(name, "consumer name")?;
            query.push(("consumerName", name.clone()));
        }
        if let Some(size) = self.receiver_queue_size {
            query.push(("receiverQueueSize", size.to_string()));
        }
        if let Some(timeout) = self.ack_timeout {
            let ms = millis(timeout, "ack_timeout")?;
            if ms != 0 && ms < 1000 {
                return Err(Error::Config(
                    "ack_timeout must be zero (off) or at least one second".into(),
                ));
            }
            query.push(("ackTimeoutMillis", ms.to_string()));
        }
        if let Some(delay) = self.nack_delay {
            query.push((
                "negativeAckRedeliveryDelay",
                millis(delay, "negative_ack_redelivery_delay")?.to_string(),
            ));
        }
        match (self.max_redeliver_count, &self.dead_letter_topic) {
            (Some(0), _) => {
                return Err(Error::Config(
                    "max_redeliver_count must be at least 1".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(Error::Config(
                    "dead_letter_topic needs max_redeliver_count".into(),
                ))
            }
            (Some(count), dlq) => {
                query.push(("maxRedeliverCount", count.to_string()));
                if let Some(dlq) = dlq {
                    query.push(("deadLetterTopic", dlq.to_string()));
                }
            }
            (None, None) => {}
        }
        if let Some(level) = self.priority_level {
            query.push(("priorityLevel", level.to_string()));
        }
        if self.pull.is_some() {
            query.push(("pullMode", "true".into()));
        }
        let subscription = encode_component(&self.subscription);
        let (path, topic, label) = match &self.target {
            Target::Topic(topic) => (
                format!("ws/v2/consumer/{}/{subscription}", topic.encoded_path()),
                Some(Arc::new(topic.clone())),
                topic.to_string(),
            ),
            Target::Topics(topics) => {
                if topics.is_empty() {
                    return Err(Error::Config("a multi-topic consumer needs a topic".into()));
                }
                let list: Vec<String> = topics.iter().map(Topic::to_string).collect();
                let list = list.join(",");
                query.push(("topics", list.clone()));
                (format!("ws/v3/consumer/{subscription}"), None, list)
            }
            Target::Pattern(pattern) => {
                if pattern.is_empty() {
                    return Err(Error::Config("the topics pattern is empty".into()));
                }
                query.push(("topicsPattern", pattern.clone()));
                (
                    format!("ws/v3/consumer/{subscription}"),
                    None,
                    pattern.clone(),
                )
            }
        };
        Ok(StreamSpec {
            policy: self
                .reconnect
                .unwrap_or_else(|| self.client.inner.reconnect.clone()),
            client: self.client,
            kind: EndpointKind::Consumer,
            path,
            query,
            window: window(self.receiver_queue_size),
            ack_mode: self.ack_mode,
            ack_group_time: self.ack_group_time,
            topic,
            label: label.into(),
            pull: self.pull,
            no_events_timeout: self.no_events_timeout,
            checkpoint: None,
        })
    }
}

impl fmt::Debug for ConsumerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerBuilder")
            .field("target", &self.target)
            .field("subscription", &self.subscription)
            .field("subscription_type", &self.subscription_type)
            .field("ack_mode", &self.ack_mode)
            .field("ack_group_time", &self.ack_group_time)
            .finish_non_exhaustive()
    }
}

fn millis(d: Duration, what: &str) -> Result<u64> {
    u64::try_from(d.as_millis())
        .ok()
        .filter(|ms| *ms <= i32::MAX as u64)
        .ok_or_else(|| Error::Config(format!("{what} is too large")))
}
