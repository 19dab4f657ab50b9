//! Entry points for the fuzz targets in `fuzz/` and for
//! `tests/fuzz_regressions.rs`, which replays their corpora on stable Rust.
//!
//! **Not public API.** Hidden from the documentation, exempt from semver:
//! anything here may change or disappear in any release. Each function takes
//! the raw bytes a hostile server could send, runs them through the decoder
//! the stream itself uses, and panics only when an invariant breaks (that is
//! what a fuzzer reports). A decoder that panics, hangs or allocates without
//! bound on any input is a bug.

use std::cmp::Ordering;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::ack::{AckHandle, AckSignal};
use crate::connection::CommandSender;
use crate::error::Error;
use crate::event::Event;
use crate::message_id::MessageId;
use crate::topic::Topic;
use crate::wire::{self, Inbound, BASE64};

/// What one server text frame decoded to.
#[derive(Debug)]
pub enum Frame {
    /// A message: the event the application would get.
    Event(Box<Event>),
    /// The answer to `isEndOfTopic`.
    EndOfTopic(bool),
    /// Another control frame (skipped by the stream).
    Control,
}

/// Decodes one text frame exactly as a reader or consumer stream does
/// (`wire::parse`, `wire::classify`, `wire::decode_message`, with the
/// stream's errors).
pub fn decode_frame(text: &str) -> Result<Frame, Error> {
    let frame = wire::parse(text).map_err(|e| Error::InvalidFrame {
        reason: e.to_string(),
    })?;
    match wire::classify(frame)? {
        Inbound::EndOfTopic(end) => Ok(Frame::EndOfTopic(end)),
        Inbound::Control => Ok(Frame::Control),
        Inbound::Message(frame) => {
            let decoded = wire::decode_message(frame).map_err(|bad| bad.error)?;
            // The stream's own channel is not needed: acks go nowhere.
            let (tx, _) = mpsc::unbounded_channel();
            let commands = CommandSender::new(tx, Arc::new(AckSignal::new(1)));
            Ok(Frame::Event(Box::new(Event {
                message_id: decoded.message_id.clone(),
                payload: decoded.payload,
                properties: decoded.properties,
                publish_time: decoded.publish_time,
                event_time: decoded.event_time,
                key: decoded.key,
                redelivery_count: decoded.redelivery_count,
                topic: None,
                ack: AckHandle {
                    seq: 0,
                    wire_id: decoded.wire_id,
                    message_id: Some(decoded.message_id),
                    commands,
                    can_nack: true,
                },
            })))
        }
    }
}

/// Fuzz target `message_frame`: any text frame becomes an event, a control
/// frame or one decode error; every accessor of the event works.
pub fn message_frame(data: &[u8]) {
    // tungstenite hands over text frames only once they are valid UTF-8.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match decode_frame(text) {
        Ok(Frame::Event(event)) => {
            let _ = event.text();
            let _ = event.json::<Value>();
            let _ = (event.publish_time(), event.event_time(), event.key());
            // The time fast path reads what chrono reads.
            for raw in [event.publish_time_raw(), event.event_time_raw()] {
                let key = |t: Option<chrono::DateTime<chrono::FixedOffset>>| {
                    t.map(|t| {
                        (
                            t.timestamp(),
                            t.timestamp_subsec_nanos(),
                            t.offset().local_minus_utc(),
                        )
                    })
                };
                let raw = raw.unwrap_or_default();
                assert_eq!(
                    key(crate::timestamp::parse_time(raw)),
                    key(crate::timestamp::parse_with_chrono(raw.trim()))
                );
            }
            let _ = (event.properties().len(), format!("{event:?}"));
            #[cfg(feature = "eightbyeight")]
            let _ = event.eightbyeight();
            if let Ok(json) = serde_json::from_str::<Value>(text) {
                // The id is kept verbatim, for acks.
                assert_eq!(
                    json.get("messageId").and_then(Value::as_str),
                    Some(event.message_id().as_str())
                );
                // The payload decoder agrees with the base64 engine.
                let sent = json
                    .get("payload")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                assert_eq!(
                    BASE64.decode(sent).ok().as_deref(),
                    Some(&event.payload()[..])
                );
            }
            assert!(event.ack().is_err(), "no stream behind this event");
        }
        Ok(_) => {}
        Err(error) => {
            if let (Error::InvalidPayload { .. }, Ok(json)) =
                (&error, serde_json::from_str::<Value>(text))
            {
                let sent = json
                    .get("payload")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                assert!(BASE64.decode(sent).is_err(), "{sent:?} rejected");
            }
            check_decode_error(&error)
        }
    }
}

/// Fuzz target `control_reply`: `endOfTopic` and `type` frames are never
/// taken for events, and the boolean is the one sent.
pub fn control_reply(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = decode_frame(text);
    let json = serde_json::from_str::<Value>(text).ok();
    let field = |name: &str| json.as_ref().and_then(|j| j.get(name)).cloned();
    match result {
        Ok(Frame::EndOfTopic(end)) => {
            if json.is_some() {
                assert_eq!(field("endOfTopic"), Some(Value::Bool(end)));
            }
        }
        Ok(Frame::Control) => {
            if json.is_some() {
                assert!(field("messageId").is_none_or(|v| v.is_null()));
                assert!(field("endOfTopic").is_none_or(|v| v.is_null()));
            }
        }
        Ok(Frame::Event(event)) => {
            if json.is_some() {
                assert!(field("endOfTopic").is_none_or(|v| v.is_null()));
            }
            let _ = format!("{event:?}");
        }
        Err(error) => check_decode_error(&error),
    }
}

fn check_decode_error(error: &Error) {
    assert!(error.is_decode_error(), "{error:?}");
    assert!(!error.is_retryable(), "{error:?}");
    let _ = (error.to_string(), format!("{error:?}"));
}

/// Fuzz target `message_id`: the first byte picks the input form (even: the
/// rest is the wire string; odd: the rest is protobuf bytes, base64-encoded
/// here so that the protobuf decoder is reached). A decoded id keeps its
/// wire string, re-encodes to an equal id, and orders consistently.
pub fn message_id(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let wire = if mode & 1 == 0 {
        match std::str::from_utf8(rest) {
            Ok(text) => text.to_string(),
            Err(_) => return,
        }
    } else {
        BASE64.encode(rest)
    };
    let id = match MessageId::from_wire(&wire) {
        Ok(id) => id,
        Err(Error::InvalidMessageId { id, reason }) => {
            assert!(
                id.chars().count() <= 128,
                "the error copies the input whole"
            );
            assert!(!reason.is_empty());
            return;
        }
        Err(other) => panic!("not InvalidMessageId: {other:?}"),
    };
    assert_eq!(id.as_str(), wire);
    assert_eq!(id.to_string(), wire);
    let _ = format!("{id:?}");
    let again: MessageId = wire.parse().expect("parses twice");
    assert_eq!(again, id);
    assert_eq!(again.cmp(&id), Ordering::Equal);
    let rebuilt = MessageId::from_parts(
        id.ledger_id(),
        id.entry_id(),
        id.partition().map_or(-1, |p| p as i32),
        id.batch_index().map_or(-1, |b| b as i32),
        id.batch_size() as i32,
    );
    assert_eq!(rebuilt, id);
    let hasher = RandomState::new();
    assert_eq!(hasher.hash_one(&rebuilt), hasher.hash_one(&id));
    let reparsed = MessageId::from_wire(rebuilt.as_str()).expect("re-encoded id decodes");
    assert_eq!(reparsed, id);
    assert_eq!(
        (reparsed.partition(), reparsed.batch_index()),
        (id.partition(), id.batch_index())
    );
    let json = serde_json::to_string(&id).expect("serializes");
    let back: MessageId = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back.as_str(), id.as_str());
}

/// Fuzz target `topic`: any string parses to a topic that prints back
/// identically and encodes into a path that decodes back, or is rejected
/// with a bounded `InvalidTopic`.
pub fn topic(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let topic = match text.parse::<Topic>() {
        Ok(topic) => topic,
        Err(Error::InvalidTopic { topic, reason }) => {
            assert!(
                topic.chars().count() <= 256,
                "the error copies the input whole"
            );
            assert!(!reason.is_empty());
            return;
        }
        Err(other) => panic!("not InvalidTopic: {other:?}"),
    };
    assert_eq!(topic.to_string(), text);
    assert_eq!(text.parse::<Topic>().ok().as_ref(), Some(&topic));
    // Tenant and namespace travel verbatim (only `[-=:.\w]`), the name
    // percent-encoded; decoded, the path gives the same segments back.
    let path = topic.encoded_path();
    assert!(
        path.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%/=:".contains(&b)),
        "{path}"
    );
    let segments: Vec<&str> = path.split('/').collect();
    assert_eq!(
        segments[..3],
        [topic.domain().as_str(), topic.tenant(), topic.namespace()]
    );
    let name = url::form_urlencoded::parse(format!("k={}", segments[3]).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    assert_eq!(segments.len(), 4);
    assert_eq!(name, topic.name());
}

/// Fuzz target `eightbyeight_event`: any payload either is not JSON or
/// becomes a typed 8x8 event that keeps the whole payload, and every
/// accessor and the interaction tracker work on it.
#[cfg(feature = "eightbyeight")]
pub fn eightbyeight_event(data: &[u8]) {
    use crate::eightbyeight::{EightByEightEvent, InteractionTracker};
    let Ok(event) = EightByEightEvent::from_slice(data) else {
        return;
    };
    let raw: Value = serde_json::from_slice(data).expect("from_slice accepted it");
    assert_eq!(event.raw(), &raw);
    let _ = (event.name(), event.root(), event.agent_id());
    let _ = (event.time(), event.time_with_source(), format!("{event:?}"));
    let mut tracker = InteractionTracker::new();
    let _ = tracker.observe(&event);
    let _ = tracker.observe(&event);
    let json = serde_json::to_string(&event).expect("serializes");
    let back: EightByEightEvent = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back.raw(), event.raw());
}

/// The percent-encoder of every path segment and query value the client
/// sends (RFC 3986 unreserved characters kept, everything else `%XX`).
pub fn encode_component(value: &str) -> String {
    crate::topic::encode_component(value)
}

/// Fuzz target `producer_receipt`: any frame on the producer endpoint is a
/// receipt (an id for `ok`, a `SendFailed` otherwise) or is skipped; the
/// context is read only from a decimal `u64`.
pub fn producer_receipt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let json = serde_json::from_str::<Value>(text).ok();
    let ack = match crate::producer::receipt::decode(text) {
        Ok(ack) => ack,
        Err(reason) => {
            assert!(!reason.is_empty());
            return;
        }
    };
    let _ = format!("{ack:?}");
    let Some(json) = json else {
        return;
    };
    let result = json.get("result").and_then(Value::as_str);
    match &ack.outcome {
        Ok(id) => {
            assert_eq!(result, Some("ok"));
            assert_eq!(
                json.get("messageId").and_then(Value::as_str),
                Some(id.as_str())
            );
        }
        Err(Error::SendFailed { code, .. }) => {
            if *code != 0 {
                let sent = result.and_then(|r| r.strip_prefix("send-error:"));
                assert_eq!(
                    sent.map(|c| c.trim().parse::<u16>().ok()),
                    Some(Some(*code))
                );
            }
        }
        Err(Error::InvalidMessageId { .. }) => assert_eq!(result, Some("ok")),
        Err(other) => panic!("unexpected receipt error {other:?}"),
    }
    if let Some(context) = ack.context {
        let sent = json.get("context");
        let text_form = sent
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<u64>().ok());
        let number_form = sent.and_then(Value::as_u64);
        assert_eq!(text_form.or(number_form), Some(context));
    }
}
