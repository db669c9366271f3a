//! Engine.IO v4 / Socket.IO v5 conformance, from the protocols' specifications and the
//! expectations of their upstream test-suite (tests written here, not copied): the close packet,
//! the heartbeat over long-polling, overlapping polls, unknown events, the ping settings, the
//! size of a poll's answer, `Origin`, and the upgrade from polling to WebSocket.

mod common;

use std::time::{Duration, Instant};

use charla_protocol::{EnginePacket, SocketKind, SocketPacket};
use charla_server::ServerConfig;
use common::{http, open_ws, PollingClient, ServerChild, TestClient, TestServer, WAIT};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A server with the upstream test-suite's heartbeat: ping every 300 ms, 200 ms to answer.
async fn fast_heartbeat() -> TestServer {
    TestServer::start(ServerConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..ServerConfig::default()
    })
    .await
}

/// A `GET` on `path` that is left pending in a task.
fn pending_get(
    addr: std::net::SocketAddr,
    path: String,
) -> tokio::task::JoinHandle<common::HttpResponse> {
    tokio::spawn(async move {
        tokio::time::timeout(WAIT, http(addr, "GET", &path, &[], b""))
            .await
            .expect("the pending poll is answered")
            .expect("poll request")
    })
}

// --- Item 14 ---

/// On a WebSocket, the Engine.IO close packet `1` ends the session: the server closes the socket and the others are told the user left.
#[tokio::test]
async fn close_packet_ends_a_websocket_session() {
    let server = TestServer::open().await;
    let mut bare = TestClient::engine_only(&server).await;
    bare.send_frame("1").await;
    assert!(bare.drain(WAIT).await, "closed before joining too");

    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    let start = Instant::now();
    bob.send_frame("1").await;
    assert!(bob.drain(WAIT).await, "the server closes the WebSocket");
    let closed_in = start.elapsed();
    assert_eq!(alice.event("user-left").await, [json!("bob")]);
    println!("item 14 (websocket): `1` -> socket closed in {closed_in:?}, user-left sent");
    server.stop().await;
}

/// Over polling, POST `1` ends the session: the pending GET answers `6`, later GETs 400, and the others are told the user left.
#[tokio::test]
async fn close_packet_ends_a_polling_session() {
    let server = TestServer::open().await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    let (mut poller, _) = PollingClient::joined(server.addr, "poller").await;
    poller.event("users").await;
    assert_eq!(bob.event("user-joined").await[0], json!("poller"));

    let pending = pending_get(server.addr, poller.path());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !pending.is_finished(),
        "nothing to say yet: the poll is held"
    );
    let post = poller.post(&["1"]).await;
    assert_eq!(
        (post.status, post.text().as_str()),
        (200, "ok"),
        "a clean close is a request well made, as Node answers it"
    );
    let answer = pending.await.expect("no panic");
    assert_eq!(
        (answer.status, answer.text().as_str()),
        (200, "6"),
        "the pending poll ends with a noop"
    );
    let later = poller.get().await;
    assert_eq!(later.status, 400, "the session is gone: {}", later.text());
    assert_eq!(bob.event("user-left").await, [json!("poller")]);
    println!(
        "item 14 (polling): POST `1` answered {} {:?}; pending GET 200 \"6\"; next GET {}",
        post.status,
        post.text(),
        later.status
    );
    server.stop().await;
}

// --- Item 15 ---

/// Over polling the first ping comes after pingInterval, not at once: after `40{sid}` the next poll is held ~300 ms and answers `2`.
#[tokio::test]
async fn the_first_polling_ping_waits_for_the_interval() {
    let server = fast_heartbeat().await;
    let start = Instant::now();
    let poller = PollingClient::open(server.addr).await;
    assert_eq!(
        (poller.open.ping_interval, poller.open.ping_timeout),
        (300, 200)
    );
    assert_eq!(poller.open.upgrades, ["websocket"]);
    let post = poller.post(&["40"]).await;
    assert_eq!((post.status, post.text().as_str()), (200, "ok"));
    let first = poller.get().await;
    let packets = first.packets();
    assert_eq!(packets.len(), 1, "only the connect reply: {packets:?}");
    assert!(packets[0].starts_with("40{\"sid\":"), "{packets:?}");

    let asked = Instant::now();
    let second = poller.get().await;
    let (held, at) = (asked.elapsed(), start.elapsed());
    assert_eq!(second.packets(), ["2"]);
    assert!(at >= Duration::from_millis(250), "first ping at {at:?}");
    let pong = poller.post(&["3"]).await;
    assert_eq!(pong.status, 200);
    let third = poller.get().await;
    let next_at = start.elapsed();
    assert_eq!(
        third.packets(),
        ["2"],
        "pong answered: the heartbeat goes on"
    );
    assert!(
        next_at >= Duration::from_millis(550),
        "second ping at {next_at:?}"
    );
    println!(
        "item 15: first ping {at:?} after the handshake (poll held {held:?}); second at {next_at:?}"
    );
    server.stop().await;
}

/// Two concurrent polls end the session (the spec's MUST): the first answers `1`, the second 400, later polls 400.
#[tokio::test]
async fn overlapping_polls_end_the_session() {
    let server = TestServer::open().await;
    let poller = PollingClient::open(server.addr).await;
    let first = pending_get(server.addr, poller.path());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = http(
        server.addr,
        "GET",
        &format!("{}&t=burst", poller.path()),
        &[],
        b"",
    )
    .await
    .expect("request");
    let first = first.await.expect("no panic");
    let later = poller.get().await;
    println!(
        "item 15: overlapping polls: first {} {:?}, second {}, later {}",
        first.status,
        first.text(),
        second.status,
        later.status
    );
    assert_eq!(second.status, 400);
    assert_eq!((first.status, first.text().as_str()), (200, "1"));
    assert_eq!(later.status, 400);
    server.stop().await;
}

/// A polling session that never answers a ping is closed after pingInterval + pingTimeout: the held poll answers `1`, the next one 400.
#[tokio::test]
async fn a_polling_session_without_pong_times_out() {
    let server = fast_heartbeat().await;
    let start = Instant::now();
    let poller = PollingClient::open(server.addr).await;
    let ping = poller.get().await;
    assert_eq!(ping.packets(), ["2"]);
    let held = poller.get().await;
    let closed_at = start.elapsed();
    assert_eq!((held.status, held.text().as_str()), (200, "1"));
    assert!(
        closed_at >= Duration::from_millis(450),
        "closed at {closed_at:?}, before pingInterval + pingTimeout"
    );
    assert_eq!(poller.get().await.status, 400);

    // As the upstream suite does it: wait, then poll.
    let idle = PollingClient::open(server.addr).await;
    tokio::time::sleep(Duration::from_millis(300 + 200 + 150)).await;
    let late = idle.get().await;
    assert_eq!(late.status, 400, "{}", late.text());
    println!(
        "item 15: no pong -> session closed {closed_at:?} after the handshake; later polls 400"
    );
    server.stop().await;
}

// --- Item 16 ---

/// An event the server does not know, sent with an ack id, is answered `unknown_event` on both transports; without an ack id it is ignored and the connection stays.
#[tokio::test]
async fn unknown_events_are_answered_when_an_ack_is_asked() {
    let server = TestServer::open().await;
    let mut ws = TestClient::connect(&server).await;
    let answer = ws.emit_ack("no-such-event", vec![json!({"x": 1})]).await;
    assert_eq!(answer["ok"], json!(false), "{answer}");
    assert_eq!(answer["error"]["code"], json!("unknown_event"), "{answer}");
    ws.emit("no-such-event", vec![json!(1)]).await;
    let joined = ws.emit_ack("join", vec![json!("ws-user")]).await;
    assert_eq!(joined["ok"], json!(true), "still connected: {joined}");

    let mut poller = PollingClient::open(server.addr).await;
    poller.connect().await;
    let answer = poller.emit_ack("no-such-event", vec![]).await;
    assert_eq!(answer["ok"], json!(false), "{answer}");
    assert_eq!(answer["error"]["code"], json!("unknown_event"), "{answer}");
    poller.emit("no-such-event", vec![json!("ignored")]).await;
    let joined = poller.emit_ack("join", vec![json!("poll-user")]).await;
    assert_eq!(joined["ok"], json!(true), "still connected: {joined}");
    println!("item 16: unknown event with ack -> {answer}");
    server.stop().await;
}

// --- Item 17 ---

/// `--ping-interval`/`--ping-timeout` and `CHARLA_PING_INTERVAL/CHARLA_PING_TIMEOUT` set the open packet's values, and the heartbeat follows them.
#[tokio::test]
async fn ping_settings_from_flags_and_environment_reach_the_open_packet() {
    let mut flags = ServerChild::spawn(
        &[
            "--db",
            ":memory:",
            "--ping-interval",
            "700",
            "--ping-timeout",
            "1500",
        ],
        &[],
    );
    let server = flags.ready().await;
    let poller = PollingClient::open(server.addr).await;
    assert_eq!(
        (poller.open.ping_interval, poller.open.ping_timeout),
        (700, 1500)
    );
    let start = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(server.url())
        .await
        .expect("websocket opens");
    let open = next_text(&mut ws).await;
    let open = EnginePacket::decode(&open)
        .expect("open packet")
        .open_payload()
        .expect("handshake");
    assert_eq!((open.ping_interval, open.ping_timeout), (700, 1500));
    assert!(
        open.upgrades.is_empty(),
        "nothing to upgrade to from a WebSocket"
    );
    let ping = next_text(&mut ws).await;
    let ping_at = start.elapsed();
    assert_eq!(ping, "2");
    assert!(
        ping_at >= Duration::from_millis(600) && ping_at < Duration::from_secs(2),
        "first WebSocket ping at {ping_at:?}"
    );
    drop(flags);

    let mut env = ServerChild::spawn(
        &["--db", ":memory:"],
        &[
            ("CHARLA_PING_INTERVAL", "2345"),
            ("CHARLA_PING_TIMEOUT", "3456"),
        ],
    );
    let server = env.ready().await;
    let poller = PollingClient::open(server.addr).await;
    assert_eq!(
        (poller.open.ping_interval, poller.open.ping_timeout),
        (2345, 3456)
    );
    println!(
        "item 17: flags -> pingInterval 700/pingTimeout 1500 (first ping at {ping_at:?}); env -> 2345/3456"
    );
}

async fn next_text(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> String {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("the socket stays open")
            .expect("a frame");
        match message {
            Message::Text(text) => return text.to_string(),
            Message::Close(_) => panic!("closed"),
            _ => {}
        }
    }
}

// --- Item 18 ---

/// A poll answers at most 16 packets; a burst of 60 messages arrives complete and in order over several polls.
#[tokio::test]
async fn a_poll_carries_at_most_16_packets() {
    let server = TestServer::open().await;
    let (mut poller, _) = PollingClient::joined(server.addr, "poller").await;
    poller.event("users").await;
    let (mut sender, _) = TestClient::joined(&server, "sender").await;
    assert_eq!(poller.event("user-joined").await[0], json!("sender"));

    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(
            sender
                .emit_ack_later("chat-message", vec![json!({"text": format!("burst {i}")})])
                .await,
        );
    }
    for id in ids {
        assert_eq!(sender.ack(id).await["ok"], json!(true));
    }
    let mut sizes = Vec::new();
    let mut texts = Vec::new();
    while texts.len() < 60 {
        assert!(sizes.len() < 60, "the burst never arrived whole");
        let packets = poller.pump().await.expect("the session stays open");
        sizes.push(packets.len());
        texts.extend(
            poller
                .take_events("message")
                .into_iter()
                .map(|m| m[0]["text"].as_str().unwrap_or_default().to_owned()),
        );
    }
    println!("item 18: 60 messages arrived in polls of {sizes:?} packets");
    assert!(sizes.iter().all(|&n| n <= 16), "{sizes:?}");
    assert_eq!(
        sizes.first(),
        Some(&16),
        "the queue held more than one poll's worth"
    );
    assert_eq!(
        texts,
        (0..60).map(|i| format!("burst {i}")).collect::<Vec<_>>(),
        "all of them, in order"
    );
    server.stop().await;
}

/// An `Origin` equal to the request's `Host` is accepted (WebSocket and polling); any other origin not allowed is 403.
#[tokio::test]
async fn an_origin_naming_the_host_is_accepted_and_others_refused() {
    let server = TestServer::open().await;
    let same = format!("http://{}", server.addr);
    let other_port = format!("http://127.0.0.1:{}", server.addr.port().wrapping_add(1));

    let mut ws = open_ws(&server, Some(&same))
        .await
        .expect("same origin: accepted");
    assert!(next_text(&mut ws).await.starts_with("0{"));
    for refused in [other_port.as_str(), "http://evil.example", "null"] {
        let error = open_ws(&server, Some(refused)).await.expect_err(refused);
        assert!(error.to_string().contains("403"), "{refused}: {error}");
    }

    let handshake = "/socket.io/?EIO=4&transport=polling";
    let open = http(server.addr, "GET", handshake, &[("Origin", &same)], b"")
        .await
        .expect("request");
    assert_eq!(open.status, 200, "{}", open.text());
    let sid = EnginePacket::decode(&open.text())
        .expect("open packet")
        .open_payload()
        .expect("handshake")
        .sid;
    let session = format!("{handshake}&sid={sid}");
    let post = http(server.addr, "POST", &session, &[("Origin", &same)], b"40")
        .await
        .expect("request");
    assert_eq!((post.status, post.text().as_str()), (200, "ok"));
    let poll = http(server.addr, "GET", &session, &[("Origin", &same)], b"")
        .await
        .expect("request");
    assert!(poll.text().starts_with("40{"), "{}", poll.text());
    for refused in [other_port.as_str(), "http://evil.example"] {
        let response = http(server.addr, "GET", handshake, &[("Origin", refused)], b"")
            .await
            .expect("request");
        assert_eq!(response.status, 403, "{refused}");
        let response = http(server.addr, "POST", &session, &[("Origin", refused)], b"3")
            .await
            .expect("request");
        assert_eq!(response.status, 403, "{refused}");
    }
    println!("item 18: Origin {same} (= Host) accepted on WebSocket and polling; {other_port}, evil.example refused 403");
    server.stop().await;
}

// --- Upgrade ---

/// A polling session upgrades to WebSocket (`2probe`/`3probe`, the pending poll answers `6`, `5`); messages then flow on the WebSocket and polls with that sid get 400.
#[tokio::test]
async fn polling_upgrades_to_websocket() {
    let server = TestServer::open().await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    let (mut poller, _) = PollingClient::joined(server.addr, "upgrader").await;
    poller.event("users").await;
    bob.event("user-joined").await;

    let pending = pending_get(server.addr, poller.path());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket&sid={}",
        server.addr, poller.sid
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the upgrade is accepted");
    ws.send(Message::text("2probe")).await.expect("send");
    assert_eq!(next_text(&mut ws).await, "3probe");
    let noop = pending.await.expect("no panic");
    assert_eq!((noop.status, noop.text().as_str()), (200, "6"));
    ws.send(Message::text("5")).await.expect("send");

    let event = SocketPacket::event(
        "chat-message",
        vec![json!({"text": "over the websocket"})],
        Some(7),
    );
    ws.send(Message::text(format!("4{}", event.encode())))
        .await
        .expect("send");
    let (mut acked, mut echoed) = (None::<Value>, false);
    while acked.is_none() || !echoed {
        let text = next_text(&mut ws).await;
        match EnginePacket::decode(&text).expect("decodes") {
            EnginePacket::Ping(_) => ws.send(Message::text("3")).await.expect("send"),
            EnginePacket::Message(body) => {
                let packet = SocketPacket::decode(&body).expect("decodes");
                match packet.kind {
                    SocketKind::Ack if packet.ack_id == Some(7) => {
                        acked = packet.data.and_then(|d| d.get(0).cloned());
                    }
                    SocketKind::Event => {
                        echoed |= packet
                            .data
                            .as_ref()
                            .and_then(|d| d.get(1))
                            .is_some_and(|m| m["text"] == json!("over the websocket"));
                    }
                    _ => {}
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(acked.as_ref().map(|a| &a["ok"]), Some(&json!(true)));
    let seen = bob.event("message").await;
    assert_eq!(
        (seen[0]["username"].as_str(), seen[0]["text"].as_str()),
        (Some("upgrader"), Some("over the websocket"))
    );
    let poll = poller.get().await;
    assert_eq!(poll.status, 400, "polls after the upgrade: {}", poll.text());
    let post = poller.post(&["3"]).await;
    assert_eq!(post.status, 400, "posts after the upgrade: {}", post.text());
    println!("item upgrade: 2probe/3probe, pending poll \"6\", 5; ack {acked:?} on the WebSocket; later poll {}, post {}", poll.status, post.status);
    server.stop().await;
}

/// A WebSocket naming a session a WebSocket carries already is opened and closed at once, as
/// the reference server does (the upstream suite waits for its `close`; a `400` fails it), and
/// the session goes on undisturbed; a session id nobody has is `400` "Session ID unknown".
#[tokio::test]
async fn a_second_websocket_for_an_upgraded_session_is_opened_and_closed() {
    let server = TestServer::open().await;
    let (mut poller, _) = PollingClient::joined(server.addr, "upgrader").await;
    poller.event("users").await;
    let url = format!(
        "ws://{}/socket.io/?EIO=4&transport=websocket&sid={}",
        server.addr, poller.sid
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("the upgrade is accepted");
    ws.send(Message::text("2probe")).await.expect("send");
    assert_eq!(next_text(&mut ws).await, "3probe");
    ws.send(Message::text("5")).await.expect("send");

    let (mut second, response) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("the second WebSocket opens (101), as the reference server answers");
    assert_eq!(response.status(), 101);
    let closed = tokio::time::timeout(WAIT, second.next())
        .await
        .expect("closed in time");
    assert!(
        matches!(closed, Some(Ok(Message::Close(_))) | None),
        "then closed: {closed:?}"
    );

    // The first WebSocket still carries the session.
    let event = SocketPacket::event("chat-message", vec![json!({"text": "still here"})], Some(3));
    ws.send(Message::text(format!("4{}", event.encode())))
        .await
        .expect("send");
    loop {
        let text = next_text(&mut ws).await;
        if text == "2" {
            ws.send(Message::text("3")).await.expect("send");
        } else if text.starts_with("433") {
            assert!(text.contains("\"ok\":true"), "{text}");
            break;
        }
    }

    let unknown = http(
        server.addr,
        "GET",
        "/socket.io/?EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAAAA",
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        b"",
    )
    .await
    .expect("answered");
    assert_eq!(unknown.status, 400, "{}", unknown.text());
    assert!(unknown.text().contains("\"code\":1"), "{}", unknown.text());
    server.stop().await;
}

/// `41` on the main namespace leaves the chat, not the Engine.IO session: the others are told
/// the user left, the pings go on, and a `40` connects again (then a join); as the reference
/// server does, and the upstream suite expects a ping after `41`.
#[tokio::test]
async fn leaving_the_main_namespace_keeps_the_session_and_its_heartbeat() {
    // A ping a second, a second to answer it: pings to count, and time to answer them on a
    // loaded machine.
    let server = TestServer::start(ServerConfig {
        ping_interval: Duration::from_secs(1),
        ping_timeout: Duration::from_secs(1),
        ..TestServer::unlimited()
    })
    .await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    bob.event("user-joined").await;
    alice.send_frame("41").await;
    assert_eq!(bob.event("user-left").await, [json!("alice")]);
    // bob goes on answering his pings meanwhile.
    let bob_reads = tokio::spawn(async move {
        let closed = bob.drain(Duration::from_millis(4700)).await;
        (bob, closed)
    });
    let mut pings = 0;
    let until = Instant::now() + Duration::from_millis(4500);
    while Instant::now() < until {
        match alice.next_raw(Duration::from_millis(100)).await {
            Some(Some(frame)) if frame == "2" => {
                pings += 1;
                alice.send_frame("3").await;
            }
            Some(Some(_)) | None => {}
            Some(None) => panic!("the session ended after 41"),
        }
    }
    let (mut bob, closed) = bob_reads.await.expect("bob's reader");
    assert!(!closed, "bob stays");
    assert!(
        pings >= 2,
        "the heartbeat goes on after 41 ({pings} pings in 4.5 s)"
    );
    alice.send_frame("40").await;
    let reply = alice.next_packet().await.expect("connect reply");
    assert_eq!(reply.kind, SocketKind::Connect, "{reply:?}");
    let ack = alice.emit_ack("join", vec![json!("alice")]).await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(bob.event("user-joined").await[0], json!("alice"));
    server.stop().await;
}

/// A session that left the main namespace and does not connect again is held no longer than
/// one that never joined: it is closed after the join timeout.
#[tokio::test]
async fn a_session_that_left_and_stays_out_is_closed_after_the_join_timeout() {
    // No ping within the test: a close can only be the join deadline's.
    let server = TestServer::start(ServerConfig {
        join_timeout: Duration::from_secs(1),
        ping_interval: Duration::from_secs(60),
        ping_timeout: Duration::from_secs(60),
        ..TestServer::unlimited()
    })
    .await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    assert!(
        !alice.drain(Duration::from_millis(1500)).await,
        "joined: held past the join timeout"
    );
    alice.send_frame("41").await;
    let left = Instant::now();
    let mut closed = false;
    while left.elapsed() < Duration::from_secs(10) {
        match alice.next_raw(Duration::from_millis(500)).await {
            Some(Some(_)) | None => {}
            Some(None) => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "closed after the join timeout");
    let waited = left.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "not before it: {waited:?}"
    );
    server.stop().await;
}
