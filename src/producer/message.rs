//! `Message`: what a producer publishes, and its encoding into the
//! producer frame of `protocol.md` §8.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, TimeZone};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::event::Event;
use crate::wire::BASE64;

/// One message to publish with a [`Producer`](crate::Producer): a payload
/// plus optional key, properties, event time, replication clusters and
/// delayed delivery.
///
/// The payload travels base64-encoded; the server stores the decoded bytes.
///
/// ```
/// use std::time::Duration;
/// use pulsar_eventstream::Message;
///
/// #[derive(serde::Serialize)]
/// struct Order { id: u64, total: f64 }
///
/// let message = Message::json(&Order { id: 7, total: 12.5 })?
///     .key("customer-42")                  // same key, same partition
///     .property("source", "checkout")
///     .event_time("2024-05-01T10:00:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap())
///     .deliver_after(Duration::from_secs(5));
/// assert_eq!(message.payload().as_ref(), br#"{"id":7,"total":12.5}"#);
/// # Ok::<(), pulsar_eventstream::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    payload: Bytes,
    key: Option<String>,
    properties: BTreeMap<String, String>,
    event_time: Option<String>,
    replication_clusters: Vec<String>,
    deliver_at: Option<i64>,
    deliver_after: Option<Duration>,
}

impl Message {
    /// A message carrying these bytes (a `Vec<u8>`, `Bytes`, `String`,
    /// `&'static str` or `&'static [u8]`).
    ///
    /// ```
    /// # use pulsar_eventstream::Message;
    /// let message = Message::new(vec![0xde, 0xad, 0xbe, 0xef]);
    /// assert_eq!(message.payload().len(), 4);
    /// ```
    pub fn new(payload: impl Into<Bytes>) -> Self {
        Message {
            payload: payload.into(),
            key: None,
            properties: BTreeMap::new(),
            event_time: None,
            replication_clusters: Vec::new(),
            deliver_at: None,
            deliver_after: None,
        }
    }

    /// A message carrying this text, UTF-8 encoded.
    ///
    /// ```
    /// # use pulsar_eventstream::Message;
    /// let message = Message::text("hello");
    /// assert_eq!(message.payload().as_ref(), b"hello");
    /// ```
    pub fn text(text: impl Into<String>) -> Self {
        Message::new(text.into())
    }

    /// A message carrying `value` serialized as JSON. Fails with
    /// [`Error::InvalidMessage`] when serde cannot serialize it (for
    /// example a map with non-string keys).
    ///
    /// ```
    /// # use pulsar_eventstream::Message;
    /// let message = Message::json(&serde_json::json!({"n": 1}))?;
    /// assert_eq!(message.payload().as_ref(), br#"{"n":1}"#);
    /// # Ok::<(), pulsar_eventstream::Error>(())
    /// ```
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(value).map_err(|e| {
            Error::InvalidMessage(format!("payload did not serialize as JSON: {e}"))
        })?;
        Ok(Message::new(bytes))
    }

    /// Sets the key: messages with the same key go to the same partition
    /// (with a key-based routing) and the same `Key_Shared` consumer.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Adds one string property (a later value for the same name wins).
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Adds several string properties.
    ///
    /// ```
    /// # use pulsar_eventstream::Message;
    /// let message = Message::text("x").properties([("a", "1"), ("b", "2")]);
    /// # let _ = message;
    /// ```
    pub fn properties<K, V>(mut self, properties: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.properties
            .extend(properties.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets the event time: when the event happened, as opposed to when the
    /// broker stored it. Sent as an ISO-8601 date-time with its offset
    /// (`2024-05-01T10:00:00Z`, `2024-05-01T11:00:00.250+01:00`), the form
    /// the server requires; readers get it back from
    /// [`Event::event_time`]. The broker keeps whole milliseconds, and
    /// Pulsar treats an event time of exactly the Unix epoch (0 ms) as unset.
    ///
    /// ```
    /// # use pulsar_eventstream::Message;
    /// use chrono::{DateTime, FixedOffset};
    ///
    /// let at: DateTime<FixedOffset> = "2024-05-01T11:00:00.250+01:00".parse().unwrap();
    /// let message = Message::text("x").event_time(at);
    /// assert_eq!(message.event_time_raw(), Some("2024-05-01T11:00:00.250+01:00"));
    /// ```
    pub fn event_time<Tz: TimeZone>(mut self, time: DateTime<Tz>) -> Self
    where
        Tz::Offset: fmt::Display,
    {
        self.event_time = Some(time.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        self
    }

    /// Restricts geo-replication of this message to these clusters.
    pub fn replication_clusters<S: Into<String>>(
        mut self,
        clusters: impl IntoIterator<Item = S>,
    ) -> Self {
        self.replication_clusters = clusters.into_iter().map(Into::into).collect();
        self
    }

    /// Delivers the message to consumers no earlier than this instant, in
    /// milliseconds since the Unix epoch (`deliverAt`; the server ignores
    /// values ≤ 0). Delayed delivery applies to `Shared` and `Key_Shared`
    /// subscriptions only; readers see the message at once.
    ///
    /// ```
    /// # use pulsar_eventstream::Message;
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    ///
    /// let in_one_minute = SystemTime::now() + Duration::from_secs(60);
    /// let millis = in_one_minute.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    /// let message = Message::text("later").deliver_at(millis);
    /// # let _ = message;
    /// ```
    pub fn deliver_at(mut self, epoch_millis: i64) -> Self {
        self.deliver_at = Some(epoch_millis);
        self
    }

    /// Delivers the message to consumers no earlier than this long after it
    /// is stored (`deliverAfterMs`, whole milliseconds; the server ignores
    /// 0). Same scope as [`deliver_at`](Self::deliver_at).
    pub fn deliver_after(mut self, delay: Duration) -> Self {
        self.deliver_after = Some(delay);
        self
    }

    /// The payload bytes.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The event time exactly as it will be sent, if set.
    pub fn event_time_raw(&self) -> Option<&str> {
        self.event_time.as_deref()
    }

    /// The frame without its `context`: a JSON object that starts with
    /// `{"payload":`. Fails when the whole frame would exceed `max_frame`.
    pub(crate) fn encode_body(&self, max_frame: usize) -> Result<String> {
        let body = Body {
            payload: BASE64.encode(&self.payload),
            properties: &self.properties,
            key: self.key.as_deref(),
            replication_clusters: &self.replication_clusters,
            event_time: self.event_time.as_deref(),
            deliver_at: self.deliver_at,
            deliver_after_ms: self
                .deliver_after
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        let text = serde_json::to_string(&body)
            .map_err(|e| Error::InvalidMessage(format!("frame did not serialize: {e}")))?;
        let size = text.len() + MAX_CONTEXT_LEN;
        if size > max_frame {
            return Err(Error::MessageTooLarge {
                size,
                max: max_frame,
            });
        }
        Ok(text)
    }
}

/// The longest `"context":"…",` a frame can gain: a `u64` in decimal.
const MAX_CONTEXT_LEN: usize = r#""context":"18446744073709551615","#.len();

/// Inserts the `context` this producer correlates receipts with in front of
/// a body made by [`Message::encode_body`].
pub(crate) fn frame(context: u64, body: &str) -> String {
    let rest = body.strip_prefix('{').unwrap_or(body);
    let mut out = String::with_capacity(body.len() + MAX_CONTEXT_LEN);
    out.push_str("{\"context\":\"");
    out.push_str(&context.to_string());
    out.push_str("\",");
    out.push_str(rest);
    out
}

/// `data/ProducerMessage` fields the WebSocket producer reads (§8), in the
/// order the frame is written; absent ones are omitted.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    payload: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    properties: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    replication_clusters: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    event_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deliver_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deliver_after_ms: Option<u64>,
}

impl From<&Event> for Message {
    /// The same payload, key, properties and event time: to forward or
    /// replay an event to another topic.
    fn from(event: &Event) -> Self {
        let mut message = Message::new(event.payload().clone()).properties(
            event
                .properties()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        message.key = event.key().map(str::to_string);
        message.event_time = event.event_time_raw().map(str::to_string);
        message
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The payload may be large or sensitive: its size only.
        f.debug_struct("Message")
            .field("payload_len", &self.payload.len())
            .field("key", &self.key)
            .field("properties", &self.properties.len())
            .field("event_time", &self.event_time)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, Utc};

    fn parse(body: &str) -> serde_json::Value {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn minimal_frame_is_payload_and_context_only() {
        let body = Message::text("hi").encode_body(1 << 20).unwrap();
        assert_eq!(body, r#"{"payload":"aGk="}"#);
        assert_eq!(frame(7, &body), r#"{"context":"7","payload":"aGk="}"#);
    }

    #[test]
    fn every_field_has_its_wire_name() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z").unwrap();
        let body = Message::new(vec![0u8, 255])
            .key("k")
            .property("b", "2")
            .properties([("a", "1")])
            .event_time(at)
            .replication_clusters(["c1", "c2"])
            .deliver_at(1_714_557_600_000)
            .deliver_after(Duration::from_millis(5_000))
            .encode_body(1 << 20)
            .unwrap();
        assert_eq!(
            parse(&frame(u64::MAX, &body)),
            serde_json::json!({
                "context": "18446744073709551615",
                "payload": "AP8=",
                "properties": {"a": "1", "b": "2"},
                "key": "k",
                "replicationClusters": ["c1", "c2"],
                "eventTime": "2024-05-01T10:00:00Z",
                "deliverAt": 1_714_557_600_000_i64,
                "deliverAfterMs": 5000,
            })
        );
        assert!(frame(u64::MAX, &body).len() <= body.len() + MAX_CONTEXT_LEN);
    }

    #[test]
    fn event_time_always_carries_its_offset() {
        let utc = DateTime::<Utc>::from_timestamp_millis(1_714_557_600_123).unwrap();
        let m = Message::text("x").event_time(utc);
        assert_eq!(m.event_time_raw(), Some("2024-05-01T10:00:00.123Z"));
        let plus_one = FixedOffset::east_opt(3600).unwrap();
        let m = Message::text("x").event_time(utc.with_timezone(&plus_one));
        assert_eq!(m.event_time_raw(), Some("2024-05-01T11:00:00.123+01:00"));
        let whole = DateTime::<Utc>::from_timestamp(1_714_557_600, 0).unwrap();
        let m = Message::text("x").event_time(whole);
        assert_eq!(m.event_time_raw(), Some("2024-05-01T10:00:00Z"));
    }

    #[test]
    fn json_payloads_and_failures() {
        let m = Message::json(&serde_json::json!({"n": 1})).unwrap();
        assert_eq!(m.payload().as_ref(), br#"{"n":1}"#);
        let mut bad = std::collections::HashMap::new();
        bad.insert((1, 2), "non-string key");
        assert!(matches!(Message::json(&bad), Err(Error::InvalidMessage(_))));
    }

    #[test]
    fn oversized_frames_are_refused() {
        let m = Message::new(vec![0u8; 3000]);
        let body = m.encode_body(1 << 20).unwrap();
        match m.encode_body(4000) {
            Err(Error::MessageTooLarge { size, max: 4000 }) => {
                assert_eq!(size, body.len() + MAX_CONTEXT_LEN)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn debug_hides_the_payload() {
        let shown = format!("{:?}", Message::text("secret-payload"));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
