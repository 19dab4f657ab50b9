//! Server frames shaped like the reader/consumer endpoint's
//! (`protocol.md` §4.1), built without the crate's own encoders.

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// A payload of `len` bytes that looks like a JSON event (printable ASCII).
pub fn payload(len: usize) -> Vec<u8> {
    let head = br#"{"eventType":"InteractionCreated","interactionGuid":"int-"#;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&head[..head.len().min(len)]);
    let mut i = 0u32;
    while out.len() < len.saturating_sub(2) {
        out.push(b'a' + (i % 26) as u8);
        i = i.wrapping_add(7);
    }
    while out.len() < len {
        out.push(b'}');
    }
    out
}

/// Protobuf `MessageIdData` {ledgerId, entryId, batchSize 0} (field 6, as
/// the server writes it), standard base64: the wire id of one message.
pub fn message_id(ledger: u64, entry: u64) -> String {
    let mut buf = Vec::with_capacity(24);
    field(&mut buf, 1, ledger);
    field(&mut buf, 2, entry);
    field(&mut buf, 6, 0);
    STANDARD.encode(buf)
}

fn field(buf: &mut Vec<u8>, number: u64, mut value: u64) {
    buf.push((number << 3) as u8);
    while value >= 0x80 {
        buf.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

/// The `publishTime` of every frame, as the proxy writes it.
pub const PUBLISH_TIME: &str = "2024-05-01T10:00:00.967Z";

/// One message frame, field order and shape as the proxy writes them.
pub fn message_frame(wire_id: &str, payload_b64: &str) -> String {
    format!(
        r#"{{"messageId":"{wire_id}","payload":"{payload_b64}","properties":{{}},"publishTime":"{PUBLISH_TIME}","redeliveryCount":0}}"#
    )
}

/// A message frame with a `payload_len`-byte payload.
pub fn frame_with_payload(ledger: u64, entry: u64, payload_len: usize) -> String {
    message_frame(
        &message_id(ledger, entry),
        &STANDARD.encode(payload(payload_len)),
    )
}
