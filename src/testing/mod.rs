//! `MockPulsar`: an in-process fake of Apache Pulsar's WebSocket proxy, for tests.
//!
//! It speaks the wire protocol of the real proxy (the project's `protocol.md`): the v2 reader,
//! consumer and producer endpoints and the v3 multi-topic consumer, handshake statuses, message
//! frames, flow-control windows,
//! durable subscriptions with acks, nacks, redelivery and dead-lettering, and the real server's
//! odd ways of closing. Every fault is scriptable and everything the server saw is recorded, so
//! tests assert without sleeping: each `wait_for_*` method waits until a condition holds (wrap
//! it in [`tokio::time::timeout`]).
//!
//! The mock is written from the protocol description alone and shares no code with the client.
//!
//! ```no_run
//! use pulsar_eventstream::testing::{MockMessage, MockPulsar};
//! # async fn demo() -> std::io::Result<()> {
//! let pulsar = MockPulsar::start().await?;
//! let topic = "persistent://tenant/ns/events";
//! let first = pulsar.publish(topic, MockMessage::new(r#"{"n":1}"#).key("k"));
//! // connect a client to pulsar.service_url() at
//! //   /ws/v2/consumer/persistent/tenant/ns/events/my-sub?subscriptionInitialPosition=Earliest
//! pulsar.wait_for_acks(topic, "my-sub", 1).await;
//! assert_eq!(pulsar.acks(topic, "my-sub"), vec![first]);
//! assert_eq!(pulsar.backlog(topic, "my-sub"), Some(0));
//! # Ok(()) }
//! ```
//!
//! Conventions the mock follows where the real server leaves room (see each method):
//! topics are created on first use, each topic writes ids in its own ledger (`ledger:entry`,
//! entries from 0), and [`MockPulsar::restart`] moves every topic to a new ledger.
//!
//! # The v3 multi-topic consumer
//!
//! `/ws/v3/consumer/{subscription}?topics=a,b` or `?topicsPattern=<regex>` (protocol.md §1.1,
//! §1.2, §2.1), as Pulsar 4.0.7's broker-embedded service answers it:
//!
//! * exactly one of `topics` and `topicsPattern`, else 500 (`Should set topics or
//!   topicsPattern` / `Topics must be null when use topicsPattern`); an empty first topic or
//!   pattern is 500 too, a later blank topic 400, an empty subscription 400;
//! * topic names are trimmed and expanded like `TopicName.get` (`t` →
//!   `persistent://public/default/t`); every consumer option works as on v2; the default
//!   dead-letter topic is named after the first topic (or the pattern);
//! * the connection joins the subscription on every topic (subscriptions and their backlog,
//!   acks and nacks are per topic: [`MockPulsar::acks`] and [`MockPulsar::backlog`] take the real
//!   topic); a conflict on one topic refuses the whole consumer with 409, and the subscription
//!   stays created on the topics that accepted it, as on the real server;
//! * message frames are the v2 ones: **no topic field** (§4.1); the topics share one window;
//! * acks and nacks are matched by the exact id string and go to the topic whose log holds the
//!   id (ids are unique across topics); an id of none of its topics is recorded nowhere;
//! * `isEndOfTopic` is `true` once every topic is terminated and dispatched (so at once for a
//!   pattern that matches nothing); `unsubscribe` removes the subscription from every topic;
//! * a pattern covers the existing persistent topics of its namespace whose name without
//!   `persistent://` the pattern (without any scheme) matches as a whole, plus matching topics
//!   created later. The mock's matcher is small and hand-written, not a regex engine: literal
//!   characters, `.`, `\`-escapes and the quantifiers `*`, `+`, `?`; any other syntax is refused
//!   with 400 (the real server accepts Java's whole regex syntax).

mod dispatch;
mod frames;
mod message_id;
mod pattern;
mod producer;
mod server;
mod session;
mod state;
mod types;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use state::{Out, Shared};
pub use types::{
    ClientClose, ClientFrame, ClientFrameKind, Endpoint, Handshake, MockMessage, RawFrame,
};

/// Stops the server when the last [`MockPulsar`] handle is dropped.
#[derive(Debug)]
struct Guard(Arc<Shared>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.shutdown.send_replace(true);
    }
}

/// An in-process fake Pulsar WebSocket proxy bound to `127.0.0.1`.
///
/// Cheap to clone; all clones drive the same server, which stops when the last clone is dropped
/// or on [`MockPulsar::shutdown`].
#[derive(Debug, Clone)]
pub struct MockPulsar {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _guard: Arc<Guard>,
}

impl MockPulsar {
    /// Binds `127.0.0.1:0` and starts serving. Must be called inside a Tokio runtime.
    pub async fn start() -> std::io::Result<MockPulsar> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Shared::new(tokio::runtime::Handle::current());
        tokio::spawn(server::accept_loop(shared.clone(), listener));
        Ok(MockPulsar {
            _guard: Arc::new(Guard(shared.clone())),
            shared,
            addr,
        })
    }

    /// The service URL to give a client, e.g. `ws://127.0.0.1:40123`.
    pub fn service_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, drops every open connection and waits until all are gone.
    pub async fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
        self.shared
            .wait_until(|st| st.accept_stopped && st.conns.is_empty())
            .await;
    }

    // ----- data -------------------------------------------------------------------------------

    /// Appends a message to `topic` (full name, e.g. `persistent://tenant/ns/name`) and returns
    /// its wire message id. Connected readers and consumers receive it live.
    pub fn publish(&self, topic: &str, msg: MockMessage) -> String {
        self.shared.with(|st| st.append(topic, msg))
    }

    /// Publishes several messages in order; returns their wire ids.
    pub fn publish_many(
        &self,
        topic: &str,
        msgs: impl IntoIterator<Item = MockMessage>,
    ) -> Vec<String> {
        self.shared
            .with(|st| msgs.into_iter().map(|m| st.append(topic, m)).collect())
    }

    /// Creates `topic` with no messages if it does not exist (see [`MockPulsar::set_topic_must_exist`]).
    pub fn create_topic(&self, topic: &str) {
        self.shared.with(|st| {
            st.topic_mut(topic);
        });
    }

    /// The wire ids of every message of `topic`, in order.
    pub fn message_ids(&self, topic: &str) -> Vec<String> {
        self.shared.read(|st| {
            st.topics
                .get(topic)
                .map(|t| t.records.iter().map(|r| r.wire_id.clone()).collect())
                .unwrap_or_default()
        })
    }

    /// Terminates `topic`: `isEndOfTopic` answers `true` once a reader or subscription has been
    /// handed every message. Later [`MockPulsar::publish`] calls still append.
    pub fn terminate(&self, topic: &str) {
        self.shared.with(|st| st.topic_mut(topic).terminated = true);
    }

    // ----- what the server saw ---------------------------------------------------------------

    /// Every upgrade request, accepted or rejected, in arrival order.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.shared.read(|st| st.handshakes.clone())
    }

    /// Every frame any client sent (text, binary, ping, pong, close), in arrival order.
    pub fn commands(&self) -> Vec<ClientFrame> {
        self.shared.read(|st| st.commands.clone())
    }

    /// Consumer acks received for `topic`/`subscription`: exact strings, in order, duplicates
    /// and unknown ids included (a v3 consumer's acks are counted on the topic that holds the
    /// id; its acks of ids of none of its topics are not recorded here).
    pub fn acks(&self, topic: &str, subscription: &str) -> Vec<String> {
        self.shared.read(|st| {
            st.topics
                .get(topic)
                .and_then(|t| t.subs.get(subscription))
                .map(|s| s.acks.clone())
                .unwrap_or_default()
        })
    }

    /// Negative acks received for `topic`/`subscription`, exact strings, in order.
    pub fn nacks(&self, topic: &str, subscription: &str) -> Vec<String> {
        self.shared.read(|st| {
            st.topics
                .get(topic)
                .and_then(|t| t.subs.get(subscription))
                .map(|s| s.nacks.clone())
                .unwrap_or_default()
        })
    }

    /// Messages not yet acked on the subscription (`None` if there is no such subscription).
    /// Dead-lettered messages count as acked.
    pub fn backlog(&self, topic: &str, subscription: &str) -> Option<usize> {
        self.shared.read(|st| {
            let s = st.topics.get(topic)?.subs.get(subscription)?;
            Some(s.msgs.len() - s.acked)
        })
    }

    /// Names of the subscriptions on `topic`.
    pub fn subscriptions(&self, topic: &str) -> Vec<String> {
        self.shared.read(|st| {
            st.topics
                .get(topic)
                .map(|t| t.subs.keys().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Upgraded connections still open.
    pub fn open_connections(&self) -> usize {
        self.shared.read(|st| st.conns.len())
    }

    /// Message frames sent to clients so far, over all connections.
    pub fn delivered(&self) -> usize {
        self.shared.read(|st| st.delivered)
    }

    /// Close frames received from clients, in order.
    pub fn client_closes(&self) -> Vec<ClientClose> {
        self.shared.read(|st| st.closes.clone())
    }

    // ----- deterministic waiting ---------------------------------------------------------------

    /// Waits until at least `n` upgrade requests were answered.
    pub async fn wait_for_handshakes(&self, n: usize) {
        self.shared.wait_until(|st| st.handshakes.len() >= n).await;
    }

    /// Waits until clients sent at least `n` frames in total.
    pub async fn wait_for_commands(&self, n: usize) {
        self.shared.wait_until(|st| st.commands.len() >= n).await;
    }

    /// Waits until at least `n` acks arrived on `topic`/`subscription`.
    pub async fn wait_for_acks(&self, topic: &str, subscription: &str, n: usize) {
        self.shared
            .wait_until(|st| {
                st.topics
                    .get(topic)
                    .and_then(|t| t.subs.get(subscription))
                    .is_some_and(|s| s.acks.len() >= n)
            })
            .await;
    }

    /// Waits until exactly `n_open` connections are open.
    pub async fn wait_for_connections(&self, n_open: usize) {
        self.shared.wait_until(|st| st.conns.len() == n_open).await;
    }

    /// Waits until at least `n` message frames were sent in total.
    pub async fn wait_for_delivered(&self, n: usize) {
        self.shared.wait_until(|st| st.delivered >= n).await;
    }

    /// Waits until `topic` holds at least `n` messages (e.g. dead-lettered or produced ones).
    pub async fn wait_for_messages(&self, topic: &str, n: usize) {
        self.shared
            .wait_until(|st| st.topics.get(topic).is_some_and(|t| t.records.len() >= n))
            .await;
    }

    /// Waits until at least `n` client close frames arrived.
    pub async fn wait_for_client_closes(&self, n: usize) {
        self.shared.wait_until(|st| st.closes.len() >= n).await;
    }

    // ----- fault injection ---------------------------------------------------------------------

    /// The next `count` upgrade requests get HTTP `status` with `body` (sent verbatim) instead
    /// of 101. `status` must be a non-2xx code.
    pub fn fail_handshakes(&self, status: u16, body: &str, count: usize) {
        self.shared.with(|st| {
            st.faults.fail = (count > 0).then(|| (status, body.to_string(), count));
        });
    }

    /// Holds each upgrade request this long before answering it (`None`: answer at once).
    pub fn set_handshake_delay(&self, d: Option<Duration>) {
        self.shared.with(|st| st.faults.delay = d);
    }

    /// When `Some`, an upgrade needs header `X-API-Key` (any case) or query `x-api-key` equal
    /// to `key`, else 401 — 8x8's gateway in front of Pulsar.
    pub fn require_api_key(&self, key: Option<&str>) {
        self.shared
            .with(|st| st.faults.api_key = key.map(str::to_string));
    }

    /// When `Some`, an upgrade needs `Authorization: Bearer <token>`, or (without an
    /// `Authorization` header) query `token` equal to it with or without `Bearer `, else 401
    /// "Failed to authenticate" (protocol.md §3.1).
    pub fn require_token(&self, token: Option<&str>) {
        self.shared
            .with(|st| st.faults.token = token.map(str::to_string));
    }

    /// Upgrades on `topic` (full name) get 403 "Not authorized".
    pub fn forbid_topic(&self, topic: &str) {
        self.shared.with(|st| {
            st.faults.forbidden.insert(topic.to_string());
        });
    }

    /// When on, unknown topics are not auto-created: consumer and producer upgrades get 404,
    /// reader upgrades 500 "Failed to create reader: ..." (protocol.md §3.3).
    pub fn set_topic_must_exist(&self, on: bool) {
        self.shared.with(|st| st.faults.must_exist = on);
    }

    /// Closes every open socket abruptly, with no Close frame (the client sees EOF / 1006).
    /// A consumer's unacked messages are redelivered with `redeliveryCount + 1`.
    pub fn drop_connections(&self) {
        self.shared.with(|st| st.drop_all());
    }

    /// Sends a Close frame on every open socket (`None`: empty payload, seen as 1005), then
    /// closes once the client answers (or after 5 s).
    pub fn close_connections(&self, code: Option<u16>, reason: &str) {
        self.send_raw(RawFrame::Close(code, reason.to_string()));
    }

    /// Once `n` more message frames have been delivered in total, every open connection is
    /// dropped abruptly (one-shot; `n == 0` drops at once).
    pub fn drop_after_delivered(&self, n: usize) {
        self.shared.with(|st| st.arm_drop(n));
    }

    /// Stops (or resumes) sending message frames. Commands are still read and answered, and
    /// pings still get pongs.
    pub fn pause_delivery(&self, paused: bool) {
        self.shared.with(|st| st.paused = paused);
        self.shared.wake_all();
    }

    /// Freezes (or thaws) every connection: nothing read or written, no pongs, sockets stay
    /// open — a dead peer. Upgrade requests also wait while frozen.
    pub fn freeze(&self, frozen: bool) {
        self.shared.with(|st| st.frozen = frozen);
        self.shared.wake_all();
    }

    /// Sends `frame` on every open connection, in order with the frames already queued.
    pub fn send_raw(&self, frame: RawFrame) {
        let msg = match frame {
            RawFrame::Text(t) => Message::text(t),
            RawFrame::Binary(b) => Message::binary(b),
            RawFrame::Ping(p) => Message::Ping(p.into()),
            RawFrame::Close(None, _) => Message::Close(None),
            RawFrame::Close(Some(code), reason) => Message::Close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            })),
        };
        self.shared.with(|st| {
            for c in st.conns.values_mut() {
                c.push(Out::Frame(msg.clone()));
            }
        });
    }

    /// Holds (`true`) or releases producer receipts. While paused, producer frames are still read
    /// and their messages stored, but the acks (§8) are held per connection; resuming sends them
    /// in arrival order. The held acks of a connection that drops are lost while the messages
    /// stay stored — the case where an at-least-once client stores a message twice.
    pub fn pause_receipts(&self, paused: bool) {
        self.shared.with(|st| {
            st.receipts.paused = paused;
            st.receipts_changed();
        });
    }

    /// Answers producer frames out of order (acks are asynchronous on the real server, §8): acks
    /// are held per connection until `group` are held, then sent in reverse order. `0` or `1`
    /// turns this off and sends whatever is held, in arrival order.
    pub fn reorder_receipts(&self, group: usize) {
        self.shared.with(|st| {
            st.receipts.reorder = group;
            st.receipts_changed();
        });
    }

    /// The next `count` producer frames that are JSON objects are not stored and are answered
    /// `{"result":"send-error:<code>","errorMsg":<error_msg>,"context":…}`. Code 8 is the broker
    /// failing the send, 7 a bad field (§8). (A real server answers 3 only to frames that are not
    /// JSON, and then without a context; the mock does that by itself.)
    pub fn fail_next_sends(&self, code: u16, error_msg: &str, count: usize) {
        self.shared.with(|st| {
            st.receipts.fail = (count > 0).then(|| (code, error_msg.to_string(), count));
        });
    }

    /// Producer acks currently held back by [`MockPulsar::pause_receipts`] or
    /// [`MockPulsar::reorder_receipts`], over all connections.
    pub fn held_receipts(&self) -> usize {
        self.shared.read(|st| st.held_receipts())
    }

    /// Waits until at least `n` producer acks are held back.
    pub async fn wait_for_held_receipts(&self, n: usize) {
        self.shared.wait_until(|st| st.held_receipts() >= n).await;
    }

    /// A broker restart: every connection is dropped and per-connection state is forgotten
    /// (in-flight messages return without a redelivery bump, redelivery counts and pending nack
    /// timers are lost, non-durable subscriptions vanish). Topics and durable subscriptions
    /// survive; each topic continues in a new ledger.
    pub fn restart(&self) {
        self.shared.with(|st| st.restart());
    }
}
