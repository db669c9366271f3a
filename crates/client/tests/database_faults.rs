//! PostgreSQL failing a node, as clients see it:
//! - a node cut off from its database without being refused (its link black-holed: nothing is
//!   answered, nothing refused) knows it within a couple of seconds, refuses at once and sends
//!   its clients away; a client given every node's address has its next message acked by
//!   another node, and once the link is back nothing is lost or stored twice. The black hole
//!   is a TCP relay between the node and PostgreSQL that stops relaying (both ways) and keeps
//!   its sockets open, as a network that drops every packet looks to the node;
//! - once PostgreSQL is back from a restart, a node serves as soon as its `/healthz` says so:
//!   connections idle through the restart are checked before use.
//!
//! Needs the run's PostgreSQL, which it restarts: `scripts/pg.sh -- cargo test -p
//! charla-client --test database_faults -- --include-ignored` (what `npm test` runs).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use charla_client::ClientEvent;
use common::{free_port, options, start, start_node};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// The tests here stop PostgreSQL or cut a node off it: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A test folder and its database on the run's PostgreSQL.
fn database_of_its_own() -> (tempfile::TempDir, String) {
    assert!(
        charla_testkit::on_postgres(),
        "run it under scripts/pg.sh (CHARLA_TEST_DB)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let db = charla_testkit::db_arg_in(dir.path());
    (dir, db)
}

/// A relay from a local port to `upstream` that can be paused: while paused it neither reads
/// nor writes, and keeps every connection open.
struct BlackHole {
    port: u16,
    paused: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl BlackHole {
    async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (paused, watching) = watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(relay(in_read, out_write, watching.clone()));
                tokio::spawn(relay(out_read, in_write, watching.clone()));
            }
        });
        Self { port, paused, task }
    }

    fn cut(&self) {
        let _ = self.paused.send(true);
    }

    fn heal(&self) {
        let _ = self.paused.send(false);
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` to `to` while not paused; ends when either side closes.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut paused: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if paused.wait_for(|paused| !*paused).await.is_err() {
            return;
        }
        tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    // Bytes read before a cut are delivered after it, as a network holds them.
                    if paused.wait_for(|paused| !*paused).await.is_err()
                        || to.write_all(&buffer[..n]).await.is_err()
                    {
                        return;
                    }
                }
            },
            _ = paused.changed() => {}
        }
    }
}

/// Both nodes' logs, to read when the test fails.
fn logs(dir: &std::path::Path) -> String {
    let mut all = String::new();
    for name in ["node-a.log", "node-b.log"] {
        all.push_str("--- ");
        all.push_str(name);
        all.push('\n');
        all.push_str(&std::fs::read_to_string(dir.join(name)).unwrap_or_default());
    }
    all
}

/// The own message `text`, stored (it has a `seq`), within `wait`.
async fn acked(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<ClientEvent>,
    text: &str,
    wait: Duration,
) -> bool {
    let deadline = Instant::now() + wait;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await {
        if matches!(&event, ClientEvent::Message(m) if m.text == text && m.seq.is_some()) {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-client --test database_faults -- --include-ignored"]
async fn a_node_cut_off_from_its_database_sends_its_clients_to_another() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (dir, db) = database_of_its_own();
    let pg_port: u16 = db
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|port| port.parse().ok())
        .expect("the database URL's port");
    let hole = BlackHole::start(pg_port).await;
    let through_hole = db.replacen(&format!(":{pg_port}/"), &format!(":{}/", hole.port), 1);
    let (a, b) = (free_port(), free_port());
    let node_a = start_node(a, &through_hole, &dir.path().join("node-a.log"));
    let node_b = start_node(b, &db, &dir.path().join("node-b.log"));

    let mut opts = options(
        &format!("ws://127.0.0.1:{a}, ws://127.0.0.1:{b}"),
        "ana",
        dir.path(),
    );
    opts.device_key = Some(format!("{:064x}", 7));
    let (ana, mut events) = start(opts);
    common::until(&mut events, |e| {
        matches!(e, ClientEvent::Joined { owned: true, .. }).then_some(())
    })
    .await;
    ana.send("before the cut".to_owned()).await.expect("queued");
    assert!(
        acked(&mut events, "before the cut", Duration::from_secs(10)).await,
        "node A serves while its link works"
    );

    hole.cut();
    let cut_at = Instant::now();
    ana.send("during the cut".to_owned()).await.expect("queued");
    assert!(
        acked(&mut events, "during the cut", Duration::from_secs(15)).await,
        "acked by another node while node A is cut off\n{}",
        logs(dir.path())
    );
    let moved_in = cut_at.elapsed();
    println!("cut to the first message acked elsewhere: {moved_in:?}");
    assert!(
        moved_in < Duration::from_secs(8),
        "node A knew and sent its client away: {moved_in:?}\n{}",
        logs(dir.path())
    );

    hole.heal();
    ana.send("after the cut".to_owned()).await.expect("queued");
    assert!(acked(&mut events, "after the cut", Duration::from_secs(15)).await);
    // Node A's own write of "during the cut", held in the black hole, reaches PostgreSQL
    // after node B stored it: found by its clientId, not stored twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (reader, mut seen) = start(options(
        &format!("ws://127.0.0.1:{b}"),
        "reader",
        dir.path(),
    ));
    let history = common::until(&mut seen, |e| match e {
        ClientEvent::Joined { history, .. } => Some(history.clone()),
        _ => None,
    })
    .await;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in &history {
        *counts.entry(m.text.as_str()).or_default() += 1;
    }
    for text in ["before the cut", "during the cut", "after the cut"] {
        assert_eq!(counts.get(text), Some(&1), "{text:?} once: {counts:?}");
    }
    reader.disconnect().await;
    ana.disconnect().await;
    node_a.kill();
    node_b.kill();
}

/// Joins `name` with `key` over a plain WebSocket to the node on `port`: the server's first
/// answer to the join (what a client meets, before any retry of its own).
async fn first_join_answer(port: u16, name: &str, key: &str) -> serde_json::Value {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("opens");
    ws.send(Message::text("40")).await.expect("sends");
    let join = serde_json::json!(["join", name, { "key": key }]);
    let mut sent = false;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("an answer in time")
            .expect("open")
            .expect("a frame");
        let Message::Text(text) = frame else { continue };
        if text.as_str() == "2" {
            ws.send(Message::text("3")).await.expect("sends");
        } else if text.starts_with("40") && !sent {
            ws.send(Message::text(format!("421{join}")))
                .await
                .expect("sends");
            sent = true;
        } else if let Some(ack) = text.strip_prefix("431") {
            let args: serde_json::Value = serde_json::from_str(ack).expect("an ack");
            return args[0].clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the run's PostgreSQL: scripts/pg.sh -- cargo test -p charla-client --test database_faults -- --include-ignored"]
async fn after_a_database_restart_a_node_serves_as_soon_as_it_says_it_is_healthy() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let (dir, db) = database_of_its_own();
    let port = free_port();
    let node = start_node(port, &db, &dir.path().join("node-a.log"));
    let first = first_join_answer(port, "ana", &format!("{:064x}", 1)).await;
    assert_eq!(first["ok"], true, "{first}");
    // The name book's connection then idles through the restart.
    charla_testkit::pg_ctl(&["stop", "-m", "fast"]);
    charla_testkit::pg_ctl(&["start"]);
    assert!(charla_testkit::wait_healthy(port).await, "healthy again");
    let joined = first_join_answer(port, "bo", &format!("{:064x}", 2)).await;
    assert_eq!(
        joined["ok"],
        true,
        "healthy means serving: the first join after the restart is let in\n{joined}\n{}",
        logs(dir.path())
    );
    node.kill();
}
