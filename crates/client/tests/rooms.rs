//! charla-client in rooms against a real charla-server on 127.0.0.1: sending to a room, a DM
//! opened by the other person, messages written to a room while the client was offline
//! (queued in its outbox, and missed from others) caught up per room at the reconnect, read
//! markers crossing devices, a topic another member set, and the answers of search and
//! history.
#![allow(
    clippy::too_many_lines,
    reason = "a test here tells one story from start to end"
)]

use std::time::Duration;

use charla_client::{ClientEvent, ConnectionStatus};
use charla_protocol::chat::SearchRequest;
use charla_server::ServerConfig;
use charla_testkit::{start_owner, until, TestServer};
use tokio::sync::mpsc::UnboundedReceiver;

const KEY_A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const KEY_B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

type Events = UnboundedReceiver<ClientEvent>;

/// The next message of `room`, as (seq, text).
async fn message_in(events: &mut Events, room: &str) -> (u64, String) {
    until(events, |e| match e {
        ClientEvent::Message(m) if m.room.as_deref() == Some(room) => {
            Some((m.seq.unwrap_or_default(), m.text.clone()))
        }
        _ => None,
    })
    .await
}

#[tokio::test]
async fn rooms_dms_offline_sends_catch_up_and_read_markers() {
    let data = tempfile::tempdir().expect("temp dir");
    let config = ServerConfig {
        storage: charla_testkit::storage_in(data.path()),
        ..TestServer::unlimited()
    };
    let server = TestServer::start(config.clone()).await;
    let url = server.url();
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let (ana, mut ana_events) = start_owner(&url, "ana", KEY_A, dir_a.path()).await;
    let (bo, mut bo_events) = start_owner(&url, "bo", KEY_B, dir_b.path()).await;

    let made = ana.create_room("ops", "on call").await.expect("made");
    assert_eq!(made.room.members, ["ana"]);
    bo.join_room("ops").await.expect("joined");
    ana.send_to("ops", "first").await.expect("queued");
    assert_eq!(
        message_in(&mut bo_events, "ops").await,
        (1, "first".to_owned())
    );

    // A topic bo sets reaches ana as the change it is, with who made it.
    bo.set_topic("ops", "v2 ships friday").await.expect("set");
    let change = until(&mut ana_events, |e| match e {
        ClientEvent::RoomTopic(change) if change.room == "ops" => Some(change.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (change.topic.as_str(), change.username.as_deref()),
        ("v2 ships friday", Some("bo"))
    );

    // A DM bo opens reaches ana as a room she is in, and its messages carry it.
    let dm = bo.open_dm("ana").await.expect("opened").room.room;
    until(&mut ana_events, |e| match e {
        ClientEvent::RoomUpdated(info) if info.room == dm => Some(()),
        _ => None,
    })
    .await;
    bo.send_to(&dm, "psst").await.expect("queued");
    assert_eq!(
        message_in(&mut ana_events, &dm).await,
        (1, "psst".to_owned())
    );

    // The server goes away; ana writes to ops meanwhile (it waits in her outbox, with its
    // room), and when the server is back bo writes more there before ana reconnects.
    let addr = server.addr;
    server.stop().await;
    until(&mut ana_events, |e| {
        matches!(
            e,
            ClientEvent::Status(ConnectionStatus::Reconnecting { .. })
        )
        .then_some(())
    })
    .await;
    let queued = ana.send_to("ops", "written offline").await.expect("queued");
    assert_eq!(queued.room.as_deref(), Some("ops"));
    let server = TestServer::start_on(addr, config).await;
    for n in 2..=4 {
        // bo's client reconnects by itself; its outbox holds these until it has.
        bo.send_to("ops", format!("while ana was away {n}"))
            .await
            .expect("queued");
    }
    let mut got = Vec::new();
    while got.len() < 4 {
        got.push(message_in(&mut ana_events, "ops").await.1);
    }
    assert!(got.contains(&"written offline".to_owned()), "{got:?}");
    let from_bo: Vec<&String> = got.iter().filter(|t| t.starts_with("while")).collect();
    assert_eq!(
        from_bo,
        [
            "while ana was away 2",
            "while ana was away 3",
            "while ana was away 4"
        ]
    );

    // Read on one device; the other device of ana hears it.
    let dir_c = tempfile::tempdir().expect("dir");
    let (phone, mut phone_events) = start_owner(&url, "ana", KEY_A, dir_c.path()).await;
    let rooms = until(&mut phone_events, |e| match e {
        ClientEvent::Rooms { rooms } => Some(rooms.clone()),
        _ => None,
    })
    .await;
    let ops = rooms
        .iter()
        .find(|r| r.room == "ops")
        .expect("ana is in ops");
    ana.mark_read("ops", ops.last_seq).await.expect("marked");
    let marker = until(&mut phone_events, |e| match e {
        ClientEvent::ReadMarker(marker) if marker.room == "ops" => Some(marker.clone()),
        _ => None,
    })
    .await;
    assert_eq!((marker.read, marker.unread), (ops.last_seq, 0));

    // History and search through the handle.
    let page = phone.history("ops", u64::MAX, 2).await.expect("a page");
    assert_eq!(page.messages.len(), 2);
    assert!(page.more);
    tokio::time::sleep(Duration::from_millis(1500)).await; // indexed once a second
    let found = phone
        .search(SearchRequest {
            query: "offline".into(),
            room: None,
            before: None,
            limit: 5,
            offset: 0,
        })
        .await
        .expect("searched");
    assert_eq!(found.results.len(), 1);
    assert_eq!(found.results[0].room, "ops");
    drop(server);
}
