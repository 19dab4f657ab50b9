//! Numbered events `e-0`, `e-1`, … through a fault, for the real-broker tests that break
//! connections (`pulsar_resilience.rs`, `pulsar_restart.rs`): a reader and a consumer on one
//! topic from its start, and the two checks of what they hand out across the fault. The reader
//! must hand out every event exactly once, in order; the consumer every event at least once, its
//! first copies in order, a second copy only of what was not yet acknowledged.
//!
//! Include it after `support/events.rs`:
//!
//! ```ignore
//! #[path = "support/events.rs"]
//! mod events;
//! #[path = "support/ordering.rs"]
//! mod ordering;
//! ```
#![allow(dead_code)]

use pulsar_eventstream::{Client, EventStream, InitialPosition, MessageId, Position};

use crate::events::{self, next_event, text};

/// A reader and a consumer (on `subscription`, acks in auto mode) on `topic`, both from the
/// earliest message.
pub async fn reader_and_consumer(
    client: &Client,
    topic: &str,
    subscription: &str,
) -> (EventStream, EventStream) {
    let reader = client
        .reader(events::topic(topic))
        .position(Position::Earliest)
        .subscribe()
        .await
        .expect("reader subscribes");
    let consumer = client
        .consumer(events::topic(topic), subscription)
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("consumer subscribes");
    (reader, consumer)
}

/// Takes events until `ids` holds `upto`; each must be the next one, `e-<ids.len()>`: any loss,
/// duplicate or reordering fails here (`what` names the stream in the failure). Pushes each
/// event's id.
pub async fn take_in_order(
    stream: &mut EventStream,
    ids: &mut Vec<MessageId>,
    upto: usize,
    what: &str,
) {
    while ids.len() < upto {
        let event = next_event(stream, what).await;
        assert_eq!(text(&event), format!("e-{}", ids.len()), "{what}");
        ids.push(event.message_id().clone());
    }
}

/// Takes events until `ids` holds `upto` first copies, which must come in order (`e-<ids.len()>`;
/// pushes each one's id). An event already seen may come again only if it is
/// `e-<redelivered_from>` or later (what was not yet acked at the fault); returns the numbers of
/// those second copies.
pub async fn take_first_copies_in_order(
    stream: &mut EventStream,
    ids: &mut Vec<MessageId>,
    upto: usize,
    redelivered_from: usize,
    what: &str,
) -> Vec<usize> {
    let mut duplicates = Vec::new();
    while ids.len() < upto {
        let event = next_event(stream, what).await;
        let n: usize = text(&event)["e-".len()..].parse().expect("numbered");
        if n == ids.len() {
            ids.push(event.message_id().clone());
        } else {
            assert!(
                n < ids.len() && n >= redelivered_from,
                "{what}: e-{n} after e-{}",
                ids.len() - 1
            );
            duplicates.push(n);
        }
    }
    duplicates
}
