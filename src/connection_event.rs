//! What happens to a stream's connection, observable apart from its events.

use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::sync::broadcast;

use crate::error::Error;

/// A change in a stream's connection. Observe them with
/// [`EventStream::connection_events`](crate::EventStream::connection_events)
/// or a callback ([`ClientBuilder::on_connection_event`](crate::ClientBuilder::on_connection_event));
/// they never appear in the event stream itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// A connection is established (the first one, or after a reconnect).
    Connected {
        /// How many connections this stream has made so far (1 for the first).
        connection: u64,
    },
    /// The connection was lost; a reconnect follows unless the policy gives up.
    Disconnected {
        /// Why.
        error: Error,
    },
    /// The policy chose to try again after `delay`.
    Reconnecting {
        /// Attempt number since the last healthy connection, from 1.
        attempt: u32,
        /// How long the stream waits before dialing.
        delay: Duration,
    },
    /// The policy gave up: the stream ends with this error.
    GaveUp {
        /// The last error.
        error: Error,
    },
}

/// A callback for connection events.
pub(crate) type ConnectionCallback = std::sync::Arc<dyn Fn(&ConnectionEvent) + Send + Sync>;

/// Fans connection events out to a callback and to any number of streams.
pub(crate) struct ConnectionEvents {
    sender: broadcast::Sender<ConnectionEvent>,
    callback: Option<ConnectionCallback>,
}

impl ConnectionEvents {
    pub(crate) fn new(callback: Option<ConnectionCallback>) -> Self {
        let (sender, _) = broadcast::channel(64);
        ConnectionEvents { sender, callback }
    }

    pub(crate) fn emit(&self, event: ConnectionEvent) {
        if let Some(callback) = &self.callback {
            callback(&event);
        }
        let _ = self.sender.send(event); // no listener is fine
    }

    pub(crate) fn sender(&self) -> broadcast::Sender<ConnectionEvent> {
        self.sender.clone()
    }
}

/// The events sent after this call; a listener that falls more than 64
/// events behind skips the oldest.
pub(crate) fn subscribe(
    sender: &broadcast::Sender<ConnectionEvent>,
) -> BoxStream<'static, ConnectionEvent> {
    futures::stream::unfold(sender.subscribe(), |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(event) => return Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .boxed()
}
