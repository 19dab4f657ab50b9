//! The `Interaction` event: every `Interaction*`, `Line*Status` and
//! `RecordingStatus` event (`8x8.md` §5.3–§5.6).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::codes::{
    CallState, Direction, HangupInitiator, HangupReason, InteractionEventType, RejectReason,
    ResourceType,
};
use super::events::MsgInfo;
use super::lenient::{Fields, Scalar};
use super::time::{self, TimeSource};

/// An event under the `Interaction` root key: a contact's lifecycle, told
/// through its [`event`](Self::event) type.
///
/// Every field is optional and read leniently (`"5"` and `5`, `"true"` and
/// `true`); a value that does not convert is `None` here and stays in
/// [`raw`](Self::raw). Fields that change JSON type between messages are
/// [`Scalar`]s. Correlate the events of one contact on
/// [`interaction_guid`](Self::interaction_guid), and time them with
/// [`time`](Self::time), never with `eventTS`.
///
/// ```
/// use pulsar_eventstream::eightbyeight::{EightByEightEvent, InteractionEventType, CallState};
///
/// let event = EightByEightEvent::from_json(serde_json::json!({"Interaction": {
///     "event": "InteractionQueued",
///     "interactionGUID": "int-1",
///     "callState": "CS_QUEUED",
///     "interactionEventTS": "1669235827",
///     "isAgentInitiated": "false",
///     "attachedData": {"attachedDatum": [
///         {"attachedDataKey": "callingName", "attachedDataValue": 5515557212i64}
///     ]}
/// }}));
/// let EightByEightEvent::Interaction(call) = event else { panic!() };
/// assert_eq!(call.event, Some(InteractionEventType::Queued));
/// assert_eq!(call.call_state, Some(CallState::Queued));
/// assert_eq!(call.is_agent_initiated, Some(false));
/// assert_eq!(call.time().map(|t| t.timestamp()), Some(1669235827));
/// assert_eq!(call.attached("callingName").map(|v| v.to_text()).as_deref(), Some("5515557212"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interaction {
    /// `event`: which interaction event this is.
    pub event: Option<InteractionEventType>,
    /// `interactionGUID`: the correlation key of one contact.
    pub interaction_guid: Option<String>,
    /// `interactionEventTS`: this event's time, epoch seconds (truncated).
    pub interaction_event_ts: Option<i64>,
    /// `callState`.
    pub call_state: Option<CallState>,
    /// `mediaType`: `"phone"`, `"chat"`, `"email"`, …
    pub media_type: Option<String>,
    /// `direction`.
    pub direction: Option<Direction>,
    /// `resourceType`.
    pub resource_type: Option<ResourceType>,
    /// `agentId`: the short agent id (`ag…`).
    pub agent_id: Option<String>,
    /// `agentGUID`: `{tenant}-{agentId}-{uuid}`.
    pub agent_guid: Option<String>,
    /// `participatingAgents`: agent ids, comma-separated (see
    /// [`participating_agent_ids`](Self::participating_agent_ids)).
    pub participating_agents: Option<String>,
    /// `queueId`.
    pub queue_id: Option<i64>,
    /// `queueList`.
    pub queue_list: Option<Scalar>,
    /// `queueTime`: when the contact entered the queue, epoch seconds.
    pub queue_time: Option<i64>,
    /// `eventTS`: the interaction's offer/queue-entry time, epoch seconds.
    /// The same on every event of an interaction: **not** this event's time.
    pub event_ts: Option<i64>,
    /// `transactionNum`.
    pub transaction_num: Option<i64>,
    /// `priority`.
    pub priority: Option<i64>,
    /// `recordingMode`: usually `"yes"`/`"no"` ([`Scalar::as_bool`] reads
    /// both).
    pub recording_mode: Option<Scalar>,
    /// `isAgentInitiated`.
    pub is_agent_initiated: Option<bool>,
    /// `isDirectAccess`.
    pub is_direct_access: Option<bool>,
    /// `isExternal`.
    pub is_external: Option<bool>,
    /// `isOutboundCall`.
    pub is_outbound_call: Option<bool>,
    /// `isQueued`.
    pub is_queued: Option<bool>,
    /// `isAPICall`.
    pub is_api_call: Option<bool>,
    /// `inboundChannelid`: a number, or `"N/A"` on outbound calls.
    pub inbound_channel_id: Option<Scalar>,
    /// `callerPermission`.
    pub caller_permission: Option<Scalar>,
    /// `overrideAutoInteractionRecording`.
    pub override_auto_interaction_recording: Option<Scalar>,
    /// `allowAgentOverrideInteractionRecording`.
    pub allow_agent_override_interaction_recording: Option<Scalar>,
    /// `emailSourceAddress`.
    pub email_source_address: Option<String>,
    /// `agentPhone`.
    pub agent_phone: Option<String>,
    /// `agentRscWaitTime`, seconds.
    pub agent_rsc_wait_time: Option<i64>,
    /// `agentTreatedPhone`.
    pub agent_treated_phone: Option<String>,
    /// `promptingTimeout`, seconds.
    pub prompting_timeout: Option<i64>,
    /// `outboundCampaignid` (`"0"` when not a campaign call).
    pub outbound_campaign_id: Option<String>,
    /// `rejectReason`.
    pub reject_reason: Option<RejectReason>,
    /// `status`: a boolean on `LineHoldStatus`/`LineMuteStatus`, a string
    /// (`"pause"`/`"resume"`) on `RecordingStatus`. See
    /// [`on_hold`](Self::on_hold), [`muted`](Self::muted),
    /// [`recording_paused`](Self::recording_paused).
    pub status: Option<Scalar>,
    /// `hangupInitiator`.
    pub hangup_initiator: Option<HangupInitiator>,
    /// `callHangupReason`.
    pub call_hangup_reason: Option<HangupReason>,
    /// `dispositionCode`: `1000` or `"SALE"`.
    pub disposition_code: Option<Scalar>,
    /// `agentNotes`.
    pub agent_notes: Option<String>,
    /// `attachedData.attachedDatum` as a key → value map (a key sent twice
    /// keeps its last value; entries without a key or with a non-scalar
    /// value are left out here and kept in [`raw`](Self::raw)).
    pub attached_data: BTreeMap<String, Scalar>,
    /// `msgInfo` (often `{}`).
    pub msg_info: MsgInfo,
    pub(crate) raw: Value,
}

impl Interaction {
    /// Reads the `Interaction` member of a whole event; never fails.
    pub(crate) fn from_event(raw: Value) -> Interaction {
        let f = Fields::of(&raw).object("Interaction");
        Interaction {
            event: f.code("event", InteractionEventType::from_text),
            interaction_guid: f.text("interactionGUID"),
            interaction_event_ts: f.int("interactionEventTS"),
            call_state: f.code("callState", CallState::from_text),
            media_type: f.text("mediaType"),
            direction: f.code("direction", Direction::from_text),
            resource_type: f.int("resourceType").map(ResourceType::from_code),
            agent_id: f.text("agentId"),
            agent_guid: f.text("agentGUID"),
            participating_agents: f.text("participatingAgents"),
            queue_id: f.int("queueId"),
            queue_list: f.scalar("queueList"),
            queue_time: f.int("queueTime"),
            event_ts: f.int("eventTS"),
            transaction_num: f.int("transactionNum"),
            priority: f.int("priority"),
            recording_mode: f.scalar("recordingMode"),
            is_agent_initiated: f.boolean("isAgentInitiated"),
            is_direct_access: f.boolean("isDirectAccess"),
            is_external: f.boolean("isExternal"),
            is_outbound_call: f.boolean("isOutboundCall"),
            is_queued: f.boolean("isQueued"),
            is_api_call: f.boolean("isAPICall"),
            inbound_channel_id: f.scalar("inboundChannelid"),
            caller_permission: f.scalar("callerPermission"),
            override_auto_interaction_recording: f.scalar("overrideAutoInteractionRecording"),
            allow_agent_override_interaction_recording: f
                .scalar("allowAgentOverrideInteractionRecording"),
            email_source_address: f.text("emailSourceAddress"),
            agent_phone: f.text("agentPhone"),
            agent_rsc_wait_time: f.int("agentRscWaitTime"),
            agent_treated_phone: f.text("agentTreatedPhone"),
            prompting_timeout: f.int("promptingTimeout"),
            outbound_campaign_id: f.text("outboundCampaignid"),
            reject_reason: f.int("rejectReason").map(RejectReason::from_code),
            status: f.scalar("status"),
            hangup_initiator: f.code("hangupInitiator", HangupInitiator::from_text),
            call_hangup_reason: f.code("callHangupReason", HangupReason::from_text),
            disposition_code: f.scalar("dispositionCode"),
            agent_notes: f.text("agentNotes"),
            attached_data: attached_data(f.raw("attachedData")),
            msg_info: MsgInfo::read(f.object("msgInfo")),
            raw,
        }
    }

    /// The whole event as received: `{"Interaction": {…}}`.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One member of the `Interaction` object as received, including members
    /// this crate does not model. `null` counts as absent.
    pub fn field(&self, name: &str) -> Option<&Value> {
        Fields::of(&self.raw).object("Interaction").raw(name)
    }

    /// This event's time: `interactionEventTS` (whole seconds), or else
    /// `msgInfo.timestamp` (ms). `None` when neither is usable — never 1970.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.time_with_source().map(|(t, _)| t)
    }

    /// Like [`time`](Self::time), also telling which field it came from.
    pub fn time_with_source(&self) -> Option<(DateTime<Utc>, TimeSource)> {
        time::first_time([
            (
                self.interaction_event_ts.and_then(time::from_seconds),
                TimeSource::InteractionEventTs,
            ),
            (self.msg_info.time(), TimeSource::MsgInfoTimestamp),
        ])
    }

    /// `queueTime` as a time: when the contact entered the queue.
    pub fn queue_entered_at(&self) -> Option<DateTime<Utc>> {
        self.queue_time.and_then(time::from_seconds)
    }

    /// `eventTS` as a time: the interaction's offer/queue-entry time, the
    /// same on all its events. Do not subtract two of these for a duration.
    pub fn offered_at(&self) -> Option<DateTime<Utc>> {
        self.event_ts.and_then(time::from_seconds)
    }

    /// One attached-data value (`attachedDataKey` → `attachedDataValue`).
    pub fn attached(&self, key: &str) -> Option<&Scalar> {
        self.attached_data.get(key)
    }

    /// The caller's name from attached data (`callingName`), which 8x8 may
    /// send as a number.
    pub fn calling_name(&self) -> Option<&Scalar> {
        self.attached("callingName")
    }

    /// The agent ids in `participatingAgents`, split on `,` or `;`.
    pub fn participating_agent_ids(&self) -> Vec<&str> {
        self.participating_agents
            .as_deref()
            .map(|list| {
                list.split([',', ';'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// On a `LineHoldStatus` event: whether the line is now on hold, from
    /// `status` (`true`/`"true"`), or else from `callState` (`CS_HOLD` or
    /// `CS_CONNECTED`). `None` on other events.
    pub fn on_hold(&self) -> Option<bool> {
        if self.event != Some(InteractionEventType::LineHoldStatus) {
            return None;
        }
        self.status
            .as_ref()
            .and_then(Scalar::as_bool)
            .or(match self.call_state {
                Some(CallState::Hold) => Some(true),
                Some(CallState::Connected) => Some(false),
                _ => None,
            })
    }

    /// On a `LineMuteStatus` event: whether the line is now muted.
    pub fn muted(&self) -> Option<bool> {
        if self.event != Some(InteractionEventType::LineMuteStatus) {
            return None;
        }
        self.status.as_ref().and_then(Scalar::as_bool)
    }

    /// On a `RecordingStatus` event: `Some(true)` when recording was paused
    /// (`status: "pause"`), `Some(false)` when resumed.
    pub fn recording_paused(&self) -> Option<bool> {
        if self.event != Some(InteractionEventType::RecordingStatus) {
            return None;
        }
        let status = self.status.as_ref()?.to_text();
        let status = status.trim();
        if status.eq_ignore_ascii_case("pause") || status.eq_ignore_ascii_case("paused") {
            Some(true)
        } else if status.eq_ignore_ascii_case("resume") || status.eq_ignore_ascii_case("resumed") {
            Some(false)
        } else {
            None
        }
    }
}

/// `attachedData` as a map. The documented shape is
/// `{"attachedDatum": [{"attachedDataKey": k, "attachedDataValue": v}, …]}`;
/// a lone entry object instead of the array, and a plain `{k: v}` object,
/// are read too.
fn attached_data(value: Option<&Value>) -> BTreeMap<String, Scalar> {
    let mut map = BTreeMap::new();
    let Some(Value::Object(object)) = value else {
        return map;
    };
    let entries: Vec<&Value> = match object.get("attachedDatum") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(entry @ Value::Object(_)) => vec![entry],
        Some(_) => Vec::new(),
        None => {
            for (key, value) in object {
                if let Some(scalar) = Scalar::from_json(value) {
                    map.insert(key.clone(), scalar);
                }
            }
            return map;
        }
    };
    for entry in entries {
        let entry = Fields::of(entry);
        if let (Some(key), Some(value)) = (
            entry.text("attachedDataKey"),
            entry.scalar("attachedDataValue"),
        ) {
            map.insert(key, value);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attached_data_shapes() {
        let list = json!({"attachedDatum": [
            {"attachedDataKey": "a", "attachedDataValue": 1},
            {"attachedDataKey": "b", "attachedDataValue": "x"},
            {"attachedDataKey": "c", "attachedDataValue": {"nested": true}},
            {"attachedDataValue": "no key"},
            "junk",
            {"attachedDataKey": "a", "attachedDataValue": 2}
        ]});
        let map = attached_data(Some(&list));
        assert_eq!(map.len(), 2);
        assert_eq!(map["a"].as_i64(), Some(2));
        assert_eq!(map["b"].as_str(), Some("x"));
        let one = json!({"attachedDatum": {"attachedDataKey": 7, "attachedDataValue": true}});
        assert_eq!(attached_data(Some(&one))["7"].as_bool(), Some(true));
        let flat = json!({"phoneNum": "555", "x": [1]});
        assert_eq!(attached_data(Some(&flat)).len(), 1);
        assert!(attached_data(Some(&json!({"attachedDatum": 5}))).is_empty());
        assert!(attached_data(Some(&json!("x"))).is_empty());
        assert!(attached_data(None).is_empty());
    }

    #[test]
    fn status_helpers_follow_the_event_type() {
        let read = |body: Value| Interaction::from_event(json!({ "Interaction": body }));
        let hold = read(json!({"event": "LineHoldStatus", "status": "true"}));
        assert_eq!(hold.on_hold(), Some(true));
        let off = read(json!({"event": "LineHoldStatus", "callState": "CS_CONNECTED"}));
        assert_eq!(off.on_hold(), Some(false));
        assert_eq!(off.muted(), None);
        let rec = read(json!({"event": "RecordingStatus", "status": "resume"}));
        assert_eq!(rec.recording_paused(), Some(false));
        assert_eq!(rec.on_hold(), None);
        let mute = read(json!({"event": "LineMuteStatus", "status": 1}));
        assert_eq!(mute.muted(), Some(true));
        let agents = read(json!({"participatingAgents": "ag1, ag2;ag3,"}));
        assert_eq!(agents.participating_agent_ids(), ["ag1", "ag2", "ag3"]);
    }
}
