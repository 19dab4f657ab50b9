//! Running a handler over a stream: bounded concurrency, acks from results,
//! per-key order on request, panics contained, graceful stop.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use crate::ack::{AckHandle, AckMode};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::stream::EventStream;

/// What a handler run did, returned when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandlerReport {
    /// Events the handler returned `Ok` for (acknowledged).
    pub succeeded: u64,
    /// Events the handler returned `Err` for (negatively acknowledged on a
    /// consumer: redelivered after the delay, dead-lettered after the limit).
    pub failed: u64,
    /// Events whose handler panicked (treated like `Err`).
    pub panicked: u64,
    /// Frames that could not be decoded (reported, never handed to the handler).
    pub undecodable: u64,
    /// The largest number of handlers that ran at once.
    pub max_in_flight: usize,
}

/// Runs a handler over an [`EventStream`]; made by [`EventStream::handler`].
///
/// ```no_run
/// # async fn store(_: &pulsar_eventstream::Event) -> Result<(), std::io::Error> { Ok(()) }
/// # async fn run(events: pulsar_eventstream::EventStream) -> pulsar_eventstream::Result<()> {
/// let stop = tokio::signal::ctrl_c();
/// let report = events
///     .handler(|event| async move { store(&event).await })
///     .concurrency(16)
///     .ordered_by_key(true)   // events with the same key one after another
///     .until(async move { let _ = stop.await; })
///     .run()
///     .await?;
/// println!("{report:?}");
/// # Ok(()) }
/// ```
#[must_use = "a handler does nothing until run() is awaited"]
pub struct Handler<F> {
    stream: EventStream,
    handler: F,
    concurrency: usize,
    ordered_by_key: bool,
    until: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

/// A running handler: the event's ack handle and key, and how it ended.
type Running = Pin<Box<dyn Future<Output = (AckHandle, Option<String>, Outcome)> + Send>>;

enum Outcome {
    Ok,
    Failed(String),
    Panicked(String),
}

impl<F, Fut, E> Handler<F>
where
    F: Fn(Event) -> Fut + Send + Sync,
    Fut: Future<Output = std::result::Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    pub(crate) fn new(stream: EventStream, handler: F) -> Self {
        Handler {
            stream,
            handler,
            concurrency: 1,
            ordered_by_key: false,
            until: None,
        }
    }

    /// At most this many handlers run at once (default 1; at least 1).
    pub fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit.max(1);
        self
    }

    /// Runs events with the same key one after another, in stream order,
    /// while events with different keys run concurrently (use with
    /// `Key_Shared` subscriptions). Events without a key are not ordered.
    pub fn ordered_by_key(mut self, on: bool) -> Self {
        self.ordered_by_key = on;
        self
    }

    /// Stops taking new events when `signal` completes, waits for the
    /// handlers in flight, then closes the stream (acks flushed).
    pub fn until(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.until = Some(Box::pin(signal));
        self
    }

    /// Runs until the stream ends, the stop signal fires, or the stream
    /// fails. Handler results acknowledge: `Ok` acks, `Err` (and a panic)
    /// negatively acknowledges on a consumer; on a reader it is reported and
    /// the event acked (readers have no redelivery). Decode errors are
    /// reported and skipped. Returns the report, or the stream's fatal error
    /// after the handlers in flight have finished.
    pub async fn run(self) -> Result<HandlerReport> {
        let Handler {
            mut stream,
            handler,
            concurrency,
            ordered_by_key,
            until,
        } = self;
        // Results decide acks from here on.
        let on_receive = stream.ack_mode() == AckMode::OnReceive;
        stream.take_over_acks();
        let mut until = until.unwrap_or_else(|| Box::pin(futures::future::pending()));
        let mut report = HandlerReport::default();
        let mut running: FuturesUnordered<Running> = FuturesUnordered::new();
        // Per-key order: keys with a handler running, and events waiting.
        let mut busy_keys: HashMap<String, VecDeque<Event>> = HashMap::new();
        let mut waiting = 0usize;
        let mut stopping = false;
        let mut fatal: Option<Error> = None;
        let start = |event: Event| -> Running {
            let ack = event.ack_handle();
            let key = event.key().map(str::to_string);
            // A panic while creating the future counts like one inside it.
            let fut = std::panic::catch_unwind(AssertUnwindSafe(|| handler(event)));
            Box::pin(async move {
                let outcome = match fut {
                    Err(panic) => Outcome::Panicked(panic_message(&panic)),
                    Ok(fut) => match AssertUnwindSafe(fut).catch_unwind().await {
                        Ok(Ok(())) => Outcome::Ok,
                        Ok(Err(e)) => Outcome::Failed(e.to_string()),
                        Err(panic) => Outcome::Panicked(panic_message(&panic)),
                    },
                };
                (ack, key, outcome)
            })
        };
        loop {
            let can_pull = !stopping && running.len() < concurrency && waiting < concurrency;
            if !can_pull && running.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                Some((ack, key, outcome)) = running.next(), if !running.is_empty() => {
                    settle(&ack, outcome, on_receive, &mut report);
                    if let Some(key) = key.filter(|_| ordered_by_key) {
                        let next = busy_keys.get_mut(&key).and_then(VecDeque::pop_front);
                        match next {
                            Some(next) => {
                                waiting -= 1;
                                running.push(start(next));
                            }
                            None => {
                                busy_keys.remove(&key);
                            }
                        }
                    }
                }
                _ = &mut until, if !stopping => stopping = true,
                item = stream.next(), if can_pull => match item {
                    None => stopping = true,
                    Some(Ok(event)) => {
                        let key = event.key().filter(|_| ordered_by_key).map(str::to_string);
                        match key {
                            Some(key) if busy_keys.contains_key(&key) => {
                                if let Some(queue) = busy_keys.get_mut(&key) {
                                    queue.push_back(event);
                                    waiting += 1;
                                }
                            }
                            Some(key) => {
                                busy_keys.insert(key, VecDeque::new());
                                running.push(start(event));
                            }
                            None => running.push(start(event)),
                        }
                        report.max_in_flight = report.max_in_flight.max(running.len());
                    }
                    Some(Err(error)) if error.is_decode_error() => {
                        tracing::warn!(%error, "handler: skipped an undecodable frame");
                        report.undecodable += 1;
                    }
                    Some(Err(error)) => {
                        fatal = Some(error);
                        stopping = true;
                    }
                },
            }
            if stopping && running.is_empty() && waiting > 0 {
                // Events queued behind their key: run them before stopping.
                for queue in busy_keys.values_mut() {
                    if let Some(next) = queue.pop_front() {
                        waiting -= 1;
                        running.push(start(next));
                    }
                }
            }
        }
        match fatal {
            Some(error) => Err(error),
            None => stream.close().await.map(|()| report),
        }
    }
}

fn settle(ack: &AckHandle, outcome: Outcome, on_receive: bool, report: &mut HandlerReport) {
    let id = ack.wire_id.clone();
    let result = match outcome {
        Outcome::Ok => {
            report.succeeded += 1;
            ack.ack()
        }
        Outcome::Failed(reason) => {
            report.failed += 1;
            tracing::warn!(id = %id, %reason, "handler failed");
            negative(ack)
        }
        Outcome::Panicked(reason) => {
            report.panicked += 1;
            tracing::error!(id = %id, %reason, "handler panicked");
            negative(ack)
        }
    };
    if let Err(error) = result {
        if !on_receive {
            tracing::debug!(%error, "handler: ack not sent");
        }
    }
}

/// A failed event is redelivered by a consumer; a reader can only move on.
fn negative(ack: &AckHandle) -> Result<()> {
    match ack.nack() {
        Err(Error::Unsupported(_)) => ack.ack(),
        other => other,
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}
