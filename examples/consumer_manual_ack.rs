//! `consumer_manual_ack`: a consumer that acknowledges each event only after
//! it was committed to a (simulated) database, and negatively acknowledges it
//! when the commit fails, so that the broker delivers it again.
//!
//! ```text
//! cargo run --example consumer_manual_ack -- --demo
//! cargo run --example consumer_manual_ack -- --service-url ws://127.0.0.1:8080 \
//!     --topic persistent://public/default/payments --subscription billing
//! ```
//!
//! This is at-least-once: an event is acked only once its row is stored, so a
//! crash between the commit and the ack redelivers it. The store therefore
//! upserts by the payment's own id, and a second delivery changes nothing.
//! A payload that can never be stored is acked and logged (or give the
//! subscription `max_redeliver_count` and a `dead_letter_topic`): a nack
//! would bring it back forever.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use clap::Parser;
use futures::StreamExt;
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{AckMode, Client, Credentials, InitialPosition, Topic};

/// The topic and subscription `--demo` uses.
pub const DEMO_TOPIC: &str = "persistent://demo-tenant/demo-ns/payments";
/// The payments `--demo` publishes (plus one payload that is not a payment).
pub const DEMO_PAYMENTS: usize = 5;

/// Store payments, ack after commit.
#[derive(Parser, Debug)]
#[command(name = "consumer_manual_ack")]
pub struct Args {
    /// Service URL, e.g. ws://127.0.0.1:8080
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present = "demo")]
    service_url: Option<String>,
    /// Topic, e.g. persistent://public/default/payments
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present = "demo")]
    topic: Option<String>,
    /// Subscription name (created at the earliest message if new)
    #[arg(long, default_value = "billing")]
    subscription: String,
    /// Pulsar token (JWT), sent as Authorization: Bearer
    #[arg(long, env = "PULSAR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Run on an in-process MockPulsar whose database fails one commit
    #[arg(long)]
    demo: bool,
}

/// One payment, as published.
#[derive(serde::Deserialize)]
struct Payment {
    id: String,
    cents: u64,
}

/// A stand-in for a database: rows (payment id → cents), and commits that
/// fail once for the keys in `fail_once` (a deadlock, a lost connection …).
#[derive(Default)]
pub struct Store {
    pub rows: BTreeMap<String, u64>,
    fail_once: HashSet<String>,
}

impl Store {
    /// An idempotent upsert in a transaction.
    async fn commit(&mut self, payment: &Payment) -> Result<(), String> {
        tokio::task::yield_now().await; // the round trip to the database
        if self.fail_once.remove(&payment.id) {
            return Err("deadlock detected, transaction rolled back".into());
        }
        self.rows.insert(payment.id.clone(), payment.cents);
        Ok(())
    }
}

/// What a run printed, and the database at the end.
#[derive(Default)]
pub struct Output {
    pub lines: Vec<String>,
    pub store: Store,
}

impl Output {
    fn print(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
    }
}

/// Stores payments until Ctrl-C (with `--demo`: until every payment is
/// stored).
pub async fn run(args: Args) -> Result<Output, String> {
    let mut out = Output::default();
    let mut mock = None;
    let (url, topic) = if args.demo {
        let server = MockPulsar::start().await.map_err(|e| e.to_string())?;
        for n in 1..=DEMO_PAYMENTS {
            let payment = format!(r#"{{"id":"p-{n}","cents":{}}}"#, n * 1000);
            server.publish(DEMO_TOPIC, MockMessage::new(payment));
            if n == 2 {
                server.publish(DEMO_TOPIC, MockMessage::new("not a payment"));
            }
        }
        out.store.fail_once.insert("p-3".into()); // its first commit fails
        let url = server.service_url();
        mock = Some(server);
        (url, DEMO_TOPIC.to_string())
    } else {
        let url = args.service_url.ok_or("--service-url is required")?;
        (url, args.topic.ok_or("--topic is required")?)
    };
    // The demo stops once every payment is stored, and redelivers quickly.
    let count = args.demo.then_some(DEMO_PAYMENTS);
    let nack_delay = Duration::from_millis(if args.demo { 100 } else { 5000 });
    let topic: Topic = topic.parse().map_err(|e| format!("{e}"))?;
    let credentials = args.token.map(Credentials::token).unwrap_or_default();
    let client = Client::builder(url).credentials(credentials).build();
    let client = client.map_err(|e| e.to_string())?;
    let mut events = client
        .consumer(topic.clone(), &args.subscription)
        .initial_position(InitialPosition::Earliest)
        .ack_mode(AckMode::Manual) // nothing is acked unless we say so
        .negative_ack_redelivery_delay(nack_delay)
        .subscribe()
        .await
        .map_err(|e| format!("cannot subscribe to {topic}: {e}"))?;

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while count.is_none_or(|n| out.store.rows.len() < n) {
        let event = tokio::select! {
            item = events.next() => match item {
                Some(Ok(event)) => event,
                Some(Err(e)) if e.is_decode_error() => continue, // a bad frame: nacked for us
                Some(Err(e)) => return Err(e.to_string()),
                None => break,
            },
            _ = &mut ctrl_c => break,
        };
        let Ok(payment) = event.json::<Payment>() else {
            // Retrying cannot fix this payload: ack it so that it never returns.
            out.print("skipped an event that is not a payment".into());
            event.ack().map_err(|e| e.to_string())?;
            continue;
        };
        let again = event.redelivery_count();
        match out.store.commit(&payment).await {
            Ok(()) => {
                event.ack().map_err(|e| e.to_string())?; // only now
                out.print(format!("stored {} (redelivery {again})", payment.id));
            }
            Err(reason) => {
                event.nack().map_err(|e| e.to_string())?; // comes back after the delay
                out.print(format!(
                    "commit of {} failed ({reason}): nacked",
                    payment.id
                ));
            }
        }
    }
    events.close().await.map_err(|e| e.to_string())?; // flushes the acks

    if let Some(mock) = mock {
        // What the server saw: every event acked once, after its commit.
        let (topic, sub) = (DEMO_TOPIC, args.subscription.as_str());
        let all_acked = mock.wait_for_acks(topic, sub, DEMO_PAYMENTS + 1);
        tokio::time::timeout(Duration::from_secs(10), all_acked)
            .await
            .map_err(|_| "the acks did not reach the server")?;
        let (acks, nacks) = (mock.acks(topic, sub).len(), mock.nacks(topic, sub).len());
        let backlog = mock.backlog(topic, sub).unwrap_or(usize::MAX);
        out.print(format!(
            "server: {acks} acks, {nacks} nacks, backlog {backlog}"
        ));
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    run(Args::parse()).await.map(drop) // an error is printed, and the exit code is 1
}
