//! Message id wire encoding (protocol.md §9.1), written independently of the client.
//!
//! A wire id is the standard base64 of a `MessageIdData` protobuf. The mock writes field 1
//! (`ledgerId`), field 2 (`entryId`) and field 6 (`batch_size`, always 0), exactly as
//! `MessageIdImpl.toByteArray()` does for non-batched messages.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Java's `Base64.getDecoder()` accepts the standard alphabet with or without padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded position inside one topic: `(ledgerId, entryId)`.
pub(crate) type Position = (u64, u64);

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Encodes `(ledger, entry)` as the wire string the real proxy sends (§9.1).
pub(crate) fn encode(ledger: u64, entry: u64) -> String {
    let mut buf = Vec::with_capacity(16);
    buf.push(0x08);
    put_varint(&mut buf, ledger);
    buf.push(0x10);
    put_varint(&mut buf, entry);
    buf.extend_from_slice(&[0x30, 0x00]);
    STANDARD.encode(buf)
}

/// Why a client-sent id could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdError {
    /// Not valid base64 (Java: `IllegalArgumentException` from the decoder).
    Base64(String),
    /// Valid base64 but not a `MessageIdData` (Java: `IOException`).
    Protobuf(String),
}

impl std::fmt::Display for IdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdError::Base64(m) | IdError::Protobuf(m) => f.write_str(m),
        }
    }
}

fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Decodes a wire id: base64 first, then the protobuf (unknown fields skipped, field 6 optional,
/// fields 1 and 2 required as in proto2).
pub(crate) fn decode(s: &str) -> Result<Position, IdError> {
    let bytes = LENIENT
        .decode(s)
        .map_err(|e| IdError::Base64(format!("Illegal base64: {e}")))?;
    decode_bytes(&bytes)
}

fn decode_bytes(buf: &[u8]) -> Result<Position, IdError> {
    let bad = |m: &str| IdError::Protobuf(format!("Invalid MessageIdData: {m}"));
    let (mut ledger, mut entry) = (None, None);
    let mut pos = 0;
    while pos < buf.len() {
        let tag = get_varint(buf, &mut pos).ok_or_else(|| bad("truncated tag"))?;
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                let v = get_varint(buf, &mut pos).ok_or_else(|| bad("truncated varint"))?;
                match field {
                    1 => ledger = Some(v),
                    2 => entry = Some(v),
                    0 => return Err(bad("field number 0")),
                    _ => {}
                }
            }
            1 => pos = pos.checked_add(8).ok_or_else(|| bad("overflow"))?,
            5 => pos = pos.checked_add(4).ok_or_else(|| bad("overflow"))?,
            2 => {
                let len = get_varint(buf, &mut pos).ok_or_else(|| bad("truncated length"))?;
                let len = usize::try_from(len).map_err(|_| bad("length too large"))?;
                pos = pos.checked_add(len).ok_or_else(|| bad("overflow"))?;
            }
            _ => return Err(bad("unsupported wire type")),
        }
        if pos > buf.len() {
            return Err(bad("truncated field"));
        }
    }
    match (ledger, entry) {
        (Some(l), Some(e)) => Ok((l, e)),
        _ => Err(bad("missing ledgerId or entryId")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_examples_from_protocol() {
        assert_eq!(encode(3, 0), "CAMQADAA");
        assert_eq!(decode("CAMQADAA"), Ok((3, 0)));
        assert_eq!(decode("CAAQAw=="), Ok((0, 3)));
        assert_eq!(decode("CAAQAw"), Ok((0, 3)));
    }

    #[test]
    fn roundtrip_large_and_errors() {
        for (l, e) in [(0, 0), (127, 128), (300, 1 << 40), (u64::MAX, 7)] {
            assert_eq!(decode(&encode(l, e)), Ok((l, e)));
        }
        assert!(matches!(decode("!!"), Err(IdError::Base64(_))));
        assert!(matches!(decode("CAM="), Err(IdError::Protobuf(_))));
        assert!(matches!(decode(""), Err(IdError::Protobuf(_))));
        // unknown fields (3 partition, 4 batch_index, a length-delimited 7) are skipped
        let bytes = [
            0x08, 0x05, 0x10, 0x06, 0x18, 0x01, 0x20, 0x02, 0x3a, 0x02, 0x08, 0x01,
        ];
        assert_eq!(decode(&STANDARD.encode(bytes)), Ok((5, 6)));
    }
}
