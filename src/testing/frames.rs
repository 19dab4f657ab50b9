//! Server frames (protocol.md §4) and the HTTP error page of a failed handshake (§3.3).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;

/// One stored message of a topic.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) ledger: u64,
    pub(crate) entry: u64,
    pub(crate) wire_id: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) key: Option<String>,
    pub(crate) properties: BTreeMap<String, String>,
    pub(crate) publish_time: String,
    pub(crate) event_time: Option<String>,
}

/// `data/ConsumerMessage` as the proxy serializes it (§4.1): NON_NULL, primitives always.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerMessage<'a> {
    message_id: &'a str,
    payload: String,
    properties: &'a BTreeMap<String, String>,
    publish_time: &'a str,
    redelivery_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_time: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
}

/// The text of a message frame for `record` delivered with `redelivery_count` (§4.1).
pub(crate) fn message_frame(record: &Record, redelivery_count: u32) -> String {
    let msg = ConsumerMessage {
        message_id: &record.wire_id,
        payload: STANDARD.encode(&record.payload),
        properties: &record.properties,
        publish_time: &record.publish_time,
        redelivery_count,
        event_time: record.event_time.as_deref(),
        key: record.key.as_deref(),
    };
    serde_json::to_string(&msg).unwrap_or_default()
}

/// `{"endOfTopic":bool}`, a JSON boolean (§4.2).
pub(crate) fn end_of_topic_frame(end: bool) -> String {
    format!("{{\"endOfTopic\":{end}}}")
}

/// A producer ack (§8), NON_NULL: absent fields are omitted.
pub(crate) fn producer_ack(
    result: &str,
    message_id: Option<&str>,
    error: Option<&str>,
    context: Option<&str>,
) -> String {
    let mut m = serde_json::Map::new();
    m.insert("result".into(), result.into());
    if let Some(id) = message_id {
        m.insert("messageId".into(), id.into());
    }
    if let Some(e) = error {
        m.insert("errorMsg".into(), e.into());
    }
    if let Some(c) = context {
        m.insert("context".into(), c.into());
    }
    serde_json::Value::Object(m).to_string()
}

/// Now, formatted like Pulsar's `DateFormatter` in UTC (§4.4).
pub(crate) fn now_pulsar() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    format_millis(ms)
}

/// `ISO_OFFSET_DATE_TIME` in UTC: millis with trailing zeros dropped, none when 0, `Z` offset.
pub(crate) fn format_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if millis != 0 {
        let frac = format!("{millis:03}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A Jetty 9.4-style error page carrying `message` (§3.3).
pub(crate) fn error_page(status: http::StatusCode, uri: &str, message: &str) -> String {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    format!(
        "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n\
         <title>Error {code} {msg}</title>\n</head>\n<body><h2>HTTP ERROR {code} {msg}</h2>\n\
         <table>\n<tr><th>URI:</th><td>{uri}</td></tr>\n<tr><th>STATUS:</th><td>{code}</td></tr>\n\
         <tr><th>MESSAGE:</th><td>{msg}</td></tr>\n<tr><th>SERVLET:</th><td>-</td></tr>\n\
         </table>\n<!-- {reason} -->\n</body>\n</html>\n",
        msg = html_escape(message),
        uri = html_escape(uri),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulsar_time_format() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_millis(1_795_428_001_500), "2026-11-23T10:00:01.5Z");
        assert_eq!(format_millis(1_795_428_001_020), "2026-11-23T10:00:01.02Z");
        assert_eq!(format_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
    }

    #[test]
    fn frame_shape() {
        let r = Record {
            ledger: 1,
            entry: 2,
            wire_id: "X".into(),
            payload: b"hi".to_vec(),
            key: None,
            properties: BTreeMap::new(),
            publish_time: "T".into(),
            event_time: None,
        };
        assert_eq!(
            message_frame(&r, 0),
            r#"{"messageId":"X","payload":"aGk=","properties":{},"publishTime":"T","redeliveryCount":0}"#
        );
        assert_eq!(end_of_topic_frame(true), r#"{"endOfTopic":true}"#);
    }
}
