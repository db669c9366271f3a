//! Living messages against a real server on 127.0.0.1: edits, deletions, reactions and pins,
//! their rules and refusals, what another member sees, what a history page and a search find,
//! and a reconnect that missed changes. Each story runs on the store kept on disk (`SQLite`, or
//! PostgreSQL under `scripts/pg.sh`) and on the one kept in memory.
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use charla_protocol::chat::{
    ChangeAck, ChangesPage, ChatMessage, ErrorCode, HistoryPage, JoinAck, PinList, RoomEntered,
    SearchResults, SendAck, MAX_REACTIONS_PER_MESSAGE,
};
use charla_testkit::eventually;
use common::{code_of, parse, stores, TestClient, TestServer, KEY_A, KEY_B, KEY_C};
use serde_json::{json, Value};

async fn owner(server: &TestServer, name: &str, key: &str, extra: Value) -> (TestClient, JoinAck) {
    let mut client = TestClient::connect(server).await;
    let mut args = json!({ "key": key });
    if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
        args.extend(extra.clone());
    }
    let ack: JoinAck = parse(client.emit_ack("join", vec![json!(name), args]).await);
    assert!(ack.owned, "{name} owns its name");
    (client, ack)
}

async fn say(client: &mut TestClient, room: &str, text: &str) -> SendAck {
    parse(
        client
            .emit_ack("chat-message", vec![json!({ "text": text, "room": room })])
            .await,
    )
}

async fn change(client: &mut TestClient, event: &str, body: Value) -> Value {
    client.emit_ack(event, vec![body]).await
}

/// The next `message-updated` a client receives.
async fn updated(client: &mut TestClient) -> ChatMessage {
    parse(client.event("message-updated").await[0].clone())
}

/// Edits, deletions, reactions and pins with every rule they keep, as the room sees them and
/// as a history page, a search and the pinned list show them afterwards.
#[tokio::test]
async fn messages_are_edited_deleted_reacted_to_and_pinned_by_the_rules() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (store, config) in stores(&dir) {
        let server = TestServer::start(config).await;
        let (mut ana, _) = owner(&server, "ana", KEY_A, json!({})).await;
        let (mut bo, _) = owner(&server, "bo", KEY_B, json!({})).await;
        let made = ana
            .emit_ack("room-create", vec![json!({"room": "ops"})])
            .await;
        assert_eq!(made["ok"], true, "{store}: {made}");
        let joined = bo.emit_ack("room-join", vec![json!({"room": "ops"})]).await;
        assert_eq!(joined["ok"], true, "{store}: {joined}");
        let typo = say(&mut ana, "ops", "deploy at noom").await;
        let other = say(&mut bo, "ops", "ok").await;
        bo.take_events("message");

        // Only the author edits; the room sees the new text, marked edited.
        let edit = json!({"room": "ops", "seq": typo.seq, "text": "deploy at noon, @bo"});
        let refused = change(&mut bo, "message-edit", edit.clone()).await;
        assert_eq!(code_of(&refused), ErrorCode::NotAuthor, "{store}");
        let acked: ChangeAck = parse(change(&mut ana, "message-edit", edit).await);
        assert_eq!((acked.seq, acked.rev), (typo.seq, 1), "{store}");
        let seen = updated(&mut bo).await;
        assert_eq!(seen.text, "deploy at noon, @bo", "{store}");
        assert_eq!(seen.room.as_deref(), Some("ops"));
        assert_eq!(seen.living.rev, 1);
        assert!(seen.living.edited_at.is_some(), "{store}: marked edited");
        assert_eq!(seen.mentions, ["bo"], "{store}: the new text's mentions");
        let too_long = json!({"room": "ops", "seq": typo.seq, "text": "x".repeat(5000)});
        let refused = change(&mut ana, "message-edit", too_long).await;
        assert_eq!(code_of(&refused), ErrorCode::MessageTooLong, "{store}");

        // Reactions: one of each emoji per name, taken back by its name, counted by emoji.
        for (who, emoji, on) in [("bo", "👍", true), ("ana", "👍", true), ("bo", "🎉", true)]
        {
            let client = if who == "ana" { &mut ana } else { &mut bo };
            let body = json!({"room": "ops", "seq": typo.seq, "emoji": emoji, "on": on});
            let acked = change(client, "reaction", body).await;
            assert_eq!(acked["ok"], true, "{store}: {acked}");
        }
        let again = change(
            &mut bo,
            "reaction",
            json!({"room": "ops", "seq": typo.seq, "emoji": "👍"}),
        )
        .await;
        assert_eq!(
            again["rev"], 4,
            "{store}: a reaction one has already takes no rev"
        );
        for bad in ["ok", "", "👍 👍", ":+1:"] {
            let body = json!({"room": "ops", "seq": typo.seq, "emoji": bad});
            let refused = change(&mut bo, "reaction", body).await;
            assert_eq!(
                code_of(&refused),
                ErrorCode::InvalidEmoji,
                "{store}: {bad:?}"
            );
        }
        let taken_back = json!({"room": "ops", "seq": typo.seq, "emoji": "🎉", "on": false});
        assert_eq!(change(&mut bo, "reaction", taken_back).await["rev"], 5);
        let mut last = updated(&mut bo).await;
        while last.living.rev < 5 {
            last = updated(&mut bo).await;
        }
        let reactions: Vec<(&str, Vec<&str>)> = last
            .living
            .reactions
            .iter()
            .map(|r| {
                (
                    r.emoji.as_str(),
                    r.names.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(reactions, [("👍", vec!["bo", "ana"])], "{store}");
        for i in 0..MAX_REACTIONS_PER_MESSAGE {
            let emoji = char::from_u32(0x1F600 + u32::try_from(i).expect("small"))
                .expect("an emoji")
                .to_string();
            let body = json!({"room": "ops", "seq": other.seq, "emoji": emoji});
            assert_eq!(change(&mut ana, "reaction", body).await["ok"], true);
        }
        let one_more = json!({"room": "ops", "seq": other.seq, "emoji": "🦀"});
        let refused = change(&mut ana, "reaction", one_more).await;
        assert_eq!(code_of(&refused), ErrorCode::LimitReached, "{store}");

        // Pins: any member; listed, newest first.
        for seq in [other.seq, typo.seq] {
            let pinned = change(&mut bo, "pin", json!({"room": "ops", "seq": seq})).await;
            assert_eq!(pinned["ok"], true, "{store}: {pinned}");
        }
        let pins: PinList = parse(bo.emit_ack("pins", vec![json!({"room": "ops"})]).await);
        let pinned: Vec<u64> = pins.messages.iter().filter_map(|m| m.seq).collect();
        assert_eq!(pinned, [typo.seq, other.seq], "{store}");
        assert_eq!(
            pins.messages[0]
                .living
                .pinned
                .as_ref()
                .map(|p| p.by.as_str()),
            Some("bo")
        );

        // Deleted: only by the author, text and reactions gone, no more changes.
        let delete = json!({"room": "ops", "seq": other.seq});
        let refused = change(&mut ana, "message-delete", delete.clone()).await;
        assert_eq!(code_of(&refused), ErrorCode::NotAuthor, "{store}");
        assert_eq!(
            change(&mut bo, "message-delete", delete.clone()).await["ok"],
            true
        );
        assert_eq!(
            change(&mut bo, "message-delete", delete).await["ok"],
            true,
            "{store}: deleting twice is no error"
        );
        let refused = change(
            &mut bo,
            "message-edit",
            json!({"room": "ops", "seq": other.seq, "text": "back"}),
        )
        .await;
        assert_eq!(code_of(&refused), ErrorCode::MessageDeleted, "{store}");
        let refused = change(
            &mut ana,
            "reaction",
            json!({"room": "ops", "seq": other.seq, "emoji": "👍"}),
        )
        .await;
        assert_eq!(code_of(&refused), ErrorCode::MessageDeleted, "{store}");
        let refused = change(&mut ana, "pin", json!({"room": "ops", "seq": 999})).await;
        assert_eq!(code_of(&refused), ErrorCode::NoSuchMessage, "{store}");

        // A history page shows each message as it is now.
        let page: HistoryPage = parse(
            bo.emit_ack("history", vec![json!({"room": "ops", "before": 99})])
                .await,
        );
        let first = &page.messages[0];
        let second = &page.messages[1];
        assert_eq!(first.text, "deploy at noon, @bo", "{store}");
        assert_eq!(first.living.reactions.len(), 1);
        assert!(first.living.pinned.is_some());
        assert!(second.living.deleted, "{store}");
        assert_eq!(second.text, "", "{store}: the text is gone");
        assert!(second.living.reactions.is_empty() && second.living.pinned.is_none());
        let pins: PinList = parse(bo.emit_ack("pins", vec![json!({"room": "ops"})]).await);
        assert_eq!(
            pins.messages.len(),
            1,
            "{store}: a deleted message is unpinned"
        );

        // Guests change nothing.
        let mut guest = TestClient::connect(&server).await;
        guest.emit_ack("join", vec![json!("gus")]).await;
        let said: SendAck = parse(
            guest
                .emit_ack("chat-message", vec![json!({"text": "hi"})])
                .await,
        );
        let refused = change(
            &mut guest,
            "message-edit",
            json!({"seq": said.seq, "text": "hello"}),
        )
        .await;
        assert_eq!(code_of(&refused), ErrorCode::NotOwned, "{store}");
        server.stop().await;
    }
}

/// A change sent again with its `clientId` (the ack was lost) is applied once, even after
/// a later change of the same message.
#[tokio::test]
async fn a_change_retried_with_its_client_id_is_applied_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (store, config) in stores(&dir) {
        let server = TestServer::start(config).await;
        let (mut ana, _) = owner(&server, "ana", KEY_A, json!({})).await;
        let said: SendAck = parse(
            ana.emit_ack("chat-message", vec![json!({"text": "v1"})])
                .await,
        );
        let first = json!({"seq": said.seq, "text": "v2", "clientId": "e-1"});
        let acked: ChangeAck = parse(change(&mut ana, "message-edit", first.clone()).await);
        let later = json!({"seq": said.seq, "text": "v3", "clientId": "e-2"});
        assert_eq!(change(&mut ana, "message-edit", later).await["ok"], true);
        let retried: ChangeAck = parse(change(&mut ana, "message-edit", first).await);
        assert_eq!(retried, acked, "{store}: answered as the first time");
        let page: HistoryPage = parse(ana.emit_ack("history", vec![json!({"before": 99})]).await);
        assert_eq!(page.messages[0].text, "v3", "{store}: not applied again");
        server.stop().await;
    }
}

/// A member away while a message was edited, another deleted and a third reacted to learns
/// every change at its reconnect, each message once, in the order of the changes; and pages
/// the rest with `changes` when there were more than a replay holds.
#[tokio::test]
async fn a_reconnect_learns_the_changes_it_missed_once_and_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (store, config) in stores(&dir) {
        let server = TestServer::start(config).await;
        let (mut ana, _) = owner(&server, "ana", KEY_A, json!({})).await;
        let (mut bo, _) = owner(&server, "bo", KEY_B, json!({})).await;
        ana.emit_ack("room-create", vec![json!({"room": "ops"})])
            .await;
        bo.emit_ack("room-join", vec![json!({"room": "ops"})]).await;
        let mut seqs = Vec::new();
        for text in ["one", "two", "three", "four"] {
            seqs.push(say(&mut ana, "ops", text).await.seq);
        }
        let in_general: SendAck = parse(
            ana.emit_ack("chat-message", vec![json!({"text": "hello all"})])
                .await,
        );
        let edited = json!({"room": "ops", "seq": seqs[0], "text": "one, fixed"});
        assert_eq!(change(&mut ana, "message-edit", edited).await["ok"], true);
        let seen = updated(&mut bo).await;
        let (seen_rev, seen_last) = (seen.living.rev, *seqs.last().expect("four"));
        drop(bo);

        // Away: a delete, a reaction, an edit of the first again, a message, a change in general.
        let deleted = json!({"room": "ops", "seq": seqs[1]});
        assert_eq!(
            change(&mut ana, "message-delete", deleted).await["ok"],
            true
        );
        let reaction = json!({"room": "ops", "seq": seqs[2], "emoji": "👀"});
        assert_eq!(change(&mut ana, "reaction", reaction).await["ok"], true);
        let again = json!({"room": "ops", "seq": seqs[0], "text": "one, fixed twice"});
        assert_eq!(change(&mut ana, "message-edit", again).await["ok"], true);
        let fifth = say(&mut ana, "ops", "five").await;
        let react_new = json!({"room": "ops", "seq": fifth.seq, "emoji": "✅"});
        assert_eq!(change(&mut ana, "reaction", react_new).await["ok"], true);
        let general = json!({"seq": in_general.seq, "emoji": "👋"});
        assert_eq!(change(&mut ana, "reaction", general).await["ok"], true);

        let (_, ack) = owner(
            &server,
            "bo",
            KEY_B,
            json!({
                "since": in_general.seq,
                "rooms": {"ops": seen_last},
                "revs": {"ops": seen_rev, "general": 0},
            }),
        )
        .await;
        let replay = ack.replay.get("ops").expect("ops is replayed");
        let changes = replay.changes.as_ref().expect("changes are replayed");
        let order: Vec<(u64, u64)> = changes
            .changes
            .iter()
            .map(|m| (m.seq.unwrap_or_default(), m.living.rev))
            .collect();
        assert_eq!(
            order,
            [(seqs[1], 2), (seqs[2], 3), (seqs[0], 4)],
            "{store}: once each, in the order of their last change; the new one comes whole"
        );
        assert_eq!(changes.changes[2].text, "one, fixed twice");
        assert!(changes.changes[0].living.deleted);
        assert!(!changes.more, "{store}");
        assert_eq!(changes.rev, 5, "{store}: where the client stands");
        let new: Vec<(&str, usize)> = replay
            .messages
            .iter()
            .map(|m| (m.text.as_str(), m.living.reactions.len()))
            .collect();
        assert_eq!(new, [("five", 1)], "{store}: a new message as it is now");
        let general = ack.changes.as_ref().expect("general's changes");
        assert_eq!(
            general.changes.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [Some(in_general.seq)],
            "{store}"
        );

        // The same from the store, as a client pages it.
        let (mut cy, _) = owner(&server, "cy", KEY_C, json!({})).await;
        cy.emit_ack("room-join", vec![json!({"room": "ops"})]).await;
        let page: ChangesPage = parse(
            cy.emit_ack(
                "changes",
                vec![json!({"room": "ops", "after": 0, "upto": seen_last})],
            )
            .await,
        );
        let paged: Vec<(u64, u64)> = page
            .changes
            .changes
            .iter()
            .map(|m| (m.seq.unwrap_or_default(), m.living.rev))
            .collect();
        assert_eq!(paged, [(seqs[1], 2), (seqs[2], 3), (seqs[0], 4)], "{store}");
        assert_eq!((page.changes.rev, page.changes.more), (5, false));
        server.stop().await;
    }
}

/// A room-join with `since` and `rev` gets the changes too (a room joined on this device
/// after a while away).
#[tokio::test]
async fn a_room_join_with_since_replays_changes() {
    let server = TestServer::start(TestServer::unlimited()).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A, json!({})).await;
    ana.emit_ack("room-create", vec![json!({"room": "ops"})])
        .await;
    let said = say(&mut ana, "ops", "x").await;
    let pin = json!({"room": "ops", "seq": said.seq});
    assert_eq!(change(&mut ana, "pin", pin).await["ok"], true);
    let entered: RoomEntered = parse(
        ana.emit_ack(
            "room-join",
            vec![json!({"room": "ops", "since": said.seq, "rev": 0})],
        )
        .await,
    );
    let changes = entered.replay.changes.expect("changes");
    assert_eq!(changes.changes.len(), 1);
    assert!(changes.changes[0].living.pinned.is_some());
    assert_eq!(changes.rev, 1);
}

/// Search finds a message by its text now, and never by an edited-away or deleted one: not
/// even in the moment before the index has caught up.
#[tokio::test]
async fn search_follows_edits_and_deletions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(stores(&dir)[0].1.clone()).await;
    let (mut ana, _) = owner(&server, "ana", KEY_A, json!({})).await;
    let mut said = Vec::new();
    for text in ["the quokka release", "the wombat release"] {
        said.push(
            parse::<SendAck>(
                ana.emit_ack("chat-message", vec![json!({"text": text})])
                    .await,
            )
            .seq,
        );
    }
    let indexed = Duration::from_secs(10);
    eventually(indexed, "both indexed", async || {
        find(&mut ana, "release").await.len() == 2
    })
    .await;
    let edit = json!({"seq": said[0], "text": "the numbat release"});
    assert_eq!(change(&mut ana, "message-edit", edit).await["ok"], true);
    let delete = json!({"seq": said[1]});
    assert_eq!(change(&mut ana, "message-delete", delete).await["ok"], true);
    // At once, before the index has caught up: never by the old texts.
    assert!(
        find(&mut ana, "quokka").await.is_empty(),
        "edited away, at once"
    );
    assert!(
        find(&mut ana, "wombat").await.is_empty(),
        "deleted, at once"
    );
    eventually(indexed, "the edit and the deletion indexed", async || {
        find(&mut ana, "numbat").await == BTreeSet::from([said[0]])
    })
    .await;
    assert!(
        find(&mut ana, "quokka").await.is_empty(),
        "the edited-away word"
    );
    assert!(
        find(&mut ana, "wombat").await.is_empty(),
        "the deleted text"
    );
    assert_eq!(find(&mut ana, "release").await, BTreeSet::from([said[0]]));
}

/// The `seq`s of the messages a search for `word` finds.
async fn find(client: &mut TestClient, word: &str) -> BTreeSet<u64> {
    let results: SearchResults = parse(
        client
            .emit_ack("search", vec![json!({"query": word})])
            .await,
    );
    results.results.iter().map(|hit| hit.seq).collect()
}
