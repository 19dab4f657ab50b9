//! The fuzz targets on stable Rust: every committed input (the seed corpus
//! in `fuzz/seeds/<target>/` and every input that once crashed, in
//! `fuzz/regressions/<target>/`) replayed through the same decoder entry
//! points `cargo fuzz` drives, plus a bounded, deterministic mutation loop
//! over the seeds. What libFuzzer found stays fixed in the normal test run.

use std::path::{Path, PathBuf};

use pulsar_eventstream::__fuzz;

type Target = (&'static str, fn(&[u8]));

const TARGETS: &[Target] = &[
    ("message_frame", __fuzz::message_frame),
    ("control_reply", __fuzz::control_reply),
    ("message_id", __fuzz::message_id),
    ("topic", __fuzz::topic),
    ("producer_receipt", __fuzz::producer_receipt),
    #[cfg(feature = "eightbyeight")]
    ("eightbyeight_event", __fuzz::eightbyeight_event),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every file under `fuzz/<kind>/<target>/`, sorted.
fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).expect("readable corpus file");
            (p, data)
        })
        .collect()
}

/// Runs one input, naming the file if it panics.
fn run(name: &str, target: fn(&[u8]), label: &str, data: &[u8]) {
    if std::panic::catch_unwind(|| target(data)).is_err() {
        panic!("fuzz target {name} panicked on {label}");
    }
}

#[test]
fn every_seed_replays_clean() {
    for &(name, target) in TARGETS {
        let seeds = inputs("seeds", name);
        assert!(seeds.len() >= 5, "{name}: a seed corpus is committed");
        for (path, data) in seeds {
            run(name, target, &path.display().to_string(), &data);
        }
    }
}

#[test]
fn every_past_crash_replays_clean() {
    for &(name, target) in TARGETS {
        for (path, data) in inputs("regressions", name) {
            run(name, target, &path.display().to_string(), &data);
        }
    }
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that steer JSON and base64 decoders to their edges.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\u0000",
    b"\\ud800",
    b":",
    b",",
    b"null",
    b"true",
    b"-1",
    b"1e999",
    b"\"messageId\":",
    b"\"payload\":",
    b"\"properties\":",
    b"\"endOfTopic\":",
    b"\"type\":",
    b"==",
    b"=",
    b"+/",
    b"\xff",
    b"\xc3\xa9",
    b"/",
    b"://",
    b"%",
    b"\n",
    b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
];

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..=rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(7) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.insert(at, rng.next() as u8),
            2 if !data.is_empty() => {
                let end = (at + rng.below(8) + 1).min(data.len());
                data.drain(at.min(end)..end);
            }
            3 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            4 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + rng.below(32) + 1).min(data.len());
                let chunk = data[start..end].to_vec();
                data.splice(at..at, chunk);
            }
            5 if !other.is_empty() => {
                let start = rng.below(other.len());
                data.truncate(at);
                data.extend_from_slice(&other[start..]);
            }
            _ => data.truncate(at),
        }
    }
}

#[test]
fn a_bounded_mutation_loop_over_the_seeds_stays_clean() {
    const ROUNDS: usize = 4000;
    for (t, &(name, target)) in TARGETS.iter().enumerate() {
        let mut corpus: Vec<Vec<u8>> = inputs("seeds", name)
            .into_iter()
            .chain(inputs("regressions", name))
            .map(|(_, data)| data)
            .collect();
        assert!(!corpus.is_empty(), "{name}: no seeds");
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
        for round in 0..ROUNDS {
            let mut data = corpus[rng.below(corpus.len())].clone();
            let other = corpus[rng.below(corpus.len())].clone();
            mutate(&mut rng, &mut data, &other);
            run(
                name,
                target,
                &format!("mutation round {round}: {data:?}"),
                &data,
            );
            // Keep some mutants as parents, so that mutations stack.
            if round % 16 == 0 && data.len() < 4096 {
                corpus.push(data);
            }
        }
    }
}
