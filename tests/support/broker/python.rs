//! Python interop for the real-broker tests: the official `pulsar-client` (binary protocol)
//! driven through `scripts/pulsar/py_client.py`, to produce messages the crate reads and to
//! consume what the crate publishes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::b64::base64_decode;
use super::names::unique_suffix;
use super::{Broker, START_HINT};

impl Broker {
    /// Produces `count` messages with the Python client; returns their ids in order.
    /// On the auth instance the admin token is used. Panics on failure.
    pub async fn python_produce(
        &self,
        topic: &str,
        count: usize,
        opts: &ProduceOptions,
    ) -> Vec<ProducedId> {
        let mut args: Vec<String> = vec![
            "produce".into(),
            "--service-url".into(),
            self.broker_url.clone(),
            "--topic".into(),
            topic.into(),
            "--count".into(),
            count.to_string(),
        ];
        if let Some(k) = &opts.key {
            args.push("--key".into());
            args.push(k.clone());
        }
        for (k, v) in &opts.properties {
            args.push("--property".into());
            args.push(format!("{k}={v}"));
        }
        if let Some(t) = opts.event_time_ms {
            args.push("--event-time-ms".into());
            args.push(t.to_string());
        }
        if opts.batching {
            args.push("--batching".into());
        }
        let mut tmp: Option<PathBuf> = None;
        match &opts.payload {
            Payload::Prefix(p) => {
                args.push("--payload-prefix".into());
                args.push(p.clone());
            }
            Payload::File(f) => {
                args.push("--payload-file".into());
                args.push(f.display().to_string());
            }
            Payload::Bytes(b) => {
                let f = std::env::temp_dir().join(format!(
                    "pulsar-payload-{}",
                    unique_suffix().replace('-', "")
                ));
                std::fs::write(&f, b).expect("write payload file");
                args.push("--payload-file".into());
                args.push(f.display().to_string());
                tmp = Some(f);
            }
        }
        let out = self.run_python(args, Duration::from_secs(120)).await;
        if let Some(f) = tmp {
            let _ = std::fs::remove_file(f);
        }
        let (code, stdout, stderr) = out;
        if code != Some(0) {
            panic!("py_client produce failed ({code:?}):\n{stdout}\n{stderr}");
        }
        stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("bad py_client output line {l:?}: {e}"));
                ProducedId::from_json(&v)
            })
            .collect()
    }

    /// Subscribes with the Python client (initial position earliest, Exclusive) and receives up
    /// to `count` messages within `timeout`, acking each. Returns what arrived (possibly fewer).
    /// Panics if the client itself fails.
    pub async fn python_consume(
        &self,
        topic: &str,
        subscription: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<ConsumedMessage> {
        let args: Vec<String> = vec![
            "consume".into(),
            "--service-url".into(),
            self.broker_url.clone(),
            "--topic".into(),
            topic.into(),
            "--subscription".into(),
            subscription.into(),
            "--count".into(),
            count.to_string(),
            "--timeout-s".into(),
            format!("{:.3}", timeout.as_secs_f64()),
        ];
        let (code, stdout, stderr) = self
            .run_python(args, timeout + Duration::from_secs(90))
            .await;
        // 0: all arrived; 3: fewer than `count` arrived in time (still a valid result).
        if code != Some(0) && code != Some(3) {
            panic!("py_client consume failed ({code:?}):\n{stdout}\n{stderr}");
        }
        stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("bad py_client output line {l:?}: {e}"));
                ConsumedMessage::from_json(&v)
            })
            .collect()
    }

    async fn run_python(
        &self,
        mut args: Vec<String>,
        timeout: Duration,
    ) -> (Option<i32>, String, String) {
        let python = std::env::var("PULSAR_PYTHON")
            .unwrap_or_else(|_| panic!("PULSAR_PYTHON is not set: {START_HINT}"));
        if let Some(t) = &self.tokens.admin {
            args.push("--token".into());
            args.push(t.clone());
        }
        let mut cmd = tokio::process::Command::new(&python);
        cmd.arg(py_client_path())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let out = tokio::time::timeout(timeout, cmd.output())
            .await
            .unwrap_or_else(|_| panic!("py_client {} timed out after {timeout:?}", args[0]))
            .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Path of scripts/pulsar/py_client.py: `$PULSAR_PY_CLIENT` if set, else the one in this package.
pub fn py_client_path() -> PathBuf {
    match std::env::var_os("PULSAR_PY_CLIENT") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pulsar/py_client.py"),
    }
}

/// What the Python producer sends as payload.
#[derive(Clone, Debug)]
pub enum Payload {
    /// `"<prefix><i>"` for message i = 0..count.
    Prefix(String),
    /// The bytes of this file, for every message.
    File(PathBuf),
    /// These bytes, for every message.
    Bytes(Vec<u8>),
}

/// Options of [`Broker::python_produce`].
#[derive(Clone, Debug)]
pub struct ProduceOptions {
    pub key: Option<String>,
    pub properties: Vec<(String, String)>,
    pub event_time_ms: Option<u64>,
    pub payload: Payload,
    /// Producer batching (off by default: one entry per message).
    pub batching: bool,
}

impl Default for ProduceOptions {
    fn default() -> Self {
        ProduceOptions {
            key: None,
            properties: Vec::new(),
            event_time_ms: None,
            payload: Payload::Prefix("msg-".into()),
            batching: false,
        }
    }
}

/// A message id as the Python client reports it. Compare with the WebSocket ids by
/// (ledger_id, entry_id, batch_index): the C++ client serializes `MessageIdData` without the
/// `batch_size` field that the Java side writes, so the base64 strings differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducedId {
    pub message_id_b64: String,
    pub ledger_id: u64,
    pub entry_id: u64,
    pub partition: i32,
    pub batch_index: i32,
}

impl ProducedId {
    fn from_json(v: &Value) -> ProducedId {
        ProducedId {
            message_id_b64: v["message_id_b64"].as_str().unwrap_or_default().to_string(),
            ledger_id: v["ledger_id"].as_u64().unwrap_or_default(),
            entry_id: v["entry_id"].as_u64().unwrap_or_default(),
            partition: v["partition"].as_i64().unwrap_or(-1) as i32,
            batch_index: v["batch_index"].as_i64().unwrap_or(-1) as i32,
        }
    }
}

/// A message received by the Python consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedMessage {
    pub payload: Vec<u8>,
    /// `None` when the message has no key (or an empty one: the Python client cannot tell).
    pub key: Option<String>,
    pub properties: BTreeMap<String, String>,
    pub event_time_ms: Option<u64>,
    pub publish_time_ms: u64,
    pub redelivery_count: u64,
    pub id: ProducedId,
}

impl ConsumedMessage {
    fn from_json(v: &Value) -> ConsumedMessage {
        let payload_b64 = v["payload_b64"].as_str().unwrap_or_default();
        ConsumedMessage {
            payload: base64_decode(payload_b64)
                .unwrap_or_else(|| panic!("bad base64 payload {payload_b64:?}")),
            key: v["key"].as_str().map(str::to_string),
            properties: v["properties"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            event_time_ms: v["event_time_ms"].as_u64(),
            publish_time_ms: v["publish_time_ms"].as_u64().unwrap_or_default(),
            redelivery_count: v["redelivery_count"].as_u64().unwrap_or_default(),
            id: ProducedId::from_json(v),
        }
    }
}
