//! The `--demo` data: an in-process `MockPulsar` holding one agent's shift
//! start and one inbound call, shaped like 8x8 Event Streaming payloads
//! (`8x8.md` §5), including their loose JSON types.

use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use serde_json::{json, Value};

/// The demo topic, shaped like an 8x8 tenant's "all events" topic.
pub const TOPIC: &str = "persistent://demo-tenant/event-v1/all";
/// How many events the demo publishes.
pub const EVENT_COUNT: usize = 13;

/// Starts the mock and fills the topic.
pub async fn start() -> std::io::Result<MockPulsar> {
    let mock = MockPulsar::start().await?;
    let events = events();
    debug_assert_eq!(events.len(), EVENT_COUNT);
    for (i, payload) in events.into_iter().enumerate() {
        let base_ms: i64 = 1_763_888_400_000 + (i as i64) * 7_000;
        let message = MockMessage::new(payload.to_string())
            .publish_time(rfc3339(base_ms))
            .property("source", "demo");
        mock.publish(TOPIC, message);
    }
    Ok(mock)
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn events() -> Vec<Value> {
    let agent = "agAglVJkg0TU28dok9y9UQKg";
    let agent_guid = "demo-tenant-agAglVJkg0TU28dok9y9UQKg-5e1f9a2c";
    let guid = "int-19b1f6a0c3d-7Kq2pX-phone-00-demo-tenant";
    let ts: i64 = 1_763_888_400;
    let info = |seq: i64| json!({"instanceId": "vcc-uk3-1", "sequenceId": seq, "timestamp": (ts + seq * 7) * 1000});
    let interaction = |event: &str, seq: i64, extra: Value| {
        let mut body = json!({
            "event": event,
            "interactionGUID": guid,
            "interactionEventTS": ts + seq * 7,
            "mediaType": "phone",
            "direction": "in",
            "resourceType": 0,
            "msgInfo": info(seq),
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        json!({ "Interaction": body })
    };
    vec![
        json!({"AgentStatusChange": {"agentId": agent, "newState": 1, "newSubState": "none",
            "newSubStateReason": "none", "newReasonCodeUser": "none", "statusEventTS": ts, "msgInfo": info(0)}}),
        json!({"AgentStatusChange": {"agentId": agent, "newState": 5, "newSubState": "none",
            "newSubStateReason": "none", "newReasonCodeUser": "801=1722", "statusEventTS": ts + 7, "msgInfo": {}}}),
        interaction(
            "InteractionCreated",
            2,
            json!({"callState": "CS_QUEUED", "inboundChannelid": 13125555068i64,
            "attachedData": {"attachedDatum": [{"attachedDataKey": "phoneNum", "attachedDataValue": 5515557212i64},
                {"attachedDataKey": "callingName", "attachedDataValue": "Jane Doe"}]}}),
        ),
        interaction(
            "InteractionQueued",
            3,
            json!({"callState": "CS_QUEUED", "queueId": 117, "queueTime": ts + 21,
            "eventTS": ts + 21, "priority": 5, "isAgentInitiated": "false"}),
        ),
        interaction(
            "InteractionAssigned",
            4,
            json!({"callState": "CS_INPROGRESS", "agentId": agent,
            "agentGUID": agent_guid, "participatingAgents": agent, "isDirectAccess": false, "recordingMode": "yes"}),
        ),
        interaction(
            "InteractionAccepted",
            5,
            json!({"callState": "CS_CONNECTED", "agentId": agent}),
        ),
        interaction(
            "LineHoldStatus",
            6,
            json!({"callState": "CS_HOLD", "status": true, "agentId": agent}),
        ),
        interaction(
            "LineHoldStatus",
            7,
            json!({"callState": "CS_CONNECTED", "status": "false", "agentId": agent}),
        ),
        interaction(
            "InteractionPostProcess",
            8,
            json!({"callState": "CS_DISCONNECTED", "agentId": agent}),
        ),
        interaction(
            "InteractionEndPostProcess",
            9,
            json!({"callState": "CS_DISCONNECTED", "agentId": agent}),
        ),
        interaction(
            "InteractionDeassigned",
            10,
            json!({"callState": "CS_DISCONNECTED", "agentId": agent}),
        ),
        interaction(
            "InteractionDeleted",
            11,
            json!({"callState": "CS_DISCONNECTED", "hangupInitiator": "CUSTOMER",
            "callHangupReason": "CEC_DISCONNECT_NORMAL", "dispositionCode": "SALE", "isQueued": false, "rejectReason": 0}),
        ),
        json!({"AgentStatusChange": {"agentId": agent, "newState": 0, "newSubState": "none",
            "newSubStateReason": "none", "newReasonCodeUser": "none", "statusEventTS": ts + 84, "msgInfo": info(12)}}),
    ]
}
