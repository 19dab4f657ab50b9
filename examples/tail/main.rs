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
//! Exit codes: 0 done (count reached, end of stream, Ctrl-C or SIGTERM:
//! acks flushed, checkpoint saved), 1 fatal error, 2 bad arguments.
//! Diagnostics go to stderr, events to stdout; a status line (events/s,
//! reconnects) is drawn on stderr when it is a terminal.

mod demo;
mod eightbyeight;
mod output;
mod progress;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use futures::StreamExt;
use output::{Format, PropertyFilter};
use pulsar_eventstream::{
    Client, EventStream, FileCheckpoint, MessageId, Position, SubscriptionType, Topic,
};

#[derive(Parser, Debug)]
#[command(
    name = "tail",
    about = "Print the events of a Pulsar WebSocket topic (8x8 Event Streaming or any Pulsar), one per line.",
    after_help = "Every option can also be set by its environment variable.\n\
Exit codes: 0 done (count reached, stream ended, Ctrl-C or SIGTERM), 1 fatal error, 2 bad arguments."
)]
struct Args {
    /// Service URL, e.g. wss://pulsar-ws-euw2.8x8.com or ws://127.0.0.1:8080
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present_any = ["demo", "region", "cluster", "tenant"])]
    service_url: Option<String>,

    /// Topic, e.g. persistent://TENANT/event-v1/all
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present_any = ["demo", "tenant"])]
    topic: Option<String>,

    /// Where a reader starts: earliest, latest, or a message id (starts right after it)
    #[arg(long, env = "PULSAR_POSITION", default_value = "latest")]
    position: String,

    /// Read through this durable subscription (consumer endpoint) instead of a reader
    #[arg(long, env = "PULSAR_SUBSCRIPTION")]
    subscription: Option<String>,

    /// Subscription type of --subscription
    #[arg(long, env = "PULSAR_SUBSCRIPTION_TYPE", value_enum, default_value_t = SubType::Exclusive)]
    subscription_type: SubType,

    /// Exit 0 after printing this many events
    #[arg(long, env = "PULSAR_COUNT")]
    count: Option<u64>,

    /// Output format
    #[arg(long, env = "PULSAR_FORMAT", value_enum, default_value_t = Format::Payload)]
    format: Format,

    /// Print only events whose property NAME equals VALUE (repeatable; all must match)
    #[arg(
        long = "filter-property",
        value_name = "NAME=VALUE",
        env = "PULSAR_FILTER_PROPERTY",
        value_delimiter = ','
    )]
    filter_property: Vec<PropertyFilter>,

    /// Keep the reader's place in FILE: start after the saved id, save it on exit
    #[arg(long, env = "PULSAR_CHECKPOINT", value_name = "FILE")]
    checkpoint: Option<std::path::PathBuf>,

    /// Seconds between keepalive pings (0 turns pings off)
    #[arg(
        long,
        env = "PULSAR_PING_INTERVAL",
        value_name = "SECS",
        default_value_t = 30
    )]
    ping_interval: u64,

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

    /// Demo only: stop after reading this many events (printed or filtered).
    #[arg(skip)]
    demo_events: Option<u64>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum SubType {
    Exclusive,
    Shared,
    Failover,
    KeyShared,
}

impl From<SubType> for SubscriptionType {
    fn from(kind: SubType) -> Self {
        match kind {
            SubType::Exclusive => SubscriptionType::Exclusive,
            SubType::Shared => SubscriptionType::Shared,
            SubType::Failover => SubscriptionType::Failover,
            SubType::KeyShared => SubscriptionType::KeyShared,
        }
    }
}

/// How a run failed: bad arguments (exit 2) or a fatal error (exit 1).
enum Failure {
    Usage(String),
    Fatal(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("tail: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Fatal(message)) => {
            eprintln!("tail: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(mut args: Args) -> Result<(), Failure> {
    let usage = Failure::Usage;
    // Keep the mock alive for the whole run.
    let _mock = if args.demo {
        let mock = demo::start()
            .await
            .map_err(|e| Failure::Fatal(format!("demo server: {e}")))?;
        args.service_url = Some(mock.service_url());
        args.topic = Some(demo::TOPIC.to_string());
        if args.position == "latest" {
            args.position = "earliest".into();
        }
        args.demo_events = Some(demo::EVENT_COUNT as u64);
        eprintln!(
            "tail: demo mode: {} events from an in-process MockPulsar",
            demo::EVENT_COUNT
        );
        Some(mock)
    } else {
        args.eightbyeight
            .apply(&mut args.service_url, &mut args.topic)
            .map_err(usage)?;
        None
    };
    let position = parse_position(&args.position).map_err(usage)?;
    let service_url = args
        .service_url
        .clone()
        .ok_or_else(|| usage("--service-url is required".into()))?;
    let topic: Topic = args
        .topic
        .as_deref()
        .ok_or_else(|| usage("--topic is required".into()))?
        .parse()
        .map_err(|e| usage(format!("{e}")))?;
    if args.checkpoint.is_some() && args.subscription.is_some() {
        return Err(usage(
            "--checkpoint is for readers: a subscription keeps its own place".into(),
        ));
    }

    let ping = (args.ping_interval > 0).then(|| Duration::from_secs(args.ping_interval));
    let mut builder = Client::builder(service_url).ping_interval(ping);
    if let Some(key) = args.api_key.take() {
        builder = builder.api_key(key);
    }
    if let Some(token) = args.token.take() {
        builder = builder.token(token);
    }
    let client = builder.build().map_err(|e| usage(e.to_string()))?;
    let stream = match &args.subscription {
        Some(subscription) => {
            client
                .consumer(topic.clone(), subscription.clone())
                .subscription_type(args.subscription_type.into())
                .subscribe()
                .await
        }
        None => {
            let mut reader = client.reader(topic.clone()).position(position);
            if let Some(path) = &args.checkpoint {
                reader = reader.checkpoint(FileCheckpoint::new(path));
            }
            reader.subscribe().await
        }
    }
    .map_err(|e| {
        let message = format!("cannot subscribe to {topic}: {e}");
        match e {
            pulsar_eventstream::Error::Config(_)
            | pulsar_eventstream::Error::InvalidTopic { .. } => Failure::Usage(message),
            _ => Failure::Fatal(message),
        }
    })?;
    eprintln!("tail: connected to {} ({topic})", client.service_url());
    print_events(stream, &args).await.map_err(Failure::Fatal)
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn print_events(mut stream: EventStream, args: &Args) -> Result<(), String> {
    let mut printed: u64 = 0;
    let mut read: u64 = 0;
    let mut progress = progress::Progress::new();
    let stdout = std::io::stdout();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let outcome = loop {
        if args.count.is_some_and(|n| printed >= n) || args.demo_events.is_some_and(|n| read >= n) {
            break Ok(());
        }
        let item = tokio::select! {
            item = stream.next() => item,
            _ = &mut stop => break Ok(()),
        };
        match item {
            None => break Ok(()),
            Some(Ok(event)) => {
                read += 1;
                if !output::matches(&event, &args.filter_property) {
                    continue; // acked all the same when the next is asked for
                }
                let line = output::render(&event, args.format);
                let mut out = stdout.lock();
                if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                    break Ok(()); // stdout closed (e.g. `| head`): stop quietly
                }
                printed += 1;
                progress.update(printed, stream.stats().reconnects, false);
            }
            Some(Err(e)) if e.is_decode_error() => eprintln!("tail: skipped a bad frame: {e}"),
            Some(Err(e)) => break Err(e.to_string()),
        }
    };
    progress.finish(printed, stream.stats().reconnects);
    // Acks the last event, saves the checkpoint and closes cleanly,
    // whatever ended the loop.
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
