//! A client that stops reading is disconnected once its queue is full, instead of silently
//! missing messages: what it did receive is a gap-free prefix, everyone else gets everything,
//! and the others are told it left.

mod common;

use std::time::Duration;

use charla_server::ServerConfig;
use common::{TestClient, TestServer};
use serde_json::json;

const MESSAGES: usize = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_cut_off_not_silently_skipped() {
    let server = TestServer::start(ServerConfig {
        rate_limit_per_sec: 0,
        rate_limit_per_address_per_sec: 0,
        client_queue_bytes: 256 * 1024,
        ..Default::default()
    })
    .await;
    let (mut stalled, _) = TestClient::joined(&server, "stalled").await;
    let (mut sender, _) = TestClient::joined(&server, "sender").await;
    let (mut reader, _) = TestClient::joined(&server, "reader").await;
    let reading = tokio::spawn(async move {
        let mut seqs = Vec::with_capacity(MESSAGES);
        while seqs.len() < MESSAGES {
            seqs.push(
                reader.event("message").await[0]["seq"]
                    .as_u64()
                    .expect("seq"),
            );
        }
        seqs
    });

    // ~4 KB per message, 12 MB in all: far more than the socket buffers hold for `stalled`.
    let text = "x".repeat(3900);
    for window in 0..MESSAGES / 10 {
        let ids: Vec<u64> = {
            let mut ids = Vec::new();
            for _ in 0..10 {
                ids.push(
                    sender
                        .emit_ack_later("chat-message", vec![json!({"text": text})])
                        .await,
                );
            }
            ids
        };
        for id in ids {
            assert_eq!(sender.ack(id).await["ok"], json!(true), "window {window}");
        }
    }
    assert_eq!(
        sender.event("user-left").await,
        [json!("stalled")],
        "the others hear it was cut off"
    );
    let seqs = reading.await.expect("reader finished");
    assert_eq!(
        seqs,
        (1..=MESSAGES as u64).collect::<Vec<_>>(),
        "the reader got everything, in order"
    );

    // Now the stalled client reads what was queued for it: a prefix without gaps, then the end.
    let mut got = Vec::new();
    while stalled.gets_within("message", Duration::from_secs(2)).await {
        got.push(
            stalled.event("message").await[0]["seq"]
                .as_u64()
                .expect("seq"),
        );
    }
    println!(
        "stalled client received {} of {MESSAGES} before being cut off",
        got.len()
    );
    assert!(got.len() < MESSAGES, "it was cut off before the end");
    assert_eq!(
        got,
        (1..=got.len() as u64).collect::<Vec<_>>(),
        "what it got has no gaps"
    );
    server.stop().await;
}
