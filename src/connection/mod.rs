//! The socket actor: one task owns each WebSocket. It dials, reads
//! continuously (so pings are answered while the application is busy), hands
//! events to the [`EventStream`] through a bounded channel, batches acks,
//! pings on a timer, and reconnects under the reconnect policy.

mod actor;
pub(crate) mod dial;
mod handshake;
mod queue;
pub(crate) mod timers;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

pub(crate) use queue::Queue;

use crate::ack::{AckMode, AckSignal};
use crate::checkpoint::{Checkpoint, SaveSchedule};
use crate::client::Client;
use crate::connection_event::ConnectionEvents;
use crate::consumer::PullMode;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::message_id::MessageId;
use crate::reader::Position;
use crate::reconnect::ReconnectPolicy;
use crate::stats::Instruments;
use crate::stream::EventStream;
use crate::topic::Topic;

pub(crate) use dial::map_ws_error;

/// Which endpoint a stream talks to.
#[derive(Debug, Clone)]
pub(crate) enum EndpointKind {
    /// `/ws/v2/reader/…`, starting here on the first connect.
    Reader { start: Position },
    /// `/ws/v2/consumer/…/{subscription}`.
    Consumer,
}

impl EndpointKind {
    pub(crate) fn is_reader(&self) -> bool {
        matches!(self, EndpointKind::Reader { .. })
    }
}

/// Everything the actor needs to (re)connect: built by the builders, only
/// read by the actor.
pub(crate) struct StreamSpec {
    pub client: Client,
    pub kind: EndpointKind,
    /// Path below the service URL, every segment already encoded.
    pub path: String,
    /// Query parameters except credentials and the reader's `messageId`.
    pub query: Vec<(&'static str, String)>,
    /// The server's in-flight limit, `min(receiverQueueSize, 1000)`.
    pub window: usize,
    pub ack_mode: AckMode,
    /// How long acks are gathered before they are written (zero: at once).
    pub ack_group_time: Duration,
    /// The topic events are tagged with (`None` when the endpoint does not
    /// say, as the multi-topic one).
    pub topic: Option<Arc<Topic>>,
    /// What to call the stream in logs: its topic(s).
    pub label: Arc<str>,
    /// Consumers only: flow control by permits (`pullMode=true`).
    pub pull: Option<PullMode>,
    pub policy: Arc<dyn ReconnectPolicy>,
    /// Reconnect when no event arrives for this long (off when `None`).
    pub no_events_timeout: Option<Duration>,
    /// Readers only: where to keep the last processed id.
    pub checkpoint: Option<(Arc<dyn Checkpoint>, SaveSchedule)>,
}

/// What the `EventStream` and ack handles ask of the actor.
pub(crate) enum Command {
    Ack { seq: u64, id: Arc<str> },
    Nack { seq: u64, id: Arc<str> },
    EndOfTopic(oneshot::Sender<Result<bool>>),
    Permit(u32),
    Unsubscribe(oneshot::Sender<Result<()>>),
    Close(oneshot::Sender<Result<()>>),
}

/// The application side of the actor's command channel. Every send also
/// tells the ack grouping what it was: an ack or nack may wait for its
/// group (and is counted towards a batch), anything else wakes the actor now.
#[derive(Clone)]
pub(crate) struct CommandSender {
    tx: mpsc::UnboundedSender<Command>,
    signal: Arc<AckSignal>,
}

impl CommandSender {
    pub(crate) fn new(tx: mpsc::UnboundedSender<Command>, signal: Arc<AckSignal>) -> Self {
        CommandSender { tx, signal }
    }

    /// The ack counter and wake-up this sender feeds (the actor's side).
    pub(crate) fn signal(&self) -> &AckSignal {
        &self.signal
    }

    /// Queues `cmd` for the actor; [`Error::StreamClosed`] once it is gone.
    pub(crate) fn send(&self, cmd: Command) -> Result<()> {
        let grouped = matches!(cmd, Command::Ack { .. } | Command::Nack { .. });
        self.tx.send(cmd).map_err(|_| Error::StreamClosed)?;
        if grouped {
            self.signal.acked();
        } else {
            self.signal.urgent();
        }
        Ok(())
    }
}

/// One item on its way to the application.
pub(crate) enum Delivery {
    Event(Event),
    Error {
        error: Error,
        /// The message to acknowledge once the application has seen the
        /// error (auto mode), when the frame had an id.
        ack: Option<(u64, Arc<str>)>,
        /// Where the frame was, so that a reader resumes after it.
        position: Option<MessageId>,
    },
    /// The stream ends with this error.
    Fatal(Error),
}

/// Channel room beyond the server's window (for error items and control).
const CHANNEL_SLACK: usize = 64;

/// Connects (errors are returned here, once), then hands the socket to a new
/// actor task.
pub(crate) async fn open(mut spec: StreamSpec) -> Result<EventStream> {
    if let (EndpointKind::Reader { start }, Some((checkpoint, _))) =
        (&mut spec.kind, &spec.checkpoint)
    {
        if let Some(saved) = checkpoint.load().await? {
            tracing::debug!(topic = %spec.label, id = %saved, "resuming from checkpoint");
            *start = Position::MessageId(saved);
        }
    }
    let url = dial::stream_url(&spec, None)?;
    let ws = dial::dial(&spec.client.inner, url.clone()).await?;
    let connection_events = ConnectionEvents::new(spec.client.inner.on_connection_event.clone());
    // Room for the whole window and then some: a server that respects its
    // window never fills the queue, so the actor keeps reading (and
    // answering pings) however slow the application is.
    let queue = Arc::new(Queue::new(spec.window.max(1) + CHANNEL_SLACK));
    if spec.pull == Some(PullMode::Automatic) {
        queue.notify_every_take();
    }
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    // A quarter window of acks is written at once, whatever the group time:
    // the server never waits long for room in its window.
    let ack_signal = Arc::new(AckSignal::new(spec.window.max(4) / 4));
    let commands_tx = CommandSender::new(commands_tx, ack_signal);
    let instruments = Arc::new(Instruments::new(&spec.label));
    instruments.set_connected(true);
    let stream = EventStream::new(
        queue.clone(),
        instruments.clone(),
        commands_tx.clone(),
        &spec,
        connection_events.sender(),
    );
    // One span per stream: every log line of its actor carries it.
    let span = tracing::info_span!(
        "pulsar_stream",
        topic = %spec.label,
        endpoint = if spec.kind.is_reader() { "reader" } else { "consumer" },
        url = %crate::auth::redact_url(&url),
    );
    tracing::debug!(parent: &span, "connected");
    let actor = actor::Actor::new(
        spec,
        queue,
        commands_rx,
        commands_tx,
        connection_events,
        instruments,
    );
    tokio::spawn(tracing::Instrument::instrument(actor.run(ws), span));
    Ok(stream)
}
