//! `batching`: collect events into batches of at most `--max-batch` events
//! or whatever arrived within `--max-wait-ms` of the batch's first event
//! (what `chunks_timeout` does), sort each batch by event time, "write" it,
//! and only then acknowledge its events.
//!
//! ```text
//! cargo run --example batching -- --demo
//! cargo run --example batching -- --service-url ws://127.0.0.1:8080 \
//!     --topic persistent://TENANT/event-v1/all --max-batch 500 --max-wait-ms 2000
//! ```
//!
//! The event time is 8x8's own (`interactionEventTS`, `statusEventTS`, else
//! `msgInfo.timestamp`: see `EightByEightEvent::time`), else the broker's
//! publish time. A batch that is not written is never acked, so its events
//! come again (at-least-once). Keep batches below the server's window of
//! 1000 unacknowledged events, or the stream stalls before a batch is full.

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Parser;
use futures::StreamExt;
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{
    AckMode, Client, Credentials, Event, EventStream, InitialPosition, Topic,
};

/// The topic `--demo` uses and how many events it publishes.
pub const DEMO_TOPIC: &str = "persistent://demo-tenant/event-v1/all";
pub const DEMO_EVENTS: usize = 10;

/// Write events in time-sorted batches, ack after writing.
#[derive(Parser, Debug)]
#[command(name = "batching")]
pub struct Args {
    /// Service URL, e.g. ws://127.0.0.1:8080
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present = "demo")]
    service_url: Option<String>,
    /// Topic, e.g. persistent://TENANT/event-v1/all
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present = "demo")]
    topic: Option<String>,
    /// Subscription name (created at the earliest message if new)
    #[arg(long, default_value = "batching-example")]
    subscription: String,
    /// Pulsar token (JWT), sent as Authorization: Bearer
    #[arg(long, env = "PULSAR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Most events in one batch
    #[arg(long, default_value_t = 4)]
    max_batch: usize,
    /// Longest wait for a batch to fill after its first event
    #[arg(long, default_value_t = 500)]
    max_wait_ms: u64,
    /// Run on an in-process MockPulsar with 10 8x8 events out of time order
    #[arg(long)]
    demo: bool,
}

/// What a run printed, and the event times (epoch seconds) of each batch as written.
#[derive(Debug, Default)]
pub struct Output {
    pub lines: Vec<String>,
    pub batches: Vec<Vec<i64>>,
}

/// The next batch: waits as long as it takes for a first event, then up to
/// `max_wait` for more. `None` once the stream has ended.
async fn next_batch(
    events: &mut EventStream,
    max: usize,
    max_wait: Duration,
) -> Result<Option<Vec<Event>>, String> {
    let mut batch = Vec::with_capacity(max);
    let mut deadline = None;
    while batch.len() < max {
        let next = match deadline {
            None => events.next().await,
            // `next()` is cancel-safe: an event not yet taken stays queued.
            Some(deadline) => match tokio::time::timeout_at(deadline, events.next()).await {
                Ok(next) => next,
                Err(_) => break, // time is up: write what we have
            },
        };
        match next {
            Some(Ok(event)) => batch.push(event),
            Some(Err(e)) if e.is_decode_error() => eprintln!("skipped: {e}"),
            Some(Err(e)) => return Err(e.to_string()), // nothing acked: all comes again
            None => break,
        }
        deadline.get_or_insert_with(|| tokio::time::Instant::now() + max_wait);
    }
    Ok((!batch.is_empty()).then_some(batch))
}

/// 8x8's own event time, else the broker's publish time.
fn event_time(event: &Event) -> Option<DateTime<Utc>> {
    let own = event.eightbyeight().ok().and_then(|typed| typed.time());
    own.or_else(|| event.publish_time().map(|t| t.to_utc()))
}

/// Writes until Ctrl-C (with `--demo`: until every event is written).
pub async fn run(args: Args) -> Result<Output, String> {
    let mut mock = None;
    let (url, topic, count) = if args.demo {
        let server = MockPulsar::start().await.map_err(|e| e.to_string())?;
        let base = 1_763_888_400; // 2025-11-23T09:00:00Z
        for (n, offset) in [5, 1, 3, 2, 9, 7, 8, 6, 4].into_iter().enumerate() {
            let call = format!(
                r#"{{"Interaction":{{"event":"InteractionQueued","interactionGUID":"int-{n}","interactionEventTS":{}}}}}"#,
                base + offset
            );
            server.publish(DEMO_TOPIC, MockMessage::new(call));
        }
        // No time of its own: sorted by its publish time, 09:00:00.
        let heartbeat = MockMessage::new(r#"{"ClientCheck":{"heartbeat":"[HEARTBEAT]"}}"#);
        server.publish(DEMO_TOPIC, heartbeat.publish_time("2025-11-23T09:00:00Z"));
        let url = server.service_url();
        mock = Some(server);
        (url, DEMO_TOPIC.to_string(), Some(DEMO_EVENTS))
    } else {
        let url = args.service_url.ok_or("--service-url is required")?;
        (url, args.topic.ok_or("--topic is required")?, None)
    };
    let topic: Topic = topic.parse().map_err(|e| format!("{e}"))?;
    let credentials = args.token.map(Credentials::token).unwrap_or_default();
    let client = Client::builder(url).credentials(credentials).build();
    let client = client.map_err(|e| e.to_string())?;
    let mut events = client
        .consumer(topic.clone(), &args.subscription)
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::Manual) // acked once written, batch by batch
        .subscribe()
        .await
        .map_err(|e| format!("cannot subscribe to {topic}: {e}"))?;

    let mut out = Output::default();
    let (max_wait, mut written) = (Duration::from_millis(args.max_wait_ms), 0);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while count.is_none_or(|n| written < n) {
        let batch = tokio::select! {
            batch = next_batch(&mut events, args.max_batch.max(1), max_wait) => batch?,
            _ = &mut ctrl_c => break, // a batch being collected is not acked
        };
        let Some(mut batch) = batch else { break };
        batch.sort_by_cached_key(event_time);
        // "Write" the batch: one row per event, in event-time order.
        let number = out.batches.len() + 1;
        let mut rows = vec![format!("batch {number}: {} events", batch.len())];
        let mut times = Vec::new();
        for event in &batch {
            let time = event_time(event);
            let name = event.eightbyeight().map(|e| e.name().to_owned());
            let name = name.unwrap_or_default();
            let shown = time.map_or("-".into(), |t| t.format("%H:%M:%S").to_string());
            rows.push(format!("  {shown} {name}"));
            times.push(time.map_or(0, |t| t.timestamp()));
        }
        println!("{}", rows.join("\n"));
        // Written: only now acknowledge the batch's events.
        for event in &batch {
            event.ack().map_err(|e| e.to_string())?;
        }
        written += batch.len();
        out.lines.extend(rows);
        out.batches.push(times);
    }
    events.close().await.map_err(|e| e.to_string())?; // flushes the acks
    if let Some(mock) = mock {
        let acked = mock.wait_for_acks(DEMO_TOPIC, &args.subscription, DEMO_EVENTS);
        tokio::time::timeout(Duration::from_secs(10), acked)
            .await
            .map_err(|_| "the acks did not reach the server")?;
        let acks = mock.acks(DEMO_TOPIC, &args.subscription).len();
        let line = format!("server: {acks} acks");
        println!("{line}");
        out.lines.push(line);
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    run(Args::parse()).await.map(drop) // an error is printed, and the exit code is 1
}
