//! charla-client against the tutorial's Node server (a faithful JS reproduction of the seed,
//! started with Node): join, chat, user-joined, delivery confirmed by the echo, since that
//! server never acks, and nothing lost while the client waits for the join ack that never comes.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use charla_client::{ClientEvent, ConnectionStatus, OutboxState};
use tokio::sync::mpsc;

mod common;
use common::{free_port, options, start, until, Process};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start_tutorial_server() -> (Process, u16) {
    let root = repo_root();
    assert!(
        root.join("node_modules/socket.io").exists(),
        "socket.io is not installed: run `npm ci` at the repository root (npm test does)"
    );
    let port = free_port();
    let server = Process::listening(
        Command::new("node")
            .arg(root.join("tests/interop/tutorial-server.mjs"))
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        port,
    );
    (server, port)
}

fn client(
    port: u16,
    name: &str,
    dir: &std::path::Path,
) -> (
    charla_client::ClientHandle,
    mpsc::UnboundedReceiver<ClientEvent>,
) {
    let mut options = options(&format!("http://localhost:{port}"), name, dir);
    options.join_timeout = Duration::from_millis(500);
    start(options)
}

#[tokio::test]
async fn chats_with_the_tutorial_server_confirming_by_echo() {
    let (_server, port) = start_tutorial_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let (alice, mut alice_events) = client(port, "alice", dir.path());
    let compat = until(&mut alice_events, |e| match e {
        ClientEvent::Status(ConnectionStatus::Connected { compat }) => Some(*compat),
        _ => None,
    });
    assert!(compat.await, "no join ack: compatibility mode");

    let (bob, mut bob_events) = client(port, "bob", dir.path());
    let joined = until(&mut alice_events, |e| match e {
        ClientEvent::UserJoined { username, .. } => Some(username.clone()),
        _ => None,
    });
    assert_eq!(joined.await, "bob");
    until(&mut bob_events, |e| {
        matches!(e, ClientEvent::Status(ConnectionStatus::Connected { .. })).then_some(())
    })
    .await;

    let entry = alice.send("hola desde Rust").await.expect("queued");
    let received = until(&mut bob_events, |e| match e {
        ClientEvent::Message(m) => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (received.username.as_str(), received.text.as_str()),
        ("alice", "hola desde Rust")
    );
    assert_eq!(received.seq, None, "the tutorial's server has no seq");
    let echoed = until(&mut alice_events, |e| match e {
        ClientEvent::Message(m) => Some(m.id.clone()),
        _ => None,
    });
    assert_eq!(
        echoed.await,
        received.id,
        "alice sees her message once, with the server's id"
    );
    // No ack ever comes from this server: the echo is what empties the outbox.
    until(&mut alice_events, |e| {
        matches!(e, ClientEvent::Outbox { entries, .. } if entries.is_empty()).then_some(())
    })
    .await;
    assert_ne!(
        entry.state,
        OutboxState::Failed {
            code: charla_protocol::chat::ErrorCode::Unknown,
            message: String::new()
        }
    );
    bob.disconnect().await;
    alice.disconnect().await;
}

/// A watcher connected before a speaker reports every one of 12 ticks (one every 500 ms), in
/// order, the first ones included: they arrive during its 3 s wait for a join ack that the
/// tutorial's server never sends.
#[tokio::test]
async fn ticks_during_the_join_timeout_are_reported_in_order() {
    let (_server, port) = start_tutorial_server();
    let dir = tempfile::tempdir().expect("temp dir");
    // The default join timeout (3 s), as the desktop app and charla-cli use.
    let (watcher, mut watcher_events) = start(options(
        &format!("http://localhost:{port}"),
        "watcher",
        dir.path(),
    ));
    // Time for the watcher's socket to be open; that it is shows below.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let (speaker, _speaker_events) = client(port, "speaker", dir.path());
    until(&mut watcher_events, |e| match e {
        ClientEvent::UserJoined { username, .. } if username == "speaker" => Some(()),
        ClientEvent::Status(ConnectionStatus::Connected { .. }) => {
            panic!("the watcher joined before the speaker came: this test proves nothing")
        }
        _ => None,
    })
    .await;

    let sent = Arc::new(AtomicUsize::new(0));
    let ticker = tokio::spawn({
        let sent = Arc::clone(&sent);
        async move {
            for i in 1..=12 {
                speaker.send(format!("tick {i}")).await.expect("queued");
                sent.store(i, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            speaker
        }
    });
    let mut ticks = Vec::new();
    let mut sent_before_join = None;
    tokio::time::timeout(Duration::from_secs(20), async {
        while ticks.len() < 12 {
            match watcher_events.recv().await.expect("running") {
                ClientEvent::Status(ConnectionStatus::Connected { compat }) => {
                    assert!(compat);
                    sent_before_join = Some(sent.load(Ordering::SeqCst));
                }
                ClientEvent::Message(m) => ticks.push(m.text),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {ticks:?} reported"));
    println!(
        "{} of 12 ticks were sent before the watcher counted as joined ({:.1?} after the speaker started)",
        sent_before_join.unwrap_or(0),
        started.elapsed()
    );
    assert!(
        sent_before_join.is_some_and(|n| n >= 3),
        "the join timeout overlapped the ticks: {sent_before_join:?}"
    );
    let expected: Vec<String> = (1..=12).map(|i| format!("tick {i}")).collect();
    assert_eq!(ticks, expected, "every tick once, in order");
    ticker.await.expect("ticker").disconnect().await;
    watcher.disconnect().await;
}
