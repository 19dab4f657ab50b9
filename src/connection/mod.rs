//! The socket actor: one task owns each WebSocket. It dials, reads
//! continuously (so pings are answered while the application is busy), hands
//! events to the [`EventStream`] through a bounded channel, batches acks,
//! pings on a timer, and reconnects under the reconnect policy.

mod actor;
pub(crate) mod dial;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::ack::AckMode;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::message_id::MessageId;
use crate::reader::Position;
use crate::reconnect::ReconnectPolicy;
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
    pub topic: Arc<Topic>,
    pub policy: Arc<dyn ReconnectPolicy>,
}

/// What the `EventStream` and ack handles ask of the actor.
pub(crate) enum Command {
    Ack { seq: u64, id: Arc<str> },
    Nack { seq: u64, id: Arc<str> },
    EndOfTopic(oneshot::Sender<Result<bool>>),
    Close(oneshot::Sender<Result<()>>),
}

/// One item on its way to the application. `epoch` names the connection it
/// came from: after a reconnect, items of older connections are dropped.
pub(crate) enum Delivery {
    Event {
        epoch: u64,
        event: Event,
    },
    Error {
        epoch: u64,
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

/// Shared between the stream and the actor: which connection is current and
/// the last event handed to the application. One lock makes "hand over" and
/// "reconnect from here" atomic with respect to each other.
#[derive(Default)]
pub(crate) struct ResumeState {
    pub epoch: u64,
    pub last_delivered: Option<MessageId>,
}

pub(crate) type SharedResume = Arc<Mutex<ResumeState>>;

/// Connects (errors are returned here, once), then hands the socket to a new
/// actor task.
pub(crate) async fn open(spec: StreamSpec) -> Result<EventStream> {
    let url = dial::stream_url(&spec, None)?;
    let ws = dial::dial(&spec.client.inner, url).await?;
    let (events_tx, events_rx) = mpsc::channel(spec.window.max(1));
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let resume: SharedResume = Arc::default();
    let stream = EventStream::new(
        events_rx,
        commands_tx.clone(),
        spec.ack_mode,
        resume.clone(),
        spec.topic.clone(),
        spec.kind.is_reader(),
    );
    tracing::debug!(topic = %spec.topic, "connected");
    let actor = actor::Actor::new(spec, events_tx, commands_rx, commands_tx, resume);
    tokio::spawn(actor.run(ws));
    Ok(stream)
}
