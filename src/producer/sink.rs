//! `ProducerSink`: a `futures::Sink<Message>` over a producer, for the
//! streaming case.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures::stream::FuturesUnordered;
use futures::{Sink, Stream};
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

use super::{Message, Producer, Receipt};
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
    receipts: FuturesUnordered<Receipt>,
    failed: Option<Error>,
}

impl ProducerSink {
    pub(crate) fn new(producer: Producer) -> Self {
        ProducerSink {
            producer: Some(producer),
            acquiring: Mutex::new(None),
            permit: None,
            receipts: FuturesUnordered::new(),
            failed: None,
        }
    }

    /// Messages sent through this sink and not yet confirmed.
    pub fn pending(&self) -> usize {
        self.receipts.len()
    }

    /// Collects the receipts that are ready; remembers the first failure.
    /// `Ready` once none is left.
    fn poll_receipts(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match Pin::new(&mut self.receipts).poll_next(cx) {
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(error))) => {
                    self.failed.get_or_insert(error);
                }
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn take_failure(&mut self) -> Result<()> {
        match self.failed.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Sink<Message> for ProducerSink {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        let _ = this.poll_receipts(cx);
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
        let receipt = producer.submit(body, permit)?;
        this.receipts.push(receipt);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        match this.poll_receipts(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(this.take_failure()),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        if this.poll_receipts(cx).is_pending() {
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
            .field("pending", &self.receipts.len())
            .finish_non_exhaustive()
    }
}
