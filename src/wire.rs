//! Frames in and out, as the server writes and reads them (`protocol.md`
//! §4, §5). Private: the rest of the crate sees decoded values only.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::Error;
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
pub(crate) fn classify(frame: InFrame<'_>) -> Result<Inbound<'_>, Error> {
    if let Some(end) = frame.end_of_topic {
        return Ok(Inbound::EndOfTopic(end));
    }
    let has_type = frame.kind.as_deref().is_some_and(|t| !t.is_empty());
    match (&frame.message_id, &frame.payload) {
        (Some(_), Some(_)) => Ok(Inbound::Message(frame)),
        (None, _) if has_type => Ok(Inbound::Control),
        (None, _) => Err(Error::MissingField {
            field: "messageId",
            message_id: None,
        }),
        (Some(id), None) => Err(Error::MissingField {
            field: "payload",
            message_id: Some(id.to_string()),
        }),
    }
}

/// A message frame's fields, decoded: all an `Event` holds but its ack
/// handle and topic.
pub(crate) struct Decoded {
    pub wire_id: Arc<str>,
    pub message_id: MessageId,
    pub payload: Bytes,
    pub properties: HashMap<String, String>,
    pub publish_time: Option<String>,
    pub event_time: Option<String>,
    pub key: Option<String>,
    pub redelivery_count: u32,
}

/// Why a message frame could not be decoded, and its id when it had a
/// usable one (so that it can still be acknowledged).
pub(crate) struct Undecodable {
    pub error: Error,
    pub wire_id: Option<Arc<str>>,
}

/// Parses one text frame, borrowing its strings where JSON escaping allows.
/// Only a JSON object is a frame: serde's derived structs would also read an
/// array, field by field in order (`["CAMQADAA","e30="]` as a message; found
/// by fuzzing).
pub(crate) fn parse(text: &str) -> serde_json::Result<InFrame<'_>> {
    if !is_object(text) {
        return Err(serde::de::Error::custom("not a JSON object"));
    }
    serde_json::from_str(text)
}

/// Whether `text` starts like a JSON object (after JSON whitespace).
pub(crate) fn is_object(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
}

/// Decodes a frame [`classify`] called a message: the id's protobuf and the
/// base64 payload.
pub(crate) fn decode_message(frame: InFrame<'_>) -> Result<Decoded, Undecodable> {
    let (Some(wire_id), Some(payload)) = (frame.message_id, frame.payload) else {
        return Err(Undecodable {
            error: Error::MissingField {
                field: "messageId",
                message_id: None,
            },
            wire_id: None,
        });
    };
    let wire_id: Arc<str> = Arc::from(&*wire_id);
    let message_id = match MessageId::from_wire_arc(wire_id.clone()) {
        Ok(id) => id,
        Err(error) => {
            return Err(Undecodable {
                error,
                wire_id: Some(wire_id),
            })
        }
    };
    let payload = match decode_base64(&payload) {
        Ok(bytes) => bytes,
        Err(e) => {
            return Err(Undecodable {
                error: Error::InvalidPayload {
                    message_id: wire_id.to_string(),
                    reason: e.to_string(),
                },
                wire_id: Some(wire_id),
            })
        }
    };
    Ok(Decoded {
        wire_id,
        message_id,
        payload,
        properties: frame.properties.unwrap_or_default(),
        publish_time: frame.publish_time.map(Cow::into_owned),
        event_time: frame.event_time.map(Cow::into_owned),
        key: frame.key.map(Cow::into_owned),
        redelivery_count: frame.redelivery_count.unwrap_or(0),
    })
}

/// Decodes standard base64 (padded or not) straight into `Bytes` of exactly
/// the decoded length: one allocation, which `Bytes` adopts as it is (a
/// buffer with spare capacity would cost `Bytes` a second allocation).
pub(crate) fn decode_base64(text: &str) -> Result<Bytes, base64::DecodeError> {
    let bytes = text.as_bytes();
    let unpadded = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(bytes);
    let len = match unpadded.len() % 4 {
        0 => unpadded.len() / 4 * 3,
        2 => unpadded.len() / 4 * 3 + 1,
        3 => unpadded.len() / 4 * 3 + 2,
        // Not a valid length: let the engine say why.
        _ => return BASE64.decode(bytes).map(Bytes::from),
    };
    let mut out = vec![0u8; len];
    match BASE64.decode_slice(bytes, &mut out) {
        Ok(written) => {
            out.truncate(written);
            Ok(Bytes::from(out))
        }
        Err(base64::DecodeSliceError::DecodeError(e)) => Err(e),
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => BASE64.decode(bytes).map(Bytes::from),
    }
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
///
/// Ids are base64 and need no JSON escaping: the frame is then built in a
/// buffer of its exact size (which the socket's `Bytes` adopts without a
/// second allocation); anything else goes through serde_json.
pub(crate) fn ack_frame(message_id: &str) -> String {
    const HEAD: &str = r#"{"messageId":""#;
    const TAIL: &str = r#""}"#;
    let plain = message_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'));
    if !plain {
        return command(None, Some(message_id));
    }
    let mut frame = String::with_capacity(HEAD.len() + message_id.len() + TAIL.len());
    frame.push_str(HEAD);
    frame.push_str(message_id);
    frame.push_str(TAIL);
    frame
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
        assert!(parse(r#"["CAMQADAA","e30="]"#).is_err());
        assert!(parse("[1,2,3]").is_err());
        assert!(parse(" \n{\"type\":\"x\"}").is_ok());
    }

    #[test]
    fn decodes_padded_and_unpadded_base64() {
        assert_eq!(BASE64.decode("e30=").unwrap(), b"{}");
        assert_eq!(BASE64.decode("e30").unwrap(), b"{}");
    }

    #[test]
    fn decodes_base64_into_exact_bytes() {
        for len in 0..70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let padded = BASE64.encode(&data);
            let unpadded = padded.trim_end_matches('=');
            for text in [padded.as_str(), unpadded] {
                let bytes = decode_base64(text).unwrap();
                assert_eq!(&bytes[..], &data[..], "{text:?}");
            }
        }
        for bad in ["e", "e30==", "e3=0", "!!!!", "e30=x", "===="] {
            assert!(decode_base64(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ack_frames_escape_what_needs_it() {
        for id in ["CAMQADAA", "CAM+/w==", "a-b_c", "", "a\\b", "a\nb", "é"] {
            let frame = ack_frame(id);
            let back: serde_json::Value = serde_json::from_str(&frame).unwrap();
            assert_eq!(back["messageId"], id, "{frame}");
        }
    }
}
