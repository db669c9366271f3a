//! Order and loss under a burst, on the multi-thread runtime: two senders fire 1000 messages
//! each without waiting, four receivers must each get all 2000, in one common order, with each
//! sender's messages in the order sent.

mod common;

use std::collections::HashMap;

use common::{TestClient, TestServer};
use serde_json::{json, Value};

const PER_SENDER: usize = 1000;

async fn collect(mut client: TestClient, count: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        out.push(client.event("message").await.remove(0));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_senders_four_receivers_nothing_lost_nothing_reordered() {
    let server = TestServer::open().await;
    let mut receivers = Vec::new();
    for r in 0..4 {
        let (client, _) = TestClient::joined(&server, &format!("receiver{r}")).await;
        receivers.push(tokio::spawn(collect(client, 2 * PER_SENDER)));
    }
    let mut senders = Vec::new();
    for s in 0..2 {
        let (mut client, _) = TestClient::joined(&server, &format!("sender{s}")).await;
        senders.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(PER_SENDER);
            for i in 0..PER_SENDER {
                ids.push(
                    client
                        .emit_ack_later("chat-message", vec![json!({"text": format!("{s}:{i}")})])
                        .await,
                );
            }
            for id in ids {
                assert_eq!(client.ack(id).await["ok"], json!(true));
            }
        }));
    }
    for sender in senders {
        sender.await.expect("sender finished");
    }
    let mut orders = Vec::new();
    for receiver in receivers {
        let got = receiver.await.expect("receiver finished");
        assert_eq!(got.len(), 2 * PER_SENDER);
        let mut next_per_sender: HashMap<String, usize> = HashMap::new();
        let mut last_seq = 0;
        for message in &got {
            let text = message["text"].as_str().expect("text");
            let (sender, index) = text.split_once(':').expect("s:i");
            let expected = next_per_sender.entry(sender.to_owned()).or_default();
            assert_eq!(
                index.parse::<usize>().ok(),
                Some(*expected),
                "sender {sender} out of order"
            );
            *expected += 1;
            let seq = message["seq"].as_u64().expect("seq");
            assert!(seq > last_seq, "seq strictly increasing");
            last_seq = seq;
        }
        orders.push(got.iter().map(|m| m["seq"].as_u64()).collect::<Vec<_>>());
    }
    assert!(
        orders.windows(2).all(|w| w[0] == w[1]),
        "every receiver saw the same order"
    );
    server.stop().await;
}
