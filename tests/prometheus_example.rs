//! The Prometheus example's `/metrics`, scraped over HTTP, shows the stream's
//! counters with the right values.

#[path = "../examples/prometheus.rs"]
#[allow(dead_code)]
mod example;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn metrics_endpoint_shows_the_counters() {
    let handle = example::install_recorder().unwrap();
    let args = example::Args {
        service_url: None,
        topic: None,
        listen: "127.0.0.1:0".parse().unwrap(),
        count: None,
        demo: true,
    };
    let running = example::start(args, handle).await.unwrap();
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), running.consumer)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(read, 20);

    let mut socket = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    socket
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    let topic = format!("topic=\"{}\"", example::DEMO_TOPIC);
    let value = |name: &str| -> Option<f64> {
        response
            .lines()
            .find(|l| l.starts_with(name) && l.contains(&topic))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    assert_eq!(
        value("pulsar_eventstream_events_received_total"),
        Some(20.0),
        "{response}"
    );
    assert_eq!(
        value("pulsar_eventstream_events_delivered_total"),
        Some(20.0)
    );
    assert_eq!(value("pulsar_eventstream_decode_errors_total"), Some(2.0));
    // 20 acks (the last on close) + 2 flow-control frames for the bad frames.
    assert_eq!(value("pulsar_eventstream_acks_sent_total"), Some(22.0));
    assert_eq!(value("pulsar_eventstream_connected"), Some(0.0), "closed");
    assert!(value("pulsar_eventstream_bytes_received_total").unwrap_or(0.0) > 0.0);
    assert!(response.contains("pulsar_eventstream_publish_to_receive_seconds"));
}
