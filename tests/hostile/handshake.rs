//! Hostile handshakes: never answered, an endless or crowded response head, an endless or
//! stalled body on a refusal, and upgrade answers that are not a valid 101.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{client_for, reader};
use crate::common::raw::{Conn, RawServer};
use crate::common::within;
use pulsar_eventstream::Error;

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
