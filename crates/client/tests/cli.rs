//! `charla-cli` as a script uses it: lines piped in, the exit status and stderr read back,
//! against a real charla-server in this process. Messages refused for now (rate limited) are
//! resent by themselves; the exit status is 0 only when every message was delivered.
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use charla_client::ClientEvent;
use charla_protocol::chat::ChatMessage;
use charla_server::ServerConfig;

mod common;
use common::{options, start, until, TestServer};

/// `charla-cli` as user `bot` on `server`, its files in `data`, logging refusals to stderr.
fn cli(server: &str, data: &Path) -> Command {
    cli_as(server, data, "bot")
}

/// `charla-cli` as `username` on `server`, its files (and device keys) in `data`.
fn cli_as(server: &str, data: &Path, username: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_charla-cli"));
    command
        .args([
            "--server",
            server,
            "--username",
            username,
            "--drain-timeout",
            "120",
        ])
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "charla_client=info")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// bo, owning its name, connected to `url` with its files in `dir`, once its message `text`
/// is `#1` of `general`.
async fn bo_said(
    url: &str,
    dir: &Path,
    text: &str,
) -> (
    charla_client::ClientHandle,
    tokio::sync::mpsc::UnboundedReceiver<ClientEvent>,
) {
    let mut options = options(url, "bo", dir);
    options.device_key = Some("b".repeat(64));
    let (bo, mut bo_events) = start(options);
    bo.send(text).await.expect("queued");
    until(&mut bo_events, |e| {
        matches!(e, ClientEvent::Message(m) if m.seq == Some(1)).then_some(())
    })
    .await;
    (bo, bo_events)
}

/// The JSON objects a `--json` run printed, once it exited 0.
fn json_of(out: Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Runs `command`, writing `batches` to its stdin with `pause` after each, then closing it.
async fn run_piped(mut command: Command, batches: Vec<Vec<String>>, pause: Duration) -> Output {
    let mut child = command.spawn().expect("cli starts");
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::spawn(move || {
        for batch in batches {
            for line in batch {
                writeln!(stdin, "{line}").expect("writes");
            }
            stdin.flush().expect("flushes");
            std::thread::sleep(pause);
        }
        // Dropping stdin closes it: the cli drains its outbox and exits.
    });
    tokio::time::timeout(
        Duration::from_secs(180),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("the cli exits in time")
    .expect("joins")
    .expect("waits")
}

/// The one file in `dir`, with its contents.
fn only_file(dir: &Path) -> (std::path::PathBuf, String) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("the keys folder exists")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).expect("readable");
    (files[0].clone(), text)
}

/// `--username alice` makes alice's device key in `--data-dir` on first use (owner-only, 64 hex
/// digits) and proves the name with it on every later run; another data folder (another
/// machine) is refused the name at once, and `--guest` joins without a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_claims_its_name_with_a_key_kept_in_its_data_dir() {
    let server = TestServer::open().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = server.http_url();
    let home = dir.path().join("home");
    let first = run_piped(
        cli_as(&url, &home, "alice"),
        vec![vec!["first run".into()]],
        Duration::ZERO,
    )
    .await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let (key_file, key) = only_file(&home.join("keys"));
    assert!(
        charla_protocol::chat::device_key_is_valid(key.trim()),
        "{key:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let again = run_piped(
        cli_as(&url, &home, "Alice"),
        vec![vec!["second run".into()]],
        Duration::ZERO,
    )
    .await;
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        only_file(&home.join("keys")),
        (key_file, key),
        "the same key, untouched"
    );

    let started = Instant::now();
    let elsewhere = run_piped(
        cli_as(&url, &dir.path().join("other"), "alice"),
        vec![vec!["impostor".into()]],
        Duration::ZERO,
    )
    .await;
    let stderr = String::from_utf8_lossy(&elsewhere.stderr);
    assert!(!elsewhere.status.success());
    assert!(stderr.contains("belongs to someone else"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refused for good: no wait for the drain timeout"
    );

    let guest = run_piped(
        {
            let mut command = cli_as(&url, &dir.path().join("guest"), "visitor");
            command.arg("--guest");
            command
        },
        vec![vec!["just visiting".into()]],
        Duration::ZERO,
    )
    .await;
    assert!(
        guest.status.success(),
        "{}",
        String::from_utf8_lossy(&guest.stderr)
    );
    assert!(
        !dir.path().join("guest/keys").exists(),
        "a guest makes no key"
    );
    server.stop().await;
}

/// The script: 300 lines, a 0.5 s pause every 50, into a server with the default rate
/// limit (10/s, burst 50). Every line arrives once, in order, and the cli exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_lines_over_the_rate_limit_all_arrive_once_in_order_and_exit_0() {
    let server = TestServer::start(ServerConfig::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (observer, mut events) = start(options(&server.http_url(), "observer", dir.path()));
    until(&mut events, |e| {
        matches!(e, ClientEvent::Joined { .. }).then_some(())
    })
    .await;

    let lines: Vec<String> = (0..300).map(|i| format!("line {i}")).collect();
    let batches = lines.chunks(50).map(<[String]>::to_vec).collect();
    let started = Instant::now();
    let mut run = tokio::spawn(run_piped(
        cli(&server.http_url(), &dir.path().join("cli")),
        batches,
        Duration::from_millis(500),
    ));

    // Every message the observer gets, until the cli has exited and a moment has passed (a
    // duplicate would come right behind).
    let mut got: Vec<ChatMessage> = Vec::new();
    let mut output = None;
    let mut delivered_in = None;
    let mut stop_at = tokio::time::Instant::now() + Duration::from_secs(150);
    loop {
        tokio::select! {
            event = events.recv() => {
                if let ClientEvent::Message(m) = event.expect("observer running") {
                    got.push(m);
                    if got.len() == lines.len() {
                        delivered_in = Some(started.elapsed());
                    }
                }
            }
            result = &mut run, if output.is_none() => {
                output = Some((result.expect("cli task"), started.elapsed()));
                stop_at = tokio::time::Instant::now() + Duration::from_millis(500);
            }
            () = tokio::time::sleep_until(stop_at) => break,
        }
    }
    let (output, exited_in) = output.expect("the cli exited in time");
    observer.disconnect().await;

    let stderr = String::from_utf8_lossy(&output.stderr);
    let refused_for_now = stderr.matches("message refused for now").count();
    println!(
        "{} of 300 lines delivered (all after {delivered_in:.1?}); {refused_for_now} refusals for now; cli exited after {exited_in:.1?} with {}",
        got.len(),
        output.status
    );
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, lines, "every line once, in the order written");
    assert!(got.iter().all(|m| m.username == "bot"));
    assert!(
        refused_for_now > 0,
        "the rate limit was hit (or this test proves nothing)"
    );
    assert!(output.status.success(), "exit 0; stderr:\n{stderr}");
    assert!(!stderr.contains("not sent"), "{stderr}");
}

/// A message refused for good (too long) makes the cli exit 1 and say how many were not
/// delivered; the others are delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_for_good_makes_the_cli_exit_1_with_a_count() {
    let server = TestServer::start(ServerConfig {
        max_message_chars: 20,
        ..ServerConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let lines = vec![
        "first".to_owned(),
        "a line much longer than twenty characters".to_owned(),
        "last".to_owned(),
    ];
    let output = run_piped(
        cli(&server.http_url(), &dir.path().join("cli")),
        vec![lines],
        Duration::ZERO,
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{stderr}");
    assert!(
        stderr.contains(
            "charla-cli: 1 message(s) not delivered (1 refused, 0 still pending); they stay in the outbox"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("* not sent").count(),
        1,
        "the refusal is reported once: {stderr}"
    );

    let (observer, mut events) = start(options(&server.http_url(), "observer", dir.path()));
    let history = until(&mut events, |e| match e {
        ClientEvent::Joined { history, .. } => Some(history.clone()),
        _ => None,
    })
    .await;
    let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first", "last"]);
    observer.disconnect().await;
}

/// `--room` sends the lines to a room (joining it, making it when new), `/` lines are commands
/// (`/dm` switches to a DM, `/rooms` prints its answer; typed before the connection is up they
/// wait for it, and so do the lines after them), `--json` events and answers carry the room.
#[tokio::test]
async fn the_cli_talks_in_rooms_and_dms_and_runs_slash_commands() {
    let server = TestServer::open().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = server.http_url();
    // bo exists as an owned name (a DM needs one), and makes the room.
    let made = run_piped(
        cli_as(&url, &dir.path().join("bo"), "bo"),
        vec![vec!["/join general".into()]],
        Duration::ZERO,
    )
    .await;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut bo = cli_as(&url, &dir.path().join("bo"), "bo");
    bo.args(["--room", "ops"]);
    let made = run_piped(bo, vec![vec!["first in ops".into()]], Duration::ZERO).await;
    assert!(
        made.status.success(),
        "joining a room nobody made makes it: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut bad = cli_as(&url, &dir.path().join("bo"), "bo");
    bad.args(["--room", "not a room"]);
    let refused = run_piped(bad, vec![vec!["x".into()]], Duration::ZERO).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "no such name can be a room: exit 1"
    );
    assert!(stderr.contains("a room name is"), "{stderr}");

    let mut ana = cli_as(&url, &dir.path().join("ana"), "ana");
    ana.arg("--json").stdout(Stdio::piped());
    let out = run_piped(
        ana,
        vec![
            // Typed before the connection is up: the commands wait for it, and the line after
            // `/join ops` waits with them, so it lands in ops.
            vec![
                "/nope".into(),
                "/join".into(),
                "/join ops".into(),
                "right after joining".into(),
                "/room general".into(),
            ],
            vec!["hello general".into()],
            vec!["/rooms".into()],
            vec![
                "/dm bo".into(),
                "just for bo".into(),
                "//slash at the start".into(),
            ],
        ],
        Duration::from_millis(300),
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("unknown command /nope"), "{stderr}");
    assert!(stderr.contains("/join needs a room name"), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let dm = lines
        .iter()
        .find(|l| l["command"] == "dm")
        .map(|l| {
            l["reply"]["room"]["room"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .expect("the /dm answer");
    assert!(dm.starts_with("dm:"), "{dm}");
    let said: Vec<(Option<&str>, &str)> = lines
        .iter()
        .filter(|l| l["event"] == "message" && l["username"] == "ana")
        .map(|l| (l["room"].as_str(), l["text"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        said,
        [
            (Some("ops"), "right after joining"),
            (None, "hello general"),
            (Some(dm.as_str()), "just for bo"),
            (Some(dm.as_str()), "/slash at the start")
        ]
    );
    let listed = lines
        .iter()
        .find(|l| l["command"] == "rooms")
        .expect("the /rooms answer");
    let names: Vec<&str> = listed["reply"]["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .filter_map(|r| r["room"].as_str())
        .collect();
    assert!(
        names.contains(&"general") && names.contains(&"ops"),
        "{names:?}"
    );
    server.stop().await;
}

/// `/edit`, `/react`, `/unreact`, `/pin`, `/delete` change a message of the current room by its
/// number; each change is printed as what it did (`--json`: one `messageUpdated` object per
/// change), and one the server refuses for good (another's message edited) is said on stderr
/// and makes the cli exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_changes_messages_and_prints_each_change() {
    let server = TestServer::open().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = server.http_url();
    let (bo, _bo_events) = bo_said(&url, dir.path(), "bo's").await;

    let mut ana = cli_as(&url, &dir.path().join("ana"), "ana");
    ana.stdout(Stdio::piped());
    let out = run_piped(
        ana,
        vec![
            vec!["hello wrold".into()],
            vec![
                "/edit 2 hello world".into(),
                "/react #2 👍".into(),
                "/react 1 🎉".into(),
                "/edit 1 not mine".into(),
                "/pin 2".into(),
                "/edit two".into(),
            ],
            vec![
                "/unreact 2 👍".into(),
                "/unpin 2".into(),
                "/delete 2".into(),
            ],
        ],
        Duration::from_millis(500),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("#2 ana: hello wrold"), "{stdout}");
    let changes: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("* ") && !l.ends_with(" queued"))
        .filter(|l| !l.starts_with("* here") && !l.starts_with("* your rooms"))
        .collect();
    assert_eq!(
        changes,
        [
            "* ana edited #2: hello world",
            "* reactions on #2: 👍 ana",
            "* reactions on #1: 🎉 ana",
            "* ana pinned #2",
            "* reactions on #2: none",
            "* #2 unpinned",
            "* #2 deleted",
        ],
        "{stdout}"
    );
    assert!(stdout.contains("* edit of #1 queued"), "{stdout}");
    assert!(stderr.contains("/edit needs SEQ TEXT"), "{stderr}");
    assert!(stderr.contains("* not done ("), "{stderr}");
    assert!(stderr.contains("): edit of #1"), "{stderr}");
    assert!(!out.status.success(), "a change refused for good: exit 1");

    // The refused edit stays in ana's outbox; another name shows the JSON.
    let mut json = cli_as(&url, &dir.path().join("cy"), "cy");
    json.arg("--json").stdout(Stdio::piped());
    let lines = json_of(run_piped(json, vec![vec!["/react 1 👀".into()]], Duration::ZERO).await);
    let reply = lines
        .iter()
        .find(|l| l["command"] == "react")
        .expect("the /react answer");
    assert_eq!(reply["reply"]["change"]["emoji"], "👀");
    assert_eq!(reply["reply"]["target"]["seq"], 1);
    let updated: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "messageUpdated")
        .collect();
    assert_eq!(updated.len(), 1, "one object for the one change: {lines:?}");
    assert_eq!(updated[0]["seq"], 1);
    assert_eq!(updated[0]["reactions"][1]["emoji"], "👀");
    bo.disconnect().await;
    server.stop().await;
}

/// `/reply` answers a message of the current room in its thread, `/replyroom` in the room too;
/// each reply prints with its root (`↳#1`), `/thread` prints the root and its replies and
/// `/threads` what the name follows; with `--json` a reply only in its thread is one
/// `threadMessage` object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_replies_in_threads_and_prints_them() {
    let server = TestServer::open().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = server.http_url();
    let (bo, mut bo_events) = bo_said(&url, dir.path(), "root").await;

    let mut ana = cli_as(&url, &dir.path().join("ana"), "ana");
    ana.stdout(Stdio::piped());
    let out = run_piped(
        ana,
        vec![
            vec![
                "/reply 1 looks good".into(),
                "/replyroom #1 shipping it".into(),
                "/reply 1".into(),
            ],
            vec!["/thread 1".into(), "/threads".into()],
        ],
        Duration::from_millis(500),
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("* reply to #1 queued"), "{stdout}");
    assert!(
        stdout.contains("* reply to #1 (and to the room) queued"),
        "{stdout}"
    );
    assert!(stdout.contains("#2 ↳#1 ana: looks good"), "{stdout}");
    assert!(stdout.contains("#3 ↳#1 ana: shipping it"), "{stdout}");
    assert!(stderr.contains("/reply needs SEQ TEXT"), "{stderr}");
    assert!(
        stdout.contains(
            "* thread of #1 in general (2 replies):\n  #1 bo: root\n    ↳#2 ana: looks good\n    ↳#3 ana: shipping it"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("* threads you follow:\n  #general #1 bo: root (2 replies)"),
        "{stdout}"
    );

    let (only_thread, in_room) = until(&mut bo_events, |e| match e {
        ClientEvent::ThreadMessage(m) if m.text == "looks good" => Some((m.thread, true)),
        ClientEvent::Message(m) if m.text == "looks good" => Some((m.thread, false)),
        _ => None,
    })
    .await;
    assert_eq!((only_thread, in_room), (Some(1), true), "a thread message");

    let mut json = cli_as(&url, &dir.path().join("cy"), "cy");
    json.arg("--json").stdout(Stdio::piped());
    let lines =
        json_of(run_piped(json, vec![vec!["/reply 1 from cy".into()]], Duration::ZERO).await);
    let reply = lines
        .iter()
        .find(|l| l["command"] == "reply")
        .expect("the /reply answer");
    assert_eq!(reply["reply"]["thread"]["root"]["seq"], 1);
    let threaded: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "threadMessage" && l["text"] == "from cy")
        .collect();
    assert_eq!(threaded.len(), 1, "one object for the reply: {lines:?}");
    assert_eq!(threaded[0]["thread"], 1);
    let joined = lines
        .iter()
        .find(|l| l["event"] == "joined")
        .expect("joined");
    assert_eq!(
        joined["threadReplies"][0]["text"], "looks good",
        "a reply before the join is history, apart from the timeline's: {joined}"
    );
    bo.disconnect().await;
    server.stop().await;
}
