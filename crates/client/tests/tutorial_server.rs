//! charla-client against the tutorial's Node server (a faithful JS reproduction of the seed,
//! started with Node): join, chat, user-joined, and delivery confirmed by the echo, since that
//! server never acks.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use charla_client::{spawn, Backoff, ClientEvent, ClientOptions, ConnectionStatus, OutboxState};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);

struct NodeServer(Child);

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start_tutorial_server() -> (NodeServer, u16) {
    let root = repo_root();
    assert!(
        root.join("node_modules/socket.io").exists(),
        "socket.io is not installed: run `npm ci` at the repository root (npm test does)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let server = NodeServer(
        Command::new("node")
            .arg(root.join("tests/interop/tutorial-server.mjs"))
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts"),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, port);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the tutorial server did not listen on {port}");
}

fn client(
    port: u16,
    name: &str,
    dir: &std::path::Path,
) -> (
    charla_client::ClientHandle,
    mpsc::UnboundedReceiver<ClientEvent>,
) {
    let mut options = ClientOptions::new(
        &format!("http://localhost:{port}"),
        name,
        dir.join(format!("{name}.json")),
    )
    .expect("options");
    options.join_timeout = Duration::from_millis(500);
    options.backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(200), 0.5);
    let (tx, rx) = mpsc::unbounded_channel();
    (spawn(options, tx), rx)
}

async fn until<T>(
    events: &mut mpsc::UnboundedReceiver<ClientEvent>,
    mut pick: impl FnMut(&ClientEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(found) = pick(&events.recv().await.expect("client running")) {
                return found;
            }
        }
    })
    .await
    .expect("in time")
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
