//! Hostile and broken input: every malformed frame from the captured transcripts, bad payloads,
//! oversize frames, disallowed origins and wrong tokens. The offending connection is closed or
//! refused; the server and everyone else carry on.

mod common;

use charla_protocol::SocketKind;
use charla_server::ServerConfig;
use common::{open_ws, TestClient, TestServer};
use serde_json::json;

/// After an incident, a bystander still chats normally.
async fn bystanders_still_chat(server: &TestServer, bystander: &mut TestClient) {
    let mut fresh = TestClient::connect(server).await;
    fresh
        .emit_ack("join", vec![json!(format!("fresh-{}", server.addr.port()))])
        .await;
    let text = format!("still here {}", rand_suffix());
    let ack = bystander
        .emit_ack("chat-message", vec![json!({"text": text})])
        .await;
    assert_eq!(ack["ok"], json!(true), "{ack}");
    loop {
        let message = fresh.event("message").await;
        if message[0]["text"] == json!(text) {
            break;
        }
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Each malformed client frame of the transcripts (badframes.txt and main.txt) closes that
/// connection, on socketioxide's connections and on the server's own WebSocket transport alike
/// (Node closes most of them too; it ignores `42[1,2]`, `0` and `5`, which Charla treats as
/// hostile); the server keeps serving the others.
#[tokio::test]
async fn every_malformed_transcript_frame_closes_only_its_connection() {
    let server = TestServer::open().await;
    let (mut bystander, _) = TestClient::joined(&server, "bystander").await;
    let after_connect = [
        "hello",
        "7",
        "9",
        "42[\"join\"",
        "42{\"a\":1}",
        "42[1,2]",
        "4",
        "",
        "44{\"message\":\"x\"}",
        "0",
        "5",
    ];
    for frame in after_connect {
        let mut client = TestClient::connect(&server).await;
        client.send_frame(frame).await;
        assert!(
            client.is_closed_by_server().await,
            "{frame:?} should close the connection"
        );
    }
    let mut client = TestClient::connect(&server).await;
    client.send_binary(&[1, 2, 3]).await;
    assert!(
        client.is_closed_by_server().await,
        "an unexpected binary frame closes"
    );

    let mut early = TestClient::engine_only(&server).await;
    early.send_frame("42[\"join\",\"early\"]").await;
    assert!(
        early.is_closed_by_server().await,
        "an event before 40 closes"
    );

    let mut left = TestClient::connect(&server).await;
    left.send_frame("41").await;
    // As in the transcript, the event comes after the server has handled the `41` (it leaves
    // the namespace asynchronously; back to back, the event can still find it connected).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    left.send_frame("42[\"chat-message\",{\"username\":\"ghost\",\"text\":\"after 41\"}]")
        .await;
    assert!(left.is_closed_by_server().await, "an event after 41 closes");

    let mut binary = TestClient::connect(&server).await;
    binary
        .send_frame("451-[\"join\",{\"_placeholder\":true,\"num\":0}]")
        .await;
    binary
        .send_frame("42[\"chat-message\",{\"username\":\"x\",\"text\":\"still alive?\"}]")
        .await;
    assert!(
        binary.is_closed_by_server().await,
        "text while an attachment is awaited closes"
    );

    bystanders_still_chat(&server, &mut bystander).await;
    server.stop().await;
}

/// The frame that kills the tutorial's Node server: `42["chat-message",null]`. Here it closes
/// that one socket (no ack to answer with); with an ack id it is refused by ack.
#[tokio::test]
async fn the_null_payload_that_kills_node_disturbs_nobody() {
    let server = TestServer::open().await;
    let (mut bystander, _) = TestClient::joined(&server, "bystander").await;
    let (mut attacker, _) = TestClient::joined(&server, "attacker").await;
    attacker.send_frame("42[\"chat-message\",null]").await;
    assert!(attacker.is_closed_by_server().await);

    let (mut polite, _) = TestClient::joined(&server, "polite").await;
    for payload in [
        json!(null),
        json!("text"),
        json!({"text": 5}),
        json!({"text": "x", "clientId": []}),
    ] {
        let ack = polite.emit_ack("chat-message", vec![payload.clone()]).await;
        assert_eq!(ack["error"]["code"], json!("invalid_payload"), "{payload}");
    }
    let ack = polite.emit_ack("typing", vec![json!("yes")]).await;
    assert_eq!(ack["error"]["code"], json!("invalid_payload"));
    let ack = polite.emit_ack("chat-message", vec![]).await;
    assert_eq!(ack["error"]["code"], json!("invalid_payload"));

    bystanders_still_chat(&server, &mut bystander).await;
    server.stop().await;
}

/// A frame over the payload limit closes that connection; one just under it is fine.
#[tokio::test]
async fn oversize_frames_close_the_connection() {
    let config = ServerConfig {
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..Default::default()
    };
    let limit = config.max_frame_bytes();
    let server = TestServer::start(config).await;
    let (mut bystander, _) = TestClient::joined(&server, "bystander").await;

    let (mut big, _) = TestClient::joined(&server, "big").await;
    let envelope = "42[\"chat-message\",{\"text\":\"\"}]".len();
    let fits = format!(
        "42[\"chat-message\",{{\"text\":\"{}\"}}]",
        "x".repeat(limit - envelope)
    );
    assert_eq!(fits.len(), limit);
    big.send_frame(&fits).await;
    let error = big.event("error").await;
    assert_eq!(
        error[0]["code"],
        json!("message_too_long"),
        "at the limit the frame is read, the text refused"
    );

    let too_big = format!(
        "42[\"chat-message\",{{\"text\":\"{}\"}}]",
        "x".repeat(limit + 1 - envelope)
    );
    big.send_frame(&too_big).await;
    assert!(
        big.is_closed_by_server().await,
        "over the limit the connection closes"
    );

    bystanders_still_chat(&server, &mut bystander).await;
    server.stop().await;
}

/// Browser upgrades from other origins are refused; the allowed origin and native clients (no
/// Origin header) get in.
#[tokio::test]
async fn websocket_upgrades_from_disallowed_origins_are_refused() {
    let server = TestServer::open().await;
    let refused = open_ws(&server, Some("http://evil.example")).await;
    let error = refused.expect_err("refused");
    assert!(error.to_string().contains("403"), "{error}");
    assert!(open_ws(&server, Some("http://localhost:5175"))
        .await
        .is_ok());
    assert!(open_ws(&server, None).await.is_ok());
    server.stop().await;
}

/// With a token set, a connect without it or with a wrong one gets `connect_error`.
#[tokio::test]
async fn a_shared_token_guards_a_private_server() {
    let server = TestServer::start(ServerConfig {
        token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    for auth in [
        None,
        Some(json!({"token": "wrong"})),
        Some(json!({"other": 1})),
    ] {
        let client = TestClient::connect_with(&server, auth.clone()).await;
        let reply = client.connect_reply.expect("a reply");
        assert_eq!(reply.kind, SocketKind::ConnectError, "{auth:?}");
        assert_eq!(reply.data, Some(json!({"message": "invalid token"})));
    }
    let mut client = TestClient::connect_with(&server, Some(json!({"token": "s3cret"}))).await;
    assert_eq!(
        client.connect_reply.as_ref().map(|p| p.kind),
        Some(SocketKind::Connect)
    );
    let ack = client.emit_ack("join", vec![json!("insider")]).await;
    assert_eq!(ack["ok"], json!(true));
    server.stop().await;
}
