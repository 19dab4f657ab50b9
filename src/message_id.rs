//! Pulsar message ids: the exact wire string plus its decoded position.
//!
//! On the WebSocket API a message id is standard base64 of the `MessageIdData`
//! protobuf (`protocol.md` §9). Acks must echo the wire string verbatim (the
//! proxy looks the exact string up in a cache), so [`MessageId`] keeps it, and
//! decodes the protobuf only to order, compare, display and persist.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;

use crate::error::Error;
use crate::wire::BASE64;

/// The id of one message: the exact string the server sent, and its position.
///
/// Equality, hashing and ordering use the decoded position
/// `(ledger, entry, batch index)` (a missing batch index sorts first, as in
/// the Java client), never the base64 text. Order is meaningful only within
/// one topic partition; ids of different partitions compare by partition last.
///
/// ```
/// use pulsar_eventstream::MessageId;
///
/// let id: MessageId = "CAMQADAA".parse()?;
/// assert_eq!((id.ledger_id(), id.entry_id()), (3, 0));
/// assert_eq!(id.as_str(), "CAMQADAA");          // echoed verbatim in acks
/// assert!(id < MessageId::new(3, 1));
/// # Ok::<(), pulsar_eventstream::Error>(())
/// ```
#[derive(Clone)]
pub struct MessageId {
    wire: Arc<str>,
    ledger_id: u64,
    entry_id: u64,
    partition: i32,
    batch_index: i32,
    batch_size: i32,
}

impl MessageId {
    /// Builds the id of a non-batched message on a non-partitioned topic,
    /// encoded the way the server encodes it (`batch_size` 0 included).
    pub fn new(ledger_id: u64, entry_id: u64) -> Self {
        Self::from_parts(ledger_id, entry_id, -1, -1, 0)
    }

    /// Builds an id from all its parts; `-1` means "absent" for `partition`
    /// and `batch_index`, as in Pulsar's protobuf.
    pub fn from_parts(
        ledger_id: u64,
        entry_id: u64,
        partition: i32,
        batch_index: i32,
        batch_size: i32,
    ) -> Self {
        let mut buf = Vec::with_capacity(24);
        put_field_varint(&mut buf, 1, ledger_id);
        put_field_varint(&mut buf, 2, entry_id);
        if partition >= 0 {
            put_field_varint(&mut buf, 3, partition as u64);
        }
        if batch_index >= 0 {
            put_field_varint(&mut buf, 4, batch_index as u64);
        }
        // The server always writes field 6 (0 for non-batched ids).
        put_field_varint(&mut buf, 6, batch_size as i64 as u64);
        MessageId {
            wire: BASE64.encode(&buf).into(),
            ledger_id,
            entry_id,
            partition,
            batch_index,
            batch_size,
        }
    }

    /// Decodes the wire string of a message id (standard base64 of the
    /// `MessageIdData` protobuf). Unknown protobuf fields are skipped.
    pub fn from_wire(wire: &str) -> Result<Self, Error> {
        Self::from_wire_arc(Arc::from(wire))
    }

    /// [`from_wire`](Self::from_wire) for an already shared string.
    pub(crate) fn from_wire_arc(wire: Arc<str>) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidMessageId {
            id: wire.chars().take(128).collect(),
            reason: reason.to_string(),
        };
        // Ids are a few dozen bytes: decode on the stack, not the heap.
        let mut stack = [0u8; 64];
        let heap;
        let bytes = match BASE64.decode_slice(wire.as_bytes(), &mut stack) {
            Ok(len) => &stack[..len],
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
                heap = BASE64
                    .decode(wire.as_bytes())
                    .map_err(|e| invalid(&format!("not base64: {e}")))?;
                &heap[..]
            }
            Err(base64::DecodeSliceError::DecodeError(e)) => {
                return Err(invalid(&format!("not base64: {e}")))
            }
        };
        let fields = decode_message_id_data(bytes).map_err(invalid)?;
        Ok(MessageId {
            wire,
            ledger_id: fields.ledger_id,
            entry_id: fields.entry_id,
            partition: fields.partition,
            batch_index: fields.batch_index,
            batch_size: fields.batch_size,
        })
    }

    /// The exact string received from (or to be sent to) the server.
    pub fn as_str(&self) -> &str {
        &self.wire
    }

    /// The ledger this message is stored in.
    pub fn ledger_id(&self) -> u64 {
        self.ledger_id
    }

    /// The entry within the ledger.
    pub fn entry_id(&self) -> u64 {
        self.entry_id
    }

    /// The partition index, for messages of a partitioned topic.
    pub fn partition(&self) -> Option<u32> {
        u32::try_from(self.partition).ok()
    }

    /// The index within a batch, for batched messages.
    pub fn batch_index(&self) -> Option<u32> {
        u32::try_from(self.batch_index).ok()
    }

    /// The size of the batch this message belongs to (0 when not batched).
    pub fn batch_size(&self) -> u32 {
        u32::try_from(self.batch_size).unwrap_or(0)
    }

    fn position(&self) -> (u64, u64, i32, i32) {
        (
            self.ledger_id,
            self.entry_id,
            self.batch_index.max(-1),
            self.partition.max(-1),
        )
    }
}

impl PartialEq for MessageId {
    fn eq(&self, other: &Self) -> bool {
        self.position() == other.position()
    }
}

impl Eq for MessageId {}

impl Hash for MessageId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.position().hash(state);
    }
}

impl PartialOrd for MessageId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MessageId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.position().cmp(&other.position())
    }
}

impl fmt::Display for MessageId {
    /// The wire string, so that `to_string()` and [`FromStr`] round-trip.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.wire)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({}:{}", self.ledger_id, self.entry_id)?;
        if self.partition >= 0 {
            write!(f, " partition {}", self.partition)?;
        }
        if self.batch_index >= 0 {
            write!(f, " batch {}", self.batch_index)?;
        }
        write!(f, " {:?})", &*self.wire)
    }
}

impl FromStr for MessageId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_wire(s)
    }
}

impl serde::Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.wire)
    }
}

impl<'de> serde::Deserialize<'de> for MessageId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        MessageId::from_wire(&s).map_err(serde::de::Error::custom)
    }
}

struct Fields {
    ledger_id: u64,
    entry_id: u64,
    partition: i32,
    batch_index: i32,
    batch_size: i32,
}

fn decode_message_id_data(mut buf: &[u8]) -> Result<Fields, &'static str> {
    let mut ledger = None;
    let mut entry = None;
    let mut fields = Fields {
        ledger_id: 0,
        entry_id: 0,
        partition: -1,
        batch_index: -1,
        batch_size: 0,
    };
    while !buf.is_empty() {
        let key = read_varint(&mut buf)?;
        let (number, wire_type) = (key >> 3, key & 7);
        match wire_type {
            0 => {
                let v = read_varint(&mut buf)?;
                // int32 fields are sign-extended to 64 bits on the wire.
                match number {
                    1 => ledger = Some(v),
                    2 => entry = Some(v),
                    3 => fields.partition = v as i64 as i32,
                    4 => fields.batch_index = v as i64 as i32,
                    6 => fields.batch_size = v as i64 as i32,
                    _ => {}
                }
            }
            1 => buf = buf.get(8..).ok_or("truncated fixed64 field")?,
            2 => {
                let len = usize::try_from(read_varint(&mut buf)?).map_err(|_| "bad length")?;
                buf = buf.get(len..).ok_or("truncated length-delimited field")?;
            }
            5 => buf = buf.get(4..).ok_or("truncated fixed32 field")?,
            _ => return Err("unsupported protobuf wire type"),
        }
        if number == 0 {
            return Err("protobuf field number 0");
        }
    }
    fields.ledger_id = ledger.ok_or("ledgerId (field 1) missing")?;
    fields.entry_id = entry.ok_or("entryId (field 2) missing")?;
    Ok(fields)
}

fn read_varint(buf: &mut &[u8]) -> Result<u64, &'static str> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let (&byte, rest) = buf.split_first().ok_or("truncated varint")?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint longer than 10 bytes")
}

fn put_field_varint(buf: &mut Vec<u8>, number: u64, mut value: u64) {
    let mut key = number << 3;
    loop {
        // key fits in one or two bytes here, value in up to ten
        if key < 0x80 {
            buf.push(key as u8);
            break;
        }
        buf.push((key as u8 & 0x7f) | 0x80);
        key >>= 7;
    }
    while value >= 0x80 {
        buf.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_examples() {
        let old = MessageId::from_wire("CAAQAw==").unwrap();
        assert_eq!((old.ledger_id(), old.entry_id()), (0, 3));
        assert_eq!(old.batch_index(), None);
        let new = MessageId::from_wire("CAMQADAA").unwrap();
        assert_eq!(
            (new.ledger_id(), new.entry_id(), new.batch_size()),
            (3, 0, 0)
        );
    }

    #[test]
    fn new_encodes_like_the_server() {
        assert_eq!(MessageId::new(3, 0).as_str(), "CAMQADAA");
        let big = MessageId::from_parts(123_456_789, 987_654, 2, 5, 10);
        let back = MessageId::from_wire(big.as_str()).unwrap();
        assert_eq!(back.ledger_id(), 123_456_789);
        assert_eq!(back.entry_id(), 987_654);
        assert_eq!(back.partition(), Some(2));
        assert_eq!(back.batch_index(), Some(5));
        assert_eq!(back.batch_size(), 10);
    }

    #[test]
    fn keeps_the_wire_string_verbatim() {
        // The same position encoded without field 6 stays as received.
        let id = MessageId::from_wire("CAMQAA==").unwrap();
        assert_eq!(id.as_str(), "CAMQAA==");
        assert_eq!(id, MessageId::new(3, 0));
        assert_eq!(id.to_string(), "CAMQAA==");
    }

    #[test]
    fn orders_by_position_not_text() {
        let a = MessageId::new(1, 9);
        let b = MessageId::new(1, 10);
        let c = MessageId::new(2, 0);
        assert!(a < b && b < c);
        let batch0 = MessageId::from_parts(1, 10, -1, 0, 2);
        assert!(b < batch0, "non-batched sorts before batch index 0");
    }

    #[test]
    fn skips_unknown_fields() {
        // ledger 7, entry 8, unknown field 9 (varint), unknown field 10 (bytes)
        let bytes = [0x08, 7, 0x10, 8, 0x48, 1, 0x52, 2, 0xaa, 0xbb];
        let id = MessageId::from_wire(&BASE64.encode(bytes)).unwrap();
        assert_eq!((id.ledger_id(), id.entry_id()), (7, 8));
    }

    #[test]
    fn rejects_garbage_with_a_typed_error() {
        for bad in ["", "!!!", "CA", "EAM=", "CP////////////AQ=="] {
            match MessageId::from_wire(bad) {
                Err(Error::InvalidMessageId { .. }) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn decodes_long_ids_too() {
        // ledger 1, entry 2, then an unknown 100-byte field: past the stack
        // buffer.
        let mut bytes = vec![0x08, 1, 0x10, 2, 0x52, 100];
        bytes.extend([0xab; 100]);
        let id = MessageId::from_wire(&BASE64.encode(&bytes)).unwrap();
        assert_eq!((id.ledger_id(), id.entry_id()), (1, 2));
    }

    #[test]
    fn negative_int32_fields_round_trip() {
        let bytes = {
            let mut b = Vec::new();
            put_field_varint(&mut b, 1, 1);
            put_field_varint(&mut b, 2, 2);
            put_field_varint(&mut b, 4, -1i64 as u64);
            b
        };
        let id = MessageId::from_wire(&BASE64.encode(bytes)).unwrap();
        assert_eq!(id.batch_index(), None);
    }
}
