//! Real broker: a full broker restart while the crate's producer publishes.
//!
//! A test binary of its own: the restart drops every connection to the `default` broker, so
//! nothing else may run against it meanwhile (cargo runs test binaries one after the other).

#[path = "support/broker.rs"]
mod broker;
#[path = "support/events.rs"]
mod events;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::Broker;
use events::*;
use pulsar_eventstream::{Client, FixedDelay, Message, MessageId, Position, Receipt};
use tokio::sync::{mpsc, watch};

/// Messages confirmed before the restart is started.
const BEFORE: usize = 3_000;
/// Messages confirmed after the broker is back before publishing stops.
const AFTER: usize = 3_000;
/// Warm-up messages published and read before the test proper.
const WARM: usize = 10;

/// Admin `msgInCounter` of `topic` (0 if the broker does not say).
async fn msg_in(b: &Broker, topic: &str) -> u64 {
    b.topic_stats(topic).await["msgInCounter"]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_producer_loses_nothing_across_a_broker_restart_and_keeps_send_order() {
    let b = Broker::from_env().expect("the default broker");
    let topic = b.unique_topic("producer-restart");
    // Patient enough for a 15-60 s restart: every 500 ms, forever.
    let client = Client::builder(&b.ws_url)
        .reconnect_policy(FixedDelay::new(Duration::from_millis(500)))
        .build()
        .unwrap();
    let producer = within("create", client.producer(events::topic(&topic)).create())
        .await
        .expect("producer");

    // Warm the topic up well before the restart. An earlier run showed that a topic created
    // less than a second before the broker's stop can lose confirmed messages: the broker fails
    // to create the brand-new topic's ledger while it shuts down (a broker-side issue, not the
    // producer's). So: publish and read a few messages, wait until the broker's stats count
    // them, and restart only a few seconds later.
    for i in 0..WARM {
        within("warm-up", producer.send(Message::text(format!("w-{i}"))))
            .await
            .expect("warm-up send");
    }
    let mut warm_reader = client
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let warm = take_events(&mut warm_reader, WARM, "warm-up reader").await;
    assert_eq!(text(&warm[WARM - 1]), format!("w-{}", WARM - 1));
    warm_reader.close().await.expect("close");
    // The admin stats have no event to wait for: poll, bounded (100 x 100 ms).
    let mut counted = 0;
    for _ in 0..100 {
        counted = msg_in(&b, &topic).await;
        if counted >= WARM as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        counted, WARM as u64,
        "the broker counts the warm-up messages"
    );
    let warmed = Instant::now();
    // The age the topic must have before the restart (see above): a deliberate delay, not a
    // wait for an event. The publishing starts after it, so that the restart comes a few
    // thousand messages into it.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Publish `r-0`, `r-1`, ... until told to stop; receipts are awaited in order by a second
    // task, which reports how many are confirmed.
    let drops = count_disconnects(producer.connection_events(), "producer");
    let stop = Arc::new(AtomicBool::new(false));
    let (receipts_tx, mut receipts_rx) = mpsc::channel::<(usize, Receipt)>(100_000);
    let publisher = {
        let producer = producer.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let receipt = producer
                    .enqueue(Message::text(format!("r-{i}")))
                    .await
                    .expect("enqueue");
                receipts_tx.send((i, receipt)).await.expect("collector");
                i += 1;
            }
            i
        })
    };
    let (confirmed_tx, mut confirmed) = watch::channel(0usize);
    let collector = tokio::spawn(async move {
        let mut ids: Vec<MessageId> = Vec::new();
        while let Some((i, receipt)) = receipts_rx.recv().await {
            assert_eq!(i, ids.len());
            ids.push(receipt.await.unwrap_or_else(|e| panic!("r-{i}: {e:?}")));
            confirmed_tx.send_replace(ids.len());
        }
        ids
    });

    within(
        "confirmations before the restart",
        confirmed.wait_for(|n| *n >= BEFORE),
    )
    .await
    .expect("collector alive");
    let at_restart = *confirmed.borrow();
    let topic_age = warmed.elapsed();
    let restart = Instant::now();
    b.restart_broker().await;
    let restart = restart.elapsed();
    let target = *confirmed.borrow() + AFTER;
    within_for(
        Duration::from_secs(120),
        "confirmations after the restart",
        confirmed.wait_for(|n| *n >= target),
    )
    .await
    .expect("collector alive");
    stop.store(true, Ordering::Relaxed);
    let published = within("publisher", publisher).await.expect("publisher");
    let ids = within("collector", collector).await.expect("collector");
    assert_eq!(ids.len(), published, "every enqueued message confirmed");
    // The marker is sent after every other receipt: reading up to it reads everything.
    let marker = within("marker", producer.send(Message::text("end")))
        .await
        .expect("marker");
    let stats = producer.stats();
    producer.close().await.expect("close");
    assert!(
        drops.load(Ordering::Relaxed) >= 1,
        "the restart cut the producer's connection"
    );

    // Read everything back: every message at least once; the first copies in send order; a
    // duplicate (stored twice because its receipt was lost with the connection) only after its
    // original; each receipt names one of the copies.
    let mut reader = client
        .reader(events::topic(&topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let mut copies: HashMap<usize, Vec<MessageId>> = HashMap::new();
    let mut first_seen = 0usize;
    let mut duplicates = 0usize;
    let mut warm_seen = 0usize;
    loop {
        let event = next_event(&mut reader, "reader").await;
        let payload = text(&event);
        if event.message_id() == &marker {
            assert_eq!(payload, "end");
            break;
        }
        if payload.starts_with("w-") {
            assert_eq!(payload, format!("w-{warm_seen}"));
            warm_seen += 1;
            continue;
        }
        let n: usize = payload
            .strip_prefix("r-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected payload {payload:?}"));
        if n == first_seen {
            first_seen += 1;
        } else {
            assert!(
                n < first_seen,
                "r-{n} before r-{first_seen}: a message lost or out of order"
            );
            duplicates += 1;
        }
        copies
            .entry(n)
            .or_default()
            .push(event.message_id().clone());
    }
    reader.close().await.expect("close");
    assert_eq!(warm_seen, WARM);
    assert_eq!(first_seen, published, "every message at least once");
    for (n, id) in ids.iter().enumerate() {
        assert!(
            copies[&n].contains(id),
            "r-{n}: its receipt {id:?} names a stored copy {:?}",
            copies[&n]
        );
    }
    let messages = WARM + published + 1;
    assert_eq!(
        (stats.receipts as usize, stats.send_errors),
        (messages, 0),
        "every message confirmed once, none refused"
    );
    assert!(stats.frames_sent as usize >= messages);
    eprintln!(
        "restart took {restart:?}, started {topic_age:?} after the warm-up; {at_restart} of \
         {published} confirmed when it started; connections lost {}; frames sent {} for \
         {messages} messages; duplicates stored {duplicates}",
        drops.load(Ordering::Relaxed),
        stats.frames_sent,
    );
}
