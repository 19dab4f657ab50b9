//! Ack grouping (`ack_group_time`): acks gathered for the group time are
//! still written at once when a quarter window of them is waiting, when the
//! application makes any other request, on close, and when the stream is
//! dropped. Each test uses a group time of an hour, so that only those
//! triggers can explain what the server receives.

mod common;

use std::time::Duration;

use common::*;
use pulsar_eventstream::{AckMode, PullMode};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_quarter_window_of_acks_is_written_without_waiting_for_the_group() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("group-batch");
    let mut events = within(client.consumer(topic, "s").ack_group_time(HOUR).subscribe())
        .await
        .unwrap();
    mock.publish_many(&name, numbered(400));
    // Auto acks: asking for event n + 1 acks event n, so 299 acks. The
    // window is 1000: every 250 acks wake the socket task.
    take_events(&mut events, 300).await;
    within(mock.wait_for_acks(&name, "s", 250)).await;
    // Any other request ends the group at once.
    assert!(!within(events.end_of_topic()).await.unwrap());
    within(mock.wait_for_acks(&name, "s", 299)).await;
    within(events.close()).await.unwrap();
    assert_eq!(mock.acks(&name, "s").len(), 300);
}

#[tokio::test]
async fn permits_and_manual_acks_are_not_held_by_the_group() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("group-pull");
    let mut events = within(
        client
            .consumer(topic, "s")
            .ack_mode(AckMode::Manual)
            .pull_mode(PullMode::Manual)
            .ack_group_time(HOUR)
            .subscribe(),
    )
    .await
    .unwrap();
    mock.publish_many(&name, numbered(10));
    events.permit(4).unwrap();
    let first = take_events(&mut events, 4).await;
    for event in &first {
        event.ack().unwrap();
    }
    // The permit ends the group the acks opened: the next four come.
    events.permit(4).unwrap();
    let second = take_events(&mut events, 4).await;
    within(mock.wait_for_acks(&name, "s", 4)).await;
    for event in &second {
        event.ack().unwrap();
    }
    within(events.close()).await.unwrap();
    assert_eq!(mock.acks(&name, "s").len(), 8);
}

#[tokio::test]
async fn dropping_the_stream_writes_the_grouped_acks() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("group-drop");
    let mut events = within(client.consumer(topic, "s").ack_group_time(HOUR).subscribe())
        .await
        .unwrap();
    mock.publish_many(&name, numbered(20));
    take_events(&mut events, 11).await; // acks the first 10
    drop(events);
    within(mock.wait_for_acks(&name, "s", 10)).await;
    within(mock.wait_for_client_closes(1)).await;
    assert_eq!(mock.acks(&name, "s").len(), 10);
}
