//! Re-drawn fixtures of every payload shape documented in `8x8.md` §5.5,
//! the checks each must pass, and the quoting transforms of §5.9.

use pulsar_eventstream::eightbyeight::{
    AgentProvEventType, CallState, Direction, EightByEightEvent, HangupInitiator, HangupReason,
    Interaction, InteractionEventType as T, RejectReason, ResourceType, Scalar, TimeSource,
};
use serde_json::{json, Value};

pub const TENANT: &str = "acme";
pub const AGENT: &str = "agAglVJkg0TU28dok9y9UQKg";
pub const AGENT_GUID: &str = "acme-agAglVJkg0TU28dok9y9UQKg-3f7c2a9e-1b2c-4d5e-8f90-123456789abc";
pub const GUID: &str = "int-18a2b3c4d5e-9XkQ2-phone-00-acme";

/// One documented shape and what its typed view must say, whatever the
/// quoting.
pub struct Fixture {
    pub name: &'static str,
    pub json: Value,
    pub check: fn(&EightByEightEvent),
}

fn msg_info(seq: i64, ts_ms: i64) -> Value {
    json!({"instanceId": "vcc-uk3-app-07", "sequenceId": seq, "timestamp": ts_ms})
}

pub fn interaction(event: &EightByEightEvent) -> &Interaction {
    event.as_interaction().expect("an Interaction event")
}

fn int(v: &Option<Scalar>) -> Option<i64> {
    v.as_ref().and_then(Scalar::as_i64)
}

/// The text form, trimmed (the sloppy variant pads numbers with spaces).
fn text(v: &Option<Scalar>) -> Option<String> {
    v.as_ref().map(|s| s.to_text().trim().to_string())
}

fn secs(event: &EightByEightEvent) -> Option<(i64, TimeSource)> {
    event.time_with_source().map(|(t, s)| (t.timestamp(), s))
}

pub fn all() -> Vec<Fixture> {
    vec![
        Fixture {
            name: "AgentStatusChange",
            json: json!({"AgentStatusChange": {
                "agentId": AGENT, "newState": 5, "newSubState": "none",
                "newSubStateReason": "none", "newReasonCodeUser": "801=1722",
                "statusEventTS": 1669235544, "msgInfo": msg_info(215, 1669235544917)}}),
            check: |e| {
                let s = e.as_agent_status_change().expect("AgentStatusChange");
                assert_eq!(s.agent_id.as_deref(), Some(AGENT));
                assert_eq!(s.new_state, Some(5));
                assert_eq!(s.new_sub_state.as_deref(), Some("none"));
                assert_eq!(s.new_sub_state_reason.as_deref(), Some("none"));
                assert_eq!(s.reason_code(), Some(("801", "1722")));
                assert_eq!(s.status_event_ts, Some(1669235544));
                assert_eq!(s.msg_info.instance_id.as_deref(), Some("vcc-uk3-app-07"));
                assert_eq!(s.msg_info.sequence_id, Some(215));
                assert_eq!(s.msg_info.timestamp, Some(1669235544917));
                assert_eq!(secs(e), Some((1669235544, TimeSource::StatusEventTs)));
                assert_eq!(e.name(), "AgentStatusChange");
                assert_eq!(e.agent_id(), Some(AGENT));
            },
        },
        Fixture {
            name: "AgentProvChange/AgentSkillChanged",
            json: json!({"AgentProvChange": {
                "event": "AgentSkillChanged", "agentId": AGENT, "enabled": "yes",
                "skillId": "acme-agAglVJkg0TU28dok9y9UQKg-phone-3-77c1e0",
                "tenantSkillId": "acme-phone-3-77c1e0", "msgInfo": {}}}),
            check: |e| {
                let p = e.as_agent_prov_change().expect("AgentProvChange");
                assert_eq!(p.event, Some(AgentProvEventType::SkillChanged));
                assert_eq!(p.agent_id.as_deref(), Some(AGENT));
                assert_eq!(p.enabled, Some(true));
                assert_eq!(
                    p.skill_id.as_deref(),
                    Some("acme-agAglVJkg0TU28dok9y9UQKg-phone-3-77c1e0")
                );
                assert_eq!(p.tenant_skill_id.as_deref(), Some("acme-phone-3-77c1e0"));
                assert!(p.msg_info.is_empty());
                assert_eq!(e.time(), None, "no time given: None, never 1970");
                assert_eq!(e.name(), "AgentSkillChanged");
            },
        },
        Fixture {
            name: "AgentProvChange/AgentSkillCreated",
            json: json!({"AgentProvChange": {
                "event": "AgentSkillCreated", "agentId": AGENT, "enabled": false,
                "skillId": "acme-agAglVJkg0TU28dok9y9UQKg-chat-1-0b9f",
                "msgInfo": msg_info(9, 1669235600123)}}),
            check: |e| {
                let p = e.as_agent_prov_change().expect("AgentProvChange");
                assert_eq!(p.event, Some(AgentProvEventType::SkillCreated));
                assert_eq!(p.enabled, Some(false));
                assert_eq!(e.time().map(|t| t.timestamp_millis()), Some(1669235600123));
            },
        },
        Fixture {
            name: "InteractionCreated",
            json: json!({"Interaction": {
                "event": "InteractionCreated", "interactionGUID": GUID,
                "callState": "CS_QUEUED", "inboundChannelid": 13125555068i64,
                "interactionEventTS": 1669235827, "resourceType": 0,
                "attachedData": {"attachedDatum": [
                    {"attachedDataKey": "phoneNum", "attachedDataValue": 5515557212i64},
                    {"attachedDataKey": "callingName", "attachedDataValue": "Jane Doe"},
                    {"attachedDataKey": "cha", "attachedDataValue": 13125555068i64},
                    {"attachedDataKey": "med", "attachedDataValue": "T"}]},
                "msgInfo": msg_info(301, 1669235827456)}}),
            check: |e| {
                let i = interaction(e);
                assert_eq!(i.event, Some(T::Created));
                assert_eq!(i.interaction_guid.as_deref(), Some(GUID));
                assert_eq!(i.call_state, Some(CallState::Queued));
                assert_eq!(int(&i.inbound_channel_id), Some(13125555068));
                assert_eq!(i.resource_type, Some(ResourceType::Phone));
                assert_eq!(i.attached_data.len(), 4);
                assert_eq!(
                    i.attached("phoneNum").and_then(Scalar::as_i64),
                    Some(5515557212)
                );
                assert_eq!(
                    i.calling_name()
                        .map(|n| n.to_text().into_owned())
                        .as_deref(),
                    Some("Jane Doe")
                );
                assert_eq!(i.attached("med").and_then(Scalar::as_str), Some("T"));
                assert_eq!(i.msg_info.sequence_id, Some(301));
                assert_eq!(secs(e), Some((1669235827, TimeSource::InteractionEventTs)));
                assert_eq!(e.name(), "InteractionCreated");
            },
        },
        Fixture {
            name: "InteractionQueued",
            json: json!({"Interaction": {
                "event": "InteractionQueued", "interactionGUID": GUID, "callState": "CS_QUEUED",
                "direction": "in", "mediaType": "phone", "interactionEventTS": 1669235828,
                "eventTS": 1669235827, "queueTime": 1669235827, "queueId": 117, "queueList": 117,
                "priority": 5, "transactionNum": 1, "isAgentInitiated": false,
                "callerPermission": 0, "overrideAutoInteractionRecording": false,
                "resourceType": 0,
                "attachedData": {"attachedDatum": [
                    {"attachedDataKey": "channelName", "attachedDataValue": "Support line"},
                    {"attachedDataKey": "que", "attachedDataValue": "acme~~Support~~phone~~117"},
                    {"attachedDataKey": "queueDirection", "attachedDataValue": "in"},
                    {"attachedDataKey": "tenantSkillName", "attachedDataValue": "Support"},
                    {"attachedDataKey": "tenantName", "attachedDataValue": "acme"},
                    {"attachedDataKey": "priority", "attachedDataValue": 5}]},
                "msgInfo": {}}}),
            check: |e| {
                let i = interaction(e);
                assert_eq!(i.event, Some(T::Queued));
                assert_eq!(i.direction, Some(Direction::Inbound));
                assert_eq!(i.media_type.as_deref(), Some("phone"));
                assert_eq!(i.queue_id, Some(117));
                assert_eq!(int(&i.queue_list), Some(117));
                assert_eq!(i.priority, Some(5));
                assert_eq!(i.transaction_num, Some(1));
                assert_eq!(i.is_agent_initiated, Some(false));
                assert_eq!(int(&i.caller_permission), Some(0));
                assert_eq!(
                    i.override_auto_interaction_recording
                        .as_ref()
                        .and_then(Scalar::as_bool),
                    Some(false)
                );
                assert_eq!(i.event_ts, Some(1669235827));
                assert_eq!(i.offered_at().map(|t| t.timestamp()), Some(1669235827));
                assert_eq!(
                    i.queue_entered_at().map(|t| t.timestamp()),
                    Some(1669235827)
                );
                // The event's own time is interactionEventTS, not eventTS.
                assert_eq!(secs(e), Some((1669235828, TimeSource::InteractionEventTs)));
                assert_eq!(
                    i.attached("que").and_then(Scalar::as_str),
                    Some("acme~~Support~~phone~~117")
                );
                assert_eq!(i.attached("priority").and_then(Scalar::as_i64), Some(5));
                assert!(i.msg_info.is_empty());
            },
        },
        Fixture {
            name: "InteractionAssigned",
            json: json!({"Interaction": {
                "event": "InteractionAssigned", "interactionGUID": GUID,
                "callState": "CS_INPROGRESS", "interactionEventTS": 1669235840,
                "agentId": AGENT, "agentGUID": AGENT_GUID, "agentPhone": "4155550100",
                "agentRscWaitTime": 12, "agentTreatedPhone": "4155550100",
                "promptingTimeout": 30, "participatingAgents": AGENT,
                "isDirectAccess": false, "isExternal": "false", "isOutboundCall": false,
                "outboundCampaignid": 0, "recordingMode": "yes", "msgInfo": {}}}),
            check: |e| {
                let i = interaction(e);
                assert_eq!(i.event, Some(T::Assigned));
                assert_eq!(i.call_state, Some(CallState::InProgress));
                assert_eq!(i.agent_id.as_deref(), Some(AGENT));
                assert_eq!(i.agent_guid.as_deref(), Some(AGENT_GUID));
                assert_eq!(i.agent_phone.as_deref(), Some("4155550100"));
                assert_eq!(i.agent_treated_phone.as_deref(), Some("4155550100"));
                assert_eq!(i.agent_rsc_wait_time, Some(12));
                assert_eq!(i.prompting_timeout, Some(30));
                assert_eq!(i.participating_agent_ids(), [AGENT]);
                assert_eq!(i.is_direct_access, Some(false));
                assert_eq!(i.is_external, Some(false));
                assert_eq!(i.is_outbound_call, Some(false));
                assert_eq!(i.outbound_campaign_id.as_deref().map(str::trim), Some("0"));
                assert_eq!(
                    i.recording_mode.as_ref().and_then(Scalar::as_bool),
                    Some(true)
                );
            },
        },
        Fixture {
            name: "InteractionRejected",
            json: json!({"Interaction": {
                "event": "InteractionRejected", "interactionGUID": GUID, "agentId": AGENT,
                "agentGUID": AGENT_GUID, "callState": "CS_QUEUED",
                "interactionEventTS": 1669235870, "participatingAgents": "",
                "queueList": 117, "rejectReason": 2, "msgInfo": {}}}),
            check: |e| {
                let i = interaction(e);
                assert_eq!(i.event, Some(T::Rejected));
                assert_eq!(i.reject_reason, Some(RejectReason::AgentReject));
                assert_eq!(i.call_state, Some(CallState::Queued));
                assert!(i.participating_agent_ids().is_empty());
                assert_eq!(int(&i.queue_list), Some(117));
            },
        },
        Fixture {
            name: "LineHoldStatus/on",
            json: json!({"Interaction": {
                "event": "LineHoldStatus", "interactionGUID": GUID, "status": true,
                "callState": "CS_HOLD", "agentId": AGENT, "agentGUID": AGENT_GUID,
                "mediaType": "phone", "transactionNum": 1, "interactionEventTS": 1669235900,
                "msgInfo": {}}}),
            check: |e| {
                let i = interaction(e);
                assert_eq!(i.event, Some(T::LineHoldStatus));
                assert_eq!(i.on_hold(), Some(true));
                assert_eq!(i.status.as_ref().and_then(Scalar::as_bool), Some(true));
                assert_eq!(i.call_state, Some(CallState::Hold));
                assert_eq!(i.transaction_num, Some(1));
            },
        },
        Fixture {
            name: "LineHoldStatus/off",
            json: json!({"Interaction": {
                "event": "LineHoldStatus", "interactionGUID": GUID, "status": false,
                "callState": "CS_CONNECTED", "agentId": AGENT, "mediaType": "phone",
                "interactionEventTS": 1669235930, "msgInfo": {}}}),
            check: |e| {
                assert_eq!(interaction(e).on_hold(), Some(false));
                assert_eq!(interaction(e).call_state, Some(CallState::Connected));
            },
        },
        Fixture {
            name: "LineMuteStatus",
            json: json!({"Interaction": {
                "event": "LineMuteStatus", "interactionGUID": GUID, "status": true,
                "callState": "CS_CONNECTED", "agentId": AGENT, "interactionEventTS": 1669235940}}),
            check: |e| {
                assert_eq!(interaction(e).event, Some(T::LineMuteStatus));
                assert_eq!(interaction(e).muted(), Some(true));
            },
        },
        Fixture {
            name: "RecordingStatus",
            json: json!({"Interaction": {
                "event": "RecordingStatus", "interactionGUID": GUID, "status": "pause",
                "isAPICall": true, "recordingMode": "yes", "interactionEventTS": 1669235950,
                "msgInfo": {}}}),
            check: |e| {
                let i = interaction(e);
                assert_eq!(i.event, Some(T::RecordingStatus));
                assert_eq!(i.status.as_ref().and_then(Scalar::as_str), Some("pause"));
                assert_eq!(i.recording_paused(), Some(true));
                assert_eq!(i.is_api_call, Some(true));
                assert_eq!(i.on_hold(), None);
            },
        },
        Fixture {
            name: "InteractionDeleted/numeric disposition",
            json: json!({"Interaction": {
                "event": "InteractionDeleted", "callState": "CS_DISCONNECTED",
                "hangupInitiator": "CUSTOMER", "callHangupReason": "CEC_DISCONNECT_NORMAL",
                "dispositionCode": 1000, "interactionGUID": GUID,
                "interactionEventTS": 1669236911, "isAgentInitiated": false,
                "isDirectAccess": false, "isQueued": false, "mediaType": "phone",
                "recordingMode": "no", "rejectReason": 0, "resourceType": 0,
                "attachedData": {"attachedDatum": [
                    {"attachedDataKey": "callDuration", "attachedDataValue": "00:17:51"},
                    {"attachedDataKey": "callDurationSec", "attachedDataValue": 1071},
                    {"attachedDataKey": "tclSelectedItems", "attachedDataValue": "12|1000"}]},
                "msgInfo": msg_info(377, 1669236911802)}}),
            check: |e| {
                let i = interaction(e);
                assert_eq!(i.event, Some(T::Deleted));
                assert_eq!(i.call_state, Some(CallState::Disconnected));
                assert_eq!(i.hangup_initiator, Some(HangupInitiator::Customer));
                assert_eq!(i.call_hangup_reason, Some(HangupReason::Normal));
                assert_eq!(int(&i.disposition_code), Some(1000));
                assert_eq!(text(&i.disposition_code).as_deref(), Some("1000"));
                assert_eq!(i.is_queued, Some(false));
                assert_eq!(i.reject_reason, Some(RejectReason::Unknown));
                assert_eq!(
                    i.recording_mode.as_ref().and_then(Scalar::as_bool),
                    Some(false)
                );
                assert_eq!(
                    i.attached("callDuration").and_then(Scalar::as_str),
                    Some("00:17:51")
                );
                assert_eq!(
                    i.attached("callDurationSec").and_then(Scalar::as_i64),
                    Some(1071)
                );
                assert_eq!(secs(e), Some((1669236911, TimeSource::InteractionEventTs)));
            },
        },
        Fixture {
            name: "InteractionDeleted/outbound no answer",
            json: json!({"Interaction": {
                "event": "InteractionDeleted", "callState": "CS_DISCONNECTED",
                "hangupInitiator": "SYSTEM", "callHangupReason": "CEC_DISCONNECT_NOANSWER",
                "dispositionCode": "SALE", "inboundChannelid": "N/A", "direction": "out",
                "interactionGUID": "int-2", "isOutboundCall": "true",
                "msgInfo": msg_info(380, 1669237000250)}}),
            check: |e| {
                let i = interaction(e);
                assert_eq!(i.hangup_initiator, Some(HangupInitiator::System));
                assert_eq!(i.call_hangup_reason, Some(HangupReason::NoAnswer));
                assert_eq!(text(&i.disposition_code).as_deref(), Some("SALE"));
                assert_eq!(int(&i.disposition_code), None);
                assert_eq!(text(&i.inbound_channel_id).as_deref(), Some("N/A"));
                assert_eq!(i.direction, Some(Direction::Outbound));
                assert_eq!(i.is_outbound_call, Some(true));
                // No interactionEventTS: msgInfo.timestamp, to the millisecond.
                assert_eq!(
                    e.time_with_source().map(|(t, s)| (t.timestamp_millis(), s)),
                    Some((1669237000250, TimeSource::MsgInfoTimestamp))
                );
            },
        },
    ]
}

/// The interaction event names of `8x8.md` §5.3 and their variants.
pub const CATALOGUE: &[(&str, T)] = &[
    ("InteractionCreated", T::Created),
    ("InteractionQueued", T::Queued),
    ("InteractionAssigned", T::Assigned),
    ("InteractionAccepted", T::Accepted),
    ("InteractionCustomerAccepted", T::CustomerAccepted),
    ("InteractionRejected", T::Rejected),
    ("InteractionUnqueued", T::Unqueued),
    ("LineHoldStatus", T::LineHoldStatus),
    ("LineMuteStatus", T::LineMuteStatus),
    ("InteractionRecordingStarted", T::RecordingStarted),
    ("RecordingStatus", T::RecordingStatus),
    ("InteractionPostProcess", T::PostProcess),
    ("InteractionRecordingReady", T::RecordingReady),
    ("InteractionEndPostProcess", T::EndPostProcess),
    ("InteractionDeassigned", T::Deassigned),
    ("InteractionTransferRequest", T::TransferRequest),
    ("InteractionReconnect", T::Reconnect),
    ("InteractionParticipantChange", T::ParticipantChange),
    (
        "InteractionParticipantRemovedByHost",
        T::ParticipantRemovedByHost,
    ),
    ("InteractionJoinLinesRequest", T::JoinLinesRequest),
    ("InteractionJoined", T::Joined),
    ("InteractionChanged", T::Changed),
    ("InteractionQueueTimeout", T::QueueTimeout),
    ("InteractionDeleted", T::Deleted),
    ("GuestChatEnd", T::GuestChatEnd),
    ("MediaProxyAdded", T::MediaProxyAdded),
    ("MediaProxyRemoved", T::MediaProxyRemoved),
];

/// Every number and boolean written as a string: `5` → `"5"`, `true` →
/// `"true"`.
pub fn quote_all(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(quote_all).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), quote_all(v))).collect())
        }
        other => other.clone(),
    }
}

/// 8x8's own rule (§5.9): a string that looks like a JSON number or boolean
/// loses its quotes; `"0123"` keeps them (not valid JSON).
pub fn unquote_lookalikes(value: &Value) -> Value {
    match value {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v @ (Value::Number(_) | Value::Bool(_))) if v.to_string().as_str() == s.as_str() => {
                v
            }
            _ => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(unquote_lookalikes).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), unquote_lookalikes(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Booleans written as `"TRUE"`/`"False"` and numbers with spaces around:
/// what a careless producer might add.
pub fn sloppy(value: &Value) -> Value {
    match value {
        Value::Bool(true) => json!("TRUE"),
        Value::Bool(false) => json!("False"),
        Value::Number(n) => Value::String(format!(" {n} ")),
        Value::Array(items) => Value::Array(items.iter().map(sloppy).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), sloppy(v))).collect())
        }
        other => other.clone(),
    }
}

/// Each fixture's quoting variants: as documented, all quoted, 8x8's
/// unquoting rule applied to the quoted form, and sloppy.
pub fn variants(json: &Value) -> Vec<(&'static str, Value)> {
    vec![
        ("as documented", json.clone()),
        ("all quoted", quote_all(json)),
        ("8x8 unquoting rule", unquote_lookalikes(&quote_all(json))),
        ("sloppy", sloppy(json)),
    ]
}

/// Every path (object keys and array indices) to a member of `value`.
pub fn paths(value: &Value) -> Vec<Vec<PathStep>> {
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

#[derive(Debug, Clone)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

fn walk(value: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    let children: Vec<(PathStep, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (PathStep::Key(k.clone()), v))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (PathStep::Index(i), v))
            .collect(),
        _ => return,
    };
    for (step, child) in children {
        prefix.push(step);
        out.push(prefix.clone());
        walk(child, prefix, out);
        prefix.pop();
    }
}

/// `value` with the member at `path` replaced by `new`.
pub fn replace(value: &Value, path: &[PathStep], new: Value) -> Value {
    let mut out = value.clone();
    let mut slot = &mut out;
    for step in path {
        slot = match (step, slot) {
            (PathStep::Key(k), Value::Object(map)) => map.get_mut(k).expect("path exists"),
            (PathStep::Index(i), Value::Array(items)) => &mut items[*i],
            _ => panic!("path does not match the value"),
        };
    }
    *slot = new;
    out
}
