//! `ProducerSink`: a `futures::Sink<Message>` over a producer, for the
//! streaming case.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Sink;
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

use super::reply::{Failure, Reply, SinkSlot, SinkTally};
use super::{Message, Producer, Shared};
use crate::error::{Error, Result};

type Acquire =
    Pin<Box<dyn Future<Output = std::result::Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// A [`futures::Sink`] of [`Message`]s; made by [`Producer::sink`] or
/// [`Producer::into_sink`].
///
/// * `poll_ready` is ready when the producer's window has room (this is the
///   back-pressure), `start_send` hands the message to the connection.
/// * `poll_flush` and `poll_close` wait until every message this sink sent
///   has its receipt. `poll_close` then lets go of its producer handle: the
///   connection closes (Close 1000) when no other handle is left.
/// * A message the server refused, or that was lost when the reconnect
///   policy gave up, makes the next `poll_ready`, `poll_flush` or
///   `poll_close` return that error (once); the other messages are not
///   affected.
/// * The sink keeps a count of its unconfirmed messages, not a future per
///   message: its memory does not grow with the number of messages sent.
///
/// ```no_run
/// use futures::{stream, SinkExt, StreamExt};
/// use pulsar_eventstream::{Message, Producer};
///
/// # async fn run(producer: Producer) -> pulsar_eventstream::Result<()> {
/// let messages = stream::iter(0..10_000).map(|n| Ok(Message::text(n.to_string())));
/// messages.forward(producer.into_sink()).await?; // every message confirmed
/// # Ok(()) }
/// ```
pub struct ProducerSink {
    producer: Option<Producer>,
    /// Waiting for room in the window. In a `Mutex` only to keep the sink
    /// `Sync`; it is reached through `&mut self`, never locked.
    acquiring: Mutex<Option<Acquire>>,
    permit: Option<OwnedSemaphorePermit>,
    /// The messages this sink sent and their first failure.
    tally: Arc<SinkTally>,
    /// For the error of a message dropped unanswered, after `poll_close`.
    shared: Arc<Shared>,
}

impl ProducerSink {
    pub(crate) fn new(producer: Producer) -> Self {
        ProducerSink {
            shared: producer.shared.clone(),
            producer: Some(producer),
            acquiring: Mutex::new(None),
            permit: None,
            tally: Arc::default(),
        }
    }

    /// Messages sent through this sink and not yet confirmed.
    pub fn pending(&self) -> usize {
        self.tally.outstanding()
    }

    /// The first failure since the last call, as an error.
    fn take_failure(&mut self) -> Result<()> {
        match self.tally.take_failure() {
            None => Ok(()),
            Some(Failure::Error(error)) => Err(error),
            Some(Failure::Dropped) => Err(self.shared.closed_error()),
        }
    }
}

impl Sink<Message> for ProducerSink {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        this.take_failure()?;
        if this.permit.is_some() {
            return Poll::Ready(Ok(()));
        }
        let Some(producer) = &this.producer else {
            return Poll::Ready(Err(Error::StreamClosed));
        };
        let acquiring = this.acquiring.get_mut().unwrap_or_else(|p| p.into_inner());
        let future = acquiring
            .get_or_insert_with(|| Box::pin(producer.shared.semaphore.clone().acquire_owned()));
        match future.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => {
                *acquiring = None;
                match result {
                    Ok(permit) => {
                        this.permit = Some(permit);
                        Poll::Ready(Ok(()))
                    }
                    Err(_) => Poll::Ready(Err(producer.shared.closed_error())),
                }
            }
        }
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        let this = self.get_mut();
        let Some(producer) = &this.producer else {
            return Err(Error::StreamClosed);
        };
        let body = message.encode_body(producer.shared.max_frame_size)?;
        let permit = match this.permit.take() {
            Some(permit) => permit,
            // Sink contract: poll_ready first. Tolerate it when there is room.
            None => producer
                .shared
                .semaphore
                .clone()
                .try_acquire_owned()
                .map_err(|_| Error::Unsupported("start_send without a ready poll_ready"))?,
        };
        producer.hand_over(body, permit, Reply::Sink(SinkSlot::new(&this.tally)))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        match this.tally.poll_settled(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(this.take_failure()),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.tally.poll_settled(cx).is_pending() {
            return Poll::Pending;
        }
        this.permit = None;
        *this.acquiring.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        this.producer = None;
        Poll::Ready(this.take_failure())
    }
}

impl fmt::Debug for ProducerSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProducerSink")
            .field("producer", &self.producer)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}
