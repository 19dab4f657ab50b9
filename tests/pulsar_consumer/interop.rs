//! Real broker: interop with the official Python client (binary protocol). Its 512 KiB binary
//! payloads, keys and properties are consumed byte for byte.

use super::{broker, client, BACKLOG_WAIT};
use crate::broker::{Payload, ProduceOptions};
use crate::events::{self, *};
use pulsar_eventstream::InitialPosition;

#[tokio::test]
async fn python_published_messages_are_consumed_byte_for_byte() {
    let b = broker();
    let topic = b.unique_topic("consumer-interop");
    // 512 KiB of every byte value in a shifting pattern.
    let payload: Vec<u8> = (0..512 * 1024u32)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect();
    let produced = b
        .python_produce(
            &topic,
            3,
            &ProduceOptions {
                key: Some("interop".into()),
                properties: vec![("kind".into(), "binary".into())],
                event_time_ms: None,
                payload: Payload::Bytes(payload.clone()),
                batching: false,
            },
        )
        .await;
    let mut events = client(&b)
        .consumer(events::topic(&topic), "interop")
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .expect("consumer subscribes");
    for p in &produced {
        let event = next_event(&mut events, "interop consumer").await;
        let got = event.message_id();
        assert_eq!((got.ledger_id(), got.entry_id()), (p.ledger_id, p.entry_id));
        assert!(event.payload()[..] == payload[..], "payload byte for byte");
        assert_eq!(event.key(), Some("interop"));
        assert_eq!(event.property("kind"), Some("binary"));
        assert_eq!(event.event_time(), None, "no event time set");
    }
    events.close().await.expect("close");
    assert_eq!(
        b.wait_for_backlog(&topic, "interop", 0, BACKLOG_WAIT).await,
        Some(0)
    );
}
