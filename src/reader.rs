//! The reader endpoint: no subscription, the application chooses where to
//! start (`protocol.md` §2.2).

use std::sync::Arc;
use std::time::Duration;

use crate::ack::{AckMode, DEFAULT_ACK_GROUP_TIME};
use crate::checkpoint::{Checkpoint, SaveSchedule};
use crate::client::Client;
use crate::connection::{self, EndpointKind, StreamSpec};
use crate::error::{Error, Result};
use crate::message_id::MessageId;
use crate::reconnect::ReconnectPolicy;
use crate::stream::EventStream;
use crate::topic::{encode_component, Topic};

/// Where a reader starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Position {
    /// The oldest message the topic still retains.
    Earliest,
    /// Only messages published after the reader connects (the server's
    /// default).
    #[default]
    Latest,
    /// The message right **after** this one: the start is exclusive, as on
    /// the server, so pass the id of the last message you processed.
    MessageId(MessageId),
}

impl Position {
    /// The value of the `messageId` query parameter.
    pub(crate) fn query_value(&self) -> String {
        match self {
            Position::Earliest => "earliest".into(),
            Position::Latest => "latest".into(),
            Position::MessageId(id) => id.as_str().to_string(),
        }
    }
}

/// Configures a reader; made by [`Client::reader`].
#[must_use = "a builder does nothing until subscribe() is awaited"]
pub struct ReaderBuilder {
    client: Client,
    topic: Topic,
    position: Position,
    reader_name: Option<String>,
    receiver_queue_size: Option<u32>,
    ack_mode: AckMode,
    ack_group_time: Duration,
    reconnect: Option<Arc<dyn ReconnectPolicy>>,
    no_events_timeout: Option<Duration>,
    checkpoint: Option<Arc<dyn Checkpoint>>,
    schedule: SaveSchedule,
}

impl std::fmt::Debug for ReaderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderBuilder")
            .field("topic", &self.topic.to_string())
            .field("position", &self.position)
            .field("ack_mode", &self.ack_mode)
            .field("ack_group_time", &self.ack_group_time)
            .field("checkpoint", &self.checkpoint.is_some())
            .finish_non_exhaustive()
    }
}

impl ReaderBuilder {
    pub(crate) fn new(client: Client, topic: Topic) -> Self {
        ReaderBuilder {
            client,
            topic,
            position: Position::Latest,
            reader_name: None,
            receiver_queue_size: None,
            ack_mode: AckMode::Auto,
            ack_group_time: DEFAULT_ACK_GROUP_TIME,
            reconnect: None,
            no_events_timeout: None,
            checkpoint: None,
            schedule: SaveSchedule::default(),
        }
    }

    /// Where to start (default [`Position::Latest`]).
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Client, MessageId, Position};
    /// # async fn run(client: Client, last_processed: MessageId) -> pulsar_eventstream::Result<()> {
    /// let events = client
    ///     .reader("persistent://public/default/orders".parse()?)
    ///     .position(Position::MessageId(last_processed)) // starts right after it
    ///     .subscribe()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn position(mut self, position: Position) -> Self {
        self.position = position;
        self
    }

    /// A label for the reader, shown in the broker's stats.
    pub fn reader_name(mut self, name: impl Into<String>) -> Self {
        self.reader_name = Some(name.into());
        self
    }

    /// The server's receive queue size; the server caps it at 1000, and it is
    /// also the number of unacknowledged messages in flight.
    pub fn receiver_queue_size(mut self, size: u32) -> Self {
        self.receiver_queue_size = Some(size);
        self
    }

    /// When events are acknowledged (default [`AckMode::Auto`]). On a reader
    /// an ack is flow control only.
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
    /// application is ready for one (off by default). Covers the proxy's
    /// known silent state: its internal consumer died but the socket stays
    /// open and answers pings. Only for topics that are never quiet that long.
    pub fn no_events_timeout(mut self, timeout: Duration) -> Self {
        self.no_events_timeout = Some(timeout);
        self
    }

    /// Keeps the reader's place in `checkpoint`: the stream starts right
    /// after the saved id when there is one (else at [`position`](Self::position)),
    /// and saves the last acknowledged id every 1000 events, every 5 s and
    /// on close. A checkpoint that cannot be read fails `subscribe()`.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Client, FileCheckpoint};
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let events = client
    ///     .reader("persistent://public/default/orders".parse()?)
    ///     .checkpoint(FileCheckpoint::new("orders.checkpoint"))
    ///     .subscribe()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn checkpoint(mut self, checkpoint: impl Checkpoint) -> Self {
        self.checkpoint = Some(Arc::new(checkpoint));
        self
    }

    /// How often the checkpoint is saved: after `events` acknowledged events
    /// or `interval`, whichever comes first (defaults 1000 and 5 s); always
    /// on close.
    pub fn checkpoint_every(mut self, events: u64, interval: Duration) -> Self {
        self.schedule = SaveSchedule {
            every_events: events.max(1),
            every: interval,
        };
        self
    }

    /// Connects and returns the stream. Fails here, with a typed error, when
    /// the server refuses the handshake (wrong key, topic or parameters).
    pub async fn subscribe(self) -> Result<EventStream> {
        let spec = self.into_spec()?;
        connection::open(spec).await
    }

    pub(crate) fn into_spec(self) -> Result<StreamSpec> {
        if let Some(name) = &self.reader_name {
            check_name(name, "reader name")?;
        }
        let mut query = Vec::new();
        if let Some(size) = self.receiver_queue_size {
            query.push(("receiverQueueSize", size.to_string()));
        }
        if let Some(name) = self.reader_name {
            query.push(("readerName", name));
        }
        let path = format!("ws/v2/reader/{}", self.topic.encoded_path());
        Ok(StreamSpec {
            policy: self
                .reconnect
                .unwrap_or_else(|| self.client.inner.reconnect.clone()),
            client: self.client,
            kind: EndpointKind::Reader {
                start: self.position,
            },
            path,
            query,
            window: window(self.receiver_queue_size),
            ack_mode: self.ack_mode,
            ack_group_time: self.ack_group_time,
            label: self.topic.to_string().into(),
            topic: Some(Arc::new(self.topic)),
            pull: None,
            no_events_timeout: self.no_events_timeout,
            checkpoint: self.checkpoint.map(|c| (c, self.schedule)),
        })
    }
}

/// The server's in-flight limit for a receiver queue size (`protocol.md` §6.1).
pub(crate) fn window(receiver_queue_size: Option<u32>) -> usize {
    match receiver_queue_size {
        None => 1000,
        Some(0) => 1,
        Some(n) => n.min(1000) as usize,
    }
}

/// Rejects names that cannot travel in a path or query unchanged.
pub(crate) fn check_name(name: &str, what: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::Config(format!("{what} must not be empty")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::Config(format!(
            "{what} must not contain control characters"
        )));
    }
    let _ = encode_component(name);
    Ok(())
}
