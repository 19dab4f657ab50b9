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
//! This file holds the [`Broker`] handle itself: reading `broker.env`, its health and
//! `restart_broker`. The rest is in `support/broker/`, one concern each: the admin REST calls
//! (`admin.rs`), the Python client (`python.rs`), the HTTP/1.1 client (`http.rs`), topic names
//! (`names.rs`) and base64 (`b64.rs`); what the tests use is re-exported here.
//!
//! See docs/testing.md.
#![allow(dead_code)]

#[path = "broker/admin.rs"]
mod admin;
#[path = "broker/b64.rs"]
mod b64;
#[path = "broker/http.rs"]
mod http;
#[path = "broker/names.rs"]
mod names;
#[path = "broker/python.rs"]
mod python;

// Each test binary uses its own part of these.
#[allow(unused_imports)]
pub use b64::{base64_decode, base64_encode};
#[allow(unused_imports)]
pub use http::{http_request, HttpResponse};
#[allow(unused_imports)]
pub use names::{encode_segment, topic_path, unique_topic};
#[allow(unused_imports)]
pub use python::{py_client_path, ConsumedMessage, Payload, ProduceOptions, ProducedId};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

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
    // Health and restart (the admin REST API is in `broker/admin.rs`, Python interop in
    // `broker/python.rs`)
    // ------------------------------------------------------------------------------------------

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
}

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
