//! Peak RSS of a process that drains N events of 400 B through the crate's
//! reader, from the OS's own accounting (`VmHWM` in /proc/self/status).
//!
//! The flood endpoint runs in this (parent) process; each measurement is a
//! child process (this same binary with `--child`) that only runs the
//! client, so the server's memory never counts.
//!
//! ```text
//! cargo bench --bench memory                      # N = 10k, 100k, 1M
//! cargo bench --bench memory -- --counts 100000,1000000
//! cargo bench --bench memory -- --slow            # the queue full: ~1000 events held
//! cargo bench --bench memory -- --producer        # a producer whose server stops answering
//! ```
//!
//! `--producer`: the child offers N messages of 400 B (each its own
//! allocation, as an application's would be) to a `Producer` through its
//! `Sink`; the server answers the first N/2 and then goes silent. The child
//! waits until the window is full and stalled, one more second, and reports
//! how many messages the producer took from the application and its peak
//! RSS: bounded by the window (1000 unconfirmed sends), not by N.

use std::process::Command;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use pulsar_eventstream::{Client, Message, Position, Topic};

#[path = "support/flood.rs"]
mod flood;

const PAYLOAD: usize = 400;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let url = args[i + 1].clone();
        let count: u64 = args[i + 2].parse().unwrap();
        let slow = args.iter().any(|a| a == "--slow");
        child(url, count, slow);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--child-producer") {
        child_producer(args[i + 1].clone(), args[i + 2].parse().unwrap());
        return;
    }
    let bench = args.iter().any(|a| a == "--bench");
    let counts: Vec<u64> = match args.iter().position(|a| a == "--counts") {
        Some(i) => args[i + 1].split(',').map(|c| c.parse().unwrap()).collect(),
        None if bench => vec![10_000, 100_000, 1_000_000],
        None => vec![2_000], // smoke run under `cargo test --all-targets`
    };
    // `--slow`: the application pauses 20 ms every 1000 events, so that the
    // server fills the window and the hand-off queue holds ~1000 events.
    let slow = args.iter().any(|a| a == "--slow");
    let flood = flood::Flood::start();
    let exe = std::env::current_exe().unwrap();
    if args.iter().any(|a| a == "--producer") {
        producer_rows(&flood, &exe, &counts);
        return;
    }
    println!(
        "peak RSS of a client process draining N events of {PAYLOAD} B (reader, AckMode::Auto{})",
        if slow { ", slow application" } else { "" }
    );
    println!(
        "{:>10}  {:>14}  {:>14}  {:>10}  {:>12}",
        "N", "RSS at start", "peak RSS", "time", "events/s"
    );
    for count in counts {
        let mut cmd = Command::new(&exe);
        cmd.args(["--child", &flood.url(), &count.to_string()]);
        if slow {
            cmd.arg("--slow");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stats = flood
            .last_connection(Duration::from_secs(10))
            .expect("the flood connection did not end");
        assert_eq!(stats.sent, count);
        let text = String::from_utf8(out.stdout).unwrap();
        let field = |name: &str| -> f64 {
            text.split_whitespace()
                .skip_while(|w| *w != name)
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        };
        let (start_kib, peak_kib, secs) = (field("start_kib"), field("peak_kib"), field("secs"));
        println!(
            "{:>10}  {:>10.1} MiB  {:>10.1} MiB  {:>8.2} s  {:>12.0}",
            count,
            start_kib / 1024.0,
            peak_kib / 1024.0,
            secs,
            count as f64 / secs
        );
    }
}

/// The measured process: drain `count` events, print peak RSS.
fn child(url: String, count: u64, slow: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let start_kib = vm_hwm_kib();
    let start = Instant::now();
    rt.block_on(async {
        let client = Client::builder(url).build().unwrap();
        let topic: Topic = flood::topic(count, PAYLOAD).parse().unwrap();
        let mut events = client
            .reader(topic)
            .position(Position::Earliest)
            .subscribe()
            .await
            .unwrap();
        let mut bytes = 0u64;
        for n in 0..count {
            if slow && n % 1000 == 999 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let event = tokio::time::timeout(Duration::from_secs(60), events.try_next())
                .await
                .expect("no event for 60 s")
                .unwrap()
                .unwrap();
            bytes += event.payload().len() as u64;
        }
        events.close().await.unwrap();
        assert_eq!(bytes, count * PAYLOAD as u64);
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "start_kib {start_kib} peak_kib {} secs {secs}",
        vm_hwm_kib()
    );
}

/// The `--producer` table: one child per N, the server answering N/2.
fn producer_rows(flood: &flood::Flood, exe: &std::path::Path, counts: &[u64]) {
    println!(
        "peak RSS of a client process offering N messages of {PAYLOAD} B to a Producer \
         (Sink, 1000 in flight) whose server answers the first N/2 and then stops answering"
    );
    println!(
        "{:>10}  {:>10}  {:>14}  {:>14}  {:>9}",
        "N", "taken", "RSS at start", "peak RSS", "in flight"
    );
    for &count in counts {
        let out = Command::new(exe)
            .args(["--child-producer", &flood.url(), &count.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stats = flood
            .last_connection(Duration::from_secs(10))
            .expect("the flood connection did not end");
        let text = String::from_utf8(out.stdout).unwrap();
        let field = |name: &str| -> u64 {
            text.split_whitespace()
                .skip_while(|w| *w != name)
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        };
        let (taken, in_flight) = (field("taken"), field("in_flight"));
        // What the server saw: the answered half, then exactly one window
        // of sends it never answered; the application kept the rest.
        assert_eq!(stats.sent, count / 2, "server: {stats:?}");
        assert_eq!(stats.acks, count / 2 + in_flight, "server: {stats:?}");
        assert_eq!(in_flight, 1000);
        assert!(taken <= count / 2 + in_flight + 1, "taken {taken}");
        println!(
            "{:>10}  {:>10}  {:>10.1} MiB  {:>10.1} MiB  {:>9}",
            count,
            taken,
            field("start_kib") as f64 / 1024.0,
            field("peak_kib") as f64 / 1024.0,
            in_flight
        );
    }
}

/// The measured process of `--producer`: offer `count` messages, wait
/// until the silent server has stalled the window, print what was taken.
fn child_producer(url: String, count: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let start_kib = vm_hwm_kib();
    let (taken, in_flight) = rt.block_on(async {
        let client = Client::builder(url).build().unwrap();
        let topic: Topic = flood::topic(count / 2, PAYLOAD).parse().unwrap();
        let producer = client.producer(topic).create().await.unwrap();
        let taken = Arc::new(AtomicU64::new(0));
        let source = {
            let taken = taken.clone();
            futures::stream::iter(0..count).map(move |_| {
                taken.fetch_add(1, Ordering::Relaxed);
                Ok(Message::new(vec![b'x'; PAYLOAD]))
            })
        };
        let sink = producer.sink();
        let forward = tokio::spawn(source.forward(sink));
        // The stall: the answered half is through and the window is full.
        let deadline = Instant::now() + Duration::from_secs(120);
        while producer.stats().receipts < count / 2 || producer.in_flight() < 1000 {
            assert!(Instant::now() < deadline, "the producer never stalled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A second of silence: time for anything unbounded to pile up.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!forward.is_finished());
        (taken.load(Ordering::Relaxed), producer.in_flight())
    });
    println!(
        "start_kib {start_kib} peak_kib {} taken {taken} in_flight {in_flight}",
        vm_hwm_kib()
    );
    // Exit without waiting for receipts that will never come.
    std::process::exit(0);
}

/// Peak resident set size of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}
