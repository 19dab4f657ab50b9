//! Hostile control frames: a flood of pings, close frames with invalid codes or reasons, and a
//! server that floods pings and stops reading, so that the client's writes cannot complete.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::{
    client_for, expect_event, first_then_good, lost_with, reader, reader_once, upgraded_then,
};
use crate::common::raw::{frame, message, Conn, RawServer};
use crate::common::{next, within};
use pulsar_eventstream::Error;

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
        let server = upgraded_then(frame(true, 8, &payload)).await;
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
