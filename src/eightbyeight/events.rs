//! [`EightByEightEvent`]: an 8x8 event payload, typed by its root key, and
//! [`Event::eightbyeight`](crate::Event::eightbyeight).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::agent::{AgentProvChange, AgentStatusChange};
use super::interaction::Interaction;
use super::lenient::Fields;
use super::time::{self, TimeSource};
use crate::error::Result;

/// One 8x8 Event Streaming payload, typed by its root key (`8x8.md` §5.1).
///
/// Building one never fails: every field is optional and read leniently,
/// a root key this crate does not know becomes [`Unknown`](Self::Unknown),
/// and the whole event as received is always at hand ([`raw`](Self::raw)),
/// so a new event type or a value of a surprising JSON type never stops a
/// consumer. Matching should end in `_ =>`: new roots (such as
/// `AgentUpdate`, whose payload 8x8 has not documented yet) may get their
/// own variant in a later version.
///
/// ```
/// use pulsar_eventstream::eightbyeight::{EightByEightEvent, InteractionEventType};
///
/// let payload = br#"{"Interaction": {"event": "InteractionDeleted",
///     "interactionGUID": "int-1", "dispositionCode": "SALE",
///     "interactionEventTS": 1669236911, "msgInfo": {}}}"#;
/// match EightByEightEvent::from_slice(payload)? {
///     EightByEightEvent::Interaction(call)
///         if call.event == Some(InteractionEventType::Deleted) =>
///     {
///         let code = call.disposition_code.as_ref().map(|c| c.to_text());
///         assert_eq!(code.as_deref(), Some("SALE"));
///     }
///     EightByEightEvent::Unknown { root, .. } => println!("not handled: {root}"),
///     other => println!("{}", other.name()),
/// }
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EightByEightEvent {
    /// `{"AgentStatusChange": {…}}`: an agent's status changed.
    AgentStatusChange(AgentStatusChange),
    /// `{"AgentProvChange": {…}}`: an agent's profile (skills) changed.
    AgentProvChange(AgentProvChange),
    /// `{"Interaction": {…}}`: an interaction event; its type is in
    /// [`Interaction::event`]. (Boxed: it has many fields.)
    Interaction(Box<Interaction>),
    /// A payload this crate does not model, kept whole: an unknown root key
    /// (e.g. `ClientCheck`, `AgentUpdate`), a documented root whose value is
    /// not an object, or a payload that is not a one-key object at all.
    Unknown {
        /// The root key; empty when the payload is not an object with
        /// exactly one member.
        root: String,
        /// The whole payload as received.
        raw: Value,
    },
}

impl EightByEightEvent {
    /// Types a payload already parsed as JSON. Never fails.
    pub fn from_json(raw: Value) -> EightByEightEvent {
        let is_object = |key: &str| raw.get(key).is_some_and(Value::is_object);
        if is_object("Interaction") {
            return EightByEightEvent::Interaction(Box::new(Interaction::from_event(raw)));
        }
        if is_object("AgentStatusChange") {
            return EightByEightEvent::AgentStatusChange(AgentStatusChange::from_event(raw));
        }
        if is_object("AgentProvChange") {
            return EightByEightEvent::AgentProvChange(AgentProvChange::from_event(raw));
        }
        let root = match raw.as_object() {
            Some(object) if object.len() == 1 => object.keys().next().cloned().unwrap_or_default(),
            _ => String::new(),
        };
        EightByEightEvent::Unknown { root, raw }
    }

    /// Parses and types a payload; fails only when it is not JSON.
    pub fn from_slice(payload: &[u8]) -> std::result::Result<Self, serde_json::Error> {
        serde_json::from_slice(payload).map(Self::from_json)
    }

    /// The whole payload as received.
    pub fn raw(&self) -> &Value {
        match self {
            EightByEightEvent::AgentStatusChange(e) => &e.raw,
            EightByEightEvent::AgentProvChange(e) => &e.raw,
            EightByEightEvent::Interaction(e) => &e.raw,
            EightByEightEvent::Unknown { raw, .. } => raw,
        }
    }

    /// Takes the whole payload out.
    pub fn into_raw(self) -> Value {
        match self {
            EightByEightEvent::AgentStatusChange(e) => e.raw,
            EightByEightEvent::AgentProvChange(e) => e.raw,
            EightByEightEvent::Interaction(e) => e.raw,
            EightByEightEvent::Unknown { raw, .. } => raw,
        }
    }

    /// The root key: `"Interaction"`, `"AgentStatusChange"`,
    /// `"AgentProvChange"`, or an unknown event's root.
    pub fn root(&self) -> &str {
        match self {
            EightByEightEvent::AgentStatusChange(_) => "AgentStatusChange",
            EightByEightEvent::AgentProvChange(_) => "AgentProvChange",
            EightByEightEvent::Interaction(_) => "Interaction",
            EightByEightEvent::Unknown { root, .. } => root,
        }
    }

    /// The event type's name, for logs and per-type counts: the `event`
    /// field when there is one (`"InteractionCreated"`,
    /// `"AgentSkillChanged"`), else the root key.
    pub fn name(&self) -> &str {
        match self {
            EightByEightEvent::Interaction(call) => {
                call.event.as_ref().map_or("Interaction", |e| e.as_str())
            }
            EightByEightEvent::AgentProvChange(change) => change
                .event
                .as_ref()
                .map_or("AgentProvChange", |e| e.as_str()),
            other => other.root(),
        }
    }

    /// The interaction event, if this is one.
    pub fn as_interaction(&self) -> Option<&Interaction> {
        match self {
            EightByEightEvent::Interaction(e) => Some(e),
            _ => None,
        }
    }

    /// The agent status change, if this is one.
    pub fn as_agent_status_change(&self) -> Option<&AgentStatusChange> {
        match self {
            EightByEightEvent::AgentStatusChange(e) => Some(e),
            _ => None,
        }
    }

    /// The agent provisioning change, if this is one.
    pub fn as_agent_prov_change(&self) -> Option<&AgentProvChange> {
        match self {
            EightByEightEvent::AgentProvChange(e) => Some(e),
            _ => None,
        }
    }

    /// The short agent id (`agentId`) the event is about, if any.
    pub fn agent_id(&self) -> Option<&str> {
        match self {
            EightByEightEvent::AgentStatusChange(e) => e.agent_id.as_deref(),
            EightByEightEvent::AgentProvChange(e) => e.agent_id.as_deref(),
            EightByEightEvent::Interaction(e) => e.agent_id.as_deref(),
            EightByEightEvent::Unknown { .. } => None,
        }
    }

    /// The event's own time (`8x8.md` §5.8): `interactionEventTS` or
    /// `statusEventTS` (seconds), else `msgInfo.timestamp` (ms). Unknown
    /// events are searched for the same fields under their root. `None` when
    /// no usable time is present: never 1970, never `eventTS`.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.time_with_source().map(|(t, _)| t)
    }

    /// Like [`time`](Self::time), also telling which field it came from.
    pub fn time_with_source(&self) -> Option<(DateTime<Utc>, TimeSource)> {
        match self {
            EightByEightEvent::AgentStatusChange(e) => e.time_with_source(),
            EightByEightEvent::AgentProvChange(e) => {
                e.time().map(|t| (t, TimeSource::MsgInfoTimestamp))
            }
            EightByEightEvent::Interaction(e) => e.time_with_source(),
            EightByEightEvent::Unknown { root, raw } => {
                let body = Fields::of(raw).object(root);
                let secs = |key| body.int(key).and_then(time::from_seconds);
                time::first_time([
                    (secs("interactionEventTS"), TimeSource::InteractionEventTs),
                    (secs("statusEventTS"), TimeSource::StatusEventTs),
                    (
                        MsgInfo::read(body.object("msgInfo")).time(),
                        TimeSource::MsgInfoTimestamp,
                    ),
                ])
            }
        }
    }
}

impl<'de> Deserialize<'de> for EightByEightEvent {
    /// Accepts any JSON value (see [`EightByEightEvent::from_json`]).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Value::deserialize(deserializer).map(EightByEightEvent::from_json)
    }
}

impl Serialize for EightByEightEvent {
    /// Writes the payload exactly as received.
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.raw().serialize(serializer)
    }
}

/// The common `msgInfo` block (`8x8.md` §5.2). Newer events often send `{}`,
/// so every member is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MsgInfo {
    /// `instanceId`: the server instance that sent the event.
    pub instance_id: Option<String>,
    /// `sequenceId`: a sequence number for ordering (per instance).
    pub sequence_id: Option<i64>,
    /// `timestamp`: epoch **milliseconds**.
    pub timestamp: Option<i64>,
}

impl MsgInfo {
    pub(crate) fn read(f: Fields<'_>) -> MsgInfo {
        MsgInfo {
            instance_id: f.text("instanceId"),
            sequence_id: f.int("sequenceId"),
            timestamp: f.int("timestamp"),
        }
    }

    /// `timestamp` as a time; `None` when absent or 0.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.timestamp.and_then(time::from_millis)
    }

    /// Whether the block was empty (or absent).
    pub fn is_empty(&self) -> bool {
        self.instance_id.is_none() && self.sequence_id.is_none() && self.timestamp.is_none()
    }
}

impl crate::Event {
    /// Types the payload as an 8x8 Event Streaming event.
    ///
    /// The only error is a payload that is not JSON at all
    /// ([`Error::PayloadJson`](crate::Error::PayloadJson), for this event
    /// only: the stream goes on). Anything that is JSON gives an event, an
    /// unknown one at worst, with the raw JSON kept.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use pulsar_eventstream::eightbyeight::{EightByEightEvent, Region, Topics};
    /// use pulsar_eventstream::Client;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::builder_8x8(Region::Uk3, std::env::var("PULSAR_API_KEY")?).build()?;
    /// let mut events = client.reader(Topics::new("my-tenant").all()?).subscribe().await?;
    /// while let Some(event) = events.try_next().await? {
    ///     match event.eightbyeight()? {
    ///         EightByEightEvent::Interaction(call) => {
    ///             println!("{:?} {:?} at {:?}", call.event, call.interaction_guid, call.time())
    ///         }
    ///         other => println!("{} at {:?}", other.name(), other.time()),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn eightbyeight(&self) -> Result<EightByEightEvent> {
        self.json::<Value>().map(EightByEightEvent::from_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roots_are_recognised_and_the_rest_kept() {
        let e = EightByEightEvent::from_json(json!({"AgentStatusChange": {"agentId": "ag1"}}));
        assert_eq!(e.root(), "AgentStatusChange");
        assert_eq!(e.agent_id(), Some("ag1"));
        let e = EightByEightEvent::from_json(json!({"ClientCheck": {"heartbeat": "[HEARTBEAT]"}}));
        assert_eq!(e.root(), "ClientCheck");
        assert_eq!(e.name(), "ClientCheck");
        let e = EightByEightEvent::from_json(json!({"Interaction": "broken"}));
        assert!(matches!(&e, EightByEightEvent::Unknown { root, .. } if root == "Interaction"));
        for odd in [
            json!(null),
            json!([1]),
            json!({}),
            json!({"a": 1, "b": 2}),
            json!("x"),
        ] {
            let e = EightByEightEvent::from_json(odd.clone());
            assert_eq!(e.root(), "");
            assert_eq!(e.raw(), &odd);
            assert_eq!(e.time(), None);
        }
    }

    #[test]
    fn unknown_events_still_have_a_time() {
        let e = EightByEightEvent::from_json(
            json!({"AgentUpdate": {"msgInfo": {"timestamp": 1669235544917i64}}}),
        );
        assert_eq!(
            e.time_with_source().map(|(t, s)| (t.timestamp_millis(), s)),
            Some((1_669_235_544_917, TimeSource::MsgInfoTimestamp))
        );
    }

    #[test]
    fn serde_round_trip_keeps_the_payload() {
        let payload = json!({"Interaction": {"event": "X", "odd": [1, {"a": null}]}});
        let e: EightByEightEvent = serde_json::from_value(payload.clone()).unwrap();
        assert_eq!(e.name(), "X");
        assert_eq!(serde_json::to_value(&e).unwrap(), payload);
        assert_eq!(e.into_raw(), payload);
    }
}
