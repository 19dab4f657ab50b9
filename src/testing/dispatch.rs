//! Dispatch and client commands: flow control (protocol.md §6), acks and nacks (§5.1), reader
//! frames (§5.2), redelivery, dead-lettering and end-of-topic (§4.2).

use std::collections::BTreeMap;

use tokio_tungstenite::tungstenite::Message;

use super::frames::{end_of_topic_frame, message_frame, Record};
use super::state::{Conn, MsgState, Out, State, Sub, SubType, Timer, Topic};
use super::types::{Endpoint, MockMessage};

/// What a session has to write next.
#[derive(Debug, Default)]
pub(crate) struct Work {
    pub(crate) frames: Vec<Out>,
    /// Write `frames`, then drop the socket (`drop_after_delivered` reached).
    pub(crate) drop_after: bool,
    /// `freeze(true)`: neither read nor write.
    pub(crate) frozen: bool,
    /// The connection was removed from the state: stop.
    pub(crate) gone: bool,
}

/// A stable FNV-1a hash, so that Key_Shared routing is deterministic.
fn key_hash(key: Option<&str>) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.unwrap_or("").bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h as usize
}

fn pump_sub(
    topic: &str,
    name: &str,
    sub: &mut Sub,
    records: &[Record],
    conns: &mut BTreeMap<u64, Conn>,
    timers: &mut Vec<Timer>,
    seq: &mut u64,
) {
    if sub.consumers.is_empty() || sub.ready.is_empty() {
        return;
    }
    let n = sub.consumers.len();
    let mut cap: Vec<i64> = sub
        .consumers
        .iter()
        .map(|c| conns.get(c).map_or(0, Conn::capacity))
        .collect();
    let mut assigned: Vec<(usize, usize)> = Vec::new();
    for &idx in &sub.ready {
        if cap.iter().all(|c| *c <= 0) {
            break;
        }
        let k = match sub.sub_type {
            // Exclusive and Failover: only the first attached consumer receives (§2.1).
            SubType::Exclusive | SubType::Failover => {
                if cap[0] <= 0 {
                    break;
                }
                0
            }
            SubType::Shared => match (0..n).map(|j| (sub.rr + j) % n).find(|k| cap[*k] > 0) {
                Some(k) => {
                    sub.rr = k + 1;
                    k
                }
                None => break,
            },
            SubType::KeyShared => {
                let key = records.get(idx).and_then(|r| r.key.as_deref());
                let k = key_hash(key) % n;
                if cap[k] <= 0 {
                    continue; // that consumer is full: keep the message for it, go on with others
                }
                k
            }
        };
        cap[k] -= 1;
        assigned.push((idx, k));
    }
    for (idx, k) in assigned {
        let (Some(record), Some(conn)) = (records.get(idx), conns.get_mut(&sub.consumers[k]))
        else {
            continue;
        };
        let conn_id = sub.consumers[k];
        sub.ready.remove(&idx);
        *seq += 1;
        let Some(m) = sub.msg_mut(idx) else { continue };
        m.state = MsgState::InFlight {
            conn: conn_id,
            seq: *seq,
        };
        let frame = message_frame(record, m.redeliveries);
        conn.push(Out::Message(frame));
        conn.counter += 1;
        if let Some(delay) = conn.opts.ack_timeout {
            timers.push(Timer {
                delay,
                topic: topic.to_string(),
                sub: name.to_string(),
                idx,
                seq: *seq,
                max_redeliver: conn.opts.max_redeliver,
                dlq: conn.opts.dlq.clone(),
            });
        }
    }
}

impl State {
    /// Hands ready messages to connections with room in their window (§6).
    pub(crate) fn pump(&mut self) {
        if self.paused {
            return;
        }
        let State {
            topics,
            conns,
            timers,
            seq,
            pump_rr,
            ..
        } = self;
        // Each round starts with the next topic, so that the topics of a v3 consumer share its
        // window instead of the first one filling it for as long as it has messages.
        *pump_rr = pump_rr.wrapping_add(1);
        let first = match topics.len() {
            0 => None,
            n => topics.keys().nth(*pump_rr % n).cloned(),
        };
        if let Some(first) = first {
            for (tname, topic) in topics.range_mut(first.clone()..) {
                for (sname, sub) in topic.subs.iter_mut() {
                    pump_sub(tname, sname, sub, &topic.records, conns, timers, seq);
                }
            }
            for (tname, topic) in topics.range_mut(..first) {
                for (sname, sub) in topic.subs.iter_mut() {
                    pump_sub(tname, sname, sub, &topic.records, conns, timers, seq);
                }
            }
        }
        for conn in conns.values_mut() {
            if conn.endpoint != Endpoint::Reader {
                continue;
            }
            let Some(topic) = topics.get(&conn.topic) else {
                continue;
            };
            while conn.capacity() > 0 {
                let Some(r) = topic.records.get(conn.cursor) else {
                    break;
                };
                // Readers always see redeliveryCount 0 (§4.1).
                conn.push(Out::Message(message_frame(r, 0)));
                conn.counter += 1;
                conn.cursor += 1;
            }
        }
    }

    /// Takes what connection `id` should write now.
    pub(crate) fn take_work(&mut self, id: u64) -> Work {
        let (paused, frozen) = (self.paused, self.frozen);
        let Some(conn) = self.conns.get_mut(&id) else {
            return Work {
                gone: true,
                ..Work::default()
            };
        };
        let mut work = Work {
            frozen,
            ..Work::default()
        };
        if frozen {
            return work;
        }
        let mut kept = std::collections::VecDeque::new();
        while let Some(out) = conn.outbox.pop_front() {
            match out {
                Out::Message(m) if paused || work.drop_after => kept.push_back(Out::Message(m)),
                Out::Message(m) => {
                    self.delivered += 1;
                    work.frames.push(Out::Message(m));
                    if self.drop_at.is_some_and(|at| self.delivered >= at) {
                        self.drop_at = None;
                        work.drop_after = true;
                    }
                }
                frame @ Out::Frame(_) => work.frames.push(frame),
            }
        }
        conn.outbox = kept;
        if work.drop_after {
            let others: Vec<u64> = self.conns.keys().copied().filter(|c| *c != id).collect();
            for other in others {
                self.remove_conn(other, true);
            }
        }
        work
    }

    /// Arms `drop_after_delivered(n)`.
    pub(crate) fn arm_drop(&mut self, n: usize) {
        if n == 0 {
            self.drop_at = None;
            self.drop_all();
        } else {
            self.drop_at = Some(self.delivered + n);
        }
    }

    /// A reader's JSON frame other than `isEndOfTopic`: one less in flight (§5.2).
    pub(crate) fn reader_frame(&mut self, id: u64) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.counter -= 1;
        }
    }

    /// The topic of consumer connection `id` that a command on id `wire` concerns: the one whose
    /// log holds that id (ids are unique across topics: each topic writes its own ledgers); a v2
    /// consumer's own topic also for an id it does not know. `None`: a v3 consumer and an id of
    /// none of its topics (the real proxy cannot route such an ack either).
    fn command_topic(&self, id: u64, wire: &str) -> Option<String> {
        let conn = self.conns.get(&id)?;
        conn.topics
            .iter()
            .find(|t| {
                self.topics
                    .get(*t)
                    .is_some_and(|t| t.ids.contains_key(wire))
            })
            .or_else(|| {
                (conn.endpoint == Endpoint::Consumer)
                    .then(|| conn.topics.first())
                    .flatten()
            })
            .cloned()
    }

    /// A consumer ack (§5.1): matched by exact string and routed to the topic that holds the id;
    /// lowers the counter in push mode even for unknown or duplicate ids (§6.1).
    pub(crate) fn ack(&mut self, id: u64, wire: &str) {
        let target = self.command_topic(id, wire);
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(sub_name) = conn.sub.clone() else {
            return;
        };
        if !conn.pull {
            conn.counter -= 1;
        }
        let Some(Topic { subs, ids, .. }) = target.and_then(|t| self.topics.get_mut(&t)) else {
            return;
        };
        let Some(sub) = subs.get_mut(&sub_name) else {
            return;
        };
        sub.acks.push(wire.to_string());
        let Some(&idx) = ids.get(wire) else { return };
        let Some(m) = sub.msg_mut(idx) else { return };
        if m.state != MsgState::Acked {
            m.state = MsgState::Acked;
            sub.acked += 1;
            sub.ready.remove(&idx);
        }
    }

    /// `negativeAcknowledge` (§5.1): redelivered after `negativeAckRedeliveryDelay`.
    pub(crate) fn nack(&mut self, id: u64, wire: &str) {
        let seq = self.next_seq();
        let target = self.command_topic(id, wire);
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(sub_name) = conn.sub.clone() else {
            return;
        };
        if !conn.pull {
            conn.counter -= 1;
        }
        let opts = conn.opts.clone();
        let Some(topic) = target else { return };
        let Some(Topic { subs, ids, .. }) = self.topics.get_mut(&topic) else {
            return;
        };
        let Some(sub) = subs.get_mut(&sub_name) else {
            return;
        };
        sub.nacks.push(wire.to_string());
        let Some(&idx) = ids.get(wire) else { return };
        let Some(m) = sub.msg_mut(idx) else { return };
        if matches!(m.state, MsgState::Ready | MsgState::InFlight { .. }) {
            m.state = MsgState::Delayed { seq };
            sub.ready.remove(&idx);
            self.timers.push(Timer {
                delay: opts.nack_delay,
                topic,
                sub: sub_name,
                idx,
                seq,
                max_redeliver: opts.max_redeliver,
                dlq: opts.dlq,
            });
        }
    }

    /// A nack or ack-timeout timer fired: redeliver with `redeliveryCount + 1`, or dead-letter
    /// the message once that count would exceed `maxRedeliverCount`.
    pub(crate) fn timer_fired(&mut self, t: &Timer) {
        let Some(topic) = self.topics.get_mut(&t.topic) else {
            return;
        };
        let record = topic.records.get(t.idx).cloned();
        let Some(sub) = topic.subs.get_mut(&t.sub) else {
            return;
        };
        let Some(m) = sub.msg_mut(t.idx) else { return };
        let live = match m.state {
            MsgState::InFlight { seq, .. } | MsgState::Delayed { seq } => seq == t.seq,
            _ => false,
        };
        if !live {
            return;
        }
        if t.max_redeliver.is_some_and(|max| m.redeliveries >= max) {
            m.state = MsgState::Acked;
            sub.acked += 1;
            if let Some(r) = record {
                let mut msg = MockMessage::new(r.payload);
                msg.key = r.key;
                msg.properties = r.properties;
                msg.event_time = r.event_time;
                msg.properties.insert("REAL_TOPIC".into(), t.topic.clone());
                msg.properties.insert(
                    "ORIGIN_MESSAGE_ID".into(),
                    format!("{}:{}:-1", r.ledger, r.entry),
                );
                self.append(&t.dlq, msg);
            }
        } else {
            m.redeliveries += 1;
            m.state = MsgState::Ready;
            sub.ready.insert(t.idx);
        }
    }

    /// `permit` (§6.2): adds permits in pull mode, ignored in push mode.
    pub(crate) fn permit(&mut self, id: u64, n: i64) {
        if let Some(c) = self.conns.get_mut(&id) {
            if c.pull {
                c.counter = c.counter.saturating_sub(n);
            }
        }
    }

    /// `unsubscribe` (§5.1): `false` when other consumers are attached (the session then
    /// closes as error 3). On success the connection stays open and silent (§6.3).
    pub(crate) fn unsubscribe(&mut self, id: u64) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else {
            return true;
        };
        let Some(sub_name) = conn.sub.clone() else {
            return true;
        };
        // A v3 consumer unsubscribes on every topic, and only if it is alone on each.
        let busy = conn.topics.iter().any(|t| {
            self.topics
                .get(t)
                .and_then(|t| t.subs.get(&sub_name))
                .is_some_and(|s| s.consumers != [id])
        });
        if busy {
            return false;
        }
        for t in &conn.topics {
            if let Some(topic) = self.topics.get_mut(t) {
                topic.subs.remove(&sub_name);
            }
        }
        conn.sub = None;
        conn.pattern = None;
        conn.silent = true;
        conn.outbox.retain(|o| !matches!(o, Out::Message(_)));
        true
    }

    /// `isEndOfTopic` (§4.2): true once the topic is terminated and everything was dispatched
    /// to this reader / on this subscription. The reply is queued behind earlier frames.
    pub(crate) fn end_of_topic(&mut self, id: u64) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let end = match conn.endpoint {
            Endpoint::Reader => self
                .topics
                .get(&conn.topic)
                .is_some_and(|t| t.terminated && conn.cursor >= t.records.len()),
            // A v3 consumer: every one of its topics (true for none at all, as on the real
            // server for a pattern that matches nothing).
            _ => conn.topics.iter().all(|name| {
                self.topics.get(name).is_some_and(|t| {
                    t.terminated
                        && conn
                            .sub
                            .as_ref()
                            .is_none_or(|s| t.subs.get(s).is_none_or(|s| s.ready.is_empty()))
                })
            }),
        };
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.push(Out::Frame(Message::text(end_of_topic_frame(end))));
        }
    }
}
