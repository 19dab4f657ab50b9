//! Fault injection against `MockPulsar`: every kind of lost connection, and
//! what the application sees afterwards (readers: every event once, in
//! order; consumers: nothing lost) and what the server received.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures::StreamExt;
use pulsar_eventstream::testing::MockMessage;
use pulsar_eventstream::{
    AckMode, Client, ConnectionEvent, Error, ExponentialBackoff, FixedDelay, InitialPosition,
    Position, ReconnectPolicy,
};

fn fast() -> FixedDelay {
    FixedDelay::new(Duration::from_millis(1))
}

/// Reads `ids.len()` events and checks they are exactly `ids`, in order.
async fn expect_exactly(events: &mut pulsar_eventstream::EventStream, ids: &[String]) {
    for (i, expected) in ids.iter().enumerate() {
        let event = next(events)
            .await
            .unwrap_or_else(|e| panic!("item {i}: {e}"));
        assert_eq!(event.message_id().as_str(), expected, "event {i}");
    }
}

#[tokio::test]
async fn reader_sees_every_event_once_in_order_across_drops_at_ten_points() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("ten-drops");
    // Room for every server-side point: with acks grouped the server may run
    // a whole window ahead of the reader when a drop is armed.
    const N: usize = 8000;
    let ids = mock.publish_many(&name, numbered(N));
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .reconnect_policy(fast())
        .subscribe()
        .await
        .unwrap();
    // Drops at application-side points (buffered events are lost with the
    // connection) and at server-side points (mid-flight).
    let app_points = [1, 2, 10, 999, 1000, 1001, 1500];
    let server_points = [7, 333, 1234];
    let mut read = 0;
    for (k, point) in app_points.iter().enumerate() {
        expect_exactly(&mut events, &ids[read..*point]).await;
        read = *point;
        mock.drop_connections();
        within(mock.wait_for_handshakes(k + 2)).await;
    }
    for (k, extra) in server_points.iter().enumerate() {
        // The server drops every connection after `extra` more deliveries;
        // keep reading (in order, no gaps) until the client has reconnected.
        mock.drop_after_delivered(*extra);
        let connections = app_points.len() + k + 2;
        while mock.handshakes().len() < connections {
            expect_exactly(&mut events, &ids[read..read + 1]).await;
            read += 1;
        }
    }
    expect_exactly(&mut events, &ids[read..]).await;
    // Each reconnect resumed right after the last event handed over.
    for handshake in &mock.handshakes()[1..] {
        let start = &handshake.query["messageId"];
        assert!(
            ids.contains(start),
            "resumed from a delivered id, not {start}"
        );
    }
    assert_eq!(
        mock.handshakes().len(),
        1 + app_points.len() + server_points.len()
    );
    events.close().await.unwrap();
}

#[tokio::test]
async fn server_close_codes_and_restart_are_survived() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("closes");
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .reconnect_policy(fast())
        .subscribe()
        .await
        .unwrap();
    let mut all = Vec::new();
    let faults: [&dyn Fn(); 4] = [
        &|| mock.close_connections(Some(1001), "Idle timeout expired"),
        &|| mock.close_connections(None, ""),
        &|| mock.close_connections(Some(1011), "boom"),
        &|| mock.restart(),
    ];
    for (k, fault) in faults.iter().enumerate() {
        let batch = mock.publish_many(&name, numbered(5));
        expect_exactly(&mut events, &batch).await;
        all.extend(batch);
        fault();
        within(mock.wait_for_handshakes(k + 2)).await;
    }
    let last = mock.publish_many(&name, numbered(5));
    expect_exactly(&mut events, &last).await;
}

async fn reconnect_through_status(status: u16) {
    let (mock, client) = setup().await;
    let (name, topic) = topic("statuses");
    let mut events = client
        .consumer(topic, "sub")
        .initial_position(InitialPosition::Earliest)
        .reconnect_policy(fast())
        .subscribe()
        .await
        .unwrap();
    let first = mock.publish_many(&name, numbered(3));
    expect_exactly(&mut events, &first).await;
    mock.fail_handshakes(status, "try later", 2);
    mock.drop_connections();
    let more = mock.publish_many(&name, numbered(3));
    // The third event was in hand when the connection dropped; asking for
    // the next acks it, so the broker's redelivery of it is acked again and
    // not shown to the application a second time.
    expect_exactly(&mut events, &more).await;
    // A barrier: the server handles frames in order, so after this answer it
    // has every ack sent before.
    within(events.end_of_topic()).await.unwrap();
    assert!(mock.acks(&name, "sub").contains(&first[2]));
    let statuses: Vec<u16> = mock.handshakes().iter().map(|h| h.status).collect();
    assert_eq!(statuses, vec![101, status, status, 101], "{status}");
    events.close().await.unwrap();
    assert_eq!(mock.backlog(&name, "sub"), Some(0));
}

#[tokio::test]
async fn retryable_handshake_statuses_are_retried_until_success() {
    for status in [500, 503, 429, 409] {
        reconnect_through_status(status).await;
    }
}

#[tokio::test]
async fn fatal_statuses_end_the_stream_after_exactly_one_attempt() {
    for (status, check) in [
        (
            401u16,
            (|e: &Error| matches!(e, Error::Unauthorized { .. })) as fn(&Error) -> bool,
        ),
        (403, |e| matches!(e, Error::Forbidden { .. })),
        (404, |e| matches!(e, Error::NotFound { .. })),
    ] {
        let (mock, client) = setup().await;
        let (_, topic) = topic("fatal");
        let mut events = client
            .reader(topic)
            .reconnect_policy(fast())
            .subscribe()
            .await
            .unwrap();
        let mut changes = events.connection_events();
        mock.fail_handshakes(status, "no", 5);
        mock.drop_connections();
        let error = next(&mut events).await.unwrap_err();
        assert!(check(&error), "{status}: {error:?}");
        assert!(within(events.next()).await.is_none());
        assert_eq!(mock.handshakes().len(), 2, "one attempt after the drop");
        let mut seen = Vec::new();
        while let Some(change) = within(changes.next()).await {
            let gave_up = matches!(change, ConnectionEvent::GaveUp { .. });
            if matches!(change, ConnectionEvent::Connected { .. }) {
                continue; // the first connection may or may not be observed
            }
            seen.push(change);
            if gave_up {
                break;
            }
        }
        assert!(
            matches!(seen[0], ConnectionEvent::Disconnected { .. }),
            "{seen:?}"
        );
        assert!(
            matches!(seen[1], ConnectionEvent::Reconnecting { attempt: 1, .. }),
            "{seen:?}"
        );
        assert!(
            matches!(&seen[2], ConnectionEvent::GaveUp { error } if check(error)),
            "{seen:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_handshake_times_out_and_is_retried() {
    let mock = pulsar_eventstream::testing::MockPulsar::start()
        .await
        .unwrap();
    let client = Client::builder(mock.service_url())
        .connect_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (name, topic) = topic("slow");
    let timeouts = Arc::new(Mutex::new(0u32));
    let seen = timeouts.clone();
    let healer = mock.clone();
    let policy = move |_attempt: u32, error: &Error| {
        if matches!(error, Error::ConnectTimeout(_)) {
            *seen.lock().unwrap() += 1;
            healer.set_handshake_delay(None); // the server recovers
        }
        Some(Duration::from_millis(1))
    };
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .reconnect_policy(policy)
        .subscribe()
        .await
        .unwrap();
    mock.set_handshake_delay(Some(Duration::from_secs(30)));
    mock.drop_connections();
    let id = mock.publish(&name, MockMessage::new("after"));
    expect_exactly(&mut events, &[id]).await;
    assert_eq!(*timeouts.lock().unwrap(), 1);
}

#[tokio::test]
async fn consumer_loses_nothing_across_drops_during_redelivery_and_with_buffered_acks() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("consumer-drops");
    const N: usize = 2000;
    let ids = mock.publish_many(&name, numbered(N));
    let mut events = client
        .consumer(topic, "sub")
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::Manual)
        .reconnect_policy(fast())
        .subscribe()
        .await
        .unwrap();
    let mut acked = std::collections::BTreeSet::new();
    let mut handed = 0usize;
    while acked.len() < N {
        let event = next(&mut events).await.unwrap();
        handed += 1;
        event.ack().unwrap();
        acked.insert(event.message_id().to_string());
        // Drop right after acks were queued (buffered acks), and again while
        // the broker is redelivering.
        if handed.is_multiple_of(250) {
            mock.drop_connections();
        }
    }
    assert_eq!(acked.len(), N, "every event was handed over");
    assert!(ids.iter().all(|id| acked.contains(id)));
    // Acks written to a connection that died are lost with it; the broker
    // redelivers those events and the client acks them again without
    // showing them: wait (event-driven) until the broker has every ack.
    loop {
        let server: std::collections::BTreeSet<String> =
            mock.acks(&name, "sub").into_iter().collect();
        if ids.iter().all(|id| server.contains(id)) {
            break;
        }
        let seen = mock.acks(&name, "sub").len();
        within(mock.wait_for_acks(&name, "sub", seen + 1)).await;
    }
    assert_eq!(
        mock.backlog(&name, "sub"),
        Some(0),
        "the broker has every ack"
    );
    let extra = tokio::time::timeout(Duration::from_millis(50), events.next()).await;
    assert!(extra.is_err(), "no acked event is shown again: {extra:?}");
    events.close().await.unwrap();
}

#[tokio::test]
async fn fifty_drops_in_a_row_escalate_the_backoff_up_to_its_cap() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("storm");
    let backoff = ExponentialBackoff {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(8),
        ..Default::default()
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let record = log.clone();
    let inner = backoff.clone();
    let policy = move |attempt: u32, error: &Error| {
        let delay = inner.next_delay(attempt, error);
        record.lock().unwrap().push((attempt, delay));
        delay
    };
    let mut events = client
        .reader(topic)
        .reconnect_policy(policy)
        .subscribe()
        .await
        .unwrap();
    for k in 0..50 {
        mock.drop_connections();
        within(mock.wait_for_handshakes(k + 2)).await;
    }
    let id = mock.publish(&name, MockMessage::new("still alive"));
    expect_exactly(&mut events, &[id]).await;
    let log = log.lock().unwrap().clone();
    // Connections that die right after their handshake do not reset the
    // attempt counter: the backoff escalates, capped by the policy.
    let attempts: Vec<u32> = log.iter().map(|(a, _)| *a).collect();
    assert_eq!(attempts, (1..=50).collect::<Vec<_>>());
    for (attempt, delay) in log {
        let delay = delay.unwrap();
        assert!(delay <= backoff.ceiling(attempt), "{attempt}: {delay:?}");
        assert!(delay <= Duration::from_millis(8));
    }
}

#[tokio::test]
async fn a_conflict_storm_never_exceeds_the_policy_rate() {
    let (mock, _) = setup().await;
    let (name, topic) = topic("conflict-storm");
    let dials = Arc::new(Mutex::new(Vec::new()));
    let seen = dials.clone();
    let client = Client::builder(mock.service_url())
        .credentials_provider(move || {
            seen.lock().unwrap().push(std::time::Instant::now());
            async { Ok(pulsar_eventstream::Credentials::none()) }
        })
        .build()
        .unwrap();
    let floor = Duration::from_millis(40);
    let policy = ExponentialBackoff {
        initial: Duration::from_millis(1),
        throttle_floor: floor,
        ..Default::default()
    };
    let mut events = client
        .consumer(topic, "busy")
        .reconnect_policy(policy)
        .subscribe()
        .await
        .unwrap();
    mock.fail_handshakes(409, "Exclusive consumer is already connected", 5);
    mock.drop_connections();
    let id = mock.publish(&name, MockMessage::new("mine at last"));
    expect_exactly(&mut events, &[id]).await;
    let dials = dials.lock().unwrap().clone();
    assert_eq!(dials.len(), 1 + 5 + 1);
    // After each 409 the next dial waited at least the throttle floor.
    for pair in dials[1..].windows(2) {
        assert!(pair[1] - pair[0] >= floor, "{:?}", pair[1] - pair[0]);
    }
}

#[tokio::test]
async fn the_credentials_provider_gives_every_attempt_a_fresh_value() {
    let (mock, _) = setup().await;
    let (name, topic) = topic("fresh");
    let counter = Arc::new(Mutex::new(0u32));
    let c = counter.clone();
    let client = Client::builder(mock.service_url())
        .credentials_provider(move || {
            let n = {
                let mut n = c.lock().unwrap();
                *n += 1;
                *n
            };
            async move { Ok(pulsar_eventstream::Credentials::token(format!("t{n}"))) }
        })
        .build()
        .unwrap();
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .reconnect_policy(fast())
        .subscribe()
        .await
        .unwrap();
    mock.fail_handshakes(503, "starting", 1);
    // Drop, 503, success; then drop, success.
    for total in [3, 4] {
        mock.drop_connections();
        within(mock.wait_for_handshakes(total)).await;
    }
    let id = mock.publish(&name, MockMessage::new("x"));
    expect_exactly(&mut events, &[id]).await;
    let tokens: Vec<String> = mock
        .handshakes()
        .iter()
        .map(|h| h.header("authorization").unwrap_or_default().to_string())
        .collect();
    let expected: Vec<String> = (1..=tokens.len()).map(|n| format!("Bearer t{n}")).collect();
    assert_eq!(tokens, expected);
    assert_eq!(*counter.lock().unwrap() as usize, tokens.len());
}
