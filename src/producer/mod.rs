//! The producer endpoint (`protocol.md` §2.3, §8): pipelined sends, each
//! matched to its receipt by a client-generated `context`, a bounded window
//! of unconfirmed messages for back-pressure, and at-least-once re-sends
//! after a reconnect. See `docs/producer.md`.

mod actor;
mod builder;
mod message;
pub(crate) mod receipt;
mod reply;
mod sink;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::{broadcast, mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::connection_event::{self, ConnectionEvent};
use crate::error::{Error, Result};
use crate::message_id::MessageId;
use crate::topic::Topic;

use actor::Command;
pub use builder::{
    CompressionType, HashingScheme, ProducerBuilder, RoutingMode, DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_IN_FLIGHT,
};
pub use message::Message;
use reply::Reply;
pub use sink::ProducerSink;

/// State shared by the producer handles, their receipts and the actor.
pub(crate) struct Shared {
    /// One permit per message in flight: the back-pressure window.
    semaphore: Arc<Semaphore>,
    /// Why the producer stopped, once the reconnect policy gave up.
    terminal: Mutex<Option<Error>>,
    max_in_flight: usize,
    max_frame_size: usize,
    topic: Arc<Topic>,
    connection_events: broadcast::Sender<ConnectionEvent>,
    instruments: crate::stats::ProducerInstruments,
}

impl Shared {
    /// The error for a call on a producer that no longer sends: the error
    /// the reconnect policy gave up on, else [`Error::StreamClosed`].
    fn closed_error(&self) -> Error {
        self.terminal
            .lock()
            .ok()
            .and_then(|t| t.clone())
            .unwrap_or(Error::StreamClosed)
    }
}

/// Publishes messages to one topic over the WebSocket producer endpoint;
/// made by [`Client::producer`](crate::Client::producer).
///
/// * **Pipelined:** many sends are in flight at once; each is matched to its
///   receipt by a `context` the producer generates, so receipts may come
///   back in any order.
/// * **Back-pressure:** at most
///   [`max_in_flight`](ProducerBuilder::max_in_flight) messages are
///   unconfirmed; a send waits for room beyond that.
/// * **At-least-once:** after a lost connection the producer reconnects
///   under the reconnect policy and re-sends every unconfirmed message in
///   order. A message whose receipt was lost with the connection is stored
///   twice. When the policy gives up, every unconfirmed send fails with the
///   last connection error (retryable).
///
/// Cheap to clone: clones share the connection. The connection closes with
/// [`close`](Self::close), or once every clone is dropped and every message
/// sent is confirmed.
///
/// ```no_run
/// use pulsar_eventstream::{Client, Message};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("ws://127.0.0.1:8080").build()?;
/// let producer = client
///     .producer("persistent://public/default/orders".parse()?)
///     .create()
///     .await?;
/// // One at a time:
/// let id = producer.send(Message::json(&serde_json::json!({"order": 1}))?).await?;
/// println!("stored as {id}");
/// // Pipelined: enqueue many, then collect the receipts.
/// let mut receipts = Vec::new();
/// for n in 2..100 {
///     receipts.push(producer.enqueue(Message::text(format!("order {n}"))).await?);
/// }
/// for receipt in receipts {
///     receipt.await?;
/// }
/// producer.close().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Producer {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
}

impl Producer {
    /// Publishes one message and waits for the server to confirm it:
    /// `Ok` with the stored message's id, or the server's refusal
    /// ([`Error::SendFailed`]; code 8 is worth retrying). Waits first for
    /// room in the window when `max_in_flight` messages are unconfirmed.
    ///
    /// Dropping the future before it resolves does not recall the message
    /// once it was handed to the connection.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Error, Message, Producer};
    /// # async fn run(producer: Producer) -> pulsar_eventstream::Result<()> {
    /// match producer.send(Message::text("hello").key("greetings")).await {
    ///     Ok(id) => println!("stored as {id}"),
    ///     Err(e) if e.is_retryable() => eprintln!("try again later: {e}"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, message: Message) -> Result<MessageId> {
        self.enqueue(message).await?.await
    }

    /// Hands a message to the connection once there is room in the window,
    /// and returns its [`Receipt`] without waiting for the server: await the
    /// receipts later to pipeline many sends from one task. Messages go out
    /// in the order they are enqueued.
    ///
    /// Fails at once, sending nothing, with [`Error::MessageTooLarge`] for a
    /// frame over the limit, and with [`Error::StreamClosed`] (or the error
    /// the reconnect policy gave up on) when the producer no longer sends.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Message, Producer};
    /// # async fn run(producer: Producer) -> pulsar_eventstream::Result<()> {
    /// let first = producer.enqueue(Message::text("one")).await?;
    /// let second = producer.enqueue(Message::text("two")).await?;
    /// let (a, b) = (first.await?, second.await?);
    /// assert!(a < b);
    /// # Ok(()) }
    /// ```
    pub async fn enqueue(&self, message: Message) -> Result<Receipt> {
        let body = message.encode_body(self.shared.max_frame_size)?;
        if self.commands.is_closed() {
            return Err(self.shared.closed_error());
        }
        let permit = self
            .shared
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| self.shared.closed_error())?;
        self.submit(body, permit)
    }

    /// Passes an encoded message and its window permit to the actor.
    fn submit(&self, body: String, permit: OwnedSemaphorePermit) -> Result<Receipt> {
        let (reply, answer) = oneshot::channel();
        self.hand_over(body, permit, Reply::Receipt(reply))?;
        Ok(Receipt {
            answer,
            shared: self.shared.clone(),
        })
    }

    /// Queues a send for the actor, its outcome to go to `reply`.
    fn hand_over(&self, body: String, permit: OwnedSemaphorePermit, reply: Reply) -> Result<()> {
        self.commands
            .send(Command::Send {
                body,
                reply,
                permit,
            })
            .map_err(|_| self.shared.closed_error())
    }

    /// Waits until every message enqueued before this call has its receipt
    /// (each result goes to its own send or [`Receipt`]). Fails only when
    /// the producer gave up reconnecting with messages unconfirmed.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Message, Producer};
    /// # async fn run(producer: Producer) -> pulsar_eventstream::Result<()> {
    /// for n in 0..10 {
    ///     drop(producer.enqueue(Message::text(n.to_string())).await?); // fire and forget
    /// }
    /// producer.flush().await?; // all ten are confirmed (or refused) now
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self) -> Result<()> {
        self.call(Command::Flush).await
    }

    /// Waits for every outstanding receipt, then closes the connection with
    /// Close 1000 and waits (bounded by the client's close timeout) for the
    /// server's Close. Closes every clone of this producer: their later
    /// sends fail with [`Error::StreamClosed`].
    pub async fn close(self) -> Result<()> {
        self.call(Command::Close).await
    }

    async fn call(&self, command: fn(oneshot::Sender<Result<()>>) -> Command) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if self.commands.send(command(reply)).is_err() {
            return self.after_end();
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => self.after_end(),
        }
    }

    /// Flush or close on a producer whose actor has ended: nothing is
    /// outstanding, unless the policy gave up.
    fn after_end(&self) -> Result<()> {
        match self.shared.closed_error() {
            Error::StreamClosed => Ok(()),
            error => Err(error),
        }
    }

    /// A [`futures::Sink`] of messages that shares this producer's
    /// connection and window; see [`ProducerSink`].
    pub fn sink(&self) -> ProducerSink {
        ProducerSink::new(self.clone())
    }

    /// [`sink`](Self::sink), consuming the handle.
    pub fn into_sink(self) -> ProducerSink {
        ProducerSink::new(self)
    }

    /// The connection changes of this producer from now on (lost,
    /// reconnecting, connected, gave up). They also go to the client's
    /// [`on_connection_event`](crate::ClientBuilder::on_connection_event)
    /// callback. A listener that falls more than 64 changes behind skips the
    /// oldest.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn run(producer: pulsar_eventstream::Producer) {
    /// let mut changes = producer.connection_events();
    /// tokio::spawn(async move {
    ///     while let Some(change) = changes.next().await {
    ///         eprintln!("producer connection: {change:?}");
    ///     }
    /// });
    /// # }
    /// ```
    pub fn connection_events(&self) -> futures::stream::BoxStream<'static, ConnectionEvent> {
        connection_event::subscribe(&self.shared.connection_events)
    }

    /// The topic this producer publishes to.
    pub fn topic(&self) -> &Topic {
        &self.shared.topic
    }

    /// A snapshot of this producer's counters (also exported with the
    /// `metrics` feature).
    pub fn stats(&self) -> crate::ProducerStats {
        self.shared.instruments.snapshot()
    }

    /// How many messages are handed to the connection and not yet
    /// confirmed (at most [`max_in_flight`](Self::max_in_flight)).
    pub fn in_flight(&self) -> usize {
        self.shared
            .max_in_flight
            .saturating_sub(self.shared.semaphore.available_permits())
    }

    /// The window: most messages unconfirmed at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight
    }
}

impl fmt::Debug for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("topic", &self.shared.topic.to_string())
            .field("in_flight", &self.in_flight())
            .field("max_in_flight", &self.shared.max_in_flight)
            .finish_non_exhaustive()
    }
}

/// The server's answer to one enqueued message: a future of the stored
/// message's id. Made by [`Producer::enqueue`].
///
/// Dropping a receipt does not recall the message: it is still sent (and
/// re-sent after a reconnect); only its outcome is ignored.
///
/// ```no_run
/// # use pulsar_eventstream::{Message, Producer, Receipt};
/// # async fn run(producer: Producer) -> pulsar_eventstream::Result<()> {
/// let mut receipts: Vec<Receipt> = Vec::new();
/// for n in 0..1000 {
///     // Returns as soon as the message is on its way (or waits for room).
///     receipts.push(producer.enqueue(Message::text(n.to_string())).await?);
/// }
/// for receipt in futures::future::join_all(receipts).await {
///     let id = receipt?;
///     println!("{id}");
/// }
/// # Ok(()) }
/// ```
#[must_use = "a receipt tells whether the message was stored"]
pub struct Receipt {
    answer: oneshot::Receiver<Result<MessageId>>,
    shared: Arc<Shared>,
}

impl Future for Receipt {
    type Output = Result<MessageId>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.answer).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_)) => Poll::Ready(Err(self.shared.closed_error())),
        }
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt").finish_non_exhaustive()
    }
}
