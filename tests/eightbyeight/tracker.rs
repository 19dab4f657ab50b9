//! `InteractionTracker` numbers on scripted interactions (`8x8.md` §5.8,
//! §5.10).

use std::time::Duration;

use pulsar_eventstream::eightbyeight::{
    EightByEightEvent, HangupInitiator, HangupReason, InteractionSummary, InteractionTracker,
};
use serde_json::{json, Value};

const A: &str = "agAAAAAAAAAAAAAAAAAAAAAA";
const B: &str = "agBBBBBBBBBBBBBBBBBBBBBB";

/// One interaction event at `ts`; `eventTS` is the same on every event (as
/// on the real service), so using it for durations would give zeros.
fn step(guid: &str, event: &str, ts: i64, extra: Value) -> EightByEightEvent {
    let mut body = json!({
        "event": event, "interactionGUID": guid, "interactionEventTS": ts,
        "eventTS": 1000, "mediaType": "phone", "msgInfo": {}
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    EightByEightEvent::from_json(json!({ "Interaction": body }))
}

/// An inbound call: queued, offered to A who lets it time out, offered to
/// B who takes it, one hold, wrap-up, customer hangs up.
fn inbound(guid: &str) -> Vec<EightByEightEvent> {
    vec![
        step(
            guid,
            "InteractionCreated",
            1000,
            json!({"callState": "CS_QUEUED", "direction": "in"}),
        ),
        step(
            guid,
            "InteractionQueued",
            1001,
            json!({"callState": "CS_QUEUED"}),
        ),
        step(guid, "InteractionAssigned", 1013, json!({"agentId": A})),
        step(
            guid,
            "InteractionRejected",
            1028,
            json!({"agentId": A, "rejectReason": 1}),
        ),
        step(guid, "InteractionAssigned", 1030, json!({"agentId": B})),
        step(
            guid,
            "InteractionAccepted",
            1034,
            json!({"agentId": B, "callState": "CS_CONNECTED"}),
        ),
        step(
            guid,
            "LineHoldStatus",
            1100,
            json!({"status": true, "agentId": B}),
        ),
        step(
            guid,
            "LineHoldStatus",
            1145,
            json!({"status": "false", "agentId": B}),
        ),
        step(guid, "InteractionPostProcess", 1300, json!({"agentId": B})),
        step(
            guid,
            "InteractionEndPostProcess",
            1330,
            json!({"agentId": B, "dispositionCode": "SALE"}),
        ),
        step(guid, "InteractionDeassigned", 1331, json!({"agentId": B})),
        step(
            guid,
            "InteractionDeleted",
            1332,
            json!({"hangupInitiator": "CUSTOMER", "callHangupReason": "CEC_DISCONNECT_NORMAL"}),
        ),
    ]
}

fn run(events: &[EightByEightEvent]) -> Vec<InteractionSummary> {
    let mut tracker = InteractionTracker::new();
    let out = events.iter().filter_map(|e| tracker.observe(e)).collect();
    assert_eq!(tracker.open_interactions(), 0);
    out
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

#[test]
fn tracker_numbers_on_a_scripted_inbound_call() {
    let done = run(&inbound("int-in"));
    assert_eq!(done.len(), 1);
    let call = &done[0];
    assert_eq!(call.interaction_guid, "int-in");
    assert!(call.answered);
    assert_eq!(call.rejections, 1);
    assert_eq!(call.agent_id.as_deref(), Some(B));
    assert_eq!(
        call.queue_time,
        secs(29),
        "queued 1001 → assigned to B 1030"
    );
    assert_eq!(call.ring_time, secs(4), "assigned 1030 → accepted 1034");
    assert_eq!(
        call.talk_time,
        secs(266),
        "accepted 1034 → post-process 1300"
    );
    assert_eq!(call.hold_time, Duration::from_secs(45));
    assert_eq!(call.wrap_up_time, secs(30));
    assert_eq!(call.hangup_initiator, Some(HangupInitiator::Customer));
    assert_eq!(call.hangup_reason, Some(HangupReason::Normal));
    assert_eq!(
        call.disposition_code
            .as_ref()
            .map(|c| c.to_text().into_owned()),
        Some("SALE".into())
    );
    assert_eq!(call.started_at.map(|t| t.timestamp()), Some(1000));
    assert_eq!(call.ended_at.map(|t| t.timestamp()), Some(1332));
    assert_eq!(call.events, 12);
    assert_eq!(call.media_type.as_deref(), Some("phone"));
}

#[test]
fn out_of_order_arrival_gives_the_same_numbers() {
    let mut events = inbound("int-shuffled");
    let deleted = events.pop().unwrap();
    events.reverse();
    events.swap(2, 7);
    events.push(deleted);
    let shuffled = run(&events);
    let ordered = run(&inbound("int-shuffled"));
    assert_eq!(shuffled[0].queue_time, ordered[0].queue_time);
    assert_eq!(shuffled[0].ring_time, ordered[0].ring_time);
    assert_eq!(shuffled[0].talk_time, ordered[0].talk_time);
    assert_eq!(shuffled[0].hold_time, ordered[0].hold_time);
    assert_eq!(shuffled[0].wrap_up_time, ordered[0].wrap_up_time);
}

#[test]
fn outbound_talk_time_starts_when_the_customer_answers() {
    let g = "int-out";
    let done = run(&[
        step(g, "InteractionCreated", 2000, json!({"direction": "out"})),
        step(g, "InteractionAssigned", 2001, json!({"agentId": A})),
        step(g, "InteractionAccepted", 2003, json!({"agentId": A})),
        step(g, "InteractionCustomerAccepted", 2010, json!({})),
        step(
            g,
            "InteractionDeleted",
            2070,
            json!({"hangupInitiator": "AGENT"}),
        ),
    ]);
    let call = &done[0];
    assert_eq!(call.queue_time, None, "never queued");
    assert_eq!(call.ring_time, secs(2));
    assert_eq!(
        call.talk_time,
        secs(60),
        "customer answered 2010 → deleted 2070"
    );
    assert_eq!(call.wrap_up_time, None);
    assert_eq!(call.hold_time, Duration::ZERO);
}

#[test]
fn abandoned_and_mixed_time_sources() {
    let g = "int-abandoned";
    // The middle event has no interactionEventTS: msgInfo.timestamp (ms) is
    // used, and the ms precision shows in the result.
    let unqueued = EightByEightEvent::from_json(json!({"Interaction": {
        "event": "InteractionUnqueued", "interactionGUID": g,
        "msgInfo": {"timestamp": 3040500}}}));
    let done = run(&[
        step(g, "InteractionQueued", 3000, json!({})),
        unqueued,
        step(
            g,
            "InteractionDeleted",
            3041,
            json!({"hangupInitiator": "CUSTOMER"}),
        ),
    ]);
    let call = &done[0];
    assert!(!call.answered);
    assert_eq!(call.queue_time, Some(Duration::from_millis(40_500)));
    assert_eq!(call.talk_time, None);
}

#[test]
fn interleaved_interactions_and_other_events() {
    let mut events = Vec::new();
    let (a, b) = (inbound("int-a"), inbound("int-b"));
    for (x, y) in a.into_iter().zip(b) {
        events.push(x);
        events.push(y);
        events.push(EightByEightEvent::from_json(
            json!({"AgentStatusChange": {"agentId": A, "newState": 5}}),
        ));
    }
    // An event without a GUID changes nothing.
    events.push(EightByEightEvent::from_json(
        json!({"Interaction": {"event": "InteractionDeleted"}}),
    ));
    let done = run(&events);
    let guids: Vec<&str> = done.iter().map(|s| s.interaction_guid.as_str()).collect();
    assert_eq!(guids, ["int-a", "int-b"]);
    assert!(done.iter().all(|s| s.talk_time == secs(266)));
}
