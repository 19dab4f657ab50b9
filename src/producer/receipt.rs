//! Decoding of the server's producer acks (`data/ProducerAck`,
//! `protocol.md` §8): `{"result":"ok","messageId":…,"context":…}` or
//! `{"result":"send-error:<code>","errorMsg":…,"context":…}`.

use std::borrow::Cow;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::message_id::MessageId;

/// One decoded ack.
#[derive(Debug)]
pub(crate) struct ProducerAck {
    /// The context this producer put in the frame, when the ack carries one
    /// of ours (a decimal `u64`). `send-error:3` never has one: the server
    /// could not read the frame.
    pub context: Option<u64>,
    /// The stored message's id, or why it was refused.
    pub outcome: Result<MessageId>,
}

#[derive(Deserialize)]
struct RawAck<'a> {
    #[serde(borrow, default)]
    result: Option<Cow<'a, str>>,
    #[serde(rename = "messageId", borrow, default)]
    message_id: Option<Cow<'a, str>>,
    #[serde(rename = "errorMsg", borrow, default)]
    error_msg: Option<Cow<'a, str>>,
    #[serde(default)]
    context: Option<Context<'a>>,
}

/// Jackson writes the context back as a string; accept a number too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Context<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Number(u64),
    Other(serde::de::IgnoredAny),
}

/// Decodes one text frame of the producer endpoint. `Err` means the frame
/// is not an ack at all (not JSON, or no `result`): it is logged and
/// skipped, the connection goes on.
pub(crate) fn decode(text: &str) -> std::result::Result<ProducerAck, String> {
    if !crate::wire::is_object(text) {
        return Err("not a JSON object".into());
    }
    let raw: RawAck<'_> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Some(result) = raw.result else {
        return Err("frame without `result`".into());
    };
    let context = match raw.context {
        Some(Context::Text(text)) => text.parse::<u64>().ok(),
        Some(Context::Number(n)) => Some(n),
        Some(Context::Other(_)) | None => None,
    };
    let message = raw.error_msg.map(Cow::into_owned).unwrap_or_default();
    let outcome = if result == "ok" {
        match raw.message_id {
            Some(id) => MessageId::from_wire(&id),
            None => Err(Error::SendFailed {
                code: 0,
                message: "receipt `ok` without a messageId".into(),
            }),
        }
    } else if let Some(code) = result.strip_prefix("send-error:") {
        match code.trim().parse::<u16>() {
            Ok(code) if code != 0 => Err(Error::SendFailed { code, message }),
            _ => Err(Error::SendFailed {
                code: 0,
                message: format!("unknown result {result:?}: {message}"),
            }),
        }
    } else {
        Err(Error::SendFailed {
            code: 0,
            message: format!("unknown result {result:?}: {message}"),
        })
    };
    Ok(ProducerAck { context, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_receipts_carry_the_id_and_context() {
        let ack = decode(r#"{"result":"ok","messageId":"CAMQADAA","context":"42"}"#).unwrap();
        assert_eq!(ack.context, Some(42));
        let id = ack.outcome.unwrap();
        assert_eq!(
            (id.ledger_id(), id.entry_id(), id.as_str()),
            (3, 0, "CAMQADAA")
        );
        // Unknown fields and a numeric context are fine.
        let ack = decode(r#"{"context":7,"result":"ok","messageId":"CAMQADAA","x":[1]}"#).unwrap();
        assert_eq!(ack.context, Some(7));
    }

    #[test]
    fn each_send_error_code_is_typed() {
        let ack = decode(
            r#"{"result":"send-error:8","errorMsg":"Producer send queue is full","context":"1"}"#,
        )
        .unwrap();
        assert_eq!(ack.context, Some(1));
        let error = ack.outcome.unwrap_err();
        assert!(
            matches!(&error, Error::SendFailed { code: 8, message } if message == "Producer send queue is full")
        );
        assert!(error.is_retryable());
        assert_eq!(
            error.to_string(),
            "send failed (send-error:8): Producer send queue is full"
        );

        let ack = decode(
            r#"{"result":"send-error:7","errorMsg":"Failed to decode payload","context":"2"}"#,
        )
        .unwrap();
        let error = ack.outcome.unwrap_err();
        assert!(matches!(error, Error::SendFailed { code: 7, .. }));
        assert!(!error.is_retryable());

        // Not valid JSON: the server could not read a context (§8).
        let ack =
            decode(r#"{"result":"send-error:3","errorMsg":"Failed to deserialize from JSON"}"#)
                .unwrap();
        assert_eq!(ack.context, None);
        let error = ack.outcome.unwrap_err();
        assert!(matches!(error, Error::SendFailed { code: 3, .. }));
        assert!(!error.is_retryable());
    }

    #[test]
    fn odd_receipts_are_errors_not_panics() {
        for text in [
            r#"{"result":"send-error:x","context":"1"}"#,
            r#"{"result":"weird","context":"1"}"#,
            r#"{"result":"ok","context":"1"}"#,
        ] {
            let ack = decode(text).unwrap();
            assert_eq!(ack.context, Some(1));
            assert!(
                matches!(ack.outcome, Err(Error::SendFailed { code: 0, .. })),
                "{text}"
            );
        }
        let ack = decode(r#"{"result":"ok","messageId":"***","context":"1"}"#).unwrap();
        assert!(matches!(ack.outcome, Err(Error::InvalidMessageId { .. })));
        // A context this producer never wrote.
        let ack = decode(r#"{"result":"ok","messageId":"CAMQADAA","context":"abc"}"#).unwrap();
        assert_eq!(ack.context, None);
        let ack = decode(r#"{"result":"ok","messageId":"CAMQADAA","context":{"a":1}}"#).unwrap();
        assert_eq!(ack.context, None);
        assert!(decode("not json").is_err());
        assert!(decode(r#"{"messageId":"CAMQADAA"}"#).is_err());
    }
}
