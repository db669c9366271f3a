//! Rooms, direct messages, read markers, mentions and search against a real server on
//! 127.0.0.1: each rule of the conversations issue, on the `SQLite` store (the guests' test in
//! memory), with the tutorial's client still seeing only `general`.
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use charla_protocol::chat::{
    ErrorCode, JoinAck, Refusal, RoomEntered, RoomList, SearchResults, SendAck,
};
use charla_server::ServerConfig;
use charla_testkit::{poll, Deadline};
use common::{code_of, parse, TestClient, TestServer, KEY_A, KEY_B, KEY_C};
use serde_json::{json, Value};

const QUIET: Duration = Duration::from_millis(300);
/// Messages are indexed for search once a second.
const INDEXED: Duration = Duration::from_millis(1500);

fn on_disk(dir: &tempfile::TempDir) -> ServerConfig {
    ServerConfig {
        storage: charla_testkit::storage_in(dir.path()),
        ..TestServer::unlimited()
    }
}

async fn owner_with(
    server: &TestServer,
    name: &str,
    key: &str,
    extra: Value,
) -> (TestClient, JoinAck) {
    let mut client = TestClient::connect(server).await;
    let mut args = json!({ "key": key });
    if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
        args.extend(extra.clone());
    }
    let ack: JoinAck = parse(client.emit_ack("join", vec![json!(name), args]).await);
    assert!(ack.owned, "{name} owns its name");
    (client, ack)
}

async fn owner(server: &TestServer, name: &str, key: &str) -> (TestClient, JoinAck) {
    owner_with(server, name, key, json!({})).await
}

async fn say(client: &mut TestClient, room: &str, text: &str) -> SendAck {
    parse(
        client
            .emit_ack("chat-message", vec![json!({ "text": text, "room": room })])
            .await,
    )
}

/// The `text`s of the buffered `message` events of `room` (`None`: `general`), in order.
fn texts_in(client: &mut TestClient, room: Option<&str>) -> Vec<String> {
    client
        .take_events("message")
        .into_iter()
        .filter(|args| args[0].get("room").and_then(Value::as_str) == room)
        .map(|args| args[0]["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A room is made, listed, joined, its topic changed by a member only, and left; members
/// see each other come and go; nobody outside it gets its messages.
#[tokio::test]
async fn rooms_are_created_listed_joined_talked_in_and_left() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(on_disk(&dir)).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut bo, _) = owner(&server, "bo", KEY_B).await;
    let (mut cy, _) = owner(&server, "cy", KEY_C).await;

    let made: RoomEntered = parse(
        ana.emit_ack(
            "room-create",
            vec![json!({"room": " Release-2 ", "topic": "shipping"})],
        )
        .await,
    );
    assert_eq!(made.room.room, "release-2");
    assert_eq!(made.room.members, ["ana"]);
    assert_eq!(made.room.topic, "shipping");
    for (request, code) in [
        (json!({"room": "release-2"}), ErrorCode::RoomExists),
        (json!({"room": "general"}), ErrorCode::RoomExists),
        (json!({"room": "two words"}), ErrorCode::InvalidRoom),
        (json!({"room": "dm:1"}), ErrorCode::InvalidRoom),
        (
            json!({"room": "x", "topic": "t".repeat(201)}),
            ErrorCode::InvalidPayload,
        ),
    ] {
        let refused = ana.emit_ack("room-create", vec![request.clone()]).await;
        assert_eq!(code_of(&refused), code, "{request}");
    }

    let list: RoomList = parse(bo.emit_ack("rooms", vec![]).await);
    let names: Vec<&str> = list.rooms.iter().map(|r| r.room.as_str()).collect();
    assert!(
        names.contains(&"general") && names.contains(&"release-2"),
        "{names:?}"
    );
    let listed = list
        .rooms
        .iter()
        .find(|r| r.room == "release-2")
        .expect("listed");
    assert_eq!(
        (listed.members, listed.joined, listed.topic.as_str()),
        (1, false, "shipping")
    );

    // Not a member yet: writing and paging are refused.
    let refused = bo
        .emit_ack(
            "chat-message",
            vec![json!({"text": "hi", "room": "release-2"})],
        )
        .await;
    assert_eq!(code_of(&refused), ErrorCode::NotMember);
    let refused = bo
        .emit_ack("history", vec![json!({"room": "release-2", "before": 10})])
        .await;
    assert_eq!(code_of(&refused), ErrorCode::NotMember);

    let joined: RoomEntered = parse(
        bo.emit_ack("room-join", vec![json!({"room": "release-2"})])
            .await,
    );
    assert_eq!(joined.room.members, ["ana", "bo"]);
    let change = ana.event("member-joined").await;
    assert_eq!(change[0], json!({"room": "release-2", "username": "bo"}));
    assert!(
        !ana.gets_within("room-updated", QUIET).await,
        "a member joining is a delta, not the member list again"
    );

    let first = say(&mut ana, "release-2", "ship it").await;
    let second = say(&mut bo, "release-2", "shipped").await;
    assert_eq!((first.seq, second.seq), (1, 2), "seq per room, from 1");
    assert_eq!(first.room.as_deref(), Some("release-2"));
    let said = say(&mut cy, "general", "elsewhere").await;
    assert_eq!(said.room, None, "general's ack carries no room");
    tokio::time::sleep(QUIET).await;
    for client in [&mut ana, &mut bo, &mut cy] {
        client.drain(QUIET).await;
    }
    assert_eq!(
        texts_in(&mut ana, Some("release-2")),
        ["ship it", "shipped"]
    );
    assert!(
        texts_in(&mut cy, Some("release-2")).is_empty(),
        "cy is not a member"
    );

    // The topic: members only.
    let refused = cy
        .emit_ack(
            "room-topic",
            vec![json!({"room": "release-2", "topic": "mine"})],
        )
        .await;
    assert_eq!(code_of(&refused), ErrorCode::NotMember);
    let done = bo
        .emit_ack(
            "room-topic",
            vec![json!({"room": "release-2", "topic": "v2 is out"})],
        )
        .await;
    assert_eq!(done, json!({"ok": true}));
    let topic = ana.event("room-topic").await;
    assert_eq!(
        topic[0],
        json!({"room": "release-2", "topic": "v2 is out", "username": "bo"})
    );

    // Leaving: general and DMs cannot be left; a room can, and then its messages stop.
    bo.take_events("message");
    let refused = bo
        .emit_ack("room-leave", vec![json!({"room": "general"})])
        .await;
    assert_eq!(code_of(&refused), ErrorCode::InvalidRoom);
    assert_eq!(
        bo.emit_ack("room-leave", vec![json!({"room": "release-2"})])
            .await,
        json!({"ok": true})
    );
    let left = ana.event("member-left").await;
    assert_eq!(left[0], json!({"room": "release-2", "username": "bo"}));
    say(&mut ana, "release-2", "after bo left").await;
    bo.drain(QUIET).await;
    assert!(texts_in(&mut bo, Some("release-2")).is_empty());
}

/// Guests (names nobody owns, the tutorial's `join "name"`) have `general` and nothing else;
/// the tutorial's client never sees another room's message, typing or membership.
#[tokio::test]
async fn guests_and_the_tutorial_s_client_see_only_general() {
    let server = TestServer::open().await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut guest, ack) = TestClient::joined(&server, "guest").await;
    assert!(!ack.owned);
    assert!(ack.rooms.is_empty(), "a guest is told of no rooms");
    let _: RoomEntered = parse(
        ana.emit_ack("room-create", vec![json!({"room": "ops"})])
            .await,
    );

    for (event, args) in [
        ("room-create", json!({"room": "mine"})),
        ("room-join", json!({"room": "ops"})),
        ("dm-open", json!({"username": "ana"})),
        ("history", json!({"room": "ops", "before": 5})),
        ("chat-message", json!({"room": "ops", "text": "hi"})),
        ("read", json!({"room": "general", "seq": 1})),
    ] {
        let refused = guest.emit_ack(event, vec![args]).await;
        assert_eq!(code_of(&refused), ErrorCode::NotOwned, "{event}");
    }
    // `general` works as it always did, by name too.
    let joined: RoomEntered = parse(
        guest
            .emit_ack("room-join", vec![json!({"room": "general"})])
            .await,
    );
    assert_eq!(joined.room.room, "general");

    ana.emit("typing", vec![json!({"room": "ops", "typing": true})])
        .await;
    say(&mut ana, "ops", "private to ops").await;
    say(&mut ana, "general", "hello all").await;
    guest.drain(QUIET).await;
    let messages = guest.take_events("message");
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0][0]["text"], "hello all");
    assert!(messages[0][0].get("room").is_none(), "the tutorial's shape");
    assert!(guest.take_events("typing").is_empty());
    assert!(guest.take_events("member-joined").is_empty());
}

/// A DM is the two names' only: a third owned name finds it on no path (list, join,
/// history, message, typing, read, search, a join's replay), on any device.
#[tokio::test]
async fn a_direct_message_is_invisible_to_everyone_else_on_every_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(on_disk(&dir)).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut bo, _) = owner(&server, "bo", KEY_B).await;
    let (mut eve, _) = owner(&server, "eve", KEY_C).await;

    let refused = ana
        .emit_ack("dm-open", vec![json!({"username": "nobody"})])
        .await;
    assert_eq!(code_of(&refused), ErrorCode::NoSuchUser);
    let refused = ana
        .emit_ack("dm-open", vec![json!({"username": "ANA"})])
        .await;
    assert_eq!(code_of(&refused), ErrorCode::InvalidPayload);

    let dm: RoomEntered = parse(
        ana.emit_ack("dm-open", vec![json!({"username": "Bo"})])
            .await,
    );
    let room = dm.room.room.clone();
    assert!(room.starts_with("dm:"), "{room}");
    assert_eq!(dm.room.members, ["ana", "bo"]);
    let told = bo.event("room-updated").await;
    assert_eq!(told[0]["room"], json!(room), "bo learns of the DM");
    let again: RoomEntered = parse(
        bo.emit_ack("dm-open", vec![json!({"username": "ana"})])
            .await,
    );
    assert_eq!(again.room.room, room, "one DM per pair, whoever opens it");

    say(&mut ana, &room, "the secret word is pineapple").await;
    assert_eq!(
        bo.event("message").await[0]["text"],
        "the secret word is pineapple"
    );

    let list: RoomList = parse(eve.emit_ack("rooms", vec![]).await);
    assert!(list.rooms.iter().all(|r| r.room != room), "not listed");
    for (event, args) in [
        ("room-join", json!({"room": room})),
        ("history", json!({"room": room, "before": 100})),
        ("chat-message", json!({"room": room, "text": "let me in"})),
        ("read", json!({"room": room, "seq": 1})),
        ("search", json!({"query": "pineapple", "room": room})),
        ("room-topic", json!({"room": room, "topic": "x"})),
        ("room-leave", json!({"room": room})),
    ] {
        let refused = eve.emit_ack(event, vec![args]).await;
        assert_eq!(
            code_of(&refused),
            ErrorCode::NoSuchRoom,
            "{event}: {refused}"
        );
    }
    eve.emit("typing", vec![json!({"room": room, "typing": true})])
        .await;
    tokio::time::sleep(INDEXED).await;
    let found: SearchResults = parse(
        eve.emit_ack("search", vec![json!({"query": "pineapple"})])
            .await,
    );
    assert!(found.results.is_empty(), "{found:?}");
    let found: SearchResults = parse(
        bo.emit_ack("search", vec![json!({"query": "pineapple"})])
            .await,
    );
    assert_eq!(found.results.len(), 1, "bo finds it");
    assert_eq!(found.results[0].room, room);

    // A second device of eve, asking to replay the DM on its join, gets nothing of it.
    let mut wanted = BTreeMap::new();
    wanted.insert(room.clone(), 0u64);
    let (_, ack) = owner_with(&server, "eve", KEY_C, json!({ "rooms": wanted })).await;
    assert!(ack.replay.is_empty(), "{:?}", ack.replay);
    assert!(ack.rooms.iter().all(|r| r.room != room));
    eve.drain(QUIET).await;
    assert!(eve
        .take_events("message")
        .iter()
        .all(|m| m[0]["room"] != json!(room)));
    assert!(
        !bo.gets_within("typing", QUIET).await,
        "eve's typing went nowhere"
    );
}

/// Two rooms written at once by two senders: each room's messages arrive in one order
/// (`seq` 1, 2, 3… of that room), each sender's in the order sent, none in the wrong room.
#[tokio::test]
async fn each_room_keeps_its_own_order_under_a_two_room_burst() {
    const EACH: u64 = 100;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(on_disk(&dir)).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut bo, _) = owner(&server, "bo", KEY_B).await;
    let (mut reader, _) = owner(&server, "cy", KEY_C).await;
    for room in ["red", "blue"] {
        let _: RoomEntered = parse(
            ana.emit_ack("room-create", vec![json!({"room": room})])
                .await,
        );
        let _: RoomEntered = parse(bo.emit_ack("room-join", vec![json!({"room": room})]).await);
        let _: RoomEntered = parse(
            reader
                .emit_ack("room-join", vec![json!({"room": room})])
                .await,
        );
    }
    let mut acks = Vec::new();
    for n in 0..EACH {
        for (client, who) in [(&mut ana, "ana"), (&mut bo, "bo")] {
            for room in ["red", "blue"] {
                let text = format!("{who} {room} {n}");
                acks.push(
                    client
                        .emit_ack_later("chat-message", vec![json!({"room": room, "text": text})])
                        .await,
                );
            }
        }
    }
    let mut got: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    let total = usize::try_from(EACH * 4).expect("small");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.values().map(Vec::len).sum::<usize>() < total {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {got:?}");
        let message = reader.event("message").await;
        let m = &message[0];
        let room = m["room"].as_str().expect("a room's message").to_owned();
        let text = m["text"].as_str().expect("text").to_owned();
        assert!(text.contains(&room), "{text} arrived in {room}");
        got.entry(room)
            .or_default()
            .push((m["seq"].as_u64().expect("seq"), text));
    }
    for (room, messages) in &got {
        let seqs: Vec<u64> = messages.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(
            seqs,
            (1..=EACH * 2).collect::<Vec<_>>(),
            "{room}: one order, no gap"
        );
        for who in ["ana", "bo"] {
            let mine: Vec<&String> = messages
                .iter()
                .map(|(_, text)| text)
                .filter(|t| t.starts_with(who))
                .collect();
            let expected: Vec<String> = (0..EACH).map(|n| format!("{who} {room} {n}")).collect();
            assert_eq!(
                mine,
                expected.iter().collect::<Vec<_>>(),
                "{who}'s order in {room}"
            );
        }
    }
    drop(acks);
}

/// Read markers: unread and mention counts in the join ack; `read` on one device clears the
/// other device's count (`read-marker`); writing in a room reads it; markers survive a restart.
#[tokio::test]
async fn read_markers_and_mentions_follow_the_user_across_devices_and_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(on_disk(&dir)).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut bo, _) = owner(&server, "bo", KEY_B).await;
    let _: RoomEntered = parse(
        ana.emit_ack("room-create", vec![json!({"room": "ops"})])
            .await,
    );
    let _: RoomEntered = parse(bo.emit_ack("room-join", vec![json!({"room": "ops"})]).await);
    drop(ana);
    tokio::time::sleep(QUIET).await;

    say(&mut bo, "ops", "deploy at noon").await;
    let mentioned = say(&mut bo, "ops", "@Ana can you check?").await;
    say(&mut bo, "ops", "thanks").await;
    let in_general = say(&mut bo, "general", "hi @ana and @nobody").await;
    bo.drain(QUIET).await;
    let echoed = bo.take_events("message");
    let mention = echoed
        .iter()
        .find(|m| m[0]["seq"] == json!(mentioned.seq) && m[0]["room"] == "ops")
        .expect("echoed");
    assert_eq!(mention[0]["mentions"], json!(["ana"]));
    let general = echoed
        .iter()
        .find(|m| m[0]["seq"] == json!(in_general.seq) && m[0].get("room").is_none())
        .expect("echoed");
    assert_eq!(
        general[0]["mentions"],
        json!(["ana"]),
        "only owned or online names"
    );

    // Two devices of ana (the same key twice is two connections of one name).
    let (mut phone, ack) = owner(&server, "ana", KEY_A).await;
    let (mut laptop, _) = owner(&server, "ana", KEY_A).await;
    let ops = ack
        .rooms
        .iter()
        .find(|r| r.room == "ops")
        .expect("ana's rooms");
    assert_eq!((ops.unread, ops.mentions), (3, 1), "{ops:?}");
    let general = &ack.rooms[0];
    assert_eq!(general.room, "general");
    assert_eq!((general.unread, general.mentions), (1, 1), "{general:?}");

    assert_eq!(
        phone
            .emit_ack("read", vec![json!({"room": "ops", "seq": 2})])
            .await,
        json!({"ok": true})
    );
    let marker = laptop.event("read-marker").await;
    assert_eq!(
        marker[0],
        json!({"room": "ops", "read": 2, "unread": 1, "mentions": 0})
    );
    // Never back, never past the newest.
    phone
        .emit_ack("read", vec![json!({"room": "ops", "seq": 1})])
        .await;
    phone
        .emit_ack("read", vec![json!({"room": "ops", "seq": 999})])
        .await;
    let marker = laptop.event("read-marker").await;
    assert_eq!(marker[0]["read"], 2);
    let marker = laptop.event("read-marker").await;
    assert_eq!(marker[0]["read"], 3);
    // Writing reads.
    say(&mut laptop, "general", "caught up").await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // markers are written once a second
    drop((phone, laptop, bo));
    server.stop().await;

    let server = TestServer::start(on_disk(&dir)).await;
    let (_, ack) = owner(&server, "ana", KEY_A).await;
    let states: Vec<(String, u64, u64, u64)> = ack
        .rooms
        .iter()
        .map(|r| (r.room.clone(), r.read, r.unread, r.mentions))
        .collect();
    assert_eq!(
        states,
        [("general".to_owned(), 2, 0, 0), ("ops".to_owned(), 3, 0, 0)],
        "after a restart"
    );
}

/// Reconnecting names the last `seq` per room: the ack replays what came after, room by
/// room; where retention removed some, it says `gap`; where the bound cut it, `more`.
#[tokio::test]
async fn a_join_replays_each_room_after_its_seq_and_reports_gaps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = ServerConfig {
        retention_messages: Some(5),
        ..on_disk(&dir)
    };
    let server = TestServer::start(config).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut bo, _) = owner(&server, "bo", KEY_B).await;
    for room in ["ops", "dev"] {
        let _: RoomEntered = parse(
            ana.emit_ack("room-create", vec![json!({"room": room})])
                .await,
        );
        let _: RoomEntered = parse(bo.emit_ack("room-join", vec![json!({"room": room})]).await);
    }
    for n in 1..=3 {
        say(&mut bo, "ops", &format!("ops {n}")).await;
    }
    for n in 1..=9 {
        say(&mut bo, "dev", &format!("dev {n}")).await;
    }
    drop(ana);
    let mut wanted = BTreeMap::new();
    wanted.insert("ops".to_owned(), 1u64);
    wanted.insert("dev".to_owned(), 2u64);
    wanted.insert("nope".to_owned(), 0u64);
    let (_, ack) = owner_with(&server, "ana", KEY_A, json!({ "rooms": wanted })).await;
    let ops = &ack.replay["ops"];
    let seqs = |r: &charla_protocol::chat::RoomReplay| -> Vec<u64> {
        r.messages.iter().filter_map(|m| m.seq).collect()
    };
    assert_eq!((seqs(ops), ops.more, ops.gap), (vec![2, 3], false, None));
    assert!(ops
        .messages
        .iter()
        .all(|m| m.room.as_deref() == Some("ops")));
    let dev = &ack.replay["dev"];
    assert_eq!(seqs(dev), [5, 6, 7, 8, 9], "retention keeps the newest 5");
    let gap = dev.gap.expect("dev 3 and 4 are gone");
    assert_eq!((gap.from, gap.to), (3, 4));
    assert!(!ack.replay.contains_key("nope"));

    // Paging a room's history.
    let page: charla_protocol::chat::HistoryPage = parse(
        bo.emit_ack(
            "history",
            vec![json!({"room": "dev", "before": 8, "limit": 2})],
        )
        .await,
    );
    assert_eq!(
        page.messages
            .iter()
            .filter_map(|m| m.seq)
            .collect::<Vec<_>>(),
        [6, 7]
    );
    assert!(page.more);
}

/// Search: every word must match, without case or accents, prefixes with `*`, best first
/// with a snippet, across the asker's rooms and `general`; words that look like FTS syntax
/// are plain words.
#[tokio::test]
async fn search_finds_words_in_the_asker_s_rooms_with_snippets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(on_disk(&dir)).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut guest, _) = TestClient::joined(&server, "visitor").await;
    let _: RoomEntered = parse(
        ana.emit_ack("room-create", vec![json!({"room": "ops"})])
            .await,
    );
    say(&mut ana, "ops", "The Café deploy is on Friday").await;
    say(&mut ana, "general", "lunch at the cafe?").await;
    say(&mut ana, "ops", "unrelated").await;
    tokio::time::sleep(INDEXED).await;

    let found: SearchResults = parse(ana.emit_ack("search", vec![json!({"query": "CAFE"})]).await);
    let rooms: Vec<&str> = found.results.iter().map(|r| r.room.as_str()).collect();
    assert_eq!(found.results.len(), 2, "{found:?}");
    assert!(rooms.contains(&"ops") && rooms.contains(&"general"));
    let found: SearchResults = parse(
        ana.emit_ack("search", vec![json!({"query": "dep* friday"})])
            .await,
    );
    assert_eq!(found.results.len(), 1);
    let hit = &found.results[0];
    assert_eq!(
        (hit.room.as_str(), hit.seq, hit.username.as_str()),
        ("ops", 1, "ana")
    );
    let marked: Vec<String> = hit
        .highlights
        .iter()
        .map(|[s, e]| hit.snippet.chars().skip(*s).take(e - s).collect())
        .collect();
    assert_eq!(marked, ["deploy", "Friday"]);
    for query in ["\"", "NEAR(", "a OR", "*"] {
        let answer = ana
            .emit_ack("search", vec![json!({ "query": query })])
            .await;
        assert!(
            answer["ok"] == json!(true) || code_of(&answer) == ErrorCode::InvalidPayload,
            "{query}: {answer}"
        );
    }
    let found: SearchResults = parse(
        guest
            .emit_ack("search", vec![json!({"query": "cafe"})])
            .await,
    );
    assert_eq!(found.results.len(), 1, "a guest searches general only");
    assert_eq!(found.results[0].room, "general");
}

/// A name claimed afresh (its last device forgot itself, then someone else took it) is a new
/// person: the DM and rooms of whoever had it are not theirs.
#[tokio::test]
async fn a_name_claimed_afresh_does_not_inherit_its_old_owner_s_conversations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(on_disk(&dir)).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut bo, _) = owner(&server, "bo", KEY_B).await;
    let dm: RoomEntered = parse(
        ana.emit_ack("dm-open", vec![json!({"username": "bo"})])
            .await,
    );
    let room = dm.room.room;
    say(&mut bo, &room, "just between us").await;
    let forgotten = ana.emit_ack("device-forget", vec![]).await;
    assert_eq!(forgotten["released"], json!(true));

    let (mut impostor, ack) = owner(&server, "ana", KEY_C).await;
    assert_eq!(ack.rooms.len(), 1, "general only: {:?}", ack.rooms);
    let refused = impostor
        .emit_ack("history", vec![json!({"room": room, "before": 10})])
        .await;
    assert_eq!(code_of(&refused), ErrorCode::NoSuchRoom);
    let left = bo.event("member-left").await;
    assert_eq!(left[0], json!({"room": room, "username": "ana"}));
    // A new DM between the same names is a new room.
    let fresh: RoomEntered = parse(
        impostor
            .emit_ack("dm-open", vec![json!({"username": "bo"})])
            .await,
    );
    assert_ne!(fresh.room.room, room);
    assert!(fresh.replay.messages.is_empty());
}

/// Leaving a room relays typing only as a change: a member who never typed there leaves
/// without a `typing` event; one who was typing is shown as stopped.
#[tokio::test]
async fn leaving_a_room_says_stopped_typing_only_for_someone_who_typed() {
    let server = TestServer::open().await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut bo, _) = owner(&server, "bo", KEY_B).await;
    let (mut cy, _) = owner(&server, "cy", KEY_C).await;
    let _: RoomEntered = parse(
        ana.emit_ack("room-create", vec![json!({"room": "ops"})])
            .await,
    );
    for client in [&mut bo, &mut cy] {
        let _: RoomEntered = parse(
            client
                .emit_ack("room-join", vec![json!({"room": "ops"})])
                .await,
        );
    }
    ana.drain(QUIET).await;
    ana.take_events("typing");

    assert_eq!(
        bo.emit_ack("room-leave", vec![json!({"room": "ops"})])
            .await,
        json!({"ok": true})
    );
    let left = ana.event("member-left").await;
    assert_eq!(left[0]["username"], "bo");
    ana.drain(QUIET).await;
    assert!(
        ana.take_events("typing").is_empty(),
        "bo never typed in ops: nothing to stop"
    );

    cy.emit("typing", vec![json!({"room": "ops", "typing": true})])
        .await;
    let started = ana.event("typing").await;
    assert_eq!(
        started[0],
        json!({"username": "cy", "typing": true, "room": "ops"})
    );
    assert_eq!(
        cy.emit_ack("room-leave", vec![json!({"room": "ops"})])
            .await,
        json!({"ok": true})
    );
    let stopped = ana.event("typing").await;
    assert_eq!(
        stopped[0],
        json!({"username": "cy", "typing": false, "room": "ops"})
    );
}

/// One member's churn costs the others little: `room-leave`/`room-join` in a loop and
/// `room-topic` in a loop are limited per name (ten at once, then one a second, answered
/// `rate_limited`), each change reaches the members as a small delta (`member-joined`,
/// `member-left`, `room-topic`: never the member list), and the joiner's other device learns
/// the whole room.
#[tokio::test]
async fn room_churn_is_limited_and_told_as_deltas() {
    let server = TestServer::open().await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let (mut bo, _) = owner(&server, "bo", KEY_B).await;
    let (mut bo_phone, _) = owner(&server, "bo", KEY_B).await;
    let _: RoomEntered = parse(
        ana.emit_ack("room-create", vec![json!({"room": "ops"})])
            .await,
    );
    let started = std::time::Instant::now();
    let mut refused = 0;
    for n in 0..40 {
        let (event, args) = match n % 3 {
            0 => ("room-join", json!({"room": "ops"})),
            1 => ("room-leave", json!({"room": "ops"})),
            _ => (
                "room-topic",
                json!({"room": "ops", "topic": format!("churn {n}")}),
            ),
        };
        let answer = bo.emit_ack(event, vec![args]).await;
        if let Some(refusal) = Refusal::from_ack(&answer) {
            if refusal.code == ErrorCode::RateLimited {
                refused += 1;
                assert!(
                    refusal.retry_after_ms.is_some_and(|ms| ms <= 1000),
                    "{answer}"
                );
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    ana.drain(QUIET).await;
    let told: usize = ["member-joined", "member-left", "room-topic"]
        .into_iter()
        .map(|name| ana.take_events(name).len())
        .sum();
    assert!(refused > 0, "a loop of room changes is limited");
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let allowed = 10 + seconds.ceil() as usize + 1;
    assert!(
        told <= allowed,
        "{told} events in {seconds:.1} s (at most {allowed})"
    );
    assert!(
        ana.take_events("room-updated").is_empty(),
        "no member lists"
    );
    // bo's phone learned the room as a whole when bo joined it from the laptop.
    bo_phone.drain(QUIET).await;
    let learned = bo_phone.take_events("room-updated");
    assert!(
        learned
            .iter()
            .any(|e| e[0]["room"] == "ops" && e[0]["members"].is_array()),
        "{learned:?}"
    );
}

/// Joins `name` with `key` from the local address `from`.
async fn owner_from(
    server: &TestServer,
    from: std::net::IpAddr,
    name: &str,
    key: &str,
) -> TestClient {
    let mut client = TestClient::connect_from(server, from).await;
    let ack = client
        .emit_ack("join", vec![json!(name), json!({ "key": key })])
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    client
}

/// The rooms cap cannot be filled from a few addresses in seconds: each address may make a few
/// rooms a day (then `rate_limited`, with the wait until the next); a server whose public rooms
/// are full still opens direct messages, which have a cap of their own.
#[tokio::test]
async fn room_caps_hold_per_address_per_day_and_spare_direct_messages() {
    let server = TestServer::start(ServerConfig {
        max_rooms: 4,
        rooms_per_address_per_day: 2,
        ..TestServer::unlimited()
    })
    .await;
    let here: std::net::IpAddr = [127, 0, 0, 2].into();
    let there: std::net::IpAddr = [127, 0, 0, 3].into();
    let mut ana = owner_from(&server, here, "ana", KEY_A).await;
    let mut cy = owner_from(&server, here, "cy", KEY_C).await;
    for room in ["one", "two"] {
        let made = ana
            .emit_ack("room-create", vec![json!({ "room": room })])
            .await;
        assert_eq!(made["ok"], true, "{made}");
    }
    let refused = cy
        .emit_ack("room-create", vec![json!({"room": "three"})])
        .await;
    let refusal = Refusal::from_ack(&refused).expect("refused");
    assert_eq!(refusal.code, ErrorCode::RateLimited, "{refused}");
    assert!(
        refusal.retry_after_ms.is_some_and(|ms| ms > 60_000),
        "the allowance refills over the day: {refused}"
    );
    let mut bo = owner_from(&server, there, "bo", KEY_B).await;
    let made = bo
        .emit_ack("room-create", vec![json!({"room": "three"})])
        .await;
    assert_eq!(
        made["ok"], true,
        "another address has its own allowance: {made}"
    );
    // general, one, two, three: the cap of public rooms is reached.
    let full = bo
        .emit_ack("room-create", vec![json!({"room": "four"})])
        .await;
    assert_eq!(code_of(&full), ErrorCode::LimitReached, "{full}");
    let dm: RoomEntered = parse(
        bo.emit_ack("dm-open", vec![json!({"username": "ana"})])
            .await,
    );
    assert!(dm.room.room.starts_with("dm:"), "a DM is not a public room");
}

/// A room nobody has been a member of for the idle time is removed, with its messages: the
/// name is free, joining it says `no_such_room`, search finds nothing of it, and it stays
/// gone after a restart. A room with members is kept however old.
#[tokio::test]
async fn rooms_nobody_is_in_are_removed_after_the_idle_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let offset_days = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let read = offset_days.clone();
    let clock = charla_server::Clock::from_fn(move || {
        chrono::Utc::now()
            + chrono::TimeDelta::days(read.load(std::sync::atomic::Ordering::Relaxed))
    });
    let config = ServerConfig {
        room_idle: Some(Duration::from_secs(7 * 24 * 3600)),
        clock: clock.clone(),
        ..on_disk(&dir)
    };
    let server = TestServer::start(config.clone()).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    for room in ["attic", "kitchen"] {
        let _: RoomEntered = parse(
            ana.emit_ack("room-create", vec![json!({ "room": room })])
                .await,
        );
    }
    say(&mut ana, "attic", "dusty boxes up here").await;
    assert_eq!(
        ana.emit_ack("room-leave", vec![json!({"room": "attic"})])
            .await,
        json!({"ok": true})
    );
    offset_days.store(6, std::sync::atomic::Ordering::Relaxed);
    // Two upkeeps at least (one a second) see it six days empty.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let listed: RoomList = parse(ana.emit_ack("rooms", vec![]).await);
    assert!(
        listed.rooms.iter().any(|r| r.room == "attic"),
        "six days: kept"
    );
    offset_days.store(8, std::sync::atomic::Ordering::Relaxed);
    let deadline = Deadline::within(Duration::from_secs(20)).every(Duration::from_millis(200));
    let names = poll(deadline, async || {
        let listed: RoomList = parse(ana.emit_ack("rooms", vec![]).await);
        let names: Vec<String> = listed.rooms.into_iter().map(|r| r.room).collect();
        if names.iter().any(|n| n == "attic") {
            Err(names)
        } else {
            Ok(names)
        }
    })
    .await
    .unwrap_or_else(|last| last.expect("the rooms were listed"));
    assert!(
        !names.iter().any(|n| n == "attic"),
        "eight days empty: removed ({names:?})"
    );
    assert!(
        names.iter().any(|n| n == "kitchen"),
        "a room with a member stays"
    );
    let refused = ana
        .emit_ack("room-join", vec![json!({"room": "attic"})])
        .await;
    assert_eq!(code_of(&refused), ErrorCode::NoSuchRoom, "{refused}");
    // Its removal from the store follows within the upkeep's next seconds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.stop().await;
    if let charla_server::Storage::Sqlite(path) = &config.storage {
        let db = rusqlite::Connection::open(path).expect("the database");
        let left: i64 = db
            .query_row(
                "SELECT (SELECT count(*) FROM messages WHERE text LIKE '%dusty%')
                      + (SELECT count(*) FROM rooms WHERE name LIKE '%attic%')",
                [],
                |row| row.get(0),
            )
            .expect("counted");
        assert_eq!(left, 0, "nothing of the room is kept");
    }

    let server = TestServer::start(config).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A).await;
    let again: RoomEntered = parse(
        ana.emit_ack("room-create", vec![json!({"room": "attic"})])
            .await,
    );
    assert_eq!(
        again.room.last_seq, 0,
        "a new room of that name, with nothing in it"
    );
    server.stop().await;
}
