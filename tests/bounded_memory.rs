//! Memory stays bounded whatever a hostile server streams: the peak resident
//! set of this process (Linux `VmHWM`, reset through `/proc/self/clear_refs`)
//! grows by a few MiB while the server pushes hundreds, and while an
//! application offers a producer hundreds of MiB that a silent server never
//! confirms; a single 100 MB payload costs a small multiple of its frame. One test, so that nothing else runs in the process meanwhile.
#![cfg(target_os = "linux")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::raw::{message, Conn, RawServer};
use common::{setup, topic, within};
use futures::StreamExt;
use pulsar_eventstream::{Client, Error, Message, NeverReconnect, Position};

const MIB: usize = 1 << 20;

fn status(field: &str) -> usize {
    let text = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| {
            v.trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .expect("a kB field")
        * 1024
}

/// Runs `scenario` and returns how far the peak RSS rose above the RSS
/// before it.
async fn peak_growth<F: std::future::Future<Output = ()>>(scenario: F) -> usize {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM (Linux, own process)");
    let before = status("VmRSS:");
    scenario.await;
    status("VmHWM:").saturating_sub(before)
}

/// A server that answers every connection with `head` and then streams
/// `chunk` until the client leaves or `cap` bytes went out.
async fn streaming(head: Vec<u8>, chunk: Vec<u8>, cap: usize, sent: Arc<AtomicUsize>) -> RawServer {
    RawServer::start(move |_, mut conn: Conn| {
        let (head, chunk, sent) = (head.clone(), chunk.clone(), sent.clone());
        async move {
            conn.read_request().await;
            conn.send_raw(&head).await;
            while sent.load(Ordering::SeqCst) < cap && conn.send_raw(&chunk).await {
                sent.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
    })
    .await
}

async fn connect(
    server: &RawServer,
    max: usize,
) -> pulsar_eventstream::Result<pulsar_eventstream::EventStream> {
    let client = Client::builder(server.url())
        .max_message_size(max)
        .ping_interval(None)
        .build()
        .unwrap();
    let (_, topic) = topic("memory");
    within(
        client
            .reader(topic)
            .position(Position::Earliest)
            .reconnect_policy(NeverReconnect)
            .subscribe(),
    )
    .await
}

/// The upgrade's accept line for a raw head: the raw server answers the
/// upgrade itself first.
async fn upgraded_streaming(
    frames_head: Vec<u8>,
    chunk: Vec<u8>,
    cap: usize,
    sent: Arc<AtomicUsize>,
) -> RawServer {
    RawServer::start(move |_, mut conn: Conn| {
        let (head, chunk, sent) = (frames_head.clone(), chunk.clone(), sent.clone());
        async move {
            conn.accept().await;
            conn.send_raw(&head).await;
            while sent.load(Ordering::SeqCst) < cap && conn.send_raw(&chunk).await {
                sent.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
    })
    .await
}

/// Peak RSS growth while a stream with `max` as its limit receives one
/// message of `len` payload bytes, and the message frame's length. The
/// server's frame is built before the measurement and written without a
/// copy, so it is not counted.
async fn one_payload(len: usize, max: usize) -> (usize, usize) {
    let text = message(1, 1, &vec![9u8; len]);
    let frame_len = text.len();
    let frame = Arc::new(common::raw::frame(true, 1, text.as_bytes()));
    drop(text);
    let server = RawServer::start(move |_, mut conn: Conn| {
        let frame = frame.clone();
        async move {
            conn.accept().await;
            conn.send_raw(&frame).await;
            conn.hold().await;
        }
    })
    .await;
    let growth = peak_growth(async {
        let mut stream = connect(&server, max).await.unwrap();
        let event = within(futures::StreamExt::next(&mut stream))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.payload().len(), len);
        assert!(event.payload().iter().all(|b| *b == 9));
    })
    .await;
    (growth, frame_len)
}

#[tokio::test]
async fn memory_stays_bounded_whatever_the_server_streams() {
    let chunk = vec![b'x'; 64 * 1024];
    let mut report = Vec::new();

    // A producer whose server stops answering: the application offers
    // 20,000 messages of 16 KiB (320 MiB), each its own allocation; the
    // producer takes one window's worth (100) and then stops taking.
    let (mock, client) = setup().await;
    let (_, topic) = topic("silent-producer");
    let producer = within(client.producer(topic).max_in_flight(100).create())
        .await
        .unwrap();
    mock.pause_receipts(true);
    let taken = Arc::new(AtomicUsize::new(0));
    let mut forward = None;
    let growth = peak_growth(async {
        let taken = taken.clone();
        let source = futures::stream::iter(0..20_000).map(move |_| {
            taken.fetch_add(1, Ordering::SeqCst);
            Ok(Message::new(vec![b'p'; 16 * 1024]))
        });
        forward = Some(tokio::spawn(source.forward(producer.sink())));
        within(mock.wait_for_held_receipts(100)).await;
    })
    .await;
    // `forward` holds at most one message besides the window.
    let taken = taken.load(Ordering::SeqCst);
    assert!(taken <= 101, "the producer took {taken} messages");
    assert_eq!(producer.in_flight(), 100);
    let forward = forward.expect("spawned");
    assert!(!forward.is_finished());
    forward.abort();
    report.push(("silent producer server", growth, 20_000 * 16 * 1024));

    // An endless non-101 body (the client reads at most 16 KiB of it).
    let sent = Arc::new(AtomicUsize::new(0));
    let server = streaming(
        b"HTTP/1.1 503 Service Unavailable\r\n\r\n".to_vec(),
        chunk.clone(),
        512 * MIB,
        sent.clone(),
    )
    .await;
    let growth = peak_growth(async {
        let error = connect(&server, 8 * MIB).await.unwrap_err();
        assert!(
            matches!(error, Error::ServerError { status: 503, .. }),
            "{error:?}"
        );
    })
    .await;
    report.push(("endless non-101 body", growth, sent.load(Ordering::SeqCst)));

    // An endless response head (bounded at 64 KiB).
    let sent = Arc::new(AtomicUsize::new(0));
    let line = format!("X-Junk: {}\r\n", "a".repeat(1000)).into_bytes();
    let server = streaming(
        b"HTTP/1.1 500 X\r\n".to_vec(),
        line,
        512 * MIB,
        sent.clone(),
    )
    .await;
    let growth = peak_growth(async {
        let error = connect(&server, 8 * MIB).await.unwrap_err();
        assert!(matches!(error, Error::Protocol(_)), "{error:?}");
    })
    .await;
    report.push(("endless response head", growth, sent.load(Ordering::SeqCst)));

    // A frame announcing 1 GiB, then its bytes.
    let sent = Arc::new(AtomicUsize::new(0));
    let mut head = vec![0x81, 127];
    head.extend_from_slice(&(1u64 << 30).to_be_bytes());
    let server = upgraded_streaming(head, chunk.clone(), 512 * MIB, sent.clone()).await;
    let growth = peak_growth(async {
        let mut stream = connect(&server, 8 * MIB).await.unwrap();
        let error = within(futures::StreamExt::next(&mut stream))
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(error, Error::FrameTooLarge(_)), "{error:?}");
    })
    .await;
    report.push(("1 GiB frame header", growth, sent.load(Ordering::SeqCst)));

    // Endless 64 KiB continuation fragments of one message (8 MiB limit).
    let sent = Arc::new(AtomicUsize::new(0));
    let first = common::raw::frame(false, 1, b"{");
    let fragment = common::raw::frame(false, 0, &chunk);
    let server = upgraded_streaming(first, fragment, 512 * MIB, sent.clone()).await;
    let growth = peak_growth(async {
        let mut stream = connect(&server, 8 * MIB).await.unwrap();
        let error = within(futures::StreamExt::next(&mut stream))
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(error, Error::FrameTooLarge(_)), "{error:?}");
    })
    .await;
    report.push(("endless fragments", growth, sent.load(Ordering::SeqCst)));

    // One large payload within the limit: about frame + payload, not a
    // multiple. 5 MB within the default limit, then 100 MB (133 MB of
    // base64) within a raised one.
    let (growth, frame_len) = one_payload(5_000_000, 8 * MIB).await;
    report.push(("5 MB payload", growth, frame_len));
    let (growth, frame_len) = one_payload(100_000_000, 160 * MIB).await;
    report.push(("100 MB payload", growth, frame_len));

    eprintln!("{report:#?}");
    for (what, growth, _) in &report[..5] {
        assert!(
            *growth < 24 * MIB,
            "{what}: peak RSS grew {} MiB",
            growth / MIB
        );
    }
    assert!(
        report[5].1 < 64 * MIB,
        "5 MB payload: peak RSS grew {} MiB",
        report[5].1 / MIB
    );
    // The frame as read (133 MB; the socket's read buffer grows by
    // reallocation, so twice that for a moment) and the decoded payload
    // (100 MB): about 2.6 frames measured, bounded here at 4.
    assert!(
        report[6].1 < 4 * report[6].2,
        "100 MB payload: peak RSS grew {} MiB",
        report[6].1 / MIB
    );
}
