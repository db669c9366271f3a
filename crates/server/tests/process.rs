//! The real `charla-server` binary: SIGTERM shuts it down gracefully without losing any
//! accepted message, and its history is there when it comes back.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use charla_protocol::chat::JoinAck;
use charla_testkit::eventually;
use serde_json::json;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn spawn(db: &std::path::Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_charla-server"))
            .args(["--port", &port.to_string(), "--rate-limit", "0", "--db"])
            .arg(db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        Self { child, port }
    }

    async fn ready(&self) -> common::TestServer {
        eventually(Duration::from_secs(5), "the server listening", async || {
            tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
        })
        .await;
        common::TestServer::external(self.port)
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.child.wait().expect("exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every message acked before SIGTERM is in the history after a restart, and the exit is clean.
#[tokio::test]
async fn sigterm_loses_no_accepted_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("history.db");
    let mut server = Server::spawn(&db);
    let handle = server.ready().await;
    let (mut alice, _) = common::TestClient::joined(&handle, "alice").await;
    let mut ids = Vec::new();
    for i in 0..300 {
        ids.push(
            alice
                .emit_ack_later("chat-message", vec![json!({"text": format!("m{i}")})])
                .await,
        );
    }
    let mut acked = 0;
    for id in ids {
        if alice.ack(id).await["ok"] == json!(true) {
            acked += 1;
        }
    }
    assert_eq!(acked, 300);
    let status = server.terminate();
    assert!(status.success(), "graceful exit, got {status}");

    let server = Server::spawn(&db);
    let handle = server.ready().await;
    let (_, ack) = common::TestClient::joined(&handle, "bob").await;
    let ack: JoinAck = ack;
    assert_eq!(ack.history.len(), 300);
    assert_eq!(ack.history.last().map(|m| m.text.as_str()), Some("m299"));
}

/// The log written to a file (not a terminal) carries no colour codes, and a name's bidi
/// control characters never reach it raw.
#[tokio::test]
async fn logs_in_a_file_are_plain_text() {
    let server = common::process::ServerProcess::start(&["--db", ":memory:"]).await;
    let handle = server.handle();
    let (_alice, _) = common::TestClient::joined(&handle, "alice").await;
    let mut mallory = common::TestClient::connect(&handle).await;
    let ack = mallory.emit_ack("join", vec![json!("\u{202e}ecila")]).await;
    assert_eq!(ack["ok"], json!(false));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = server.log();
    assert!(log.contains("joined"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI escape codes in a log file:\n{log:?}"
    );
    assert!(!log.contains('\u{202e}'), "no raw bidi override in the log");
}
