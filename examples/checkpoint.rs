//! `checkpoint`: a reader that keeps its place in a file, so that the next
//! run of the program continues right after the last event it processed.
//!
//! ```text
//! cargo run --example checkpoint -- --demo
//! cargo run --example checkpoint -- --service-url ws://127.0.0.1:8080 \
//!     --topic persistent://public/default/orders --checkpoint orders.checkpoint --count 10
//! ```
//! (run the second command twice: the second run starts where the first stopped)
//!
//! `FileCheckpoint` stores the id of the last event such that it and every
//! event before it were acknowledged, and writes it atomically (temporary
//! file, fsync, rename). It is saved every 1000 events, every 5 s and on
//! `close()`. A process killed between two saves reads a few events again
//! on its next start: at-least-once. The demo runs the reader twice in one
//! process, against the same server and the same checkpoint file.

use std::path::{Path, PathBuf};

use clap::Parser;
use futures::StreamExt;
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{Checkpoint, Client, FileCheckpoint, Position, Topic};

/// The topic `--demo` reads and how many events it holds.
pub const DEMO_TOPIC: &str = "persistent://demo-tenant/demo-ns/orders";
pub const DEMO_EVENTS: u64 = 8;

/// A reader that resumes where its last run stopped.
#[derive(Parser, Debug)]
#[command(name = "checkpoint")]
pub struct Args {
    /// Service URL, e.g. ws://127.0.0.1:8080
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present = "demo")]
    service_url: Option<String>,
    /// Topic, e.g. persistent://public/default/orders
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present = "demo")]
    topic: Option<String>,
    /// Pulsar token (JWT), sent as Authorization: Bearer
    #[arg(long, env = "PULSAR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The checkpoint file [default: reader.checkpoint; --demo uses a temporary file]
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Stop after this many events (default: until Ctrl-C)
    #[arg(long)]
    count: Option<u64>,
    /// Run twice on an in-process MockPulsar holding 8 events, 4 per run
    #[arg(long)]
    demo: bool,
}

/// What a run printed, and the events each reader run printed.
#[derive(Debug, Default)]
pub struct Output {
    pub lines: Vec<String>,
    pub runs: Vec<Vec<String>>,
}

impl Output {
    fn print(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
    }
}

/// One run of the program: resume from the checkpoint, read, save on close.
async fn read_once(
    client: &Client,
    topic: &Topic,
    path: &Path,
    count: Option<u64>,
    out: &mut Output,
) -> Result<(), String> {
    let checkpoint = FileCheckpoint::new(path);
    match checkpoint.load().await.map_err(|e| e.to_string())? {
        Some(id) => out.print(format!("checkpoint: continuing after {}", show(&id))),
        None => out.print("no checkpoint yet: starting at the earliest event".into()),
    }
    let mut events = client
        .reader(topic.clone())
        .position(Position::Earliest) // used only when there is no checkpoint
        .checkpoint(checkpoint)
        .subscribe()
        .await // a checkpoint that exists but cannot be read fails here
        .map_err(|e| format!("cannot read {topic}: {e}"))?;
    let mut printed = Vec::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while count.is_none_or(|n| (printed.len() as u64) < n) {
        let item = tokio::select! {
            item = events.next() => item,
            _ = &mut ctrl_c => break,
        };
        match item {
            Some(Ok(event)) => {
                let text = String::from_utf8_lossy(event.payload()).into_owned();
                out.print(format!("{}  {text}", show(event.message_id())));
                printed.push(text);
            }
            Some(Err(e)) if e.is_decode_error() => eprintln!("skipped: {e}"),
            Some(Err(e)) => return Err(e.to_string()),
            None => break,
        }
    }
    // Acknowledges the last event and saves the checkpoint.
    events.close().await.map_err(|e| e.to_string())?;
    out.runs.push(printed);
    Ok(())
}

fn show(id: &pulsar_eventstream::MessageId) -> String {
    format!("{}:{}", id.ledger_id(), id.entry_id())
}

/// Reads once (with `--demo`: twice, 4 events each, as two runs of a program would).
pub async fn run(args: Args) -> Result<Output, String> {
    let mut out = Output::default();
    if !args.demo {
        let url = args.service_url.ok_or("--service-url is required")?;
        let topic: Topic = args
            .topic
            .ok_or("--topic is required")?
            .parse()
            .map_err(|e| format!("{e}"))?;
        let mut builder = Client::builder(url);
        if let Some(token) = args.token {
            builder = builder.token(token);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        let path = args
            .checkpoint
            .unwrap_or_else(|| "reader.checkpoint".into());
        read_once(&client, &topic, &path, args.count, &mut out).await?;
        return Ok(out);
    }

    let mock = MockPulsar::start().await.map_err(|e| e.to_string())?;
    for n in 1..=DEMO_EVENTS {
        mock.publish(DEMO_TOPIC, MockMessage::new(format!("order {n}")));
    }
    let client = Client::builder(mock.service_url())
        .build()
        .map_err(|e| e.to_string())?;
    let topic: Topic = DEMO_TOPIC.parse().map_err(|e| format!("{e}"))?;
    // A new file, as on a first start.
    let nanos = std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos());
    let unique = format!("checkpoint-demo-{}-{nanos}.json", std::process::id());
    let path = std::env::temp_dir().join(unique);
    let half = Some(DEMO_EVENTS / 2);
    out.print("--- first run ---".into());
    read_once(&client, &topic, &path, half, &mut out).await?;
    out.print("--- the program restarts ---".into());
    read_once(&client, &topic, &path, half, &mut out).await?;
    let _ = std::fs::remove_file(&path);
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    run(Args::parse()).await.map(drop) // an error is printed, and the exit code is 1
}
