//! Reconnecting after a long absence against a real charla-server: every missed message is
//! reported once, in order, even past the server's in-memory window (the client pages back
//! through `history`); messages the server no longer keeps are reported as a gap, not
//! skipped; and a server whose history started over (an in-memory server restarted) makes the
//! client forget its old `seq`s instead of ignoring every new message.

mod common;

use std::time::Duration;

use charla_client::{ClientEvent, ClientHandle};
use charla_server::ServerConfig;
use common::gate::Gate;
use common::{options, start, until, TestServer};
use tokio::sync::mpsc;

/// Texts reported (join histories and live messages), with any gap, until `last` arrives.
async fn texts_until(
    events: &mut mpsc::UnboundedReceiver<ClientEvent>,
    last: &str,
) -> (Vec<String>, Vec<(u64, u64, bool)>) {
    let mut texts = Vec::new();
    let mut gaps = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while texts.last().map(String::as_str) != Some(last) {
            match events.recv().await.expect("client running") {
                ClientEvent::Joined { history, .. } => {
                    texts.extend(history.into_iter().map(|m| m.text));
                }
                ClientEvent::Message(m) => texts.push(m.text),
                ClientEvent::Gap { from, to, kept, .. } => gaps.push((from, to, kept)),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{last:?} never came; got {} texts", texts.len()));
    (texts, gaps)
}

/// Sends `texts` and waits until the server has stored and acked all of them.
async fn send_all(
    writer: &ClientHandle,
    writer_events: &mut mpsc::UnboundedReceiver<ClientEvent>,
    texts: &[String],
) {
    for text in texts {
        writer.send(text.clone()).await.expect("queued");
    }
    let last = texts.last().cloned().unwrap_or_default();
    // The last one's echo comes before its ack: an empty outbox after it means all are done.
    let mut echoed = false;
    until(writer_events, |e| match e {
        ClientEvent::Message(m) if m.text == last => {
            echoed = true;
            None
        }
        ClientEvent::Outbox { entries, .. } if echoed && entries.is_empty() => Some(()),
        _ => None,
    })
    .await;
}

fn sqlite(dir: &tempfile::TempDir, retention: Option<u64>) -> ServerConfig {
    ServerConfig {
        storage: charla_testkit::storage_in(dir.path()),
        history_limit: 50,
        retention_messages: retention,
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..ServerConfig::default()
    }
}

/// Away while 500 messages were sent (ten times the server's in-memory window of 50): on
/// reconnect every one of them is reported, once, in order, and no gap is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_messages_past_the_window_all_arrive_once_in_order() {
    let db = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(sqlite(&db, None)).await;
    let gate = Gate::start(server.addr).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_reader, mut reader_events) = start(options(
        &format!("http://{}", gate.addr),
        "reader",
        dir.path(),
    ));
    let (writer, mut writer_events) = start(options(&server.http_url(), "writer", dir.path()));
    let first = vec!["before".to_owned()];
    send_all(&writer, &mut writer_events, &first).await;
    texts_until(&mut reader_events, "before").await;

    gate.close();
    let missed: Vec<String> = (0..500).map(|i| format!("missed {i}")).collect();
    send_all(&writer, &mut writer_events, &missed).await;
    gate.reopen();
    let (texts, gaps) = texts_until(&mut reader_events, "missed 499").await;
    println!("caught up on {} messages after reconnecting", texts.len());
    assert_eq!(texts, missed, "every missed message, once, in order");
    assert!(gaps.is_empty(), "nothing was lost: {gaps:?}");
}

/// Away longer than the server keeps history (retention 100): the client reports the gap
/// (which `seq`s are gone), then the 100 kept messages, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_past_retention_are_reported_as_a_gap() {
    let db = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(sqlite(&db, Some(100))).await;
    let gate = Gate::start(server.addr).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_reader, mut reader_events) = start(options(
        &format!("http://{}", gate.addr),
        "reader",
        dir.path(),
    ));
    let (writer, mut writer_events) = start(options(&server.http_url(), "writer", dir.path()));
    send_all(&writer, &mut writer_events, &["before".to_owned()]).await;
    texts_until(&mut reader_events, "before").await;

    gate.close();
    let missed: Vec<String> = (0..300).map(|i| format!("missed {i}")).collect();
    send_all(&writer, &mut writer_events, &missed).await;
    gate.reopen();
    let (texts, gaps) = texts_until(&mut reader_events, "missed 299").await;
    // seq 1 was "before"; 2..=301 the missed ones; the newest 100 (202..=301) are kept.
    assert_eq!(gaps, [(2, 201, false)], "the lost seqs are named");
    assert_eq!(texts, missed[200..], "the kept ones, once, in order");
}

/// An in-memory server restarts (its `seq`s start over): the client says so and reports the
/// new server's messages, instead of ignoring every `seq` it has seen before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_history_started_over_is_followed() {
    let config = || ServerConfig {
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        ..ServerConfig::default()
    };
    let first = TestServer::start(config()).await;
    let addr = first.addr;
    let dir = tempfile::tempdir().expect("temp dir");
    let (_reader, mut reader_events) = start(options(&first.http_url(), "reader", dir.path()));
    let (writer, mut writer_events) = start(options(&first.http_url(), "writer", dir.path()));
    let old: Vec<String> = (0..3).map(|i| format!("old {i}")).collect();
    send_all(&writer, &mut writer_events, &old).await;
    texts_until(&mut reader_events, "old 2").await;

    drop(first);
    let _second = TestServer::start_on(addr, config()).await;
    let reset = until(&mut reader_events, |e| {
        matches!(e, ClientEvent::HistoryReset).then_some(())
    });
    tokio::time::timeout(Duration::from_secs(20), reset)
        .await
        .expect("the reset is reported");
    let new: Vec<String> = (0..2).map(|i| format!("new {i}")).collect();
    send_all(&writer, &mut writer_events, &new).await;
    let (texts, _) = texts_until(&mut reader_events, "new 1").await;
    assert_eq!(
        texts, new,
        "seq 1 and 2 again, reported, not taken for old ones"
    );
}
