//! Real processes killed at bad moments: the server (SIGKILL, then restarted on its `SQLite`
//! history) while messages are queued, and `charla-cli` (SIGKILL mid-stream, then started again
//! on the same data folder). Every message accepted for sending arrives exactly once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use charla_client::{ClientEvent, ClientHandle, ConnectionStatus};
use charla_protocol::chat::ChatMessage;
use tokio::sync::mpsc;

mod common;
use common::{free_port, options, server_binary, start, until, Process};

fn start_server(port: u16, db: &Path) -> Process {
    Process::listening(
        Command::new(server_binary())
            .args(["--port", &port.to_string(), "--rate-limit", "0", "--db"])
            .arg(db)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        port,
    )
}

fn client(
    port: u16,
    name: &str,
    dir: &Path,
) -> (ClientHandle, mpsc::UnboundedReceiver<ClientEvent>) {
    start(options(&format!("http://127.0.0.1:{port}"), name, dir))
}

/// The whole history as a fresh client sees it on joining.
async fn history(port: u16, dir: &Path, name: &str) -> Vec<ChatMessage> {
    let (handle, mut events) = client(port, name, dir);
    let history = until(&mut events, |e| match e {
        ClientEvent::Joined { history, .. } => Some(history.clone()),
        _ => None,
    })
    .await;
    handle.disconnect().await;
    history
}

fn counts(messages: &[ChatMessage]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in messages {
        *counts.entry(m.text.clone()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn server_killed_and_restarted_while_messages_are_queued() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("history.db");
    let port = free_port();
    let server = start_server(port, &db);
    let (alice, mut events) = client(port, "alice", dir.path());
    until(&mut events, |e| {
        matches!(e, ClientEvent::Status(ConnectionStatus::Connected { .. })).then_some(())
    })
    .await;
    for i in 0..20 {
        alice.send(format!("before {i}")).await.expect("queued");
    }
    server.kill(); // some of those may be in flight, acked or not
    until(&mut events, |e| {
        matches!(
            e,
            ClientEvent::Status(ConnectionStatus::Reconnecting { .. })
        )
        .then_some(())
    })
    .await;
    for i in 0..20 {
        alice
            .send(format!("while down {i}"))
            .await
            .expect("queued offline");
    }
    let _server = start_server(port, &db);
    until(&mut events, |e| {
        matches!(e, ClientEvent::Outbox { entries, .. } if entries.is_empty()).then_some(())
    })
    .await;

    let seen = history(port, dir.path(), "bob").await;
    let counts = counts(&seen);
    for i in 0..20 {
        for text in [format!("before {i}"), format!("while down {i}")] {
            assert_eq!(counts.get(&text), Some(&1), "{text} exactly once");
        }
    }
    assert_eq!(seen.len(), 40);
}

#[tokio::test]
async fn a_killed_cli_resumes_from_its_outbox_without_duplicates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let _server = start_server(port, &dir.path().join("history.db"));
    let data = dir.path().join("cli");
    let cli = |stdin: Stdio| {
        Command::new(env!("CARGO_BIN_EXE_charla-cli"))
            .args([
                "--server",
                &format!("http://127.0.0.1:{port}"),
                "--username",
                "bot",
                "--json",
                "--data-dir",
            ])
            .arg(&data)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cli starts")
    };

    let mut first = cli(Stdio::piped());
    let mut stdin = first.stdin.take().expect("stdin");
    let lines: Vec<String> = (0..300).map(|i| format!("line {i}")).collect();
    stdin
        .write_all(lines.join("\n").as_bytes())
        .expect("writes");
    stdin.write_all(b"\n").expect("writes");
    stdin.flush().expect("flushes");
    // Kill it once some, not all, of its messages are back from the server.
    let stdout = BufReader::new(first.stdout.take().expect("stdout"));
    let mut delivered = 0;
    for line in stdout.lines() {
        let line = line.expect("reads");
        if line.starts_with("{\"event\":\"message\"") {
            delivered += 1;
            if delivered == 40 {
                break;
            }
        }
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    drop(stdin);

    let second = cli(Stdio::null()).wait_with_output().expect("second run");
    assert!(
        second.status.success(),
        "the second run drains the outbox and exits 0"
    );

    let seen = history(port, dir.path(), "observer").await;
    let counts = counts(&seen);
    assert!(counts.values().all(|c| *c == 1), "no duplicates");
    let got: Vec<usize> = seen
        .iter()
        .filter_map(|m| m.text.strip_prefix("line ")?.parse().ok())
        .collect();
    assert!(
        got.len() > 40,
        "the second run delivered what the first had accepted ({} in all)",
        got.len()
    );
    assert_eq!(
        got,
        (0..got.len()).collect::<Vec<_>>(),
        "a gap-free prefix, in order"
    );
    println!("first run killed after {delivered} deliveries; {} of 300 lines were accepted and delivered once", got.len());
}
