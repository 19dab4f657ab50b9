//! `EventStream`: a thin `Stream` over the actor's channel that sends ack
//! commands back.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::Stream;
use tokio::sync::{mpsc, oneshot};

use crate::ack::AckMode;
use crate::connection::{Command, Delivery, SharedResume};
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
    events: mpsc::Receiver<Delivery>,
    commands: mpsc::UnboundedSender<Command>,
    ack_mode: AckMode,
    /// The last item handed out, acked when the next is requested (auto).
    to_ack: Option<(u64, Arc<str>)>,
    resume: SharedResume,
    /// Drop items of connections that were lost (they are re-read).
    discard_stale: bool,
    topic: Arc<Topic>,
    finished: bool,
}

impl EventStream {
    pub(crate) fn new(
        events: mpsc::Receiver<Delivery>,
        commands: mpsc::UnboundedSender<Command>,
        ack_mode: AckMode,
        resume: SharedResume,
        topic: Arc<Topic>,
        is_reader: bool,
    ) -> Self {
        EventStream {
            events,
            commands,
            ack_mode,
            to_ack: None,
            resume,
            // An on-receive consumer already acked its buffered events: keep
            // them, the broker will not send them again.
            discard_stale: is_reader || ack_mode != AckMode::OnReceive,
            topic,
            finished: false,
        }
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

    fn is_current(&self, epoch: u64, position: Option<&crate::MessageId>) -> bool {
        if !self.discard_stale {
            return true;
        }
        let mut state = self.resume.lock().unwrap_or_else(|p| p.into_inner());
        if state.epoch != epoch {
            return false;
        }
        if let Some(id) = position {
            state.last_delivered = Some(id.clone());
        }
        true
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
        loop {
            match ready!(this.events.poll_recv(cx)) {
                None => {
                    this.finished = true;
                    return Poll::Ready(None);
                }
                Some(Delivery::Fatal(error)) => {
                    this.finished = true;
                    return Poll::Ready(Some(Err(error)));
                }
                Some(Delivery::Event { epoch, event }) => {
                    if !this.is_current(epoch, Some(&event.message_id)) {
                        continue;
                    }
                    if this.ack_mode == AckMode::Auto {
                        this.to_ack = Some((event.ack.seq, event.ack.wire_id.clone()));
                    }
                    return Poll::Ready(Some(Ok(event)));
                }
                Some(Delivery::Error {
                    epoch,
                    error,
                    ack,
                    position,
                }) => {
                    if !this.is_current(epoch, position.as_ref()) {
                        continue;
                    }
                    if this.ack_mode == AckMode::Auto {
                        this.to_ack = ack;
                    }
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
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
