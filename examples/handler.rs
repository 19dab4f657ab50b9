//! `handler`: process a subscription's events with the handler API: several
//! handlers at once, events with the same key one after another in stream
//! order, `Ok` acknowledges and `Err` negatively acknowledges, and Ctrl-C
//! stops taking new events, lets the running handlers finish and flushes the
//! acks before the program exits.
//!
//! ```text
//! cargo run --example handler -- --demo
//! cargo run --example handler -- --service-url ws://127.0.0.1:8080 \
//!     --topic persistent://public/default/agent-events --concurrency 16
//! ```
//!
//! Per-key order suits a `Key_Shared` subscription: the broker sends all
//! events of a key to the same consumer, and the handler keeps their order
//! while events with different keys run concurrently.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{
    Client, Credentials, Event, HandlerReport, InitialPosition, SubscriptionType, Topic,
};
use tokio::sync::Notify;

/// The topic `--demo` uses, its keys, and how many events it publishes.
pub const DEMO_TOPIC: &str = "persistent://demo-tenant/demo-ns/agent-events";
pub const DEMO_KEYS: [&str; 4] = ["agent-a", "agent-b", "agent-c", "agent-d"];
pub const DEMO_EVENTS: usize = 12;

/// Process events concurrently, in order per key.
#[derive(Parser, Debug)]
#[command(name = "handler")]
pub struct Args {
    /// Service URL, e.g. ws://127.0.0.1:8080
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present = "demo")]
    service_url: Option<String>,
    /// Topic, e.g. persistent://public/default/agent-events
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present = "demo")]
    topic: Option<String>,
    /// Subscription name (Key_Shared; created at the earliest message if new)
    #[arg(long, default_value = "handler-example")]
    subscription: String,
    /// Pulsar token (JWT), sent as Authorization: Bearer
    #[arg(long, env = "PULSAR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Most handlers running at once
    #[arg(long, default_value_t = 3)]
    concurrency: usize,
    /// Run on an in-process MockPulsar: 12 events over 4 keys
    #[arg(long)]
    demo: bool,
}

/// What a run printed and did.
#[derive(Debug)]
pub struct Output {
    pub lines: Vec<String>,
    /// (key, seq) of each handled event, in the order the handlers finished.
    pub handled: Vec<(String, u64)>,
    pub report: HandlerReport,
}

/// Shared by the handlers.
#[derive(Default)]
struct State {
    lines: Mutex<Vec<String>>,
    handled: Mutex<Vec<(String, u64)>>,
    running: AtomicUsize,
    /// Notified once `expected` events are handled (the demo's end).
    done: Notify,
    expected: Option<usize>,
}

impl State {
    fn print(&self, line: String) {
        println!("{line}");
        self.lines.lock().unwrap().push(line);
    }
}

/// One event's work: a call to another service, say. `Err` nacks it.
async fn handle(state: Arc<State>, event: Event) -> Result<(), String> {
    let key = event.key().unwrap_or("-").to_string();
    let body: serde_json::Value = event.json().map_err(|e| e.to_string())?;
    let seq = body["seq"].as_u64().ok_or("no seq")?;
    let running = state.running.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(Duration::from_millis(2 * (seq % 4 + 1))).await; // the work
    state.running.fetch_sub(1, Ordering::SeqCst);
    state.print(format!("{key} #{seq} done ({running} running)"));
    let handled = {
        let mut handled = state.handled.lock().unwrap();
        handled.push((key, seq));
        handled.len()
    };
    if state.expected == Some(handled) {
        state.done.notify_one();
    }
    Ok(())
}

/// Runs the handler until Ctrl-C (with `--demo`: until every event is handled).
pub async fn run(args: Args) -> Result<Output, String> {
    let mut mock = None;
    let (url, topic, expected) = if args.demo {
        let server = MockPulsar::start().await.map_err(|e| e.to_string())?;
        for seq in 1..=DEMO_EVENTS {
            let key = DEMO_KEYS[seq % DEMO_KEYS.len()];
            server.publish(
                DEMO_TOPIC,
                MockMessage::new(format!(r#"{{"seq":{seq}}}"#)).key(key),
            );
        }
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
    let events = client
        .consumer(topic.clone(), &args.subscription)
        .subscription_type(SubscriptionType::KeyShared)
        .initial_position(InitialPosition::Earliest)
        .subscribe()
        .await
        .map_err(|e| format!("cannot subscribe to {topic}: {e}"))?;

    let state = Arc::new(State {
        expected,
        ..State::default()
    });
    // The stop signal: Ctrl-C, or (demo) every event handled.
    let stop = {
        let state = state.clone();
        async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = state.done.notified() => {}
            }
        }
    };
    let handler_state = state.clone();
    let report = events
        .handler(move |event| handle(handler_state.clone(), event))
        .concurrency(args.concurrency)
        .ordered_by_key(true)
        .until(stop)
        .run() // returns once the running handlers are done and the acks flushed
        .await
        .map_err(|e| e.to_string())?;
    state.print(format!(
        "{} succeeded, {} failed, at most {} at once",
        report.succeeded, report.failed, report.max_in_flight
    ));
    if let Some(mock) = mock {
        let acked = mock.wait_for_acks(DEMO_TOPIC, &args.subscription, DEMO_EVENTS);
        tokio::time::timeout(Duration::from_secs(10), acked)
            .await
            .map_err(|_| "the acks did not reach the server")?;
        let acks = mock.acks(DEMO_TOPIC, &args.subscription).len();
        state.print(format!("server: {acks} acks"));
    }
    let lines = std::mem::take(&mut *state.lines.lock().unwrap());
    let handled = std::mem::take(&mut *state.handled.lock().unwrap());
    Ok(Output {
        lines,
        handled,
        report,
    })
}

#[tokio::main]
async fn main() -> Result<(), String> {
    run(Args::parse()).await.map(drop) // an error is printed, and the exit code is 1
}
