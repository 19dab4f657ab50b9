//! The task that owns one stream's socket: reads, delivers, acks, pings and
//! reconnects.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::dial::{self, Ws, HEALTHY_AFTER};
use super::{map_ws_error, Command, Delivery, Queue, StreamSpec};
use crate::ack::{AckHandle, AckMode};
use crate::checkpoint::AckFloor;
use crate::connection_event::{ConnectionEvent, ConnectionEvents};
use crate::consumer::PullMode;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::message_id::MessageId;
use crate::stats::Instruments;
use crate::wire::{self, InFrame, Inbound};

/// Acks written but not flushed before the actor flushes anyway, so a busy
/// read side cannot hold acks back for long.
const MAX_UNFLUSHED: usize = 256;
/// Frames handled per read burst, at most, before the actor looks at its
/// commands and wakes the application: one wake per burst, not per event.
const READ_BATCH: usize = 32;
/// How many recently acknowledged ids a consumer remembers to drop their
/// redeliveries.
const RECENT_ACKS: usize = 4096;

enum SessionEnd {
    /// Closed by the application (close() or drop): the actor ends.
    Finished,
    /// The connection was lost: reconnect under the policy.
    Lost(Error),
}

pub(crate) struct Actor {
    spec: StreamSpec,
    queue: Arc<Queue>,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_tx: mpsc::UnboundedSender<Command>,
    next_seq: u64,
    /// First sequence number of the current connection.
    session_first_seq: u64,
    /// Delivered on this connection and not yet acked: dedups double acks.
    outstanding: HashSet<u64>,
    /// Consumers: ids handed out on this connection and not yet acked, with
    /// how many more copies the server sent meanwhile (a topic unload makes
    /// the proxy re-send unacked messages on the same session).
    in_hand: HashMap<Arc<str>, u32>,
    /// A delivery waiting for room in the channel; reading pauses meanwhile
    /// (only a server that ignores its window gets here).
    pending: Option<Delivery>,
    /// On-receive mode: the ack to send once `pending` is handed over.
    pending_ack: Option<Arc<str>>,
    end_of_topic_waiters: VecDeque<oneshot::Sender<Result<bool>>>,
    unflushed: usize,
    recent_acks: VecDeque<Arc<str>>,
    recent_ack_set: HashSet<Arc<str>>,
    /// Acks that arrived while disconnected (consumers send them after the
    /// reconnect: the broker still needs them).
    deferred: Vec<Command>,
    connection_events: ConnectionEvents,
    connections: u64,
    /// Readers with a checkpoint: what is safe to save.
    floor: Option<AckFloor>,
    /// Pull mode: permits granted and not yet used by a message.
    credit: u64,
    instruments: Arc<Instruments>,
}

impl Actor {
    pub(crate) fn new(
        spec: StreamSpec,
        queue: Arc<Queue>,
        commands: mpsc::UnboundedReceiver<Command>,
        commands_tx: mpsc::UnboundedSender<Command>,
        connection_events: ConnectionEvents,
        instruments: Arc<Instruments>,
    ) -> Self {
        let floor = match (&spec.checkpoint, spec.kind.is_reader()) {
            (Some((_, schedule)), true) => Some(AckFloor::new(*schedule)),
            _ => None,
        };
        Actor {
            spec,
            queue,
            commands,
            commands_tx,
            next_seq: 0,
            session_first_seq: 0,
            outstanding: HashSet::new(),
            in_hand: HashMap::new(),
            pending: None,
            pending_ack: None,
            end_of_topic_waiters: VecDeque::new(),
            unflushed: 0,
            recent_acks: VecDeque::new(),
            recent_ack_set: HashSet::new(),
            deferred: Vec::new(),
            connection_events,
            connections: 0,
            floor,
            credit: 0,
            instruments,
        }
    }

    fn is_reader(&self) -> bool {
        self.spec.kind.is_reader()
    }

    pub(crate) async fn run(mut self, first: Ws) {
        let last = self.serve(first).await;
        self.queue.finish_with(last.map(Delivery::Fatal));
    }

    /// Serves connections until the application closes the stream (`None`)
    /// or the policy gives up (the final error).
    async fn serve(&mut self, first: Ws) -> Option<Error> {
        let mut ws = first;
        let mut attempt: u32 = 0;
        loop {
            let started = Instant::now();
            let mut error = match self.session(&mut ws).await {
                SessionEnd::Finished => return None,
                SessionEnd::Lost(error) => error,
            };
            tracing::warn!(topic = %self.spec.label, %error, "connection lost");
            self.instruments.set_connected(false);
            self.connection_events.emit(ConnectionEvent::Disconnected {
                error: error.clone(),
            });
            for waiter in self.end_of_topic_waiters.drain(..) {
                let _ = waiter.send(Err(error.clone()));
            }
            if started.elapsed() >= HEALTHY_AFTER {
                attempt = 0;
            }
            // Fix the resume point: events not yet handed over are dropped
            // and re-read after the reconnect (an on-receive consumer keeps
            // them: they are acked and will not come again).
            let discard = self.is_reader() || self.spec.ack_mode != AckMode::OnReceive;
            let resume = self.queue.reset(discard);
            self.pending = None;
            self.pending_ack = None;
            ws = loop {
                attempt = attempt.saturating_add(1);
                let Some(delay) = self.spec.policy.next_delay(attempt, &error) else {
                    tracing::warn!(topic = %self.spec.label, %error, attempt, "giving up");
                    self.save_checkpoint(true).await;
                    self.connection_events.emit(ConnectionEvent::GaveUp {
                        error: error.clone(),
                    });
                    return Some(error);
                };
                tracing::info!(topic = %self.spec.label, attempt, ?delay, cause = %error, "reconnecting");
                self.connection_events
                    .emit(ConnectionEvent::Reconnecting { attempt, delay });
                if !self.wait(delay, &error).await {
                    return None;
                }
                let url = match dial::stream_url(&self.spec, resume.as_ref()) {
                    Ok(url) => url,
                    Err(e) => return Some(e),
                };
                match dial::dial(&self.spec.client.inner, url).await {
                    Ok(ws) => {
                        self.instruments.reconnected();
                        break ws;
                    }
                    Err(e) => {
                        self.instruments.handshake_failed(e.status());
                        tracing::info!(topic = %self.spec.label, attempt, error = %e, "reconnect failed");
                        error = e;
                    }
                }
            };
            tracing::info!(topic = %self.spec.label, "reconnected");
        }
    }

    /// Waits out a reconnect delay while still serving the application:
    /// `false` when it closed the stream meanwhile.
    async fn wait(&mut self, delay: Duration, error: &Error) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            if self.queue.receiver_gone() {
                return false;
            }
            self.queue.wake_receiver();
            tokio::select! {
                _ = &mut sleep => return true,
                _ = self.queue.changed() => {}
                cmd = self.commands.recv() => match cmd {
                    None => return false,
                    Some(Command::Close(reply)) => {
                        let _ = reply.send(Ok(()));
                        return false;
                    }
                    Some(Command::EndOfTopic(reply)) => {
                        let _ = reply.send(Err(error.clone()));
                    }
                    Some(Command::Unsubscribe(reply)) => {
                        let _ = reply.send(Err(error.clone()));
                    }
                    Some(Command::Permit(permits)) => {
                        // Re-granted on the next connection.
                        self.credit = self.credit.saturating_add(u64::from(permits));
                    }
                    Some(ack) => {
                        if !self.is_reader() {
                            self.deferred.push(ack);
                        }
                    }
                },
            }
        }
    }

    async fn session(&mut self, ws: &mut Ws) -> SessionEnd {
        self.connections += 1;
        self.instruments.set_connected(true);
        self.connection_events.emit(ConnectionEvent::Connected {
            connection: self.connections,
        });
        if let Some(floor) = &mut self.floor {
            floor.reset_connection();
        }
        self.outstanding.clear();
        self.in_hand.clear();
        self.session_first_seq = self.next_seq;
        self.unflushed = 0;
        for cmd in std::mem::take(&mut self.deferred) {
            if let Err(e) = self.command(ws, cmd).await {
                return SessionEnd::Lost(e);
            }
        }
        // A new connection starts without permits on the server's side.
        let regrant = match self.spec.pull {
            Some(PullMode::Manual) => std::mem::take(&mut self.credit),
            Some(PullMode::Automatic) => {
                self.credit = 0;
                0
            }
            None => 0,
        };
        if regrant > 0 {
            if let Err(e) = self.grant(ws, regrant).await {
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
        let stall_after = self.spec.no_events_timeout;
        let mut last_event = Instant::now();
        let mut save_tick = self.floor.as_ref().map(|f| {
            let every = f.schedule.every;
            let mut interval = tokio::time::interval_at(Instant::now() + every, every);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        loop {
            if self.queue.receiver_gone() {
                return self.finish(ws, None).await;
            }
            // Everything queued since the last turn becomes visible at once.
            self.queue.wake_receiver();
            if let Some(delivery) = self.pending.take() {
                match self.queue.try_push(delivery) {
                    Ok(queued) => {
                        self.instruments.buffered(queued);
                        if let Some(id) = self.pending_ack.take() {
                            if let Err(e) = self.write_ack(ws, Some(&id)).await {
                                return SessionEnd::Lost(e);
                            }
                        }
                    }
                    Err(delivery) => self.pending = Some(delivery),
                }
            }
            if let Err(e) = self.top_up(ws).await {
                return SessionEnd::Lost(e);
            }
            let has_pending = self.pending.is_some();
            let must_flush = self.unflushed > 0;
            if has_pending {
                // The application is busy: silence is not the server's fault.
                last_event = Instant::now();
            }
            let stall_deadline = stall_after.map(|d| last_event + d);
            tokio::select! {
                biased;
                cmd = self.commands.recv() => {
                    let Some(cmd) = cmd else { return self.finish(ws, None).await };
                    if let Command::Close(reply) = cmd {
                        return self.finish(ws, Some(reply)).await;
                    }
                    if let Command::Unsubscribe(reply) = cmd {
                        return self.unsubscribe(ws, reply).await;
                    }
                    if let Err(e) = self.command(ws, cmd).await {
                        return SessionEnd::Lost(e);
                    }
                }
                // Room in the queue, or the stream went away: loop and look.
                _ = self.queue.changed() => {}
                msg = ws.next(), if !has_pending => {
                    pong_deadline = None;
                    if matches!(msg, Some(Ok(Message::Text(_)))) {
                        last_event = Instant::now();
                    }
                    if let Some(end) = self.inbound(ws, msg).await {
                        return end;
                    }
                    // Then the frames that are already there, without waiting.
                    for _ in 1..READ_BATCH {
                        if self.pending.is_some() {
                            break;
                        }
                        let Some(msg) = ws.next().now_or_never() else {
                            break;
                        };
                        if let Some(end) = self.inbound(ws, msg).await {
                            return end;
                        }
                    }
                }
                _ = sleep_until(stall_deadline) => {
                    return SessionEnd::Lost(Error::Stalled(stall_after.unwrap_or_default()));
                }
                _ = tick(&mut save_tick) => self.save_checkpoint(false).await,
                // While reading is paused no pong can be seen: do not judge.
                _ = sleep_until(pong_deadline), if !has_pending => {
                    return SessionEnd::Lost(Error::KeepaliveTimeout(config.pong_timeout));
                }
                _ = tick(&mut ping) => {
                    let ping = ws.send(Message::Ping(Bytes::new()));
                    if let Err(e) = bounded(config.pong_timeout, ping).await {
                        return SessionEnd::Lost(e);
                    }
                    self.unflushed = 0;
                    pong_deadline.get_or_insert(Instant::now() + config.pong_timeout);
                }
                _ = std::future::ready(()), if must_flush => {
                    if let Err(e) = bounded(config.pong_timeout, ws.flush()).await {
                        return SessionEnd::Lost(e);
                    }
                    self.unflushed = 0;
                }
            }
        }
    }

    /// Handles an ack, nack or end-of-topic request.
    async fn command(&mut self, ws: &mut Ws, cmd: Command) -> Result<()> {
        let frame = match cmd {
            Command::Ack { seq, id } => {
                let current = self.outstanding.remove(&seq);
                // A consumer's ack of an event from an earlier connection
                // still matters to the broker (a reader's does not).
                let earlier = !self.is_reader()
                    && seq < self.session_first_seq
                    && !self.recent_ack_set.contains(&id);
                if !(current || earlier) {
                    return Ok(());
                }
                if let Some(floor) = &mut self.floor {
                    floor.acked(seq);
                }
                self.remember_ack(&id);
                // One ack per copy the server sent: each counts in its window.
                for _ in 0..self.in_hand.remove(&id).unwrap_or(0) {
                    self.write_ack(ws, Some(&id)).await?;
                }
                self.instruments.ack_sent();
                wire::ack_frame(&id)
            }
            Command::Nack { seq, id } => {
                if !self.outstanding.remove(&seq) && seq >= self.session_first_seq {
                    return Ok(());
                }
                for _ in 0..self.in_hand.remove(&id).unwrap_or(0) {
                    self.write_nack(ws, &id).await?;
                }
                self.instruments.nack_sent();
                wire::nack_frame(&id)
            }
            Command::EndOfTopic(reply) => {
                self.end_of_topic_waiters.push_back(reply);
                self.unflushed += MAX_UNFLUSHED; // answer promptly
                wire::end_of_topic_frame()
            }
            Command::Permit(permits) => {
                return self.grant(ws, u64::from(permits)).await;
            }
            Command::Unsubscribe(reply) => {
                let _ = reply.send(Err(Error::Unsupported("unsubscribe while closing")));
                return Ok(());
            }
            Command::Close(reply) => {
                let _ = reply.send(Ok(()));
                return Ok(());
            }
        };
        self.write(ws, frame).await
    }

    /// Grants the server `permits` more messages (pull mode), flushed now.
    async fn grant(&mut self, ws: &mut Ws, permits: u64) -> Result<()> {
        let mut left = permits;
        while left > 0 {
            let chunk = u32::try_from(left).unwrap_or(u32::MAX);
            self.write(ws, wire::permit_frame(chunk)).await?;
            self.credit = self.credit.saturating_add(u64::from(chunk));
            left -= u64::from(chunk);
        }
        bounded(self.write_limit(), ws.flush()).await?;
        self.unflushed = 0;
        Ok(())
    }

    /// Automatic pull mode: keeps permits plus queued events at the window,
    /// granting in batches of a quarter window (or whenever none are left).
    async fn top_up(&mut self, ws: &mut Ws) -> Result<()> {
        if self.spec.pull != Some(PullMode::Automatic) {
            return Ok(());
        }
        let window = self.spec.window as u64;
        let queued = self.queue.len() as u64 + u64::from(self.pending.is_some());
        let room = window.saturating_sub(queued + self.credit);
        let batch = (window / 4).max(1);
        if room >= batch || (room > 0 && self.credit == 0) {
            self.grant(ws, room).await?;
        }
        Ok(())
    }

    /// Deletes the subscription, then closes. The server answers nothing;
    /// when it refuses, it drops the connection (as a "JSON error"), so the
    /// echo of our Close 1000 is the proof of success (`protocol.md` §5.1).
    async fn unsubscribe(&mut self, ws: &mut Ws, reply: oneshot::Sender<Result<()>>) -> SessionEnd {
        let timeout = self.spec.client.inner.close_timeout;
        let result = tokio::time::timeout(timeout, async {
            while let Ok(cmd) = self.commands.try_recv() {
                match cmd {
                    Command::Ack { .. } | Command::Nack { .. } => self.command(ws, cmd).await?,
                    Command::EndOfTopic(other) => {
                        let _ = other.send(Err(Error::StreamClosed));
                    }
                    Command::Unsubscribe(other) | Command::Close(other) => {
                        let _ = other.send(Err(Error::StreamClosed));
                    }
                    Command::Permit(_) => {}
                }
            }
            self.write(ws, wire::unsubscribe_frame()).await?;
            let close = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            ws.send(Message::Close(Some(close)))
                .await
                .map_err(map_ws_error)?;
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(Message::Close(_)) => return Ok(()),
                    Ok(_) => continue,
                    Err(e) => return Err(map_ws_error(e)),
                }
            }
            Err(Error::Closed {
                code: 1006,
                reason: "connection dropped without a close frame".into(),
            })
        })
        .await;
        let result = match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::UnsubscribeFailed(format!(
                "the server dropped the connection ({e}); are other consumers still attached?"
            ))),
            Err(_) => Err(Error::UnsubscribeFailed(
                "no answer from the server in time".into(),
            )),
        };
        if result.is_ok() {
            tracing::info!(topic = %self.spec.label, "unsubscribed");
        }
        let _ = reply.send(result);
        SessionEnd::Finished
    }

    /// Queues an ack (`None`: a flow-control frame without id, for a reader
    /// frame that had none).
    async fn write_ack(&mut self, ws: &mut Ws, id: Option<&str>) -> Result<()> {
        self.instruments.ack_sent();
        let frame = match id {
            Some(id) => wire::ack_frame(id),
            None => "{}".to_string(),
        };
        self.write(ws, frame).await
    }

    async fn write_nack(&mut self, ws: &mut Ws, id: &str) -> Result<()> {
        self.instruments.nack_sent();
        self.write(ws, wire::nack_frame(id)).await
    }

    /// Queues a text frame; flushes when enough have piled up.
    async fn write(&mut self, ws: &mut Ws, frame: String) -> Result<()> {
        let limit = self.write_limit();
        bounded(limit, ws.feed(Message::Text(frame.into()))).await?;
        self.unflushed += 1;
        if self.unflushed >= MAX_UNFLUSHED {
            bounded(limit, ws.flush()).await?;
            self.unflushed = 0;
        }
        Ok(())
    }

    /// How long the server may take to accept what we write.
    fn write_limit(&self) -> Duration {
        self.spec.client.inner.pong_timeout
    }

    fn remember_ack(&mut self, id: &Arc<str>) {
        if self.is_reader() || !self.recent_ack_set.insert(id.clone()) {
            return;
        }
        self.recent_acks.push_back(id.clone());
        if self.recent_acks.len() > RECENT_ACKS {
            if let Some(old) = self.recent_acks.pop_front() {
                self.recent_ack_set.remove(&old);
            }
        }
    }

    async fn inbound(
        &mut self,
        ws: &mut Ws,
        msg: Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Option<SessionEnd> {
        let result = match msg {
            None => {
                return Some(SessionEnd::Lost(Error::Closed {
                    code: 1006,
                    reason: "connection dropped without a close frame".into(),
                }))
            }
            Some(Err(e)) => return Some(SessionEnd::Lost(map_ws_error(e))),
            Some(Ok(Message::Text(text))) => {
                self.instruments.bytes(text.len());
                self.text_frame(ws, text.as_str()).await
            }
            Some(Ok(Message::Binary(data))) => {
                self.instruments.bytes(data.len());
                self.instruments.decode_error();
                let error = Error::BinaryFrame { len: data.len() };
                self.deliver_error(error, None, None);
                Ok(())
            }
            Some(Ok(Message::Ping(_))) => {
                // tungstenite queued the pong; make sure it goes out.
                self.unflushed += 1;
                Ok(())
            }
            Some(Ok(Message::Pong(_))) | Some(Ok(Message::Frame(_))) => Ok(()),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = match frame {
                    Some(f) => (u16::from(f.code), f.reason.to_string()),
                    None => (1005, String::new()),
                };
                return Some(SessionEnd::Lost(Error::Closed { code, reason }));
            }
        };
        match result {
            Ok(()) if self.queue.receiver_gone() => Some(SessionEnd::Finished),
            Ok(()) => None,
            Err(e) => Some(SessionEnd::Lost(e)),
        }
    }

    async fn text_frame(&mut self, ws: &mut Ws, text: &str) -> Result<()> {
        let frame = match wire::parse(text) {
            Ok(frame) => frame,
            Err(e) => {
                if self.is_reader() {
                    // Any JSON frame counts as flow control on a reader.
                    self.write_ack(ws, None).await?;
                }
                self.instruments.decode_error();
                let error = Error::InvalidFrame {
                    reason: e.to_string(),
                };
                self.deliver_error(error, None, None);
                return Ok(());
            }
        };
        match wire::classify(frame) {
            Ok(Inbound::Message(frame)) => self.message(ws, frame).await,
            Ok(Inbound::EndOfTopic(end)) => {
                if let Some(waiter) = self.end_of_topic_waiters.pop_front() {
                    let _ = waiter.send(Ok(end));
                }
                Ok(())
            }
            Ok(Inbound::Control) => Ok(()),
            Err(error) => {
                let id = match &error {
                    Error::MissingField {
                        message_id: Some(id),
                        ..
                    } => Some(Arc::from(id.as_str())),
                    _ => None,
                };
                self.undecodable(ws, error, id).await
            }
        }
    }

    async fn message(&mut self, ws: &mut Ws, frame: InFrame<'_>) -> Result<()> {
        let track = !self.is_reader() && self.spec.ack_mode != AckMode::OnReceive;
        if let Some(id) = frame.message_id.as_deref() {
            if !self.is_reader() && self.recent_ack_set.contains(id) {
                // A redelivery of an event the application already acked (the
                // ack was lost with a connection): ack again, do not deliver.
                return self.write_ack(ws, Some(id)).await;
            }
            if track {
                if let Some(copies) = self.in_hand.get_mut(id) {
                    // Already handed out on this connection and not acked yet:
                    // the application has it; answer for this copy on its ack.
                    *copies += 1;
                    return Ok(());
                }
            }
        }
        let decoded = match wire::decode_message(frame) {
            Ok(decoded) => decoded,
            Err(bad) => return self.undecodable(ws, bad.error, bad.wire_id).await,
        };
        let wire::Decoded {
            wire_id,
            message_id,
            payload,
            properties,
            publish_time,
            event_time,
            key,
            redelivery_count,
        } = decoded;
        self.instruments.event_received(publish_time.as_deref());
        let seq = self.next_seq;
        self.next_seq += 1;
        self.credit = self.credit.saturating_sub(1);
        let on_receive = self.spec.ack_mode == AckMode::OnReceive;
        if on_receive {
            self.remember_ack(&wire_id);
        } else {
            self.outstanding.insert(seq);
        }
        if track {
            self.in_hand.insert(wire_id.clone(), 0);
        }
        if let Some(floor) = &mut self.floor {
            floor.delivered(seq, message_id.clone(), on_receive);
        }
        let handoff_ack = on_receive.then(|| wire_id.clone());
        let event = Event {
            message_id: message_id.clone(),
            payload,
            properties,
            publish_time,
            event_time,
            key,
            redelivery_count,
            topic: self.spec.topic.clone(),
            ack: AckHandle {
                seq,
                wire_id,
                message_id: Some(message_id),
                commands: self.commands_tx.clone(),
                can_nack: !self.is_reader(),
            },
        };
        let handed_over = self.deliver(Delivery::Event(event));
        // On-receive acks go out as the event enters the channel, so that the
        // server's window still bounds what is buffered here.
        match (handoff_ack, handed_over) {
            (Some(id), true) => self.write_ack(ws, Some(&id)).await,
            (Some(id), false) => {
                self.pending_ack = Some(id);
                Ok(())
            }
            (None, _) => Ok(()),
        }
    }

    /// A message frame that cannot become an event: the application gets one
    /// error item, and the server is answered so that nothing stalls.
    async fn undecodable(&mut self, ws: &mut Ws, error: Error, id: Option<Arc<str>>) -> Result<()> {
        tracing::debug!(topic = %self.spec.label, %error, "undecodable frame");
        self.instruments.decode_error();
        let Some(id) = id else {
            if self.is_reader() {
                self.write_ack(ws, None).await?;
            }
            self.deliver_error(error, None, None);
            return Ok(());
        };
        let position = MessageId::from_wire_arc(id.clone()).ok();
        if self.is_reader() {
            // The reader counts any JSON frame; echo the id only when it is
            // one (an unparsable id could make a strict server hang up).
            let echo = position.as_ref().map(|_| &*id);
            self.write_ack(ws, echo).await?;
            self.deliver_error(error, None, position);
            return Ok(());
        }
        match self.spec.ack_mode {
            AckMode::Auto => {
                // Acked when the application asks for the next item.
                let seq = self.next_seq;
                self.next_seq += 1;
                self.outstanding.insert(seq);
                self.deliver_error(error, Some((seq, id)), position);
            }
            AckMode::OnReceive => {
                self.remember_ack(&id);
                self.write_ack(ws, Some(&id)).await?;
                self.deliver_error(error, None, position);
            }
            AckMode::Manual => {
                // Nobody can ack it: let the broker redeliver it, and
                // dead-letter it when a dead-letter policy is set.
                self.write_nack(ws, &id).await?;
                self.deliver_error(error, None, position);
            }
        }
        Ok(())
    }

    fn deliver_error(
        &mut self,
        error: Error,
        ack: Option<(u64, Arc<str>)>,
        position: Option<MessageId>,
    ) {
        let _ = self.deliver(Delivery::Error {
            error,
            ack,
            position,
        });
    }

    /// Hands a delivery to the channel, or parks it (reading pauses until
    /// the application makes room).
    /// `true` when handed over now, `false` when parked.
    fn deliver(&mut self, delivery: Delivery) -> bool {
        match self.queue.try_push(delivery) {
            Ok(queued) => {
                self.instruments.buffered(queued);
                true
            }
            Err(delivery) => {
                self.pending = Some(delivery);
                false
            }
        }
    }

    /// Closes cleanly: pending acks out, Close 1000, then (bounded) wait for
    /// the server's Close.
    async fn finish(
        &mut self,
        ws: &mut Ws,
        reply: Option<oneshot::Sender<Result<()>>>,
    ) -> SessionEnd {
        let timeout = self.spec.client.inner.close_timeout;
        let result = tokio::time::timeout(timeout, async {
            while let Ok(cmd) = self.commands.try_recv() {
                match cmd {
                    Command::Close(other) => {
                        let _ = other.send(Ok(()));
                    }
                    Command::Unsubscribe(other) => {
                        let _ = other.send(Err(Error::StreamClosed));
                    }
                    cmd => self.command(ws, cmd).await?,
                }
            }
            ws.flush().await.map_err(map_ws_error)?;
            self.save_checkpoint(true).await;
            let close = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            ws.send(Message::Close(Some(close)))
                .await
                .map_err(map_ws_error)?;
            while let Some(msg) = ws.next().await {
                if matches!(msg, Ok(Message::Close(_)) | Err(_)) {
                    break;
                }
            }
            Ok::<(), Error>(())
        })
        .await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Ok(()), // the server did not answer in time; we are done anyway
        };
        self.instruments.set_connected(false);
        tracing::debug!(topic = %self.spec.label, "closed");
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
        SessionEnd::Finished
    }
}

impl Actor {
    /// Saves the ack floor when due; a failure is one error item for the
    /// application (the stream goes on).
    async fn save_checkpoint(&mut self, force: bool) {
        let (Some(floor), Some((checkpoint, _))) = (&mut self.floor, &self.spec.checkpoint) else {
            return;
        };
        let Some(id) = floor.due(force) else {
            return;
        };
        match checkpoint.save(&id).await {
            Ok(()) => {
                floor.saved();
                tracing::debug!(topic = %self.spec.label, %id, "checkpoint saved");
            }
            Err(error) => {
                tracing::warn!(topic = %self.spec.label, %error, "checkpoint not saved");
                self.deliver_error(error, None, None);
            }
        }
    }
}

/// A write that the server must take within `limit` (the pong timeout): a
/// server that stops reading while it keeps sending cannot block the stream
/// for good; the connection is dropped and re-established instead.
async fn bounded<T>(
    limit: Duration,
    write: impl std::future::Future<
        Output = std::result::Result<T, tokio_tungstenite::tungstenite::Error>,
    >,
) -> Result<T> {
    match tokio::time::timeout(limit, write).await {
        Ok(result) => result.map_err(map_ws_error),
        Err(_) => Err(Error::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the server has not read what the client wrote for {limit:?}"),
        ))),
    }
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
