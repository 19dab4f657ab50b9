//! 8x8 Event Streaming support: typed events from re-drawn fixtures of every
//! documented shape in several quoting variants, leniency, time rules,
//! regions, topics, the interaction tracker, and the whole path through
//! `MockPulsar` and `Client`. Property tests live in `eightbyeight/props.rs`.

mod common;
#[path = "eightbyeight/fixtures.rs"]
mod fixtures;
#[path = "eightbyeight/props.rs"]
mod props;
#[path = "eightbyeight/tracker.rs"]
mod tracker;

use std::time::Duration;

use common::*;
use fixtures::{interaction, AGENT, AGENT_GUID};
use pulsar_eventstream::eightbyeight::{
    EightByEightEvent, InteractionEventType, Region, RegionError, Scalar, TimeSource, Topics,
    HANDSHAKE_TIMEOUT,
};
use pulsar_eventstream::testing::MockMessage;
use pulsar_eventstream::{Client, Error, Position};
use serde_json::{json, Value};

// ----- typed events ---------------------------------------------------------------------------

#[test]
fn every_documented_shape_types_in_every_quoting_variant() {
    let fixtures = fixtures::all();
    assert!(fixtures.len() >= 13);
    for fixture in fixtures {
        for (variant, json) in fixtures::variants(&fixture.json) {
            let event = EightByEightEvent::from_json(json.clone());
            let result = std::panic::catch_unwind(|| (fixture.check)(&event));
            assert!(
                result.is_ok(),
                "{} ({variant}) failed its checks: {json}",
                fixture.name
            );
            assert_eq!(event.raw(), &json, "{} ({variant}) raw", fixture.name);
            assert_eq!(serde_json::to_value(&event).unwrap(), json);
            let reparsed: EightByEightEvent = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(reparsed, event);
        }
    }
}

#[test]
fn the_quoting_variants_really_differ() {
    // Guard against a transform that silently does nothing.
    let created = &fixtures::all()[3].json;
    let quoted = fixtures::quote_all(created);
    assert_eq!(
        quoted["Interaction"]["inboundChannelid"],
        json!("13125555068")
    );
    let unquoted = fixtures::unquote_lookalikes(&quoted);
    assert_eq!(
        unquoted["Interaction"]["inboundChannelid"],
        json!(13125555068i64)
    );
    assert_eq!(
        fixtures::unquote_lookalikes(&json!({"a": "0123", "b": "true", "c": "1.5"})),
        json!({"a": "0123", "b": true, "c": 1.5})
    );
    let sloppy = fixtures::sloppy(created);
    assert_eq!(sloppy["Interaction"]["resourceType"], json!(" 0 "));
}

#[test]
fn every_catalogued_interaction_type_has_its_variant_and_topic() {
    let topics = Topics::new("acme");
    for (name, variant) in fixtures::CATALOGUE {
        let event = EightByEightEvent::from_json(
            json!({"Interaction": {"event": name, "interactionGUID": "g"}}),
        );
        assert_eq!(interaction(&event).event.as_ref(), Some(variant), "{name}");
        assert_eq!(event.name(), *name);
        assert_eq!(variant.as_str(), *name);
        assert_eq!(
            topics.event_type(variant).unwrap().to_string(),
            format!("persistent://acme/event-v1/{name}")
        );
    }
    let event =
        EightByEightEvent::from_json(json!({"Interaction": {"event": "InteractionTeleported"}}));
    assert_eq!(
        interaction(&event).event,
        Some(InteractionEventType::Other("InteractionTeleported".into()))
    );
    assert_eq!(event.name(), "InteractionTeleported");
}

#[test]
fn booleans_and_numbers_are_read_in_every_form() {
    let read = |value: Value| {
        EightByEightEvent::from_json(json!({"Interaction": {
            "isExternal": value.clone(), "queueId": value.clone(), "status": value}}))
    };
    for (value, as_bool) in [
        (json!(true), Some(true)),
        (json!("true"), Some(true)),
        (json!("True"), Some(true)),
        (json!(false), Some(false)),
        (json!("false"), Some(false)),
        (json!("no"), Some(false)),
        (json!("N/A"), None),
        (json!(7), None),
    ] {
        let event = read(value.clone());
        assert_eq!(interaction(&event).is_external, as_bool, "{value}");
    }
    for (value, as_int) in [
        (json!(117), Some(117)),
        (json!("117"), Some(117)),
        (json!(117.0), Some(117)),
        (json!(" 117 "), Some(117)),
        (json!("0117"), Some(117)),
        (json!("Support"), None),
        (json!(true), None),
        (json!(1.5), None),
    ] {
        let event = read(value.clone());
        assert_eq!(interaction(&event).queue_id, as_int, "{value}");
        // `status` keeps whatever came, in its own JSON type.
        assert_eq!(
            interaction(&event).status.as_ref().map(Scalar::to_json),
            Some(value)
        );
    }
}

#[test]
fn a_value_that_does_not_parse_is_none_and_stays_raw() {
    let payload = json!({"Interaction": {
        "event": ["not", "a", "string"],
        "interactionGUID": "int-9",
        "interactionEventTS": "yesterday",
        "isExternal": "maybe",
        "queueId": {"id": 117},
        "callState": null,
        "attachedData": [1, 2, 3],
        "msgInfo": "gone",
        "brandNewField": {"x": 1}}});
    let event = EightByEightEvent::from_json(payload.clone());
    let call = interaction(&event);
    assert_eq!(call.interaction_guid.as_deref(), Some("int-9"));
    assert_eq!(call.event, None);
    assert_eq!(call.interaction_event_ts, None);
    assert_eq!(call.is_external, None);
    assert_eq!(call.queue_id, None);
    assert_eq!(call.call_state, None);
    assert!(call.attached_data.is_empty());
    assert!(call.msg_info.is_empty());
    assert_eq!(event.time(), None, "no usable time: None, not 1970");
    assert_eq!(event.name(), "Interaction");
    assert_eq!(call.field("interactionEventTS"), Some(&json!("yesterday")));
    assert_eq!(call.field("brandNewField"), Some(&json!({"x": 1})));
    assert_eq!(call.field("callState"), None);
    assert_eq!(event.raw(), &payload);
}

#[test]
fn unknown_roots_are_kept_raw() {
    for (payload, root) in [
        (
            json!({"ClientCheck": {"heartbeat": "[HEARTBEAT]", "msgInfo": {},
                "subscription-id": "s1", "tenant-id": "acme"}}),
            "ClientCheck",
        ),
        (
            json!({"AgentUpdate": {"agentId": AGENT, "msgInfo": {"timestamp": 1669235544917i64}}}),
            "AgentUpdate",
        ),
        (json!({"GuestChatEnd": {"chatId": 5}}), "GuestChatEnd"),
        (json!({"Interaction": 42}), "Interaction"),
        // The Getting-Started placeholder shape: no single root.
        (
            json!({"eventId": "e1", "eventType": "agent.login", "timestamp": 1,
                "tenantId": "acme", "data": {}}),
            "",
        ),
        (json!([{"Interaction": {}}]), ""),
        (json!("just text"), ""),
    ] {
        let event = EightByEightEvent::from_json(payload.clone());
        match &event {
            EightByEightEvent::Unknown { root: r, raw } => {
                assert_eq!(r, root);
                assert_eq!(raw, &payload);
            }
            other => panic!("{payload} typed as {other:?}"),
        }
        assert_eq!(event.root(), root);
        assert_eq!(event.raw(), &payload);
        assert_eq!(serde_json::to_value(&event).unwrap(), payload);
    }
    let update = EightByEightEvent::from_json(
        json!({"AgentUpdate": {"msgInfo": {"timestamp": 1669235544917i64}}}),
    );
    assert_eq!(
        update.time().map(|t| t.timestamp_millis()),
        Some(1669235544917)
    );
}

#[test]
fn time_rules_follow_the_august_2026_correction() {
    let time = |body: Value| {
        EightByEightEvent::from_json(json!({ "Interaction": body }))
            .time_with_source()
            .map(|(t, s)| (t.timestamp_millis(), s))
    };
    // interactionEventTS (s) wins over msgInfo.timestamp (ms).
    assert_eq!(
        time(
            json!({"interactionEventTS": 1669235827, "eventTS": 1669230000,
            "msgInfo": {"timestamp": 1669235827999i64}})
        ),
        Some((1669235827000, TimeSource::InteractionEventTs))
    );
    // Without it, msgInfo.timestamp, to the millisecond.
    assert_eq!(
        time(json!({"eventTS": 1669230000, "msgInfo": {"timestamp": "1669235827999"}})),
        Some((1669235827999, TimeSource::MsgInfoTimestamp))
    );
    // eventTS alone is no event time; a zero is missing, not 1970.
    assert_eq!(time(json!({"eventTS": 1669230000})), None);
    assert_eq!(
        time(json!({"interactionEventTS": 0, "msgInfo": {"timestamp": 0}})),
        None
    );
    assert_eq!(
        time(json!({"interactionEventTS": 0, "msgInfo": {"timestamp": 1669235827999i64}})),
        Some((1669235827999, TimeSource::MsgInfoTimestamp))
    );
    assert_eq!(time(json!({"msgInfo": {}})), None);
}

// ----- regions and topics ---------------------------------------------------------------------

/// Every cluster of `8x8.md` §2.2, written out from the table.
fn listed_clusters() -> Vec<(String, Result<Region, &'static str>)> {
    let mut out = Vec::new();
    let mut add =
        |prefix: &str, range: std::ops::RangeInclusive<u32>, r: Result<Region, &'static str>| {
            for n in range {
                out.push((format!("{prefix}{n}"), r.clone()));
            }
        };
    add("EU", 4..=14, Ok(Region::Uk3));
    add("NA", 1..=6, Ok(Region::Us1));
    add("NA", 11..=16, Ok(Region::Us1));
    add("SB", 1..=1, Ok(Region::Us1));
    add("NA", 7..=10, Ok(Region::Us2));
    add("NA", 17..=20, Ok(Region::Us2));
    add("NA", 27..=30, Ok(Region::Us2));
    add("NA", 37..=39, Ok(Region::Us2));
    add("AP", 1..=1, Err("HK1"));
    add("AP", 21..=21, Err("HK2"));
    add("EU", 21..=21, Err("LH1"));
    add("BC", 1..=3, Err("ON1"));
    add("EU", 31..=31, Err("PA1"));
    add("CA", 1..=2, Err("SK1"));
    add("AU", 1..=2, Err("SY1"));
    out
}

#[test]
fn every_listed_cluster_maps_to_its_region() {
    let clusters = listed_clusters();
    assert_eq!(clusters.len(), 50);
    for (cluster, expected) in clusters {
        let lower = cluster.to_lowercase();
        for input in [
            cluster.clone(),
            lower.clone(),
            format!(" vcc-{lower}.8x8.com "),
            format!("https://vcc-{lower}.8x8.com/appcore/"),
        ] {
            match (&expected, Region::from_cluster(&input)) {
                (Ok(region), Ok(got)) => assert_eq!(&got, region, "{input}"),
                (Err(site), Err(RegionError::NoHostYet { region, .. })) => {
                    assert_eq!(region, *site, "{input}")
                }
                (expected, got) => panic!("{input}: expected {expected:?}, got {got:?}"),
            }
        }
    }
}

#[test]
fn pending_and_unknown_clusters_explain_what_to_do() {
    let err = Region::from_cluster("AU2").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("AU2") && text.contains("SY1"), "{text}");
    assert!(text.contains("no Event Streaming host yet"), "{text}");
    assert!(text.contains("Region::Custom"), "{text}");
    let err = Region::from_cluster("NA21").unwrap_err();
    assert!(matches!(err, RegionError::Unknown { .. }));
    assert!(err.to_string().contains("vcc-<cluster>.8x8.com"));
    // Usable with `?` in functions returning the crate's error.
    let as_crate: Error = err.into();
    assert!(matches!(as_crate, Error::Config(_)));
}

#[test]
fn regions_give_the_documented_hosts() {
    for (region, host) in [
        (Region::Uk3, "pulsar-ws-euw2.8x8.com"),
        (Region::Us1, "pulsar-ws-use1.8x8.com"),
        (Region::Us2, "pulsar-ws-usw2.8x8.com"),
    ] {
        assert_eq!(region.host(), host);
        assert_eq!(region.service_url(), format!("wss://{host}"));
        assert_eq!(region.name().parse::<Region>(), Ok(region.clone()));
        assert_eq!(host.parse::<Region>(), Ok(region));
    }
    let later = Region::Custom("pulsar-ws-apse2.8x8.com".into());
    assert_eq!(later.service_url(), "wss://pulsar-ws-apse2.8x8.com");
}

#[test]
fn topic_helpers_give_the_documented_paths() {
    let topics = Topics::new("acme");
    assert_eq!(
        topics.all().unwrap().to_string(),
        "persistent://acme/event-v1/all"
    );
    assert_eq!(
        topics.event_type("InteractionCreated").unwrap().to_string(),
        "persistent://acme/event-v1/InteractionCreated"
    );
    assert_eq!(
        topics.event_type("AgentStatusChange").unwrap().to_string(),
        "persistent://acme/event-v1/AgentStatusChange"
    );
    assert_eq!(
        topics.agent(AGENT).unwrap().to_string(),
        "persistent://acme/agent-v1/agAglVJkg0TU28dok9y9UQKg"
    );
    let v2 = Topics::new("acme").namespace("event-v2");
    assert_eq!(
        v2.all().unwrap().to_string(),
        "persistent://acme/event-v2/all"
    );
}

#[test]
fn agent_topics_refuse_a_full_agent_guid() {
    let err = Topics::new("acme").agent(AGENT_GUID).unwrap_err();
    let Error::InvalidTopic { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("short agent id"), "{reason}");
    assert!(reason.contains(&format!("probably `{AGENT}`")), "{reason}");
}

// ----- through the client ---------------------------------------------------------------------

#[tokio::test]
async fn builder_8x8_sends_the_key_as_a_header_and_reads_typed_events() {
    let mock = pulsar_eventstream::testing::MockPulsar::start()
        .await
        .unwrap();
    mock.require_api_key(Some("eght_test_key"));
    let topics = Topics::new(fixtures::TENANT);
    let topic = topics.all().unwrap();
    let mut published = Vec::new();
    for fixture in fixtures::all() {
        for (_, json) in fixtures::variants(&fixture.json) {
            mock.publish(&topic.to_string(), MockMessage::new(json.to_string()));
            published.push(json);
        }
    }
    mock.publish(&topic.to_string(), MockMessage::new("not json {"));
    mock.publish(
        &topic.to_string(),
        MockMessage::new(r#"{"ClientCheck": {"heartbeat": "[HEARTBEAT]"}}"#),
    );

    let region = Region::Custom(mock.service_url());
    let client = Client::builder_8x8(region, "eght_test_key")
        .build()
        .unwrap();
    let mut events = client
        .reader(topic.clone())
        .position(Position::Earliest)
        .subscribe()
        .await
        .unwrap();
    let got = take_events(&mut events, published.len()).await;
    for (event, json) in got.iter().zip(&published) {
        let typed = event.eightbyeight().unwrap();
        assert_eq!(typed, EightByEightEvent::from_json(json.clone()));
        assert_eq!(typed.raw(), json);
    }
    // A payload that is not JSON is an error for that event only.
    let bad = next(&mut events).await.unwrap();
    assert!(matches!(bad.eightbyeight(), Err(Error::PayloadJson { .. })));
    let heartbeat = next(&mut events).await.unwrap().eightbyeight().unwrap();
    assert_eq!(heartbeat.root(), "ClientCheck");

    let handshake = &mock.handshakes()[0];
    assert_eq!(handshake.status, 101);
    assert_eq!(handshake.path, "/ws/v2/reader/persistent/acme/event-v1/all");
    assert_eq!(handshake.header("X-API-Key"), Some("eght_test_key"));
    assert!(!handshake.query.contains_key("x-api-key"));
    assert_eq!(HANDSHAKE_TIMEOUT, Duration::from_secs(45));
    events.close().await.unwrap();
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized() {
    let mock = pulsar_eventstream::testing::MockPulsar::start()
        .await
        .unwrap();
    mock.require_api_key(Some("eght_right"));
    let client = Client::builder_8x8(Region::Custom(mock.service_url()), "eght_wrong")
        .build()
        .unwrap();
    let err = within(
        client
            .reader(Topics::new("acme").all().unwrap())
            .subscribe(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");
    assert!(!err.to_string().contains("eght_wrong"));
}

#[tokio::test]
async fn topic_helpers_reach_the_server_as_documented_paths() {
    let (mock, client) = setup().await;
    let topics = Topics::new("acme");
    for (topic, path) in [
        (
            topics.event_type(InteractionEventType::Queued).unwrap(),
            "/ws/v2/reader/persistent/acme/event-v1/InteractionQueued",
        ),
        (
            topics.agent(AGENT).unwrap(),
            "/ws/v2/reader/persistent/acme/agent-v1/agAglVJkg0TU28dok9y9UQKg",
        ),
    ] {
        let events = client.reader(topic).subscribe().await.unwrap();
        assert_eq!(mock.handshakes().last().unwrap().path, path);
        events.close().await.unwrap();
    }
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<EightByEightEvent>();
    check::<pulsar_eventstream::eightbyeight::InteractionTracker>();
    check::<pulsar_eventstream::eightbyeight::InteractionSummary>();
    check::<Region>();
    check::<RegionError>();
    check::<Topics>();
    check::<Scalar>();
}
