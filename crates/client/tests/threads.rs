//! Threads through the client core against a real charla-server, through cuts: a reply made
//! offline goes once (also when its answer is lost and it goes again, and when its root was
//! itself unsent), replies missed while away arrive once and are not replayed again, and
//! `thread`, `threads` and a thread's read marker answer what the name follows.
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

mod common;

use charla_client::{ChangeTarget, ClientEvent, ThreadReply};
use common::scene::Scene;
use common::{until, WAIT};
use tokio::sync::mpsc::UnboundedReceiver;

type Events = UnboundedReceiver<ClientEvent>;

/// Every event until the message `fence` of the room's timeline arrives.
async fn events_until(events: &mut Events, fence: &str) -> Vec<ClientEvent> {
    record_until(
        events,
        |e| matches!(e, ClientEvent::Message(m) if m.text == fence),
    )
    .await
}

/// Every event until the next join is reported.
async fn events_until_joined(events: &mut Events) -> Vec<ClientEvent> {
    record_until(events, |e| matches!(e, ClientEvent::Joined { .. })).await
}

/// Every event until one that `done` says is the last.
async fn record_until(
    events: &mut Events,
    done: impl Fn(&ClientEvent) -> bool,
) -> Vec<ClientEvent> {
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("client running");
            let done = done(&event);
            seen.push(event);
            if done {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never came; saw {seen:#?}"));
    seen
}

/// The `seq` of the first message of the timeline with `text`.
async fn seq_of(events: &mut Events, text: &str) -> u64 {
    until(events, |e| match e {
        ClientEvent::Message(m) if m.text == text => m.seq,
        _ => None,
    })
    .await
}

/// Waits until the outbox holds nothing.
async fn outbox_empty(events: &mut Events) {
    until(events, |e| {
        matches!(e, ClientEvent::Outbox { entries, changes } if entries.is_empty() && changes.is_empty())
            .then_some(())
    })
    .await;
}

/// (text, root, which event) of every message and thread message among `events` (a join's
/// history included).
fn said(events: &[ClientEvent]) -> Vec<(String, Option<u64>, &'static str)> {
    let mut said = Vec::new();
    for event in events {
        match event {
            ClientEvent::Message(m) => said.push((m.text.clone(), m.thread, "message")),
            ClientEvent::ThreadMessage(m) => said.push((m.text.clone(), m.thread, "thread")),
            ClientEvent::Joined {
                history,
                thread_replies,
                ..
            } => {
                assert!(
                    history.iter().all(|m| m.thread.is_none() || m.also_in_room),
                    "a join's history holds no reply only in its thread"
                );
                said.extend(
                    history
                        .iter()
                        .map(|m| (m.text.clone(), m.thread, "message")),
                );
                said.extend(
                    thread_replies
                        .iter()
                        .map(|m| (m.text.clone(), m.thread, "thread")),
                );
            }
            _ => {}
        }
    }
    said
}

/// Replies made offline (one to a message already said, whose answer is then lost so it goes
/// again, and one to a message itself still unsent) go once each after the reconnect, in the
/// thread of the right root: the others get one `ThreadMessage` each, never a room message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_made_offline_go_once_after_reconnect() {
    let mut scene = Scene::start(0).await;
    scene.bo.send("root").await.expect("queued");
    let root = seq_of(&mut scene.ana_events, "root").await;

    scene.cut_ana_off().await;
    let first = scene
        .ana
        .reply(
            "general",
            ChangeTarget::Seq { seq: root },
            "offline reply",
            false,
        )
        .await
        .expect("queued offline");
    assert_eq!(
        first.thread.as_ref().and_then(ThreadReply::root_seq),
        Some(root)
    );
    let own_root = scene.ana.send("my root").await.expect("queued");
    scene
        .ana
        .reply(
            "general",
            ChangeTarget::Unsent {
                client_id: own_root.client_id.clone(),
            },
            "answer to my root",
            true,
        )
        .await
        .expect("queued after its root");
    scene.gate.cut_on("offline reply");
    scene.gate.reopen();
    outbox_empty(&mut scene.ana_events).await;
    assert!(!scene.gate.armed(), "the first reply's answer was cut");
    scene.ana.send("fence").await.expect("queued");

    let seen = events_until(&mut scene.bo_events, "fence").await;
    let said = said(&seen);
    let own_root = seen
        .iter()
        .find_map(|e| match e {
            ClientEvent::Message(m) if m.text == "my root" => m.seq,
            _ => None,
        })
        .expect("my root said");
    assert_eq!(
        said,
        [
            ("root".to_owned(), None, "message"),
            ("offline reply".to_owned(), Some(root), "thread"),
            ("my root".to_owned(), None, "message"),
            ("answer to my root".to_owned(), Some(own_root), "message"),
            ("fence".to_owned(), None, "message"),
        ],
        "each once, in the order made, in the right thread"
    );
    let page = scene
        .bo
        .thread("general", root, None, 50)
        .await
        .expect("the thread");
    assert_eq!(page.root.living.replies, 1, "counted once");
    assert_eq!(page.replies.len(), 1);
    scene.server.stop().await;
}

/// Away while bo replied in a thread (twice only there, once to the room too) in `general`
/// and in a room, ana gets each reply once after the reconnect: the thread's as
/// `ThreadMessage`s, the room's as a message with its thread; a second reconnect replays
/// none of them again (their `seq`s moved the rooms' cursors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_missed_while_away_arrive_once() {
    let mut scene = Scene::start(0).await;
    let (bo, ana) = (scene.bo.clone(), scene.ana.clone());
    bo.create_room("ops", "").await.expect("made");
    ana.join_room("ops").await.expect("joined");
    bo.send("root").await.expect("queued");
    bo.send_to("ops", "ops root").await.expect("queued");
    let root = seq_of(&mut scene.ana_events, "root").await;
    let ops_root = seq_of(&mut scene.ana_events, "ops root").await;

    scene.cut_ana_off().await;
    let at = |seq| ChangeTarget::Seq { seq };
    bo.reply("general", at(root), "r1", false)
        .await
        .expect("queued");
    bo.reply("general", at(root), "r2", true)
        .await
        .expect("queued");
    bo.reply("ops", at(ops_root), "o1", false)
        .await
        .expect("queued");
    bo.reply("general", at(root), "r3", false)
        .await
        .expect("queued");
    outbox_empty(&mut scene.bo_events).await;
    scene.gate.reopen();
    let mut seen = events_until_joined(&mut scene.ana_events).await;
    bo.send("fence").await.expect("queued");
    seen.extend(events_until(&mut scene.ana_events, "fence").await);
    let mut got = said(&seen);
    got.sort();
    assert_eq!(
        got,
        [
            ("fence".to_owned(), None, "message"),
            ("o1".to_owned(), Some(ops_root), "thread"),
            ("r1".to_owned(), Some(root), "thread"),
            ("r2".to_owned(), Some(root), "message"),
            ("r3".to_owned(), Some(root), "thread"),
        ],
        "each reply once, the one sent to the room too as a message"
    );

    scene.cut_ana_off().await;
    scene.gate.reopen();
    let mut seen = events_until_joined(&mut scene.ana_events).await;
    bo.send("fence 2").await.expect("queued");
    seen.extend(events_until(&mut scene.ana_events, "fence 2").await);
    let again = said(&seen);
    assert_eq!(
        again,
        [("fence 2".to_owned(), None, "message")],
        "nothing replayed twice"
    );
    scene.server.stop().await;
}

/// `threads` lists the threads the name follows (it wrote the root; it replied) with their
/// unread replies, `thread` pages one, and a thread's read marker clears its unread count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_lists_what_you_follow() {
    let mut scene = Scene::start(0).await;
    let (bo, ana) = (scene.bo.clone(), scene.ana.clone());
    ana.send("ana's root").await.expect("queued");
    bo.send("bo's root").await.expect("queued");
    bo.send("nobody's thread").await.expect("queued");
    let mine = seq_of(&mut scene.bo_events, "ana's root").await;
    let bos = seq_of(&mut scene.bo_events, "bo's root").await;
    let other = seq_of(&mut scene.bo_events, "nobody's thread").await;
    assert!(ana.threads().await.expect("listed").threads.is_empty());

    let at = |seq| ChangeTarget::Seq { seq };
    bo.reply("general", at(mine), "one", false)
        .await
        .expect("queued");
    bo.reply("general", at(mine), "two", false)
        .await
        .expect("queued");
    bo.reply("general", at(other), "not ana's", false)
        .await
        .expect("queued");
    ana.reply("general", at(bos), "ana answers", false)
        .await
        .expect("queued");
    outbox_empty(&mut scene.bo_events).await;
    outbox_empty(&mut scene.ana_events).await;
    let last = until(&mut scene.ana_events, |e| match e {
        ClientEvent::ThreadMessage(m) if m.text == "two" => m.seq,
        _ => None,
    })
    .await;

    let list = ana.threads().await.expect("listed");
    let mut followed: Vec<(u64, u64)> = list
        .threads
        .iter()
        .map(|t| (t.root.seq.expect("numbered"), t.unread))
        .collect();
    followed.sort_unstable();
    assert_eq!(
        followed,
        [(mine, 2), (bos, 0)],
        "the root it wrote (2 unread) and the thread it answered, not the other"
    );

    let page = ana.thread("general", mine, None, 50).await.expect("paged");
    assert_eq!(page.root.seq, Some(mine));
    assert_eq!(page.root.living.replies, 2);
    let texts: Vec<&str> = page.replies.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["one", "two"]);
    let older = ana
        .thread("general", mine, Some(last), 50)
        .await
        .expect("paged");
    assert_eq!(older.replies.len(), 1, "before the last one");

    ana.mark_thread_read("general", mine, last)
        .await
        .expect("marked");
    let list = ana.threads().await.expect("listed");
    let unread: Vec<u64> = list
        .threads
        .iter()
        .filter(|t| t.root.seq == Some(mine))
        .map(|t| t.unread)
        .collect();
    assert_eq!(unread, [0], "read up to the last reply");
    scene.server.stop().await;
}
