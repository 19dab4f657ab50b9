//! The task that owns one stream's socket: reads, delivers, acks, pings and
//! reconnects.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::dial::{self, Ws, HEALTHY_AFTER};
use super::timers::{sleep_until, tick};
use super::{map_ws_error, Command, CommandSender, Delivery, Queue, StreamSpec};
use crate::ack::{AckHandle, AckMode};
use crate::checkpoint::AckFloor;
use crate::connection_event::{ConnectionEvent, ConnectionEvents};
use crate::consumer::PullMode;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::message_id::MessageId;
use crate::stats::Instruments;
use crate::wire::{self, InFrame, Inbound};

mod closing;
mod inbound;
mod outbound;

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
    /// For the ack handles of the events it delivers; its `AckSignal`
    /// counts the acks sent since the actor last took its commands.
    commands_tx: CommandSender,
    /// Ack grouping: while `Some`, the actor does not wait on its commands,
    /// so that an ack does not wake it; it takes them all at this instant,
    /// when a quarter window of acks is waiting, or when another command
    /// arrives (`AckSignal::urgent`).
    ack_group_until: Option<Instant>,
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
    /// The queue's length after the last push, not yet given to the
    /// `events_buffered` gauge: reported once per turn of the session loop
    /// (once per read burst), not once per event.
    unreported_buffered: Option<usize>,
}

impl Actor {
    pub(crate) fn new(
        spec: StreamSpec,
        queue: Arc<Queue>,
        commands: mpsc::UnboundedReceiver<Command>,
        commands_tx: CommandSender,
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
            ack_group_until: None,
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
            unreported_buffered: None,
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
            let end = self.session(&mut ws).await;
            self.report_buffered();
            let mut error = match end {
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

    /// Handles one command; `Some` when it ends the session.
    async fn take_command(&mut self, ws: &mut Ws, cmd: Command) -> Option<SessionEnd> {
        match cmd {
            Command::Close(reply) => Some(self.finish(ws, Some(reply)).await),
            Command::Unsubscribe(reply) => Some(self.unsubscribe(ws, reply).await),
            cmd => self.command(ws, cmd).await.err().map(SessionEnd::Lost),
        }
    }

    /// Ends an ack group: takes every command queued meanwhile, in order,
    /// and writes what they produced in one flush.
    async fn end_ack_group(&mut self, ws: &mut Ws) -> Option<SessionEnd> {
        self.ack_group_until = None;
        self.commands_tx.signal().taken();
        while let Ok(cmd) = self.commands.try_recv() {
            if let Some(end) = self.take_command(ws, cmd).await {
                return Some(end);
            }
        }
        if self.unflushed > 0 {
            if let Err(e) = bounded(self.write_limit(), ws.flush()).await {
                return Some(SessionEnd::Lost(e));
            }
            self.unflushed = 0;
        }
        None
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
        self.ack_group_until = None;
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
                        self.unreported_buffered = Some(queued);
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
            let grouping = self.ack_group_until.is_some();
            // While acks are grouped, what was written waits for the group's
            // end (or a full write buffer): one write for the whole group.
            let must_flush = self.unflushed > 0 && !grouping;
            if has_pending {
                // The application is busy: silence is not the server's fault.
                last_event = Instant::now();
            }
            let stall_deadline = stall_after.map(|d| last_event + d);
            self.report_buffered();
            tokio::select! {
                biased;
                cmd = self.commands.recv(), if !grouping => {
                    let Some(cmd) = cmd else { return self.finish(ws, None).await };
                    let is_ack = matches!(cmd, Command::Ack { .. } | Command::Nack { .. });
                    if let Some(end) = self.take_command(ws, cmd).await {
                        return end;
                    }
                    if is_ack && !self.spec.ack_group_time.is_zero() {
                        // The acks that follow wait in the channel without
                        // waking this task, until the group ends.
                        self.ack_group_until = Some(Instant::now() + self.spec.ack_group_time);
                    }
                }
                _ = self.commands_tx.signal().batch_ready(), if grouping => {
                    if let Some(end) = self.end_ack_group(ws).await {
                        return end;
                    }
                }
                _ = sleep_until(self.ack_group_until) => {
                    if let Some(end) = self.end_ack_group(ws).await {
                        return end;
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
