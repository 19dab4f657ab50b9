//! Checkpoints: a restarted process continues right after the last event
//! the previous one finished; a corrupt checkpoint is an error, never a
//! silent restart from `Latest`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use pulsar_eventstream::{AckMode, Checkpoint, Error, FileCheckpoint, MessageId, Position};

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pes-checkpoint-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("reader.checkpoint")
}

#[tokio::test]
async fn a_second_stream_continues_exactly_after_the_first_ones_saved_id() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("restart");
    let ids = mock.publish_many(&name, numbered(100));
    let path = temp_file("restart");
    let _ = std::fs::remove_file(&path);

    // First "process": reads 40 events, then closes (saving its place).
    let mut first = client
        .reader(topic.clone())
        .position(Position::Earliest)
        .checkpoint(FileCheckpoint::new(&path))
        .subscribe()
        .await
        .unwrap();
    take_events(&mut first, 40).await;
    first.close().await.unwrap();
    let saved = FileCheckpoint::new(&path).load().await.unwrap().unwrap();
    assert_eq!(saved.as_str(), ids[39]);

    // Second "process": configured for Earliest, but the checkpoint wins.
    let mut second = client
        .reader(topic.clone())
        .position(Position::Earliest)
        .checkpoint(FileCheckpoint::new(&path))
        .subscribe()
        .await
        .unwrap();
    assert_eq!(mock.handshakes()[1].query["messageId"], ids[39]);
    let rest = take_events(&mut second, 60).await;
    let rest: Vec<&str> = rest.iter().map(|e| e.message_id().as_str()).collect();
    assert_eq!(
        rest,
        ids[40..].iter().map(String::as_str).collect::<Vec<_>>()
    );
    second.close().await.unwrap();
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn the_checkpoint_never_passes_an_unacknowledged_event() {
    let (mock, client) = setup().await;
    let (name, topic) = topic("floor");
    let ids = mock.publish_many(&name, numbered(10));
    let path = temp_file("floor");
    let _ = std::fs::remove_file(&path);
    let mut events = client
        .reader(topic)
        .position(Position::Earliest)
        .ack_mode(AckMode::Manual)
        .checkpoint(FileCheckpoint::new(&path))
        .checkpoint_every(1, Duration::from_secs(3600))
        .subscribe()
        .await
        .unwrap();
    let got = take_events(&mut events, 10).await;
    // Acks out of order: 0, 1, 2, then 5..9; 3 and 4 are still in process.
    for i in [0, 1, 2, 5, 6, 7, 8, 9] {
        got[i].ack().unwrap();
    }
    events.close().await.unwrap();
    let saved = FileCheckpoint::new(&path).load().await.unwrap().unwrap();
    assert_eq!(
        saved,
        ids[2].parse::<MessageId>().unwrap(),
        "3 was never acked"
    );
    std::fs::remove_file(&path).unwrap();
}

#[tokio::test]
async fn a_corrupt_checkpoint_fails_subscribe_with_a_clear_error() {
    let (mock, client) = setup().await;
    let (_, topic) = topic("corrupt");
    let path = temp_file("corrupt");
    std::fs::write(&path, b"\x00\x01 definitely not json").unwrap();
    let error = client
        .reader(topic)
        .checkpoint(FileCheckpoint::new(&path))
        .subscribe()
        .await
        .unwrap_err();
    match &error {
        Error::Checkpoint {
            path: shown,
            reason,
        } => {
            assert!(shown.ends_with("reader.checkpoint"));
            assert!(reason.contains("not a checkpoint file"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.is_retryable());
    assert!(mock.handshakes().is_empty(), "no silent start from Latest");
    std::fs::remove_file(&path).unwrap();
}
