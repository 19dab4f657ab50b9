//! End-to-end throughput: the crate against a hand-written
//! tokio-tungstenite + serde_json + base64 loop doing the same work, in one
//! run, alternated, median of the per-round ratios. See docs/performance.md.
//!
//! ```text
//! cargo bench --bench throughput                        # flood endpoint on 127.0.0.1
//! cargo bench --bench throughput -- --rounds 7 --count 300000 --flavor current
//! PULSAR_ENV_FILE=target/pulsar/default/broker.env \
//!     cargo bench --bench throughput -- --broker        # a real broker (reader)
//! PULSAR_ENV_FILE=… cargo bench --bench throughput -- --broker --scenario producer
//! cargo bench --bench throughput -- --metrics           # with a Prometheus recorder
//! ```
//!
//! Without `--bench` (as under `cargo test --all-targets`) it runs one tiny
//! round as a smoke test.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures::{SinkExt, StreamExt, TryStreamExt};
use pulsar_eventstream::{AckMode, Client, Position, Topic};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

#[path = "support/flood.rs"]
mod flood;

/// Any one run must finish within this, or the bench fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

#[derive(Debug, Clone)]
struct Args {
    rounds: usize,
    count: u64,
    payload: usize,
    flavor: Flavor,
    broker: bool,
    smoke: bool,
    /// `--scenario reader|consumer|producer`: run one scenario only (with
    /// `--broker`: `producer` measures publishing instead of reading).
    scenario: Option<String>,
    /// `--only crate|hand`: run one side only, no ratio (for profilers).
    only: Option<String>,
    /// `--topic NAME` (with `--broker`): read this already filled topic.
    topic: Option<String>,
    /// `--metrics`: install a Prometheus recorder first, so that the
    /// stream's `metrics` handles record (without it they discard).
    metrics: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Flavor {
    /// `#[tokio::main]` on this machine: multi-threaded, one worker per core.
    Multi,
    /// `#[tokio::main(flavor = "current_thread")]`.
    Current,
}

fn parse_args() -> Args {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let bench = raw.iter().any(|a| a == "--bench");
    let broker = raw.iter().any(|a| a == "--broker");
    let value = |name: &str| {
        raw.iter()
            .position(|a| a == name)
            .and_then(|i| raw.get(i + 1))
            .cloned()
    };
    let smoke = !bench;
    let default_count = match (smoke, broker) {
        (true, _) => 2_000,
        (false, false) => 200_000,
        (false, true) => 100_000,
    };
    Args {
        rounds: value("--rounds")
            .map(|v| v.parse().unwrap())
            .unwrap_or(if smoke { 1 } else { 5 }),
        count: value("--count")
            .map(|v| v.parse().unwrap())
            .unwrap_or(default_count),
        payload: value("--payload")
            .map(|v| v.parse().unwrap())
            .unwrap_or(400),
        flavor: match value("--flavor").as_deref() {
            None | Some("multi") => Flavor::Multi,
            Some("current") => Flavor::Current,
            Some(other) => panic!("--flavor multi|current, not {other}"),
        },
        broker,
        smoke,
        scenario: value("--scenario"),
        only: value("--only"),
        topic: value("--topic"),
        metrics: raw.iter().any(|a| a == "--metrics"),
    }
}

fn runtime(flavor: Flavor) -> tokio::runtime::Runtime {
    match flavor {
        Flavor::Multi => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap(),
        Flavor::Current => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    }
}

fn main() {
    let args = parse_args();
    let rt = runtime(args.flavor);
    println!(
        "throughput: {} rounds x {} events of {} B, tokio {:?} runtime{}{}",
        args.rounds,
        args.count,
        args.payload,
        args.flavor,
        if args.metrics {
            ", Prometheus recorder"
        } else {
            ""
        },
        if args.smoke { " (smoke run)" } else { "" }
    );
    if args.metrics {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        metrics::set_global_recorder(recorder).expect("no recorder installed yet");
    }
    if args.broker {
        broker::run(&rt, &args);
        return;
    }
    let flood = flood::Flood::start();
    let url = flood.url();
    let (count, payload) = (args.count, args.payload);

    // Scenario 1: reader, AckMode::Auto vs the hand loop on the reader path.
    let raw_reader = format!("{url}{}", flood::reader_path(count, payload));
    let topic: Topic = flood::topic(count, payload).parse().unwrap();
    let reader = {
        let (url, topic) = (url.clone(), topic.clone());
        move || crate_reader(url.clone(), topic.clone(), count, payload)
    };
    let hand = {
        let raw = raw_reader.clone();
        move || hand_loop(raw.clone(), count, payload)
    };
    if args.scenario.as_deref().is_none_or(|s| s == "reader") {
        compare(
            &rt,
            &args,
            Some(&flood),
            "reader, AckMode::Auto",
            "hand loop (reader endpoint)",
            reader,
            hand,
        );
    }

    // Scenario 2: consumer, AckMode::Manual (event.ack() per event).
    let raw_consumer = format!("{url}{}", flood::consumer_path(count, payload, "bench"));
    let consumer = {
        let (url, topic) = (url.clone(), topic.clone());
        move || crate_consumer_manual(url.clone(), topic.clone(), count, payload)
    };
    let hand = move || hand_loop(raw_consumer.clone(), count, payload);
    if args.scenario.as_deref().is_none_or(|s| s == "consumer") {
        compare(
            &rt,
            &args,
            Some(&flood),
            "consumer, AckMode::Manual",
            "hand loop (consumer endpoint)",
            consumer,
            hand,
        );
    }

    // Scenario 3: producer, pipelined (the Sink keeps up to 1000 in flight).
    let raw_producer = format!("{url}{}", flood::producer_path(count, payload));
    let producer = {
        let (url, topic) = (url.clone(), topic.clone());
        move || crate_producer(url.clone(), topic.clone(), count, payload)
    };
    let hand = move || hand_producer(raw_producer.clone(), count, payload);
    if args.scenario.as_deref().is_none_or(|s| s == "producer") {
        compare(
            &rt,
            &args,
            Some(&flood),
            "producer, Sink (1000 in flight)",
            "hand loop (producer endpoint, 1000 in flight)",
            producer,
            hand,
        );
    }
}

/// Runs `a` and `b` in ABBA order each round (BAAB in odd rounds), so that
/// drift and a "first run of the round" advantage cancel out; prints each
/// round's events/s (mean of its two runs) and ratio a/b, then the median.
/// With a flood endpoint, checks what the server saw after each run.
fn compare<A, FA, B, FB>(
    rt: &tokio::runtime::Runtime,
    args: &Args,
    flood: Option<&flood::Flood>,
    a_name: &str,
    b_name: &str,
    a: A,
    b: B,
) -> f64
where
    A: Fn() -> FA,
    FA: Future<Output = Duration>,
    B: Fn() -> FB,
    FB: Future<Output = Duration>,
{
    println!("\n== {a_name} vs {b_name} ==");
    // Client CPU time per event: only meaningful without the in-process
    // flood server, i.e. against a broker, where the broker sets the pace.
    let cpu = std::cell::RefCell::new((0.0f64, 0.0f64));
    let run = |is_a: bool| -> f64 {
        let cpu_before = process_cpu_secs();
        let elapsed = if is_a {
            rt.block_on(timed(a()))
        } else {
            rt.block_on(timed(b()))
        };
        let used = process_cpu_secs() - cpu_before;
        let mut cpu = cpu.borrow_mut();
        if is_a {
            cpu.0 += used;
        } else {
            cpu.1 += used;
        }
        if let Some(flood) = flood {
            let stats = flood
                .last_connection(Duration::from_secs(10))
                .expect("the flood connection did not end");
            // (On the producer path: `acks` = sends received, `sent` =
            // receipts written; every send answered, none lost or repeated.)
            assert_eq!(stats.sent, args.count, "server sent {stats:?}");
            assert!(stats.acks >= args.count, "server saw {stats:?}");
            assert!(stats.peak_in_flight <= flood::WINDOW);
            if a_name.starts_with("producer") {
                assert_eq!(stats.acks, args.count, "server saw {stats:?}");
            }
        }
        args.count as f64 / elapsed.as_secs_f64()
    };
    if let Some(side) = args.only.as_deref() {
        // One side only, for profilers: no warm-up, no ratio.
        for _ in 0..args.rounds {
            let rate = match side {
                "crate" => run(true),
                "hand" => run(false),
                other => panic!("--only crate|hand, not {other}"),
            };
            println!("{side}: {rate:.0} ev/s");
        }
        return f64::NAN;
    }
    if !args.smoke {
        // Warm-up: connections, allocator, caches.
        run(true);
        run(false);
    }
    println!(
        "{:>5}  {:>14}  {:>14}  {:>7}",
        "round", "crate ev/s", "hand ev/s", "ratio"
    );
    *cpu.borrow_mut() = (0.0, 0.0);
    let mut ratios = Vec::new();
    for round in 0..args.rounds {
        let first_a = round % 2 == 0;
        let order = [first_a, !first_a, !first_a, first_a];
        let (mut sum_a, mut sum_b) = (0.0, 0.0);
        for is_a in order {
            let rate = run(is_a);
            if is_a {
                sum_a += rate;
            } else {
                sum_b += rate;
            }
        }
        let (ra, rb) = (sum_a / 2.0, sum_b / 2.0);
        ratios.push(ra / rb);
        println!(
            "{:>5}  {:>14.0}  {:>14.0}  {:>7.3}",
            round + 1,
            ra,
            rb,
            ra / rb
        );
    }
    let m = median(&mut ratios);
    println!(
        "median ratio (crate / hand): {m:.3}   (min {:.3}, max {:.3})",
        ratios[0],
        ratios[ratios.len() - 1]
    );
    let events = 2.0 * args.rounds as f64 * args.count as f64;
    let (a_cpu, b_cpu) = *cpu.borrow();
    println!(
        "client CPU per event (user+sys, all client threads): crate {:.2} us, hand {:.2} us",
        a_cpu / events * 1e6,
        b_cpu / events * 1e6
    );
    m
}

/// User + system CPU time of this process so far, less the flood server's
/// thread (`/proc/self/stat` and `/proc/self/task/*/stat`, in clock ticks of
/// 1/100 s).
fn process_cpu_secs() -> f64 {
    let mut total = stat_cpu_secs("/proc/self/stat").0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let (secs, comm) = stat_cpu_secs(&task.path().join("stat").to_string_lossy());
            if comm == "flood-server" {
                total -= secs;
            }
        }
    }
    total
}

/// (utime + stime in seconds, command name) of one `stat` file.
fn stat_cpu_secs(path: &str) -> (f64, String) {
    let Ok(stat) = std::fs::read_to_string(path) else {
        return (0.0, String::new());
    };
    let (head, after) = stat.rsplit_once(')').unwrap_or(("", ""));
    let comm = head
        .split_once('(')
        .map(|(_, c)| c)
        .unwrap_or("")
        .to_string();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15; `fields[0]` is field 3.
    ((ticks(11) + ticks(12)) / 100.0, comm)
}

async fn timed<F: Future<Output = Duration>>(f: F) -> Duration {
    tokio::time::timeout(RUN_TIMEOUT, f)
        .await
        .expect("a benchmark run took too long")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The crate's reader with automatic acks: connect, take `count` events.
async fn crate_reader(url: String, topic: Topic, count: u64, payload: usize) -> Duration {
    let client = Client::builder(url).build().unwrap();
    let start = Instant::now();
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .subscribe()
        .await
        .unwrap();
    let mut bytes = 0usize;
    for _ in 0..count {
        let event = events.try_next().await.unwrap().unwrap();
        bytes += event.payload().len();
    }
    let elapsed = start.elapsed();
    events.close().await.unwrap();
    assert_eq!(bytes as u64, count * payload as u64);
    elapsed
}

/// The crate's consumer, acking each event itself.
async fn crate_consumer_manual(url: String, topic: Topic, count: u64, payload: usize) -> Duration {
    let client = Client::builder(url).build().unwrap();
    let start = Instant::now();
    let mut events = client
        .consumer(topic, "bench")
        .ack_mode(AckMode::Manual)
        .subscribe()
        .await
        .unwrap();
    let mut bytes = 0usize;
    for _ in 0..count {
        let event = events.try_next().await.unwrap().unwrap();
        bytes += event.payload().len();
        event.ack().unwrap();
    }
    let elapsed = start.elapsed();
    events.close().await.unwrap();
    assert_eq!(bytes as u64, count * payload as u64);
    elapsed
}

/// The crate's producer, fed through its `Sink` (`forward`): up to
/// `max_in_flight` (1000) sends unconfirmed at once; the clock stops when
/// the last receipt is in.
async fn crate_producer(url: String, topic: Topic, count: u64, payload: usize) -> Duration {
    let body = bytes::Bytes::from(flood_payload(payload));
    let client = Client::builder(url).build().unwrap();
    let start = Instant::now();
    let producer = client.producer(topic).create().await.unwrap();
    futures::stream::iter(0..count)
        .map(|_| Ok(pulsar_eventstream::Message::new(body.clone())))
        .forward(producer.sink())
        .await
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(producer.stats().receipts, count);
    producer.close().await.unwrap();
    elapsed
}

/// The payload every producer sends: the flood server checks its length.
fn flood_payload(len: usize) -> Vec<u8> {
    vec![b'x'; len]
}

/// A send frame as the obvious hand-written producer encodes it.
#[derive(Serialize)]
struct HandSend<'a> {
    payload: String,
    context: &'a str,
}

/// A receipt as the obvious hand-written producer decodes it.
#[derive(Deserialize)]
#[allow(dead_code)]
struct HandReceipt {
    result: String,
    #[serde(rename = "messageId")]
    message_id: Option<String>,
    context: Option<String>,
}

/// The producer baseline: one connection, split; it feeds sends (payload
/// base64-encoded and the frame serialized per message, as a real producer
/// of varying messages must) while fewer than 1000 are unconfirmed, flushes,
/// then reads one receipt and checks it (`result` ok, `context` one of its
/// pending sends).
async fn hand_producer(url: String, count: u64, payload: usize) -> Duration {
    let body = flood_payload(payload);
    let start = Instant::now();
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let mut pending = std::collections::HashSet::new();
    let (mut sent, mut confirmed) = (0u64, 0u64);
    while confirmed < count {
        while sent < count && sent - confirmed < 1000 {
            let context = sent.to_string();
            let frame = serde_json::to_string(&HandSend {
                payload: STANDARD.encode(&body),
                context: &context,
            })
            .unwrap();
            tx.feed(Message::Text(frame.into())).await.unwrap();
            pending.insert(sent);
            sent += 1;
        }
        tx.flush().await.unwrap();
        let Message::Text(text) = rx.next().await.unwrap().unwrap() else {
            continue;
        };
        let receipt: HandReceipt = serde_json::from_str(&text).unwrap();
        assert_eq!(receipt.result, "ok", "send failed: {text}");
        let context: u64 = receipt.context.as_deref().unwrap().parse().unwrap();
        assert!(pending.remove(&context), "unknown context in {text}");
        confirmed += 1;
    }
    let elapsed = start.elapsed();
    let _ = tx.send(Message::Close(None)).await;
    while let Some(Ok(_)) = rx.next().await {}
    elapsed
}

/// A message frame as the obvious hand-written client decodes it.
#[derive(Deserialize)]
#[allow(dead_code)]
struct HandMessage {
    #[serde(rename = "messageId")]
    message_id: String,
    payload: String,
    #[serde(default)]
    properties: HashMap<String, String>,
    #[serde(rename = "publishTime")]
    publish_time: Option<String>,
    #[serde(rename = "redeliveryCount", default)]
    redelivery_count: u32,
}

#[derive(Serialize)]
struct HandAck<'a> {
    #[serde(rename = "messageId")]
    message_id: &'a str,
}

/// The baseline: tokio-tungstenite (Nagle off, as the crate), serde_json
/// into a struct, base64 into a `Vec`, one ack sent (written and flushed)
/// per message.
async fn hand_loop(url: String, count: u64, payload: usize) -> Duration {
    let start = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .unwrap();
    let mut bytes = 0usize;
    let mut n = 0;
    while n < count {
        let Message::Text(text) = ws.next().await.unwrap().unwrap() else {
            continue;
        };
        let msg: HandMessage = serde_json::from_str(&text).unwrap();
        let data = STANDARD.decode(&msg.payload).unwrap();
        bytes += data.len();
        let ack = serde_json::to_string(&HandAck {
            message_id: &msg.message_id,
        })
        .unwrap();
        ws.send(Message::Text(ack.into())).await.unwrap();
        n += 1;
    }
    let elapsed = start.elapsed();
    ws.close(None).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}
    assert_eq!(bytes as u64, count * payload as u64);
    elapsed
}

/// `--broker`: the same comparison against a real Pulsar (the standalone
/// broker of scripts/pulsar.sh), on a topic filled once beforehand.
mod broker {
    use super::*;

    pub fn run(rt: &tokio::runtime::Runtime, args: &Args) {
        let env_file = std::env::var("PULSAR_ENV_FILE").expect(
            "--broker needs PULSAR_ENV_FILE (scripts/pulsar.sh start prints its broker.env)",
        );
        let env = std::fs::read_to_string(&env_file).unwrap();
        let vars: HashMap<&str, &str> = env
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let ws_url = vars["PULSAR_WS_URL"].trim_end_matches('/').to_string();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let fresh = format!("bench-throughput-{nanos}-{}", std::process::id());
        // `--topic NAME` reuses a topic filled by an earlier run.
        let reuse = args.topic.clone();
        let name = reuse.clone().unwrap_or(fresh);
        let topic: Topic = format!("persistent://public/default/{name}")
            .parse()
            .unwrap();
        let (count, payload) = (args.count, args.payload);
        if args.scenario.as_deref() == Some("producer") {
            // Both sides publish to one fresh topic, alternated.
            let raw = format!("{ws_url}/ws/v2/producer/persistent/public/default/{name}");
            let producer = {
                let (url, topic) = (ws_url.clone(), topic.clone());
                move || crate_producer(url.clone(), topic.clone(), count, payload)
            };
            let hand = move || hand_producer(raw.clone(), count, payload);
            compare(
                rt,
                args,
                None,
                "broker: producer, Sink (1000 in flight)",
                "hand loop (producer endpoint, 1000 in flight)",
                producer,
                hand,
            );
            return;
        }
        if reuse.is_none() {
            let fill = rt.block_on(timed(produce(&ws_url, &name, count, payload)));
            println!(
            "filled {name} with {count} messages in {:.1} s ({:.0} msg/s, pipelined WebSocket producer)",
            fill.as_secs_f64(),
            count as f64 / fill.as_secs_f64()
        );
        }
        let raw =
            format!("{ws_url}/ws/v2/reader/persistent/public/default/{name}?messageId=earliest");
        let reader = {
            let (url, topic) = (ws_url.clone(), topic.clone());
            move || crate_reader(url.clone(), topic.clone(), count, payload)
        };
        let hand = move || hand_loop(raw.clone(), count, payload);
        compare(
            rt,
            args,
            None,
            "broker: reader, AckMode::Auto",
            "hand loop (reader endpoint)",
            reader,
            hand,
        );
    }

    /// Fills the topic through the WebSocket producer endpoint, keeping up
    /// to 1000 sends in flight (the producer baseline above).
    async fn produce(ws_url: &str, name: &str, count: u64, payload: usize) -> Duration {
        let url = format!("{ws_url}/ws/v2/producer/persistent/public/default/{name}");
        hand_producer(url, count, payload).await
    }
}
