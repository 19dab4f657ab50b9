//! Where a message's outcome goes once its receipt arrives: the [`Receipt`]
//! of a `send`/`enqueue`, or the tally of the [`ProducerSink`] that sent it.
//!
//! A sink counts its messages instead of keeping a future per message: its
//! memory stays constant however many messages pass through it, and the
//! actor settles a sink message with two atomic operations and a wake.
//!
//! [`Receipt`]: super::Receipt
//! [`ProducerSink`]: super::ProducerSink

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::message_id::MessageId;

/// The outcome's destination, carried with the message to the actor.
pub(crate) enum Reply {
    /// A `send`/`enqueue` caller's receipt.
    Receipt(oneshot::Sender<Result<MessageId>>),
    /// A message of a sink.
    Sink(SinkSlot),
}

impl Reply {
    /// Delivers the outcome (a receipt nobody awaits any more is fine).
    pub(crate) fn settle(self, outcome: Result<MessageId>) {
        match self {
            Reply::Receipt(reply) => {
                let _ = reply.send(outcome);
            }
            Reply::Sink(slot) => slot.settle(outcome),
        }
    }
}

/// Why a sink message failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server refused it, or the reconnect policy gave up on it.
    Error(Error),
    /// It was dropped unanswered: the producer's task has ended.
    Dropped,
}

/// One sink's messages between `start_send` and their receipts.
#[derive(Default)]
pub(crate) struct SinkTally {
    outstanding: AtomicUsize,
    /// The first failure not yet reported, and whether there is one: the
    /// sink asks before every message, without taking the lock.
    failure: Mutex<Option<Failure>>,
    failed: AtomicBool,
    /// The sink's task, waiting in `poll_flush`/`poll_close`.
    waker: AtomicWaker,
}

impl SinkTally {
    /// Messages sent and not yet settled.
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.load(SeqCst)
    }

    /// `Ready` once every message sent so far is settled.
    pub(crate) fn poll_settled(&self, cx: &mut Context<'_>) -> Poll<()> {
        // Register before looking, so that a settle in between wakes us.
        self.waker.register(cx.waker());
        if self.outstanding() == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// The first failure since the last call, if any.
    pub(crate) fn take_failure(&self) -> Option<Failure> {
        if !self.failed.swap(false, SeqCst) {
            return None;
        }
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn settled(&self, failure: Option<Failure>) {
        if let Some(failure) = failure {
            self.failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(failure);
            self.failed.store(true, SeqCst);
        }
        self.outstanding.fetch_sub(1, SeqCst);
        self.waker.wake();
    }
}

/// One sink message's place in its tally: settled exactly once, by its
/// outcome or, if the actor drops it unanswered, as [`Failure::Dropped`].
pub(crate) struct SinkSlot(Option<Arc<SinkTally>>);

impl SinkSlot {
    /// Counts one more outstanding message.
    pub(crate) fn new(tally: &Arc<SinkTally>) -> Self {
        tally.outstanding.fetch_add(1, SeqCst);
        SinkSlot(Some(tally.clone()))
    }

    fn settle(mut self, outcome: Result<MessageId>) {
        if let Some(tally) = self.0.take() {
            tally.settled(outcome.err().map(Failure::Error));
        }
    }
}

impl Drop for SinkSlot {
    fn drop(&mut self) {
        if let Some(tally) = self.0.take() {
            tally.settled(Some(Failure::Dropped));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::noop_waker_ref;

    #[test]
    fn a_tally_counts_settles_and_keeps_the_first_failure() {
        let tally = Arc::new(SinkTally::default());
        let mut cx = Context::from_waker(noop_waker_ref());
        assert!(tally.poll_settled(&mut cx).is_ready());
        let ok = SinkSlot::new(&tally);
        let refused = SinkSlot::new(&tally);
        let dropped = SinkSlot::new(&tally);
        assert_eq!(tally.outstanding(), 3);
        assert!(tally.poll_settled(&mut cx).is_pending());

        Reply::Sink(ok).settle(Ok(MessageId::new(1, 2)));
        assert!(tally.take_failure().is_none());
        Reply::Sink(refused).settle(Err(Error::StreamClosed));
        drop(dropped); // unanswered: counted as settled, failure kept second
        assert_eq!(tally.outstanding(), 0);
        assert!(tally.poll_settled(&mut cx).is_ready());
        assert!(matches!(
            tally.take_failure(),
            Some(Failure::Error(Error::StreamClosed))
        ));
        assert!(tally.take_failure().is_none());

        drop(SinkSlot::new(&tally));
        assert!(matches!(tally.take_failure(), Some(Failure::Dropped)));
    }
}
