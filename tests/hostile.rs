//! The bad-input matrix (`docs/security.md`): each test scripts a hostile
//! server on 127.0.0.1 byte by byte (tests/common/raw.rs) and asserts what
//! the application sees: a typed error, a stream that goes on, a reconnect;
//! never a panic or a hang. Waits are bounded by `common::LIMIT`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::raw::{frame, message, wire_id, Conn, RawServer};
use common::{next, topic, within};
use futures::future::BoxFuture;
use futures::StreamExt;
use pulsar_eventstream::{
    Client, ConnectionEvent, Error, EventStream, FixedDelay, NeverReconnect, Position,
};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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

// ----- handshake -------------------------------------------------------------------------------

#[tokio::test]
async fn a_handshake_never_answered_is_a_connect_timeout() {
    // One server reads the request and stays silent; one does not even read.
    let silent = RawServer::start(|_, mut conn: Conn| async move {
        conn.read_request().await;
        conn.hold().await;
    })
    .await;
    let deaf = RawServer::start(|_, conn: Conn| async move {
        std::future::pending::<()>().await;
        drop(conn);
    })
    .await;
    for server in [&silent, &deaf] {
        let (client, _) = client_for(server, |b| b.connect_timeout(Duration::from_millis(300)));
        let error = reader(&client).await.unwrap_err();
        assert!(
            matches!(error, Error::ConnectTimeout(d) if d == Duration::from_millis(300)),
            "{error:?}"
        );
        assert!(error.is_retryable());
    }
}

#[tokio::test]
async fn an_endless_non_101_body_is_read_bounded() {
    let written = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(tokio::sync::Notify::new());
    let (count, done) = (written.clone(), stopped.clone());
    let server = RawServer::start(move |_, mut conn: Conn| {
        let (count, done) = (count.clone(), done.clone());
        async move {
            conn.read_request().await;
            conn.send_raw(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n<html><body><h2>HTTP ERROR 503</h2><p>overloaded</p>")
                .await;
            let chunk = "<p>and more</p>".repeat(512);
            // At most 256 MiB, and only while the client keeps the socket.
            while count.load(Ordering::SeqCst) < 256 << 20 && conn.send_raw(chunk.as_bytes()).await {
                count.fetch_add(chunk.len(), Ordering::SeqCst);
            }
            done.notify_one();
        }
    })
    .await;
    let (client, _) = client_for(&server, |b| b);
    let error = reader(&client).await.unwrap_err();
    match &error {
        Error::ServerError { status: 503, body } => {
            assert!(body.contains("overloaded"), "{body}");
            assert!(body.chars().count() <= 512, "{} chars", body.len());
        }
        other => panic!("{other:?}"),
    }
    // The client hung up: the server's writes failed long before its cap.
    within(stopped.notified()).await;
    assert!(written.load(Ordering::SeqCst) < 256 << 20);
}

#[tokio::test]
async fn an_endless_or_crowded_response_head_is_a_protocol_error() {
    let endless = RawServer::start(|_, mut conn: Conn| async move {
        conn.read_request().await;
        conn.send_raw(b"HTTP/1.1 500 Server Error\r\n").await;
        let junk = format!("X-Junk: {}\r\n", "a".repeat(1000));
        while conn.send_raw(junk.as_bytes()).await {}
    })
    .await;
    let crowded = RawServer::start(|_, mut conn: Conn| async move {
        conn.read_request().await;
        let mut head = b"HTTP/1.1 500 Server Error\r\n".to_vec();
        for i in 0..1000 {
            head.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        conn.send_raw(&head).await;
        conn.hold().await;
    })
    .await;
    for server in [&endless, &crowded] {
        let (client, _) = client_for(server, |b| b);
        let error = reader(&client).await.unwrap_err();
        assert!(matches!(error, Error::Protocol(_)), "{error:?}");
    }
}

#[tokio::test]
async fn a_refused_upgrade_with_a_stalled_body_keeps_its_status() {
    let server = RawServer::start(|_, mut conn: Conn| async move {
        conn.read_request().await;
        conn.send_raw(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 1000\r\n\r\nFailed to authenticate",
        )
        .await;
        conn.hold().await;
    })
    .await;
    let (client, _) = client_for(&server, |b| b.connect_timeout(Duration::from_secs(20)));
    let error = reader(&client).await.unwrap_err();
    assert!(
        matches!(&error, Error::Unauthorized { body } if body == "Failed to authenticate"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_bad_upgrade_answer_is_a_protocol_error() {
    let answers: [&[u8]; 4] = [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"\x00\x01garbage\r\n\r\n",
    ];
    for answer in answers {
        let server = RawServer::start(move |_, mut conn: Conn| async move {
            conn.read_request().await;
            conn.send_raw(answer).await;
            conn.hold().await;
        })
        .await;
        let (client, _) = client_for(&server, |b| b);
        let error = reader(&client).await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::Protocol(_) | Error::UnexpectedStatus { status: 200, .. }
            ),
            "{error:?}"
        );
    }
}

// ----- frames ----------------------------------------------------------------------------------

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

#[tokio::test]
async fn a_frame_over_the_maximum_size_is_frame_too_large_then_a_reconnect() {
    // The header announces 9 MiB (over the 8 MiB default); a few bytes follow.
    let server = first_then_good(|mut conn: Conn| async move {
        conn.accept().await;
        let mut head = vec![0x81, 127];
        head.extend_from_slice(&(9u64 << 20).to_be_bytes());
        head.extend_from_slice(b"{\"messageId\":");
        conn.send_raw(&head).await;
        conn.hold().await;
    })
    .await;
    let (client, events) = client_for(&server, |b| b);
    let mut stream = reader(&client).await.unwrap();
    let event = expect_event(&mut stream, 1, 9).await;
    assert_eq!(&event.payload()[..], b"after");
    assert!(lost_with(&events, |e| matches!(e, Error::FrameTooLarge(_))));
    assert_eq!(server.accepted(), 2);

    // Without reconnects, the application gets the error itself.
    let server = first_then_good(|mut conn: Conn| async move {
        conn.accept().await;
        conn.send_text(&message(1, 1, &vec![b'x'; 70_000])).await;
        conn.hold().await;
    })
    .await;
    let (client, _) = client_for(&server, |b| b.max_message_size(64 * 1024));
    let mut stream = reader_once(&client).await;
    let error = next(&mut stream).await.unwrap_err();
    assert!(matches!(error, Error::FrameTooLarge(_)), "{error:?}");
    assert!(error.is_retryable());
    assert!(within(stream.next()).await.is_none());
}

#[tokio::test]
async fn a_message_over_the_maximum_size_in_small_fragments_is_frame_too_large() {
    let server = first_then_good(|mut conn: Conn| async move {
        conn.accept().await;
        // 20 fragments of 4 KiB each: every frame is small, the message is not.
        let chunk = vec![b' '; 4096];
        conn.send_frame(false, 1, &chunk).await;
        for _ in 0..19 {
            conn.send_frame(false, 0, &chunk).await;
        }
        conn.send_frame(true, 0, b"{}").await;
        conn.hold().await;
    })
    .await;
    let (client, events) = client_for(&server, |b| b.max_message_size(64 * 1024));
    let mut stream = reader(&client).await.unwrap();
    expect_event(&mut stream, 1, 9).await;
    assert!(lost_with(&events, |e| matches!(e, Error::FrameTooLarge(_))));
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_is_a_typed_error() {
    let server = first_then_good(|mut conn: Conn| async move {
        conn.accept().await;
        let mut text = message(1, 1, b"x").into_bytes();
        text.splice(2..2, [0xff, 0xfe]);
        conn.send_frame(true, 1, &text).await;
        conn.hold().await;
    })
    .await;
    let (client, events) = client_for(&server, |b| b);
    let mut stream = reader(&client).await.unwrap();
    expect_event(&mut stream, 1, 9).await;
    assert!(lost_with(
        &events,
        |e| matches!(e, Error::Protocol(m) if m.contains("UTF-8"))
    ));

    let server = first_then_good(|mut conn: Conn| async move {
        conn.accept().await;
        conn.send_frame(true, 1, &[b'{', 0xc3, b'}']).await;
        conn.hold().await;
    })
    .await;
    let (client, _) = client_for(&server, |b| b);
    let mut stream = reader_once(&client).await;
    let error = next(&mut stream).await.unwrap_err();
    assert!(
        matches!(&error, Error::Protocol(m) if m.contains("UTF-8")),
        "{error:?}"
    );
}

#[tokio::test]
async fn deeply_nested_json_is_a_typed_error_without_stack_overflow() {
    const DEPTH: usize = 100_000;
    let nested = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let deep_payload = B64.encode(&nested);
    let frames = vec![
        // The frame itself: rejected as soon as its shape is wrong, before
        // any recursion.
        nested.clone(),
        // Deep objects in a field the client does not read, and no id.
        format!("{}1{}", r#"{"x":"#.repeat(DEPTH), "}".repeat(DEPTH)),
        // Nested inside a field the client does not read: skipped without
        // recursion, the message is delivered.
        format!(
            r#"{{"messageId":"{}","payload":"e30=","unknown":{nested}}}"#,
            wire_id(1, 2)
        ),
        // Nested where a string map is expected.
        format!(
            r#"{{"messageId":"{}","payload":"e30=","properties":{{"a":{nested}}}}}"#,
            wire_id(1, 3)
        ),
        // A payload of deep JSON: the event arrives, decoding it fails.
        format!(
            r#"{{"messageId":"{}","payload":"{deep_payload}"}}"#,
            wire_id(1, 4)
        ),
        message(1, 5, b"{\"n\":5}"),
    ];
    let server = RawServer::start(move |_, mut conn: Conn| {
        let frames = frames.clone();
        async move {
            conn.accept().await;
            for f in &frames {
                conn.send_text(f).await;
            }
            conn.hold().await;
        }
    })
    .await;
    let (client, _) = client_for(&server, |b| b);
    let mut stream = reader_once(&client).await;
    let error = next(&mut stream).await.unwrap_err();
    assert!(matches!(error, Error::InvalidFrame { .. }), "{error:?}");
    let error = next(&mut stream).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::MissingField {
                field: "messageId",
                ..
            }
        ),
        "{error:?}"
    );
    expect_event(&mut stream, 1, 2).await;
    let error = next(&mut stream).await.unwrap_err();
    assert!(matches!(error, Error::InvalidFrame { .. }), "{error:?}");
    let event = expect_event(&mut stream, 1, 4).await;
    let error = event.json::<serde_json::Value>().unwrap_err();
    assert!(
        matches!(&error, Error::PayloadJson { reason, .. } if reason.contains("recursion")),
        "{error:?}"
    );
    assert!(event.eightbyeight().is_err());
    expect_event(&mut stream, 1, 5).await;
}

#[tokio::test]
async fn a_million_properties_are_bounded_by_the_maximum_message_size() {
    // A million keys is ~13 MB of JSON: over the 8 MiB default.
    let million = {
        let mut text = format!(
            r#"{{"messageId":"{}","payload":"e30=","properties":{{"#,
            wire_id(1, 1)
        );
        for i in 0..1_000_000 {
            text.push_str(&format!("\"{i}\":\"\","));
        }
        text.push_str("\"end\":\"\"}}");
        text
    };
    assert!(million.len() > 8 << 20);
    // 300,000 keys (~3.5 MB) fit and decode.
    let many = {
        let mut text = format!(
            r#"{{"messageId":"{}","payload":"e30=","properties":{{"#,
            wire_id(1, 2)
        );
        for i in 0..300_000 {
            text.push_str(&format!("\"{i}\":\"\","));
        }
        text.push_str("\"end\":\"\"}}");
        text
    };
    let server = RawServer::start(move |n, mut conn: Conn| {
        let frame = if n == 1 {
            million.clone()
        } else {
            many.clone()
        };
        async move {
            conn.accept().await;
            conn.send_text(&frame).await;
            conn.hold().await;
        }
    })
    .await;
    let (client, events) = client_for(&server, |b| b);
    let mut stream = reader(&client).await.unwrap();
    let event = expect_event(&mut stream, 1, 2).await;
    assert_eq!(event.properties().len(), 300_001);
    assert!(lost_with(&events, |e| matches!(e, Error::FrameTooLarge(_))));
}

#[tokio::test]
async fn a_large_base64_payload_within_the_limit_is_delivered_whole() {
    // 5 MB, Pulsar's default maximum message size: 6.7 MB of base64.
    let payload: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let text = message(1, 1, &payload);
    assert!(text.len() < 8 << 20);
    let server = RawServer::start(move |_, mut conn: Conn| {
        let text = text.clone();
        async move {
            conn.accept().await;
            conn.send_text(&text).await;
            conn.hold().await;
        }
    })
    .await;
    let (client, _) = client_for(&server, |b| b);
    let mut stream = reader_once(&client).await;
    let event = expect_event(&mut stream, 1, 1).await;
    assert_eq!(event.payload().len(), payload.len());
    assert!(event.payload()[..] == payload[..]);
}

#[tokio::test]
async fn binary_frames_are_one_error_item_each() {
    let server = RawServer::start(|_, mut conn: Conn| async move {
        conn.accept().await;
        conn.send_frame(true, 2, &[0, 1, 2]).await;
        conn.send_frame(true, 2, &vec![7; 100_000]).await;
        conn.send_frame(false, 2, b"frag").await;
        conn.send_frame(true, 0, b"mented").await;
        conn.send_text(&message(1, 1, b"text")).await;
        conn.hold().await;
    })
    .await;
    let (client, _) = client_for(&server, |b| b);
    let mut stream = reader_once(&client).await;
    for len in [3, 100_000, 10] {
        let error = next(&mut stream).await.unwrap_err();
        assert!(
            matches!(error, Error::BinaryFrame { len: l } if l == len),
            "{error:?}"
        );
        assert!(error.is_decode_error());
    }
    expect_event(&mut stream, 1, 1).await;
}

#[tokio::test]
async fn fragmented_messages_are_reassembled() {
    let text = message(1, 1, b"fragmented payload");
    let server = RawServer::start(move |_, mut conn: Conn| {
        let text = text.clone();
        async move {
            conn.accept().await;
            let bytes = text.as_bytes();
            let (a, rest) = bytes.split_at(10);
            let (b, c) = rest.split_at(rest.len() / 2);
            conn.send_frame(false, 1, a).await;
            // Control frames may come between fragments (RFC 6455 §5.4).
            conn.send_frame(true, 9, b"PING").await;
            conn.send_frame(false, 0, b).await;
            conn.send_frame(false, 0, b"").await;
            conn.send_frame(true, 0, c).await;
            // Split inside a multi-byte character.
            let raw = format!(
                r#"{{"messageId":"{}","payload":"e30=","key":"é😀"}}"#,
                wire_id(1, 2)
            );
            let at = raw.find('é').unwrap() + 1;
            conn.send_frame(false, 1, &raw.as_bytes()[..at]).await;
            conn.send_frame(true, 0, &raw.as_bytes()[at..]).await;
            conn.hold().await;
        }
    })
    .await;
    let (client, _) = client_for(&server, |b| b);
    let mut stream = reader_once(&client).await;
    let event = expect_event(&mut stream, 1, 1).await;
    assert_eq!(event.text().unwrap(), "fragmented payload");
    let event = expect_event(&mut stream, 1, 2).await;
    assert_eq!(event.key(), Some("é😀"));
}

#[tokio::test]
async fn a_stray_continuation_frame_is_a_typed_error() {
    let server = first_then_good(|mut conn: Conn| async move {
        conn.accept().await;
        conn.send_frame(true, 0, b"orphan").await;
        conn.hold().await;
    })
    .await;
    let (client, events) = client_for(&server, |b| b);
    let mut stream = reader(&client).await.unwrap();
    expect_event(&mut stream, 1, 9).await;
    assert!(lost_with(&events, |e| matches!(e, Error::Protocol(_))));
}

#[tokio::test]
async fn a_flood_of_server_pings_does_not_stop_the_stream() {
    const PINGS_PER_MESSAGE: usize = 2_000;
    let pongs = Arc::new(AtomicUsize::new(0));
    let counter = pongs.clone();
    let server = RawServer::start(move |_, mut conn: Conn| {
        let counter = counter.clone();
        async move {
            conn.accept().await;
            let (read, mut write) = tokio::io::split(conn.io);
            // Read (and count) what the client sends while flooding it.
            let mut reader = Conn {
                io: Box::new(tokio::io::join(read, tokio::io::sink())),
            };
            tokio::spawn(async move {
                while let Some((_, opcode, _)) = reader.read_frame().await {
                    if opcode == 0xA {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
            use tokio::io::AsyncWriteExt;
            let ping = frame(true, 9, b"PING");
            let burst: Vec<u8> = ping
                .iter()
                .copied()
                .cycle()
                .take(ping.len() * PINGS_PER_MESSAGE)
                .collect();
            for entry in 0..10u8 {
                if write.write_all(&burst).await.is_err() {
                    return;
                }
                let text = message(1, entry, format!("{{\"n\":{entry}}}").as_bytes());
                if write
                    .write_all(&frame(true, 1, text.as_bytes()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let _ = write.flush().await;
            std::future::pending::<()>().await;
        }
    })
    .await;
    let (client, _) = client_for(&server, |b| b);
    let mut stream = reader_once(&client).await;
    for entry in 0..10u8 {
        expect_event(&mut stream, 1, entry).await;
    }
    // Pongs went out (tungstenite keeps at most one pending, so fewer than pings).
    within(async {
        while pongs.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn close_frames_with_invalid_codes_are_typed_errors() {
    let closes: Vec<Vec<u8>> = vec![
        999u16.to_be_bytes().to_vec(),
        1005u16.to_be_bytes().to_vec(),
        1006u16.to_be_bytes().to_vec(),
        1015u16.to_be_bytes().to_vec(),
        2999u16.to_be_bytes().to_vec(),
        5000u16.to_be_bytes().to_vec(),
        3u16.to_be_bytes().to_vec(),
        vec![0x03],
        [&1000u16.to_be_bytes()[..], &[0xff, 0xfe]].concat(),
        [&1000u16.to_be_bytes()[..], &[b'x'; 123]].concat(),
    ];
    for payload in closes {
        let shown = format!("{payload:?}");
        let server = RawServer::start(move |_, mut conn: Conn| {
            let payload = payload.clone();
            async move {
                conn.accept().await;
                conn.send_frame(true, 8, &payload).await;
                conn.hold().await;
            }
        })
        .await;
        let (client, _) = client_for(&server, |b| b);
        let mut stream = reader_once(&client).await;
        let error = next(&mut stream).await.unwrap_err();
        assert!(
            matches!(error, Error::Closed { .. } | Error::Protocol(_)),
            "{shown}: {error:?}"
        );
        assert!(error.is_retryable(), "{shown}: {error:?}");
        assert!(within(stream.next()).await.is_none());
    }
}

#[tokio::test]
async fn protocol_violations_after_the_upgrade_are_typed_errors() {
    let bad: Vec<Vec<u8>> = vec![
        vec![0x83, 0x00],                                 // reserved opcode 3
        vec![0xC1, 0x02, b'{', b'}'],                     // RSV1 without an extension
        vec![0x81, 0x82, 1, 2, 3, 4, 0x7a, 0x7f],         // masked server frame
        vec![0x09, 0x00],                                 // fragmented ping
        [vec![0x89, 126, 0, 200], vec![0; 200]].concat(), // ping over 125 bytes
    ];
    for bytes in bad {
        let shown = format!("{bytes:?}");
        let server = RawServer::start(move |_, mut conn: Conn| {
            let bytes = bytes.clone();
            async move {
                conn.accept().await;
                conn.send_raw(&bytes).await;
                conn.hold().await;
            }
        })
        .await;
        let (client, _) = client_for(&server, |b| b);
        let mut stream = reader_once(&client).await;
        let error = next(&mut stream).await.unwrap_err();
        assert!(matches!(error, Error::Protocol(_)), "{shown}: {error:?}");
    }
}

#[tokio::test]
async fn a_server_that_stops_reading_cannot_block_the_stream_forever() {
    // Conn 1 floods 125-byte pings and never reads: the client's pongs fill
    // the socket buffers, and its writes can no longer complete.
    let server = first_then_good(|mut conn: Conn| async move {
        conn.accept().await;
        let ping = frame(true, 9, &[b'p'; 125]);
        let burst: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 1000)
            .collect();
        for _ in 0..400 {
            if !conn.send_raw(&burst).await {
                return;
            }
        }
        std::future::pending::<()>().await;
    })
    .await;
    let (client, events) = client_for(&server, |b| {
        b.ping_interval(Some(Duration::from_millis(200)))
            .pong_timeout(Duration::from_secs(1))
    });
    let mut stream = reader(&client).await.unwrap();
    expect_event(&mut stream, 1, 9).await;
    assert!(lost_with(&events, |e| {
        matches!(e, Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
    }));
}
