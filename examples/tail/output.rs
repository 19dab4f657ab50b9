//! How `tail` prints an event, and which events it prints.

use pulsar_eventstream::Event;

use crate::eightbyeight;

/// The output formats of `--format`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The decoded payload, one per line (pipe into `jq`).
    Payload,
    /// The whole event as one JSON line (payload inline when it is JSON).
    Json,
    /// The whole event as indented JSON.
    Pretty,
    /// One summary line per event from its typed 8x8 view.
    Typed,
}

/// The text to print for `event`.
pub fn render(event: &Event, format: Format) -> String {
    match format {
        Format::Payload => String::from_utf8_lossy(event.payload()).into_owned(),
        Format::Json => event_json(event).to_string(),
        Format::Pretty => serde_json::to_string_pretty(&event_json(event)).unwrap_or_default(),
        Format::Typed => eightbyeight::typed_line(event),
    }
}

/// The whole event as JSON; the payload inline when it is JSON itself.
pub fn event_json(event: &Event) -> serde_json::Value {
    let payload = serde_json::from_slice::<serde_json::Value>(event.payload())
        .ok()
        .or_else(|| {
            event
                .text()
                .ok()
                .map(|t| serde_json::Value::String(t.into()))
        });
    serde_json::json!({
        "topic": event.topic().map(|t| t.to_string()),
        "messageId": event.message_id().as_str(),
        "ledgerId": event.message_id().ledger_id(),
        "entryId": event.message_id().entry_id(),
        "publishTime": event.publish_time_raw(),
        "eventTime": event.event_time_raw(),
        "key": event.key(),
        "properties": event.properties(),
        "redeliveryCount": event.redelivery_count(),
        "payload": payload,
    })
}

/// A `--filter-property k=v` condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyFilter {
    pub name: String,
    pub value: String,
}

impl std::str::FromStr for PropertyFilter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once('=') {
            Some((name, value)) if !name.is_empty() => Ok(PropertyFilter {
                name: name.to_string(),
                value: value.to_string(),
            }),
            _ => Err(format!("expected NAME=VALUE, got {text:?}")),
        }
    }
}

/// Whether `event` passes every filter.
pub fn matches(event: &Event, filters: &[PropertyFilter]) -> bool {
    filters
        .iter()
        .all(|f| event.property(&f.name) == Some(f.value.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_property_filters() {
        let f: PropertyFilter = "source=demo".parse().unwrap();
        assert_eq!((f.name.as_str(), f.value.as_str()), ("source", "demo"));
        assert_eq!("a=".parse::<PropertyFilter>().unwrap().value, "");
        assert!("=x".parse::<PropertyFilter>().is_err());
        assert!("novalue".parse::<PropertyFilter>().is_err());
    }
}
