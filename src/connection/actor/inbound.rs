//! What the actor reads: frames into events or error items, handed to the
//! queue.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Message;

use super::super::dial::Ws;
use super::super::{map_ws_error, Delivery};
use super::*;

impl Actor {
    pub(super) async fn inbound(
        &mut self,
        ws: &mut Ws,
        msg: Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Option<SessionEnd> {
        let result = match msg {
            None => {
                return Some(SessionEnd::Lost(Error::Closed {
                    code: 1006,
                    reason: "connection dropped without a close frame".into(),
                }))
            }
            Some(Err(e)) => return Some(SessionEnd::Lost(map_ws_error(e))),
            Some(Ok(Message::Text(text))) => {
                self.instruments.bytes(text.len());
                self.text_frame(ws, text.as_str()).await
            }
            Some(Ok(Message::Binary(data))) => {
                self.instruments.bytes(data.len());
                self.instruments.decode_error();
                let error = Error::BinaryFrame { len: data.len() };
                self.deliver_error(error, None, None);
                Ok(())
            }
            Some(Ok(Message::Ping(_))) => {
                // tungstenite queued the pong; make sure it goes out.
                self.unflushed += 1;
                Ok(())
            }
            Some(Ok(Message::Pong(_))) | Some(Ok(Message::Frame(_))) => Ok(()),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = match frame {
                    Some(f) => (u16::from(f.code), f.reason.to_string()),
                    None => (1005, String::new()),
                };
                return Some(SessionEnd::Lost(Error::Closed { code, reason }));
            }
        };
        match result {
            Ok(()) if self.queue.receiver_gone() => Some(SessionEnd::Finished),
            Ok(()) => None,
            Err(e) => Some(SessionEnd::Lost(e)),
        }
    }

    pub(super) async fn text_frame(&mut self, ws: &mut Ws, text: &str) -> Result<()> {
        let frame = match wire::parse(text) {
            Ok(frame) => frame,
            Err(e) => {
                if self.is_reader() {
                    // Any JSON frame counts as flow control on a reader.
                    self.write_ack(ws, None).await?;
                }
                self.instruments.decode_error();
                let error = Error::InvalidFrame {
                    reason: e.to_string(),
                };
                self.deliver_error(error, None, None);
                return Ok(());
            }
        };
        match wire::classify(frame) {
            Ok(Inbound::Message(frame)) => self.message(ws, frame).await,
            Ok(Inbound::EndOfTopic(end)) => {
                if let Some(waiter) = self.end_of_topic_waiters.pop_front() {
                    let _ = waiter.send(Ok(end));
                }
                Ok(())
            }
            Ok(Inbound::Control) => Ok(()),
            Err(error) => {
                let id = match &error {
                    Error::MissingField {
                        message_id: Some(id),
                        ..
                    } => Some(Arc::from(id.as_str())),
                    _ => None,
                };
                self.undecodable(ws, error, id).await
            }
        }
    }

    pub(super) async fn message(&mut self, ws: &mut Ws, frame: InFrame<'_>) -> Result<()> {
        let track = !self.is_reader() && self.spec.ack_mode != AckMode::OnReceive;
        if let Some(id) = frame.message_id.as_deref() {
            if !self.is_reader() && self.recent_ack_set.contains(id) {
                // A redelivery of an event the application already acked (the
                // ack was lost with a connection): ack again, do not deliver.
                return self.write_ack(ws, Some(id)).await;
            }
            if track {
                if let Some(copies) = self.in_hand.get_mut(id) {
                    // Already handed out on this connection and not acked yet:
                    // the application has it; answer for this copy on its ack.
                    *copies += 1;
                    return Ok(());
                }
            }
        }
        let decoded = match wire::decode_message(frame) {
            Ok(decoded) => decoded,
            Err(bad) => return self.undecodable(ws, bad.error, bad.wire_id).await,
        };
        let wire::Decoded {
            wire_id,
            message_id,
            payload,
            properties,
            publish_time,
            event_time,
            key,
            redelivery_count,
        } = decoded;
        self.instruments.event_received(publish_time.as_deref());
        let seq = self.next_seq;
        self.next_seq += 1;
        self.credit = self.credit.saturating_sub(1);
        let on_receive = self.spec.ack_mode == AckMode::OnReceive;
        if on_receive {
            self.remember_ack(&wire_id);
        } else {
            self.outstanding.insert(seq);
        }
        if track {
            self.in_hand.insert(wire_id.clone(), 0);
        }
        if let Some(floor) = &mut self.floor {
            floor.delivered(seq, message_id.clone(), on_receive);
        }
        let handoff_ack = on_receive.then(|| wire_id.clone());
        let event = Event {
            message_id: message_id.clone(),
            payload,
            properties,
            publish_time,
            event_time,
            key,
            redelivery_count,
            topic: self.spec.topic.clone(),
            ack: AckHandle {
                seq,
                wire_id,
                message_id: Some(message_id),
                commands: self.commands_tx.clone(),
                can_nack: !self.is_reader(),
            },
        };
        let handed_over = self.deliver(Delivery::Event(event));
        // On-receive acks go out as the event enters the channel, so that the
        // server's window still bounds what is buffered here.
        match (handoff_ack, handed_over) {
            (Some(id), true) => self.write_ack(ws, Some(&id)).await,
            (Some(id), false) => {
                self.pending_ack = Some(id);
                Ok(())
            }
            (None, _) => Ok(()),
        }
    }

    /// A message frame that cannot become an event: the application gets one
    /// error item, and the server is answered so that nothing stalls.
    pub(super) async fn undecodable(
        &mut self,
        ws: &mut Ws,
        error: Error,
        id: Option<Arc<str>>,
    ) -> Result<()> {
        tracing::debug!(topic = %self.spec.label, %error, "undecodable frame");
        self.instruments.decode_error();
        let Some(id) = id else {
            if self.is_reader() {
                self.write_ack(ws, None).await?;
            }
            self.deliver_error(error, None, None);
            return Ok(());
        };
        let position = MessageId::from_wire_arc(id.clone()).ok();
        if self.is_reader() {
            // The reader counts any JSON frame; echo the id only when it is
            // one (an unparsable id could make a strict server hang up).
            let echo = position.as_ref().map(|_| &*id);
            self.write_ack(ws, echo).await?;
            self.deliver_error(error, None, position);
            return Ok(());
        }
        match self.spec.ack_mode {
            AckMode::Auto => {
                // Acked when the application asks for the next item.
                let seq = self.next_seq;
                self.next_seq += 1;
                self.outstanding.insert(seq);
                self.deliver_error(error, Some((seq, id)), position);
            }
            AckMode::OnReceive => {
                self.remember_ack(&id);
                self.write_ack(ws, Some(&id)).await?;
                self.deliver_error(error, None, position);
            }
            AckMode::Manual => {
                // Nobody can ack it: let the broker redeliver it, and
                // dead-letter it when a dead-letter policy is set.
                self.write_nack(ws, &id).await?;
                self.deliver_error(error, None, position);
            }
        }
        Ok(())
    }

    pub(super) fn deliver_error(
        &mut self,
        error: Error,
        ack: Option<(u64, Arc<str>)>,
        position: Option<MessageId>,
    ) {
        let _ = self.deliver(Delivery::Error {
            error,
            ack,
            position,
        });
    }

    /// Sets the `events_buffered` gauge to the queue's length after the last
    /// push, if it has not been set since.
    pub(super) fn report_buffered(&mut self) {
        if let Some(queued) = self.unreported_buffered.take() {
            self.instruments.buffered(queued);
        }
    }

    /// Hands a delivery to the channel, or parks it (reading pauses until
    /// the application makes room).
    /// `true` when handed over now, `false` when parked.
    pub(super) fn deliver(&mut self, delivery: Delivery) -> bool {
        match self.queue.try_push(delivery) {
            Ok(queued) => {
                self.unreported_buffered = Some(queued);
                true
            }
            Err(delivery) => {
                self.pending = Some(delivery);
                false
            }
        }
    }
}
