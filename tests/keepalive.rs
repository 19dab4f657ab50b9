//! Liveness: client pings, a dead peer detected by the missing pong, and the
//! no-events watchdog for a peer that answers pings but sends nothing.

mod common;

use std::time::Duration;

use common::*;
use pulsar_eventstream::testing::{ClientFrameKind, MockMessage};
use pulsar_eventstream::{Client, Error, FixedDelay, Position};

fn fast() -> FixedDelay {
    FixedDelay::new(Duration::from_millis(1))
}

#[tokio::test]
async fn client_pings_on_its_interval() {
    let (mock, _) = setup().await;
    let (_, topic) = topic("pings");
    let client = Client::builder(mock.service_url())
        .ping_interval(Some(Duration::from_millis(20)))
        .build()
        .unwrap();
    let events = client.reader(topic).subscribe().await.unwrap();
    // Event-driven: wait until the server has seen three pings.
    loop {
        let pings = mock
            .commands()
            .iter()
            .filter(|c| c.kind == ClientFrameKind::Ping)
            .count();
        if pings >= 3 {
            break;
        }
        let seen = mock.commands().len();
        within(mock.wait_for_commands(seen + 1)).await;
    }
    events.close().await.unwrap();
}

#[tokio::test]
async fn a_silent_peer_is_detected_and_the_stream_reconnects() {
    let (mock, _) = setup().await;
    let (name, topic) = topic("silent");
    let client = Client::builder(mock.service_url())
        .ping_interval(Some(Duration::from_millis(50)))
        .pong_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .reconnect_policy(fast())
        .subscribe()
        .await
        .unwrap();
    let mut changes = events.connection_events();
    mock.freeze(true); // no frames, no pongs, socket open
    let lost = next_disconnect(&mut changes).await;
    assert!(
        matches!(lost, Error::KeepaliveTimeout(d) if d == Duration::from_millis(100)),
        "{lost:?}"
    );
    mock.freeze(false);
    let id = mock.publish(&name, MockMessage::new("alive again"));
    let event = next(&mut events).await.unwrap();
    assert_eq!(event.message_id().as_str(), id);
}

#[tokio::test]
async fn the_no_events_watchdog_catches_a_peer_that_only_pongs() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("watchdog");
    let first = mock.publish(&name, MockMessage::new("before"));
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .no_events_timeout(Duration::from_millis(200))
        .reconnect_policy(fast())
        .subscribe()
        .await
        .unwrap();
    let mut changes = events.connection_events();
    assert_eq!(
        next(&mut events).await.unwrap().message_id().as_str(),
        first
    );
    // The proxy's consumer died: pings are answered, nothing else comes.
    mock.pause_delivery(true);
    let second = mock.publish(&name, MockMessage::new("stuck behind a dead consumer"));
    let lost = next_disconnect(&mut changes).await;
    assert!(matches!(lost, Error::Stalled(_)), "{lost:?}");
    mock.pause_delivery(false);
    let event = next(&mut events).await.unwrap();
    assert_eq!(event.message_id().as_str(), second);
    assert!(mock.handshakes().len() >= 2);
    assert_eq!(
        mock.handshakes().last().unwrap().query["messageId"],
        first,
        "resumed right after the last event handed over"
    );
}
