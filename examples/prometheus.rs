//! Consume a stream and serve its counters on `/metrics` for Prometheus.
//!
//! ```text
//! cargo run --example prometheus -- --demo                 # in-process demo server
//! cargo run --example prometheus -- --service-url ws://127.0.0.1:8080 \
//!     --topic persistent://public/default/orders --listen 127.0.0.1:9898
//! curl -s 127.0.0.1:9898/metrics | grep pulsar_eventstream
//! ```
//!
//! The crate's `metrics` feature sends every stream's counters to the
//! `metrics` facade; `metrics-exporter-prometheus` renders them in the
//! Prometheus text format, served here by a few lines of HTTP.

use std::net::SocketAddr;

use clap::Parser;
use futures::StreamExt;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use pulsar_eventstream::testing::{MockMessage, MockPulsar};
use pulsar_eventstream::{Client, Position, Topic};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Parser, Debug, Clone)]
#[command(about = "Consume a Pulsar WebSocket stream and serve /metrics for Prometheus")]
pub struct Args {
    /// Service URL, e.g. ws://127.0.0.1:8080
    #[arg(long, env = "PULSAR_SERVICE_URL", required_unless_present = "demo")]
    pub service_url: Option<String>,
    /// Topic to read from the earliest message
    #[arg(long, env = "PULSAR_TOPIC", required_unless_present = "demo")]
    pub topic: Option<String>,
    /// Where to serve /metrics
    #[arg(long, default_value = "127.0.0.1:9898")]
    pub listen: SocketAddr,
    /// Stop consuming after this many events (the server keeps serving)
    #[arg(long)]
    pub count: Option<u64>,
    /// Consume from an in-process mock holding 20 events (plus two bad frames)
    #[arg(long)]
    pub demo: bool,
}

/// A running example: where it serves, and the consuming task.
pub struct Running {
    /// The address `/metrics` is served on.
    pub addr: SocketAddr,
    /// Ends after `--count` events with how many were read.
    pub consumer: tokio::task::JoinHandle<Result<u64, String>>,
    _mock: Option<MockPulsar>,
}

/// The demo topic.
pub const DEMO_TOPIC: &str = "persistent://demo/metrics/orders";

/// Installs the recorder, starts the HTTP server and the consumer.
pub async fn start(args: Args, handle: PrometheusHandle) -> Result<Running, String> {
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(serve_metrics(listener, handle));

    let (mock, service_url, topic, count) = if args.demo {
        let mock = MockPulsar::start().await.map_err(|e| e.to_string())?;
        mock.create_topic(DEMO_TOPIC);
        let url = mock.service_url();
        (
            Some(mock),
            url,
            DEMO_TOPIC.to_string(),
            args.count.or(Some(20)),
        )
    } else {
        let url = args.service_url.ok_or("--service-url is required")?;
        let topic = args.topic.ok_or("--topic is required")?;
        (None, url, topic, args.count)
    };
    let topic: Topic = topic.parse().map_err(|e| format!("{e}"))?;
    let client = Client::builder(service_url)
        .build()
        .map_err(|e| e.to_string())?;
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .subscribe()
        .await
        .map_err(|e| e.to_string())?;
    if let Some(mock) = &mock {
        // Two bad frames, so that the error counter has something to show,
        // then the orders.
        mock.send_raw(pulsar_eventstream::testing::RawFrame::Text("oops".into()));
        mock.send_raw(pulsar_eventstream::testing::RawFrame::Text("{}".into()));
        let orders = (0..20).map(|i| MockMessage::new(format!("{{\"order\":{i}}}")));
        mock.publish_many(DEMO_TOPIC, orders);
    }
    let consumer = tokio::spawn(async move {
        let mut read = 0u64;
        while count.is_none_or(|n| read < n) {
            match events.next().await {
                Some(Ok(_event)) => read += 1,
                Some(Err(e)) if e.is_decode_error() => eprintln!("skipped a bad frame: {e}"),
                Some(Err(e)) => return Err(e.to_string()),
                None => break,
            }
        }
        events.close().await.map_err(|e| e.to_string())?;
        Ok(read)
    });
    Ok(Running {
        addr,
        consumer,
        _mock: mock,
    })
}

/// Answers every request with the rendered metrics (a scrape endpoint needs
/// nothing more).
async fn serve_metrics(listener: TcpListener, handle: PrometheusHandle) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let body = handle.render();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

/// Installs the Prometheus recorder as the global `metrics` recorder.
pub fn install_recorder() -> Result<PrometheusHandle, String> {
    PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| e.to_string())
}

#[tokio::main]
#[allow(dead_code)]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let outcome = async {
        let handle = install_recorder()?;
        let running = start(args, handle).await?;
        eprintln!("serving http://{}/metrics", running.addr);
        let read = running.consumer.await.map_err(|e| e.to_string())??;
        eprintln!("read {read} events; still serving /metrics (Ctrl-C to stop)");
        let _ = tokio::signal::ctrl_c().await;
        Ok::<(), String>(())
    }
    .await;
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("prometheus: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
