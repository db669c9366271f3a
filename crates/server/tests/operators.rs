//! What an operator runs and reads, on the real binary: `/metrics` counts what happened and is
//! not served to web pages, `--metrics-addr` moves it, `/healthz` answers for the store, and a
//! settings file (`--config`) is read with the command line and `CHARLA_*` variables over it.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use charla_testkit::poll;
use common::{http, logged_address, PollingClient, ServerChild, TestClient, WAIT};
use serde_json::json;

/// The value of one series in a Prometheus text page.
fn series(page: &str, name: &str) -> Option<String> {
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map(str::to_owned)
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> common::HttpResponse {
    tokio::time::timeout(WAIT, http(addr, "GET", path, headers, b""))
        .await
        .expect("an answer in time")
        .expect("an HTTP answer")
}

#[tokio::test]
async fn metrics_count_connections_messages_refusals_and_deliveries() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = charla_testkit::db_arg_in(dir.path());
    let mut child = ServerChild::spawn(&["--db", &db, "--max-message-chars", "20"], &[]);
    let server = child.ready().await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    let (mut carol, _) = PollingClient::joined(server.addr, "carol").await;

    for n in 0..3 {
        let ack = alice
            .emit_ack(
                "chat-message",
                vec![json!({"text": format!("hello {n}"), "clientId": format!("c{n}")})],
            )
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
    }
    // A retry of a stored message, and one too long.
    let again = alice
        .emit_ack(
            "chat-message",
            vec![json!({"text": "hello 0", "clientId": "c0"})],
        )
        .await;
    assert_eq!(again["ok"], true, "{again}");
    let long = alice
        .emit_ack("chat-message", vec![json!({"text": "x".repeat(21)})])
        .await;
    assert_eq!(long["error"]["code"], "message_too_long", "{long}");
    for _ in 0..3 {
        bob.event("message").await;
        carol.event("message").await;
    }

    let page = get(server.addr, "/metrics", &[]).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")));
    let page = page.text();
    let value = |name: &str| series(&page, name).unwrap_or_else(|| panic!("{name} in:\n{page}"));
    assert_eq!(value("charla_connections{transport=\"websocket\"}"), "2");
    assert_eq!(value("charla_connections{transport=\"polling\"}"), "1");
    assert_eq!(value("charla_joined_users"), "3");
    assert_eq!(value("charla_messages_accepted_total"), "3");
    assert_eq!(value("charla_messages_retried_total"), "1");
    assert_eq!(
        value("charla_messages_refused_total{code=\"message_too_long\"}"),
        "1"
    );
    // Three messages to three receivers each (the sender gets its own, as in the tutorial).
    assert_eq!(value("charla_deliveries_total"), "9");
    assert_eq!(value("charla_queue_cutoffs_total"), "0");
    // Each stored message's commit was timed.
    assert_eq!(value("charla_store_commit_seconds_count"), "3");
    assert_eq!(
        value("charla_store_commit_seconds_bucket{le=\"+Inf\"}"),
        "3"
    );

    // Not for web pages, even from an origin the chat allows.
    let from_page = get(
        server.addr,
        "/metrics",
        &[("Origin", "http://localhost:5175")],
    )
    .await;
    assert_eq!(from_page.status, 403, "{}", from_page.text());
    assert!(!from_page.text().contains("charla_"));

    let health = get(server.addr, "/healthz", &[]).await;
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    drop(alice);
    drop(bob);
    assert!(child.terminate().success());
}

#[tokio::test]
async fn metrics_addr_serves_metrics_there_only() {
    let mut child = ServerChild::spawn(&["--db", ":memory:", "--metrics-addr", "127.0.0.1:0"], &[]);
    let server = child.ready().await;
    let metrics_addr = poll(Duration::from_secs(5), async || {
        logged_address(&child.log(), "metrics listening")
    })
    .await
    .unwrap_or_else(|_| panic!("no metrics address logged:\n{}", child.log()));
    assert_ne!(metrics_addr.port(), server.addr.port());
    let there = get(metrics_addr, "/metrics", &[]).await;
    assert_eq!(there.status, 200);
    assert!(series(&there.text(), "charla_joined_users").is_some());
    let on_chat_port = get(server.addr, "/metrics", &[]).await;
    assert_eq!(on_chat_port.status, 404);
    for addr in [metrics_addr, server.addr] {
        assert_eq!(get(addr, "/healthz", &[]).await.status, 200);
    }
    assert!(child.terminate().success());
}

/// Starts the binary with a settings file and `args`/`envs`, joins, and says whether a
/// message of `chars` characters is accepted.
async fn accepts(
    file: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
    chars: usize,
) -> bool {
    let mut all = vec![
        "--db",
        ":memory:",
        "--config",
        file.to_str().expect("utf-8 path"),
    ];
    all.extend_from_slice(args);
    let mut child = ServerChild::spawn(&all, envs);
    let server = child.ready().await;
    let (mut client, _) = TestClient::joined(&server, "ana").await;
    let ack = client
        .emit_ack("chat-message", vec![json!({"text": "y".repeat(chars)})])
        .await;
    drop(client);
    assert!(child.terminate().success());
    if ack["ok"].as_bool() == Some(true) {
        return true;
    }
    assert_eq!(ack["error"]["code"], "message_too_long", "{ack}");
    false
}

#[tokio::test]
async fn a_settings_file_applies_under_variables_and_options() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("server.toml");
    std::fs::write(
        &file,
        "# as an operator writes it\nmax-message-chars = 10\nrate_limit = 0\nallow-origin = [\"https://chat.example.org\"]\n",
    )
    .expect("write");
    // The file's limit applies.
    assert!(!accepts(&file, &[], &[], 11).await);
    assert!(accepts(&file, &[], &[], 10).await);
    // A variable overrides the file, and an option the variable.
    assert!(accepts(&file, &[], &[("CHARLA_MAX_MESSAGE_CHARS", "20")], 11).await);
    assert!(
        !accepts(
            &file,
            &["--max-message-chars", "5"],
            &[("CHARLA_MAX_MESSAGE_CHARS", "20")],
            6
        )
        .await
    );
}

#[test]
fn a_bad_settings_file_is_refused_with_where_and_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |text: &str| {
        let file = dir.path().join("server.toml");
        std::fs::write(&file, text).expect("write");
        refused_within_seconds(&[
            "--db",
            ":memory:",
            "--port",
            "0",
            "--config",
            file.to_str().expect("utf-8 path"),
        ])
    };
    let (code, said) = run("prot = 3050\n");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("`prot`, which is not an option"), "{said}");
    // Checked even where the command line overrides it (`--port 0` here).
    let (code, said) = run("port = \"a lot\"\n");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("invalid value 'a lot' for '--port"), "{said}");
    assert!(said.contains("in the settings file"), "{said}");
    let (code, said) = run("port = 3050\nport = 3051\n");
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("is not valid TOML"), "{said}");
    assert!(said.contains("line 2"), "{said}");
    let (code, said) = refused_within_seconds(&["--config", "/nonexistent/charla/server.toml"]);
    assert_eq!(code, Some(2));
    assert!(said.contains("cannot read the settings file"), "{said}");
}

/// Runs the binary with `args`, which must make it stop at once: its exit code and stderr.
/// One that serves instead is killed after 10 s and the test fails.
fn refused_within_seconds(args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_charla-server"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("reaped");
            panic!(
                "{args:?} did not stop within 10 s:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("reaped");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
