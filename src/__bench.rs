//! Entry points for the benches in `benches/`: the decoder and the
//! per-event instruments exactly as the socket actor runs them.
//!
//! **Not public API.** Hidden from the documentation, exempt from semver:
//! anything here may change or disappear in any release.

use bytes::Bytes;

use crate::{Error, MessageId, Result};

/// Decodes one server text frame the way the socket actor does (parse,
/// classify, message id, base64 payload), keeping the id and payload.
pub fn decode_frame(text: &str) -> Result<(MessageId, Bytes)> {
    let frame = crate::wire::parse(text).map_err(|e| Error::InvalidFrame {
        reason: e.to_string(),
    })?;
    match crate::wire::classify(frame)? {
        crate::wire::Inbound::Message(frame) => crate::wire::decode_message(frame)
            .map(|d| (d.message_id, d.payload))
            .map_err(|bad| bad.error),
        _ => Err(Error::InvalidFrame {
            reason: "not a message".into(),
        }),
    }
}

/// The ack frame for a message id, as the socket actor writes it.
pub fn ack_frame(message_id: &str) -> String {
    crate::wire::ack_frame(message_id)
}

/// Parses a `publishTime` / `eventTime` text as `Event::publish_time`
/// does; the instant in nanoseconds since the Unix epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    crate::timestamp::parse_time(text).and_then(|t| t.timestamp_nanos_opt())
}

/// One stream's counters (and their `metrics` handles, with the feature),
/// registered with whatever recorder is current when made.
pub struct Instruments(crate::stats::Instruments);

impl Instruments {
    /// Counters for `topic`.
    pub fn new(topic: &str) -> Self {
        Instruments(crate::stats::Instruments::new(topic))
    }

    /// What the actor records when a message frame becomes an event.
    pub fn event_received(&self, publish_time: Option<&str>) {
        self.0.event_received(publish_time);
    }

    /// Everything recorded for one event of a reader in `AckMode::Auto`,
    /// in the order the actor and the stream record it: the frame's
    /// bytes, the event, the hand-over, the queue length after the take,
    /// and the ack. (The actor sets the queue length once per read
    /// burst, not per event.)
    pub fn read_path_event(&self, frame_len: usize, publish_time: Option<&str>) {
        self.0.bytes(frame_len);
        self.0.event_received(publish_time);
        self.0.event_delivered();
        self.0.buffered(0);
        self.0.ack_sent();
    }
}
