//! `Event`: one message as the application sees it, with its payload
//! helpers and its acknowledgement handle.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;

use crate::ack::AckHandle;
use crate::error::{Error, Result};
use crate::message_id::MessageId;
use crate::timestamp::parse_time;
use crate::topic::Topic;

/// One message from a reader or consumer.
///
/// The payload is already base64-decoded. Times are kept as the server wrote
/// them and parsed on demand, leniently: a time that does not parse gives
/// `None` and never loses the event.
///
/// ```no_run
/// # use pulsar_eventstream::Event;
/// # fn handle(event: Event) -> pulsar_eventstream::Result<()> {
/// #[derive(serde::Deserialize)]
/// struct Order { id: u64 }
///
/// let order: Order = event.json()?;           // an error for this event only
/// println!("{} at {:?}", order.id, event.publish_time());
/// # Ok(()) }
/// ```
pub struct Event {
    pub(crate) message_id: MessageId,
    pub(crate) payload: Bytes,
    pub(crate) properties: HashMap<String, String>,
    pub(crate) publish_time: Option<String>,
    pub(crate) event_time: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) redelivery_count: u32,
    pub(crate) topic: Option<Arc<Topic>>,
    pub(crate) ack: AckHandle,
}

impl Event {
    /// The message id (use it to resume a reader or to deduplicate).
    pub fn message_id(&self) -> &MessageId {
        &self.message_id
    }

    /// The decoded payload bytes.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// Takes the payload out of the event (cheap: `Bytes` is shared).
    pub fn into_payload(self) -> Bytes {
        self.payload
    }

    /// The payload as UTF-8 text.
    pub fn text(&self) -> Result<&str> {
        std::str::from_utf8(&self.payload).map_err(|e| Error::PayloadNotUtf8 {
            message_id: self.message_id.to_string(),
            reason: e.to_string(),
        })
    }

    /// Decodes the payload as JSON into any `Deserialize` type
    /// (`serde_json::Value` for untyped access).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.payload).map_err(|e| Error::PayloadJson {
            message_id: self.message_id.to_string(),
            reason: e.to_string(),
        })
    }

    /// The message properties (empty when there are none).
    pub fn properties(&self) -> &HashMap<String, String> {
        &self.properties
    }

    /// One property's value.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The message key, if the producer set one. A binary key arrives in its
    /// base64 form; nothing on the wire says which it is.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// When the broker stored the message, if the server's text parses.
    pub fn publish_time(&self) -> Option<DateTime<FixedOffset>> {
        self.publish_time.as_deref().and_then(parse_time)
    }

    /// The `publishTime` text exactly as the server sent it.
    pub fn publish_time_raw(&self) -> Option<&str> {
        self.publish_time.as_deref()
    }

    /// The producer-set event time, if any and if it parses.
    pub fn event_time(&self) -> Option<DateTime<FixedOffset>> {
        self.event_time.as_deref().and_then(parse_time)
    }

    /// The `eventTime` text exactly as the server sent it.
    pub fn event_time_raw(&self) -> Option<&str> {
        self.event_time.as_deref()
    }

    /// How many times the broker has delivered this message before (0 on the
    /// first delivery, and always 0 from servers that do not track it).
    pub fn redelivery_count(&self) -> u32 {
        self.redelivery_count
    }

    /// The topic the event came from, when the client knows it.
    pub fn topic(&self) -> Option<&Topic> {
        self.topic.as_deref()
    }

    /// Acknowledges the event now. Harmless when already acknowledged.
    /// With [`AckMode::Auto`](crate::AckMode::Auto) this is done for you
    /// when the next event is requested.
    pub fn ack(&self) -> Result<()> {
        self.ack.ack()
    }

    /// Negatively acknowledges the event (consumers only): the broker
    /// redelivers it after the subscription's redelivery delay.
    pub fn nack(&self) -> Result<()> {
        self.ack.nack()
    }

    /// A handle that can acknowledge this event later, from any task, after
    /// the event itself is gone (for example after a database commit).
    pub fn ack_handle(&self) -> AckHandle {
        self.ack.clone()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payloads may hold personal data: show their size only.
        f.debug_struct("Event")
            .field("message_id", &self.message_id)
            .field("payload_len", &self.payload.len())
            .field("key", &self.key)
            .field("properties", &self.properties.len())
            .field("publish_time", &self.publish_time)
            .field("redelivery_count", &self.redelivery_count)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_server_time_format() {
        let ms = |s: &str| parse_time(s).map(|t| t.timestamp_millis());
        assert_eq!(ms("2024-05-01T10:00:00Z"), Some(1_714_557_600_000));
        assert_eq!(ms("2024-05-01T10:00:00.5Z"), Some(1_714_557_600_500));
        assert_eq!(ms("2024-05-01T11:00:00.967+01:00"), Some(1_714_557_600_967));
        assert_eq!(
            ms("2024-05-01T10:00:00.123456789Z"),
            Some(1_714_557_600_123)
        );
        assert_eq!(ms("2016-08-30 16:45:57.785"), Some(1_472_575_557_785));
        assert_eq!(ms("yesterday"), None);
        assert_eq!(ms(""), None);
    }
}
