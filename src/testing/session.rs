//! One upgraded connection: reads client frames (§5), writes what the state queued for it,
//! and closes the way the real proxy does (§5.3, §7).

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::message_id::{self, IdError};
use super::state::{Out, Shared, State};
use super::types::{ClientClose, ClientFrame, ClientFrameKind, Endpoint};

type Ws = WebSocketStream<TcpStream>;

/// How long the server waits for the client's answer to its Close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// What to do after a client frame.
enum Next {
    Continue,
    /// Drop the socket without a Close frame (Jetty 9.4 and codes 1–8, §7.3).
    Drop,
    /// Close with this code and reason (an exception escaping the handler: 1011, §5.3).
    Close(u16, String),
}

/// Serves connection `id` until the socket ends or the connection is killed.
pub(crate) async fn run(
    shared: Arc<Shared>,
    id: u64,
    ws: Ws,
    mut kill: watch::Receiver<bool>,
    endpoint: Endpoint,
) {
    let notify = shared.read(|st| st.conns.get(&id).map(|c| c.notify.clone()));
    if let Some(notify) = notify {
        tokio::select! {
            biased;
            _ = async { let _ = kill.wait_for(|k| *k).await; } => {}
            _ = serve(&shared, id, ws, &notify, endpoint) => {}
        }
    }
    // Also runs when the socket was dropped: a consumer's unacked messages go back (§6).
    shared.with(|st| st.remove_conn(id, true));
}

async fn serve(
    shared: &Shared,
    id: u64,
    mut ws: Ws,
    notify: &tokio::sync::Notify,
    endpoint: Endpoint,
) {
    let mut closing: Option<tokio::time::Instant> = None;
    loop {
        let work = shared.with(|st| st.take_work(id));
        if work.gone {
            return;
        }
        if !work.frames.is_empty() {
            for out in work.frames {
                let msg = match out {
                    Out::Message(text) => Message::text(text),
                    Out::Frame(m) => m,
                };
                if matches!(msg, Message::Close(_)) {
                    closing.get_or_insert_with(|| tokio::time::Instant::now() + CLOSE_GRACE);
                }
                if ws.feed(msg).await.is_err() {
                    return;
                }
            }
            if ws.flush().await.is_err() {
                return;
            }
        }
        if work.drop_after {
            return;
        }
        if work.frozen {
            notify.notified().await;
            continue;
        }
        let deadline =
            closing.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(msg)) = incoming else { return };
                match handle(shared, id, endpoint, msg, closing.is_some()) {
                    Next::Continue => {}
                    Next::Drop => return,
                    Next::Close(code, reason) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                        if ws.send(Message::Close(Some(frame))).await.is_err() {
                            return;
                        }
                        closing = Some(tokio::time::Instant::now() + CLOSE_GRACE);
                    }
                }
            }
            _ = notify.notified() => {}
            _ = tokio::time::sleep_until(deadline), if closing.is_some() => return,
        }
    }
}

/// Records a client frame and acts on it.
fn handle(shared: &Shared, id: u64, endpoint: Endpoint, msg: Message, closing: bool) -> Next {
    let (kind, text) = match msg {
        Message::Text(t) => (ClientFrameKind::Text(t.to_string()), Some(t.to_string())),
        Message::Binary(b) => (ClientFrameKind::Binary(b.to_vec()), None),
        Message::Ping(_) => (ClientFrameKind::Ping, None), // tungstenite queues the pong
        Message::Pong(_) => (ClientFrameKind::Pong, None),
        Message::Close(frame) => {
            let (code, reason) = match frame {
                Some(f) => (Some(u16::from(f.code)), f.reason.to_string()),
                None => (None, String::new()),
            };
            shared.with(|st| {
                st.commands.push(ClientFrame {
                    connection: id,
                    kind: ClientFrameKind::Close,
                    json: None,
                });
                st.closes.push(ClientClose {
                    connection: id,
                    code,
                    reason,
                });
            });
            // tungstenite echoes the close (§7.2) on the next read, which then ends the stream.
            return Next::Continue;
        }
        Message::Frame(_) => return Next::Continue,
    };
    let json = text
        .as_deref()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
    shared.with(|st| {
        st.commands.push(ClientFrame {
            connection: id,
            kind,
            json: json.clone(),
        });
        match text {
            // Binary frames are ignored (§5.3); nothing is acted on while closing.
            None => Next::Continue,
            Some(_) if closing => Next::Continue,
            Some(_) => text_command(st, id, endpoint, json),
        }
    })
}

/// The value of a `ConsumerCommand` string field, coerced as Jackson does.
fn field_str(obj: &serde_json::Map<String, serde_json::Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => Some(v.to_string()),
        _ => Some(String::new()),
    }
}

fn text_command(
    st: &mut State,
    id: u64,
    endpoint: Endpoint,
    json: Option<serde_json::Value>,
) -> Next {
    let silent = st.conns.get(&id).is_none_or(|c| c.silent);
    if endpoint == Endpoint::Producer {
        st.produce(id, json.as_ref());
        return Next::Continue;
    }
    let obj = match json {
        Some(serde_json::Value::Object(obj)) => obj,
        // `null` deserializes to a null command: NullPointerException escapes (§5.3).
        Some(serde_json::Value::Null) => {
            return Next::Close(
                1011,
                "Cannot read field \"type\" because \"command\" is null".into(),
            )
        }
        // Not JSON, or not an object: close(3), an abrupt drop on the wire (§5.3, §7.3).
        _ => return Next::Drop,
    };
    if silent {
        return Next::Continue; // after unsubscribe: open and silent (§6.3)
    }
    let kind = field_str(&obj, "type");
    if endpoint == Endpoint::Reader {
        match kind.as_deref() {
            Some("isEndOfTopic") => st.end_of_topic(id),
            _ => st.reader_frame(id),
        }
        return Next::Continue;
    }
    match kind.as_deref() {
        Some("isEndOfTopic") => st.end_of_topic(id),
        Some("permit") => {
            let n = match obj.get("permitMessages") {
                Some(serde_json::Value::Number(n)) => {
                    n.as_i64().and_then(|n| i32::try_from(n).ok())
                }
                Some(serde_json::Value::String(s)) => s.trim().parse::<i32>().ok(),
                _ => None,
            };
            match n {
                Some(n) => st.permit(id, i64::from(n)),
                None => return Next::Drop, // IOException -> close(3) (§5.1)
            }
        }
        Some("unsubscribe") => {
            if !st.unsubscribe(id) {
                return Next::Drop; // failed unsubscribe closes as error 3 (§5.1)
            }
        }
        other => {
            let nack = other == Some("negativeAcknowledge");
            let Some(wire) = field_str(&obj, "messageId") else {
                let reason = "Cannot invoke \"String.getBytes()\" because \"src\" is null";
                return Next::Close(1011, reason.into());
            };
            match message_id::decode(&wire) {
                Err(IdError::Base64(m)) => return Next::Close(1011, m),
                Err(IdError::Protobuf(_)) => return Next::Drop,
                Ok(_) if nack => st.nack(id, &wire),
                Ok(_) => st.ack(id, &wire),
            }
        }
    }
    Next::Continue
}
