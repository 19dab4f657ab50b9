//! `EventStream`: a thin `Stream` over the actor's channel that sends ack
//! commands back.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::Stream;
use tokio::sync::{broadcast, oneshot};

use crate::ack::AckMode;
use crate::connection::{Command, CommandSender, Delivery, Queue, StreamSpec};
use crate::connection_event::{self, ConnectionEvent};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::stats::{Instruments, StreamStats};
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
    instruments: Arc<Instruments>,
    commands: CommandSender,
    ack_mode: AckMode,
    /// The last item handed out, acked when the next is requested (auto).
    to_ack: Option<(u64, Arc<str>)>,
    topic: Option<Arc<Topic>>,
    is_reader: bool,
    pull_mode: bool,
    finished: bool,
    connection_events: broadcast::Sender<ConnectionEvent>,
}

impl EventStream {
    pub(crate) fn new(
        queue: Arc<Queue>,
        instruments: Arc<Instruments>,
        commands: CommandSender,
        spec: &StreamSpec,
        connection_events: broadcast::Sender<ConnectionEvent>,
    ) -> Self {
        EventStream {
            queue,
            instruments,
            commands,
            ack_mode: spec.ack_mode,
            to_ack: None,
            topic: spec.topic.clone(),
            is_reader: spec.kind.is_reader(),
            pull_mode: spec.pull.is_some(),
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

    /// The topic this stream reads (`None` for a multi-topic consumer).
    pub fn topic(&self) -> Option<&Topic> {
        self.topic.as_deref()
    }

    /// A snapshot of this stream's counters (no feature needed; with the
    /// `metrics` feature the same values are also exported).
    pub fn stats(&self) -> StreamStats {
        self.instruments.snapshot(self.queue.len())
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
        self.commands.send(Command::EndOfTopic(reply))?;
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

    /// Runs `handler` over the events: see [`Handler`](crate::Handler). In
    /// short: `Ok` acknowledges, `Err` (or a panic) negatively acknowledges,
    /// at most `concurrency` handlers run at once.
    ///
    /// ```no_run
    /// # async fn store(_: &pulsar_eventstream::Event) -> Result<(), std::io::Error> { Ok(()) }
    /// # async fn run(events: pulsar_eventstream::EventStream) -> pulsar_eventstream::Result<()> {
    /// events.run(16, |event| async move { store(&event).await }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn run<F, Fut, E>(
        self,
        concurrency: usize,
        handler: F,
    ) -> Result<crate::HandlerReport>
    where
        F: Fn(Event) -> Fut + Send + Sync,
        Fut: std::future::Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        self.handler(handler).concurrency(concurrency).run().await
    }

    /// A [`Handler`](crate::Handler) over this stream, to configure
    /// (concurrency, per-key order, stop signal) and run.
    pub fn handler<F, Fut, E>(self, handler: F) -> crate::Handler<F>
    where
        F: Fn(Event) -> Fut + Send + Sync,
        Fut: std::future::Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        crate::Handler::new(self, handler)
    }

    /// From now on the caller acknowledges (the handler API).
    pub(crate) fn take_over_acks(&mut self) {
        self.send_auto_ack();
        if self.ack_mode == AckMode::Auto {
            self.ack_mode = AckMode::Manual;
        }
    }

    /// Pull mode: lets the server send `permits` more messages. Permits add
    /// up, and survive reconnects.
    pub fn permit(&self, permits: u32) -> Result<()> {
        if !self.pull_mode {
            return Err(Error::Unsupported("permits outside pull mode"));
        }
        if permits == 0 {
            return Ok(());
        }
        self.commands.send(Command::Permit(permits))
    }

    /// Deletes this consumer's subscription on the broker, then closes the
    /// stream. Fails with [`Error::UnsubscribeFailed`] when the broker refuses
    /// (other consumers still attached).
    pub async fn unsubscribe(mut self) -> Result<()> {
        if self.is_reader {
            return Err(Error::Unsupported("unsubscribe on a reader"));
        }
        self.send_auto_ack();
        let (reply, done) = oneshot::channel();
        self.commands.send(Command::Unsubscribe(reply))?;
        done.await.map_err(|_| Error::StreamClosed)?
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
            Some((Delivery::Fatal(error), _)) => {
                this.finished = true;
                Poll::Ready(Some(Err(error)))
            }
            Some((Delivery::Event(event), left)) => {
                this.instruments.event_delivered();
                this.instruments.buffered(left);
                if this.ack_mode == AckMode::Auto {
                    this.to_ack = Some((event.ack.seq, event.ack.wire_id.clone()));
                }
                Poll::Ready(Some(Ok(event)))
            }
            Some((Delivery::Error { error, ack, .. }, _)) => {
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
            .field("topic", &self.topic.as_deref().map(Topic::to_string))
            .field("ack_mode", &self.ack_mode)
            .finish_non_exhaustive()
    }
}
