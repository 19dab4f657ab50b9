//! `reconnect_policy`: a reconnect policy written as a closure, and the
//! stream's connection changes (lost, reconnecting, connected, gave up)
//! observed apart from its events.
//!
//! ```text
//! cargo run --example reconnect_policy -- --demo
//! cargo run --example reconnect_policy -- --service-url ws://127.0.0.1:8080 \
//!     --topic persistent://public/default/orders --max-attempts 5
//! ```
//!
//! The demo's server drops the connection after three events: the policy is
//! asked for a delay, the reader reconnects and goes on right after the last
//! event it handed over, so every event is printed once, in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use futures::StreamExt;
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{Client, ConnectionEvent, Error, Position};

/// The topic `--demo` reads and how many events it holds.
pub const DEMO_TOPIC: &str = "persistent://demo-tenant/demo-ns/orders";
pub const DEMO_EVENTS: u64 = 6;

/// Read with a custom reconnect policy.
#[derive(Parser, Debug)]
#[command(name = "reconnect_policy")]
pub struct Args {
    /// Service URL, e.g. ws://127.0.0.1:8080
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present = "demo")]
    service_url: Option<String>,
    /// Topic, read from the earliest message
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present = "demo")]
    topic: Option<String>,
    /// Pulsar token (JWT), sent as Authorization: Bearer
    #[arg(long, env = "PULSAR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Give up after this many failed attempts in a row
    #[arg(long, default_value_t = 10)]
    max_attempts: u32,
    /// Stop after this many events (default: until Ctrl-C)
    #[arg(long)]
    count: Option<u64>,
    /// Run on an in-process MockPulsar that drops the connection once
    #[arg(long)]
    demo: bool,
}

/// What a run printed, and each decision of the policy.
#[derive(Debug, Default)]
pub struct Output {
    pub lines: Vec<String>,
    pub policy: Vec<String>,
}

impl Output {
    fn print(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
    }
}

fn describe(change: &ConnectionEvent) -> String {
    match change {
        ConnectionEvent::Connected { connection } => {
            format!("connected (connection #{connection})")
        }
        ConnectionEvent::Disconnected { error } => format!("connection lost: {error}"),
        ConnectionEvent::Reconnecting { attempt, delay } => {
            format!("reconnecting: attempt {attempt} in {delay:?}")
        }
        ConnectionEvent::GaveUp { error } => format!("gave up: {error}"),
        other => format!("{other:?}"),
    }
}

/// Reads until `--count` events (all of them with `--demo`) or Ctrl-C.
pub async fn run(args: Args) -> Result<Output, String> {
    let mut mock = None;
    let (url, topic, count) = if args.demo {
        let server = MockPulsar::start().await.map_err(|e| e.to_string())?;
        for n in 1..=DEMO_EVENTS {
            server.publish(DEMO_TOPIC, MockMessage::new(format!("order {n}")));
        }
        let url = server.service_url();
        mock = Some(server);
        (url, DEMO_TOPIC.to_string(), Some(DEMO_EVENTS))
    } else {
        let url = args.service_url.ok_or("--service-url is required")?;
        (url, args.topic.ok_or("--topic is required")?, args.count)
    };

    // The policy: any `Fn(attempt, &Error) -> Option<Duration>`. `None` gives
    // up and ends the stream with the error. `attempt` counts from 1 and
    // restarts once a connection has stayed up for a while.
    let decisions = Arc::new(Mutex::new(Vec::new()));
    let log = decisions.clone();
    let max_attempts = args.max_attempts;
    let policy = move |attempt: u32, error: &Error| -> Option<Duration> {
        // 401, 403, 404, TLS … cannot be fixed by trying again.
        let delay = (error.is_retryable() && attempt <= max_attempts).then(|| {
            let backoff = Duration::from_millis(50) * 2u32.pow(attempt.min(8) - 1);
            backoff.min(Duration::from_secs(5))
        });
        let line = format!("policy: attempt {attempt} after \"{error}\": {delay:?}");
        println!("{line}");
        log.lock().unwrap().push(line);
        delay
    };
    let mut builder = Client::builder(url).reconnect_policy(policy); // for all its streams
    if let Some(token) = args.token {
        builder = builder.token(token);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let mut events = client
        .reader(topic.parse().map_err(|e| format!("{e}"))?)
        .position(Position::Earliest)
        .subscribe()
        .await
        .map_err(|e| format!("cannot read {topic}: {e}"))?;
    // Connection changes never appear among the events: they have their own stream.
    let mut changes = events.connection_events();

    let mut out = Output::default();
    let (mut read, mut dropped) = (0, false);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while count.is_none_or(|n| read < n) {
        tokio::select! {
            item = events.next() => match item {
                Some(Ok(event)) => {
                    read += 1;
                    out.print(format!("event: {}", String::from_utf8_lossy(event.payload())));
                }
                Some(Err(e)) if e.is_decode_error() => eprintln!("skipped: {e}"),
                Some(Err(e)) => return Err(e.to_string()), // the policy gave up
                None => break,
            },
            Some(change) = changes.next() => out.print(describe(&change)),
            _ = &mut ctrl_c => break,
        }
        if let (Some(mock), 3, false) = (&mock, read, dropped) {
            dropped = true;
            out.print("demo: the server drops the connection".into());
            mock.drop_connections();
            // Show the changes until the stream is connected again.
            let reconnected = async {
                while let Some(change) = changes.next().await {
                    out.print(describe(&change));
                    if matches!(change, ConnectionEvent::Connected { connection } if connection > 1)
                    {
                        break;
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(10), reconnected)
                .await
                .map_err(|_| "no reconnect within 10 s")?;
        }
    }
    events.close().await.map_err(|e| e.to_string())?;
    drop(mock);
    out.policy = decisions.lock().unwrap().clone();
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    run(Args::parse()).await.map(drop) // an error is printed, and the exit code is 1
}
