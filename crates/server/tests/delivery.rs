//! The delivery rules (DESIGN.md, "Delivery rules") under the conditions that used to break
//! them: hostile `clientId`s, typing floods, replay past the in-memory window and past
//! retention, a full disk, `kill -9`, an in-memory restart, rate limits dodged by rejoining,
//! and repeated joins. Each test prints what it measured.
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use charla_protocol::chat::{ChatMessage, ErrorCode, Gap, HistoryPage, JoinAck, Refusal, SendAck};
use charla_server::ServerConfig;
use charla_testkit::{eventually, Deadline};
use common::{PollingClient, ServerChild, TestClient, TestServer, WAIT};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

fn unlimited() -> ServerConfig {
    ServerConfig {
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..ServerConfig::default()
    }
}

fn sqlite(dir: &tempfile::TempDir, history_limit: usize) -> ServerConfig {
    ServerConfig {
        storage: charla_testkit::storage_in(dir.path()),
        history_limit,
        ..unlimited()
    }
}

/// The refusal in an ack (panics on an acceptance).
fn refusal(ack: &Value) -> Refusal {
    Refusal::from_ack(ack).unwrap_or_else(|| panic!("expected a refusal, got {ack}"))
}

fn accepted(ack: &Value) -> SendAck {
    serde_json::from_value(ack.clone()).unwrap_or_else(|_| panic!("expected an ack, got {ack}"))
}

/// Sends `texts` without waiting between them, then collects every ack (all must be accepted);
/// returns `(seq, text)` in the order sent.
async fn send_pipelined(client: &mut TestClient, texts: Vec<String>) -> Vec<(u64, String)> {
    let mut sent = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(100) {
        let mut ids = Vec::with_capacity(chunk.len());
        for text in chunk {
            ids.push(
                client
                    .emit_ack_later("chat-message", vec![json!({ "text": text })])
                    .await,
            );
        }
        for (id, text) in ids.into_iter().zip(chunk) {
            let ack = accepted(&client.ack(id).await);
            sent.push((ack.seq, text.clone()));
        }
        // What came back to the sender itself is not needed.
        client.take_events("message");
    }
    sent
}

/// Every message the room keeps: the join ack's history, then `history` pages back until the
/// server says there is nothing older. Checks each page on the way.
async fn page_back(
    client: &mut TestClient,
    ack: &JoinAck,
    down_to: u64,
) -> (Vec<ChatMessage>, u32) {
    let mut all = ack.history.clone();
    let mut more = ack.more;
    let mut pages = 0;
    while more {
        let Some(before) = all.first().and_then(|m| m.seq) else {
            break;
        };
        if before <= down_to + 1 {
            break;
        }
        pages += 1;
        assert!(pages < 100, "paging does not end");
        let answer = client
            .emit_ack("history", vec![json!({"before": before, "limit": 200})])
            .await;
        let page: HistoryPage =
            serde_json::from_value(answer.clone()).unwrap_or_else(|_| panic!("a page: {answer}"));
        assert!(page.ok);
        assert!(
            !page.messages.is_empty() || !page.more,
            "an empty page says more"
        );
        assert!(page.messages.len() <= 200);
        assert!(
            page.messages.iter().all(|m| m.seq < Some(before)),
            "a page holds only older messages"
        );
        more = page.more;
        all.splice(0..0, page.messages);
    }
    (all, pages)
}

/// Collects every `message` a client receives, in a task, until its connection closes.
fn collect_messages(mut client: TestClient) -> (Arc<Mutex<Vec<Value>>>, JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let task = tokio::spawn(async move {
        while let Some(event) = client.next_event(Duration::from_secs(120)).await {
            if event.name == "message" {
                sink.lock()
                    .expect("not poisoned")
                    .push(event.args[0].clone());
            }
        }
    });
    (seen, task)
}

/// Joins as `name`, retrying while the name is still held by a connection that is closing.
async fn join_retrying(server: &TestServer, name: &str) -> TestClient {
    let mut client = TestClient::connect(server).await;
    let deadline = Deadline::within(Duration::from_secs(3)).every(Duration::from_millis(10));
    eventually(deadline, &format!("{name} free again"), async || {
        let ack = client.emit_ack("join", vec![json!(name)]).await;
        if ack["ok"] == json!(true) {
            return true;
        }
        assert_eq!(refusal(&ack).code, ErrorCode::UsernameTaken, "{ack}");
        false
    })
    .await;
    client
}

// --- Item 6 ---

/// A `clientId` of 27 KB, or with spaces or non-ASCII, is refused `invalid_payload` and never broadcast; a UUID is accepted.
#[tokio::test]
async fn client_ids_must_be_short_and_plain() {
    let server = TestServer::open().await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    let huge = "k".repeat(27 * 1024);
    for bad in [
        huge.as_str(),
        "with spaces in it",
        "ünïcødé-ид",
        "rtl\u{202e}override",
    ] {
        let ack = alice
            .emit_ack(
                "chat-message",
                vec![json!({"text": "refused", "clientId": bad})],
            )
            .await;
        assert_eq!(
            refusal(&ack).code,
            ErrorCode::InvalidPayload,
            "clientId of {} bytes",
            bad.len()
        );
    }
    let uuid = "0b9f4c1e-7d2a-4c3b-9e5f-1a2b3c4d5e6f";
    assert_eq!(uuid.len(), 36);
    let ack = alice
        .emit_ack(
            "chat-message",
            vec![json!({"text": "with a uuid", "clientId": uuid})],
        )
        .await;
    let ack = accepted(&ack);
    // One order for the room: a refused message broadcast anyway would arrive before this one.
    let first = bob.event("message").await;
    assert_eq!(
        (first[0]["text"].as_str(), first[0]["clientId"].as_str()),
        (Some("with a uuid"), Some(uuid))
    );
    assert_eq!(first[0]["seq"], json!(ack.seq));
    assert!(
        !bob.gets_within("message", Duration::from_millis(300)).await,
        "nothing else is broadcast"
    );
    println!(
        "item 6: clientIds of {} bytes, spaces, unicode, RTL override: invalid_payload; 36-char UUID: seq {}",
        huge.len(),
        ack.seq
    );
    server.stop().await;
}

// --- Item 7 ---

/// 20,000 typing toggles reach bystanders as a few rate-limited events; a WebSocket and a polling bystander both stay connected and get the next message.
#[tokio::test]
async fn a_typing_flood_is_throttled_and_cuts_nobody_off() {
    const TOGGLES: usize = 20_000;
    let server = TestServer::open().await;
    let (mut flooder, _) = TestClient::joined(&server, "flooder").await;
    let (mut watcher, _) = TestClient::joined(&server, "watcher").await;
    let (poller, _) = PollingClient::joined(server.addr, "poller").await;

    // The polling bystander polls all along, as a browser does.
    let polling = tokio::spawn(async move {
        let mut poller = poller;
        let (mut typing, mut polls) = (0usize, 0usize);
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if poller.pump().await.is_none() {
                return Err(format!(
                    "the polling bystander was cut off after {polls} polls and {typing} typing events"
                ));
            }
            polls += 1;
            typing += poller.take_events("typing").len();
            if poller
                .take_events("message")
                .iter()
                .any(|m| m[0]["text"] == json!("after the flood"))
            {
                return Ok((typing, polls));
            }
        }
        Err("the polling bystander never got the message".to_owned())
    });

    let start = Instant::now();
    for i in 0..TOGGLES {
        flooder.emit("typing", vec![json!(i % 2 == 0)]).await;
    }
    // Handled in order on one connection: when this is acked, every toggle has been.
    let ack = flooder
        .emit_ack("chat-message", vec![json!({"text": "after the flood"})])
        .await;
    accepted(&ack);
    let elapsed = start.elapsed();

    let mut typing = Vec::new();
    loop {
        let event = watcher
            .next_event(WAIT)
            .await
            .expect("the WebSocket bystander stays connected and gets the message");
        match event.name.as_str() {
            "typing" => typing.push(event.args[0].clone()),
            "message" if event.args[0]["text"] == json!("after the flood") => break,
            _ => {}
        }
    }
    let (polled_typing, polls) = polling
        .await
        .expect("no panic")
        .unwrap_or_else(|e| panic!("{e}"));

    // Starts: a burst of 3, then 1 a second; each start is followed by its stop.
    let seconds = usize::try_from(elapsed.as_millis().div_ceil(1000)).unwrap_or(usize::MAX) + 1;
    let allowed = 2 * (3 + seconds);
    println!(
        "item 7: {TOGGLES} toggles in {:.2} s; relayed typing events: {} to the WebSocket bystander, {} to the polling one ({} polls); allowed {}",
        elapsed.as_secs_f64(),
        typing.len(),
        polled_typing,
        polls,
        allowed
    );
    assert!(
        typing.len() >= 2,
        "the first start and stop go through: {typing:?}"
    );
    assert_eq!(
        typing[0],
        json!({"username": "flooder", "typing": true}),
        "relayed as {{username, typing}}"
    );
    assert!(typing.len() <= allowed, "{} > {allowed}", typing.len());
    assert!(polled_typing <= allowed, "{polled_typing} > {allowed}");
    server.stop().await;
}

// --- Item 8 ---

/// A client 500 messages behind a 50-message memory window gets the newest part with `more`, and paging back to `since` yields each missed message once, no gap.
#[tokio::test]
async fn replay_pages_back_past_the_memory_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(sqlite(&dir, 50)).await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    send_pipelined(&mut bob, (1..=5).map(|i| format!("before {i}")).collect()).await;

    let (alice, ack) = TestClient::joined(&server, "alice").await;
    let since = ack.history.last().and_then(|m| m.seq).expect("history");
    let epoch = ack.epoch.clone().expect("an epoch");
    drop(alice);
    assert_eq!(bob.event("user-left").await, [json!("alice")]);

    let sent = send_pipelined(&mut bob, (1..=500).map(|i| format!("missed {i}")).collect()).await;
    assert_eq!(sent.first().map(|s| s.0), Some(since + 1));

    let mut alice = TestClient::connect(&server).await;
    let answer = alice
        .emit_ack(
            "join",
            vec![json!("alice"), json!({"since": since, "epoch": epoch})],
        )
        .await;
    let ack: JoinAck = serde_json::from_value(answer).expect("joined");
    assert!(ack.more, "older messages than the ack's are kept");
    assert_eq!(ack.gap, None);
    assert!(!ack.history.is_empty() && ack.history.len() <= 50);
    assert_eq!(
        ack.history.last().and_then(|m| m.seq),
        Some(since + 500),
        "the newest part"
    );
    let in_ack = ack.history.len();

    let (all, pages) = page_back(&mut alice, &ack, since).await;
    let replayed: Vec<(u64, String)> = all
        .into_iter()
        .filter(|m| m.seq > Some(since))
        .map(|m| (m.seq.unwrap_or_default(), m.text))
        .collect();
    println!(
        "item 8: since {since}; join ack: {in_ack} messages, more: true; {pages} history pages; {} messages replayed",
        replayed.len()
    );
    assert_eq!(
        replayed, sent,
        "every missed message once, in order, no gap"
    );
    server.stop().await;
}

/// With retention of 100 messages, a client whose `since` is older than what is kept is told the gap, and paging stops at the oldest kept with `more: false`.
#[tokio::test]
async fn replay_older_than_retention_reports_the_gap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(ServerConfig {
        retention_messages: Some(100),
        ..sqlite(&dir, 50)
    })
    .await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    send_pipelined(&mut bob, (1..=5).map(|i| format!("before {i}")).collect()).await;
    let (alice, ack) = TestClient::joined(&server, "alice").await;
    let since = ack.history.last().and_then(|m| m.seq).expect("history");
    let epoch = ack.epoch.clone().expect("an epoch");
    drop(alice);
    assert_eq!(bob.event("user-left").await, [json!("alice")]);
    let sent = send_pipelined(&mut bob, (1..=500).map(|i| format!("missed {i}")).collect()).await;
    let last = sent.last().map(|s| s.0).expect("sent");
    let oldest_kept = last - 100 + 1;

    let mut alice = TestClient::connect(&server).await;
    let answer = alice
        .emit_ack(
            "join",
            vec![json!("alice"), json!({"since": since, "epoch": epoch})],
        )
        .await;
    let ack: JoinAck = serde_json::from_value(answer).expect("joined");
    assert_eq!(
        ack.gap,
        Some(Gap {
            from: since + 1,
            to: oldest_kept - 1
        })
    );
    assert!(ack.more);
    let in_ack = ack.history.len();
    let (all, pages) = page_back(&mut alice, &ack, since).await;
    let seqs: Vec<u64> = all.iter().filter_map(|m| m.seq).collect();
    println!(
        "item 8: retention 100, since {since}, last {last}: gap {:?}; join ack {in_ack} messages; {pages} pages down to seq {:?}",
        ack.gap,
        seqs.first()
    );
    assert_eq!(
        seqs,
        (oldest_kept..=last).collect::<Vec<_>>(),
        "paging ends at the oldest kept, each once"
    );
    // The last page said `more: false` (page_back stops only then, or at `since`).
    let last_page = alice
        .emit_ack(
            "history",
            vec![json!({"before": oldest_kept + 1, "limit": 200})],
        )
        .await;
    let last_page: HistoryPage = serde_json::from_value(last_page).expect("a page");
    assert_eq!(
        (last_page.messages.len(), last_page.more),
        (1, false),
        "nothing older than the oldest kept"
    );
    server.stop().await;
}

// --- Item 9 ---

/// A message refused because the disk is full leaves no trace: not broadcast, refused again on retry, and after a restart with room it takes the next seq, once, with no hole.
#[tokio::test]
async fn a_failed_write_leaves_no_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("h.db");
    let db_arg = db.to_str().expect("UTF-8 path");
    let mut process = ServerChild::spawn(
        &["--db", db_arg, "--db-max-mb", "1", "--rate-limit", "0"],
        &[],
    );
    let server = process.ready().await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (bystander, _) = TestClient::joined(&server, "bystander").await;
    let (seen, seen_task) = collect_messages(bystander);

    let mut last_seq = 0;
    let mut n = 0u64;
    let (client_id, text, refused) = loop {
        n += 1;
        assert!(n < 2000, "a 1 MiB database never filled up");
        let client_id = format!("big-{n}");
        let text = format!("{n:05} {}", "x".repeat(3894));
        let ack = alice
            .emit_ack(
                "chat-message",
                vec![json!({"text": text, "clientId": client_id})],
            )
            .await;
        if ack["ok"] == json!(true) {
            let seq = accepted(&ack).seq;
            assert_eq!(seq, last_seq + 1, "contiguous");
            last_seq = seq;
        } else {
            break (client_id, text, refusal(&ack));
        }
    };
    assert_eq!(refused.code, ErrorCode::Unavailable, "{refused:?}");
    assert!(
        refused.retry_after_ms.is_some_and(|ms| ms > 0),
        "{refused:?}"
    );
    let retry = alice
        .emit_ack(
            "chat-message",
            vec![json!({"text": text, "clientId": client_id})],
        )
        .await;
    assert_eq!(
        refusal(&retry).code,
        ErrorCode::Unavailable,
        "still full: refused again"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let seen = seen.lock().expect("not poisoned");
        assert_eq!(
            seen.len() as u64,
            last_seq,
            "the bystander saw the stored ones"
        );
        assert!(
            seen.iter().all(|m| m["clientId"] != json!(client_id)),
            "the refused message was never broadcast"
        );
    }
    let status = process.terminate();
    assert!(status.success(), "graceful exit: {status}");
    tokio::time::timeout(WAIT, seen_task)
        .await
        .expect("the bystander sees the close")
        .expect("no panic");

    let mut process = ServerChild::spawn(
        &["--db", db_arg, "--db-max-mb", "64", "--rate-limit", "0"],
        &[],
    );
    let server = process.ready().await;
    let (mut watcher, _) = TestClient::joined(&server, "watcher").await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let body = json!({"text": text, "clientId": client_id});
    let ack = accepted(&alice.emit_ack("chat-message", vec![body.clone()]).await);
    assert_eq!(
        ack.seq,
        last_seq + 1,
        "the next seq: no hole where it failed"
    );
    let again = accepted(&alice.emit_ack("chat-message", vec![body]).await);
    assert_eq!(again, ack, "a later retry is the same message");
    let got = watcher.event("message").await;
    assert_eq!(got[0]["clientId"], json!(client_id));
    assert!(
        !watcher
            .gets_within("message", Duration::from_millis(500))
            .await,
        "broadcast once"
    );

    let (mut reader, join) = TestClient::joined(&server, "reader").await;
    let (all, pages) = page_back(&mut reader, &join, 0).await;
    let seqs: Vec<u64> = all.iter().filter_map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=last_seq + 1).collect::<Vec<_>>(),
        "the database's seqs are contiguous"
    );
    assert_eq!(
        all.iter()
            .filter(|m| m.client_id.as_deref() == Some(&client_id))
            .count(),
        1,
        "the retried message is stored once"
    );
    println!(
        "item 9: 1 MiB database full after {last_seq} messages of ~3,900 chars; refused {:?} (retryAfterMs {:?}), retry refused again; after restart with 64 MiB: acked seq {}; {} messages read back in {pages} pages, contiguous",
        refused.code,
        refused.retry_after_ms,
        ack.seq,
        all.len()
    );
}

/// After `kill -9` under continuous load, every message that was acked and every seq a bystander saw is in the history with the same text (stored before broadcast).
#[tokio::test]
async fn kill_9_loses_nothing_anyone_saw() {
    const WINDOW: usize = 500;
    const MAX_SENT: usize = 50_000;
    const KILL_AFTER_SEEN: usize = 2_250;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = charla_testkit::db_arg_in(dir.path());
    let db_arg = db.as_str();
    let mut process = ServerChild::spawn(&["--db", db_arg, "--rate-limit", "0"], &[]);
    let server = process.ready().await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (bystander, _) = TestClient::joined(&server, "bystander").await;
    let (seen, seen_task) = collect_messages(bystander);

    // The sender keeps a window of messages in flight until the server disappears.
    let sender = tokio::spawn(async move {
        let mut acked: Vec<(u64, String)> = Vec::new();
        let mut texts: BTreeMap<u64, String> = BTreeMap::new();
        let mut sent = 0usize;
        let mut record = |alice: &mut TestClient, texts: &BTreeMap<u64, String>| {
            for (id, args) in alice.take_acks() {
                let ack = args.first().cloned().unwrap_or(Value::Null);
                if let (Some(text), Ok(ack)) =
                    (texts.get(&id), serde_json::from_value::<SendAck>(ack))
                {
                    acked.push((ack.seq, text.clone()));
                }
            }
            alice.take_events("message");
        };
        'load: while sent < MAX_SENT {
            let batch: Vec<String> = (sent..sent + WINDOW).map(|i| format!("live {i}")).collect();
            let args = batch.iter().map(|t| vec![json!({ "text": t })]).collect();
            let Some(ids) = alice.try_emit_ack_batch("chat-message", args).await else {
                break 'load;
            };
            let window = ids.len();
            texts.extend(ids.into_iter().zip(batch));
            sent += window;
            while alice.acks_waiting() < window {
                if !alice.pump_once(WAIT).await {
                    break 'load;
                }
            }
            record(&mut alice, &texts);
        }
        // Whatever was still on its way before the connection ended.
        alice.drain(WAIT).await;
        record(&mut alice, &texts);
        (sent, acked)
    });

    let deadline = Deadline::within(Duration::from_secs(60)).every(Duration::from_millis(1));
    eventually(deadline, "the load getting going", async || {
        if seen.lock().expect("not poisoned").len() >= KILL_AFTER_SEEN {
            return true;
        }
        assert!(!sender.is_finished(), "the sender stopped early");
        false
    })
    .await;
    let status = process.kill_hard();
    let seen_at_kill = seen.lock().expect("not poisoned").len();
    assert!(!status.success());
    let (sent, acked) = tokio::time::timeout(Duration::from_secs(30), sender)
        .await
        .expect("the sender sees the end")
        .expect("no panic");
    tokio::time::timeout(WAIT, seen_task)
        .await
        .expect("the bystander sees the close")
        .expect("no panic");
    let seen: Vec<(u64, String)> = seen
        .lock()
        .expect("not poisoned")
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().expect("seq"),
                m["text"].as_str().expect("text").to_owned(),
            )
        })
        .collect();

    let mut process = ServerChild::spawn(&["--db", db_arg, "--rate-limit", "0"], &[]);
    let server = process.ready().await;
    let (mut reader, join) = TestClient::joined(&server, "reader").await;
    let (all, pages) = page_back(&mut reader, &join, 0).await;
    let history: BTreeMap<u64, String> = all
        .into_iter()
        .map(|m| (m.seq.unwrap_or_default(), m.text))
        .collect();
    println!(
        "item 9 (kill -9): sent {sent}; the bystander had seen {seen_at_kill} when the kill was sent and {} in all; {} acked; after restart {} in history ({pages} pages): {} sent were never stored, {} stored were never seen",
        seen.len(),
        acked.len(),
        history.len(),
        sent - history.len(),
        history.len() - seen.len()
    );
    for (seq, text) in &acked {
        assert_eq!(history.get(seq), Some(text), "acked seq {seq} is stored");
    }
    for (seq, text) in &seen {
        assert_eq!(
            history.get(seq),
            Some(text),
            "seq {seq} seen before the kill is stored, as seen"
        );
    }
    let seqs: Vec<u64> = history.keys().copied().collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "contiguous"
    );
}

// --- Item 10 ---

/// After an in-memory server restarts, the join ack's epoch differs and a `since` from the old epoch is ignored: the client gets the full recent history, not nothing.
#[tokio::test]
async fn an_in_memory_restart_changes_the_epoch_and_since_is_ignored() {
    let mut first = ServerChild::spawn(&["--db", ":memory:", "--rate-limit", "0"], &[]);
    let server = first.ready().await;
    let (mut alice, ack) = TestClient::joined(&server, "alice").await;
    let old_epoch = ack.epoch.clone().expect("the join ack has an epoch");
    let sent = send_pipelined(&mut alice, (1..=8).map(|i| format!("old {i}")).collect()).await;
    assert_eq!(sent.last().map(|s| s.0), Some(8));
    assert!(first.terminate().success());

    let mut second = ServerChild::spawn(&["--db", ":memory:", "--rate-limit", "0"], &[]);
    let server = second.ready().await;
    let (mut carol, ack) = TestClient::joined(&server, "carol").await;
    let new_epoch = ack.epoch.clone().expect("an epoch");
    assert_ne!(new_epoch, old_epoch, "a new history, a new epoch");
    send_pipelined(&mut carol, (1..=3).map(|i| format!("new {i}")).collect()).await;

    let mut alice = TestClient::connect(&server).await;
    let answer = alice
        .emit_ack(
            "join",
            vec![json!("alice"), json!({"since": 5, "epoch": old_epoch})],
        )
        .await;
    let ack: JoinAck = serde_json::from_value(answer).expect("joined");
    let history: Vec<(Option<u64>, &str)> = ack
        .history
        .iter()
        .map(|m| (m.seq, m.text.as_str()))
        .collect();
    println!(
        "item 10: epochs {old_epoch} -> {new_epoch}; join with since 5 of the old epoch got {} messages",
        history.len()
    );
    assert_eq!(
        history,
        [(Some(1), "new 1"), (Some(2), "new 2"), (Some(3), "new 3")],
        "the old since is ignored"
    );
    assert_eq!(ack.epoch.as_deref(), Some(new_epoch.as_str()));

    let mut dave = TestClient::connect(&server).await;
    let answer = dave
        .emit_ack(
            "join",
            vec![json!("dave"), json!({"since": 2, "epoch": new_epoch})],
        )
        .await;
    let ack: JoinAck = serde_json::from_value(answer).expect("joined");
    assert_eq!(
        ack.history.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [Some(3)],
        "a since of this epoch still counts"
    );
}

// --- Item 11 ---

/// What [`flood_over_reconnects`] counted.
struct Flood {
    attempts: u32,
    accepted: u32,
    refused: u32,
    connections: usize,
    seconds: f64,
}

/// Sends 1,000 messages, `per_connection` on each connection before leaving it (by `41` or by
/// closing, in turn) and joining again as `name(n)`; every refusal must be `rate_limited` with
/// a wait.
async fn flood_over_reconnects(
    server: &TestServer,
    per_connection: u32,
    name: impl Fn(usize) -> String,
) -> Flood {
    let start = Instant::now();
    let mut flood = Flood {
        attempts: 0,
        accepted: 0,
        refused: 0,
        connections: 0,
        seconds: 0.0,
    };
    while flood.attempts < 1000 {
        let mut client = join_retrying(server, &name(flood.connections)).await;
        let mut ids = Vec::new();
        for _ in 0..per_connection {
            let text = format!("m{}", flood.attempts);
            ids.push(
                client
                    .emit_ack_later("chat-message", vec![json!({ "text": text })])
                    .await,
            );
            flood.attempts += 1;
        }
        for id in ids {
            let ack = client.ack(id).await;
            if ack["ok"] == json!(true) {
                flood.accepted += 1;
            } else {
                let error = refusal(&ack);
                assert_eq!(error.code, ErrorCode::RateLimited);
                assert!(error.retry_after_ms.is_some_and(|ms| ms > 0), "{error:?}");
                flood.refused += 1;
            }
        }
        if flood.connections % 2 == 0 {
            client.send_frame("41").await;
        }
        drop(client);
        flood.connections += 1;
    }
    flood.seconds = start.elapsed().as_secs_f64();
    flood
}

/// At most `burst + rate × seconds` (plus one for rounding) were accepted, and the burst was.
fn assert_within(flood: &Flood, rate: u32, label: &str) {
    let (rate, burst) = (f64::from(rate), f64::from(rate * 5));
    let bound = burst + rate * flood.seconds + 1.0;
    println!(
        "item 11 ({label}): {} attempts over {} connections in {:.2} s: {} accepted, {} refused (bound {bound:.0})",
        flood.attempts, flood.connections, flood.seconds, flood.accepted, flood.refused
    );
    assert!(
        f64::from(flood.accepted) <= bound,
        "{} > {bound}",
        flood.accepted
    );
    assert!(f64::from(flood.accepted) >= burst, "the burst is allowed");
}

/// Leaving (`41` or closing) and rejoining under the same name refills nothing: one name gets at most burst + 10/s.
#[tokio::test]
async fn rejoining_does_not_reset_the_name_rate_limit() {
    let config = ServerConfig::default();
    let rate = config.rate_limit_per_sec;
    let server = TestServer::start(config).await;
    let flood = flood_over_reconnects(&server, 20, |_| "alice".to_owned()).await;
    assert_within(&flood, rate, "same name");
    server.stop().await;
}

/// A client taking a new name on every reconnect from one address is held by the per-address bucket: at most 150 + 30/s.
#[tokio::test]
async fn new_names_from_one_address_share_the_address_rate_limit() {
    let config = ServerConfig::default();
    let rate = config.rate_limit_per_address_per_sec;
    let server = TestServer::start(config).await;
    let flood = flood_over_reconnects(&server, 10, |n| format!("user{n}")).await;
    assert_within(&flood, rate, "new name each time");
    server.stop().await;
}

// --- Item 2 ---

/// A second `join` on a joined connection is refused `already_joined`, and a join ack stays within 256 KiB (with `more`) when 500 messages of 3,900 characters are kept.
#[tokio::test]
async fn a_second_join_is_refused_and_join_acks_are_bounded() {
    let server = TestServer::start(ServerConfig {
        history_limit: 500,
        ..unlimited()
    })
    .await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    for name in ["alice", "someone-else"] {
        let ack = alice.emit_ack("join", vec![json!(name)]).await;
        assert_eq!(refusal(&ack).code, ErrorCode::AlreadyJoined, "{name}");
    }
    let texts: Vec<String> = (0..500)
        .map(|i| format!("{i:04} {}", "y".repeat(3895)))
        .collect();
    let sent = send_pipelined(&mut alice, texts).await;
    assert_eq!(sent.len(), 500);

    let mut bob = TestClient::connect(&server).await;
    let answer = bob.emit_ack("join", vec![json!("bob")]).await;
    let bytes = serde_json::to_string(&answer).expect("json").len();
    let ack: JoinAck = serde_json::from_value(answer).expect("joined");
    println!(
        "item 2: 500 kept messages of 3,900 chars; join ack {bytes} bytes with {} messages, more: {}",
        ack.history.len(),
        ack.more
    );
    assert!(bytes <= 256 * 1024 + 4096, "{bytes} bytes");
    assert!(ack.more);
    assert_eq!(
        ack.history.last().and_then(|m| m.seq),
        Some(500),
        "the newest part"
    );
    let again = bob.emit_ack("join", vec![json!("bob")]).await;
    assert_eq!(refusal(&again).code, ErrorCode::AlreadyJoined);
    server.stop().await;
}
