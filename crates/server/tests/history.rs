//! History: kept in `SQLite` across restarts, replayed after `since`, bounded to the last N.

mod common;

use charla_protocol::chat::JoinAck;
use charla_server::{ServerConfig, Storage};
use common::{texts, TestClient, TestServer};
use serde_json::json;

fn sqlite(dir: &tempfile::TempDir, history_limit: usize) -> ServerConfig {
    ServerConfig {
        storage: charla_testkit::storage_in(dir.path()),
        history_limit,
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..Default::default()
    }
}

async fn send_all(client: &mut TestClient, texts: impl IntoIterator<Item = String>) {
    for text in texts {
        let ack = client
            .emit_ack("chat-message", vec![json!({"text": text})])
            .await;
        assert_eq!(ack["ok"], json!(true), "{ack}");
    }
}

/// Acked messages survive a restart, with their seq continuing where it stopped.
#[tokio::test]
async fn history_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(sqlite(&dir, 500)).await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    send_all(&mut alice, (1..=3).map(|i| format!("before {i}"))).await;
    server.stop().await;

    let server = TestServer::start(sqlite(&dir, 500)).await;
    let (mut bob, ack) = TestClient::joined(&server, "bob").await;
    let history: Vec<_> = ack
        .history
        .iter()
        .map(|m| (m.text.as_str(), m.seq))
        .collect();
    assert_eq!(
        history,
        [
            ("before 1", Some(1)),
            ("before 2", Some(2)),
            ("before 3", Some(3))
        ]
    );
    let next = bob
        .emit_ack("chat-message", vec![json!({"text": "after"})])
        .await;
    assert_eq!(next["seq"], json!(4));
    server.stop().await;
}

/// A join with `since` gets exactly what came after it, in both accepted forms.
#[tokio::test]
async fn join_with_since_replays_only_what_was_missed() {
    let server = TestServer::open().await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    send_all(&mut alice, (1..=5).map(|i| format!("m{i}"))).await;

    let mut bob = TestClient::connect(&server).await;
    let ack = bob
        .emit_ack("join", vec![json!("bob"), json!({"since": 3})])
        .await;
    let ack: JoinAck = serde_json::from_value(ack).expect("joined");
    assert_eq!(
        ack.history
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["m4", "m5"]
    );

    let mut carol = TestClient::connect(&server).await;
    let ack = carol
        .emit_ack("join", vec![json!({"username": "carol", "since": 5})])
        .await;
    let ack: JoinAck = serde_json::from_value(ack).expect("joined");
    assert!(ack.history.is_empty());
    server.stop().await;
}

/// Only the newest N messages are kept, in memory and on disk.
#[tokio::test]
async fn history_is_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(sqlite(&dir, 3)).await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    send_all(&mut alice, (1..=6).map(|i| format!("m{i}"))).await;
    let (_, ack) = TestClient::joined(&server, "bob").await;
    assert_eq!(
        ack.history
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["m4", "m5", "m6"]
    );
    server.stop().await;

    let server = TestServer::start(sqlite(&dir, 3)).await;
    let (_, ack) = TestClient::joined(&server, "carol").await;
    assert_eq!(
        ack.history
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["m4", "m5", "m6"]
    );
    server.stop().await;
}

/// A clientId accepted before a restart is still recognised after it (no duplicate).
#[tokio::test]
async fn dedupe_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(sqlite(&dir, 500)).await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let first = alice
        .emit_ack(
            "chat-message",
            vec![json!({"text": "once", "clientId": "k1"})],
        )
        .await;
    server.stop().await;

    let server = TestServer::start(sqlite(&dir, 500)).await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let again = alice
        .emit_ack(
            "chat-message",
            vec![json!({"text": "once", "clientId": "k1"})],
        )
        .await;
    assert_eq!(first, again);
    let (mut bob, ack) = TestClient::joined(&server, "bob").await;
    assert_eq!(
        texts(
            &ack.history
                .iter()
                .map(|m| vec![serde_json::to_value(m).expect("json")])
                .collect::<Vec<_>>()
        ),
        ["once"]
    );
    assert!(
        !bob.gets_within("message", std::time::Duration::from_millis(300))
            .await
    );
    server.stop().await;
}

/// `retention_age` (`--retention-days`): messages older than it leave the database and the
/// recent window within a second; a fresh join no longer gets them, a page does not either, and
/// a client that had not seen them is told the gap. On disk and in memory alike. The age is
/// the server's injected clock's.
#[tokio::test]
async fn messages_past_the_retention_age_are_removed_and_reported_as_a_gap() {
    let dir = tempfile::tempdir().expect("temp dir");
    for storage in [charla_testkit::storage_in(dir.path()), Storage::Memory] {
        let offset_ms = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let read = offset_ms.clone();
        let server = TestServer::start(ServerConfig {
            storage: storage.clone(),
            retention_age: Some(std::time::Duration::from_secs(24 * 3600)),
            clock: charla_server::Clock::from_fn(move || {
                chrono::Utc::now()
                    + chrono::TimeDelta::milliseconds(
                        read.load(std::sync::atomic::Ordering::Relaxed),
                    )
            }),
            ..TestServer::unlimited()
        })
        .await;
        let (mut alice, _) = TestClient::joined(&server, "alice").await;
        send_all(&mut alice, (1..=3).map(|i| format!("old {i}"))).await;
        // Two days later (the server's clock), two more.
        offset_ms.store(2 * 24 * 3600 * 1000, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        send_all(&mut alice, (4..=5).map(|i| format!("new {i}"))).await;

        let (_, fresh) = TestClient::joined(&server, "fresh").await;
        assert_eq!(
            fresh
                .history
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>(),
            ["new 4", "new 5"],
            "{storage:?}"
        );
        assert!(!fresh.more, "nothing older is kept");
        let mut behind = TestClient::connect(&server).await;
        let ack: JoinAck = serde_json::from_value(
            behind
                .emit_ack(
                    "join",
                    vec![json!("behind"), json!({"since": 1, "epoch": fresh.epoch})],
                )
                .await,
        )
        .expect("joined");
        assert_eq!(
            ack.gap.map(|g| (g.from, g.to)),
            Some((2, 3)),
            "{storage:?}: told what it missed and will not get"
        );
        let page = behind.emit_ack("history", vec![json!({"before": 5})]).await;
        let paged: Vec<&str> = page["messages"]
            .as_array()
            .expect("a page")
            .iter()
            .filter_map(|m| m["text"].as_str())
            .collect();
        assert_eq!(
            paged,
            ["new 4"],
            "{storage:?}: the old ones are gone from pages too"
        );
        server.stop().await;
        if storage != Storage::Memory {
            // Gone from the file, not only from memory: a restart without retention has them not.
            let server = TestServer::start(sqlite(&dir, 500)).await;
            let (_, reopened) = TestClient::joined(&server, "later").await;
            assert_eq!(
                reopened
                    .history
                    .iter()
                    .map(|m| m.text.as_str())
                    .collect::<Vec<_>>(),
                ["new 4", "new 5"]
            );
            server.stop().await;
        }
    }
}
