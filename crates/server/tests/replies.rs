//! Threads against a real server on 127.0.0.1: replies kept with their root, counted on it,
//! paged, left out of the room's timeline and unread counts of those who do not follow them,
//! listed for those who do; and the tutorial's page seeing only the replies sent to the room.
//! On the store kept on disk (`SQLite`, or PostgreSQL under `scripts/pg.sh`) and in memory.
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

mod common;

use std::time::Duration;

use charla_protocol::chat::{
    ChatMessage, ErrorCode, HistoryPage, JoinAck, RoomEntered, SendAck, ThreadList, ThreadPage,
};
use common::{code_of, parse, stores, TestClient, TestServer, KEY_A, KEY_B, KEY_C};
use serde_json::{json, Value};

const KEY_D: &str = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
const QUIET: Duration = Duration::from_millis(300);

async fn owner(server: &TestServer, name: &str, key: &str) -> (TestClient, JoinAck) {
    let mut client = TestClient::connect(server).await;
    let ack: JoinAck = parse(
        client
            .emit_ack("join", vec![json!(name), json!({ "key": key })])
            .await,
    );
    assert!(ack.owned, "{name} owns its name");
    (client, ack)
}

async fn say(client: &mut TestClient, body: Value) -> SendAck {
    parse(client.emit_ack("chat-message", vec![body]).await)
}

fn messages_of(client: &mut TestClient, event: &str) -> Vec<ChatMessage> {
    client
        .take_events(event)
        .into_iter()
        .map(|args| parse(args[0].clone()))
        .collect()
}

/// A thread from its first reply to its reading: who sees what, the root's count, a page of
/// it, the timeline without it, the counts of those who follow it and of those who do not.
#[tokio::test]
async fn a_thread_is_kept_with_its_root_and_counted_for_those_who_follow_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (store, config) in stores(&dir) {
        let server = TestServer::start(config).await;
        let (mut ana, _) = owner(&server, "ana", KEY_A).await;
        let (mut bo, _) = owner(&server, "bo", KEY_B).await;
        let (mut cy, _) = owner(&server, "cy", KEY_C).await;
        let (mut dee, _) = owner(&server, "dee", KEY_D).await;
        ana.emit_ack("room-create", vec![json!({"room": "ops"})])
            .await;
        for client in [&mut bo, &mut cy, &mut dee] {
            let joined = client
                .emit_ack("room-join", vec![json!({"room": "ops"})])
                .await;
            assert_eq!(joined["ok"], true, "{store}: {joined}");
        }
        let root = say(&mut ana, json!({"room": "ops", "text": "release plan?"})).await;
        let reply = say(
            &mut bo,
            json!({"room": "ops", "text": "looks good", "thread": root.seq}),
        )
        .await;
        // A reply to a reply answers the root.
        let nested = say(
            &mut cy,
            json!({"room": "ops", "text": "agreed", "thread": reply.seq}),
        )
        .await;
        let shared = say(
            &mut bo,
            json!({"room": "ops", "text": "shipping it", "thread": root.seq, "alsoInRoom": true}),
        )
        .await;
        let refused = ana
            .emit_ack(
                "chat-message",
                vec![json!({"room": "ops", "text": "?", "thread": 999})],
            )
            .await;
        assert_eq!(code_of(&refused), ErrorCode::NoSuchMessage, "{store}");

        assert!(!ana.gets_within("no-such-event", QUIET).await);
        let in_thread = messages_of(&mut ana, "thread-message");
        assert_eq!(
            in_thread
                .iter()
                .map(|m| (m.text.as_str(), m.thread))
                .collect::<Vec<_>>(),
            [("looks good", Some(root.seq)), ("agreed", Some(root.seq))],
            "{store}: replies only in the thread"
        );
        let in_room = messages_of(&mut ana, "message");
        let shared_seen = in_room.iter().find(|m| m.text == "shipping it");
        assert!(
            shared_seen.is_some_and(|m| m.thread == Some(root.seq) && m.also_in_room),
            "{store}: a reply sent to the room is a message of it: {in_room:?}"
        );
        // The root's count, changed with each reply (on a database shared by several nodes,
        // delivered when the database announces it).
        let counted = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let root_now: ChatMessage = parse(ana.event("message-updated").await[0].clone());
                if root_now.living.replies == 3 {
                    return root_now;
                }
            }
        })
        .await
        .expect("the root counts three replies");
        assert_eq!(counted.seq, Some(root.seq), "{store}");
        assert!(counted.living.last_reply_at.is_some());

        // The thread, paged; the timeline without its replies but the shared one.
        let page: ThreadPage = parse(
            dee.emit_ack("thread", vec![json!({"room": "ops", "root": root.seq})])
                .await,
        );
        assert_eq!(page.root.living.replies, 3, "{store}");
        let replies: Vec<u64> = page.replies.iter().filter_map(|m| m.seq).collect();
        assert_eq!(replies, [reply.seq, nested.seq, shared.seq], "{store}");
        assert!(!page.more);
        let older: ThreadPage = parse(
            dee.emit_ack(
                "thread",
                vec![json!({"room": "ops", "root": root.seq, "before": shared.seq, "limit": 1})],
            )
            .await,
        );
        assert_eq!(
            (
                older
                    .replies
                    .iter()
                    .filter_map(|m| m.seq)
                    .collect::<Vec<_>>(),
                older.more
            ),
            (vec![nested.seq], true),
            "{store}"
        );
        let timeline: HistoryPage = parse(
            dee.emit_ack("history", vec![json!({"room": "ops", "before": 99})])
                .await,
        );
        let seqs: Vec<u64> = timeline.messages.iter().filter_map(|m| m.seq).collect();
        assert_eq!(seqs, [root.seq, shared.seq], "{store}: the room's timeline");

        // Unread: dee follows nothing, so the replies only in the thread are not unread for
        // her; a reply that mentions her makes her follow it.
        let entered: RoomEntered = parse(
            dee.emit_ack("room-join", vec![json!({"room": "ops"})])
                .await,
        );
        assert_eq!(
            entered.room.unread, 2,
            "{store}: the root and the shared reply"
        );
        say(
            &mut bo,
            json!({"room": "ops", "text": "@dee can you check?", "thread": root.seq}),
        )
        .await;
        let entered: RoomEntered = parse(
            dee.emit_ack("room-join", vec![json!({"room": "ops"})])
                .await,
        );
        assert_eq!(
            (entered.room.unread, entered.room.mentions),
            (5, 1),
            "{store}: following now, every reply counts"
        );

        // The threads each follows, with what is unread in them.
        let list: ThreadList = parse(ana.emit_ack("threads", vec![]).await);
        assert_eq!(
            list.threads.len(),
            1,
            "{store}: the root's author follows it"
        );
        let followed = &list.threads[0];
        assert_eq!(
            (followed.room.as_str(), followed.root.seq, followed.unread),
            ("ops", Some(root.seq), 4),
            "{store}"
        );
        let list: ThreadList = parse(bo.emit_ack("threads", vec![]).await);
        assert_eq!(
            list.threads[0].unread, 0,
            "{store}: bo has read up to his own last reply"
        );
        let last_reply = list.threads[0].root.living.replies;
        assert_eq!(last_reply, 4);
        let read = ana
            .emit_ack(
                "read",
                vec![json!({"room": "ops", "seq": 99, "thread": root.seq})],
            )
            .await;
        assert_eq!(read["ok"], true, "{store}: {read}");
        let list: ThreadList = parse(ana.emit_ack("threads", vec![]).await);
        assert_eq!(list.threads[0].unread, 0, "{store}");

        // Its root deleted, the thread stays readable.
        let deleted = ana
            .emit_ack(
                "message-delete",
                vec![json!({"room": "ops", "seq": root.seq})],
            )
            .await;
        assert_eq!(deleted["ok"], true, "{store}: {deleted}");
        let page: ThreadPage = parse(
            cy.emit_ack("thread", vec![json!({"room": "ops", "root": root.seq})])
                .await,
        );
        assert!(page.root.living.deleted, "{store}");
        assert_eq!(page.replies.len(), 4, "{store}: every reply still there");
        server.stop().await;
    }
}

/// The tutorial's page in `general` sees the replies sent to the room and nothing else of a
/// thread; a reconnect replays the replies with the room's messages.
#[tokio::test]
async fn the_tutorial_s_page_sees_only_replies_sent_to_the_room() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (store, config) in stores(&dir) {
        let server = TestServer::start(config).await;
        let (mut ana, _) = owner(&server, "ana", KEY_A).await;
        let mut page = TestClient::connect(&server).await;
        page.emit("join", vec![json!("tutorial")]).await;
        let root = say(&mut ana, json!({"text": "lunch?"})).await;
        say(&mut ana, json!({"text": "noon", "thread": root.seq})).await;
        say(
            &mut ana,
            json!({"text": "noon, all", "thread": root.seq, "alsoInRoom": true}),
        )
        .await;
        say(&mut ana, json!({"text": "after"})).await;
        assert!(!page.gets_within("no-such-event", QUIET).await);
        let seen: Vec<String> = messages_of(&mut page, "message")
            .into_iter()
            .map(|m| m.text)
            .collect();
        assert_eq!(seen, ["lunch?", "noon, all", "after"], "{store}");

        let mut back = TestClient::connect(&server).await;
        let ack: JoinAck = parse(
            back.emit_ack(
                "join",
                vec![json!("ana"), json!({"key": KEY_A, "since": root.seq})],
            )
            .await,
        );
        let replayed: Vec<(&str, Option<u64>)> = ack
            .history
            .iter()
            .map(|m| (m.text.as_str(), m.thread))
            .collect();
        assert_eq!(
            replayed,
            [
                ("noon", Some(root.seq)),
                ("noon, all", Some(root.seq)),
                ("after", None)
            ],
            "{store}: a client catching up gets the replies too"
        );
        server.stop().await;
    }
}
