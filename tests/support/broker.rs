//! Shared helpers for the real-broker tests (`tests/pulsar_*.rs`).
//!
//! Include it with
//!
//! ```ignore
//! #[path = "support/broker.rs"]
//! mod broker;
//! ```
//!
//! It deliberately does not use the crate under test: only std, tokio and serde_json, plus a tiny
//! HTTP/1.1 client for Pulsar's admin REST API. The brokers are started by `scripts/test.sh`
//! (through `scripts/pulsar.sh`), which passes their coordinates to the tests in these variables:
//!
//! | variable               | meaning                                                        |
//! |------------------------|----------------------------------------------------------------|
//! | `PULSAR_ENV_FILE`      | `target/pulsar/default/broker.env` (no auth)                   |
//! | `PULSAR_AUTH_ENV_FILE` | `target/pulsar/auth/broker.env` (token auth + authorization)   |
//! | `PULSAR_PYTHON`        | python of the venv with `pulsar-client` (see `py_client.py`)   |
//! | `PULSAR_SCRIPT`        | absolute path of `scripts/pulsar.sh` (for `restart_broker`)    |
//!
//! See docs/testing.md.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Error of the harness itself (broker not started, admin call failed to connect, ...).
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerError(pub String);

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Debug prints the plain message so that `.expect()` / `.unwrap()` failures read well.
impl fmt::Debug for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BrokerError {}

fn err(msg: impl Into<String>) -> BrokerError {
    BrokerError(msg.into())
}

/// JWTs of the `auth` instance (all `None` on the default instance).
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    /// Role `admin`: super-user.
    pub admin: Option<String>,
    /// Role `reader`: may consume (consumer, reader) in `public/default`, may not produce.
    pub reader: Option<String>,
    /// Role `nobody`: a valid token without any permission (handshake gives 403).
    pub noperm: Option<String>,
    /// Signed with another key (handshake gives 401).
    pub bad: Option<String>,
}

/// A running broker started by `scripts/pulsar.sh`.
#[derive(Clone, Debug)]
pub struct Broker {
    /// `default` or `auth`.
    pub instance: String,
    /// `ws://127.0.0.1:<port>`: prefix of `/ws/v2/...`.
    pub ws_url: String,
    /// `http://127.0.0.1:<port>`: prefix of `/admin/v2/...` (same port as the WebSocket API).
    pub admin_url: String,
    /// `pulsar://127.0.0.1:<port>`: binary protocol, for the Python client.
    pub broker_url: String,
    pub tokens: Tokens,
    /// The broker.env file this was read from.
    pub env_file: PathBuf,
    /// Data dir of the instance (kept by `restart_broker`).
    pub data_dir: PathBuf,
    /// Broker log file, for diagnostics.
    pub log_file: PathBuf,
}

const START_HINT: &str =
    "start the broker with scripts/test.sh (or by hand: scripts/pulsar.sh [--auth] start, then \
     export PULSAR_ENV_FILE=$PWD/target/pulsar/default/broker.env \
     PULSAR_AUTH_ENV_FILE=$PWD/target/pulsar/auth/broker.env \
     PULSAR_PYTHON=$(scripts/pulsar/venv.sh) PULSAR_SCRIPT=$PWD/scripts/pulsar.sh)";

impl Broker {
    /// The `default` instance (no authentication), from `$PULSAR_ENV_FILE`.
    pub fn from_env() -> Result<Broker, BrokerError> {
        Self::from_var("PULSAR_ENV_FILE")
    }

    /// The `auth` instance (token authentication and authorization), from `$PULSAR_AUTH_ENV_FILE`.
    pub fn auth_from_env() -> Result<Broker, BrokerError> {
        Self::from_var("PULSAR_AUTH_ENV_FILE")
    }

    fn from_var(var: &str) -> Result<Broker, BrokerError> {
        let path = match std::env::var_os(var) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => return Err(err(format!("{var} is not set: {START_HINT}"))),
        };
        Self::from_file(&path)
    }

    /// Reads a broker.env file written by `scripts/pulsar.sh`.
    pub fn from_file(path: &Path) -> Result<Broker, BrokerError> {
        let vars = read_env_file(path)
            .map_err(|e| err(format!("cannot read {}: {e}; {START_HINT}", path.display())))?;
        let get = |k: &str| -> Result<String, BrokerError> {
            vars.get(k)
                .cloned()
                .ok_or_else(|| err(format!("{} has no {k}; {START_HINT}", path.display())))
        };
        Ok(Broker {
            instance: vars
                .get("PULSAR_INSTANCE")
                .cloned()
                .unwrap_or_else(|| "default".into()),
            ws_url: get("PULSAR_WS_URL")?,
            admin_url: get("PULSAR_ADMIN_URL")?,
            broker_url: get("PULSAR_BROKER_URL")?,
            tokens: Tokens {
                admin: vars.get("PULSAR_ADMIN_TOKEN").cloned(),
                reader: vars.get("PULSAR_READER_TOKEN").cloned(),
                noperm: vars.get("PULSAR_NOPERM_TOKEN").cloned(),
                bad: vars.get("PULSAR_BAD_TOKEN").cloned(),
            },
            env_file: path.to_path_buf(),
            data_dir: vars
                .get("PULSAR_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_default(),
            log_file: vars
                .get("PULSAR_LOG_FILE")
                .map(PathBuf::from)
                .unwrap_or_default(),
        })
    }

    /// Pid of the broker process, read fresh from the env file (it changes on restart).
    pub fn pid(&self) -> Option<u32> {
        read_env_file(&self.env_file)
            .ok()?
            .get("PULSAR_PID")?
            .parse()
            .ok()
    }

    /// `true` for the instance with authentication on.
    pub fn is_auth(&self) -> bool {
        self.instance == "auth"
    }

    /// A fresh topic name: `persistent://public/default/<prefix>-<nanos>-<pid>-<n>`.
    pub fn unique_topic(&self, prefix: &str) -> String {
        unique_topic(prefix)
    }

    /// `ws://127.0.0.1:<port>` + `path` (`path` starts with `/ws/...`).
    pub fn ws(&self, path: &str) -> String {
        format!("{}{}", self.ws_url, path)
    }

    // ------------------------------------------------------------------------------------------
    // Admin REST API. On the auth instance these use the admin token.
    // ------------------------------------------------------------------------------------------

    /// Any admin request. `path` starts with `/admin/...`; `token` overrides the default token
    /// (`Some("")` sends no token at all).
    pub async fn admin_request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<HttpResponse, BrokerError> {
        let token = match token {
            Some("") => None,
            Some(t) => Some(t),
            None => self.tokens.admin.as_deref(),
        };
        http_request(
            method,
            &format!("{}{}", self.admin_url, path),
            token,
            body,
            Duration::from_secs(60),
        )
        .await
    }

    pub async fn admin_get(&self, path: &str) -> Result<HttpResponse, BrokerError> {
        self.admin_request("GET", path, None, None).await
    }

    pub async fn admin_put(
        &self,
        path: &str,
        body: Option<&Value>,
    ) -> Result<HttpResponse, BrokerError> {
        self.admin_request("PUT", path, None, body).await
    }

    pub async fn admin_post(
        &self,
        path: &str,
        body: Option<&Value>,
    ) -> Result<HttpResponse, BrokerError> {
        self.admin_request("POST", path, None, body).await
    }

    pub async fn admin_delete(&self, path: &str) -> Result<HttpResponse, BrokerError> {
        self.admin_request("DELETE", path, None, None).await
    }

    /// `GET /admin/v2/<topic path>/stats`. Panics unless 200.
    pub async fn topic_stats(&self, topic: &str) -> Value {
        let path = format!("/admin/v2/{}/stats", topic_path(topic));
        let resp = self.admin_get(&path).await.expect("admin GET stats");
        resp.expect_success(&format!("GET {path}"));
        resp.json()
            .unwrap_or_else(|e| panic!("GET {path}: {e}: {}", resp.text()))
    }

    /// `msgBacklog` of one subscription; `None` when the topic has no such subscription.
    pub async fn subscription_backlog(&self, topic: &str, subscription: &str) -> Option<u64> {
        self.topic_stats(topic).await["subscriptions"][subscription]["msgBacklog"].as_u64()
    }

    /// Polls `subscription_backlog` until it equals `expected` (acks reach the broker
    /// asynchronously). Returns the last value seen; check it.
    pub async fn wait_for_backlog(
        &self,
        topic: &str,
        subscription: &str,
        expected: u64,
        timeout: Duration,
    ) -> Option<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.subscription_backlog(topic, subscription).await;
            if got == Some(expected) || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Names of the subscriptions on a topic.
    pub async fn subscriptions(&self, topic: &str) -> Vec<String> {
        match self.topic_stats(topic).await["subscriptions"].as_object() {
            Some(m) => m.keys().cloned().collect(),
            None => Vec::new(),
        }
    }

    /// `PUT .../unload`: the broker closes the topic, so every producer/consumer/reader on it
    /// (the WebSocket service's too) is disconnected and reconnects. Panics unless 2xx.
    pub async fn unload(&self, topic: &str) {
        let path = format!("/admin/v2/{}/unload", topic_path(topic));
        let resp = self.admin_put(&path, None).await.expect("admin PUT unload");
        resp.expect_success(&format!("PUT {path}"));
    }

    /// Creates a non-partitioned topic. Panics unless 2xx or 409 (already exists).
    pub async fn create_topic(&self, topic: &str) {
        let path = format!("/admin/v2/{}", topic_path(topic));
        let resp = self.admin_put(&path, None).await.expect("admin PUT topic");
        if resp.status != 409 {
            resp.expect_success(&format!("PUT {path}"));
        }
    }

    /// Creates a partitioned topic with `partitions` partitions. Panics unless 2xx.
    pub async fn create_partitioned_topic(&self, topic: &str, partitions: u32) {
        let path = format!("/admin/v2/{}/partitions", topic_path(topic));
        let resp = self
            .admin_put(&path, Some(&Value::from(partitions)))
            .await
            .expect("admin PUT partitions");
        resp.expect_success(&format!("PUT {path}"));
    }

    /// Creates a durable subscription at the earliest (`true`) or latest position.
    /// Panics unless 2xx or 409 (already exists).
    pub async fn create_subscription(&self, topic: &str, subscription: &str, earliest: bool) {
        let path = format!(
            "/admin/v2/{}/subscription/{}",
            topic_path(topic),
            encode_segment(subscription)
        );
        let body = serde_json::json!({
            "ledgerId": if earliest { 0i64 } else { i64::MAX },
            "entryId": if earliest { 0i64 } else { i64::MAX },
            "partitionIndex": -1,
        });
        let resp = self
            .admin_put(&path, Some(&body))
            .await
            .expect("admin PUT subscription");
        if resp.status != 409 {
            resp.expect_success(&format!("PUT {path}"));
        }
    }

    /// Deletes a subscription (`force=true` also disconnects its consumers). Panics unless 2xx
    /// or 404.
    pub async fn delete_subscription(&self, topic: &str, subscription: &str) {
        let path = format!(
            "/admin/v2/{}/subscription/{}?force=true",
            topic_path(topic),
            encode_segment(subscription)
        );
        let resp = self
            .admin_delete(&path)
            .await
            .expect("admin DELETE subscription");
        if resp.status != 404 {
            resp.expect_success(&format!("DELETE {path}"));
        }
    }

    /// Deletes a topic (`force=true`). Panics unless 2xx or 404.
    pub async fn delete_topic(&self, topic: &str) {
        let path = format!("/admin/v2/{}?force=true", topic_path(topic));
        let resp = self.admin_delete(&path).await.expect("admin DELETE topic");
        if resp.status != 404 {
            resp.expect_success(&format!("DELETE {path}"));
        }
    }

    /// `POST .../terminate`: no more messages can be published (readers then see end of topic).
    pub async fn terminate_topic(&self, topic: &str) {
        let path = format!("/admin/v2/{}/terminate", topic_path(topic));
        let resp = self
            .admin_post(&path, None)
            .await
            .expect("admin POST terminate");
        resp.expect_success(&format!("POST {path}"));
    }

    /// `GET /admin/v2/brokers/health` answers `ok`.
    pub async fn is_healthy(&self) -> bool {
        match self.admin_get("/admin/v2/brokers/health").await {
            Ok(r) => r.status == 200 && r.text().trim() == "ok",
            Err(_) => false,
        }
    }

    /// Waits until the broker is healthy again (after a restart or a fault).
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<(), BrokerError> {
        let deadline = Instant::now() + timeout;
        while !self.is_healthy().await {
            if Instant::now() >= deadline {
                return Err(err(format!(
                    "broker {} not healthy after {timeout:?} (log: {})",
                    self.instance,
                    self.log_file.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    /// Kills the broker with SIGTERM and starts it again on the same ports and data dir
    /// (`$PULSAR_SCRIPT [--auth] restart`), then waits until it is healthy. Messages already
    /// stored survive. Every connection to this broker drops, so keep restart tests in a test
    /// binary of their own. Panics on failure.
    pub async fn restart_broker(&self) {
        let script = std::env::var("PULSAR_SCRIPT")
            .unwrap_or_else(|_| panic!("PULSAR_SCRIPT is not set: {START_HINT}"));
        let mut cmd = tokio::process::Command::new("bash");
        cmd.arg(&script);
        if self.is_auth() {
            cmd.arg("--auth");
        }
        cmd.arg("restart")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
            .await
            .expect("pulsar.sh restart timed out")
            .expect("running pulsar.sh restart");
        if !out.status.success() {
            panic!(
                "pulsar.sh restart failed ({}):\n{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.wait_healthy(Duration::from_secs(60))
            .await
            .expect("broker healthy after restart");
    }

    // ------------------------------------------------------------------------------------------
    // Python interop (official pulsar-client, binary protocol): scripts/pulsar/py_client.py
    // ------------------------------------------------------------------------------------------

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

// ----------------------------------------------------------------------------------------------
// Topic names
// ----------------------------------------------------------------------------------------------

fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{nanos}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh topic name: `persistent://public/default/<prefix>-<nanos>-<pid>-<n>`.
pub fn unique_topic(prefix: &str) -> String {
    format!("persistent://public/default/{prefix}-{}", unique_suffix())
}

/// `persistent://public/default/t` (or a short `t`) -> `persistent/public/default/t`, the form
/// used in `/admin/v2/...` and `/ws/v2/...` paths, with the topic segment percent-encoded.
pub fn topic_path(topic: &str) -> String {
    let (domain, rest) = match topic.split_once("://") {
        Some((d, r)) => (d, r),
        None => ("persistent", topic),
    };
    let parts: Vec<&str> = rest.splitn(3, '/').collect();
    let (tenant, ns, local) = match parts.as_slice() {
        [t, n, l] => (*t, *n, *l),
        [l] => ("public", "default", *l),
        _ => panic!("cannot parse topic name {topic:?}"),
    };
    format!(
        "{domain}/{}/{}/{}",
        encode_segment(tenant),
        encode_segment(ns),
        encode_segment(local)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ----------------------------------------------------------------------------------------------
// Minimal HTTP/1.1 client (one request per connection, `Connection: close`)
// ----------------------------------------------------------------------------------------------

/// Status, headers and body of an HTTP response.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Result<Value, BrokerError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| err(format!("response body is not JSON: {e}")))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Panics with the status and body unless 2xx.
    pub fn expect_success(&self, what: &str) {
        if !self.is_success() {
            panic!("{what}: HTTP {}: {}", self.status, self.text());
        }
    }
}

/// One HTTP/1.1 request to an `http://host:port/path` URL. `token` is sent as
/// `Authorization: Bearer <token>`, `body` as JSON.
pub async fn http_request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<HttpResponse, BrokerError> {
    tokio::time::timeout(timeout, http_request_inner(method, url, token, body))
        .await
        .map_err(|_| err(format!("{method} {url}: timed out after {timeout:?}")))?
}

async fn http_request_inner(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<HttpResponse, BrokerError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| err(format!("only http:// URLs are supported: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let body_bytes = match body {
        Some(v) => serde_json::to_vec(v).map_err(|e| err(format!("serializing body: {e}")))?,
        None => Vec::new(),
    };
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: pulsar-eventstream-tests\r\n\
         Accept: application/json, */*\r\nConnection: close\r\n"
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if body.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    if body.is_some() || matches!(method, "POST" | "PUT" | "PATCH") {
        req.push_str(&format!("Content-Length: {}\r\n", body_bytes.len()));
    }
    req.push_str("\r\n");

    let mut stream = TcpStream::connect(authority)
        .await
        .map_err(|e| err(format!("{method} {url}: connect: {e}")))?;
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| err(format!("{method} {url}: write: {e}")))?;
    stream
        .write_all(&body_bytes)
        .await
        .map_err(|e| err(format!("{method} {url}: write: {e}")))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| err(format!("{method} {url}: read: {e}")))?;
    parse_response(&raw, method == "HEAD").map_err(|e| err(format!("{method} {url}: {e}")))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_response(mut raw: &[u8], head: bool) -> Result<HttpResponse, String> {
    loop {
        let end = find(raw, b"\r\n\r\n").ok_or("incomplete response head")?;
        let head_text = String::from_utf8_lossy(&raw[..end]).into_owned();
        let rest = &raw[end + 4..];
        let mut lines = head_text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        if (100..200).contains(&status) {
            raw = rest; // 100 Continue and friends: the real response follows
            continue;
        }
        let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let body = if head || status == 204 || status == 304 {
            Vec::new()
        } else if header("transfer-encoding")
            .map(|v| v.to_ascii_lowercase().contains("chunked"))
            .unwrap_or(false)
        {
            decode_chunked(rest)?
        } else if let Some(len) = header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| format!("bad Content-Length {len:?}"))?;
            if rest.len() < len {
                return Err(format!("body truncated: {} of {len} bytes", rest.len()));
            }
            rest[..len].to_vec()
        } else {
            rest.to_vec() // delimited by the connection close
        };
        return Ok(HttpResponse {
            status,
            headers,
            body,
        });
    }
}

fn decode_chunked(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n").ok_or("truncated chunk size line")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out); // trailers, if any, are ignored
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ----------------------------------------------------------------------------------------------
// Small utilities
// ----------------------------------------------------------------------------------------------

fn read_env_file(path: &Path) -> std::io::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect())
}

/// Standard base64 (with or without padding) to bytes; `None` if malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc: u32 = 0;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        out.push((acc >> 16) as u8);
        if chunk.len() > 2 {
            out.push((acc >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(acc as u8);
        }
    }
    Some(out)
}

/// Standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            A[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            A[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}
