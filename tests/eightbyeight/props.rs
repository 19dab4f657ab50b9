//! Property tests: arbitrary JSON in any field of any documented shape never
//! panics, never fails the event, never loses the raw payload and never
//! gives a 1970 time.

use proptest::prelude::*;
use pulsar_eventstream::eightbyeight::{EightByEightEvent, InteractionTracker};
use serde_json::{Map, Number, Value};

use crate::fixtures::{self, PathStep};

/// Every member name the typed views read, per root key.
const KNOWN_KEYS: &[(&str, &[&str])] = &[
    (
        "Interaction",
        &[
            "event",
            "interactionGUID",
            "interactionEventTS",
            "callState",
            "mediaType",
            "direction",
            "resourceType",
            "agentId",
            "agentGUID",
            "participatingAgents",
            "queueId",
            "queueList",
            "queueTime",
            "eventTS",
            "transactionNum",
            "priority",
            "recordingMode",
            "isAgentInitiated",
            "isDirectAccess",
            "isExternal",
            "isOutboundCall",
            "isQueued",
            "isAPICall",
            "inboundChannelid",
            "callerPermission",
            "overrideAutoInteractionRecording",
            "allowAgentOverrideInteractionRecording",
            "emailSourceAddress",
            "agentPhone",
            "agentRscWaitTime",
            "agentTreatedPhone",
            "promptingTimeout",
            "outboundCampaignid",
            "rejectReason",
            "status",
            "hangupInitiator",
            "callHangupReason",
            "dispositionCode",
            "agentNotes",
            "attachedData",
            "msgInfo",
        ],
    ),
    (
        "AgentStatusChange",
        &[
            "agentId",
            "newState",
            "newSubState",
            "newSubStateReason",
            "newReasonCodeUser",
            "statusEventTS",
            "msgInfo",
        ],
    ),
    (
        "AgentProvChange",
        &[
            "event",
            "agentId",
            "enabled",
            "skillId",
            "tenantSkillId",
            "msgInfo",
        ],
    ),
];

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ".{0,6}",
        1 => prop::sample::select(vec![
            "attachedDatum", "attachedDataKey", "attachedDataValue", "timestamp",
            "sequenceId", "instanceId", "Interaction", "event",
        ])
        .prop_map(str::to_string),
    ]
}

/// Any JSON value, with extra weight on the look-alikes 8x8 sends.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        ".{0,12}".prop_map(Value::String),
        any::<i64>().prop_map(|n| Value::String(n.to_string())),
        prop::sample::select(vec![
            "true",
            "FALSE",
            "yes",
            "no",
            "N/A",
            "",
            " 5 ",
            "0123",
            "1e400",
            "-0",
            "NaN",
            "CS_HOLD",
            "InteractionDeleted",
            "pause",
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Everything a consumer might call on an event: none of it may panic, the
/// raw payload must be the input, and a time is never at or before 1970.
fn exercise(payload: Value) {
    let event = EightByEightEvent::from_json(payload.clone());
    assert_eq!(event.raw(), &payload);
    assert_eq!(serde_json::to_value(&event).unwrap(), payload);
    if let Some(t) = event.time() {
        assert!(t.timestamp_millis() > 0, "1970 time from {payload}");
    }
    let _ = (
        event.name(),
        event.root(),
        event.agent_id(),
        format!("{event:?}"),
    );
    match &event {
        EightByEightEvent::Interaction(call) => {
            let _ = (
                call.on_hold(),
                call.muted(),
                call.recording_paused(),
                call.participating_agent_ids(),
                call.calling_name()
                    .map(|c| (c.as_i64(), c.as_bool(), c.as_f64(), c.to_text())),
                call.queue_entered_at(),
                call.offered_at(),
                call.field("event"),
            );
            for value in call.attached_data.values() {
                let _ = (value.as_i64(), value.as_bool(), value.to_string());
            }
        }
        EightByEightEvent::AgentStatusChange(status) => {
            let _ = (status.reason_code(), status.time(), status.field("agentId"));
        }
        EightByEightEvent::AgentProvChange(change) => {
            let _ = (change.time(), change.field("event"));
        }
        _ => {}
    }
    let mut tracker = InteractionTracker::new();
    let _ = tracker.observe(&event);
    let _ = tracker.finish_all();
    assert_eq!(event.into_raw(), payload);
}

fn with_member(payload: &Value, root: &str, key: &str, value: Value) -> Value {
    let mut out = payload.clone();
    if let Some(body) = out.get_mut(root).and_then(Value::as_object_mut) {
        body.insert(key.to_string(), value);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The value goes, in turn, into every member (at every depth) of every
    /// fixture, and into every known member name of its root.
    #[test]
    fn any_value_in_any_field_never_panics_nor_loses_the_event(value in arb_json()) {
        for fixture in fixtures::all() {
            for path in fixtures::paths(&fixture.json) {
                let mutated = fixtures::replace(&fixture.json, &path, value.clone());
                let root_replaced = matches!(path.as_slice(), [PathStep::Key(_)]);
                let expected_root = if root_replaced && !value.is_object() {
                    None
                } else {
                    fixture.json.as_object().and_then(|m| m.keys().next().cloned())
                };
                let event = EightByEightEvent::from_json(mutated.clone());
                if let Some(root) = expected_root {
                    prop_assert_eq!(event.root(), root.as_str());
                    let typed = !matches!(event, EightByEightEvent::Unknown { .. });
                    prop_assert!(typed, "documented root typed as Unknown");
                }
                exercise(mutated);
            }
            for (root, keys) in KNOWN_KEYS {
                if fixture.json.get(root).is_none() {
                    continue;
                }
                for key in *keys {
                    exercise(with_member(&fixture.json, root, key, value.clone()));
                }
            }
        }
    }

    #[test]
    fn any_payload_never_panics(value in arb_json()) {
        exercise(value.clone());
        for root in ["Interaction", "AgentStatusChange", "AgentProvChange", "ClientCheck"] {
            let mut object = Map::new();
            object.insert(root.to_string(), value.clone());
            exercise(Value::Object(object));
        }
    }

    #[test]
    fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(event) = EightByEightEvent::from_slice(&bytes) {
            exercise(event.into_raw());
        }
    }
}
