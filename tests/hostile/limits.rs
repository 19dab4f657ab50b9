//! Hostile sizes and depths: frames and fragmented messages over the maximum message size,
//! JSON nested 100,000 deep, a million properties, and a large payload within the limit.

use base64::Engine as _;
use futures::StreamExt;

use super::{
    client_for, expect_event, first_then_good, lost_with, reader, reader_once, text_frame,
    upgraded_then,
};
use crate::common::raw::{message, wire_id, Conn, RawServer};
use crate::common::{next, within};
use pulsar_eventstream::Error;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

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
async fn deeply_nested_json_is_a_typed_error_without_stack_overflow() {
    const DEPTH: usize = 100_000;
    let nested = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let deep_payload = B64.encode(&nested);
    let frames = [
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
    let server = upgraded_then(frames.iter().flat_map(|f| text_frame(f)).collect()).await;
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
    let server = upgraded_then(text_frame(&text)).await;
    let (client, _) = client_for(&server, |b| b);
    let mut stream = reader_once(&client).await;
    let event = expect_event(&mut stream, 1, 1).await;
    assert_eq!(event.payload().len(), payload.len());
    assert!(event.payload()[..] == payload[..]);
}
