//! Property tests of the decoders and encoders that face the server:
//! `MessageId` against the `MessageIdData` protobuf definition
//! (`protocol.md` §9, with an encoder written here, independent of the
//! crate's), topic names, and the percent-encoding of every path segment and
//! query value (checked with `url::form_urlencoded` and end to end through
//! MockPulsar).

mod common;

use std::cmp::Ordering;

use proptest::prelude::*;
use pulsar_eventstream::testing::MockPulsar;
use pulsar_eventstream::{Client, Credentials, Error, MessageId, NeverReconnect, Position, Topic};

// ----- an independent MessageIdData encoder ----------------------------------------------------

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, number: u32, wire_type: u8) {
    varint(out, (u64::from(number) << 3) | u64::from(wire_type));
}

/// One protobuf field, as a writer could put it on the wire.
#[derive(Debug, Clone)]
enum Field {
    Varint(u32, u64),
    Fixed64(u32, u64),
    Bytes(u32, Vec<u8>),
    Fixed32(u32, u32),
}

impl Field {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Field::Varint(n, v) => {
                key(out, *n, 0);
                varint(out, *v);
            }
            Field::Fixed64(n, v) => {
                key(out, *n, 1);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Field::Bytes(n, b) => {
                key(out, *n, 2);
                varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
            Field::Fixed32(n, v) => {
                key(out, *n, 5);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// `int32` on the wire: negative values sign-extended to ten bytes.
fn int32(v: i32) -> u64 {
    v as i64 as u64
}

/// RFC 4648 base64, standard alphabet, with or without padding.
fn base64(bytes: &[u8], pad: bool) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// What the proto2 definition says a `MessageIdData` holds.
#[derive(Debug, Clone)]
struct IdSpec {
    ledger: u64,
    entry: u64,
    partition: Option<i32>,
    batch_index: Option<i32>,
    batch_size: Option<i32>,
    /// Fields this crate does not read (5 `ack_set`, 7 `first_chunk_message_id`,
    /// and numbers from the future).
    unknown: Vec<Field>,
}

impl IdSpec {
    fn fields(&self) -> Vec<Field> {
        let mut fields = vec![Field::Varint(1, self.ledger), Field::Varint(2, self.entry)];
        if let Some(p) = self.partition {
            fields.push(Field::Varint(3, int32(p)));
        }
        if let Some(b) = self.batch_index {
            fields.push(Field::Varint(4, int32(b)));
        }
        if let Some(s) = self.batch_size {
            fields.push(Field::Varint(6, int32(s)));
        }
        fields.extend(self.unknown.iter().cloned());
        fields
    }

    fn encode(fields: &[Field]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in fields {
            f.write(&mut out);
        }
        out
    }

    /// `(ledger, entry, batch_index)` with an absent or negative index as -1:
    /// the Java `MessageIdImpl` order within one partition.
    fn position(&self) -> (u64, u64, i32) {
        let batch = self.batch_index.filter(|b| *b >= 0).unwrap_or(-1);
        (self.ledger, self.entry, batch)
    }
}

fn unknown_field() -> impl Strategy<Value = Field> {
    let number = prop_oneof![Just(5u32), Just(7u32), 8u32..=40, 1000u32..=536_870_911];
    (
        number,
        0u8..4,
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..12),
    )
        .prop_map(|(n, kind, v, bytes)| match kind {
            0 => Field::Varint(n, v),
            1 => Field::Fixed64(n, v),
            2 => Field::Bytes(n, bytes),
            _ => Field::Fixed32(n, v as u32),
        })
}

fn int32_field() -> impl Strategy<Value = Option<i32>> {
    prop_oneof![
        2 => Just(None),
        3 => (0i32..64).prop_map(Some),
        1 => any::<i32>().prop_map(Some),
        1 => Just(Some(-1)),
    ]
}

fn id_spec() -> impl Strategy<Value = IdSpec> {
    let number = prop_oneof![0u64..4, 0u64..100_000, any::<u64>()];
    (
        number.clone(),
        number,
        int32_field(),
        int32_field(),
        int32_field(),
        proptest::collection::vec(unknown_field(), 0..3),
    )
        .prop_map(
            |(ledger, entry, partition, batch_index, batch_size, unknown)| IdSpec {
                ledger,
                entry,
                partition,
                batch_index,
                batch_size,
                unknown,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any `MessageIdData`, fields in any order, unknown fields anywhere,
    /// padded or not: decodes to exactly the fields written, keeps its wire
    /// string, and re-encodes (`from_parts`) to an id that decodes the same.
    #[test]
    fn message_id_decodes_what_the_protobuf_says(
        spec in id_spec(),
        shuffle in any::<proptest::sample::Index>(),
        pad in any::<bool>(),
    ) {
        let mut fields = spec.fields();
        // A rotation by a random amount: field order is free in protobuf.
        let len = fields.len();
        fields.rotate_left(shuffle.index(len));
        let wire = base64(&IdSpec::encode(&fields), pad);
        let id = MessageId::from_wire(&wire).expect("a valid MessageIdData decodes");
        prop_assert_eq!(id.as_str(), wire.as_str());
        prop_assert_eq!(id.ledger_id(), spec.ledger);
        prop_assert_eq!(id.entry_id(), spec.entry);
        let non_negative = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
        prop_assert_eq!(id.partition(), non_negative(spec.partition));
        prop_assert_eq!(id.batch_index(), non_negative(spec.batch_index));
        prop_assert_eq!(id.batch_size(), non_negative(spec.batch_size).unwrap_or(0));

        let rebuilt = MessageId::from_parts(
            spec.ledger,
            spec.entry,
            spec.partition.unwrap_or(-1),
            spec.batch_index.unwrap_or(-1),
            spec.batch_size.unwrap_or(0),
        );
        prop_assert_eq!(&rebuilt, &id);
        let again = MessageId::from_wire(rebuilt.as_str()).expect("re-encoded id decodes");
        prop_assert_eq!(again.batch_size(), id.batch_size());
        prop_assert_eq!(again.partition(), id.partition());
    }

    /// `from_parts` writes what the server writes (`MessageIdImpl.toByteArray`):
    /// fields 1, 2, then 3 and 4 when present, then 6, in that order.
    #[test]
    fn message_id_encodes_like_the_server(
        ledger in any::<u64>(),
        entry in any::<u64>(),
        partition in prop_oneof![Just(-1i32), 0i32..1000],
        batch_index in prop_oneof![Just(-1i32), 0i32..1000],
        batch_size in 0i32..1000,
    ) {
        let spec = IdSpec {
            ledger,
            entry,
            partition: (partition >= 0).then_some(partition),
            batch_index: (batch_index >= 0).then_some(batch_index),
            batch_size: Some(batch_size),
            unknown: Vec::new(),
        };
        let expected = base64(&IdSpec::encode(&spec.fields()), true);
        let id = MessageId::from_parts(ledger, entry, partition, batch_index, batch_size);
        prop_assert_eq!(id.as_str(), expected.as_str());
    }

    /// Within one partition, ids order by `(ledger, entry, batch_index)`
    /// lexicographically with an absent index (-1) first, whatever their
    /// wire strings say; equality and ordering agree.
    #[test]
    fn message_ids_order_like_the_java_client(
        a in id_spec(),
        b in id_spec(),
        same_ledger in any::<bool>(),
        same_entry in any::<bool>(),
    ) {
        let mut b = b;
        b.partition = a.partition;
        if same_ledger {
            b.ledger = a.ledger;
            if same_entry {
                b.entry = a.entry;
            }
        }
        let id_a = MessageId::from_wire(&base64(&IdSpec::encode(&a.fields()), true)).unwrap();
        let id_b = MessageId::from_wire(&base64(&IdSpec::encode(&b.fields()), true)).unwrap();
        let expected = a.position().cmp(&b.position());
        prop_assert_eq!(id_a.cmp(&id_b), expected);
        prop_assert_eq!(id_b.cmp(&id_a), expected.reverse());
        prop_assert_eq!(id_a == id_b, expected == Ordering::Equal);
    }

    /// Bytes that are not a `MessageIdData` (or not base64) are a typed
    /// error, never a panic, and the error does not copy unbounded input.
    #[test]
    fn garbage_message_ids_are_typed_errors(bytes in proptest::collection::vec(any::<u8>(), 0..64), text in ".{0,300}") {
        for wire in [base64(&bytes, true), text] {
            match MessageId::from_wire(&wire) {
                Ok(id) => prop_assert_eq!(id.as_str(), wire.as_str()),
                Err(Error::InvalidMessageId { id, .. }) => prop_assert!(id.chars().count() <= 128),
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}

// ----- topics ------------------------------------------------------------------------------------

/// What a topic segment may be: not empty, not `.` or `..`, no control
/// characters; a tenant or namespace (`entity`) only of Pulsar's
/// `[-=:.\w]` (`NamedEntity`), since the server reads them undecoded.
fn segment_ok(s: &str, entity: bool) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s.chars().any(char::is_control)
        && (!entity
            || s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-=:._".contains(c)))
}

fn topic_like() -> impl Strategy<Value = String> {
    let prefix = prop_oneof![
        4 => Just("persistent://"),
        2 => Just("non-persistent://"),
        1 => Just("persistent:/"),
        1 => Just("Persistent://"),
        1 => Just("http://"),
        1 => Just(""),
    ];
    let segment = prop_oneof![
        4 => "[a-zA-Z0-9_-]{1,8}",
        2 => "[a-z.:%+ \\-]{0,4}",
        1 => Just(".".to_string()),
        1 => Just("..".to_string()),
        1 => "[\\x00-\\x1f\\x7f é😀=]{1,3}",
        1 => "\\PC{0,5}",
    ];
    (prefix, proptest::collection::vec(segment, 1..5))
        .prop_map(|(prefix, segments)| format!("{prefix}{}", segments.join("/")))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Any string parses to a topic that prints back identically, or is
    /// rejected with `InvalidTopic`; it parses exactly when it is a domain,
    /// `://` and three valid segments.
    #[test]
    fn a_topic_string_prints_back_identically_or_is_rejected(text in topic_like()) {
        check_topic(&text)?;
    }

    #[test]
    fn any_string_is_a_topic_or_invalid_topic(text in any::<String>()) {
        check_topic(&text)?;
    }
}

fn check_topic(text: &str) -> Result<(), TestCaseError> {
    let rest = text
        .strip_prefix("persistent://")
        .or_else(|| text.strip_prefix("non-persistent://"));
    let valid = rest.is_some_and(|rest| {
        let parts: Vec<&str> = rest.split('/').collect();
        parts.len() == 3
            && segment_ok(parts[0], true)
            && segment_ok(parts[1], true)
            && segment_ok(parts[2], false)
    });
    match text.parse::<Topic>() {
        Ok(topic) => {
            prop_assert!(valid, "accepted {text:?}");
            prop_assert_eq!(topic.to_string(), text);
            prop_assert_eq!(topic.to_string().parse::<Topic>().ok(), Some(topic.clone()));
            let rebuilt = Topic::new(
                topic.domain(),
                topic.tenant(),
                topic.namespace(),
                topic.name(),
            );
            prop_assert_eq!(rebuilt.ok(), Some(topic));
        }
        Err(Error::InvalidTopic { topic, reason }) => {
            prop_assert!(!valid, "rejected {text:?}: {reason}");
            prop_assert!(topic.chars().count() <= 256);
        }
        Err(other) => prop_assert!(false, "{text:?}: {other:?}"),
    }
    Ok(())
}

// ----- percent-encoding --------------------------------------------------------------------------

fn form_decode(encoded: &str) -> String {
    url::form_urlencoded::parse(format!("k={encoded}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Every value the client puts in a path segment or query comes back
    /// unchanged from a form decoder (which reads `+` as a space, as the
    /// server's `URLDecoder` does), and the encoded text holds only RFC 3986
    /// unreserved characters and `%XX`.
    #[test]
    fn every_encoded_value_decodes_back_identically(value in any::<String>()) {
        let encoded = pulsar_eventstream::__fuzz::encode_component(&value);
        prop_assert!(encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)), "{encoded}");
        prop_assert_eq!(form_decode(&encoded), value);
    }
}

/// Names the builders accept: non-empty, no control characters.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 +&=?#%/:;,@!$'()*\\[\\]~._-]{1,16}",
        "[^\\x00-\\x1f\\x7f-\\x9f]{1,8}",
    ]
}

/// A tenant or namespace.
fn entity() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9=:._-]{1,12}".prop_filter("not a dot segment", |s| s != "." && s != "..")
}

/// A segment of a valid topic or subscription name (no `/`).
fn segment() -> impl Strategy<Value = String> {
    name().prop_filter("a topic segment", |s| {
        !s.contains('/') && s != "." && s != ".."
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// End to end: what the server decodes from the handshake is exactly
    /// what the application gave, for every path segment and query value
    /// (topic, subscription, consumer and reader names, the reader's start id,
    /// a token in the query, a topics pattern).
    #[test]
    fn every_query_value_reaches_the_server_unchanged(
        tenant in entity(),
        namespace in entity(),
        name_ in segment(),
        subscription in segment(),
        consumer_name in name(),
        reader_name in name(),
        token in name(),
        pattern in name(),
        ledger in any::<u64>(),
        entry in any::<u64>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mock = MockPulsar::start().await.unwrap();
            let topic = Topic::persistent(tenant, namespace, name_).unwrap();
            let client = Client::builder(mock.service_url())
                .credentials(Credentials::token(token.clone()).token_in_query(true))
                .build()
                .unwrap();
            let start = MessageId::new(ledger, entry);
            let reader = common::within(client
                .reader(topic.clone())
                .reader_name(reader_name.clone())
                .position(Position::MessageId(start.clone()))
                .reconnect_policy(NeverReconnect)
                .subscribe())
                .await
                .unwrap();
            common::within(reader.close()).await.unwrap();
            let consumer = common::within(client
                .consumer(topic.clone(), subscription.clone())
                .consumer_name(consumer_name.clone())
                .reconnect_policy(NeverReconnect)
                .subscribe())
                .await
                .unwrap();
            common::within(consumer.close()).await.unwrap();
            // The mock does not serve /ws/v3 (404) but records the request.
            let _ = common::within(client
                .pattern_consumer(pattern.clone(), subscription.clone())
                .reconnect_policy(NeverReconnect)
                .subscribe())
                .await;

            let seen = mock.handshakes();
            assert_eq!(seen.len(), 3);
            let topic_text = topic.to_string();
            assert_eq!(seen[0].topic.as_deref(), Some(topic_text.as_str()));
            assert_eq!(seen[0].query["readerName"], reader_name);
            assert_eq!(seen[0].query["messageId"], start.as_str());
            assert_eq!(seen[0].query["token"], token);
            assert_eq!(seen[1].topic.as_deref(), Some(topic_text.as_str()));
            assert_eq!(seen[1].subscription.as_deref(), Some(subscription.as_str()));
            assert_eq!(seen[1].query["consumerName"], consumer_name);
            assert_eq!(seen[1].query["token"], token);
            assert_eq!(seen[2].subscription.as_deref(), Some(subscription.as_str()));
            assert_eq!(seen[2].query["topicsPattern"], pattern);
        });
    }
}

/// `.` and `..` cannot travel as a path segment (URL normalisation removes
/// them, `%2E` included): such subscription names fail before connecting.
#[tokio::test]
async fn dot_subscription_names_are_rejected_before_connecting() {
    let (mock, client) = common::setup().await;
    let (_, topic) = common::topic("dots");
    for sub in [".", ".."] {
        let error = client
            .consumer(topic.clone(), sub)
            .subscribe()
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{sub}: {error:?}");
    }
    assert!(mock.handshakes().is_empty());
}
