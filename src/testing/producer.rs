//! The producer endpoint (protocol.md §8): one text frame per message, one ack per frame, plus
//! the receipt faults tests script (held, reordered or failed receipts).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::frames::producer_ack;
use super::state::{Conn, Out, State};
use super::types::{Endpoint, MockMessage};

/// Java's `Base64.getDecoder()`: standard alphabet, padding optional.
const JAVA_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Receipt faults (see `MockPulsar::pause_receipts`, `reorder_receipts`, `fail_next_sends`).
#[derive(Debug, Default)]
pub(crate) struct ReceiptFaults {
    /// Hold every receipt until resumed.
    pub(crate) paused: bool,
    /// Hold receipts per connection until this many are held, then send them reversed (< 2: off).
    pub(crate) reorder: usize,
    /// The next `count` frames are refused with `send-error:<code>` and `errorMsg`.
    pub(crate) fail: Option<(u16, String, usize)>,
}

impl State {
    /// One producer frame (§8): appends and answers with a producer ack. `json` is `None` when
    /// the frame is not JSON.
    pub(crate) fn produce(&mut self, id: u64, json: Option<&serde_json::Value>) {
        let Some(topic) = self.conns.get(&id).map(|c| c.topic.clone()) else {
            return;
        };
        let ack = match json.and_then(|j| j.as_object()) {
            // The frame could not be read, so neither could its context.
            None => producer_ack(
                "send-error:3",
                None,
                Some("Failed to deserialize from JSON"),
                None,
            ),
            Some(obj) => {
                // Jackson coerces a JSON number to the String field.
                let context = match obj.get("context") {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Null) | None => None,
                    Some(other) => Some(other.to_string()),
                };
                if let Some((code, msg)) = self.take_send_failure() {
                    let result = format!("send-error:{code}");
                    producer_ack(&result, None, Some(&msg), context.as_deref())
                } else {
                    match parse_producer_message(obj) {
                        Ok(msg) => {
                            let mid = self.append(&topic, msg);
                            producer_ack("ok", Some(&mid), None, context.as_deref())
                        }
                        Err(e) => producer_ack("send-error:7", None, Some(e), context.as_deref()),
                    }
                }
            }
        };
        let (paused, group) = (self.receipts.paused, self.receipts.reorder);
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if paused || group >= 2 {
            conn.held_receipts.push(ack);
            if !paused && conn.held_receipts.len() >= group {
                release(conn, true);
            }
        } else {
            conn.push(Out::Frame(Message::text(ack)));
        }
    }

    fn take_send_failure(&mut self) -> Option<(u16, String)> {
        let (code, msg, count) = self.receipts.fail.as_mut()?;
        let out = (*code, msg.clone());
        *count -= 1;
        if *count == 0 {
            self.receipts.fail = None;
        }
        Some(out)
    }

    /// Applies a change of the receipt knobs: releases what is no longer held.
    pub(crate) fn receipts_changed(&mut self) {
        let (paused, group) = (self.receipts.paused, self.receipts.reorder);
        if paused {
            return;
        }
        for conn in self.conns.values_mut() {
            if group < 2 {
                // Resumed, or reordering turned off: everything goes, in arrival order.
                release(conn, false);
            } else {
                while conn.held_receipts.len() >= group {
                    let rest = conn.held_receipts.split_off(group);
                    release(conn, true);
                    conn.held_receipts = rest;
                }
            }
        }
    }

    /// Receipts held back on all connections.
    pub(crate) fn held_receipts(&self) -> usize {
        self.conns.values().map(|c| c.held_receipts.len()).sum()
    }
}

/// Registers a producer connection; `Err` (a 409) when `name` is taken on the topic (§2.3).
pub(crate) fn attach_producer(
    st: &mut State,
    id: u64,
    topic: String,
    name: Option<String>,
    kill: watch::Sender<bool>,
) -> Result<(), String> {
    if let Some(name) = &name {
        let taken = st.conns.values().any(|c| {
            c.endpoint == Endpoint::Producer
                && c.topic == topic
                && c.producer_name.as_ref() == Some(name)
        });
        if taken {
            return Err(format!(
                "Failed to create producer: Producer with name '{name}' is already connected to topic"
            ));
        }
    }
    st.topic_mut(&topic);
    let mut conn = Conn::new(Endpoint::Producer, topic, kill);
    conn.producer_name = name;
    st.conns.insert(id, conn);
    Ok(())
}

/// Sends the connection's held receipts, reversed or in order.
fn release(conn: &mut Conn, reversed: bool) {
    let mut held = std::mem::take(&mut conn.held_receipts);
    if reversed {
        held.reverse();
    }
    for ack in held {
        conn.push(Out::Frame(Message::text(ack)));
    }
}

fn parse_producer_message(
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<MockMessage, &'static str> {
    let payload = obj
        .get("payload")
        .and_then(|p| p.as_str())
        .ok_or("Missing payload")?;
    let bytes = JAVA_BASE64
        .decode(payload)
        .map_err(|_| "Failed to decode payload")?;
    let mut msg = MockMessage::new(bytes);
    if let Some(k) = obj.get("key").and_then(|k| k.as_str()) {
        msg.key = Some(k.to_string());
    }
    if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
        for (k, v) in props {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            msg.properties.insert(k.clone(), v);
        }
    }
    match obj.get("eventTime") {
        Some(serde_json::Value::String(t)) if is_iso_offset_date_time(t) => {
            msg.event_time = Some(t.clone())
        }
        Some(serde_json::Value::Null) | None => {}
        Some(_) => return Err("Failed to parse eventTime"),
    }
    Ok(msg)
}

/// `DateTimeFormatter.ISO_OFFSET_DATE_TIME` (§8): `yyyy-MM-ddTHH:mm[:ss[.f{1,9}]]` and an offset,
/// `Z` or `±HH:mm[:ss]`. The offset is required.
pub(crate) fn is_iso_offset_date_time(s: &str) -> bool {
    fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
        let head = s.get(..n)?;
        if !head.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((head.parse().ok()?, &s[n..]))
    }
    fn lit(s: &str, c: char) -> Option<&str> {
        s.strip_prefix(c)
    }
    let parse = || -> Option<()> {
        let (_, s) = digits(s, 4)?;
        let (month, s) = digits(lit(s, '-')?, 2)?;
        let (day, s) = digits(lit(s, '-')?, 2)?;
        let (hour, s) = digits(lit(s, 'T')?, 2)?;
        let (minute, mut s) = digits(lit(s, ':')?, 2)?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        if let Some(rest) = lit(s, ':') {
            let (second, rest) = digits(rest, 2)?;
            if second > 59 {
                return None;
            }
            s = rest;
            if let Some(frac) = lit(s, '.') {
                let n = frac.bytes().take_while(u8::is_ascii_digit).count();
                if !(1..=9).contains(&n) {
                    return None;
                }
                s = &frac[n..];
            }
        }
        if s == "Z" {
            return Some(());
        }
        let s = lit(s, '+').or_else(|| lit(s, '-'))?;
        let (oh, s) = digits(s, 2)?;
        let (om, s) = digits(lit(s, ':')?, 2)?;
        let s = match lit(s, ':') {
            Some(rest) => digits(rest, 2)?.1,
            None => s,
        };
        (oh <= 18 && om <= 59 && s.is_empty()).then_some(())
    };
    parse().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_offset_date_time_needs_an_offset() {
        for ok in [
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00Z",
            "2024-05-01T10:00:00.1+01:00",
            "2024-05-01T10:00:00.123456789-05:30",
            "2024-05-01T10:00:00+01:00:30",
        ] {
            assert!(is_iso_offset_date_time(ok), "{ok}");
        }
        for bad in [
            "2024-05-01T10:00:00",
            "2024-05-01 10:00:00Z",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00.1234567890Z",
            "2024-13-01T10:00:00Z",
            "2024-05-01T10:00:00+0100",
            "1714557600000",
            "",
        ] {
            assert!(!is_iso_offset_date_time(bad), "{bad}");
        }
    }
}
