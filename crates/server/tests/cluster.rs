//! Two nodes on one PostgreSQL (real `charla-server` processes): senders on each node, readers
//! on each node; every reader gets every message once, all readers see one order (the room's
//! `seq`), and each sender's messages come in the order they were sent. Then one node's sender
//! alone: the other node's reader gets those only by listening to the database.
//!
//! Needs the run's PostgreSQL: `scripts/pg.sh -- cargo test -p charla-server --test cluster
//! -- --include-ignored` (what `npm test` runs).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use charla_protocol::chat::{ErrorCode, Refusal};
use charla_testkit::{eventually, Deadline};
use common::{ServerChild, TestClient, TestServer};
use serde_json::{json, Value};

const PER_SENDER: usize = 300;
/// Messages the first node's sender sends alone at the end.
const SOLO: usize = 50;

/// Two nodes on a database of their own in the run's PostgreSQL (and its folder).
async fn two_nodes() -> (
    tempfile::TempDir,
    (ServerChild, TestServer),
    (ServerChild, TestServer),
) {
    assert!(
        charla_testkit::on_postgres(),
        "run it under scripts/pg.sh (CHARLA_TEST_DB)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let db = charla_testkit::db_arg_in(dir.path());
    let mut node_a = ServerChild::spawn(&["--db", &db, "--rate-limit", "0"], &[]);
    let mut node_b = ServerChild::spawn(&["--db", &db, "--rate-limit", "0"], &[]);
    let a = node_a.ready().await;
    let b = node_b.ready().await;
    (dir, (node_a, a), (node_b, b))
}

/// Reads `want` messages (bounded in time), returning (seq, text) in arrival order.
async fn read_messages(mut client: TestClient, want: usize) -> Vec<(u64, String)> {
    let mut got = Vec::with_capacity(want);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.len() < want {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(event) = client.next_event(left).await else {
            panic!("{} of {want} messages within 60 s", got.len());
        };
        if event.name == "message" {
            let m = &event.args[0];
            got.push((
                m["seq"].as_u64().expect("a seq"),
                m["text"].as_str().expect("a text").to_owned(),
            ));
        }
    }
    got
}

/// Sends messages `from..to` named after `name`, each acked before the next.
async fn send_all(
    mut client: TestClient,
    name: &'static str,
    from: usize,
    to: usize,
) -> TestClient {
    for i in from..to {
        let ack: Value = client
            .emit_ack("chat-message", vec![json!({"text": format!("{name} {i}")})])
            .await;
        assert_eq!(ack["ok"], true, "{name} {i}: {ack}");
    }
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-server --test cluster -- --include-ignored"]
async fn two_nodes_deliver_everything_in_one_order() {
    let (_dir, (mut node_a, a), (mut node_b, b)) = two_nodes().await;

    let (reader_a, _) = TestClient::joined(&a, "reader-a").await;
    let (reader_b, _) = TestClient::joined(&b, "reader-b").await;
    let (sender_a, _) = TestClient::joined(&a, "sender-a").await;
    let (sender_b, _) = TestClient::joined(&b, "sender-b").await;

    let want = 2 * PER_SENDER + SOLO;
    let readers = [
        tokio::spawn(read_messages(reader_a, want)),
        tokio::spawn(read_messages(reader_b, want)),
    ];
    let senders = [
        tokio::spawn(send_all(sender_a, "sender-a", 0, PER_SENDER)),
        tokio::spawn(send_all(sender_b, "sender-b", 0, PER_SENDER)),
    ];
    let mut done = Vec::new();
    for sender in senders {
        done.push(sender.await.expect("sent"));
    }
    let sender_a = done.swap_remove(0);
    send_all(sender_a, "sender-a", PER_SENDER, PER_SENDER + SOLO).await;
    let mut orders = Vec::new();
    for reader in readers {
        let got = reader.await.expect("read");
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for (_, text) in &got {
            *counts.entry(text.as_str()).or_default() += 1;
        }
        assert_eq!(counts.len(), want, "every message arrived");
        assert!(counts.values().all(|n| *n == 1), "none twice");
        let seqs: Vec<u64> = got.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(
            seqs,
            (1..=want as u64).collect::<Vec<_>>(),
            "the room's order, without a gap"
        );
        for (name, sent) in [("sender-a", PER_SENDER + SOLO), ("sender-b", PER_SENDER)] {
            let own: Vec<usize> = got
                .iter()
                .filter_map(|(_, text)| text.strip_prefix(&format!("{name} "))?.parse().ok())
                .collect();
            assert_eq!(own, (0..sent).collect::<Vec<_>>(), "{name}'s in order");
        }
        orders.push(got);
    }
    assert_eq!(orders[0], orders[1], "both nodes' readers saw one order");
    // Each node read the other's messages after their announcements, and says how late.
    for node in [&a, &b] {
        let metrics = common::http(node.addr, "GET", "/metrics", &[], b"")
            .await
            .expect("metrics")
            .text();
        let heard: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("charla_cluster_notify_lag_seconds_count "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_default();
        assert!(
            heard >= 300,
            "{heard} messages heard from the other node:\n{metrics}"
        );
    }
    assert!(node_a.terminate().success());
    assert!(node_b.terminate().success());
}

/// Waits (at most `within`) for a `user-joined` or `user-left` about `name`.
async fn presence_of(client: &mut TestClient, event: &str, name: &str, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(got) = client.next_event(left).await else {
            return false;
        };
        if got.name == event && got.args.first().and_then(Value::as_str) == Some(name) {
            return true;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-server --test cluster -- --include-ignored"]
async fn presence_crosses_nodes_and_a_killed_node_goes_offline() {
    let (_dir, (mut node_a, a), (mut node_b, b)) = two_nodes().await;

    let (mut watcher, _) = TestClient::joined(&b, "watcher").await;
    let (mut gina, _) = TestClient::joined(&a, "gina").await;
    assert!(
        presence_of(&mut watcher, "user-joined", "gina", Duration::from_secs(5)).await,
        "a guest joined on node A is online on node B"
    );
    // Her typing on A is seen on B, and so is her stopping.
    gina.emit("typing", vec![json!(true)]).await;
    assert_eq!(
        watcher.event("typing").await,
        [json!({"username": "gina", "typing": true})]
    );
    gina.emit("typing", vec![json!(false)]).await;
    assert_eq!(
        watcher.event("typing").await,
        [json!({"username": "gina", "typing": false})]
    );
    // A connection that leaves while typing stops typing on the other nodes too.
    let (mut hugo, _) = TestClient::joined(&a, "hugo").await;
    hugo.emit("typing", vec![json!(true)]).await;
    assert_eq!(
        watcher.event("typing").await,
        [json!({"username": "hugo", "typing": true})]
    );
    drop(hugo);
    assert_eq!(
        watcher.event("typing").await,
        [json!({"username": "hugo", "typing": false})]
    );
    // Her name is hers on every node while she is here.
    let mut impostor = TestClient::connect(&b).await;
    let refused = impostor.emit_ack("join", vec![json!("Gina")]).await;
    assert_eq!(
        Refusal::from_ack(&refused).map(|r| r.code),
        Some(ErrorCode::UsernameTaken),
        "{refused}"
    );
    let (_late, ack) = TestClient::joined(&b, "late").await;
    assert!(
        ack.users.iter().any(|u| u == "gina"),
        "B's users list A's: {:?}",
        ack.users
    );

    // Node A dies without a word: within 15 s B shows her offline, and the name is free.
    let killed = std::time::Instant::now();
    node_a.kill_hard();
    assert!(
        presence_of(&mut watcher, "user-left", "gina", Duration::from_secs(15)).await,
        "gina shown offline within 15 s of her node's death"
    );
    let after = killed.elapsed();
    let (_gina_again, _) = TestClient::joined(&b, "gina").await;
    println!("offline after {} ms", after.as_millis());
    assert!(node_b.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-server --test cluster -- --include-ignored"]
async fn a_retry_that_reaches_another_node_is_acked_with_the_stored_message() {
    let (_dir, (mut node_a, a), (mut node_b, b)) = two_nodes().await;
    let (mut first_try, _) = TestClient::joined(&a, "ana").await;
    let (mut reader, _) = TestClient::joined(&b, "reader").await;
    let message = json!({"text": "only once", "clientId": "c-1"});
    let ack: Value = first_try
        .emit_ack("chat-message", vec![message.clone()])
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    let first = reader.event("message").await;
    assert_eq!(first[0]["seq"], ack["seq"], "{first:?}");
    // Her connection to node A ends before she hears the ack (as far as she knows); she
    // retries on node B, whose memory has never seen that clientId: the database has. (Her
    // guest name is free on B once A has noticed she left: within a second or two.)
    drop(first_try);
    let mut retry = TestClient::connect(&b).await;
    let deadline = Deadline::within(Duration::from_secs(10)).every(Duration::from_millis(200));
    eventually(deadline, "ana joining B", async || {
        let joined: Value = retry.emit_ack("join", vec![json!("ana")]).await;
        if joined["ok"] == true {
            Ok(())
        } else {
            Err(joined)
        }
    })
    .await;
    let again: Value = retry.emit_ack("chat-message", vec![message]).await;
    assert_eq!(again["ok"], true, "{again}");
    assert_eq!(again["seq"], ack["seq"], "the same message: {ack} {again}");
    assert_eq!(again["id"], ack["id"], "the same message: {ack} {again}");
    assert!(
        !reader
            .gets_within("message", Duration::from_millis(1500))
            .await,
        "no second copy was delivered"
    );
    assert!(node_a.terminate().success());
    assert!(node_b.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-server --test cluster -- --include-ignored"]
async fn a_room_made_on_one_node_is_one_room_on_every_node() {
    let (_dir, (mut node_a, a), (mut node_b, b)) = two_nodes().await;
    let owned = |name: &str, key: &str| vec![json!(name), json!({ "key": key })];
    let mut ana = TestClient::connect(&a).await;
    let joined: Value = ana.emit_ack("join", owned("ana", &"a1".repeat(32))).await;
    assert_eq!(joined["owned"], true, "{joined}");
    let mut bo = TestClient::connect(&b).await;
    let joined: Value = bo.emit_ack("join", owned("bo", &"b2".repeat(32))).await;
    assert_eq!(joined["owned"], true, "{joined}");

    // Both at the same moment, on two nodes: one room, the other told it exists.
    let (by_ana, by_bo): (Value, Value) = tokio::join!(
        ana.emit_ack("room-create", vec![json!({"room": "war-room"})]),
        bo.emit_ack("room-create", vec![json!({"room": "war-room"})]),
    );
    let codes: Vec<Option<ErrorCode>> = [&by_ana, &by_bo]
        .iter()
        .map(|ack| Refusal::from_ack(ack).map(|r| r.code))
        .collect();
    assert!(
        codes.contains(&None) && codes.contains(&Some(ErrorCode::RoomExists)),
        "one made the room, the other was told it exists: {by_ana} {by_bo}"
    );

    let made: Value = ana
        .emit_ack("room-create", vec![json!({"room": "ops"})])
        .await;
    assert_eq!(made["ok"], true, "{made}");
    // At once, before node B may have heard of it, and again later: one room either way.
    for _ in 0..2 {
        let again: Value = bo
            .emit_ack("room-create", vec![json!({"room": "ops"})])
            .await;
        assert_eq!(
            Refusal::from_ack(&again).map(|r| r.code),
            Some(ErrorCode::RoomExists),
            "{again}"
        );
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let entered: Value = bo.emit_ack("room-join", vec![json!({"room": "ops"})]).await;
    assert_eq!(entered["ok"], true, "{entered}");
    // Ana, on A, hears that bo joined on B.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = ana
            .next_event(left)
            .await
            .expect("member-joined within 5 s");
        if event.name == "member-joined" {
            assert_eq!(event.args[0]["username"], "bo", "{:?}", event.args);
            assert_eq!(event.args[0]["room"], "ops", "{:?}", event.args);
            break;
        }
    }
    assert!(node_a.terminate().success());
    assert!(node_b.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-server --test cluster -- --include-ignored"]
async fn a_node_that_fell_behind_retention_goes_on_from_what_is_kept() {
    // Each room keeps its newest 5 messages. Node B stalls while node A stores 20: the rows B
    // never delivered are gone when it comes back. It must go on from the oldest kept (the
    // gap is retention's), not wait for rows that will never come.
    assert!(
        charla_testkit::on_postgres(),
        "run it under scripts/pg.sh (CHARLA_TEST_DB)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let db = charla_testkit::db_arg_in(dir.path());
    let args = [
        "--db",
        &db,
        "--rate-limit",
        "0",
        "--retention-messages-per-room",
        "5",
    ];
    let mut node_a = ServerChild::spawn(&args, &[]);
    let mut node_b = ServerChild::spawn(&args, &[]);
    let a = node_a.ready().await;
    let b = node_b.ready().await;
    let (mut reader, _) = TestClient::joined(&b, "reader").await;
    let writer = TestClient::joined(&a, "writer").await.0;
    let mut writer = send_all(writer, "before", 0, 1).await;
    let first = reader.event("message").await;
    let first_seq = first[0]["seq"].as_u64().expect("a seq");

    node_b.pause();
    writer = send_all(writer, "while B stalls", 0, 20).await;
    node_b.resume();
    let ack: Value = writer
        .emit_ack("chat-message", vec![json!({"text": "after"})])
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    let after_seq = ack["seq"].as_u64().expect("a seq");

    let mut seqs = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(event) = reader.next_event(left).await else {
            panic!(
                "B delivered {seqs:?}, not \"after\" (seq {after_seq}), within 20 s\n{}",
                node_b.log()
            );
        };
        if event.name != "message" {
            continue;
        }
        seqs.push(event.args[0]["seq"].as_u64().expect("a seq"));
        if event.args[0]["text"] == "after" {
            break;
        }
    }
    assert!(
        seqs.first().is_some_and(|s| *s > first_seq + 1),
        "what retention removed was skipped: {seqs:?}"
    );
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1) && seqs.len() <= 6,
        "the kept rows, once each, in order: {seqs:?}"
    );
    assert_eq!(seqs.last(), Some(&after_seq));
    assert!(
        node_b
            .log()
            .contains("removed by retention before this node delivered them"),
        "B says what it skipped"
    );
    assert!(node_a.terminate().success());
    assert!(node_b.terminate().success());
}

/// Reactions each person adds and takes back in turn.
const TOGGLES: u64 = 40;

/// Adds and takes back `emoji` on message `seq`, [`TOGGLES`] times, each acked before the next.
async fn toggle(mut client: TestClient, seq: u64, emoji: &str) -> TestClient {
    for i in 0..TOGGLES {
        let body = json!({"seq": seq, "emoji": emoji, "on": i % 2 == 0});
        let ack: Value = client.emit_ack("reaction", vec![body]).await;
        assert_eq!(ack["ok"], true, "{ack}");
    }
    client
}

/// Reads `message-updated` events (bounded in time) until one has `rev` `last`: (rev, the
/// message's reactions as `emoji:names`) in arrival order.
async fn read_changes(client: &mut TestClient, last: u64) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.last().is_none_or(|(rev, _)| *rev < last) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(event) = client.next_event(left).await else {
            panic!("{} changes, not up to rev {last}, within 60 s", got.len());
        };
        if event.name == "message-updated" {
            let m = &event.args[0];
            let reactions: Vec<String> = m["reactions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| format!("{}:{}", r["emoji"], r["names"]))
                .collect();
            got.push((m["rev"].as_u64().expect("a rev"), reactions.join(" ")));
        }
    }
    got
}

/// Two people on two nodes react to one message at once: readers on both nodes see its
/// changes in one order (the room's `rev`), each state once, ending in the same state; a device that
/// reconnects to the other node with the `rev` it had learns the message as it is now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-server --test cluster -- --include-ignored"]
async fn changes_made_on_two_nodes_reach_every_node_in_one_order() {
    let (_dir, (mut node_a, a), (mut node_b, b)) = two_nodes().await;
    let key_a = "a1".repeat(32);
    let key_b = "b2".repeat(32);
    let mut ana = TestClient::connect(&a).await;
    let joined = ana
        .emit_ack("join", vec![json!("ana"), json!({"key": key_a})])
        .await;
    assert_eq!(joined["owned"], true, "{joined}");
    let mut bo = TestClient::connect(&b).await;
    let joined = bo
        .emit_ack("join", vec![json!("bo"), json!({"key": key_b})])
        .await;
    assert_eq!(joined["owned"], true, "{joined}");
    let (mut reader_a, _) = TestClient::joined(&a, "reader-a").await;
    let (mut reader_b, _) = TestClient::joined(&b, "reader-b").await;
    let said: Value = ana
        .emit_ack("chat-message", vec![json!({"text": "react to me"})])
        .await;
    let seq = said["seq"].as_u64().expect("a seq");

    let (ana, bo) = tokio::join!(toggle(ana, seq, "👍"), toggle(bo, seq, "🎉"));
    let (seen_a, seen_b) = tokio::join!(
        read_changes(&mut reader_a, 2 * TOGGLES),
        read_changes(&mut reader_b, 2 * TOGGLES)
    );
    // A node that reads two changes of one message at once delivers the later state only
    // (it holds the earlier one): each node's list is part of the one order, never out of it.
    let states: HashMap<u64, &str> = seen_b.iter().map(|(rev, s)| (*rev, s.as_str())).collect();
    for (rev, state) in &seen_a {
        if let Some(other) = states.get(rev) {
            assert_eq!(other, state, "rev {rev} is one state on both nodes");
        }
    }
    for seen in [&seen_a, &seen_b] {
        let revs: Vec<u64> = seen.iter().map(|(rev, _)| *rev).collect();
        assert!(
            revs.windows(2).all(|w| w[0] < w[1]),
            "in order, once: {revs:?}"
        );
        assert!(
            revs.len() > 1,
            "changes are delivered as they come, not only the last: {revs:?}"
        );
        assert_eq!(
            seen.last().map(|(_, state)| state.as_str()),
            Some(""),
            "every reaction taken back in the end"
        );
    }

    // A device that had the message at rev 10, back on the other node.
    let mut back = TestClient::connect(&b).await;
    let ack = back
        .emit_ack(
            "join",
            vec![
                json!("late"),
                json!({"since": seq, "revs": {"general": 10}}),
            ],
        )
        .await;
    let changes = &ack["changes"];
    assert_eq!(changes["rev"], 2 * TOGGLES, "{ack}");
    assert_eq!(
        changes["changes"][0]["seq"], seq,
        "the message as it is now: {ack}"
    );
    drop((ana, bo, reader_a));
    assert!(node_a.terminate().success());
    assert!(node_b.terminate().success());
}

/// A reply made on one node: the other node's clients get it as a thread's message, and the
/// root's new count, and page the thread there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-server --test cluster -- --include-ignored"]
async fn a_reply_on_one_node_reaches_the_thread_on_every_node() {
    let (_dir, (mut node_a, a), (mut node_b, b)) = two_nodes().await;
    let mut ana = TestClient::connect(&a).await;
    let joined = ana
        .emit_ack("join", vec![json!("ana"), json!({"key": "a1".repeat(32)})])
        .await;
    assert_eq!(joined["owned"], true, "{joined}");
    let mut bo = TestClient::connect(&b).await;
    let joined = bo
        .emit_ack("join", vec![json!("bo"), json!({"key": "b2".repeat(32)})])
        .await;
    assert_eq!(joined["owned"], true, "{joined}");
    let said: Value = ana
        .emit_ack(
            "chat-message",
            vec![json!({"text": "who takes the pager?"})],
        )
        .await;
    let root = said["seq"].as_u64().expect("a seq");
    let reply: Value = bo
        .emit_ack("chat-message", vec![json!({"text": "me", "thread": root})])
        .await;
    assert_eq!(reply["ok"], true, "{reply}");
    let heard = ana.event("thread-message").await;
    assert_eq!(
        (heard[0]["text"].as_str(), heard[0]["thread"].as_u64()),
        (Some("me"), Some(root))
    );
    let deadline = Deadline::within(Duration::from_secs(10));
    eventually(deadline, "the root's count on the other node", async || {
        let updated = ana.event("message-updated").await;
        updated[0]["replies"] == 1
    })
    .await;
    let page: Value = ana.emit_ack("thread", vec![json!({"root": root})]).await;
    assert_eq!(page["replies"][0]["text"], "me", "{page}");
    assert_eq!(page["root"]["replies"], 1, "{page}");
    drop((ana, bo));
    assert!(node_a.terminate().success());
    assert!(node_b.terminate().success());
}
