//! Counters of a stream: a cheap snapshot with `EventStream::stats()`, and
//! the same values through the `metrics` facade (feature `metrics`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// A snapshot of one stream's counters since it was created.
///
/// ```no_run
/// # fn show(events: &pulsar_eventstream::EventStream) {
/// let stats = events.stats();
/// println!("{} events, {} reconnects", stats.events_delivered, stats.reconnects);
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Message frames received that became events.
    pub events_received: u64,
    /// Events handed to the application.
    pub events_delivered: u64,
    /// Ack frames sent (flow control on a reader).
    pub acks_sent: u64,
    /// Negative acks sent.
    pub nacks_sent: u64,
    /// Frames that could not be decoded.
    pub decode_errors: u64,
    /// Connections re-established after a loss.
    pub reconnects: u64,
    /// Handshakes refused or failed while reconnecting.
    pub handshake_failures: u64,
    /// Bytes of WebSocket messages received.
    pub bytes_received: u64,
    /// Events received and not yet handed to the application.
    pub events_buffered: u64,
    /// Whether the stream is connected right now.
    pub connected: bool,
}

/// The live counters, shared by the actor and the stream.
pub(crate) struct Instruments {
    events_received: AtomicU64,
    events_delivered: AtomicU64,
    acks_sent: AtomicU64,
    nacks_sent: AtomicU64,
    decode_errors: AtomicU64,
    reconnects: AtomicU64,
    handshake_failures: AtomicU64,
    bytes_received: AtomicU64,
    connected: AtomicBool,
    #[cfg(feature = "metrics")]
    metrics: exported::Handles,
}

impl Instruments {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(topic: &str) -> Self {
        Instruments {
            events_received: AtomicU64::new(0),
            events_delivered: AtomicU64::new(0),
            acks_sent: AtomicU64::new(0),
            nacks_sent: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            handshake_failures: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            #[cfg(feature = "metrics")]
            metrics: exported::Handles::new(topic),
        }
    }

    pub(crate) fn snapshot(&self, buffered: usize) -> StreamStats {
        StreamStats {
            events_received: self.events_received.load(Relaxed),
            events_delivered: self.events_delivered.load(Relaxed),
            acks_sent: self.acks_sent.load(Relaxed),
            nacks_sent: self.nacks_sent.load(Relaxed),
            decode_errors: self.decode_errors.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            handshake_failures: self.handshake_failures.load(Relaxed),
            bytes_received: self.bytes_received.load(Relaxed),
            events_buffered: buffered as u64,
            connected: self.connected.load(Relaxed),
        }
    }

    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn event_received(&self, publish_time: Option<&str>) {
        self.events_received.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.event_received(publish_time);
    }

    pub(crate) fn event_delivered(&self) {
        self.events_delivered.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.events_delivered.increment(1);
    }

    pub(crate) fn ack_sent(&self) {
        self.acks_sent.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.acks_sent.increment(1);
    }

    pub(crate) fn nack_sent(&self) {
        self.nacks_sent.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.nacks_sent.increment(1);
    }

    pub(crate) fn decode_error(&self) {
        self.decode_errors.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.decode_errors.increment(1);
    }

    pub(crate) fn reconnected(&self) {
        self.reconnects.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.reconnects.increment(1);
    }

    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn handshake_failed(&self, status: Option<u16>) {
        self.handshake_failures.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.handshake_failed(status);
    }

    pub(crate) fn bytes(&self, n: usize) {
        self.bytes_received.fetch_add(n as u64, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.bytes_received.increment(n as u64);
    }

    pub(crate) fn set_connected(&self, connected: bool) {
        self.connected.store(connected, Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics
            .connected
            .set(if connected { 1.0 } else { 0.0 });
    }

    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn buffered(&self, n: usize) {
        #[cfg(feature = "metrics")]
        self.metrics.events_buffered.set(n as f64);
    }
}

#[cfg(feature = "metrics")]
mod exported {
    //! Prometheus-style names, labelled by topic, registered once per stream.
    use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};

    pub(super) struct Handles {
        topic: String,
        events_received: Counter,
        pub(super) events_delivered: Counter,
        pub(super) acks_sent: Counter,
        pub(super) nacks_sent: Counter,
        pub(super) decode_errors: Counter,
        pub(super) reconnects: Counter,
        pub(super) bytes_received: Counter,
        pub(super) connected: Gauge,
        pub(super) events_buffered: Gauge,
        latency: Histogram,
    }

    impl Handles {
        pub(super) fn new(topic: &str) -> Self {
            let t = topic.to_string();
            Handles {
                events_received: counter!("pulsar_eventstream_events_received_total", "topic" => t.clone()),
                events_delivered: counter!("pulsar_eventstream_events_delivered_total", "topic" => t.clone()),
                acks_sent: counter!("pulsar_eventstream_acks_sent_total", "topic" => t.clone()),
                nacks_sent: counter!("pulsar_eventstream_nacks_sent_total", "topic" => t.clone()),
                decode_errors: counter!("pulsar_eventstream_decode_errors_total", "topic" => t.clone()),
                reconnects: counter!("pulsar_eventstream_reconnects_total", "topic" => t.clone()),
                bytes_received: counter!("pulsar_eventstream_bytes_received_total", "topic" => t.clone()),
                connected: gauge!("pulsar_eventstream_connected", "topic" => t.clone()),
                events_buffered: gauge!("pulsar_eventstream_events_buffered", "topic" => t.clone()),
                latency: histogram!("pulsar_eventstream_publish_to_receive_seconds", "topic" => t.clone()),
                topic: t,
            }
        }

        pub(super) fn event_received(&self, publish_time: Option<&str>) {
            self.events_received.increment(1);
            let latency = publish_time
                .and_then(|t| crate::timestamp::seconds_until(t, std::time::SystemTime::now));
            if let Some(seconds) = latency {
                self.latency.record(seconds);
            }
        }

        pub(super) fn handshake_failed(&self, status: Option<u16>) {
            let status = status.map_or_else(|| "none".to_string(), |s| s.to_string());
            counter!(
                "pulsar_eventstream_handshake_failures_total",
                "topic" => self.topic.clone(),
                "status" => status
            )
            .increment(1);
        }
    }
}

/// A snapshot of one producer's counters since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerStats {
    /// Message frames written, re-sends after a reconnect included.
    pub frames_sent: u64,
    /// Messages the server confirmed.
    pub receipts: u64,
    /// Messages the server refused (`send-error:*`).
    pub send_errors: u64,
}

/// A producer's live counters.
pub(crate) struct ProducerInstruments {
    frames_sent: AtomicU64,
    receipts: AtomicU64,
    send_errors: AtomicU64,
    #[cfg(feature = "metrics")]
    exported: [metrics::Counter; 3],
}

impl ProducerInstruments {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(topic: &str) -> Self {
        #[cfg(feature = "metrics")]
        let t = topic.to_string();
        ProducerInstruments {
            frames_sent: AtomicU64::new(0),
            receipts: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            exported: [
                metrics::counter!("pulsar_eventstream_producer_sends_total", "topic" => t.clone()),
                metrics::counter!("pulsar_eventstream_producer_receipts_total", "topic" => t.clone()),
                metrics::counter!("pulsar_eventstream_producer_send_errors_total", "topic" => t),
            ],
        }
    }

    pub(crate) fn sent(&self) {
        self.frames_sent.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.exported[0].increment(1);
    }

    pub(crate) fn receipt(&self, ok: bool) {
        let (counter, _index) = if ok {
            (&self.receipts, 1)
        } else {
            (&self.send_errors, 2)
        };
        counter.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics")]
        self.exported[_index].increment(1);
    }

    pub(crate) fn snapshot(&self) -> ProducerStats {
        ProducerStats {
            frames_sent: self.frames_sent.load(Relaxed),
            receipts: self.receipts.load(Relaxed),
            send_errors: self.send_errors.load(Relaxed),
        }
    }
}
