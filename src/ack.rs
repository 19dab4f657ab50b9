//! Acknowledgement modes and the handle that acknowledges one event.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::connection::{Command, CommandSender};
use crate::error::{Error, Result};
use crate::message_id::MessageId;

/// When events are acknowledged.
///
/// The server keeps at most `min(receiverQueueSize, 1000)` unacknowledged
/// messages in flight, on the reader too, so every event must be
/// acknowledged eventually or the stream stalls. On a reader an ack is flow
/// control only: it stores no position (use a checkpoint or
/// [`Position::MessageId`](crate::Position::MessageId) to resume).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AckMode {
    /// Acknowledge an event when the application asks for the next one, and
    /// on `close()`: at-least-once for consumers (an event being processed
    /// when the process dies is redelivered), and a reader that never stalls.
    #[default]
    Auto,
    /// The application acknowledges each event itself with
    /// [`Event::ack`](crate::Event::ack) or an [`AckHandle`], for example
    /// after a database commit. Unacknowledged events stall the stream once
    /// the server's window is full.
    Manual,
    /// Acknowledge each event as soon as it arrives, before the application
    /// sees it: at-most-once (events buffered or in process when the process
    /// dies are lost). For raw speed when losing events is acceptable.
    OnReceive,
}

/// How long a stream gathers acks before it writes them, by default; see
/// [`ReaderBuilder::ack_group_time`](crate::ReaderBuilder::ack_group_time).
pub const DEFAULT_ACK_GROUP_TIME: Duration = Duration::from_millis(10);

/// Acks sent to the socket actor since it last took them, and a wake-up
/// for it when a batch is worth writing before the group time is over (a
/// fast application would otherwise exhaust the server's window and wait).
#[derive(Debug)]
pub(crate) struct AckSignal {
    since_taken: AtomicUsize,
    batch: usize,
    notify: Notify,
}

impl AckSignal {
    /// Wakes the actor every `batch` acks.
    pub(crate) fn new(batch: usize) -> Self {
        AckSignal {
            since_taken: AtomicUsize::new(0),
            batch: batch.max(1),
            notify: Notify::new(),
        }
    }

    /// Called after each ack or nack command is sent.
    pub(crate) fn acked(&self) {
        if self.since_taken.fetch_add(1, Relaxed) + 1 == self.batch {
            self.notify.notify_one();
        }
    }

    /// Wakes the actor now: a command other than an ack was sent, and must
    /// not wait for the group time.
    pub(crate) fn urgent(&self) {
        self.notify.notify_one();
    }

    /// The actor took every ack queued so far.
    pub(crate) fn taken(&self) {
        self.since_taken.store(0, Relaxed);
    }

    /// Resolves when a batch is waiting.
    pub(crate) async fn batch_ready(&self) {
        self.notify.notified().await;
    }
}

/// Acknowledges one event, from any task, at any time; cheap to clone.
///
/// Acknowledging twice is harmless (the second is not sent). Once the stream
/// is closed, acknowledging returns [`Error::StreamClosed`].
///
/// ```no_run
/// # async fn run(mut events: pulsar_eventstream::EventStream) -> pulsar_eventstream::Result<()> {
/// use futures::TryStreamExt;
/// while let Some(event) = events.try_next().await? {
///     let ack = event.ack_handle();
///     tokio::spawn(async move {
///         // ... store the event, then:
///         let _ = ack.ack();
///     });
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AckHandle {
    pub(crate) seq: u64,
    pub(crate) wire_id: Arc<str>,
    pub(crate) message_id: Option<MessageId>,
    pub(crate) commands: CommandSender,
    pub(crate) can_nack: bool,
}

impl AckHandle {
    /// Acknowledges the event.
    pub fn ack(&self) -> Result<()> {
        self.commands.send(Command::Ack {
            seq: self.seq,
            id: self.wire_id.clone(),
        })
    }

    /// Negatively acknowledges the event (consumers only): the broker
    /// redelivers it after the negative-ack redelivery delay.
    pub fn nack(&self) -> Result<()> {
        if !self.can_nack {
            return Err(Error::Unsupported(
                "negative acknowledgement on a reader (readers have no redelivery)",
            ));
        }
        self.commands.send(Command::Nack {
            seq: self.seq,
            id: self.wire_id.clone(),
        })
    }

    /// The id of the event this handle acknowledges.
    pub fn message_id(&self) -> Option<&MessageId> {
        self.message_id.as_ref()
    }
}

impl fmt::Debug for AckHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckHandle")
            .field("message_id", &&*self.wire_id)
            .finish()
    }
}
