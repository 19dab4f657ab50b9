//! Real broker: the consumer's own controls. Manual pull mode delivers exactly what was
//! permitted, `unsubscribe()` deletes the subscription (and is refused while others are
//! attached), and the handler acks `Ok` and gets an `Err` redelivered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{broker, client, BACKLOG_WAIT};
use crate::events::{self, *};
use crate::ws_producer::produce_texts;
use pulsar_eventstream::{Error, InitialPosition, PullMode, SubscriptionType};

#[tokio::test]
async fn manual_pull_mode_delivers_exactly_as_many_as_permitted() {
    let b = broker();
    let topic = b.unique_topic("consumer-pull");
    produce_texts(&b, &topic, numbered("p-", 0..20)).await;
    let mut events = client(&b)
        .consumer(events::topic(&topic), "pull")
        .initial_position(InitialPosition::Earliest)
        .pull_mode(PullMode::Manual)
        .subscribe()
        .await
        .expect("consumer subscribes");
    let quiet = Duration::from_secs(1);
    assert_quiet(&mut events, quiet, "no permits yet").await;
    events.permit(5).expect("permit");
    let got = take_events(&mut events, 5, "five permitted").await;
    assert_eq!(
        got.iter().map(text).collect::<Vec<_>>(),
        numbered("p-", 0..5)
    );
    assert_quiet(&mut events, quiet, "five used up").await;
    events.permit(3).expect("permit");
    events.permit(4).expect("permit");
    let got = take_events(&mut events, 7, "permits add up").await;
    assert_eq!(
        got.iter().map(text).collect::<Vec<_>>(),
        numbered("p-", 5..12)
    );
    assert_quiet(&mut events, quiet, "seven used up").await;
    events.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "pull", 8, BACKLOG_WAIT).await,
        Some(8),
        "the 12 delivered are acked, 8 never sent"
    );
}

#[tokio::test]
async fn unsubscribe_deletes_the_subscription_and_is_refused_while_others_are_attached() {
    let b = broker();
    let topic = b.unique_topic("consumer-unsubscribe");
    produce_texts(&b, &topic, numbered("u-", 0..3)).await;
    let c = client(&b);
    let mut events = c
        .consumer(events::topic(&topic), "temporary")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("consumer subscribes");
    take_events(&mut events, 3, "consumer").await;
    assert!(b
        .subscriptions(&topic)
        .await
        .contains(&"temporary".to_string()));
    within("unsubscribe", events.unsubscribe())
        .await
        .expect("unsubscribe");
    // The proxy answers the unsubscribe with nothing but the close, which may overtake the
    // broker's bookkeeping: poll the admin API (bounded, 50 x 100 ms).
    let mut gone = false;
    for _ in 0..50 {
        if !b
            .subscriptions(&topic)
            .await
            .contains(&"temporary".to_string())
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "subscriptions: {:?}", b.subscriptions(&topic).await);

    // Refused while another consumer is attached: a typed error, the subscription stays.
    let shared = || {
        c.consumer(events::topic(&topic), "busy")
            .subscription_type(SubscriptionType::Shared)
            .subscribe()
    };
    let one = shared().await.expect("first shared consumer");
    let two = shared().await.expect("second shared consumer");
    let refused = within("unsubscribe", one.unsubscribe()).await;
    assert!(
        matches!(refused, Err(Error::UnsubscribeFailed(_))),
        "{refused:?}"
    );
    assert!(b.subscriptions(&topic).await.contains(&"busy".to_string()));
    two.close().await.expect("close");
}

#[tokio::test]
async fn the_handler_acks_ok_and_gets_err_redelivered() {
    let b = broker();
    let topic = b.unique_topic("consumer-handler");
    let ids = produce_texts(&b, &topic, numbered("h-", 0..10)).await;
    let events = client(&b)
        .consumer(events::topic(&topic), "handler")
        .subscription_type(SubscriptionType::Shared)
        .initial_position(InitialPosition::Earliest)
        .negative_ack_redelivery_delay(Duration::from_millis(300))
        .subscribe()
        .await
        .expect("consumer subscribes");
    // payload -> redelivery counts of its attempts
    let attempts: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let all_done = Arc::new(tokio::sync::Notify::new());
    let handler = {
        let attempts = attempts.clone();
        let all_done = all_done.clone();
        move |event: pulsar_eventstream::Event| {
            let attempts = attempts.clone();
            let all_done = all_done.clone();
            async move {
                let name = text(&event);
                let mut attempts = attempts.lock().unwrap();
                let tries = attempts.entry(name.clone()).or_default();
                tries.push(event.redelivery_count());
                if name == "h-3" && tries.len() == 1 {
                    return Err("transient failure");
                }
                let succeeded = attempts
                    .iter()
                    .filter(|(n, t)| *n != "h-3" || t.len() == 2)
                    .count();
                if succeeded == 10 {
                    all_done.notify_one();
                }
                Ok(())
            }
        }
    };
    let report = within(
        "handler",
        events
            .handler(handler)
            .concurrency(4)
            .until(async move { all_done.notified().await })
            .run(),
    )
    .await
    .expect("handler run");
    assert_eq!(
        (report.succeeded, report.failed, report.panicked),
        (10, 1, 0)
    );
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts.len(), 10);
    assert_eq!(attempts["h-3"], [0, 1], "failed once, redelivered once");
    for (name, tries) in &attempts {
        if name != "h-3" {
            assert_eq!(tries, &[0], "{name} handled once");
        }
    }
    assert_eq!(ids.len(), 10);
    assert_eq!(
        b.wait_for_backlog(&topic, "handler", 0, BACKLOG_WAIT).await,
        Some(0)
    );
}
