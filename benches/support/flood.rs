//! A flood endpoint: a minimal WebSocket server shaped like Pulsar's reader
//! and consumer endpoints, for benchmarks on loopback.
//!
//! * The topic's local name says what to send: `flood-<count>-<payload
//!   bytes>` (for example `persistent://public/default/flood-200000-400`).
//!   Paths are `/ws/v2/reader/persistent/public/default/flood-…` and
//!   `/ws/v2/consumer/persistent/public/default/flood-…/<subscription>`.
//! * Frames are pre-encoded once; each message gets its own id (ledger 7,
//!   entries from 2^14 so every id has the same length and only its 12
//!   base64 characters are patched per message).
//! * Flow control exactly as `protocol.md` §6.1: at most 1000 messages in
//!   flight; every text frame from the client except `isEndOfTopic` lowers
//!   the count by one (on the reader any JSON object counts, on the consumer
//!   it is the ack). Sending stops at 1000 un-acked and resumes with the next
//!   ack.
//! * On the producer path (`/ws/v2/producer/persistent/public/default/
//!   flood-<answered>-<payload bytes>`) it reads send frames, checks each
//!   one's payload length, and answers the first `answered` of them with
//!   `{"result":"ok","messageId":…,"context":…}` (`protocol.md` §8),
//!   flushing when no further frame is ready; after that it goes silent,
//!   still reading, like a server that stopped answering.
//! * Each finished connection's counts (sent, acks, peak in flight) are
//!   kept for the runner to check. On the producer path `acks` counts the
//!   send frames received and `sent` the receipts written.
//!
//! It uses tokio-tungstenite directly and nothing of the crate.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

#[path = "frames.rs"]
mod frames;

/// The server's in-flight limit (`min(receiverQueueSize, 1000)`).
pub const WINDOW: u64 = 1000;
/// Frames written per flush at most.
const BURST: u64 = 256;
/// First entry id: 2^14, so that every entry up to 2^21 is a 3-byte varint.
const FIRST_ENTRY: u64 = 1 << 14;
const LEDGER: u64 = 7;

/// What one connection saw, once it ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnStats {
    pub sent: u64,
    pub acks: u64,
    pub peak_in_flight: u64,
}

/// A running flood endpoint on 127.0.0.1 (its own thread and runtime, so
/// that it never shares a scheduler with the client under test).
pub struct Flood {
    pub addr: SocketAddr,
    finished: Arc<Mutex<Vec<ConnStats>>>,
}

impl Flood {
    pub fn start() -> Flood {
        let (tx, rx) = std::sync::mpsc::channel();
        let finished = Arc::new(Mutex::new(Vec::new()));
        let finished2 = finished.clone();
        std::thread::Builder::new()
            .name("flood-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                    tx.send(listener.local_addr().unwrap()).unwrap();
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        tcp.set_nodelay(true).unwrap();
                        let finished = finished2.clone();
                        tokio::spawn(async move {
                            if let Some(stats) = serve(tcp).await {
                                finished.lock().unwrap().push(stats);
                            }
                        });
                    }
                });
            })
            .unwrap();
        let addr = rx.recv().unwrap();
        Flood { addr, finished }
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The counts of the connection that ended last, waiting (bounded) for
    /// it to end.
    pub fn last_connection(&self, timeout: std::time::Duration) -> Option<ConnStats> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(s) = self.finished.lock().unwrap().pop() {
                return Some(s);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

/// `persistent://public/default/flood-<count>-<payload>`.
pub fn topic(count: u64, payload_len: usize) -> String {
    format!("persistent://public/default/flood-{count}-{payload_len}")
}

/// Reader endpoint URL path for raw clients.
pub fn reader_path(count: u64, payload_len: usize) -> String {
    format!(
        "/ws/v2/reader/persistent/public/default/flood-{count}-{payload_len}?messageId=earliest"
    )
}

/// Producer endpoint URL path for raw clients: the server answers the
/// first `answered` sends, each of `payload_len` bytes.
pub fn producer_path(answered: u64, payload_len: usize) -> String {
    format!("/ws/v2/producer/persistent/public/default/flood-{answered}-{payload_len}")
}

/// Consumer endpoint URL path for raw clients.
pub fn consumer_path(count: u64, payload_len: usize, subscription: &str) -> String {
    format!("/ws/v2/consumer/persistent/public/default/flood-{count}-{payload_len}/{subscription}")
}

fn parse_path(path: &str) -> Option<(u64, usize)> {
    let path = path.split('?').next()?;
    let name = path
        .split('/')
        .find(|seg| seg.starts_with("flood-"))?
        .strip_prefix("flood-")?;
    let (count, payload) = name.split_once('-')?;
    Some((count.parse().ok()?, payload.parse().ok()?))
}

/// A frame template whose message id sits at a fixed offset.
struct Template {
    bytes: Vec<u8>,
    id_at: usize,
    id_len: usize,
}

impl Template {
    fn new(payload_len: usize) -> Template {
        let payload = STANDARD.encode(frames::payload(payload_len));
        let marker = frames::message_id(LEDGER, FIRST_ENTRY);
        let text = frames::message_frame(&marker, &payload);
        let id_at = text.find(&marker).unwrap();
        Template {
            bytes: text.into_bytes(),
            id_at,
            id_len: marker.len(),
        }
    }

    fn frame(&self, n: u64) -> Message {
        let id = frames::message_id(LEDGER, FIRST_ENTRY + n);
        assert_eq!(
            id.len(),
            self.id_len,
            "entry id out of the fixed-width range"
        );
        let mut bytes = self.bytes.clone();
        bytes[self.id_at..self.id_at + self.id_len].copy_from_slice(id.as_bytes());
        Message::Text(Utf8Bytes::try_from(bytes).unwrap())
    }
}

async fn serve(tcp: tokio::net::TcpStream) -> Option<ConnStats> {
    let mut path = String::new();
    // The signature is tungstenite's `Callback`.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| {
        path = req.uri().to_string();
        Ok(resp)
    };
    let ws = tokio_tungstenite::accept_hdr_async(tcp, callback)
        .await
        .ok()?;
    let (count, payload_len) = parse_path(&path)?;
    if path.contains("/ws/v2/producer/") {
        return Some(serve_producer(ws, count, payload_len).await);
    }
    assert!(
        FIRST_ENTRY + count < 1 << 21,
        "at most {} messages per connection",
        (1 << 21) - FIRST_ENTRY
    );
    let template = Template::new(payload_len);
    let (mut tx, mut rx) = ws.split();
    let mut stats = ConnStats::default();
    let mut in_flight: u64 = 0;
    loop {
        let can_send = in_flight < WINDOW && stats.sent < count;
        tokio::select! {
            biased;
            msg = rx.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if !text.as_str().contains("\"isEndOfTopic\"") {
                        in_flight = in_flight.saturating_sub(1);
                        stats.acks += 1;
                    }
                }
                Some(Ok(Message::Close(_))) => {
                    // tungstenite queued the echo; push it out.
                    let _ = tx.close().await;
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            _ = std::future::ready(()), if can_send => {
                let mut burst = 0;
                while in_flight < WINDOW && stats.sent < count && burst < BURST {
                    if tx.feed(template.frame(stats.sent)).await.is_err() {
                        return Some(stats);
                    }
                    stats.sent += 1;
                    in_flight += 1;
                    burst += 1;
                }
                stats.peak_in_flight = stats.peak_in_flight.max(in_flight);
                if tx.flush().await.is_err() {
                    return Some(stats);
                }
            }
        }
    }
    Some(stats)
}

/// The producer path: answer the first `answered` sends, then only read.
async fn serve_producer(
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    answered: u64,
    payload_len: usize,
) -> ConnStats {
    use futures::FutureExt;

    let payload_b64_len = payload_len.div_ceil(3) * 4;
    let (mut tx, mut rx) = ws.split();
    let mut stats = ConnStats::default();
    let mut next = rx.next().await;
    loop {
        match next {
            Some(Ok(Message::Text(text))) => {
                let frame = text.as_str();
                stats.acks += 1;
                let payload = field(frame, "payload").unwrap_or("");
                assert_eq!(payload.len(), payload_b64_len, "send frame: {frame:.200}");
                let context = field(frame, "context").unwrap_or("");
                if stats.sent < answered {
                    let id = frames::message_id(LEDGER, FIRST_ENTRY + stats.sent);
                    let receipt =
                        format!(r#"{{"result":"ok","messageId":"{id}","context":"{context}"}}"#);
                    if tx.feed(Message::Text(receipt.into())).await.is_err() {
                        return stats;
                    }
                    stats.sent += 1;
                }
            }
            Some(Ok(Message::Close(_))) => {
                let _ = tx.close().await;
                return stats;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return stats,
        }
        // Answer in bursts: flush only when no further frame is ready.
        next = match rx.next().now_or_never() {
            Some(ready) => ready,
            None => {
                if tx.flush().await.is_err() {
                    return stats;
                }
                rx.next().await
            }
        };
    }
}

/// The text of string field `name` in a flat JSON object (no escapes in
/// the values this server sees: base64 and decimal contexts).
fn field<'a>(frame: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    let start = frame.find(&key)? + key.len();
    let len = frame[start..].find('"')?;
    Some(&frame[start..start + len])
}
