//! Heartbeat and backoff timing under `tokio::time::pause()`: no real sleeps. A fake server
//! (real sockets, on its own real-time thread) completes the handshake and the join, then goes
//! silent and stops listening; the client must call the link dead after pingInterval +
//! pingTimeout and then retry on socket.io-client's schedule. The clock is paused once the
//! client is connected (the handshake's real I/O must not race an auto-advancing clock); the
//! refused reconnects fail synchronously, so they do not either.

use std::time::Duration;

use charla_client::{spawn, ClientEvent, ClientOptions, ConnectionStatus};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Serves exactly one connection: handshake (announcing `ping_ms` + `timeout_ms`), join ack,
/// then silence until the test ends (chat messages get no ack).
fn silent_server(ping_ms: u64, timeout_ms: u64) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let (tcp, _) = listener.accept().await.expect("accept");
            drop(listener); // later attempts are refused
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("websocket");
            let open = format!(r#"0{{"sid":"s1","upgrades":[],"pingInterval":{ping_ms},"pingTimeout":{timeout_ms},"maxPayload":1000000}}"#);
            ws.send(Message::text(open)).await.expect("open");
            while let Some(Ok(frame)) = ws.next().await {
                let Message::Text(text) = frame else { continue };
                if text.as_str() == "40" {
                    ws.send(Message::text(r#"40{"sid":"n1"}"#)).await.expect("connect");
                } else if text.starts_with("420[\"join\"") {
                    let ack = r#"430[{"ok":true,"username":"alice","users":["alice"],"history":[]}]"#;
                    ws.send(Message::text(ack)).await.expect("ack");
                }
            }
        });
    });
    addr
}

#[tokio::test]
async fn a_silent_server_is_dropped_after_ping_interval_plus_timeout_then_backoff_applies() {
    let addr = silent_server(300, 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let options = ClientOptions::new(
        &format!("http://{addr}"),
        "alice",
        dir.path().join("outbox.json"),
    )
    .expect("options");
    let (tx, mut events) = mpsc::unbounded_channel();
    let _client = spawn(options, tx);

    let mut connected_at = None;
    let mut retries: Vec<(Instant, u32, Duration)> = Vec::new();
    while retries.len() < 6 {
        match tokio::time::timeout(Duration::from_secs(120), events.recv())
            .await
            .expect("an event")
            .expect("running")
        {
            ClientEvent::Status(ConnectionStatus::Connected { compat }) => {
                assert!(!compat);
                tokio::time::pause();
                connected_at = Some(Instant::now());
            }
            ClientEvent::Status(ConnectionStatus::Reconnecting {
                attempt,
                delay,
                reason,
            }) => {
                if retries.is_empty() {
                    assert!(reason.contains("heartbeat"), "{reason}");
                }
                retries.push((Instant::now(), attempt, delay));
            }
            _ => {}
        }
    }
    let connected_at = connected_at.expect("connected first");
    let silence = retries[0].0 - connected_at;
    // The deadline counts from the last frame, a moment before the clock was paused.
    assert!(
        silence >= Duration::from_millis(400) && silence <= Duration::from_millis(510),
        "dead after pingInterval + pingTimeout = 500 ms of silence, took {silence:?} after connecting"
    );

    println!(
        "silence {silence:?}; retries {:?}",
        retries.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>()
    );
    let attempts: Vec<u32> = retries.iter().map(|r| r.1).collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5, 6]);
    let bases = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]; // doubling, capped at 5 s below
    for ((_, attempt, delay), base) in retries.iter().zip(bases) {
        let secs = delay.as_secs_f64();
        assert!(
            secs >= (base * 0.5_f64).min(5.0) && secs <= (base * 1.5_f64).min(5.0),
            "attempt {attempt}: {secs} s for base {base}"
        );
    }
    for pair in retries.windows(2) {
        let waited = pair[1].0 - pair[0].0;
        let promised = pair[0].2;
        assert!(
            waited >= promised && waited < promised + Duration::from_millis(50),
            "waited {waited:?} for a promised {promised:?}"
        );
    }
}

/// A chat message whose ack never comes: after the ack timeout the link is considered dead
/// (well before the 45 s heartbeat), and the message is still in the outbox to be resent.
#[tokio::test]
async fn an_unanswered_message_ends_the_link_after_the_ack_timeout() {
    let addr = silent_server(25_000, 20_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let options = ClientOptions::new(
        &format!("http://{addr}"),
        "alice",
        dir.path().join("outbox.json"),
    )
    .expect("options");
    let ack_timeout = options.ack_timeout;
    let (tx, mut events) = mpsc::unbounded_channel();
    let client = spawn(options, tx);
    loop {
        if let Some(ClientEvent::Status(ConnectionStatus::Connected { .. })) = events.recv().await {
            break;
        }
    }
    tokio::time::pause();
    let sent_at = Instant::now();
    let entry = client.send("anyone there?").await.expect("queued");
    let reason = loop {
        if let ClientEvent::Status(ConnectionStatus::Reconnecting { reason, .. }) =
            events.recv().await.expect("running")
        {
            break reason;
        }
    };
    let outbox = dir.path().join("outbox.json");
    let waited = Instant::now() - sent_at;
    assert!(reason.contains("stopped answering"), "{reason}");
    assert!(
        waited >= ack_timeout && waited < ack_timeout + Duration::from_millis(50),
        "{waited:?}"
    );
    let kept = std::fs::read_to_string(outbox).expect("outbox on disk");
    assert!(
        kept.contains(&entry.client_id),
        "the message waits to be resent"
    );
}
