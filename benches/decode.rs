//! Per-event CPU cost of the crate's hot paths: decoding a server frame
//! (JSON envelope, message id, base64 payload into `Bytes`), decoding a
//! message id, and encoding an ack. See docs/performance.md.

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

criterion_group!(benches, frame_decode, message_id_decode, ack_encode);
criterion_main!(benches);
