//! Errors as the application sees them: handshake statuses, bad frames from
//! the server (one `Err` item each, the stream goes on), connect timeouts.

mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use pulsar_eventstream::testing::{MockMessage, RawFrame};
use pulsar_eventstream::{Client, Error, NeverReconnect, Position};

/// Recognises the expected error variant.
type Check = fn(&Error) -> bool;

#[tokio::test]
async fn each_handshake_status_maps_to_its_error() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("statuses");
    let cases: [(u16, Check); 9] = [
        (400, |e| matches!(e, Error::BadRequest { .. })),
        (401, |e| matches!(e, Error::Unauthorized { .. })),
        (403, |e| matches!(e, Error::Forbidden { .. })),
        (404, |e| matches!(e, Error::NotFound { .. })),
        (409, |e| matches!(e, Error::Conflict { .. })),
        (429, |e| matches!(e, Error::TooManyRequests { .. })),
        (500, |e| matches!(e, Error::ServerError { status: 500, .. })),
        (503, |e| matches!(e, Error::ServerError { status: 503, .. })),
        (418, |e| {
            matches!(e, Error::UnexpectedStatus { status: 418, .. })
        }),
    ];
    for (status, is_expected) in cases {
        let body =
            format!("<html><body><h2>HTTP ERROR {status}</h2><p>reason {status}</p></body></html>");
        mock.fail_handshakes(status, &body, 1);
        let error = client.reader(topic.clone()).subscribe().await.unwrap_err();
        assert!(is_expected(&error), "{status}: {error:?}");
        assert_eq!(error.status(), Some(status));
        assert!(
            error.to_string().contains(&format!("reason {status}")),
            "{error}"
        );
        assert!(!error.to_string().contains('<'), "HTML stripped: {error}");
        let retryable = matches!(status, 409 | 429 | 500 | 503);
        assert_eq!(error.is_retryable(), retryable, "{status}");
    }
    // Each failure was exactly one attempt.
    assert_eq!(mock.handshakes().len(), 9);
}

#[tokio::test]
async fn real_server_refusals_are_typed_too() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("refusals");
    let (forbidden_name, forbidden) = self::topic("forbidden");
    // Exclusive subscription already taken.
    let first = client
        .consumer(topic.clone(), "only-one")
        .subscribe()
        .await
        .unwrap();
    let second = client.consumer(topic.clone(), "only-one").subscribe().await;
    assert!(matches!(second, Err(Error::Conflict { .. })), "{second:?}");
    first.close().await.unwrap();
    // Forbidden topic.
    mock.forbid_topic(&forbidden_name);
    let denied = client.reader(forbidden).subscribe().await;
    assert!(matches!(denied, Err(Error::Forbidden { .. })), "{denied:?}");
    // Wrong API key.
    mock.require_api_key(Some("right"));
    let wrong = Client::builder(mock.service_url())
        .api_key("wrong")
        .build()
        .unwrap();
    let refused = wrong.reader(topic.clone()).subscribe().await;
    assert!(
        matches!(refused, Err(Error::Unauthorized { .. })),
        "{refused:?}"
    );
    let right = Client::builder(mock.service_url())
        .api_key("right")
        .build()
        .unwrap();
    right
        .reader(topic)
        .subscribe()
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_handshake_that_never_completes_times_out() {
    let (mock, _) = setup().await;
    let (_, topic) = topic("slow");
    mock.set_handshake_delay(Some(Duration::from_secs(30)));
    let client = Client::builder(mock.service_url())
        .connect_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = within(client.reader(topic).subscribe()).await.unwrap_err();
    assert!(
        matches!(error, Error::ConnectTimeout(d) if d == Duration::from_millis(200)),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn nothing_listening_is_an_io_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder(format!("ws://{addr}")).build().unwrap();
    let (_, topic) = topic("nobody");
    let error = within(client.reader(topic).subscribe()).await.unwrap_err();
    assert!(matches!(error, Error::Io(_)), "{error:?}");
}

#[tokio::test]
async fn each_malformed_frame_is_one_error_item_and_the_stream_goes_on() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("malformed");
    let mut events = client.reader(topic).subscribe().await.unwrap();
    let bad: Vec<(RawFrame, Check)> = vec![
        (RawFrame::Text("not json".into()), |e| {
            matches!(e, Error::InvalidFrame { .. })
        }),
        (RawFrame::Text("[1,2,3]".into()), |e| {
            matches!(e, Error::InvalidFrame { .. })
        }),
        (RawFrame::Text(r#"{"payload":"e30="}"#.into()), |e| {
            matches!(
                e,
                Error::MissingField {
                    field: "messageId",
                    ..
                }
            )
        }),
        (RawFrame::Text(r#"{"messageId":"CAcQBzAA"}"#.into()), |e| {
            matches!(
                e,
                Error::MissingField {
                    field: "payload",
                    message_id: Some(_)
                }
            )
        }),
        (
            RawFrame::Text(r#"{"messageId":"CAcQCDAA","payload":"@@not base64@@"}"#.into()),
            |e| matches!(e, Error::InvalidPayload { .. }),
        ),
        (
            RawFrame::Text(r#"{"messageId":"!!!","payload":"e30="}"#.into()),
            |e| matches!(e, Error::InvalidMessageId { .. }),
        ),
        (
            RawFrame::Text(
                r#"{"messageId":"CAcQCTAA","payload":"e30=","properties":{"a":1}}"#.into(),
            ),
            |e| matches!(e, Error::InvalidFrame { .. }),
        ),
        (RawFrame::Binary(vec![1, 2, 3]), |e| {
            matches!(e, Error::BinaryFrame { len: 3 })
        }),
    ];
    let count = bad.len();
    for (frame, _) in &bad {
        mock.send_raw(frame.clone());
    }
    let good = mock.publish(&name, MockMessage::new("still here"));
    for (i, (_, is_expected)) in bad.iter().enumerate() {
        let error = next(&mut events).await.unwrap_err();
        assert!(is_expected(&error), "frame {i}: {error:?}");
        assert!(error.is_decode_error(), "frame {i}");
    }
    let event = next(&mut events).await.unwrap();
    assert_eq!(event.message_id().as_str(), good);
    assert_eq!(mock.open_connections(), 1, "still the same connection");
    assert_eq!(mock.handshakes().len(), 1);
    // Each bad text frame was answered, so the reader's window does not shrink.
    events.close().await.unwrap();
    assert_eq!(
        texts(&mock).len(),
        count - 1 + 1,
        "one flow-control frame per bad text frame, one ack"
    );
}

#[tokio::test]
async fn a_lost_connection_without_reconnect_ends_with_one_error() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("lost");
    mock.publish_many(&name, numbered(2));
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .reconnect_policy(NeverReconnect)
        .subscribe()
        .await
        .unwrap();
    take_events(&mut events, 2).await;
    mock.drop_connections();
    let error = next(&mut events).await.unwrap_err();
    assert!(
        matches!(error, Error::Closed { code: 1006, .. }),
        "{error:?}"
    );
    assert!(
        within(events.next()).await.is_none(),
        "the stream ends after its fatal error"
    );
}

#[tokio::test]
async fn server_close_codes_are_reported() {
    for (code, expected) in [
        (Some(1001), 1001),
        (None, 1005),
        (Some(1011), 1011),
        (Some(4999), 4999),
    ] {
        let (mock, client) = setup().await;
        let (_, topic) = topic("close-codes");
        let mut events = client
            .reader(topic)
            .reconnect_policy(NeverReconnect)
            .subscribe()
            .await
            .unwrap();
        mock.close_connections(code, "bye");
        let error = next(&mut events).await.unwrap_err();
        assert!(
            matches!(error, Error::Closed { code: c, .. } if c == expected),
            "{error:?}"
        );
        assert!(error.is_retryable());
    }
}

#[tokio::test]
async fn a_refused_upgrade_with_a_chunked_body_shows_only_its_text() {
    use common::raw::{Conn, RawServer};
    let server = RawServer::start(|_, mut conn: Conn| async move {
        conn.read_request().await;
        conn.send_raw(
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n\
              7\r\nFailed \r\nf;x=y\r\nto authenticate\r\n0\r\n\r\n",
        )
        .await;
        conn.hold().await;
    })
    .await;
    let client = Client::builder(server.url()).build().unwrap();
    let (_, topic) = topic("chunked-refusal");
    let error = within(
        client
            .reader(topic)
            .reconnect_policy(NeverReconnect)
            .subscribe(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::Unauthorized { body } if body == "Failed to authenticate"),
        "{error:?}"
    );
}
