//! `reader`: read a topic from its earliest retained message and print each
//! event on one line: `ledger:entry  publishTime  payload`.
//!
//! ```text
//! cargo run --example reader -- --demo
//! cargo run --example reader -- --service-url ws://127.0.0.1:8080 \
//!     --topic persistent://public/default/orders --count 100
//! cargo run --example reader -- --service-url wss://pulsar-ws-euw2.8x8.com \
//!     --topic persistent://TENANT/event-v1/all --api-key eght_...
//! ```
//!
//! A reader has no subscription: it starts where you say (here
//! `Position::Earliest`) and the server keeps no position for it. Events are
//! acknowledged automatically (flow control: without acks a reader stops
//! after 1000 events), and a lost connection resumes right after the last
//! event printed. Stops after `--count` events or on Ctrl-C.

use clap::Parser;
use futures::StreamExt;
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{Client, Position};

/// The topic `--demo` reads.
pub const DEMO_TOPIC: &str = "persistent://demo-tenant/demo-ns/orders";
/// How many events `--demo` publishes.
pub const DEMO_EVENTS: u64 = 5;

/// Print a topic's events from the earliest one.
#[derive(Parser, Debug)]
#[command(name = "reader")]
pub struct Args {
    /// Service URL, e.g. ws://127.0.0.1:8080 or wss://pulsar-ws-euw2.8x8.com
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present = "demo")]
    service_url: Option<String>,
    /// Topic, e.g. persistent://public/default/orders
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present = "demo")]
    topic: Option<String>,
    /// 8x8 API key, sent as the X-API-Key header
    #[arg(long, env = "PULSAR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Pulsar token (JWT), sent as Authorization: Bearer
    #[arg(long, env = "PULSAR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Stop after this many events (default: until Ctrl-C; 5 with --demo)
    #[arg(long)]
    count: Option<u64>,
    /// Read from an in-process MockPulsar holding 5 events
    #[arg(long)]
    demo: bool,
}

/// What a run printed, one entry per line.
#[derive(Debug, Default)]
pub struct Output {
    /// The printed lines.
    pub lines: Vec<String>,
}

impl Output {
    fn print(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
    }
}

/// Reads and prints events until `--count` is reached, the stream ends or
/// Ctrl-C.
pub async fn run(args: Args) -> Result<Output, String> {
    // --demo: an in-process server with a few events; kept alive until the end.
    let mut mock = None;
    let (service_url, topic, count) = if args.demo {
        let server = MockPulsar::start().await.map_err(|e| e.to_string())?;
        for n in 1..=DEMO_EVENTS {
            let payload = format!(r#"{{"order":{n},"amount":{}}}"#, n * 10);
            server.publish(
                DEMO_TOPIC,
                MockMessage::new(payload).key(format!("customer-{n}")),
            );
        }
        let url = server.service_url();
        mock = Some(server);
        (
            url,
            DEMO_TOPIC.to_string(),
            args.count.or(Some(DEMO_EVENTS)),
        )
    } else {
        let url = args.service_url.ok_or("--service-url is required")?;
        (url, args.topic.ok_or("--topic is required")?, args.count)
    };

    let mut builder = Client::builder(service_url);
    if let Some(key) = args.api_key {
        builder = builder.api_key(key);
    }
    if let Some(token) = args.token {
        builder = builder.token(token);
    }
    let client = builder.build().map_err(|e| e.to_string())?;

    // A refused handshake (401, 403, 404 …) fails here, as a typed error.
    let mut events = client
        .reader(topic.parse().map_err(|e| format!("{e}"))?)
        .position(Position::Earliest)
        .subscribe()
        .await
        .map_err(|e| format!("cannot read {topic}: {e}"))?;

    let mut out = Output::default();
    let mut read = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while count.is_none_or(|n| read < n) {
        let item = tokio::select! {
            item = events.next() => item,
            _ = &mut ctrl_c => break,
        };
        match item {
            Some(Ok(event)) => {
                read += 1;
                let id = event.message_id();
                out.print(format!(
                    "{}:{}  {}  {}",
                    id.ledger_id(),
                    id.entry_id(),
                    event.publish_time_raw().unwrap_or("-"),
                    String::from_utf8_lossy(event.payload()),
                ));
            }
            // One bad frame is one error item; the stream goes on.
            Some(Err(e)) if e.is_decode_error() => eprintln!("reader: skipped: {e}"),
            Some(Err(e)) => return Err(e.to_string()),
            None => break, // the stream ended (only after close or a fatal error)
        }
    }
    // Acknowledges the last event, flushes acks and closes cleanly.
    events.close().await.map_err(|e| e.to_string())?;
    drop(mock);
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    run(Args::parse()).await.map(drop) // an error is printed, and the exit code is 1
}
