//! The crate's one error type.

use std::sync::Arc;
use std::time::Duration;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, each with a variant a program can match on.
///
/// Errors are cheap to clone (sources are shared), carry no secret (URLs are
/// redacted, credentials never appear), and know whether retrying can help:
/// see [`Error::is_retryable`].
///
/// The handshake is the only reliable error signal of the Pulsar WebSocket API
/// (`protocol.md` §3): a refused subscription is an HTTP status, kept here with
/// the server's message.
///
/// ```
/// use pulsar_eventstream::Error;
///
/// let err = Error::Unauthorized { body: "Failed to authenticate".into() };
/// assert!(!err.is_retryable());
/// assert_eq!(err.status(), Some(401));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A builder was given an invalid option; reported by `build()` or
    /// `subscribe()`, before anything is sent.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// A topic name could not be parsed or has an invalid segment.
    #[error("invalid topic {topic:?}: {reason}")]
    InvalidTopic {
        /// The rejected input (truncated).
        topic: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A message id is not base64 of a Pulsar `MessageIdData`.
    #[error("invalid message id {id:?}: {reason}")]
    InvalidMessageId {
        /// The rejected input (truncated).
        id: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Handshake refused with 400: a query parameter or the path was rejected.
    #[error("server rejected the request (400 Bad Request): {body}")]
    BadRequest {
        /// The server's message.
        body: String,
    },

    /// Handshake refused with 401: missing or wrong credentials.
    #[error("server rejected the credentials (401 Unauthorized): {body}")]
    Unauthorized {
        /// The server's message.
        body: String,
    },

    /// Handshake refused with 403: valid credentials without permission for
    /// this topic or subscription.
    #[error("not authorized for this topic (403 Forbidden): {body}")]
    Forbidden {
        /// The server's message.
        body: String,
    },

    /// Handshake refused with 404: wrong path, namespace, tenant or topic.
    #[error("topic or endpoint not found (404 Not Found): {body}")]
    NotFound {
        /// The server's message.
        body: String,
    },

    /// Handshake refused with 409: the subscription is busy (an `Exclusive`
    /// subscription already has a consumer) or a producer name is taken.
    #[error("subscription or producer busy (409 Conflict): {body}")]
    Conflict {
        /// The server's message.
        body: String,
    },

    /// Handshake refused with 429: the broker is throttling.
    #[error("server is throttling (429 Too Many Requests): {body}")]
    TooManyRequests {
        /// The server's message.
        body: String,
    },

    /// Handshake refused with a 5xx status.
    #[error("server error ({status}): {body}")]
    ServerError {
        /// The HTTP status (500–599).
        status: u16,
        /// The server's message.
        body: String,
    },

    /// Handshake answered with a status this crate does not expect.
    #[error("unexpected HTTP status {status} during the WebSocket handshake: {body}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        body: String,
    },

    /// The TCP connect plus WebSocket handshake did not finish in time.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),

    /// TLS failed: bad certificate, wrong host name, unknown authority…
    #[error("TLS error: {0}")]
    Tls(String),

    /// An I/O error on the connection.
    #[error("I/O error: {0}")]
    Io(Arc<std::io::Error>),

    /// The peer broke the WebSocket protocol.
    #[error("WebSocket protocol error: {0}")]
    Protocol(String),

    /// The connection was closed by the server or dropped. `code` is the
    /// close code: 1006 when the connection dropped without a Close frame
    /// (what a Pulsar error close looks like on Jetty 9.4), 1005 when the
    /// Close frame had no code (Jetty 12).
    #[error("connection closed (code {code}{}{reason})", if reason.is_empty() { "" } else { ": " })]
    Closed {
        /// The WebSocket close code.
        code: u16,
        /// The reason text, if any.
        reason: String,
    },

    /// No pong and no frame arrived in time after a ping: the peer is dead.
    #[error("keepalive timeout: no answer to a ping within {0:?}")]
    KeepaliveTimeout(Duration),

    /// No event arrived within the stream's no-events timeout although the
    /// application was ready for one: the proxy's consumer may be dead behind
    /// a socket that still answers pings.
    #[error("no event for {0:?}: the stream looks stalled")]
    Stalled(Duration),

    /// A checkpoint could not be loaded or saved.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint's location.
        path: String,
        /// What went wrong.
        reason: String,
    },

    /// A frame from the server was larger than the configured maximum.
    #[error("frame too large: {0}")]
    FrameTooLarge(String),

    /// A text frame from the server was not valid JSON. The stream goes on.
    #[error("malformed frame from the server: {reason}")]
    InvalidFrame {
        /// What the JSON parser said (never the frame itself).
        reason: String,
    },

    /// A message frame lacked a required field. The stream goes on.
    #[error("message frame without `{field}`")]
    MissingField {
        /// The missing field.
        field: &'static str,
        /// The message id, when the frame had one.
        message_id: Option<String>,
    },

    /// A message's `payload` was not valid base64. The stream goes on.
    #[error("payload of message {message_id} is not valid base64: {reason}")]
    InvalidPayload {
        /// The message id.
        message_id: String,
        /// What the decoder said.
        reason: String,
    },

    /// The server sent a binary frame; the API only uses text frames.
    #[error("unexpected binary frame of {len} bytes")]
    BinaryFrame {
        /// The frame's length.
        len: usize,
    },

    /// [`Event::text`](crate::Event::text) on a payload that is not UTF-8.
    #[error("payload of message {message_id} is not UTF-8: {reason}")]
    PayloadNotUtf8 {
        /// The message id.
        message_id: String,
        /// Where the decoding failed.
        reason: String,
    },

    /// [`Event::json`](crate::Event::json) could not decode the payload.
    #[error("payload of message {message_id} did not decode as JSON: {reason}")]
    PayloadJson {
        /// The message id.
        message_id: String,
        /// What serde said.
        reason: String,
    },

    /// The operation is not available on this kind of stream (for example a
    /// negative ack on a reader).
    #[error("not supported: {0}")]
    Unsupported(&'static str),

    /// The server refused to delete the subscription (for example because
    /// other consumers are still attached) and closed the connection.
    #[error("unsubscribe failed: {0}")]
    UnsubscribeFailed(String),

    /// The stream is closed: acks and requests can no longer be sent.
    #[error("the stream is closed")]
    StreamClosed,

    /// The server refused one produced message with a `send-error:<code>`
    /// receipt (`protocol.md` §8); the producer goes on. `code` 3: the frame
    /// was not valid JSON; 7: a bad field (payload base64, `eventTime`, …);
    /// 8: the broker could not store it (timeout, full queue, terminated
    /// topic, …), the only one worth retrying; 0: a result this crate does
    /// not know.
    #[error("send failed (send-error:{code}){}{message}", if message.is_empty() { "" } else { ": " })]
    SendFailed {
        /// The code after `send-error:` (3, 7 or 8; 0 if unreadable).
        code: u16,
        /// The server's `errorMsg`.
        message: String,
    },

    /// A message to produce does not fit in one frame of the allowed size;
    /// nothing was sent.
    #[error("message frame of {size} bytes exceeds the limit of {max} bytes")]
    MessageTooLarge {
        /// The size of the encoded frame.
        size: usize,
        /// The producer's limit.
        max: usize,
    },

    /// A message to produce could not be built (e.g. its JSON payload did
    /// not serialize); nothing was sent.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
}

impl Error {
    /// Whether trying again later can succeed: throttling, busy
    /// subscriptions, server errors, timeouts, I/O and abnormal closes, and
    /// a broker send failure (`send-error:8`). Bad requests, bad credentials,
    /// missing permissions, unknown topics, TLS failures and invalid
    /// configuration are not retryable.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Conflict { .. }
            | Error::TooManyRequests { .. }
            | Error::ServerError { .. }
            | Error::ConnectTimeout(_)
            | Error::Io(_)
            | Error::Protocol(_)
            | Error::Closed { .. }
            | Error::KeepaliveTimeout(_)
            | Error::Stalled(_)
            | Error::FrameTooLarge(_) => true,
            Error::SendFailed { code, .. } => *code == 8,
            Error::Config(_)
            | Error::InvalidTopic { .. }
            | Error::InvalidMessageId { .. }
            | Error::BadRequest { .. }
            | Error::Unauthorized { .. }
            | Error::Forbidden { .. }
            | Error::NotFound { .. }
            | Error::UnexpectedStatus { .. }
            | Error::Tls(_)
            | Error::InvalidFrame { .. }
            | Error::MissingField { .. }
            | Error::InvalidPayload { .. }
            | Error::BinaryFrame { .. }
            | Error::PayloadNotUtf8 { .. }
            | Error::PayloadJson { .. }
            | Error::Unsupported(_)
            | Error::Checkpoint { .. }
            | Error::UnsubscribeFailed(_)
            | Error::StreamClosed
            | Error::MessageTooLarge { .. }
            | Error::InvalidMessage(_) => false,
        }
    }

    /// The HTTP status of a refused handshake.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::BadRequest { .. } => Some(400),
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::Conflict { .. } => Some(409),
            Error::TooManyRequests { .. } => Some(429),
            Error::ServerError { status, .. } | Error::UnexpectedStatus { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Whether this error concerns one frame, one message id or one payload
    /// only: the stream it came from goes on.
    pub fn is_decode_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidFrame { .. }
                | Error::InvalidMessageId { .. }
                | Error::MissingField { .. }
                | Error::InvalidPayload { .. }
                | Error::BinaryFrame { .. }
                | Error::PayloadNotUtf8 { .. }
                | Error::PayloadJson { .. }
        )
    }

    /// Maps a refused handshake's status and body to its variant.
    pub(crate) fn from_status(status: u16, body: String) -> Error {
        match status {
            400 => Error::BadRequest { body },
            401 => Error::Unauthorized { body },
            403 => Error::Forbidden { body },
            404 => Error::NotFound { body },
            409 => Error::Conflict { body },
            429 => Error::TooManyRequests { body },
            500..=599 => Error::ServerError { status, body },
            _ => Error::UnexpectedStatus { status, body },
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_variants() {
        let cases: [(u16, bool); 9] = [
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (409, true),
            (429, true),
            (500, true),
            (503, true),
            (302, false),
        ];
        for (status, retryable) in cases {
            let e = Error::from_status(status, "m".into());
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.is_retryable(), retryable, "{status}");
        }
    }

    #[test]
    fn closed_display_reads_well() {
        let e = Error::Closed {
            code: 1006,
            reason: String::new(),
        };
        assert_eq!(e.to_string(), "connection closed (code 1006)");
        let e = Error::Closed {
            code: 1001,
            reason: "idle".into(),
        };
        assert_eq!(e.to_string(), "connection closed (code 1001: idle)");
    }
}
