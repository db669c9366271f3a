//! Three `charla-server` processes on one PostgreSQL, with clients of the client core spread
//! across them, each given every node's address (its own first). Two rooms (`general`, and
//! `ops`, made on one node and joined on the others), two senders on different nodes each
//! sending 500 messages to each room: 2 × 1,000. A third of the way through, one node is killed
//! with SIGKILL (its two clients, a sender among them, fail over to the next address); two
//! thirds of the way through, PostgreSQL itself is stopped (a node's `/healthz` then says
//! 503) and started again (every node loses its connections). At the end every client has every message of both rooms once, each room in
//! one order (its `seq`, without a gap) that all clients share, each sender's in the order
//! sent.
//!
//! Needs the run's PostgreSQL, which it restarts: `scripts/pg.sh -- cargo test -p
//! charla-client --test cluster -- --include-ignored` (what `npm test` runs).
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use charla_client::{ClientEvent, ClientHandle};
use charla_testkit::{eventually, health, pg_ctl, wait_healthy, Deadline};
use common::{free_port, options, start, start_node, Process};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

/// Messages each sender sends to each room.
const PER_ROOM: usize = 500;
const ROOMS: [&str; 2] = ["general", "ops"];
const SENDERS: [&str; 2] = ["ana", "cy"];
/// How long the whole exchange may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(240);

/// What one client received: room → seq → text.
type Received = BTreeMap<String, BTreeMap<u64, String>>;

/// Every node's address, starting at `first`.
fn addresses(ports: &[u16], first: usize) -> String {
    (0..ports.len())
        .map(|i| format!("ws://127.0.0.1:{}", ports[(first + i) % ports.len()]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Collects messages until both rooms hold `2 * PER_ROOM` each; counts them in `progress`.
async fn collect(
    mut events: UnboundedReceiver<ClientEvent>,
    progress: Arc<AtomicUsize>,
) -> (Received, Vec<String>) {
    let mut got = Received::new();
    let mut duplicates = Vec::new();
    let want = ROOMS.len() * SENDERS.len() * PER_ROOM;
    let deadline = Instant::now() + DEADLINE;
    let mut record = |got: &mut Received, m: charla_protocol::chat::ChatMessage| {
        let room = m.room.clone().unwrap_or_else(|| "general".to_owned());
        let seq = m.seq.expect("a stored message has a seq");
        if let Some(before) = got.entry(room.clone()).or_default().insert(seq, m.text) {
            duplicates.push(format!("{room} {seq} {before}"));
        }
    };
    while got.values().map(BTreeMap::len).sum::<usize>() < want {
        let event = tokio::time::timeout_at(deadline, events.recv()).await;
        let Ok(Some(event)) = event else {
            let counts: Vec<usize> = got.values().map(BTreeMap::len).collect();
            panic!("within {DEADLINE:?} only {counts:?} of {want} messages");
        };
        match event {
            ClientEvent::Message(m) => record(&mut got, m),
            ClientEvent::Joined { history, .. } => {
                for m in history {
                    record(&mut got, m);
                }
            }
            ClientEvent::Gap { room, from, to, .. } => {
                panic!("a gap in {room:?}: {from}..={to}");
            }
            _ => continue,
        }
        progress.store(
            got.values().map(BTreeMap::len).sum::<usize>(),
            Ordering::Relaxed,
        );
    }
    (got, duplicates)
}

/// Queues every message of `name`, alternating rooms, pausing now and then.
async fn send_all(client: ClientHandle, name: &'static str) {
    for i in 0..PER_ROOM {
        for room in ROOMS {
            let text = format!("{name} {room} {i}");
            if room == "general" {
                client.send(text).await.expect("queued");
            } else {
                client.send_to(room, text).await.expect("queued");
            }
        }
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Joins `room` through `client`, waiting for the node to hear that it was made elsewhere.
async fn join_when_known(client: &ClientHandle, room: &str) {
    eventually(
        Deadline::within(Duration::from_secs(10)).every(Duration::from_millis(100)),
        &format!("joining {room}"),
        async || client.join_room(room).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-client --test cluster -- --include-ignored"]
async fn three_nodes_lose_nothing_through_a_killed_node_and_a_restarted_database() {
    assert!(
        charla_testkit::on_postgres(),
        "run it under scripts/pg.sh (CHARLA_TEST_DB)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let db = charla_testkit::db_arg_in(dir.path());
    let ports = [free_port(), free_port(), free_port()];
    let mut nodes: Vec<Option<Process>> = ports
        .iter()
        .enumerate()
        .map(|(i, port)| {
            Some(start_node(
                *port,
                &db,
                &dir.path().join(format!("node-{i}.log")),
            ))
        })
        .collect();

    // ana on node 0, bo on node 1, cy on node 2; ana and cy send.
    let mut clients = Vec::new();
    let mut collectors = Vec::new();
    let mut progress = Vec::new();
    for (i, name) in ["ana", "bo", "cy"].into_iter().enumerate() {
        let mut opts = options(&addresses(&ports, i), name, dir.path());
        opts.device_key = Some(format!("{:064x}", i + 1));
        let (client, mut events) = start(opts);
        common::until(&mut events, |e| {
            matches!(e, ClientEvent::Joined { owned: true, .. }).then_some(())
        })
        .await;
        if i == 0 {
            client.create_room("ops", "").await.expect("ops made");
        } else {
            join_when_known(&client, "ops").await;
        }
        let counter = Arc::new(AtomicUsize::new(0));
        collectors.push(tokio::spawn(collect(events, counter.clone())));
        progress.push(counter);
        clients.push(client);
    }

    let senders = [
        tokio::spawn(send_all(clients[0].clone(), "ana")),
        tokio::spawn(send_all(clients[2].clone(), "cy")),
    ];
    let total = ROOMS.len() * SENDERS.len() * PER_ROOM;
    let watch = &progress[1];
    let until_progress = |share: usize| async move {
        eventually(
            Deadline::within(DEADLINE).every(Duration::from_millis(20)),
            &format!("progress to {share}/3"),
            async || watch.load(Ordering::Relaxed) >= total * share / 3,
        )
        .await;
    };
    until_progress(1).await;
    if let Some(node) = nodes[2].take() {
        node.kill();
    }
    until_progress(2).await;
    // PostgreSQL stopped, then started again: meanwhile the nodes say they cannot serve.
    pg_ctl(&["stop", "-m", "fast"]);
    let healthz = health(ports[1]).await;
    pg_ctl(&["start"]);
    assert!(
        healthz.starts_with("HTTP/1.1 503"),
        "a node without its database says so: {healthz}"
    );
    assert!(wait_healthy(ports[1]).await, "and is healthy again");

    for sender in senders {
        sender.await.expect("sender");
    }
    let mut seen = Vec::new();
    for (collector, name) in collectors.into_iter().zip(["ana", "bo", "cy"]) {
        let (got, duplicates) = collector.await.expect("collector");
        assert!(
            duplicates.is_empty(),
            "{name} got seqs twice: {duplicates:?}"
        );
        for room in ROOMS {
            let messages = got.get(room).cloned().unwrap_or_default();
            let want = SENDERS.len() * PER_ROOM;
            assert_eq!(
                messages.keys().copied().collect::<Vec<_>>(),
                (1..=want as u64).collect::<Vec<_>>(),
                "{name}: {room} in one order without a gap"
            );
            let mut texts: HashMap<&str, usize> = HashMap::new();
            for text in messages.values() {
                *texts.entry(text.as_str()).or_default() += 1;
            }
            assert!(
                texts.values().all(|n| *n == 1),
                "{name}: nothing twice in {room}"
            );
            for sender in SENDERS {
                let prefix = format!("{sender} {room} ");
                let own: Vec<usize> = messages
                    .values()
                    .filter_map(|text| text.strip_prefix(&prefix)?.parse().ok())
                    .collect();
                assert_eq!(
                    own,
                    (0..PER_ROOM).collect::<Vec<_>>(),
                    "{name}: {sender}'s messages in {room}, in the order sent"
                );
            }
        }
        seen.push(got);
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "every client saw one order"
    );
    for client in clients {
        client.disconnect().await;
    }
    for node in nodes.into_iter().flatten() {
        node.kill();
    }
}
