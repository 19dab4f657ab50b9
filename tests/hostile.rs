//! The bad-input matrix (`docs/security.md`): each test scripts a hostile
//! server on 127.0.0.1 byte by byte (tests/common/raw.rs) and asserts what
//! the application sees: a typed error, a stream that goes on, a reconnect;
//! never a panic or a hang. Waits are bounded by `common::LIMIT`.
//!
//! This file holds the helpers (a client whose connection events are recorded,
//! readers, the canned server scripts); the tests are in `hostile/`: the
//! handshake, message sizes and depth, framing, and control frames.

mod common;
#[path = "hostile/control.rs"]
mod control;
#[path = "hostile/framing.rs"]
mod framing;
#[path = "hostile/handshake.rs"]
mod handshake;
#[path = "hostile/limits.rs"]
mod limits;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::raw::{frame, message, wire_id, Conn, RawServer};
use common::{next, topic, within};
use futures::future::BoxFuture;
use pulsar_eventstream::{
    Client, ConnectionEvent, Error, EventStream, FixedDelay, NeverReconnect, Position,
};

/// A client for `server` whose connection events are recorded.
fn client_for(
    server: &RawServer,
    configure: impl FnOnce(pulsar_eventstream::ClientBuilder) -> pulsar_eventstream::ClientBuilder,
) -> (Client, Arc<Mutex<Vec<ConnectionEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let builder = Client::builder(server.url())
        .ping_interval(None)
        .reconnect_policy(FixedDelay::new(Duration::from_millis(10)))
        .on_connection_event(move |e: &ConnectionEvent| sink.lock().unwrap().push(e.clone()));
    (configure(builder).build().unwrap(), events)
}

async fn reader(client: &Client) -> pulsar_eventstream::Result<EventStream> {
    let (_, topic) = topic("hostile");
    within(
        client
            .reader(topic)
            .position(Position::Earliest)
            .subscribe(),
    )
    .await
}

async fn reader_once(client: &Client) -> EventStream {
    let (_, topic) = topic("hostile");
    within(
        client
            .reader(topic)
            .position(Position::Earliest)
            .reconnect_policy(NeverReconnect)
            .subscribe(),
    )
    .await
    .expect("connects")
}

fn lost_with(events: &Mutex<Vec<ConnectionEvent>>, is: fn(&Error) -> bool) -> bool {
    events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, ConnectionEvent::Disconnected { error } if is(error)))
}

/// The stream's next item is the event of `(ledger, entry)`.
async fn expect_event(
    stream: &mut EventStream,
    ledger: u8,
    entry: u8,
) -> pulsar_eventstream::Event {
    let event = next(stream).await.expect("an event");
    assert_eq!(event.message_id().as_str(), wire_id(ledger, entry));
    event
}

/// Conn 1 runs `first`; every later connection sends message (1, 9).
async fn first_then_good<F, Fut>(first: F) -> RawServer
where
    F: Fn(Conn) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    RawServer::start(move |n, mut conn: Conn| -> BoxFuture<'static, ()> {
        if n == 1 {
            return Box::pin(first(conn));
        }
        Box::pin(async move {
            conn.accept().await;
            conn.send_text(&message(1, 9, b"after")).await;
            conn.hold().await;
        })
    })
    .await
}

/// Every connection is upgraded, gets `bytes` (frames made with `frame`) and
/// is then held open, whatever the client sends.
async fn upgraded_then(bytes: Vec<u8>) -> RawServer {
    RawServer::start(move |_, mut conn: Conn| {
        let bytes = bytes.clone();
        async move {
            conn.accept().await;
            conn.send_raw(&bytes).await;
            conn.hold().await;
        }
    })
    .await
}

/// One server text frame.
fn text_frame(text: &str) -> Vec<u8> {
    frame(true, 1, text.as_bytes())
}
