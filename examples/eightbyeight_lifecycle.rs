//! `eightbyeight_lifecycle`: follows 8x8 Contact Center interactions by
//! `interactionGUID` and prints, for each one that ends
//! (`InteractionDeleted`), its queue, ring, talk, hold and wrap-up times.
//!
//! Times follow 8x8's corrected rules: each event's own time is
//! `interactionEventTS` (seconds), else `msgInfo.timestamp` (ms); `eventTS`
//! is the same on every event of an interaction and is never used. The
//! arithmetic is `pulsar_eventstream::eightbyeight::InteractionTracker`.
//!
//! ```text
//! cargo run --example eightbyeight_lifecycle                 # demo on an in-process MockPulsar
//! cargo run --example eightbyeight_lifecycle -- --region uk3 --tenant TENANT --api-key eght_...
//! cargo run --example eightbyeight_lifecycle -- --cluster NA7 --tenant TENANT --position earliest
//! ```

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use futures::StreamExt;
use pulsar_eventstream::eightbyeight::{
    EightByEightEvent, InteractionSummary, InteractionTracker, Region, Topics,
};
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{Client, Position, Topic};
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(
    name = "eightbyeight_lifecycle",
    about = "Print queue and talk time per finished 8x8 interaction (a demo unless a region or service URL is given)."
)]
struct Args {
    /// Run on an in-process MockPulsar with scripted interactions (the default
    /// when no --region, --cluster or --service-url is given)
    #[arg(long)]
    demo: bool,

    /// 8x8 region: uk3, us1 or us2
    #[arg(long, conflicts_with_all = ["cluster", "service_url"])]
    region: Option<Region>,

    /// Contact Center cluster, e.g. NA7 or vcc-na7.8x8.com
    #[arg(long, conflicts_with = "service_url")]
    cluster: Option<String>,

    /// Any service URL (e.g. a gateway, or a region 8x8 announced later)
    #[arg(long, env = "PULSAR_SERVICE_URL")]
    service_url: Option<String>,

    /// Contact Center tenant name: reads persistent://TENANT/event-v1/all
    #[arg(long, env = "PULSAR_TENANT")]
    tenant: Option<String>,

    /// Another topic instead of the tenant's event-v1/all
    #[arg(long)]
    topic: Option<String>,

    /// 8x8 API key (Admin Console eght_… key or Contact Center token)
    #[arg(long, env = "PULSAR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,

    /// Where to start: earliest or latest
    #[arg(long, default_value = "latest")]
    position: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("eightbyeight_lifecycle: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let demo = args.demo
        || (args.region.is_none() && args.cluster.is_none() && args.service_url.is_none());
    let mut position = match args.position.as_str() {
        "earliest" => Position::Earliest,
        "latest" => Position::Latest,
        other => {
            return Err(format!(
                "--position must be earliest or latest, not {other:?}"
            ))
        }
    };
    // Keep the mock alive for the whole run.
    let mut _mock = None;
    let mut limit = None;
    let (region, api_key, topic) = if demo {
        let mock = MockPulsar::start().await.map_err(|e| e.to_string())?;
        mock.require_api_key(Some("eght_demo"));
        let topic = Topics::new("demo-tenant")
            .all()
            .map_err(|e| e.to_string())?;
        let script = demo_script();
        limit = Some(script.len());
        for payload in script {
            mock.publish(&topic.to_string(), MockMessage::new(payload.to_string()));
        }
        position = Position::Earliest;
        eprintln!("demo: scripted interactions on an in-process MockPulsar");
        let region = Region::Custom(mock.service_url());
        _mock = Some(mock);
        (region, "eght_demo".to_string(), topic)
    } else {
        let region = match (args.region, &args.cluster, &args.service_url) {
            (Some(region), _, _) => region,
            (None, Some(cluster), _) => Region::from_cluster(cluster).map_err(|e| e.to_string())?,
            (None, None, Some(url)) => Region::Custom(url.clone()),
            (None, None, None) => return Err("give --region, --cluster or --service-url".into()),
        };
        let api_key = args
            .api_key
            .ok_or("--api-key (or env PULSAR_API_KEY) is required")?;
        (region, api_key, topic(args.topic, args.tenant)?)
    };

    let client = Client::builder_8x8(region, api_key)
        .build()
        .map_err(|e| e.to_string())?;
    let mut events = client
        .reader(topic.clone())
        .position(position)
        .subscribe()
        .await
        .map_err(|e| format!("cannot read {topic}: {e}"))?;
    eprintln!("reading {topic} at {}", client.service_url());

    let mut tracker = InteractionTracker::new();
    let mut totals = Totals::default();
    let mut unknown_roots = BTreeSet::new();
    let mut seen = 0usize;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let outcome = loop {
        if limit.is_some_and(|n| seen >= n) {
            break Ok(());
        }
        let item = tokio::select! {
            item = events.next() => item,
            _ = &mut ctrl_c => break Ok(()),
        };
        let event = match item {
            None => break Ok(()),
            Some(Ok(event)) => event,
            Some(Err(e)) if e.is_decode_error() => {
                eprintln!("skipped a bad frame: {e}");
                continue;
            }
            Some(Err(e)) => break Err(e.to_string()),
        };
        seen += 1;
        let typed = match event.eightbyeight() {
            Ok(typed) => typed,
            Err(e) => {
                eprintln!("skipped: {e}");
                continue;
            }
        };
        if let EightByEightEvent::Unknown { root, .. } = &typed {
            if unknown_roots.insert(root.clone()) {
                eprintln!("note: event type {root:?} is not handled here (logged once)");
            }
        }
        if let Some(summary) = tracker.observe(&typed) {
            println!("{}", line(&summary));
            totals.add(&summary);
        }
    };
    if let Err(e) = events.close().await {
        eprintln!("close: {e}");
    }
    totals.print(tracker.open_interactions());
    outcome
}

fn topic(topic: Option<String>, tenant: Option<String>) -> Result<Topic, String> {
    match (topic, tenant) {
        (Some(topic), _) => topic.parse().map_err(|e| format!("{e}")),
        (None, Some(tenant)) => Topics::new(tenant).all().map_err(|e| e.to_string()),
        (None, None) => Err("give --tenant (or --topic)".into()),
    }
}

/// `29s`, `4m26s`, `40.5s`, or `-` when unknown.
fn duration(d: Option<Duration>) -> String {
    let Some(d) = d else {
        return "-".into();
    };
    let (minutes, seconds, millis) = (d.as_secs() / 60, d.as_secs() % 60, d.subsec_millis());
    let seconds = if millis == 0 {
        format!("{seconds}s")
    } else {
        let fraction = format!("{millis:03}");
        format!("{seconds}.{}s", fraction.trim_end_matches('0'))
    };
    if minutes > 0 {
        format!("{minutes}m{seconds}")
    } else {
        seconds
    }
}

fn line(s: &InteractionSummary) -> String {
    let mut out = format!(
        "{} {} {}:",
        s.interaction_guid,
        s.media_type.as_deref().unwrap_or("?"),
        s.direction.as_ref().map_or("?", |d| d.as_str()),
    );
    if s.answered {
        out += &format!(
            " agent {} | queue {} | ring {} | talk {} (hold {}) | wrap-up {}",
            s.agent_id.as_deref().unwrap_or("?"),
            duration(s.queue_time),
            duration(s.ring_time),
            duration(s.talk_time),
            duration(Some(s.hold_time)),
            duration(s.wrap_up_time),
        );
    } else {
        out += &format!(" not answered | queue {}", duration(s.queue_time));
    }
    if s.rejections > 0 {
        out += &format!(" | {} rejected", s.rejections);
    }
    if let Some(who) = &s.hangup_initiator {
        out += &format!(" | ended by {who}");
    }
    if let Some(reason) = &s.hangup_reason {
        out += &format!(" ({reason})");
    }
    if let Some(code) = &s.disposition_code {
        out += &format!(" | disposition {code}");
    }
    out
}

#[derive(Default)]
struct Totals {
    finished: u32,
    answered: u32,
    queue: Vec<Duration>,
    talk: Vec<Duration>,
}

impl Totals {
    fn add(&mut self, s: &InteractionSummary) {
        self.finished += 1;
        self.answered += u32::from(s.answered);
        self.queue.extend(s.queue_time);
        self.talk.extend(s.talk_time);
    }

    fn print(&self, open: usize) {
        let average = |v: &[Duration]| {
            let n = u32::try_from(v.len()).ok().filter(|n| *n > 0)?;
            Some(v.iter().sum::<Duration>() / n)
        };
        eprintln!(
            "{} finished ({} answered), average queue {}, average talk {}; {} still open",
            self.finished,
            self.answered,
            duration(average(&self.queue)),
            duration(average(&self.talk)),
            open
        );
    }
}

/// One interaction event. `eventTS` is the same on every event of an
/// interaction, as on the real service: using it would give zero durations.
fn step(guid: &str, event: &str, ts: i64, extra: Value) -> Value {
    let mut body = json!({
        "event": event, "interactionGUID": guid, "interactionEventTS": ts,
        "eventTS": 1_763_888_400, "resourceType": 0, "mediaType": "phone",
        "msgInfo": {"instanceId": "vcc-uk3-demo", "sequenceId": ts - 1_763_888_000, "timestamp": ts * 1000}
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    json!({ "Interaction": body })
}

/// Four interactions, interleaved as a busy tenant's stream would be, with
/// 8x8's loose JSON types and an event type this example does not handle.
fn demo_script() -> Vec<Value> {
    let (a, b) = ("agAglVJkg0TU28dok9y9UQKg", "agQ3mZr8nT0c4xWbV1yLkE2s");
    let (call, lost, out, chat) = (
        "int-19b1f6a0c3d-7Kq2pX-phone-00-demo-tenant",
        "int-19b1f6a1a90-Hh4sQe-phone-00-demo-tenant",
        "int-19b1f6a2b11-Zq9LmA-phone-00-demo-tenant",
        "int-19b1f6a3c42-Pw2NcR-chat-00-demo-tenant",
    );
    let t = 1_763_888_400i64;
    vec![
        json!({"AgentStatusChange": {"agentId": a, "newState": 5, "statusEventTS": t - 60, "msgInfo": {}}}),
        step(
            call,
            "InteractionCreated",
            t,
            json!({"callState": "CS_QUEUED", "direction": "in", "inboundChannelid": 13125555068i64}),
        ),
        step(
            call,
            "InteractionQueued",
            t + 1,
            json!({"callState": "CS_QUEUED", "queueId": "117", "isAgentInitiated": "false"}),
        ),
        step(
            lost,
            "InteractionCreated",
            t + 5,
            json!({"callState": "CS_QUEUED", "direction": "in"}),
        ),
        step(
            lost,
            "InteractionQueued",
            t + 6,
            json!({"callState": "CS_QUEUED", "queueId": 117}),
        ),
        step(
            call,
            "InteractionAssigned",
            t + 13,
            json!({"agentId": b, "callState": "CS_INPROGRESS"}),
        ),
        step(
            call,
            "InteractionRejected",
            t + 28,
            json!({"agentId": b, "rejectReason": 1, "callState": "CS_QUEUED"}),
        ),
        step(
            call,
            "InteractionAssigned",
            t + 30,
            json!({"agentId": a, "callState": "CS_INPROGRESS", "isDirectAccess": "false"}),
        ),
        step(
            call,
            "InteractionAccepted",
            t + 34,
            json!({"agentId": a, "callState": "CS_CONNECTED"}),
        ),
        step(
            lost,
            "InteractionUnqueued",
            t + 46,
            json!({"callState": "CS_IDLE"}),
        ),
        step(
            lost,
            "InteractionDeleted",
            t + 46,
            json!({"callState": "CS_DISCONNECTED", "hangupInitiator": "CUSTOMER", "callHangupReason": "CEC_DISCONNECT_NORMAL"}),
        ),
        json!({"AgentUpdate": {"agentId": b, "msgInfo": {"timestamp": (t + 50) * 1000}}}),
        step(
            out,
            "InteractionCreated",
            t + 60,
            json!({"direction": "out", "inboundChannelid": "N/A", "isOutboundCall": true}),
        ),
        step(
            out,
            "InteractionAssigned",
            t + 61,
            json!({"agentId": b, "direction": "out"}),
        ),
        step(
            call,
            "LineHoldStatus",
            t + 100,
            json!({"status": true, "callState": "CS_HOLD", "agentId": a}),
        ),
        step(
            out,
            "InteractionAccepted",
            t + 63,
            json!({"agentId": b, "direction": "out"}),
        ),
        step(
            out,
            "InteractionCustomerAccepted",
            t + 70,
            json!({"direction": "out", "callState": "CS_CONNECTED"}),
        ),
        step(
            call,
            "LineHoldStatus",
            t + 145,
            json!({"status": "false", "callState": "CS_CONNECTED", "agentId": a}),
        ),
        json!({"Interaction": {"event": "InteractionCreated", "interactionGUID": chat, "mediaType": "chat",
            "resourceType": 2, "direction": "in", "msgInfo": {"timestamp": (t + 150) * 1000 + 250}}}),
        json!({"Interaction": {"event": "InteractionQueued", "interactionGUID": chat, "mediaType": "chat",
            "msgInfo": {"timestamp": (t + 150) * 1000 + 400}}}),
        json!({"Interaction": {"event": "InteractionAccepted", "interactionGUID": chat, "agentId": b,
            "mediaType": "chat", "msgInfo": {"timestamp": (t + 158) * 1000 + 900}}}),
        step(
            out,
            "InteractionDeleted",
            t + 190,
            json!({"direction": "out", "hangupInitiator": "AGENT", "callHangupReason": "CEC_DISCONNECT_NORMAL", "dispositionCode": 1000}),
        ),
        step(
            call,
            "InteractionPostProcess",
            t + 300,
            json!({"agentId": a, "callState": "CS_DISCONNECTED"}),
        ),
        step(
            call,
            "InteractionEndPostProcess",
            t + 330,
            json!({"agentId": a, "dispositionCode": "SALE"}),
        ),
        step(
            call,
            "InteractionDeassigned",
            t + 331,
            json!({"agentId": a}),
        ),
        step(
            call,
            "InteractionDeleted",
            t + 332,
            json!({"callState": "CS_DISCONNECTED", "hangupInitiator": "CUSTOMER", "callHangupReason": "CEC_DISCONNECT_NORMAL"}),
        ),
        json!({"Interaction": {"event": "InteractionDeleted", "interactionGUID": chat, "mediaType": "chat",
            "hangupInitiator": "CUSTOMER", "msgInfo": {"timestamp": (t + 400) * 1000}}}),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's numbers (run with `cargo test --example eightbyeight_lifecycle`).
    #[test]
    fn demo_script_gives_the_expected_lines() {
        let mut tracker = InteractionTracker::new();
        let lines: Vec<String> = demo_script()
            .into_iter()
            .filter_map(|payload| tracker.observe(&EightByEightEvent::from_json(payload)))
            .map(|summary| line(&summary))
            .collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0]
            .ends_with("not answered | queue 40s | ended by CUSTOMER (CEC_DISCONNECT_NORMAL)"));
        assert!(
            lines[1].contains("ring 2s | talk 2m0s (hold 0s) | wrap-up -"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2]
                .contains("queue 29s | ring 4s | talk 4m26s (hold 45s) | wrap-up 30s | 1 rejected"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains("queue 8.5s | ring - | talk 4m1.1s"),
            "{}",
            lines[3]
        );
        assert_eq!(tracker.open_interactions(), 0);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(None), "-");
        assert_eq!(duration(Some(Duration::from_secs(29))), "29s");
        assert_eq!(duration(Some(Duration::from_secs(266))), "4m26s");
        assert_eq!(duration(Some(Duration::from_millis(40_500))), "40.5s");
        assert_eq!(duration(Some(Duration::from_millis(61_010))), "1m1.01s");
    }
}
