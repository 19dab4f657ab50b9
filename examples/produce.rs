//! `produce`: publish JSON events to a Pulsar WebSocket topic and print the
//! id of each stored message — pipelined, with receipts matched by context.
//!
//! ```text
//! cargo run --example produce -- --demo
//! cargo run --example produce -- --service-url ws://127.0.0.1:8080 \
//!     --topic persistent://public/default/demo --count 1000
//! ```
//!
//! Each event is `{"seq":n,"source":"produce-example","sentAt":"…"}` with key
//! `k<n % 4>` and its event time set. Ids go to stdout as `seq<TAB>id`,
//! diagnostics to stderr. Exit codes: 0 every message stored, 1 an error
//! (a refused message or a lost connection), 2 bad arguments.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use clap::Parser;
use futures::StreamExt;
use pulsar_eventstream::testing::MockPulsar;
use pulsar_eventstream::{Client, Message, Position, Topic};

/// The topic `--demo` publishes to.
const DEMO_TOPIC: &str = "persistent://demo-tenant/demo-ns/produced";

#[derive(Parser, Debug)]
#[command(
    name = "produce",
    about = "Publish JSON events to a Pulsar WebSocket topic and print their message ids.",
    after_help = "Exit codes: 0 done, 1 error, 2 bad arguments."
)]
struct Args {
    /// Service URL, e.g. ws://127.0.0.1:8080 or wss://pulsar.example.com
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present = "demo")]
    service_url: Option<String>,

    /// Topic, e.g. persistent://public/default/demo
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present = "demo")]
    topic: Option<String>,

    /// How many events to publish
    #[arg(long, default_value_t = 10)]
    count: u64,

    /// Most messages unconfirmed at once
    #[arg(long, default_value_t = 1000)]
    max_in_flight: usize,

    /// 8x8 API key, sent as the X-API-Key header
    #[arg(long, env = "PULSAR_API_KEY", hide_env_values = true)]
    api_key: Option<String>,

    /// Pulsar token (JWT), sent as Authorization: Bearer
    #[arg(long, env = "PULSAR_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Publish to an in-process MockPulsar, then read the events back
    #[arg(long)]
    demo: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("produce: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(mut args: Args) -> Result<(), String> {
    // Keep the mock alive for the whole run.
    let mock = if args.demo {
        let mock = MockPulsar::start()
            .await
            .map_err(|e| format!("demo server: {e}"))?;
        args.service_url = Some(mock.service_url());
        args.topic = Some(DEMO_TOPIC.to_string());
        eprintln!("produce: demo mode: publishing to an in-process MockPulsar");
        Some(mock)
    } else {
        None
    };
    let service_url = args.service_url.take().ok_or("--service-url is required")?;
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

    let producer = client
        .producer(topic.clone())
        .max_in_flight(args.max_in_flight)
        .send_timeout(Duration::from_secs(30))
        .create()
        .await
        .map_err(|e| format!("cannot create a producer on {topic}: {e}"))?;
    eprintln!("produce: connected to {} ({topic})", client.service_url());

    // Enqueue from one task while another prints the receipts in order: the
    // window keeps up to max_in_flight messages on the wire at once.
    let (receipts_tx, mut receipts_rx) = tokio::sync::mpsc::channel(args.max_in_flight.max(1));
    let writer = producer.clone();
    let count = args.count;
    let enqueue = tokio::spawn(async move {
        for seq in 0..count {
            let now = now();
            let event = serde_json::json!({
                "seq": seq,
                "source": "produce-example",
                "sentAt": now.to_rfc3339(),
            });
            let message = Message::json(&event)?
                .key(format!("k{}", seq % 4))
                .property("example", "produce")
                .event_time(now);
            let receipt = writer.enqueue(message).await?;
            if receipts_tx.send((seq, receipt)).await.is_err() {
                break;
            }
        }
        Ok::<(), pulsar_eventstream::Error>(())
    });
    let mut failures = 0u64;
    while let Some((seq, receipt)) = receipts_rx.recv().await {
        match receipt.await {
            Ok(id) => println!("{seq}\t{id}"),
            Err(e) => {
                failures += 1;
                eprintln!("produce: message {seq} failed: {e}");
            }
        }
    }
    enqueue
        .await
        .map_err(|e| format!("enqueue task: {e}"))?
        .map_err(|e| format!("enqueue: {e}"))?;
    producer.close().await.map_err(|e| format!("close: {e}"))?;
    if failures > 0 {
        return Err(format!("{failures} of {count} messages failed"));
    }
    eprintln!("produce: {count} events stored");

    if mock.is_some() {
        // Show that they are there: read them back with the crate's reader.
        let mut events = client
            .reader(topic)
            .position(Position::Earliest)
            .subscribe()
            .await
            .map_err(|e| e.to_string())?;
        for _ in 0..count {
            match events.next().await {
                Some(Ok(event)) => eprintln!(
                    "produce: read back {} key={} {}",
                    event.message_id(),
                    event.key().unwrap_or("-"),
                    event.text().unwrap_or("<binary>")
                ),
                Some(Err(e)) => return Err(e.to_string()),
                None => break,
            }
        }
        events.close().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The current time (chrono's `clock` feature is not needed for this).
fn now() -> DateTime<Utc> {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    DateTime::from_timestamp_millis(millis).unwrap_or(DateTime::UNIX_EPOCH)
}
