//! What the actor writes: acks, nacks, permits, end-of-topic requests, and
//! the batching and bounding of writes.

use std::sync::Arc;

use futures::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::super::dial::Ws;
use super::super::Command;
use super::*;

impl Actor {
    /// Handles an ack, nack or end-of-topic request.
    pub(super) async fn command(&mut self, ws: &mut Ws, cmd: Command) -> Result<()> {
        let frame = match cmd {
            Command::Ack { seq, id } => {
                let current = self.outstanding.remove(&seq);
                // A consumer's ack of an event from an earlier connection
                // still matters to the broker (a reader's does not).
                let earlier = !self.is_reader()
                    && seq < self.session_first_seq
                    && !self.recent_ack_set.contains(&id);
                if !(current || earlier) {
                    return Ok(());
                }
                if let Some(floor) = &mut self.floor {
                    floor.acked(seq);
                }
                self.remember_ack(&id);
                // One ack per copy the server sent: each counts in its window.
                for _ in 0..self.take_in_hand(&id) {
                    self.write_ack(ws, Some(&id)).await?;
                }
                self.instruments.ack_sent();
                wire::ack_frame(&id)
            }
            Command::Nack { seq, id } => {
                if !self.outstanding.remove(&seq) && seq >= self.session_first_seq {
                    return Ok(());
                }
                for _ in 0..self.take_in_hand(&id) {
                    self.write_nack(ws, &id).await?;
                }
                self.instruments.nack_sent();
                wire::nack_frame(&id)
            }
            Command::EndOfTopic(reply) => {
                self.end_of_topic_waiters.push_back(reply);
                self.unflushed += MAX_UNFLUSHED; // answer promptly
                wire::end_of_topic_frame()
            }
            Command::Permit(permits) => {
                return self.grant(ws, u64::from(permits)).await;
            }
            Command::Unsubscribe(reply) => {
                let _ = reply.send(Err(Error::Unsupported("unsubscribe while closing")));
                return Ok(());
            }
            Command::Close(reply) => {
                let _ = reply.send(Ok(()));
                return Ok(());
            }
        };
        self.write(ws, frame).await
    }

    /// Grants the server `permits` more messages (pull mode), flushed now.
    pub(super) async fn grant(&mut self, ws: &mut Ws, permits: u64) -> Result<()> {
        let mut left = permits;
        while left > 0 {
            let chunk = u32::try_from(left).unwrap_or(u32::MAX);
            self.write(ws, wire::permit_frame(chunk)).await?;
            self.credit = self.credit.saturating_add(u64::from(chunk));
            left -= u64::from(chunk);
        }
        bounded(self.write_limit(), ws.flush()).await?;
        self.unflushed = 0;
        Ok(())
    }

    /// Automatic pull mode: keeps permits plus queued events at the window,
    /// granting in batches of a quarter window (or whenever none are left).
    pub(super) async fn top_up(&mut self, ws: &mut Ws) -> Result<()> {
        if self.spec.pull != Some(PullMode::Automatic) {
            return Ok(());
        }
        let window = self.spec.window as u64;
        let queued = self.queue.len() as u64 + u64::from(self.pending.is_some());
        let room = window.saturating_sub(queued + self.credit);
        let batch = (window / 4).max(1);
        if room >= batch || (room > 0 && self.credit == 0) {
            self.grant(ws, room).await?;
        }
        Ok(())
    }

    /// Queues an ack (`None`: a flow-control frame without id, for a reader
    /// frame that had none).
    pub(super) async fn write_ack(&mut self, ws: &mut Ws, id: Option<&str>) -> Result<()> {
        self.instruments.ack_sent();
        let frame = match id {
            Some(id) => wire::ack_frame(id),
            None => "{}".to_string(),
        };
        self.write(ws, frame).await
    }

    pub(super) async fn write_nack(&mut self, ws: &mut Ws, id: &str) -> Result<()> {
        self.instruments.nack_sent();
        self.write(ws, wire::nack_frame(id)).await
    }

    /// Queues a text frame; flushes when enough have piled up.
    pub(super) async fn write(&mut self, ws: &mut Ws, frame: String) -> Result<()> {
        let limit = self.write_limit();
        bounded(limit, ws.feed(Message::Text(frame.into()))).await?;
        self.unflushed += 1;
        if self.unflushed >= MAX_UNFLUSHED {
            bounded(limit, ws.flush()).await?;
            self.unflushed = 0;
        }
        Ok(())
    }

    /// How long the server may take to accept what we write.
    pub(super) fn write_limit(&self) -> Duration {
        self.spec.client.inner.pong_timeout
    }

    /// Forgets `id` as in hand: how many more copies of it the server sent.
    /// Readers and on-receive consumers never have anything in hand, and an
    /// empty map is not asked (a lookup hashes the id: ~240 instructions per
    /// ack for nothing).
    fn take_in_hand(&mut self, id: &str) -> u32 {
        if self.in_hand.is_empty() {
            return 0;
        }
        self.in_hand.remove(id).unwrap_or(0)
    }

    pub(super) fn remember_ack(&mut self, id: &Arc<str>) {
        if self.is_reader() || !self.recent_ack_set.insert(id.clone()) {
            return;
        }
        self.recent_acks.push_back(id.clone());
        if self.recent_acks.len() > RECENT_ACKS {
            if let Some(old) = self.recent_acks.pop_front() {
                self.recent_ack_set.remove(&old);
            }
        }
    }
}
