//! Every small example runs its `--demo` against an in-process MockPulsar and
//! shows what it promises. Each example is included as a module and its
//! `run()` called with arguments parsed by its own `clap` definition.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use clap::Parser;

#[path = "../examples/batching.rs"]
#[allow(dead_code)]
mod batching;
#[path = "../examples/checkpoint.rs"]
#[allow(dead_code)]
mod checkpoint;
#[path = "../examples/consumer_manual_ack.rs"]
#[allow(dead_code)]
mod consumer_manual_ack;
#[path = "../examples/handler.rs"]
#[allow(dead_code)]
mod handler;
#[path = "../examples/reader.rs"]
#[allow(dead_code)]
mod reader;
#[path = "../examples/reconnect_policy.rs"]
#[allow(dead_code)]
mod reconnect_policy;
#[path = "../examples/typed_events.rs"]
#[allow(dead_code)]
mod typed_events;

/// Runs an example's demo within a bound: a hang fails the test.
async fn bounded<T>(run: impl Future<Output = Result<T, String>>) -> T {
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the example did not finish within 30 s")
        .expect("the example failed")
}

#[tokio::test]
async fn reader_prints_every_event_from_the_earliest() {
    let out = bounded(reader::run(reader::Args::parse_from(["reader", "--demo"]))).await;
    assert_eq!(
        out.lines.len(),
        reader::DEMO_EVENTS as usize,
        "{:#?}",
        out.lines
    );
    for (n, line) in (1..).zip(&out.lines) {
        // ledger:entry  publishTime  payload
        let fields: Vec<&str> = line.split("  ").collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert!(fields[0].ends_with(&format!(":{}", n - 1)), "{line}");
        assert!(fields[1].starts_with("20"), "a publish time: {line}");
        assert_eq!(fields[2], format!(r#"{{"order":{n},"amount":{}}}"#, n * 10));
    }
}

#[tokio::test]
async fn reader_stops_after_count() {
    let args = reader::Args::parse_from(["reader", "--demo", "--count", "2"]);
    let out = bounded(reader::run(args)).await;
    assert_eq!(out.lines.len(), 2);
}

#[tokio::test]
async fn manual_acks_follow_the_commit_and_a_failed_commit_is_redelivered() {
    let args = consumer_manual_ack::Args::parse_from(["consumer_manual_ack", "--demo"]);
    let out = bounded(consumer_manual_ack::run(args)).await;
    let expected: BTreeMap<String, u64> = (1..=consumer_manual_ack::DEMO_PAYMENTS as u64)
        .map(|n| (format!("p-{n}"), n * 1000))
        .collect();
    assert_eq!(out.store.rows, expected, "{:#?}", out.lines);
    let lines = &out.lines;
    let failed = lines
        .iter()
        .position(|l| l.starts_with("commit of p-3 failed"));
    let stored = lines.iter().position(|l| l == "stored p-3 (redelivery 1)");
    assert!(failed.is_some() && stored > failed, "{lines:#?}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("skipped") && l.ends_with("not a payment")));
    // 5 payments and the bad payload acked once each, the failed commit nacked once.
    assert_eq!(lines.last().unwrap(), "server: 6 acks, 1 nacks, backlog 0");
}

#[tokio::test]
async fn handler_runs_concurrently_in_order_per_key() {
    let out = bounded(handler::run(handler::Args::parse_from([
        "handler", "--demo",
    ])))
    .await;
    assert_eq!(
        out.report.succeeded,
        handler::DEMO_EVENTS as u64,
        "{:#?}",
        out.lines
    );
    assert_eq!(out.report.failed + out.report.panicked, 0);
    assert!(
        (1..=3).contains(&out.report.max_in_flight),
        "{:?}",
        out.report
    );
    let seqs: BTreeSet<u64> = out.handled.iter().map(|(_, seq)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=handler::DEMO_EVENTS as u64).collect(),
        "each event once"
    );
    for key in handler::DEMO_KEYS {
        let order: Vec<u64> = out
            .handled
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, s)| *s)
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{key}: {order:?}");
        assert_eq!(order.len(), 3, "{key}: {order:?}");
    }
    assert_eq!(out.lines.last().unwrap(), "server: 12 acks");
}

#[tokio::test]
async fn reconnect_policy_is_asked_and_the_reader_resumes_without_gaps() {
    let args = reconnect_policy::Args::parse_from(["reconnect_policy", "--demo"]);
    let out = bounded(reconnect_policy::run(args)).await;
    let events: Vec<&str> = out
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    let expected: Vec<String> = (1..=reconnect_policy::DEMO_EVENTS)
        .map(|n| format!("order {n}"))
        .collect();
    assert_eq!(events, expected, "{:#?}", out.lines);
    let at = |prefix: &str| {
        out.lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting with {prefix:?}: {:#?}", out.lines))
    };
    let dropped = at("demo: the server drops the connection");
    let lost = at("connection lost: ");
    let reconnecting = at("reconnecting: attempt 1 in 50ms");
    let connected = at("connected (connection #2)");
    let fourth = at("event: order 4");
    assert!(at("event: order 3") < dropped, "{:#?}", out.lines);
    assert!(
        dropped < lost && lost < reconnecting && reconnecting < connected && connected < fourth
    );
    assert_eq!(out.policy.len(), 1, "{:#?}", out.policy);
    assert!(
        out.policy[0].starts_with("policy: attempt 1 after"),
        "{:?}",
        out.policy
    );
    assert!(out.policy[0].ends_with(": Some(50ms)"), "{:?}", out.policy);
}

#[tokio::test]
async fn batches_are_bounded_sorted_by_event_time_and_acked() {
    let out = bounded(batching::run(batching::Args::parse_from([
        "batching", "--demo",
    ])))
    .await;
    let sizes: Vec<usize> = out.batches.iter().map(Vec::len).collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        batching::DEMO_EVENTS,
        "{:#?}",
        out.lines
    );
    assert!(sizes.iter().all(|n| (1..=4).contains(n)), "{sizes:?}");
    for batch in &out.batches {
        assert!(
            batch.windows(2).all(|w| w[0] <= w[1]),
            "sorted by event time: {batch:?}"
        );
    }
    // Every event written once: nine 8x8 times and the heartbeat's publish time.
    let mut all: Vec<i64> = out.batches.concat();
    all.sort();
    let base = 1_763_888_400;
    assert_eq!(all, (0..=9).map(|s| base + s).collect::<Vec<_>>());
    assert!(
        out.lines.iter().any(|l| l == "  09:00:00 ClientCheck"),
        "{:#?}",
        out.lines
    );
    assert_eq!(out.lines.last().unwrap(), "server: 10 acks");
}

#[tokio::test]
async fn batches_close_on_count_and_on_time() {
    let args = batching::Args::parse_from([
        "batching",
        "--demo",
        "--max-batch",
        "3",
        "--max-wait-ms",
        "100",
    ]);
    let out = bounded(batching::run(args)).await;
    assert!(
        out.batches.iter().all(|b| b.len() <= 3),
        "{:?}",
        out.batches
    );
    assert_eq!(out.batches.concat().len(), batching::DEMO_EVENTS);
}

#[tokio::test]
async fn typed_events_match_on_the_enum() {
    let args = typed_events::Args::parse_from(["typed_events", "--demo"]);
    let out = bounded(typed_events::run(args)).await;
    assert_eq!(
        out.lines,
        [
            "09:00:00 agent agA1 now in state 1",
            "09:00:07 int-1: new call from Jane Doe",
            "09:00:10 int-1: queued in queue 117",
            "09:01:10 int-1: on hold: true",
            "09:03:10 int-1: ended by CUSTOMER, disposition SALE",
            "--:--:-- AgentSkillChanged",
            "--:--:-- not modelled: ClientCheck (raw JSON kept)",
        ]
    );
}

#[tokio::test]
async fn checkpointed_reader_continues_after_a_restart() {
    let args = checkpoint::Args::parse_from(["checkpoint", "--demo"]);
    let out = bounded(checkpoint::run(args)).await;
    let order = |n: u64| format!("order {n}");
    assert_eq!(out.runs.len(), 2, "{:#?}", out.lines);
    assert_eq!(
        out.runs[0],
        (1..=4).map(order).collect::<Vec<_>>(),
        "{:#?}",
        out.lines
    );
    assert_eq!(
        out.runs[1],
        (5..=8).map(order).collect::<Vec<_>>(),
        "{:#?}",
        out.lines
    );
    assert!(out
        .lines
        .contains(&"no checkpoint yet: starting at the earliest event".to_string()));
    // The second run starts right after the first run's last event (entry 3).
    let resumed = out
        .lines
        .iter()
        .find(|l| l.starts_with("checkpoint: continuing after"));
    assert!(
        resumed.is_some_and(|l| l.ends_with(":3")),
        "{:#?}",
        out.lines
    );
}
