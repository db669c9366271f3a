//! charla-client against a scripted server (real sockets, frames written by hand) that does
//! on purpose what a real server does only now and then: refuses a message for now, with and
//! without `retryAfterMs`, and broadcasts messages before it answers the join.

use std::collections::BTreeSet;
use std::time::Duration;

use charla_client::{
    spawn, ClientEvent, ClientOptions, ConnectionStatus, OutboxEntry, OutboxState,
};
use charla_protocol::{EnginePacket, EventName, SocketKind, SocketPacket};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<tokio::net::TcpStream>;

/// What the script does with one request: the join, or a chat message's text.
enum Request {
    Join(u64),
    Chat { text: String, ack: u64 },
}

/// Accepts one connection and completes the handshake (heartbeat far away).
async fn accept(listener: &TcpListener) -> Ws {
    let (tcp, _) = listener.accept().await.expect("accept");
    let mut ws = tokio_tungstenite::accept_async(tcp)
        .await
        .expect("websocket");
    let open = r#"0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
    ws.send(Message::text(open)).await.expect("open");
    ws
}

/// The next join or chat message (answering the namespace connect on the way); `None` when the
/// client is gone.
async fn next_request(ws: &mut Ws) -> Option<Request> {
    while let Some(Ok(frame)) = ws.next().await {
        let Message::Text(text) = frame else { continue };
        let Ok(EnginePacket::Message(body)) = EnginePacket::decode(text.as_str()) else {
            continue;
        };
        let packet = SocketPacket::decode(&body).expect("a socket.io packet");
        if packet.kind == SocketKind::Connect {
            let connected = SocketPacket {
                kind: SocketKind::Connect,
                namespace: "/".into(),
                ack_id: None,
                attachments: 0,
                data: Some(json!({"sid": "n1"})),
            };
            send(ws, connected).await;
            continue;
        }
        let Some((EventName::Text(name), args)) = packet.event_parts() else {
            continue;
        };
        let ack = packet.ack_id.expect("charla-client asks for acks");
        match name {
            "join" => return Some(Request::Join(ack)),
            "chat-message" => {
                let text = args[0]["text"].as_str().expect("a text").to_owned();
                return Some(Request::Chat { text, ack });
            }
            _ => {}
        }
    }
    None
}

async fn send(ws: &mut Ws, packet: SocketPacket) {
    let frame = EnginePacket::Message(packet.encode()).encode();
    ws.send(Message::text(frame)).await.expect("sends");
}

fn message(seq: u64) -> Value {
    json!({"id": format!("m{seq}"), "username": "bob", "text": format!("text {seq}"),
           "timestamp": "2026-01-01T00:00:00.000Z", "seq": seq})
}

fn client(
    addr: std::net::SocketAddr,
    dir: &std::path::Path,
) -> mpsc::UnboundedReceiver<ClientEvent> {
    let options = ClientOptions::new(&format!("http://{addr}"), "alice", dir.join("outbox.json"))
        .expect("options");
    let (tx, events) = mpsc::unbounded_channel();
    let handle = spawn(options, tx);
    tokio::spawn(async move {
        for text in ["m1", "m2", "m3"] {
            handle.send(text).await.expect("queued");
        }
        // Keep the handle (and so the client) alive until the test ends.
        std::future::pending::<()>().await;
    });
    events
}

/// A refusal that means *later* leaves the message pending (never failed) and it is sent again
/// by itself, after the server's `retryAfterMs` (or a second without one), before anything
/// queued after it: the server accepts m1, m2, m3 in that order.
#[tokio::test]
async fn a_refusal_that_means_later_is_resent_after_the_hint_and_keeps_the_order() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut events = client(addr, dir.path());

    let server = tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        // (text, when it arrived, when it was refused)
        let mut arrivals: Vec<(String, Instant)> = Vec::new();
        let mut accepted = Vec::new();
        let mut refused_at = Vec::new();
        while accepted.len() < 3 {
            match next_request(&mut ws).await.expect("the client stays") {
                Request::Join(ack) => {
                    let body =
                        json!({"ok": true, "username": "alice", "users": ["alice"], "history": []});
                    send(&mut ws, SocketPacket::ack(ack, vec![body])).await;
                }
                Request::Chat { text, ack } => {
                    let first = !arrivals.iter().any(|(t, _)| *t == text);
                    arrivals.push((text.clone(), Instant::now()));
                    let reply = match text.as_str() {
                        "m1" if first => json!({"ok": false, "error": {"code": "rate_limited",
                            "message": "too many messages; retry in 300 ms", "retryAfterMs": 300}}),
                        "m2" if first => json!({"ok": false, "error": {"code": "unavailable",
                            "message": "the server could not store the message; retry"}}),
                        _ => {
                            accepted.push(text);
                            let seq = accepted.len();
                            json!({"ok": true, "id": format!("id{seq}"), "seq": seq,
                                   "timestamp": "2026-01-01T00:00:00.000Z"})
                        }
                    };
                    if reply["ok"] == false {
                        refused_at.push(Instant::now());
                    }
                    send(&mut ws, SocketPacket::ack(ack, vec![reply])).await;
                }
            }
        }
        (arrivals, accepted, refused_at)
    });

    // Until nothing in the outbox can still go by itself: empty, or only failed entries.
    let mut failed = BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        let mut queued = false;
        loop {
            let ClientEvent::Outbox { entries, .. } = events.recv().await.expect("running") else {
                continue;
            };
            let is_failed = |e: &&OutboxEntry| matches!(e.state, OutboxState::Failed { .. });
            failed.extend(entries.iter().filter(is_failed).map(|e| e.text.clone()));
            if queued && entries.iter().all(|e| is_failed(&e)) {
                return;
            }
            queued |= !entries.is_empty();
        }
    })
    .await
    .expect("the outbox settles in time");
    assert!(failed.is_empty(), "{failed:?} failed for a *later*");

    let (arrivals, accepted, refused_at) = server.await.expect("server");
    let order: Vec<&str> = arrivals.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        order,
        ["m1", "m1", "m2", "m2", "m3"],
        "each refused message goes again before anything after it"
    );
    assert_eq!(accepted, ["m1", "m2", "m3"]);
    let waited_hint = arrivals[1].1 - refused_at[0];
    let waited_default = arrivals[3].1 - refused_at[1];
    println!("waited {waited_hint:?} for a 300 ms hint, {waited_default:?} without a hint");
    assert!(
        waited_hint >= Duration::from_millis(300) && waited_hint < Duration::from_millis(900),
        "{waited_hint:?}"
    );
    assert!(
        waited_default >= Duration::from_secs(1) && waited_default < Duration::from_secs(3),
        "{waited_default:?}"
    );
}

/// Messages broadcast before the join ack are reported after the join's history: those the
/// history holds are not reported twice, the newer one is not lost.
#[tokio::test]
async fn messages_before_the_join_ack_are_reported_after_its_history() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        while let Some(request) = next_request(&mut ws).await {
            if let Request::Join(ack) = request {
                for seq in [3, 4] {
                    send(
                        &mut ws,
                        SocketPacket::event("message", vec![message(seq)], None),
                    )
                    .await;
                }
                let history: Vec<Value> = (1..=3).map(message).collect();
                let body = json!({"ok": true, "username": "alice", "users": ["alice", "bob"], "history": history});
                send(&mut ws, SocketPacket::ack(ack, vec![body])).await;
            }
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let options = ClientOptions::new(
        &format!("http://{addr}"),
        "alice",
        dir.path().join("o.json"),
    )
    .expect("options");
    let (tx, mut events) = mpsc::unbounded_channel();
    let handle = spawn(options, tx);

    let mut reported = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.recv().await {
            match event {
                ClientEvent::Joined { history, .. } => {
                    reported.extend(history.iter().filter_map(|m| m.seq));
                }
                ClientEvent::Message(m) => reported.extend(m.seq),
                ClientEvent::Status(ConnectionStatus::Connected { compat }) => assert!(!compat),
                _ => {}
            }
            if reported.len() >= 4 {
                // Leave a moment for a duplicate to show up.
                tokio::time::sleep(Duration::from_millis(200)).await;
                while let Ok(event) = events.try_recv() {
                    if let ClientEvent::Message(m) = event {
                        reported.extend(m.seq);
                    }
                }
                return;
            }
        }
    })
    .await;
    assert_eq!(
        reported,
        [1, 2, 3, 4],
        "history first, then what came early, once each"
    );
    handle.disconnect().await;
    server.abort();
}
