//! `tail`: print the events of a Pulsar WebSocket topic, one per line, for
//! `jq` — the crate's counterpart of the Go and Java readers in the 8x8 docs,
//! plus positions, a consumer mode and a self-contained demo.
//!
//! ```text
//! cargo run --example tail -- --demo
//! cargo run --example tail -- --service-url wss://pulsar-ws-euw2.8x8.com \
//!     --topic persistent://TENANT/event-v1/all --position earliest | jq .
//! cargo run --example tail -- --region uk3 --tenant TENANT --event-type InteractionCreated
//! cargo run --example tail -- --demo --format typed
//! ```
//!
//! Exit codes: 0 done (count reached, end of stream, Ctrl-C), 1 fatal
//! error, 2 bad arguments. Diagnostics go to stderr, events to stdout.

mod demo;
mod eightbyeight;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use futures::StreamExt;
use pulsar_eventstream::{Client, Event, EventStream, MessageId, Position, Topic};

#[derive(Parser, Debug)]
#[command(
    name = "tail",
    about = "Print the events of a Pulsar WebSocket topic (8x8 Event Streaming or any Pulsar), one per line.",
    after_help = "Exit codes: 0 done, 1 fatal error, 2 bad arguments."
)]
struct Args {
    /// Service URL, e.g. wss://pulsar-ws-euw2.8x8.com or ws://127.0.0.1:8080
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present_any = ["demo", "region", "cluster", "tenant"])]
    service_url: Option<String>,

    /// Topic, e.g. persistent://TENANT/event-v1/all
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present_any = ["demo", "tenant"])]
    topic: Option<String>,

    /// Where to start: earliest, latest, or a message id (starts right after it)
    #[arg(long, env = "PULSAR_POSITION", default_value = "latest")]
    position: String,

    /// Read through this durable subscription (consumer endpoint) instead of a reader
    #[arg(long, env = "PULSAR_SUBSCRIPTION")]
    subscription: Option<String>,

    /// Exit 0 after this many events
    #[arg(long)]
    count: Option<u64>,

    /// payload: the decoded payload, one per line; json: the whole event as one JSON line;
    /// typed: one summary line per event from its typed 8x8 view
    #[arg(long, value_enum, default_value_t = Format::Payload)]
    format: Format,

    /// 8x8 API key, sent as the X-API-Key header
    #[arg(long, env = "PULSAR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,

    /// Pulsar token (JWT), sent as Authorization: Bearer
    #[arg(long, env = "PULSAR_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Run against an in-process mock filled with realistic 8x8 events
    #[arg(long)]
    demo: bool,

    #[command(flatten)]
    eightbyeight: eightbyeight::Flags,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Payload,
    Json,
    Typed,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tail: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(mut args: Args) -> Result<(), String> {
    let position = parse_position(&args.position)?;
    // Keep the mock alive for the whole run.
    let _mock = if args.demo {
        let mock = demo::start()
            .await
            .map_err(|e| format!("demo server: {e}"))?;
        args.service_url = Some(mock.service_url());
        args.topic = Some(demo::TOPIC.to_string());
        if args.position == "latest" {
            args.position = "earliest".into();
        }
        args.count = args.count.or(Some(demo::EVENT_COUNT as u64));
        eprintln!(
            "tail: demo mode: {} events from an in-process MockPulsar",
            demo::EVENT_COUNT
        );
        Some(mock)
    } else {
        None
    };
    let position = if args.demo {
        parse_position(&args.position)?
    } else {
        position
    };
    if !args.demo {
        args.eightbyeight
            .apply(&mut args.service_url, &mut args.topic)?;
    }
    let service_url = args
        .service_url
        .clone()
        .ok_or("--service-url is required")?;
    let topic: Topic = args
        .topic
        .as_deref()
        .ok_or("--topic is required")?
        .parse()
        .map_err(|e| format!("{e}"))?;

    let mut builder = Client::builder(service_url);
    if let Some(key) = args.api_key.take() {
        builder = builder.api_key(key);
    }
    if let Some(token) = args.token.take() {
        builder = builder.token(token);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let stream = match &args.subscription {
        Some(subscription) => {
            client
                .consumer(topic.clone(), subscription.clone())
                .subscribe()
                .await
        }
        None => {
            client
                .reader(topic.clone())
                .position(position)
                .subscribe()
                .await
        }
    }
    .map_err(|e| format!("cannot subscribe to {topic}: {e}"))?;
    eprintln!("tail: connected to {} ({topic})", client.service_url());
    print_events(stream, &args).await
}

async fn print_events(mut stream: EventStream, args: &Args) -> Result<(), String> {
    let mut printed: u64 = 0;
    let stdout = std::io::stdout();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let outcome = loop {
        if args.count.is_some_and(|n| printed >= n) {
            break Ok(());
        }
        let item = tokio::select! {
            item = stream.next() => item,
            _ = &mut ctrl_c => break Ok(()),
        };
        match item {
            None => break Ok(()),
            Some(Ok(event)) => {
                let line = match args.format {
                    Format::Payload => String::from_utf8_lossy(event.payload()).into_owned(),
                    Format::Json => event_json(&event).to_string(),
                    Format::Typed => eightbyeight::typed_line(&event),
                };
                let mut out = stdout.lock();
                if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                    break Ok(()); // stdout closed (e.g. `| head`): stop quietly
                }
                printed += 1;
            }
            Some(Err(e)) if e.is_decode_error() => eprintln!("tail: skipped a bad frame: {e}"),
            Some(Err(e)) => break Err(e.to_string()),
        }
    };
    // Acks the last event and closes cleanly, whatever ended the loop.
    if let Err(e) = stream.close().await {
        eprintln!("tail: close: {e}");
    }
    outcome
}

fn parse_position(text: &str) -> Result<Position, String> {
    match text {
        "earliest" => Ok(Position::Earliest),
        "latest" => Ok(Position::Latest),
        id => id
            .parse::<MessageId>()
            .map(Position::MessageId)
            .map_err(|e| format!("--position must be earliest, latest or a message id: {e}")),
    }
}

/// The whole event as JSON; the payload inline when it is JSON itself.
fn event_json(event: &Event) -> serde_json::Value {
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
