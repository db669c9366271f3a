//! charla-client against the tutorial's Node server (a faithful JS reproduction of the seed,
//! started with Node): join, chat, user-joined, and delivery confirmed by the echo, since that
//! server never acks.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

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
        ClientEvent::UserJoined { username } => Some(username.clone()),
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
        matches!(e, ClientEvent::Outbox { entries } if entries.is_empty()).then_some(())
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
