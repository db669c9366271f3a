//! The chat as clients see it, against a real server on 127.0.0.1:0: broadcast, presence,
//! identity rules, typing, acks, de-duplication, rate limiting.

mod common;

use std::time::Duration;

use charla_protocol::chat::{ChatMessage, ErrorCode, Refusal, SendAck};
use charla_server::ServerConfig;
use common::{TestClient, TestServer};
use serde_json::{json, Value};

fn refusal_code(ack: &Value) -> ErrorCode {
    Refusal::from_ack(ack).expect("a refusal").code
}

/// A message reaches everyone, sender included, in the tutorial's shape plus seq.
#[tokio::test]
async fn a_message_is_broadcast_to_everyone_with_id_seq_and_js_timestamp() {
    let server = TestServer::open().await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;

    let ack = alice
        .emit_ack(
            "chat-message",
            vec![json!({"username": "alice", "text": "hello"})],
        )
        .await;
    let ack: SendAck = serde_json::from_value(ack).expect("accepted");
    for client in [&mut alice, &mut bob] {
        let args = client.event("message").await;
        let raw = &args[0];
        let timestamp = raw["timestamp"].as_str().expect("string timestamp");
        assert_eq!(
            timestamp.len(),
            24,
            "{timestamp}: RFC 3339 with milliseconds"
        );
        assert!(timestamp.ends_with('Z'));
        let message: ChatMessage = serde_json::from_value(raw.clone()).expect("a chat message");
        assert_eq!(
            (message.username.as_str(), message.text.as_str()),
            ("alice", "hello")
        );
        assert_eq!(
            (message.id.as_str(), message.seq),
            (ack.id.as_str(), Some(ack.seq))
        );
    }
    server.stop().await;
}

/// Joining tells the others (not the joiner), the joiner gets the snapshot; leaving is told too.
#[tokio::test]
async fn presence_joined_users_and_left() {
    let server = TestServer::open().await;
    let (mut alice, first) = TestClient::joined(&server, "alice").await;
    assert_eq!(first.users, ["alice"]);
    let (mut bob, second) = TestClient::joined(&server, " bob ").await;
    assert_eq!(second.username, "bob", "names are trimmed");
    assert_eq!(second.users, ["alice", "bob"]);
    // Both joined the tutorial's way (no device key): guests, and the second argument says so.
    assert_eq!(
        bob.event("users").await,
        [json!(["alice", "bob"]), json!({"owned": []})]
    );
    assert_eq!(
        alice.event("user-joined").await,
        [json!("bob"), json!({"guest": true})]
    );
    assert!(
        !bob.gets_within("user-joined", Duration::from_millis(300))
            .await,
        "the joiner is not told of itself"
    );

    drop(bob);
    assert_eq!(alice.event("user-left").await, [json!("bob")]);
    server.stop().await;
}

/// Names are unique case-insensitively among connected users, and free again after leaving.
#[tokio::test]
async fn duplicate_usernames_are_refused_until_the_holder_leaves() {
    let server = TestServer::open().await;
    let (holder, _) = TestClient::joined(&server, "Alice").await;
    let mut other = TestClient::connect(&server).await;
    let ack = other.emit_ack("join", vec![json!("alice")]).await;
    assert_eq!(refusal_code(&ack), ErrorCode::UsernameTaken);
    drop(holder);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ack = other.emit_ack("join", vec![json!("alice")]).await;
    assert_eq!(ack["ok"], json!(true), "{ack}");
    server.stop().await;
}

/// Empty, overlong and control-character names are refused with a reason.
#[tokio::test]
async fn bad_usernames_are_refused() {
    let server = TestServer::open().await;
    let mut client = TestClient::connect(&server).await;
    for bad in [json!("   "), json!("x".repeat(33)), json!("a\u{1}b")] {
        let ack = client.emit_ack("join", vec![bad.clone()]).await;
        assert_eq!(refusal_code(&ack), ErrorCode::InvalidUsername, "{bad}");
    }
    let ack = client.emit_ack("join", vec![json!(42)]).await;
    assert_eq!(refusal_code(&ack), ErrorCode::InvalidPayload);
    let ack = client.emit_ack("join", vec![json!("é".repeat(32))]).await;
    assert_eq!(
        ack["ok"],
        json!(true),
        "32 characters is fine whatever their bytes"
    );
    let ack = client.emit_ack("join", vec![json!("someone-else")]).await;
    assert_eq!(refusal_code(&ack), ErrorCode::AlreadyJoined);
    server.stop().await;
}

/// Look-alikes of a joined name are refused: a fullwidth copy normalizes to the same name
/// (taken), a Cyrillic `а` mixes scripts, and invisible or bidi characters are refused.
#[tokio::test]
async fn look_alike_usernames_are_refused_next_to_the_real_one() {
    let server = TestServer::open().await;
    let (_alice, _) = TestClient::joined(&server, "alice").await;
    let cases = [
        (
            "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}",
            ErrorCode::UsernameTaken,
        ), // fullwidth
        ("ALICE", ErrorCode::UsernameTaken),
        ("\u{430}lice", ErrorCode::InvalidUsername), // Cyrillic а
        ("ali\u{200b}ce", ErrorCode::InvalidUsername), // zero-width space
        ("\u{202e}ecila", ErrorCode::InvalidUsername), // RTL override
        ("alice\u{3164}", ErrorCode::InvalidUsername), // Hangul filler
        ("alice\u{2800}", ErrorCode::InvalidUsername), // Braille blank
        ("ali\u{2028}ce", ErrorCode::InvalidUsername), // line separator
    ];
    for (name, code) in cases {
        let mut client = TestClient::connect(&server).await;
        let ack = client.emit_ack("join", vec![json!(name)]).await;
        assert_eq!(refusal_code(&ack), code, "{name:?}: {ack}");
    }
    assert_eq!(server_users(&server).await, ["alice"]);
    server.stop().await;
}

async fn server_users(server: &TestServer) -> Vec<String> {
    let (_, ack) = TestClient::joined(server, "observer").await;
    ack.users.into_iter().filter(|u| u != "observer").collect()
}

/// The author is the joined name; the `username` field in the payload cannot spoof it.
#[tokio::test]
async fn usernames_in_messages_cannot_be_spoofed() {
    let server = TestServer::open().await;
    let (mut mallory, _) = TestClient::joined(&server, "mallory").await;
    mallory
        .emit_ack(
            "chat-message",
            vec![json!({"username": "alice", "text": "I am alice"})],
        )
        .await;
    let message = mallory.event("message").await;
    assert_eq!(message[0]["username"], json!("mallory"));
    server.stop().await;
}

/// Before `join`, a message is refused: by ack when asked, else by an `error` event.
#[tokio::test]
async fn messages_before_join_are_refused() {
    let server = TestServer::open().await;
    let mut client = TestClient::connect(&server).await;
    let ack = client
        .emit_ack("chat-message", vec![json!({"text": "hi"})])
        .await;
    assert_eq!(refusal_code(&ack), ErrorCode::NotJoined);
    client
        .emit("chat-message", vec![json!({"username": "x", "text": "hi"})])
        .await;
    let error = client.event("error").await;
    assert_eq!(error[0]["code"], json!("not_joined"));
    server.stop().await;
}

/// Empty and overlong texts are refused and nobody receives them.
#[tokio::test]
async fn text_rules_are_enforced() {
    let server = TestServer::start(ServerConfig {
        max_message_chars: 10,
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..Default::default()
    })
    .await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    let ack = alice
        .emit_ack("chat-message", vec![json!({"text": "  \n"})])
        .await;
    assert_eq!(refusal_code(&ack), ErrorCode::EmptyMessage);
    let ack = alice
        .emit_ack("chat-message", vec![json!({"text": "x".repeat(11)})])
        .await;
    assert_eq!(refusal_code(&ack), ErrorCode::MessageTooLong);
    let ack = alice
        .emit_ack("chat-message", vec![json!({"text": "ñ".repeat(10)})])
        .await;
    assert_eq!(ack["ok"], json!(true));
    assert_eq!(bob.event("message").await[0]["text"], json!("ñ".repeat(10)));
    assert!(
        !bob.gets_within("message", Duration::from_millis(300)).await,
        "refused texts are not broadcast"
    );
    server.stop().await;
}

/// A retry with a known clientId is acked with the same id and seq, and broadcast once.
#[tokio::test]
async fn retries_with_a_known_client_id_are_acked_not_rebroadcast() {
    let server = TestServer::open().await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    let body = json!({"text": "once", "clientId": "c-1"});
    let first = alice.emit_ack("chat-message", vec![body.clone()]).await;
    let again = alice.emit_ack("chat-message", vec![body]).await;
    assert_eq!(first, again);
    assert_eq!(bob.event("message").await[0]["clientId"], json!("c-1"));
    assert!(
        !bob.gets_within("message", Duration::from_millis(300)).await,
        "broadcast once"
    );
    server.stop().await;
}

/// Over the rate limit a message is refused with `rate_limited`; nothing vanishes silently.
#[tokio::test]
async fn the_rate_limit_refuses_with_a_reason() {
    let server = TestServer::start(ServerConfig {
        rate_limit_per_sec: 2,
        ..Default::default()
    })
    .await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..15 {
        let ack = alice
            .emit_ack("chat-message", vec![json!({"text": format!("m{i}")})])
            .await;
        if ack["ok"] == json!(true) {
            accepted += 1;
        } else {
            assert_eq!(refusal_code(&ack), ErrorCode::RateLimited);
            limited += 1;
        }
    }
    assert_eq!(
        (accepted, limited),
        (10, 5),
        "a burst of five seconds' worth, then refusals"
    );
    let mut received = 0;
    while alice
        .gets_within("message", Duration::from_millis(200))
        .await
    {
        alice.event("message").await;
        received += 1;
    }
    assert_eq!(
        received, accepted,
        "exactly the accepted ones are delivered"
    );
    server.stop().await;
}

/// Typing changes are relayed to others (not back), only on change.
#[tokio::test]
async fn typing_is_relayed_to_the_others() {
    let server = TestServer::open().await;
    let (mut alice, _) = TestClient::joined(&server, "alice").await;
    let (mut bob, _) = TestClient::joined(&server, "bob").await;
    alice.emit("typing", vec![json!(true)]).await;
    alice.emit("typing", vec![json!(true)]).await;
    assert_eq!(
        bob.event("typing").await,
        [json!({"username": "alice", "typing": true})]
    );
    alice.emit("typing", vec![json!(false)]).await;
    assert_eq!(
        bob.event("typing").await,
        [json!({"username": "alice", "typing": false})]
    );
    assert!(
        !bob.gets_within("typing", Duration::from_millis(300)).await,
        "no repeat for an unchanged state"
    );
    assert!(
        !alice
            .gets_within("typing", Duration::from_millis(100))
            .await
    );
    server.stop().await;
}

/// The tutorial's exact frames work: a plain `join` with no ack, `chat-message` with no ack.
#[tokio::test]
async fn the_tutorial_frames_work_without_acks() {
    let server = TestServer::open().await;
    let mut a = TestClient::connect(&server).await;
    let mut b = TestClient::connect(&server).await;
    b.send_frame("42[\"join\",\"bob\"]").await;
    // The tutorial's clients read the first argument (what follows marks a guest).
    assert_eq!(a.event("user-joined").await[0], json!("bob"));
    a.send_frame("42[\"join\",\"alice\"]").await;
    b.event("user-joined").await;
    a.send_frame("42[\"chat-message\",{\"username\":\"alice\",\"text\":\"hello\"}]")
        .await;
    for client in [&mut a, &mut b] {
        let message = client.event("message").await;
        assert_eq!(
            (message[0]["username"].as_str(), message[0]["text"].as_str()),
            (Some("alice"), Some("hello"))
        );
    }
    server.stop().await;
}
