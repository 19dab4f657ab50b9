//! `EventStream`: a thin `Stream` over the actor's channel that sends ack
//! commands back.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::Stream;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::ack::AckMode;
use crate::connection::{Command, Delivery, Queue};
use crate::connection_event::{self, ConnectionEvent};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::topic::Topic;

/// The events of one reader or consumer: a
/// `futures::Stream<Item = Result<Event>>`.
///
/// A bad frame yields one `Err` item and the stream goes on
/// ([`Error::is_decode_error`]); the stream ends (`None`) after a fatal
/// error item, or once closed. Memory is bounded by the server's window
/// (at most 1000 events buffered), never by the backlog.
///
/// ```no_run
/// use futures::TryStreamExt;
/// # async fn run(mut events: pulsar_eventstream::EventStream) -> pulsar_eventstream::Result<()> {
/// while let Some(event) = events.try_next().await? {
///     println!("{}", event.text()?);
/// }
/// events.close().await?; // flushes acks, sends Close 1000
/// # Ok(()) }
/// ```
pub struct EventStream {
    queue: Arc<Queue>,
    commands: mpsc::UnboundedSender<Command>,
    ack_mode: AckMode,
    /// The last item handed out, acked when the next is requested (auto).
    to_ack: Option<(u64, Arc<str>)>,
    topic: Arc<Topic>,
    finished: bool,
    connection_events: broadcast::Sender<ConnectionEvent>,
}

impl EventStream {
    pub(crate) fn new(
        queue: Arc<Queue>,
        commands: mpsc::UnboundedSender<Command>,
        ack_mode: AckMode,
        topic: Arc<Topic>,
        connection_events: broadcast::Sender<ConnectionEvent>,
    ) -> Self {
        EventStream {
            queue,
            commands,
            ack_mode,
            to_ack: None,
            topic,
            finished: false,
            connection_events,
        }
    }

    /// The connection changes of this stream from now on (lost, reconnecting,
    /// connected, gave up), apart from its events. A listener that falls more
    /// than 64 changes behind skips the oldest.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn run(events: pulsar_eventstream::EventStream) {
    /// let mut changes = events.connection_events();
    /// tokio::spawn(async move {
    ///     while let Some(change) = changes.next().await {
    ///         eprintln!("connection: {change:?}");
    ///     }
    /// });
    /// # }
    /// ```
    pub fn connection_events(&self) -> futures::stream::BoxStream<'static, ConnectionEvent> {
        connection_event::subscribe(&self.connection_events)
    }

    /// The topic this stream reads.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }

    /// The acknowledgement mode.
    pub fn ack_mode(&self) -> AckMode {
        self.ack_mode
    }

    /// Asks the server whether the topic is terminated and every message has
    /// been delivered (`isEndOfTopic`). The reply is never an event.
    ///
    /// ```no_run
    /// # async fn run(events: pulsar_eventstream::EventStream) -> pulsar_eventstream::Result<()> {
    /// if events.end_of_topic().await? {
    ///     println!("nothing more will ever come");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn end_of_topic(&self) -> Result<bool> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::EndOfTopic(reply))
            .map_err(|_| Error::StreamClosed)?;
        answer.await.map_err(|_| Error::StreamClosed)?
    }

    /// Closes the stream: acknowledges the last event (auto mode), flushes
    /// pending acks, sends Close 1000 and waits (bounded by the client's
    /// close timeout) for the server's Close.
    ///
    /// Dropping the stream also flushes acks and closes the socket, but
    /// without acknowledging the last event handed out.
    pub async fn close(mut self) -> Result<()> {
        self.send_auto_ack();
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Close(reply)).is_err() {
            return Ok(()); // the connection is already gone
        }
        done.await.unwrap_or(Ok(()))
    }

    fn send_auto_ack(&mut self) {
        if let Some((seq, id)) = self.to_ack.take() {
            let _ = self.commands.send(Command::Ack { seq, id });
        }
    }
}

impl Stream for EventStream {
    type Item = Result<Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        // Asking for the next item acknowledges the previous one.
        this.send_auto_ack();
        match ready!(this.queue.poll_pop(cx)) {
            None => {
                this.finished = true;
                Poll::Ready(None)
            }
            Some(Delivery::Fatal(error)) => {
                this.finished = true;
                Poll::Ready(Some(Err(error)))
            }
            Some(Delivery::Event(event)) => {
                if this.ack_mode == AckMode::Auto {
                    this.to_ack = Some((event.ack.seq, event.ack.wire_id.clone()));
                }
                Poll::Ready(Some(Ok(event)))
            }
            Some(Delivery::Error { error, ack, .. }) => {
                if this.ack_mode == AckMode::Auto {
                    this.to_ack = ack;
                }
                Poll::Ready(Some(Err(error)))
            }
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // The actor flushes pending acks and closes the socket.
        self.queue.close_receiver();
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("topic", &self.topic.to_string())
            .field("ack_mode", &self.ack_mode)
            .finish_non_exhaustive()
    }
}
