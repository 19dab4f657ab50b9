//! The hand-off between the socket actor and the `EventStream`: a bounded
//! queue that the actor can purge when a connection is lost.
//!
//! One lock covers the queue and "the last event handed to the
//! application", so that taking an event and fixing a reconnect's resume
//! point never interleave: a reader resumes right after the last event the
//! application received, and events still queued are dropped and re-read.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use super::Delivery;
use crate::message_id::MessageId;

pub(crate) struct Queue {
    state: Mutex<State>,
    /// Wakes the actor when room frees up or the stream goes away.
    actor: Notify,
    capacity: usize,
    /// The stream was dropped or closed (read on every turn of the actor's
    /// loop: an atomic, not the lock).
    receiver_gone: AtomicBool,
}

struct State {
    items: VecDeque<Delivery>,
    waker: Option<Waker>,
    last_delivered: Option<MessageId>,
    /// The actor is gone: once the queue is empty, the stream ends.
    actor_done: bool,
    /// Wake the actor on every take (pull mode grants permits as room frees).
    notify_every_take: bool,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.min(1024)),
                waker: None,
                last_delivered: None,
                actor_done: false,
                notify_every_take: false,
            }),
            actor: Notify::new(),
            capacity,
            receiver_gone: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave this state inconsistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ----- actor side -----

    /// Queues `item` unless the queue is full (then gives it back). On
    /// success, returns how many items are queued. Does not wake the stream:
    /// the actor calls [`wake_receiver`](Self::wake_receiver) once per batch
    /// of frames, so that a stream waiting for events is woken once per read
    /// burst rather than once per event (a cross-thread wake costs more than
    /// decoding an event).
    // Giving the item back by value is the point; boxing it would cost an
    // allocation per event.
    #[allow(clippy::result_large_err)]
    pub(crate) fn try_push(&self, item: Delivery) -> Result<usize, Delivery> {
        let mut state = self.lock();
        if state.items.len() >= self.capacity {
            return Err(item);
        }
        state.items.push_back(item);
        Ok(state.items.len())
    }

    /// Wakes the stream if it waits and there is something to take.
    pub(crate) fn wake_receiver(&self) {
        let mut state = self.lock();
        if state.items.is_empty() {
            return;
        }
        if let Some(waker) = state.waker.take() {
            drop(state);
            waker.wake();
        }
    }

    /// Queues the stream's last item regardless of room, then marks the end.
    pub(crate) fn finish_with(&self, item: Option<Delivery>) {
        let mut state = self.lock();
        if let Some(item) = item {
            state.items.push_back(item);
        }
        state.actor_done = true;
        if let Some(waker) = state.waker.take() {
            drop(state);
            waker.wake();
        }
    }

    /// Wakes the actor on every take, not only when the queue was full.
    pub(crate) fn notify_every_take(&self) {
        self.lock().notify_every_take = true;
    }

    /// How many items wait for the application.
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub(crate) fn receiver_gone(&self) -> bool {
        self.receiver_gone.load(Ordering::Acquire)
    }

    /// Resolves when there may be room, or the stream went away.
    pub(crate) async fn changed(&self) {
        self.actor.notified().await;
    }

    /// A connection was lost: drops what the application has not taken yet
    /// (when `discard`) and returns where a reader resumes.
    pub(crate) fn reset(&self, discard: bool) -> Option<MessageId> {
        let mut state = self.lock();
        if discard {
            state.items.clear();
        }
        state.last_delivered.clone()
    }

    // ----- stream side -----

    /// Takes the next item, with how many are left behind it; records what
    /// the application was handed.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<(Delivery, usize)>> {
        let mut state = self.lock();
        match state.items.pop_front() {
            Some(item) => {
                let position = match &item {
                    Delivery::Event(event) => Some(&event.message_id),
                    Delivery::Error { position, .. } => position.as_ref(),
                    Delivery::Fatal(_) => None,
                };
                // Never move backwards: a stray older id (a hostile or buggy
                // server) must not make a reconnect re-read what was seen.
                if let Some(id) = position {
                    if state.last_delivered.as_ref().is_none_or(|last| id > last) {
                        state.last_delivered = Some(id.clone());
                    }
                }
                let left = state.items.len();
                let was_full = left + 1 >= self.capacity;
                let notify = was_full || state.notify_every_take;
                drop(state);
                if notify {
                    self.actor.notify_one();
                }
                Poll::Ready(Some((item, left)))
            }
            None if state.actor_done => Poll::Ready(None),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The stream is gone: the actor closes the connection.
    pub(crate) fn close_receiver(&self) {
        let mut state = self.lock();
        self.receiver_gone.store(true, Ordering::Release);
        state.items.clear();
        drop(state);
        self.actor.notify_one();
    }
}
