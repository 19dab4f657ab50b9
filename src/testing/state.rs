//! The broker's state: topics, durable subscriptions and their cursors, connections, and the
//! record of everything the server saw. One `Mutex<State>` guards it all; every change goes
//! through [`Shared::with`], which dispatches, wakes the affected sessions and the waiters.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

use super::frames::{now_pulsar, Record};
use super::message_id;
use super::pattern::TopicPattern;
use super::producer::ReceiptFaults;
use super::types::{ClientClose, ClientFrame, Endpoint, Handshake, MockMessage};

/// `subscriptionType` (protocol.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubType {
    Exclusive,
    Shared,
    Failover,
    KeyShared,
}

/// How a consumer creates or joins a subscription (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SubSpec {
    pub(crate) sub_type: SubType,
    pub(crate) durable: bool,
    /// `subscriptionInitialPosition=Earliest` (else `Latest`), for a subscription it creates.
    pub(crate) earliest: bool,
}

/// A v3 pattern consumer (§1.2): topics created later that its pattern covers join its
/// subscription.
#[derive(Debug, Clone)]
pub(crate) struct PatternSub {
    pub(crate) pattern: TopicPattern,
    pub(crate) spec: SubSpec,
}

/// Where one message stands in one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MsgState {
    /// Waiting to be dispatched (first time or redelivery).
    Ready,
    /// Handed to connection `conn`; `seq` identifies this delivery (for the ack-timeout timer).
    InFlight { conn: u64, seq: u64 },
    /// Negatively acked, waiting for its redelivery timer `seq`.
    Delayed { seq: u64 },
    /// Acknowledged.
    Acked,
}

/// Per-subscription state of one message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SubMsg {
    pub(crate) state: MsgState,
    pub(crate) redeliveries: u32,
}

/// A subscription on a topic: the broker-side cursor.
#[derive(Debug)]
pub(crate) struct Sub {
    pub(crate) sub_type: SubType,
    pub(crate) durable: bool,
    /// Index of the first record the subscription covers (its initial position).
    pub(crate) start: usize,
    /// `msgs[i]` describes record `start + i`.
    pub(crate) msgs: Vec<SubMsg>,
    /// Record indexes ready to dispatch, in order.
    pub(crate) ready: BTreeSet<usize>,
    /// Attached consumer connections, in attach order (the first is the Exclusive/Failover owner).
    pub(crate) consumers: Vec<u64>,
    pub(crate) acked: usize,
    pub(crate) acks: Vec<String>,
    pub(crate) nacks: Vec<String>,
    pub(crate) rr: usize,
}

impl Sub {
    pub(crate) fn msg_mut(&mut self, idx: usize) -> Option<&mut SubMsg> {
        idx.checked_sub(self.start)
            .and_then(|i| self.msgs.get_mut(i))
    }
}

/// One topic: its log and its subscriptions.
#[derive(Debug, Default)]
pub(crate) struct Topic {
    pub(crate) records: Vec<Record>,
    pub(crate) ids: HashMap<String, usize>,
    pub(crate) ledger: u64,
    pub(crate) next_entry: u64,
    pub(crate) terminated: bool,
    pub(crate) subs: BTreeMap<String, Sub>,
}

/// Consumer options from the query (§2.1) that act after the handshake.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConsumerOpts {
    pub(crate) ack_timeout: Option<Duration>,
    pub(crate) nack_delay: Duration,
    pub(crate) max_redeliver: Option<u32>,
    pub(crate) dlq: String,
}

/// Something queued for a session to write.
#[derive(Debug)]
pub(crate) enum Out {
    /// A message frame (held back by `pause_delivery`, counted as delivered).
    Message(String),
    /// Any other frame (replies, injected frames, close).
    Frame(Message),
}

/// One open (upgraded) connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) endpoint: Endpoint,
    /// The topic of a reader, producer or v2 consumer; for a v3 consumer the first listed topic
    /// or the pattern as a topic name (what the real proxy logs and names the default DLQ after).
    pub(crate) topic: String,
    /// Consumers: every topic whose subscription `sub` this connection is attached to (one for
    /// v2; the listed or matching topics for v3).
    pub(crate) topics: Vec<String>,
    /// v3 pattern consumers: the pattern, to attach topics created later.
    pub(crate) pattern: Option<PatternSub>,
    pub(crate) sub: Option<String>,
    pub(crate) notify: Arc<Notify>,
    pub(crate) kill: watch::Sender<bool>,
    pub(crate) outbox: VecDeque<Out>,
    pub(crate) dirty: bool,
    /// In-flight counter of §6 (negative = pull-mode permits left).
    pub(crate) counter: i64,
    pub(crate) max_pending: i64,
    pub(crate) pull: bool,
    /// Reader: index of the next record to send.
    pub(crate) cursor: usize,
    pub(crate) opts: ConsumerOpts,
    /// After `unsubscribe`: open and silent (§6.3).
    pub(crate) silent: bool,
    /// Producer: `producerName`, unique per topic among open producers (409 otherwise).
    pub(crate) producer_name: Option<String>,
    /// Producer acks held back by the receipt faults, in arrival order.
    pub(crate) held_receipts: Vec<String>,
}

impl Conn {
    /// A new connection record for `endpoint` on `topic`.
    pub(crate) fn new(endpoint: Endpoint, topic: String, kill: watch::Sender<bool>) -> Conn {
        Conn {
            endpoint,
            topics: vec![topic.clone()],
            topic,
            pattern: None,
            sub: None,
            notify: Arc::new(Notify::new()),
            kill,
            outbox: VecDeque::new(),
            dirty: false,
            counter: 0,
            max_pending: 1000,
            pull: false,
            cursor: 0,
            opts: ConsumerOpts::default(),
            silent: false,
            producer_name: None,
            held_receipts: Vec::new(),
        }
    }

    /// How many more messages may be handed to this connection now (§6.1, §6.2).
    pub(crate) fn capacity(&self) -> i64 {
        if self.silent {
            0
        } else if self.pull {
            (-self.counter).max(0)
        } else {
            (self.max_pending - self.counter).max(0)
        }
    }

    pub(crate) fn push(&mut self, out: Out) {
        self.outbox.push_back(out);
        self.dirty = true;
    }
}

/// A redelivery timer to start once the lock is released.
#[derive(Debug, Clone)]
pub(crate) struct Timer {
    pub(crate) delay: Duration,
    pub(crate) topic: String,
    pub(crate) sub: String,
    pub(crate) idx: usize,
    /// Fires only if the message is still `InFlight`/`Delayed` with this seq.
    pub(crate) seq: u64,
    pub(crate) max_redeliver: Option<u32>,
    pub(crate) dlq: String,
}

/// Fault-injection and auth settings.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) fail: Option<(u16, String, usize)>,
    pub(crate) delay: Option<Duration>,
    pub(crate) api_key: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) forbidden: BTreeSet<String>,
    pub(crate) must_exist: bool,
}

/// Everything behind the lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) topics: BTreeMap<String, Topic>,
    pub(crate) conns: BTreeMap<u64, Conn>,
    pub(crate) handshakes: Vec<Handshake>,
    pub(crate) commands: Vec<ClientFrame>,
    pub(crate) closes: Vec<ClientClose>,
    pub(crate) delivered: usize,
    pub(crate) drop_at: Option<usize>,
    pub(crate) paused: bool,
    pub(crate) frozen: bool,
    pub(crate) faults: Faults,
    pub(crate) receipts: ReceiptFaults,
    pub(crate) timers: Vec<Timer>,
    pub(crate) seq: u64,
    pub(crate) next_ledger: u64,
    pub(crate) next_conn: u64,
    pub(crate) accept_stopped: bool,
    /// Rotates the topic a dispatch round starts with, so that a v3 consumer's topics share its
    /// window fairly.
    pub(crate) pump_rr: usize,
}

impl State {
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The topic, created (empty) when missing. A new topic joins the subscription of every
    /// v3 pattern consumer whose pattern covers it.
    pub(crate) fn topic_mut(&mut self, name: &str) -> &mut Topic {
        if !self.topics.contains_key(name) {
            self.next_ledger += 1;
            let t = Topic {
                ledger: self.next_ledger,
                ..Topic::default()
            };
            self.topics.insert(name.to_string(), t);
            self.discover(name);
        }
        self.topics.entry(name.to_string()).or_default()
    }

    /// Attaches the pattern consumers that cover the new topic `name` (the broker's topic-list
    /// watcher does this on the real server, within about a second).
    fn discover(&mut self, name: &str) {
        let joining: Vec<(u64, String, SubSpec)> = self
            .conns
            .iter()
            .filter_map(|(id, c)| {
                let p = c.pattern.as_ref()?;
                let sub = c.sub.clone()?;
                p.pattern.covers(name).then_some((*id, sub, p.spec))
            })
            .collect();
        for (id, sub, spec) in joining {
            // Another consumer may hold that subscription exclusively: the real proxy's
            // consumer then fails on that topic only (and logs it).
            if self.sub_conflict(name, &sub, spec).is_ok() {
                self.join_sub(name, &sub, spec, id);
                if let Some(c) = self.conns.get_mut(&id) {
                    c.topics.push(name.to_string());
                }
            }
        }
    }

    /// Why consumer `spec` may not attach to subscription `sub` of `topic` now (409), if so.
    pub(crate) fn sub_conflict(&self, topic: &str, sub: &str, spec: SubSpec) -> Result<(), String> {
        let Some(s) = self.topics.get(topic).and_then(|t| t.subs.get(sub)) else {
            return Ok(());
        };
        if s.consumers.is_empty() {
            return Ok(());
        }
        if s.sub_type != spec.sub_type {
            return Err("Failed to create consumer: Subscription is of different type".into());
        }
        if s.sub_type == SubType::Exclusive {
            return Err(
                "Failed to create consumer: Exclusive consumer is already connected".into(),
            );
        }
        Ok(())
    }

    /// Attaches connection `id` to subscription `sub_name` of `topic`, creating the topic and the
    /// subscription (at its initial position) when missing. Check [`State::sub_conflict`] first.
    pub(crate) fn join_sub(&mut self, topic: &str, sub_name: &str, spec: SubSpec, id: u64) {
        let t = self.topic_mut(topic);
        let len = t.records.len();
        let sub = t.subs.entry(sub_name.to_string()).or_insert_with(|| {
            let start = if spec.earliest { 0 } else { len };
            Sub {
                sub_type: spec.sub_type,
                durable: spec.durable,
                start,
                msgs: vec![
                    SubMsg {
                        state: MsgState::Ready,
                        redeliveries: 0
                    };
                    len - start
                ],
                ready: (start..len).collect(),
                consumers: Vec::new(),
                acked: 0,
                acks: Vec::new(),
                nacks: Vec::new(),
                rr: 0,
            }
        });
        sub.sub_type = spec.sub_type;
        sub.consumers.push(id);
    }

    /// Appends a message to `topic` and makes it ready on every subscription (§9 ids).
    pub(crate) fn append(&mut self, topic: &str, msg: MockMessage) -> String {
        let t = self.topic_mut(topic);
        let entry = t.next_entry;
        t.next_entry += 1;
        let wire_id = message_id::encode(t.ledger, entry);
        let idx = t.records.len();
        t.records.push(Record {
            ledger: t.ledger,
            entry,
            wire_id: wire_id.clone(),
            payload: msg.payload,
            key: msg.key,
            properties: msg.properties,
            publish_time: msg.publish_time.unwrap_or_else(now_pulsar),
            event_time: msg.event_time,
        });
        t.ids.insert(wire_id.clone(), idx);
        for sub in t.subs.values_mut() {
            sub.msgs.push(SubMsg {
                state: MsgState::Ready,
                redeliveries: 0,
            });
            sub.ready.insert(idx);
        }
        wire_id
    }

    /// Removes a connection. A consumer's unacked messages become ready again, with
    /// `redeliveryCount + 1` when `bump` (a consumer disconnect), unchanged otherwise (restart).
    pub(crate) fn remove_conn(&mut self, id: u64, bump: bool) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        let _ = conn.kill.send(true);
        let Some(sub_name) = conn.sub else { return };
        for name in &conn.topics {
            let Some(topic) = self.topics.get_mut(name) else {
                continue;
            };
            let Some(sub) = topic.subs.get_mut(&sub_name) else {
                continue;
            };
            sub.consumers.retain(|c| *c != id);
            let start = sub.start;
            for (i, m) in sub.msgs.iter_mut().enumerate() {
                if matches!(m.state, MsgState::InFlight { conn, .. } if conn == id) {
                    m.state = MsgState::Ready;
                    if bump {
                        m.redeliveries += 1;
                    }
                    sub.ready.insert(start + i);
                }
            }
            if !sub.durable && sub.consumers.is_empty() {
                topic.subs.remove(&sub_name);
            }
        }
    }

    /// Abruptly drops every open connection.
    pub(crate) fn drop_all(&mut self) {
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for id in ids {
            self.remove_conn(id, true);
        }
    }

    /// A broker restart: connections dropped, in-memory state (redelivery counts, nack timers,
    /// non-durable subscriptions) forgotten, each topic rolls over to a new ledger.
    pub(crate) fn restart(&mut self) {
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        for id in ids {
            self.remove_conn(id, false);
        }
        for t in self.topics.values_mut() {
            self.next_ledger += 1;
            t.ledger = self.next_ledger;
            t.next_entry = 0;
            t.subs.retain(|_, s| s.durable);
            for sub in t.subs.values_mut() {
                let start = sub.start;
                for (i, m) in sub.msgs.iter_mut().enumerate() {
                    m.redeliveries = 0;
                    if matches!(m.state, MsgState::Delayed { .. }) {
                        m.state = MsgState::Ready;
                        sub.ready.insert(start + i);
                    }
                }
            }
        }
    }
}

/// The state plus the wake-up machinery, shared by the handles, the accept loop and sessions.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    version: watch::Sender<u64>,
    pub(crate) shutdown: watch::Sender<bool>,
    rt: tokio::runtime::Handle,
    me: Weak<Shared>,
}

impl Shared {
    pub(crate) fn new(rt: tokio::runtime::Handle) -> Arc<Shared> {
        Arc::new_cyclic(|me| Shared {
            state: Mutex::new(State {
                next_ledger: 100,
                ..State::default()
            }),
            version: watch::channel(0).0,
            shutdown: watch::channel(false).0,
            rt,
            me: me.clone(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the state.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the state, then dispatches, wakes sessions with new output, starts timers and
    /// wakes the waiters.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let (r, timers) = {
            let mut st = self.lock();
            let r = f(&mut st);
            st.pump();
            for c in st.conns.values_mut() {
                if std::mem::take(&mut c.dirty) {
                    c.notify.notify_one();
                }
            }
            (r, std::mem::take(&mut st.timers))
        };
        self.version.send_modify(|v| *v = v.wrapping_add(1));
        self.spawn_timers(timers);
        r
    }

    fn spawn_timers(&self, timers: Vec<Timer>) {
        for t in timers {
            let me = self.me.clone();
            self.rt.spawn(async move {
                tokio::time::sleep(t.delay).await;
                if let Some(shared) = me.upgrade() {
                    shared.fire(&t);
                }
            });
        }
    }

    fn fire(&self, t: &Timer) {
        self.with(|st| st.timer_fired(t));
    }

    /// Wakes every session (after a global flag such as pause or freeze changed).
    pub(crate) fn wake_all(&self) {
        self.with(|st| {
            for c in st.conns.values_mut() {
                c.dirty = true;
            }
        });
    }

    /// Waits until `cond` holds; never times out by itself.
    pub(crate) async fn wait_until(&self, cond: impl Fn(&State) -> bool) {
        let mut rx = self.version.subscribe();
        loop {
            if self.read(&cond) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
