//! Real broker (Pulsar 4.0.7 standalone): the consumer endpoints.
//!
//! Acks as the broker counts them (admin stats), redelivery after a reconnect and after a nack,
//! dead letters, the subscription types, pull mode, unsubscribe, the handler API, the v3
//! multi-topic endpoint, and Python-published messages. Run with `scripts/test.sh`.
//!
//! This file holds the shared setup; the tests are in `pulsar_consumer/`: acks and redelivery,
//! the subscription types, the consumer's controls (pull mode, unsubscribe, the handler), the v3
//! multi-topic and pattern consumers, and interop with the Python client.

#[path = "support/broker.rs"]
mod broker;
#[path = "support/events.rs"]
mod events;
#[path = "support/ws_producer.rs"]
mod ws_producer;

#[path = "pulsar_consumer/acks.rs"]
mod acks;
#[path = "pulsar_consumer/controls.rs"]
mod controls;
#[path = "pulsar_consumer/interop.rs"]
mod interop;
#[path = "pulsar_consumer/multi_topic.rs"]
mod multi_topic;
#[path = "pulsar_consumer/subscription_types.rs"]
mod subscription_types;

use std::time::Duration;

use broker::Broker;
use pulsar_eventstream::Client;

fn broker() -> Broker {
    Broker::from_env().expect("the default broker")
}

fn client(b: &Broker) -> Client {
    Client::builder(&b.ws_url).build().expect("client")
}

/// Acks reach the broker asynchronously: this bounds how long its backlog may take to follow.
const BACKLOG_WAIT: Duration = Duration::from_secs(30);
