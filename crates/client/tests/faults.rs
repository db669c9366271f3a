//! Faults, the point of this crate: a TCP proxy that cuts every connection at random moments
//! while two clients each send 500 messages. Every message must arrive exactly once at every
//! client, in one order.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use charla_client::{spawn, Backoff, ClientEvent, ClientOptions};
use charla_protocol::chat::ChatMessage;
use charla_server::ServerConfig;
use charla_testkit::TestServer;
use rand::Rng;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const PER_CLIENT: usize = 500;
const MIN_CUTS: usize = 20;

/// Forwards 127.0.0.1:port → target; `cut` kills every live connection (both directions).
struct CuttingProxy {
    addr: SocketAddr,
    live: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl CuttingProxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let live: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let registry = live.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().expect("lock").push(pipe);
            }
        });
        Self { addr, live }
    }

    /// Cuts every live connection; returns how many were cut.
    fn cut(&self) -> usize {
        let pipes: Vec<_> = std::mem::take(&mut *self.live.lock().expect("lock"));
        let live = pipes.iter().filter(|p| !p.is_finished()).count();
        for pipe in pipes {
            pipe.abort();
        }
        live
    }
}

/// Collects every message a client reports, from live events and from join histories.
async fn collect(
    mut events: mpsc::UnboundedReceiver<ClientEvent>,
    want: usize,
    outbox_empty: Arc<Mutex<bool>>,
) -> Vec<ChatMessage> {
    let mut got = Vec::new();
    while got.len() < want || !*outbox_empty.lock().expect("lock") {
        match events.recv().await {
            Some(ClientEvent::Message(m)) => got.push(m),
            Some(ClientEvent::Joined { history, .. }) => got.extend(history),
            Some(ClientEvent::Outbox { entries, .. }) => {
                if std::env::var_os("CHARLA_TRACE_FAULTS").is_some() {
                    eprintln!(
                        "got={} outbox={} states={:?}",
                        got.len(),
                        entries.len(),
                        entries
                            .iter()
                            .take(3)
                            .map(|e| (&e.text, &e.state))
                            .collect::<Vec<_>>()
                    );
                }
                *outbox_empty.lock().expect("lock") = entries.is_empty();
            }
            Some(other) => {
                if std::env::var_os("CHARLA_TRACE_FAULTS").is_some() {
                    eprintln!(
                        "{:?} got={} {other:?}",
                        std::time::Instant::now(),
                        got.len()
                    );
                }
            }
            None => break,
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cuts_lose_nothing_and_duplicate_nothing() {
    if std::env::var_os("CHARLA_TRACE_FAULTS").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                "charla_server=debug,charla_client=debug,socketioxide=info,engineioxide=info",
            )
            .with_test_writer()
            .try_init();
    }
    let server = TestServer::start(ServerConfig {
        history_limit: 5000,
        ..TestServer::unlimited()
    })
    .await;
    let proxy = CuttingProxy::start(server.addr).await;
    let dir = tempfile::tempdir().expect("temp dir");

    let mut handles = Vec::new();
    let mut collectors = Vec::new();
    for name in ["alice", "bob"] {
        let mut options = ClientOptions::new(
            &format!("http://{}", proxy.addr),
            name,
            dir.path().join(format!("{name}.json")),
        )
        .expect("options");
        options.backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(100), 0.5);
        let (tx, rx) = mpsc::unbounded_channel();
        handles.push((name, spawn(options, tx)));
        collectors.push(tokio::spawn(collect(
            rx,
            2 * PER_CLIENT,
            Arc::new(Mutex::new(false)),
        )));
    }

    let senders: Vec<_> = handles
        .iter()
        .map(|(name, handle)| {
            let (name, handle) = (*name, handle.clone());
            tokio::spawn(async move {
                for i in 0..PER_CLIENT {
                    handle.send(format!("{name} {i}")).await.expect("queued");
                    if i % 25 == 0 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            })
        })
        .collect();

    let mut cuts = 0;
    let mut cut_connections = 0;
    while cuts < MIN_CUTS || !senders.iter().all(JoinHandle::is_finished) {
        let pause = rand::rng().random_range(20..120);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        cut_connections += proxy.cut();
        cuts += 1;
    }
    for sender in senders {
        sender.await.expect("sender done");
    }

    let mut orders = Vec::new();
    for collector in collectors {
        let got = tokio::time::timeout(Duration::from_secs(60), collector)
            .await
            .expect("all delivered in time")
            .expect("collector");
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for m in &got {
            *counts.entry(m.text.as_str()).or_default() += 1;
        }
        let duplicated = counts.values().filter(|c| **c > 1).count();
        let lost = 2 * PER_CLIENT - counts.len();
        println!("cuts={cuts} connections_cut={cut_connections} messages={} received={} lost={lost} duplicated={duplicated}", 2 * PER_CLIENT, got.len());
        assert_eq!((lost, duplicated, got.len()), (0, 0, 2 * PER_CLIENT));
        let seqs: Vec<u64> = got.iter().filter_map(|m| m.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "delivered in seq order"
        );
        for name in ["alice", "bob"] {
            let own: Vec<usize> = got
                .iter()
                .filter_map(|m| m.text.strip_prefix(&format!("{name} "))?.parse().ok())
                .collect();
            assert_eq!(
                own,
                (0..PER_CLIENT).collect::<Vec<_>>(),
                "{name}'s messages in the order sent"
            );
        }
        orders.push(seqs);
    }
    assert_eq!(orders[0], orders[1], "both clients saw one order");
    assert!(cut_connections >= MIN_CUTS, "cuts hit live connections");
    server.stop().await;
}
