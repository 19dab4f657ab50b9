//! The handler API against `MockPulsar`: results become acks and nacks,
//! concurrency is bounded, per-key order holds, panics are contained, and a
//! graceful stop loses nothing.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use pulsar_eventstream::testing::MockMessage;
use pulsar_eventstream::{Event, InitialPosition, SubscriptionType};

#[tokio::test]
async fn ok_acks_err_nacks_and_redelivers_then_dead_letters() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("handler-results");
    let ids = mock.publish_many(
        &name,
        [
            MockMessage::new("good"),
            MockMessage::new("poison"),
            MockMessage::new("good too"),
        ],
    );
    let events = client
        .consumer(topic, "h")
        .initial_position(InitialPosition::Earliest)
        .subscription_type(SubscriptionType::Shared)
        .negative_ack_redelivery_delay(Duration::ZERO)
        .max_redeliver_count(2)
        .subscribe()
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let dlq = format!("{name}-h-DLQ");
    let watcher = mock.clone();
    let dead = dlq.clone();
    let report = events
        .handler(move |event: Event| {
            let log = log.clone();
            async move {
                let text = event.text().unwrap().to_string();
                log.lock()
                    .unwrap()
                    .push((text.clone(), event.redelivery_count()));
                if text == "poison" {
                    Err(format!("cannot handle {text}"))
                } else {
                    Ok(())
                }
            }
        })
        .concurrency(4)
        .until(async move { watcher.wait_for_messages(&dead, 1).await })
        .run()
        .await
        .unwrap();
    assert_eq!(report.succeeded, 2);
    assert_eq!(report.failed, 3, "first delivery and two redeliveries");
    let poison: Vec<u32> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == "poison")
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(poison, vec![0, 1, 2], "redelivered with a growing count");
    assert_eq!(mock.nacks(&name, "h"), vec![ids[1].clone(); 3]);
    let acked = mock.acks(&name, "h");
    assert!(acked.contains(&ids[0]) && acked.contains(&ids[2]));
    assert_eq!(mock.message_ids(&dlq).len(), 1, "dead-lettered once");
    assert_eq!(mock.backlog(&name, "h"), Some(0));
}

#[tokio::test]
async fn concurrency_is_bounded_and_used() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("handler-concurrency");
    mock.publish_many(&name, numbered(200));
    let events = client
        .consumer(topic, "c")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .unwrap();
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (n, m, d) = (now.clone(), max.clone(), done.clone());
    let finished = Arc::new(tokio::sync::Notify::new());
    let all_done = finished.clone();
    let report = events
        .handler(move |_event: Event| {
            let (n, m, d, all_done) = (n.clone(), m.clone(), d.clone(), all_done.clone());
            async move {
                let running = n.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(running, Ordering::SeqCst);
                // Yield a few times so that handlers overlap.
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                n.fetch_sub(1, Ordering::SeqCst);
                if d.fetch_add(1, Ordering::SeqCst) + 1 == 200 {
                    all_done.notify_one();
                }
                Ok::<(), String>(())
            }
        })
        .concurrency(8)
        .until(async move { finished.notified().await })
        .run()
        .await
        .unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 200);
    let measured = max.load(Ordering::SeqCst);
    assert!(measured <= 8, "never more than the limit: {measured}");
    assert!(measured > 1, "handlers did run concurrently: {measured}");
    assert!(report.max_in_flight <= 8);
    assert_eq!(report.succeeded, 200);
    assert_eq!(mock.backlog(&name, "c"), Some(0));
}

#[tokio::test]
async fn per_key_order_is_kept_under_concurrency() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("handler-keys");
    let keys = ["a", "b", "c", "d"];
    let messages = (0..400).map(|i| MockMessage::new(format!("{i}")).key(keys[i % keys.len()]));
    mock.publish_many(&name, messages);
    let events = client
        .consumer(topic, "k")
        .initial_position(InitialPosition::Earliest)
        .subscription_type(SubscriptionType::KeyShared)
        .subscribe()
        .await
        .unwrap();
    let order: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let log = order.clone();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let finished = Arc::new(tokio::sync::Notify::new());
    let all_done = finished.clone();
    events
        .handler(move |event: Event| {
            let (log, c, all_done) = (log.clone(), c.clone(), all_done.clone());
            async move {
                let key = event.key().unwrap().to_string();
                let n: u32 = event.text().unwrap().parse().unwrap();
                // Later events of other keys may overtake: yield a varying amount.
                for _ in 0..(n % 7) {
                    tokio::task::yield_now().await;
                }
                log.lock().unwrap().entry(key).or_default().push(n);
                if c.fetch_add(1, Ordering::SeqCst) + 1 == 400 {
                    all_done.notify_one();
                }
                Ok::<(), String>(())
            }
        })
        .concurrency(8)
        .ordered_by_key(true)
        .until(async move { finished.notified().await })
        .run()
        .await
        .unwrap();
    let order = order.lock().unwrap();
    for (key, seen) in order.iter() {
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        assert_eq!(seen, &sorted, "key {key} out of order");
        assert_eq!(seen.len(), 100);
    }
}

#[tokio::test]
async fn a_panicking_handler_does_not_kill_the_stream() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("handler-panic");
    let ids = mock.publish_many(&name, [MockMessage::new("boom"), MockMessage::new("fine")]);
    let events = client
        .consumer(topic, "p")
        .initial_position(InitialPosition::Earliest)
        .negative_ack_redelivery_delay(Duration::from_secs(3600))
        .subscribe()
        .await
        .unwrap();
    let watcher = mock.clone();
    let topic_name = name.clone();
    let report = events
        .handler(|event: Event| async move {
            if event.text().unwrap() == "boom" {
                panic!("handler bug");
            }
            Ok::<(), String>(())
        })
        .until(async move { watcher.wait_for_acks(&topic_name, "p", 1).await })
        .run()
        .await
        .unwrap();
    assert_eq!((report.panicked, report.succeeded), (1, 1));
    assert_eq!(mock.nacks(&name, "p"), vec![ids[0].clone()]);
    assert_eq!(mock.acks(&name, "p"), vec![ids[1].clone()]);
}

#[tokio::test]
async fn a_graceful_stop_loses_nothing() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("handler-stop");
    let ids = mock.publish_many(&name, numbered(500));
    let events = client
        .consumer(topic.clone(), "g")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .unwrap();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let log = handled.clone();
    let stop = Arc::new(tokio::sync::Notify::new());
    let trigger = stop.clone();
    let report = events
        .handler(move |event: Event| {
            let (log, trigger) = (log.clone(), trigger.clone());
            async move {
                let mut log = log.lock().unwrap();
                log.push(event.message_id().to_string());
                if log.len() == 120 {
                    trigger.notify_one(); // stop while others are in flight
                }
                Ok::<(), String>(())
            }
        })
        .concurrency(16)
        .until(async move { stop.notified().await })
        .run()
        .await
        .unwrap();
    let handled = handled.lock().unwrap().clone();
    assert_eq!(report.succeeded as usize, handled.len());
    // Every event handed to the handler was acked before the stream closed.
    let acked: std::collections::BTreeSet<String> = mock.acks(&name, "g").into_iter().collect();
    assert!(handled.iter().all(|id| acked.contains(id)));
    // The rest comes to the next consumer: nothing lost.
    let mut rest = client.consumer(topic, "g").subscribe().await.unwrap();
    let remaining = ids.len() - handled.len();
    let next_events = take_events(&mut rest, remaining).await;
    let mut all: Vec<String> = handled;
    all.extend(next_events.iter().map(|e| e.message_id().to_string()));
    all.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(all, expected);
}
