//! Several streams as one: the client-side many-topic stream that works on
//! every server.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::SelectAll;
use futures::{Stream, StreamExt};

use crate::error::Result;
use crate::event::Event;
use crate::stream::EventStream;

/// The events of several [`EventStream`]s as one stream, in arrival order
/// across them (each keeps its own order). Every event carries the topic it
/// came from. Made by [`EventStream::merge`].
///
/// ```no_run
/// use futures::TryStreamExt;
/// use pulsar_eventstream::{Client, EventStream, Position};
///
/// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
/// let mut streams = Vec::new();
/// for name in ["InteractionCreated", "InteractionDeleted"] {
///     let topic = format!("persistent://my-tenant/event-v1/{name}").parse()?;
///     streams.push(client.reader(topic).position(Position::Earliest).subscribe().await?);
/// }
/// let mut events = EventStream::merge(streams);
/// while let Some(event) = events.try_next().await? {
///     println!("{:?}: {}", event.topic(), event.text()?);
/// }
/// # Ok(()) }
/// ```
pub struct MergedStream {
    streams: SelectAll<EventStream>,
}

impl EventStream {
    /// Merges streams (typically one per topic) into one.
    pub fn merge(streams: impl IntoIterator<Item = EventStream>) -> MergedStream {
        MergedStream {
            streams: futures::stream::select_all(streams),
        }
    }
}

impl MergedStream {
    /// How many streams are still open.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Whether every stream has ended.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Closes every stream (acks flushed); returns the first error, if any.
    pub async fn close(self) -> Result<()> {
        let mut first_error = Ok(());
        for stream in self.streams {
            if let Err(e) = stream.close().await {
                if first_error.is_ok() {
                    first_error = Err(e);
                }
            }
        }
        first_error
    }
}

impl Stream for MergedStream {
    type Item = Result<Event>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.streams.poll_next_unpin(cx)
    }
}

impl std::fmt::Debug for MergedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergedStream")
            .field("streams", &self.streams.len())
            .finish()
    }
}
