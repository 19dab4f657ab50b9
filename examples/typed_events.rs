//! `typed_events`: 8x8 Event Streaming payloads as typed events, with
//! `event.eightbyeight()` and a `match` on `EightByEightEvent`.
//!
//! ```text
//! cargo run --example typed_events -- --demo
//! cargo run --example typed_events -- --region uk3 --tenant TENANT --api-key eght_...
//! ```
//!
//! Typing never fails once the payload is JSON: 8x8 writes numbers and
//! booleans with or without quotes, so every field is optional and read
//! leniently, an event type this version does not know is `Unknown` with its
//! root key, and the raw JSON of every event stays available (`raw()`).
//! A consumer therefore never loops on an event it cannot parse.

use clap::Parser;
use futures::StreamExt;
use pulsar_eventstream::eightbyeight::{EightByEightEvent, InteractionEventType, Region, Topics};
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{Client, Position};

/// The tenant `--demo` uses and how many events it publishes.
pub const DEMO_TENANT: &str = "demo-tenant";
pub const DEMO_EVENTS: u64 = 7;

/// Print 8x8 events, typed.
#[derive(Parser, Debug)]
#[command(name = "typed_events")]
pub struct Args {
    /// 8x8 region: uk3, us1 or us2
    #[arg(long, required_unless_present = "demo")]
    region: Option<Region>,
    /// Contact Center tenant name: reads persistent://TENANT/event-v1/all
    #[arg(long, env = "PULSAR_TENANT", required_unless_present = "demo")]
    tenant: Option<String>,
    /// 8x8 API key (Admin Console eght_… key or Contact Center token)
    #[arg(long, env = "PULSAR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Stop after this many events (default: until Ctrl-C)
    #[arg(long)]
    count: Option<u64>,
    /// Run on an in-process MockPulsar holding 7 events of one call
    #[arg(long)]
    demo: bool,
}

/// What a run printed.
#[derive(Debug, Default)]
pub struct Output {
    pub lines: Vec<String>,
}

/// One line per event, from its typed fields.
fn describe(event: &EightByEightEvent) -> String {
    let at = event
        .time()
        .map_or("--:--:--".into(), |t| t.format("%H:%M:%S").to_string());
    let what = match event {
        EightByEightEvent::AgentStatusChange(status) => format!(
            "agent {} now in state {}",
            status.agent_id.as_deref().unwrap_or("?"),
            status.new_state.map_or("?".into(), |s| s.to_string()) // "1" and 1 both read as 1
        ),
        EightByEightEvent::Interaction(call) => {
            let guid = call.interaction_guid.as_deref().unwrap_or("?");
            match &call.event {
                Some(InteractionEventType::Created) => {
                    let from = call.calling_name().map(|n| n.to_text().into_owned());
                    format!("{guid}: new call from {}", from.as_deref().unwrap_or("?"))
                }
                Some(InteractionEventType::Queued) => {
                    format!(
                        "{guid}: queued in queue {}",
                        call.queue_id.unwrap_or_default()
                    )
                }
                Some(InteractionEventType::LineHoldStatus) => {
                    format!("{guid}: on hold: {}", call.on_hold().unwrap_or_default())
                }
                Some(InteractionEventType::Deleted) => format!(
                    "{guid}: ended by {}, disposition {}",
                    call.hangup_initiator.as_ref().map_or("?", |h| h.as_str()),
                    call.disposition_code
                        .as_ref()
                        .map_or("-".into(), |d| d.to_text())
                ),
                Some(other) => format!("{guid}: {other}"),
                None => format!("{guid}: interaction event without a type"),
            }
        }
        EightByEightEvent::Unknown { root, .. } => format!("not modelled: {root} (raw JSON kept)"),
        // The enum is #[non_exhaustive]: later versions may add event types.
        other => other.name().to_string(),
    };
    format!("{at} {what}")
}

/// Prints typed events until `--count` (all of them with `--demo`) or Ctrl-C.
pub async fn run(args: Args) -> Result<Output, String> {
    let mut mock = None;
    let (client, tenant, count) = if args.demo {
        let server = MockPulsar::start().await.map_err(|e| e.to_string())?;
        let topic = Topics::new(DEMO_TENANT).all().map_err(|e| e.to_string())?;
        let payloads = [
            r#"{"AgentStatusChange":{"agentId":"agA1","newState":"1","statusEventTS":1763888400}}"#,
            r#"{"Interaction":{"event":"InteractionCreated","interactionGUID":"int-1","interactionEventTS":1763888407,
                "attachedData":{"attachedDatum":[{"attachedDataKey":"callingName","attachedDataValue":"Jane Doe"}]}}}"#,
            r#"{"Interaction":{"event":"InteractionQueued","interactionGUID":"int-1","interactionEventTS":"1763888410","queueId":"117"}}"#,
            r#"{"Interaction":{"event":"LineHoldStatus","interactionGUID":"int-1","interactionEventTS":1763888470,"status":"true"}}"#,
            r#"{"Interaction":{"event":"InteractionDeleted","interactionGUID":"int-1","hangupInitiator":"CUSTOMER",
                "dispositionCode":"SALE","msgInfo":{"timestamp":1763888590000}}}"#,
            r#"{"AgentProvChange":{"event":"AgentSkillChanged","agentId":"agA1","enabled":"yes","msgInfo":{}}}"#,
            r#"{"ClientCheck":{"heartbeat":"[HEARTBEAT]"}}"#,
        ];
        for payload in payloads {
            server.publish(&topic.to_string(), MockMessage::new(payload));
        }
        let client = Client::builder(server.service_url()).build();
        mock = Some(server);
        (client, DEMO_TENANT.to_string(), Some(DEMO_EVENTS))
    } else {
        let region = args.region.ok_or("--region is required")?;
        let key = args
            .api_key
            .ok_or("--api-key (or PULSAR_API_KEY) is required")?;
        // The region's host, X-API-Key, 45 s handshake timeout, pings.
        let client = Client::builder_8x8(region, key).build();
        (
            client,
            args.tenant.ok_or("--tenant is required")?,
            args.count,
        )
    };
    let client = client.map_err(|e| e.to_string())?;
    let mut events = client
        .reader(Topics::new(&tenant).all().map_err(|e| e.to_string())?)
        .position(Position::Earliest)
        .subscribe()
        .await
        .map_err(|e| format!("cannot read the events of {tenant}: {e}"))?;

    let mut out = Output::default();
    let mut read = 0;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while count.is_none_or(|n| read < n) {
        let event = tokio::select! {
            item = events.next() => match item {
                Some(Ok(event)) => event,
                Some(Err(e)) if e.is_decode_error() => continue,
                Some(Err(e)) => return Err(e.to_string()),
                None => break,
            },
            _ = &mut ctrl_c => break,
        };
        read += 1;
        // The only error: a payload that is not JSON at all (this event only).
        let line = match event.eightbyeight() {
            Ok(typed) => describe(&typed),
            Err(e) => format!("not JSON: {e}"),
        };
        println!("{line}");
        out.lines.push(line);
    }
    events.close().await.map_err(|e| e.to_string())?;
    drop(mock);
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    run(Args::parse()).await.map(drop) // an error is printed, and the exit code is 1
}
