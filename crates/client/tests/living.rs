//! Living messages through the client core against a real charla-server, through cuts: changes
//! made offline go once the server is back (kept across a restart, applied once when their
//! answer is lost and they go again), a change to a message still unsent follows it with the
//! `seq` its ack gave, a client that was away hears of each changed message once, many changes
//! missed are paged, and refusals mean *never* or *later* as for messages.
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

mod common;

use std::collections::BTreeMap;

use charla_client::{ChangeOp, ChangeTarget, ClientEvent, OutboxState};
use charla_protocol::chat::{ChatMessage, ErrorCode};
use charla_testkit::start_owner;
use common::scene::{Scene, KEY_A};
use common::{until, WAIT};
use tokio::sync::mpsc::UnboundedReceiver;

type Events = UnboundedReceiver<ClientEvent>;

/// Every event until `pick` finds what it wants (within the kit's wait), and that.
async fn record_until<T>(
    events: &mut Events,
    mut pick: impl FnMut(&ClientEvent) -> Option<T>,
) -> (Vec<ClientEvent>, T) {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let event = events.recv().await.expect("client running");
            let found = pick(&event);
            seen.push(event);
            if let Some(found) = found {
                return found;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never came; saw {seen:#?}"));
    (seen, found)
}

/// The `seq` of the first message with `text`.
async fn seq_of(events: &mut Events, text: &str) -> u64 {
    until(events, |e| match e {
        ClientEvent::Message(m) if m.text == text => m.seq,
        _ => None,
    })
    .await
}

/// Waits until the outbox holds nothing (every message and change acknowledged).
async fn outbox_empty(events: &mut Events) -> Vec<ClientEvent> {
    record_until(events, |e| {
        matches!(e, ClientEvent::Outbox { entries, changes } if entries.is_empty() && changes.is_empty())
            .then_some(())
    })
    .await
    .0
}

/// The changes reported until the message `fence` (sent after them) arrives, with those
/// already `seen`.
async fn updates_until(
    events: &mut Events,
    fence: &str,
    seen: Vec<ClientEvent>,
) -> Vec<ChatMessage> {
    let (more, ()) = record_until(events, |e| {
        matches!(e, ClientEvent::Message(m) if m.text == fence).then_some(())
    })
    .await;
    seen.into_iter()
        .chain(more)
        .filter_map(|e| match e {
            ClientEvent::MessageUpdated(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn edit(text: &str) -> ChangeOp {
    ChangeOp::Edit { text: text.into() }
}

fn react(emoji: &str) -> ChangeOp {
    ChangeOp::React {
        emoji: emoji.into(),
        on: true,
    }
}

/// An edit made while the server is out of reach waits in the outbox across a restart of the
/// client, goes once the server is back, and, when its answer is lost and it goes again, is
/// applied once: the others hear of one change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_made_offline_goes_after_reconnect_and_is_applied_once() {
    let mut scene = Scene::start(0).await;
    scene.ana.send("helo wrold").await.expect("queued");
    let seq = seq_of(&mut scene.bo_events, "helo wrold").await;
    outbox_empty(&mut scene.ana_events).await;

    scene.cut_ana_off().await;
    let queued = scene
        .ana
        .change("general", ChangeTarget::Seq { seq }, edit("hello world"))
        .await
        .expect("queued offline");
    assert_eq!(queued.state, OutboxState::Pending);
    scene.ana.disconnect().await;

    // Restarted; the edit's answer (and the change it announces) never reaches it.
    scene.gate.cut_on("hello world");
    scene.gate.reopen();
    let (ana, mut ana_events) =
        start_owner(&scene.gate.http_url(), "ana", KEY_A, scene.ana_dir.path()).await;
    let seen = outbox_empty(&mut ana_events).await;
    assert!(!scene.gate.armed(), "the answer was cut");
    ana.send("fence").await.expect("queued");

    let updates = updates_until(&mut scene.bo_events, "fence", Vec::new()).await;
    let got: Vec<(Option<u64>, &str, u64)> = updates
        .iter()
        .map(|m| (m.seq, m.text.as_str(), m.living.rev))
        .collect();
    assert_eq!(
        got,
        [(Some(seq), "hello world", 1)],
        "one change, applied once"
    );
    assert!(updates[0].living.edited_at.is_some());
    let own = updates_until(&mut ana_events, "fence", seen).await;
    assert_eq!(
        own.iter()
            .map(|m| (m.seq, m.living.rev))
            .collect::<Vec<_>>(),
        [(Some(seq), 1)],
        "the author hears of it once too, replayed after the cut"
    );
    scene.server.stop().await;
}

/// A reaction to a message still in the outbox goes after it, naming the `seq` the message's
/// ack gave, also when that ack was lost and the message went again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaction_to_an_unsent_message_follows_it_with_its_seq() {
    let mut scene = Scene::start(0).await;
    scene.cut_ana_off().await;
    let said = scene.ana.send("just said").await.expect("queued");
    let unsent = ChangeTarget::Unsent {
        client_id: said.client_id.clone(),
    };
    scene
        .ana
        .change("general", unsent, react("👍"))
        .await
        .expect("queued");
    scene.gate.cut_on("just said");
    scene.gate.reopen();
    outbox_empty(&mut scene.ana_events).await;
    assert!(!scene.gate.armed(), "the message's answer was cut");
    scene.ana.send("fence").await.expect("queued");

    let (seen, ()) = record_until(&mut scene.bo_events, |e| {
        matches!(e, ClientEvent::Message(m) if m.text == "fence").then_some(())
    })
    .await;
    let said: Vec<Option<u64>> = seen
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Message(m) if m.text == "just said" => Some(m.seq),
            _ => None,
        })
        .collect();
    assert_eq!(said.len(), 1, "the message once");
    let updates: Vec<&ChatMessage> = seen
        .iter()
        .filter_map(|e| match e {
            ClientEvent::MessageUpdated(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(updates[0].seq, said[0], "the reaction names its seq");
    assert_eq!(updates[0].living.reactions.len(), 1);
    assert_eq!(updates[0].living.reactions[0].emoji, "👍");
    assert_eq!(updates[0].living.reactions[0].names, ["ana"]);
    scene.server.stop().await;
}

/// Away while someone else edited a message twice and pinned it, deleted another, reacted twice
/// to a third and edited one in a room: back, the client reports each changed message once, as
/// it is now, and nothing of the one left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_was_away_hears_once_of_each_changed_message() {
    let mut scene = Scene::start(0).await;
    let (bo, ana) = (scene.bo.clone(), scene.ana.clone());
    bo.create_room("ops", "").await.expect("made");
    ana.join_room("ops").await.expect("joined");
    for text in ["one", "two", "three", "four"] {
        bo.send(text).await.expect("queued");
    }
    bo.send_to("ops", "in ops").await.expect("queued");
    let mut seqs = BTreeMap::new();
    for text in ["one", "two", "three", "four", "in ops"] {
        seqs.insert(text, seq_of(&mut scene.ana_events, text).await);
    }

    scene.cut_ana_off().await;
    let at = |text: &str| ChangeTarget::Seq { seq: seqs[text] };
    for (room, target, change) in [
        ("general", at("one"), edit("one, edited")),
        ("general", at("two"), ChangeOp::Delete),
        ("general", at("three"), react("👍")),
        ("general", at("one"), edit("one, edited twice")),
        ("general", at("three"), react("🎉")),
        ("general", at("one"), ChangeOp::Pin { pinned: true }),
        ("ops", at("in ops"), edit("in ops, edited")),
    ] {
        bo.change(room, target, change).await.expect("queued");
    }
    outbox_empty(&mut scene.bo_events).await;
    scene.gate.reopen();
    let (seen, ()) = record_until(&mut scene.ana_events, |e| {
        matches!(e, ClientEvent::Joined { .. }).then_some(())
    })
    .await;
    bo.send("fence").await.expect("queued");
    let updates = updates_until(&mut scene.ana_events, "fence", seen).await;

    let mut by_message: BTreeMap<(String, u64), Vec<&ChatMessage>> = BTreeMap::new();
    for m in &updates {
        let room = m.room.clone().unwrap_or_else(|| "general".into());
        by_message
            .entry((room, m.seq.expect("numbered")))
            .or_default()
            .push(m);
    }
    let changed: Vec<(&str, u64, usize)> = by_message
        .iter()
        .map(|((room, seq), ms)| (room.as_str(), *seq, ms.len()))
        .collect();
    assert_eq!(
        changed,
        [
            ("general", seqs["one"], 1),
            ("general", seqs["two"], 1),
            ("general", seqs["three"], 1),
            ("ops", seqs["in ops"], 1),
        ],
        "each changed message once, the untouched one not at all"
    );
    let now = |room: &str, text: &str| by_message[&(room.to_owned(), seqs[text])][0];
    let one = now("general", "one");
    assert_eq!(one.text, "one, edited twice");
    assert_eq!(
        one.living.pinned.as_ref().map(|p| p.by.as_str()),
        Some("bo")
    );
    let two = now("general", "two");
    assert!(two.living.deleted && two.text.is_empty());
    let emoji: Vec<&str> = now("general", "three")
        .living
        .reactions
        .iter()
        .map(|r| r.emoji.as_str())
        .collect();
    assert_eq!(emoji, ["👍", "🎉"]);
    assert_eq!(now("ops", "in ops").text, "in ops, edited");
    scene.server.stop().await;
}

/// Away while 250 messages were reacted to, more than a replay holds (200): the client pages
/// the rest and reports each of them once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_missed_changes_are_paged_and_each_reported_once() {
    const COUNT: u64 = 250;
    let mut scene = Scene::start(0).await;
    let bo = scene.bo.clone();
    for i in 1..=COUNT {
        bo.send(format!("m{i}")).await.expect("queued");
    }
    let first = seq_of(&mut scene.ana_events, "m1").await;
    let last = seq_of(&mut scene.ana_events, &format!("m{COUNT}")).await;
    assert_eq!(last - first + 1, COUNT);
    outbox_empty(&mut scene.bo_events).await;

    scene.cut_ana_off().await;
    for seq in first..=last {
        bo.change("general", ChangeTarget::Seq { seq }, react("👍"))
            .await
            .expect("queued");
    }
    outbox_empty(&mut scene.bo_events).await;
    scene.gate.reopen();
    // The pages come as the server reads them: all of them, then a fence for any extra.
    let mut count = 0;
    let (seen, ()) = record_until(&mut scene.ana_events, |e| {
        count += usize::from(matches!(e, ClientEvent::MessageUpdated(_)));
        (count == usize::try_from(COUNT).expect("fits")).then_some(())
    })
    .await;
    bo.send("fence").await.expect("queued");
    let updates = updates_until(&mut scene.ana_events, "fence", seen).await;
    let mut seqs: Vec<u64> = updates.iter().filter_map(|m| m.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (first..=last).collect::<Vec<_>>(), "each once");
    scene.server.stop().await;
}

/// A change the server refuses for good (an edit of someone else's message) is marked failed
/// and stays out of the way; changes refused for now (eight reactions where the limit lets five
/// through at once, then one a second) go again by themselves, in the order made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_changes_mean_never_or_later() {
    const EMOJI: [&str; 8] = ["👍", "🎉", "❤️", "😀", "🚀", "👀", "🔥", "✅"];
    let mut scene = Scene::start(1).await;
    let ana = scene.ana.clone();
    scene.bo.send("bo's").await.expect("queued");
    let seq = seq_of(&mut scene.ana_events, "bo's").await;
    let target = || ChangeTarget::Seq { seq };
    let not_mine = ana
        .change("general", target(), edit("mine now"))
        .await
        .expect("queued");
    for emoji in EMOJI {
        ana.change("general", target(), react(emoji))
            .await
            .expect("queued");
    }

    let last = until(&mut scene.bo_events, |e| match e {
        ClientEvent::MessageUpdated(m) if m.living.reactions.len() == EMOJI.len() => {
            Some(m.clone())
        }
        _ => None,
    })
    .await;
    let emoji: Vec<&str> = last
        .living
        .reactions
        .iter()
        .map(|r| r.emoji.as_str())
        .collect();
    assert_eq!(emoji, EMOJI, "every one, in the order made");
    assert_eq!(last.text, "bo's", "the edit was not applied");
    let left = until(&mut scene.ana_events, |e| match e {
        ClientEvent::Outbox { entries, changes }
            if entries.is_empty()
                && changes.len() == 1
                && matches!(changes[0].state, OutboxState::Failed { .. }) =>
        {
            Some(changes[0].clone())
        }
        _ => None,
    })
    .await;
    assert_eq!(left.client_id, not_mine.client_id);
    assert!(
        matches!(
            left.state,
            OutboxState::Failed {
                code: ErrorCode::NotAuthor,
                ..
            }
        ),
        "{left:?}"
    );
    ana.discard(&not_mine.client_id).await.expect("discarded");
    outbox_empty(&mut scene.ana_events).await;
    scene.server.stop().await;
}
