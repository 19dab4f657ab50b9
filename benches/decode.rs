//! Per-event CPU cost of the crate's hot paths: decoding a server frame
//! (JSON envelope, message id, base64 payload into `Bytes`), decoding a
//! message id, encoding an ack, parsing a `publishTime`, and the stream's
//! per-event instruments (without a `metrics` recorder, and with the
//! Prometheus one). See docs/performance.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pulsar_eventstream::{__bench, MessageId};

#[path = "support/frames.rs"]
mod frames;

fn frame_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_decode");
    for (name, len) in [("200B", 200), ("2KiB", 2048), ("64KiB", 64 * 1024)] {
        let frame = frames::frame_with_payload(123_456, 789_012, len);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(name), &frame, |b, frame| {
            b.iter(|| {
                let (id, payload) = __bench::decode_frame(black_box(frame)).unwrap();
                black_box((id, payload))
            })
        });
    }
    group.finish();
}

fn message_id_decode(c: &mut Criterion) {
    let small = frames::message_id(3, 0);
    let large = MessageId::from_parts(123_456_789, 987_654, 2, 5, 10)
        .as_str()
        .to_string();
    let mut group = c.benchmark_group("message_id_decode");
    for (name, wire) in [("small", &small), ("partitioned_batch", &large)] {
        group.bench_with_input(BenchmarkId::from_parameter(name), wire, |b, wire| {
            b.iter(|| black_box(MessageId::from_wire(black_box(wire)).unwrap()))
        });
    }
    group.finish();
}

fn ack_encode(c: &mut Criterion) {
    let wire = frames::message_id(123_456, 789_012);
    c.bench_function("ack_encode", |b| {
        b.iter(|| black_box(__bench::ack_frame(black_box(&wire))))
    });
}

fn publish_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("publish_time");
    for (name, text) in [
        ("utc_millis", "2024-05-01T10:00:00.967Z"),
        ("offset_millis", "2024-05-01T11:00:00.967+01:00"),
        ("space_no_offset", "2016-08-30 16:45:57.785"),
    ] {
        group.bench_with_input(BenchmarkId::from_parameter(name), text, |b, text| {
            b.iter(|| black_box(__bench::parse_time(black_box(text))))
        });
    }
    group.finish();
}

/// The instruments' per-event work: `event_received` alone (it parses the
/// `publishTime` and reads the clock for the latency histogram), and all of
/// a reader event's instruments. "noop": no `metrics` recorder installed
/// (the handles discard); "prometheus": the handles of a Prometheus
/// recorder, as an application that exports metrics has them.
fn instruments(c: &mut Criterion) {
    let time = Some(frames::PUBLISH_TIME);
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let made = [
        ("noop", __bench::Instruments::new("bench")),
        (
            "prometheus",
            metrics::with_local_recorder(&prometheus, || __bench::Instruments::new("bench")),
        ),
    ];
    let mut group = c.benchmark_group("instruments");
    for (name, instruments) in &made {
        group.bench_function(BenchmarkId::new("event_received", name), |b| {
            b.iter(|| instruments.event_received(black_box(time)))
        });
        group.bench_function(BenchmarkId::new("read_path_event", name), |b| {
            b.iter(|| instruments.read_path_event(black_box(700), black_box(time)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    frame_decode,
    message_id_decode,
    ack_encode,
    publish_time,
    instruments
);
criterion_main!(benches);
