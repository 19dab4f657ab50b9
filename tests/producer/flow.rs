//! Producer flow: back-pressure at `max_in_flight`, a silent server never getting more than the
//! window, `flush` and `close` waiting for receipts, dropped handles, 10,000 pipelined sends
//! (through the sink and from many tasks), a sink's bookkeeping bounded by the window however many
//! messages pass, and a refused message in the sink.

use std::collections::HashSet;
use std::future::poll_fn;
use std::pin::Pin;

use futures::{stream, FutureExt, Sink, SinkExt, StreamExt};

use super::{all_ok, enqueue_texts, producer, producer_frames, read_back};
use crate::common::*;
use pulsar_eventstream::testing::ClientFrameKind;
use pulsar_eventstream::{Error, Message};

#[tokio::test]
async fn back_pressure_holds_the_send_after_max_in_flight() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("window");
    let producer = client
        .producer(topic)
        .max_in_flight(4)
        .create()
        .await
        .unwrap();
    mock.pause_receipts(true);
    let receipts = enqueue_texts(&producer, 0..4).await;
    within(mock.wait_for_held_receipts(4)).await;
    assert_eq!(producer.in_flight(), 4);
    // The fifth waits for room: it is not even handed to the connection.
    let mut fifth = Box::pin(producer.send(Message::text("m4")));
    assert!(futures::poll!(&mut fifth).is_pending());
    let mut sink = producer.sink();
    assert!(futures::poll!(poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx))).is_pending());
    for _ in 0..10 {
        tokio::task::yield_now().await;
        assert!(futures::poll!(&mut fifth).is_pending());
    }
    assert_eq!(producer_frames(&mock).len(), 4);
    assert_eq!(producer.in_flight(), 4);
    // Receipts free the window.
    mock.pause_receipts(false);
    all_ok(receipts).await;
    within(fifth).await.unwrap();
    within(poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx)))
        .await
        .unwrap();
    Pin::new(&mut sink).start_send(Message::text("m5")).unwrap();
    within(sink.flush()).await.unwrap();
    assert_eq!(producer_frames(&mock).len(), 6);
    assert_eq!(producer.in_flight(), 0);
}

#[tokio::test]
async fn a_silent_server_never_gets_more_than_the_window() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("silent");
    let producer = client
        .producer(topic)
        .max_in_flight(50)
        .create()
        .await
        .unwrap();
    mock.pause_receipts(true);
    let writer = producer.clone();
    let task = tokio::spawn(async move {
        stream::iter(0..10_000)
            .map(|i| Ok(Message::text(format!("m{i}"))))
            .forward(writer.into_sink())
            .await
    });
    within(mock.wait_for_held_receipts(50)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert_eq!(producer_frames(&mock).len(), 50);
    assert_eq!(producer.in_flight(), 50);
    assert!(!task.is_finished());
    task.abort();
}

#[tokio::test]
async fn flush_waits_for_every_outstanding_receipt() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "flush").await;
    within(producer.flush()).await.unwrap(); // nothing outstanding
    mock.pause_receipts(true);
    let mut receipts = enqueue_texts(&producer, 0..3).await;
    within(mock.wait_for_held_receipts(3)).await;
    let mut flush = Box::pin(producer.flush());
    assert!(futures::poll!(&mut flush).is_pending());
    mock.pause_receipts(false);
    within(flush).await.unwrap();
    for receipt in receipts.iter_mut() {
        let id = receipt
            .now_or_never()
            .expect("resolved before flush returned");
        id.unwrap();
    }
}

#[tokio::test]
async fn close_waits_for_receipts_then_closes_with_1000() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "close").await;
    let clone = producer.clone();
    mock.pause_receipts(true);
    let receipts = enqueue_texts(&producer, 0..3).await;
    within(mock.wait_for_held_receipts(3)).await;
    let mut close = Box::pin(producer.close());
    assert!(futures::poll!(&mut close).is_pending());
    assert!(mock.client_closes().is_empty());
    mock.pause_receipts(false);
    within(close).await.unwrap();
    all_ok(receipts).await;
    let closes = mock.client_closes();
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].code, Some(1000));
    let kinds: Vec<ClientFrameKind> = mock.commands().into_iter().map(|c| c.kind).collect();
    assert!(matches!(kinds.last(), Some(ClientFrameKind::Close)));
    // Every clone is closed.
    let late = clone.send(Message::text("late")).await;
    assert!(matches!(late, Err(Error::StreamClosed)), "{late:?}");
    within(clone.close()).await.unwrap();
}

#[tokio::test]
async fn dropping_every_handle_still_delivers_what_was_enqueued() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "dropped").await;
    mock.pause_receipts(true);
    let receipts = enqueue_texts(&producer, 0..2).await;
    drop(producer);
    within(mock.wait_for_held_receipts(2)).await;
    assert!(mock.client_closes().is_empty());
    mock.pause_receipts(false);
    all_ok(receipts).await;
    within(mock.wait_for_client_closes(1)).await;
    assert_eq!(mock.client_closes()[0].code, Some(1000));
}

#[tokio::test]
async fn ten_thousand_pipelined_sends_are_all_confirmed() {
    let (mock, client) = setup().await;
    let (name, _) = topic("many");
    let producer = producer(&client, "many").await;
    const N: usize = 10_000;
    let messages = stream::iter(0..N).map(|i| Ok(Message::text(i.to_string())));
    within(messages.forward(producer.sink())).await.unwrap();
    assert_eq!(producer.in_flight(), 0);
    assert_eq!(mock.message_ids(&name).len(), N);
    let events = read_back(&client, "many", N).await;
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.text().unwrap(), i.to_string());
    }
    // And from many tasks at once through clones, with send().
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let producer = producer.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..250 {
                    ids.push(producer.send(Message::text(format!("{t}-{i}"))).await?);
                }
                Ok::<_, Error>(ids)
            })
        })
        .collect();
    let mut all = HashSet::new();
    for task in tasks {
        let ids = within(task).await.unwrap().unwrap();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "one task's sends keep their order"
        );
        all.extend(ids);
    }
    assert_eq!(all.len(), 2000);
    assert_eq!(mock.message_ids(&name).len(), N + 2000);
    within(producer.close()).await.unwrap();
}

#[tokio::test]
async fn the_sink_reports_a_refused_message_once_and_goes_on() {
    let (mock, client) = setup().await;
    let producer = producer(&client, "sink").await;
    let mut sink = producer.sink();
    mock.fail_next_sends(8, "topic terminated", 1);
    let error = within(sink.send(Message::text("refused")))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::SendFailed { code: 8, .. }),
        "{error:?}"
    );
    within(sink.send(Message::text("accepted"))).await.unwrap();
    assert_eq!(sink.pending(), 0);
    within(sink.close()).await.unwrap();
    let closed = within(sink.send(Message::text("after close"))).await;
    assert!(matches!(closed, Err(Error::StreamClosed)), "{closed:?}");
    within(producer.close()).await.unwrap();
}

/// The sink's own record of its messages must not grow with the number that
/// passed through it: only the window's worth is ever outstanding. (It once
/// kept a future per message and, on a multi-threaded runtime, collected
/// them more slowly than receipts arrived.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sinks_bookkeeping_stays_within_the_window_however_many_pass() {
    let (_mock, client) = setup().await;
    let (_, topic) = topic("sink-bookkeeping");
    let producer = within(client.producer(topic).max_in_flight(100).create())
        .await
        .unwrap();
    let mut sink = producer.sink();
    let mut most = 0;
    for i in 0..20_000 {
        within(sink.feed(Message::text(format!("m{i}"))))
            .await
            .unwrap();
        most = most.max(sink.pending());
    }
    within(sink.flush()).await.unwrap();
    assert!(most <= 100, "the sink held {most} unsettled messages");
    assert_eq!(sink.pending(), 0);
    assert_eq!(producer.stats().receipts, 20_000);
}
