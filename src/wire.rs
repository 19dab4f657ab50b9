//! Frames in and out, as the server writes and reads them (`protocol.md`
//! §4, §5). Private: the rest of the crate sees decoded values only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::message_id::MessageId;

/// Standard alphabet; encodes with padding, decodes with or without it.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Any text frame the server may send to a reader or consumer. Strings are
/// borrowed from the frame where JSON escaping allows.
#[derive(Deserialize)]
pub(crate) struct InFrame<'a> {
    #[serde(rename = "messageId", borrow, default)]
    pub message_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub payload: Option<Cow<'a, str>>,
    #[serde(default)]
    pub properties: Option<HashMap<String, String>>,
    #[serde(rename = "publishTime", borrow, default)]
    pub publish_time: Option<Cow<'a, str>>,
    #[serde(rename = "eventTime", borrow, default)]
    pub event_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub key: Option<Cow<'a, str>>,
    #[serde(rename = "redeliveryCount", default)]
    pub redelivery_count: Option<u32>,
    #[serde(rename = "endOfTopic", default)]
    pub end_of_topic: Option<bool>,
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Cow<'a, str>>,
}

/// What one server frame turned out to be.
// Lives on the stack for one frame; boxing would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Inbound<'a> {
    /// A message: `messageId` and `payload` are present.
    Message(InFrame<'a>),
    /// The answer to `isEndOfTopic`.
    EndOfTopic(bool),
    /// Some other control frame (a `type` without a `messageId`): skipped.
    Control,
}

/// Classifies a frame the way the 8x8 example clients do: `endOfTopic` or a
/// non-empty `type` without a message id is control, never an event.
pub(crate) fn classify(frame: InFrame<'_>) -> Result<Inbound<'_>, crate::Error> {
    if let Some(end) = frame.end_of_topic {
        return Ok(Inbound::EndOfTopic(end));
    }
    let has_type = frame.kind.as_deref().is_some_and(|t| !t.is_empty());
    match (&frame.message_id, &frame.payload) {
        (Some(_), Some(_)) => Ok(Inbound::Message(frame)),
        (None, _) if has_type => Ok(Inbound::Control),
        (None, _) => Err(crate::Error::MissingField {
            field: "messageId",
            message_id: None,
        }),
        (Some(id), None) => Err(crate::Error::MissingField {
            field: "payload",
            message_id: Some(id.to_string()),
        }),
    }
}

/// Parses one text frame from the server and classifies it. JSON that is not
/// a frame (syntax, types, nesting deeper than serde_json's limit of 128) is
/// [`Error::InvalidFrame`](crate::Error::InvalidFrame); the frame's text is
/// never copied into the error.
pub(crate) fn parse(text: &str) -> Result<Inbound<'_>, crate::Error> {
    if !is_object(text) {
        return Err(crate::Error::InvalidFrame {
            reason: "not a JSON object".into(),
        });
    }
    let frame: InFrame<'_> =
        serde_json::from_str(text).map_err(|e| crate::Error::InvalidFrame {
            reason: e.to_string(),
        })?;
    classify(frame)
}

/// Whether `text` starts like a JSON object. serde's derived structs also
/// accept an array, field by field in order (`["CAMQADAA","e30="]` would be a
/// message); the server only ever sends objects.
pub(crate) fn is_object(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
}

/// Decodes a message frame's id and base64 payload.
pub(crate) fn decode_message(
    wire_id: &Arc<str>,
    payload: &str,
) -> Result<(MessageId, Bytes), crate::Error> {
    let message_id = MessageId::from_wire_arc(wire_id.clone())?;
    let payload = BASE64
        .decode(payload.as_bytes())
        .map_err(|e| crate::Error::InvalidPayload {
            message_id: wire_id.to_string(),
            reason: e.to_string(),
        })?;
    Ok((message_id, Bytes::from(payload)))
}

/// A client command (`protocol.md` §5.1).
#[derive(Serialize)]
pub(crate) struct OutCommand<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(rename = "messageId", skip_serializing_if = "Option::is_none")]
    pub message_id: Option<&'a str>,
    #[serde(rename = "permitMessages", skip_serializing_if = "Option::is_none")]
    pub permit_messages: Option<u32>,
}

/// `{"messageId":"<id exactly as received>"}`.
pub(crate) fn ack_frame(message_id: &str) -> String {
    command(None, Some(message_id))
}

/// `{"type":"negativeAcknowledge","messageId":"…"}`.
pub(crate) fn nack_frame(message_id: &str) -> String {
    command(Some("negativeAcknowledge"), Some(message_id))
}

/// `{"type":"isEndOfTopic"}`.
pub(crate) fn end_of_topic_frame() -> String {
    command(Some("isEndOfTopic"), None)
}

/// `{"type":"permit","permitMessages":N}` (pull mode).
pub(crate) fn permit_frame(permits: u32) -> String {
    let cmd = OutCommand {
        kind: Some("permit"),
        message_id: None,
        permit_messages: Some(permits),
    };
    serde_json::to_string(&cmd).unwrap_or_else(|_| "{}".to_string())
}

/// `{"type":"unsubscribe"}`.
pub(crate) fn unsubscribe_frame() -> String {
    command(Some("unsubscribe"), None)
}

fn command(kind: Option<&'static str>, message_id: Option<&str>) -> String {
    let cmd = OutCommand {
        kind,
        message_id,
        permit_messages: None,
    };
    // Serializing a struct of strings cannot fail; fall back to a valid frame.
    serde_json::to_string(&cmd).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_commands_exactly() {
        assert_eq!(ack_frame("CAMQADAA"), r#"{"messageId":"CAMQADAA"}"#);
        assert_eq!(
            nack_frame("CAM+/w=="),
            r#"{"type":"negativeAcknowledge","messageId":"CAM+/w=="}"#
        );
        assert_eq!(end_of_topic_frame(), r#"{"type":"isEndOfTopic"}"#);
        assert_eq!(permit_frame(7), r#"{"type":"permit","permitMessages":7}"#);
        assert_eq!(unsubscribe_frame(), r#"{"type":"unsubscribe"}"#);
        assert_eq!(ack_frame("a\"b"), r#"{"messageId":"a\"b"}"#);
    }

    #[test]
    fn classifies_frames() {
        let parse = |s: &'static str| classify(serde_json::from_str(s).unwrap());
        assert!(matches!(
            parse(r#"{"endOfTopic":true}"#),
            Ok(Inbound::EndOfTopic(true))
        ));
        assert!(matches!(parse(r#"{"type":"ping"}"#), Ok(Inbound::Control)));
        assert!(matches!(
            parse(r#"{"messageId":"CAMQADAA","payload":"e30=","extra":[1,2]}"#),
            Ok(Inbound::Message(_))
        ));
        assert!(matches!(
            parse(r#"{"messageId":"CAMQADAA"}"#),
            Err(crate::Error::MissingField {
                field: "payload",
                ..
            })
        ));
        assert!(matches!(
            parse(r#"{"payload":"e30="}"#),
            Err(crate::Error::MissingField {
                field: "messageId",
                ..
            })
        ));
    }

    #[test]
    fn only_objects_are_frames() {
        // Found by fuzzing: a derived struct also reads an array positionally.
        assert!(matches!(
            parse(r#"["CAMQADAA","e30="]"#),
            Err(crate::Error::InvalidFrame { .. })
        ));
        assert!(matches!(parse(" \n{\"type\":\"x\"}"), Ok(Inbound::Control)));
    }

    #[test]
    fn decodes_padded_and_unpadded_base64() {
        use base64::Engine as _;
        assert_eq!(BASE64.decode("e30=").unwrap(), b"{}");
        assert_eq!(BASE64.decode("e30").unwrap(), b"{}");
    }
}
