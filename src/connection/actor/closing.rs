//! Ending a stream: a clean close, an unsubscribe, and checkpoint saves.

use futures::{SinkExt, StreamExt};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::super::dial::Ws;
use super::super::{map_ws_error, Command};
use super::*;

impl Actor {
    /// Deletes the subscription, then closes. The server answers nothing;
    /// when it refuses, it drops the connection (as a "JSON error"), so the
    /// echo of our Close 1000 is the proof of success (`protocol.md` §5.1).
    pub(super) async fn unsubscribe(
        &mut self,
        ws: &mut Ws,
        reply: oneshot::Sender<Result<()>>,
    ) -> SessionEnd {
        let timeout = self.spec.client.inner.close_timeout;
        let result = tokio::time::timeout(timeout, async {
            while let Ok(cmd) = self.commands.try_recv() {
                match cmd {
                    Command::Ack { .. } | Command::Nack { .. } => self.command(ws, cmd).await?,
                    Command::EndOfTopic(other) => {
                        let _ = other.send(Err(Error::StreamClosed));
                    }
                    Command::Unsubscribe(other) | Command::Close(other) => {
                        let _ = other.send(Err(Error::StreamClosed));
                    }
                    Command::Permit(_) => {}
                }
            }
            self.write(ws, wire::unsubscribe_frame()).await?;
            let close = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            ws.send(Message::Close(Some(close)))
                .await
                .map_err(map_ws_error)?;
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(Message::Close(_)) => return Ok(()),
                    Ok(_) => continue,
                    Err(e) => return Err(map_ws_error(e)),
                }
            }
            Err(Error::Closed {
                code: 1006,
                reason: "connection dropped without a close frame".into(),
            })
        })
        .await;
        let result = match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::UnsubscribeFailed(format!(
                "the server dropped the connection ({e}); are other consumers still attached?"
            ))),
            Err(_) => Err(Error::UnsubscribeFailed(
                "no answer from the server in time".into(),
            )),
        };
        if result.is_ok() {
            tracing::info!(topic = %self.spec.label, "unsubscribed");
        }
        let _ = reply.send(result);
        SessionEnd::Finished
    }

    /// Closes cleanly: pending acks out, Close 1000, then (bounded) wait for
    /// the server's Close.
    pub(super) async fn finish(
        &mut self,
        ws: &mut Ws,
        reply: Option<oneshot::Sender<Result<()>>>,
    ) -> SessionEnd {
        let timeout = self.spec.client.inner.close_timeout;
        let result = tokio::time::timeout(timeout, async {
            while let Ok(cmd) = self.commands.try_recv() {
                match cmd {
                    Command::Close(other) => {
                        let _ = other.send(Ok(()));
                    }
                    Command::Unsubscribe(other) => {
                        let _ = other.send(Err(Error::StreamClosed));
                    }
                    cmd => self.command(ws, cmd).await?,
                }
            }
            ws.flush().await.map_err(map_ws_error)?;
            self.save_checkpoint(true).await;
            let close = CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            };
            ws.send(Message::Close(Some(close)))
                .await
                .map_err(map_ws_error)?;
            while let Some(msg) = ws.next().await {
                if matches!(msg, Ok(Message::Close(_)) | Err(_)) {
                    break;
                }
            }
            Ok::<(), Error>(())
        })
        .await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Ok(()), // the server did not answer in time; we are done anyway
        };
        self.instruments.set_connected(false);
        tracing::debug!(topic = %self.spec.label, "closed");
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
        SessionEnd::Finished
    }

    /// Saves the ack floor when due; a failure is one error item for the
    /// application (the stream goes on).
    pub(super) async fn save_checkpoint(&mut self, force: bool) {
        let (Some(floor), Some((checkpoint, _))) = (&mut self.floor, &self.spec.checkpoint) else {
            return;
        };
        let Some(id) = floor.due(force) else {
            return;
        };
        match checkpoint.save(&id).await {
            Ok(()) => {
                floor.saved();
                tracing::debug!(topic = %self.spec.label, %id, "checkpoint saved");
            }
            Err(error) => {
                tracing::warn!(topic = %self.spec.label, %error, "checkpoint not saved");
                self.deliver_error(error, None, None);
            }
        }
    }
}
