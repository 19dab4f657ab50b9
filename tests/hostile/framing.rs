//! Hostile framing after the upgrade: invalid UTF-8, binary frames, fragmented messages, a
//! stray continuation frame, and protocol violations (reserved opcodes and bits, masking,
//! oversized or fragmented control frames).

use super::{
    client_for, expect_event, first_then_good, lost_with, reader, reader_once, text_frame,
    upgraded_then,
};
use crate::common::next;
use crate::common::raw::{frame, message, wire_id, Conn, RawServer};
use pulsar_eventstream::Error;

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
async fn binary_frames_are_one_error_item_each() {
    let server = upgraded_then(
        [
            frame(true, 2, &[0, 1, 2]),
            frame(true, 2, &vec![7; 100_000]),
            frame(false, 2, b"frag"),
            frame(true, 0, b"mented"),
            text_frame(&message(1, 1, b"text")),
        ]
        .concat(),
    )
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
        let server = upgraded_then(bytes).await;
        let (client, _) = client_for(&server, |b| b);
        let mut stream = reader_once(&client).await;
        let error = next(&mut stream).await.unwrap_err();
        assert!(matches!(error, Error::Protocol(_)), "{shown}: {error:?}");
    }
}
