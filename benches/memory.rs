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
//! ```

use std::process::Command;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use pulsar_eventstream::{Client, Position, Topic};

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
