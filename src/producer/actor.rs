//! The task that owns a producer's socket: writes message frames, matches
//! receipts to sends by `context`, pings, and reconnects, re-sending every
//! unconfirmed message in order.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use url::Url;

use super::message::frame;
use super::receipt;
use super::reply::Reply;
use super::{Producer, Shared};
use crate::client::Client;
use crate::connection::dial::{self, Ws, HEALTHY_AFTER};
use crate::connection::map_ws_error;
use crate::connection::timers::{sleep_until, tick};
use crate::connection_event::{ConnectionEvent, ConnectionEvents};
use crate::error::{Error, Result};
use crate::reconnect::ReconnectPolicy;
use crate::topic::Topic;

/// Frames written but not flushed before the actor flushes anyway.
const MAX_UNFLUSHED: usize = 128;

/// Everything the actor needs to (re)connect; built by the builder.
pub(crate) struct ProducerSpec {
    pub client: Client,
    /// The endpoint URL with the producer's query, without credentials.
    pub url: Url,
    pub topic: Arc<Topic>,
    pub policy: Arc<dyn ReconnectPolicy>,
    pub max_in_flight: usize,
    pub max_frame_size: usize,
}

/// What producer handles ask of the actor.
pub(crate) enum Command {
    /// Publish a frame body (see `Message::encode_body`); the permit is
    /// released when its receipt arrives.
    Send {
        body: String,
        reply: Reply,
        permit: OwnedSemaphorePermit,
    },
    /// Answer once every message sent before has its receipt.
    Flush(oneshot::Sender<Result<()>>),
    /// Flush, then close with 1000.
    Close(oneshot::Sender<Result<()>>),
}

/// A message sent (or to be sent) and not yet confirmed.
struct Pending {
    frame: Utf8Bytes,
    reply: Reply,
    _permit: OwnedSemaphorePermit,
}

enum SessionEnd {
    /// Closed (close() or every handle dropped) with nothing outstanding.
    Finished,
    /// The connection was lost: reconnect under the policy.
    Lost(Error),
}

/// Connects (a refused handshake is returned here), then hands the socket
/// to a new actor task.
pub(crate) async fn open(spec: ProducerSpec) -> Result<Producer> {
    let ws = dial::dial(&spec.client.inner, spec.url.clone()).await?;
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let connection_events = ConnectionEvents::new(spec.client.inner.on_connection_event.clone());
    let shared = Arc::new(Shared {
        connection_events: connection_events.sender(),
        semaphore: Arc::new(Semaphore::new(spec.max_in_flight)),
        terminal: std::sync::Mutex::new(None),
        max_in_flight: spec.max_in_flight,
        max_frame_size: spec.max_frame_size,
        topic: spec.topic.clone(),
        instruments: crate::stats::ProducerInstruments::new(&spec.topic.to_string()),
    });
    tracing::debug!(topic = %spec.topic, "producer connected");
    let actor = Actor {
        spec,
        commands: commands_rx,
        shared: shared.clone(),
        next_seq: 1,
        pending: BTreeMap::new(),
        flush_waiters: Vec::new(),
        close_waiters: Vec::new(),
        closing: false,
        handles_gone: false,
        unflushed: 0,
        connection_events,
        connections: 0,
    };
    tokio::spawn(actor.run(ws));
    Ok(Producer {
        commands: commands_tx,
        shared,
    })
}

struct Actor {
    spec: ProducerSpec,
    commands: mpsc::UnboundedReceiver<Command>,
    shared: Arc<Shared>,
    /// The context of the next message: 1, 2, … in the order sends arrive,
    /// so `pending` iterates in wire order.
    next_seq: u64,
    pending: BTreeMap<u64, Pending>,
    /// Each waits until no message with a smaller context is pending.
    flush_waiters: Vec<(u64, oneshot::Sender<Result<()>>)>,
    close_waiters: Vec<oneshot::Sender<Result<()>>>,
    closing: bool,
    handles_gone: bool,
    unflushed: usize,
    connection_events: ConnectionEvents,
    /// Connections made so far.
    connections: u64,
}

impl Actor {
    async fn run(mut self, first: Ws) {
        let mut ws = first;
        let mut attempt: u32 = 0;
        loop {
            let started = Instant::now();
            let mut error = match self.session(&mut ws).await {
                SessionEnd::Finished => return,
                SessionEnd::Lost(error) => error,
            };
            tracing::warn!(topic = %self.spec.topic, %error, unconfirmed = self.pending.len(), "producer connection lost");
            self.connection_events.emit(ConnectionEvent::Disconnected {
                error: error.clone(),
            });
            if started.elapsed() >= HEALTHY_AFTER {
                attempt = 0;
            }
            ws = loop {
                attempt = attempt.saturating_add(1);
                let Some(delay) = self.spec.policy.next_delay(attempt, &error) else {
                    tracing::warn!(topic = %self.spec.topic, %error, attempt, "producer gives up");
                    self.connection_events.emit(ConnectionEvent::GaveUp {
                        error: error.clone(),
                    });
                    self.fail_all(error);
                    return;
                };
                tracing::info!(topic = %self.spec.topic, attempt, ?delay, cause = %error, "producer reconnecting");
                self.connection_events
                    .emit(ConnectionEvent::Reconnecting { attempt, delay });
                if !self.wait(delay).await {
                    self.finished(Ok(()));
                    return;
                }
                match dial::dial(&self.spec.client.inner, self.spec.url.clone()).await {
                    Ok(ws) => break ws,
                    Err(e) => error = e,
                }
            };
            tracing::info!(topic = %self.spec.topic, resent = self.pending.len(), "producer reconnected");
        }
    }

    fn done(&self) -> bool {
        (self.closing || self.handles_gone) && self.pending.is_empty()
    }

    async fn session(&mut self, ws: &mut Ws) -> SessionEnd {
        self.connections += 1;
        self.connection_events.emit(ConnectionEvent::Connected {
            connection: self.connections,
        });
        self.unflushed = 0;
        // Re-send everything unconfirmed, in the order it was first sent.
        let frames: Vec<Utf8Bytes> = self.pending.values().map(|p| p.frame.clone()).collect();
        for frame in frames {
            if let Err(e) = self.write(ws, frame).await {
                return SessionEnd::Lost(e);
            }
        }
        let config = self.spec.client.inner.clone();
        let mut ping = config.ping_interval.map(|period| {
            let mut interval = tokio::time::interval_at(Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        let mut pong_deadline: Option<Instant> = None;
        loop {
            if self.done() {
                return self.finish(ws).await;
            }
            let must_flush = self.unflushed > 0;
            tokio::select! {
                biased;
                cmd = self.commands.recv(), if !self.handles_gone => match cmd {
                    None => self.handles_gone = true,
                    Some(cmd) => {
                        if let Some(frame) = self.command(cmd) {
                            if let Err(e) = self.write(ws, frame).await {
                                return SessionEnd::Lost(e);
                            }
                        }
                    }
                },
                msg = ws.next() => {
                    pong_deadline = None;
                    if let Some(end) = self.inbound(msg) {
                        return end;
                    }
                }
                _ = sleep_until(pong_deadline) => {
                    return SessionEnd::Lost(Error::KeepaliveTimeout(config.pong_timeout));
                }
                _ = tick(&mut ping) => {
                    if let Err(e) = ws.send(WsMessage::Ping(Default::default())).await {
                        return SessionEnd::Lost(map_ws_error(e));
                    }
                    self.unflushed = 0;
                    pong_deadline.get_or_insert(Instant::now() + config.pong_timeout);
                }
                _ = std::future::ready(()), if must_flush => {
                    if let Err(e) = ws.flush().await {
                        return SessionEnd::Lost(map_ws_error(e));
                    }
                    self.unflushed = 0;
                }
            }
        }
    }

    /// Takes a command; returns the frame to write now, if any (a send
    /// while connected). While disconnected the frame stays in `pending`
    /// and goes out with the re-sends.
    fn command(&mut self, cmd: Command) -> Option<Utf8Bytes> {
        match cmd {
            Command::Send {
                body,
                reply,
                permit,
            } => {
                if self.closing {
                    reply.settle(Err(Error::StreamClosed));
                    return None;
                }
                let seq = self.next_seq;
                self.next_seq += 1;
                let frame = Utf8Bytes::from(frame(seq, &body));
                self.pending.insert(
                    seq,
                    Pending {
                        frame: frame.clone(),
                        reply,
                        _permit: permit,
                    },
                );
                Some(frame)
            }
            Command::Flush(reply) => {
                if self.pending.is_empty() {
                    let _ = reply.send(Ok(()));
                } else {
                    self.flush_waiters.push((self.next_seq, reply));
                }
                None
            }
            Command::Close(reply) => {
                // Later sends, from clones, fail with StreamClosed.
                self.closing = true;
                self.shared.semaphore.close();
                self.close_waiters.push(reply);
                None
            }
        }
    }

    /// Queues a text frame; flushes when enough have piled up.
    async fn write(&mut self, ws: &mut Ws, frame: Utf8Bytes) -> Result<()> {
        self.shared.instruments.sent();
        ws.feed(WsMessage::Text(frame))
            .await
            .map_err(map_ws_error)?;
        self.unflushed += 1;
        if self.unflushed >= MAX_UNFLUSHED {
            ws.flush().await.map_err(map_ws_error)?;
            self.unflushed = 0;
        }
        Ok(())
    }

    fn inbound(
        &mut self,
        msg: Option<std::result::Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    ) -> Option<SessionEnd> {
        match msg {
            None => Some(SessionEnd::Lost(Error::Closed {
                code: 1006,
                reason: "connection dropped without a close frame".into(),
            })),
            Some(Err(e)) => Some(SessionEnd::Lost(map_ws_error(e))),
            Some(Ok(WsMessage::Text(text))) => {
                self.receipt(text.as_str());
                None
            }
            Some(Ok(WsMessage::Ping(_))) => {
                // tungstenite queued the pong; make sure it goes out.
                self.unflushed += 1;
                None
            }
            Some(Ok(WsMessage::Binary(data))) => {
                tracing::warn!(topic = %self.spec.topic, len = data.len(), "producer ignores a binary frame");
                None
            }
            Some(Ok(WsMessage::Pong(_) | WsMessage::Frame(_))) => None,
            Some(Ok(WsMessage::Close(frame))) => {
                let (code, reason) = match frame {
                    Some(f) => (u16::from(f.code), f.reason.to_string()),
                    None => (1005, String::new()),
                };
                Some(SessionEnd::Lost(Error::Closed { code, reason }))
            }
        }
    }

    /// Resolves the send a receipt belongs to.
    fn receipt(&mut self, text: &str) {
        let ack = match receipt::decode(text) {
            Ok(ack) => ack,
            Err(reason) => {
                tracing::warn!(topic = %self.spec.topic, %reason, "producer skips a frame that is not a receipt");
                return;
            }
        };
        let Some(pending) = ack.context.and_then(|seq| self.pending.remove(&seq)) else {
            // send-error:3 has no context; anything else is not ours (or a
            // duplicate): the sends it might concern stay pending.
            tracing::warn!(topic = %self.spec.topic, context = ?ack.context, outcome = ?ack.outcome, "producer receipt matches no pending send");
            return;
        };
        if let Err(error) = &ack.outcome {
            tracing::debug!(topic = %self.spec.topic, %error, "send refused");
        }
        self.shared.instruments.receipt(ack.outcome.is_ok());
        pending.reply.settle(ack.outcome);
        self.wake_flushers();
    }

    fn wake_flushers(&mut self) {
        if self.flush_waiters.is_empty() {
            return;
        }
        let oldest = self.pending.keys().next().copied().unwrap_or(u64::MAX);
        let mut kept = Vec::new();
        for (upto, reply) in std::mem::take(&mut self.flush_waiters) {
            if oldest >= upto {
                let _ = reply.send(Ok(()));
            } else {
                kept.push((upto, reply));
            }
        }
        self.flush_waiters = kept;
    }

    /// Waits out a reconnect delay while taking commands: `false` when the
    /// producer was closed meanwhile with nothing left to send.
    async fn wait(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            if self.done() {
                return false;
            }
            tokio::select! {
                _ = &mut sleep => return true,
                cmd = self.commands.recv(), if !self.handles_gone => match cmd {
                    None => self.handles_gone = true,
                    Some(cmd) => {
                        // A send is kept in `pending` for the next connection.
                        let _ = self.command(cmd);
                    }
                },
            }
        }
    }

    /// The policy gave up: every unconfirmed send, flush and close fails with
    /// the last connection error, and so does every later call.
    fn fail_all(&mut self, error: Error) {
        if let Ok(mut terminal) = self.shared.terminal.lock() {
            *terminal = Some(error.clone());
        }
        self.shared.semaphore.close();
        for (_, pending) in std::mem::take(&mut self.pending) {
            pending.reply.settle(Err(error.clone()));
        }
        self.commands.close();
        while let Ok(cmd) = self.commands.try_recv() {
            match cmd {
                Command::Send { reply, .. } => reply.settle(Err(error.clone())),
                Command::Flush(reply) | Command::Close(reply) => {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
        self.finished(Err(error));
    }

    /// Answers every flush and close waiter.
    fn finished(&mut self, result: Result<()>) {
        for (_, reply) in self.flush_waiters.drain(..) {
            let _ = reply.send(result.clone());
        }
        for reply in self.close_waiters.drain(..) {
            let _ = reply.send(result.clone());
        }
    }

    /// Everything is confirmed and the producer is closing: Close 1000, then
    /// a bounded wait for the server's Close.
    async fn finish(&mut self, ws: &mut Ws) -> SessionEnd {
        self.shared.semaphore.close();
        self.commands.close();
        while let Ok(cmd) = self.commands.try_recv() {
            match cmd {
                Command::Send { reply, .. } => reply.settle(Err(Error::StreamClosed)),
                Command::Flush(reply) | Command::Close(reply) => {
                    let _ = reply.send(Ok(()));
                }
            }
        }
        let timeout = self.spec.client.inner.close_timeout;
        let _ = tokio::time::timeout(timeout, async {
            let close = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            ws.send(WsMessage::Close(Some(close)))
                .await
                .map_err(map_ws_error)?;
            while let Some(msg) = ws.next().await {
                if matches!(msg, Ok(WsMessage::Close(_)) | Err(_)) {
                    break;
                }
            }
            Ok::<(), Error>(())
        })
        .await;
        tracing::debug!(topic = %self.spec.topic, "producer closed");
        self.finished(Ok(()));
        SessionEnd::Finished
    }
}
