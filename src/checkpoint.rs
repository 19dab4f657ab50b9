//! Keeping a reader's place across process restarts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::{Error, Result};
use crate::message_id::MessageId;

/// Where a reader stores the id of the last event it has fully processed,
/// so that a restarted process continues right after it.
///
/// A reader with a checkpoint loads it when it subscribes (and starts from
/// its configured position only when there is none), then saves the last
/// acknowledged id every N events, on an interval, and on close. A checkpoint
/// that exists but cannot be read is an error, never a silent restart from
/// `Latest`.
pub trait Checkpoint: Send + Sync + 'static {
    /// The saved id, or `None` when nothing was saved yet.
    fn load(&self) -> BoxFuture<'_, Result<Option<MessageId>>>;
    /// Saves `id` durably.
    fn save<'a>(&'a self, id: &'a MessageId) -> BoxFuture<'a, Result<()>>;
}

/// A [`Checkpoint`] in a small JSON file, written atomically: a temporary
/// file in the same directory, fsync, rename over the old one, fsync of the
/// directory. A crash leaves either the old or the new checkpoint, never a
/// torn one.
///
/// ```no_run
/// use pulsar_eventstream::{Client, FileCheckpoint, Position};
/// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
/// let events = client
///     .reader("persistent://my-tenant/event-v1/all".parse()?)
///     .position(Position::Earliest)              // only when no checkpoint exists
///     .checkpoint(FileCheckpoint::new("/var/lib/my-service/reader.checkpoint"))
///     .subscribe()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FileCheckpoint {
    path: PathBuf,
}

impl FileCheckpoint {
    /// A checkpoint stored at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileCheckpoint { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, reason: impl fmt::Display) -> Error {
        Error::Checkpoint {
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

impl fmt::Debug for FileCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCheckpoint")
            .field("path", &self.path)
            .finish()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(rename = "ledgerId", default)]
    ledger_id: u64,
    #[serde(rename = "entryId", default)]
    entry_id: u64,
}

impl Checkpoint for FileCheckpoint {
    fn load(&self) -> BoxFuture<'_, Result<Option<MessageId>>> {
        Box::pin(async move {
            let text = match tokio::fs::read(&self.path).await {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(self.error(format!("cannot read: {e}"))),
            };
            let saved: Saved = serde_json::from_slice(&text)
                .map_err(|e| self.error(format!("not a checkpoint file: {e}")))?;
            let id = MessageId::from_wire(&saved.message_id)
                .map_err(|e| self.error(format!("bad message id: {e}")))?;
            Ok(Some(id))
        })
    }

    fn save<'a>(&'a self, id: &'a MessageId) -> BoxFuture<'a, Result<()>> {
        let path = self.path.clone();
        let saved = Saved {
            message_id: id.as_str().to_string(),
            ledger_id: id.ledger_id(),
            entry_id: id.entry_id(),
        };
        Box::pin(async move {
            let body = serde_json::to_vec(&saved).map_err(|e| self.error(e))?;
            tokio::task::spawn_blocking(move || write_atomically(&path, &body))
                .await
                .map_err(|e| self.error(e))?
                .map_err(|e| self.error(format!("cannot write: {e}")))
        })
    }
}

fn write_atomically(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(body)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    // Make the rename itself durable.
    if let Ok(dir) = std::fs::File::open(&dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// When a reader saves its checkpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SaveSchedule {
    pub every_events: u64,
    pub every: Duration,
}

impl Default for SaveSchedule {
    fn default() -> Self {
        SaveSchedule {
            every_events: 1000,
            every: Duration::from_secs(5),
        }
    }
}

/// Tracks the "ack floor" of a reader: the last event such that it and every
/// event before it have been acknowledged. That is what a checkpoint stores,
/// so a restart never skips an event that was handed out but not finished.
pub(crate) struct AckFloor {
    /// Delivered on the current connection, oldest first, with acked flags.
    order: std::collections::VecDeque<(u64, MessageId, bool)>,
    floor: Option<MessageId>,
    since_save: u64,
    last_save: tokio::time::Instant,
    pub(crate) schedule: SaveSchedule,
}

impl AckFloor {
    pub(crate) fn new(schedule: SaveSchedule) -> Self {
        AckFloor {
            order: std::collections::VecDeque::new(),
            floor: None,
            since_save: 0,
            last_save: tokio::time::Instant::now(),
            schedule,
        }
    }

    /// A new connection: unacked events will be read again.
    pub(crate) fn reset_connection(&mut self) {
        self.order.clear();
    }

    pub(crate) fn delivered(&mut self, seq: u64, id: MessageId, acked: bool) {
        self.order.push_back((seq, id, acked));
        if acked {
            self.advance();
        }
    }

    pub(crate) fn acked(&mut self, seq: u64) {
        let Some(front) = self.order.front().map(|(s, _, _)| *s) else {
            return;
        };
        let Some(index) = seq.checked_sub(front).and_then(|i| usize::try_from(i).ok()) else {
            return;
        };
        if let Some(entry) = self.order.get_mut(index) {
            if entry.0 == seq {
                entry.2 = true;
            }
        }
        self.advance();
    }

    fn advance(&mut self) {
        while self.order.front().is_some_and(|(_, _, acked)| *acked) {
            if let Some((_, id, _)) = self.order.pop_front() {
                self.floor = Some(id);
                self.since_save += 1;
            }
        }
    }

    /// The floor, when it moved since the last save and a save is due
    /// (`force`: on close).
    pub(crate) fn due(&self, force: bool) -> Option<MessageId> {
        if self.since_save == 0 {
            return None;
        }
        let due = force
            || self.since_save >= self.schedule.every_events
            || self.last_save.elapsed() >= self.schedule.every;
        due.then(|| self.floor.clone()).flatten()
    }

    pub(crate) fn saved(&mut self) {
        self.since_save = 0;
        self.last_save = tokio::time::Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("pes-{}-{name}", std::process::id()))
    }

    #[tokio::test]
    async fn the_floor_only_moves_over_contiguous_acks() {
        let mut floor = AckFloor::new(SaveSchedule {
            every_events: 1,
            every: Duration::from_secs(60),
        });
        for seq in 0..4 {
            floor.delivered(seq, MessageId::new(1, seq), false);
        }
        floor.acked(1);
        floor.acked(2);
        assert_eq!(floor.due(true), None, "event 0 is not acked yet");
        floor.acked(0);
        assert_eq!(floor.due(false), Some(MessageId::new(1, 2)));
        floor.saved();
        floor.acked(3);
        floor.acked(3);
        assert_eq!(floor.due(false), Some(MessageId::new(1, 3)));
        floor.reset_connection();
        floor.acked(7);
        assert_eq!(floor.due(true), Some(MessageId::new(1, 3)));
    }

    #[tokio::test]
    async fn round_trips_and_reports_corruption() {
        let path = temp_path("cp");
        let cp = FileCheckpoint::new(&path);
        assert!(cp.load().await.unwrap().is_none());
        let id = MessageId::new(12, 34);
        cp.save(&id).await.unwrap();
        assert_eq!(cp.load().await.unwrap(), Some(id.clone()));
        assert_eq!(cp.load().await.unwrap().unwrap().as_str(), id.as_str());
        std::fs::write(&path, b"{garbage").unwrap();
        assert!(matches!(cp.load().await, Err(Error::Checkpoint { .. })));
        std::fs::write(&path, br#"{"messageId":"!!"}"#).unwrap();
        assert!(matches!(cp.load().await, Err(Error::Checkpoint { .. })));
        std::fs::remove_file(&path).unwrap();
    }
}
