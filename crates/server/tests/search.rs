//! Search as a client meets it, against a real server on 127.0.0.1 (on `SQLite`, and on
//! PostgreSQL in the test run's second pass): no query is an error, a search past its time
//! budget is refused in words a person can act on, and never as `unavailable` (which tells
//! clients to send it again).

mod common;

use std::time::Duration;

use charla_protocol::chat::{ErrorCode, Refusal, SearchResults};
use charla_server::ServerConfig;
use charla_testkit::{poll, Deadline};
use common::{TestClient, TestServer};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const KEY: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";

fn on_disk(dir: &tempfile::TempDir) -> ServerConfig {
    ServerConfig {
        storage: charla_testkit::storage_in(dir.path()),
        ..TestServer::unlimited()
    }
}

async fn owner(server: &TestServer) -> TestClient {
    let mut client = TestClient::connect(server).await;
    let ack = client
        .emit_ack("join", vec![json!("ana"), json!({ "key": KEY })])
        .await;
    assert_eq!(ack["ok"], true, "{ack}");
    client
}

/// Sends `count` messages without waiting for each ack, then one with: all are stored when it
/// comes back (one connection's messages are stored in order).
async fn fill(client: &mut TestClient, count: usize, text: impl Fn(usize) -> String) {
    for n in 0..count {
        client
            .emit("chat-message", vec![json!({ "text": text(n) })])
            .await;
    }
    let last = client
        .emit_ack("chat-message", vec![json!({ "text": "the end" })])
        .await;
    assert_eq!(last["ok"], true, "{last}");
}

/// Searches `query` until it finds `count` results (the index is filled once a second), for
/// at most 20 s; the last answer.
async fn eventually_found(client: &mut TestClient, query: &str, count: usize) -> SearchResults {
    let deadline = Deadline::within(Duration::from_secs(20)).every(Duration::from_millis(200));
    poll(deadline, async || {
        let found = results(
            &client
                .emit_ack("search", vec![json!({ "query": query })])
                .await,
        );
        if found.results.len() >= count {
            Ok(found)
        } else {
            Err(found)
        }
    })
    .await
    .unwrap_or_else(|last| last.expect("the search answered"))
}

fn results(answer: &Value) -> SearchResults {
    serde_json::from_value(answer.clone()).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// A NUL, a NUL inside a word, punctuation alone, and a thousand random Unicode queries (any
/// plane, controls, quotes, the syntax of both stores' query languages): every answer is
/// `ok`, finding something or nothing; none is `unavailable`.
#[tokio::test]
async fn any_character_in_a_query_is_a_word_or_is_ignored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(on_disk(&dir)).await;
    let mut ana = owner(&server).await;
    fill(&mut ana, 3, |n| format!("ab cd {n}: it's a \"quote\"")).await;
    let found = eventually_found(&mut ana, "ab\u{0}cd", 3).await;
    assert_eq!(found.results.len(), 3, "a NUL splits words: ab, cd");
    for query in [
        "\u{0}",
        "\u{0}\u{0}",
        "***",
        "\"",
        "'",
        "()",
        "\u{202e}\u{200b}",
        "a* b*",
    ] {
        let answer = ana
            .emit_ack("search", vec![json!({ "query": query })])
            .await;
        assert_eq!(answer["ok"], true, "{query:?}: {answer}");
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x005e_a7c4);
    for _ in 0..1000 {
        let length = rng.random_range(0..30);
        let query: String = (0..length)
            .map(|_| {
                let code = match rng.random_range(0..4) {
                    0 => rng.random_range(0..0x80),
                    1 => rng.random_range(0..0x3000),
                    _ => rng.random_range(0..0x11_0000),
                };
                char::from_u32(code).unwrap_or('\u{fffd}')
            })
            .collect();
        let answer = ana
            .emit_ack("search", vec![json!({ "query": query })])
            .await;
        assert_eq!(answer["ok"], true, "{query:?}: {answer}");
    }
    server.stop().await;
}

/// A search that runs past the server's budget is stopped inside the database and refused
/// `search_too_broad`, which is not a refusal to send again (`unavailable`, `rate_limited`);
/// the next search on the same connection works.
#[tokio::test]
async fn a_search_past_its_budget_is_refused_as_too_broad() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start(ServerConfig {
        search_budget: Duration::ZERO,
        ..on_disk(&dir)
    })
    .await;
    let mut ana = owner(&server).await;
    fill(&mut ana, 3000, |n| {
        format!(
            "plum and fig number {n}, plums figs and plumbers {}",
            n % 37
        )
    })
    .await;
    // Until the index holds them, the search has nothing to read and answers at once.
    let deadline = Deadline::within(Duration::from_secs(20)).every(Duration::from_millis(200));
    let answer = poll(deadline, async || {
        let answer = ana
            .emit_ack("search", vec![json!({"query": "plum* fig*"})])
            .await;
        if answer["ok"] == true {
            Err(answer)
        } else {
            Ok(answer)
        }
    })
    .await
    .unwrap_or_else(|last| last.expect("the search answered"));
    let refusal = Refusal::from_ack(&answer).unwrap_or_else(|| panic!("refused: {answer}"));
    assert_eq!(refusal.code, ErrorCode::SearchTooBroad, "{answer}");
    assert!(
        !refusal.code.is_transient(),
        "not to be sent again as it is"
    );
    assert!(refusal.retry_after_ms.is_none(), "{answer}");
    assert!(refusal.message.contains("words"), "{answer}");
    let nothing = ana
        .emit_ack("search", vec![json!({"query": "\u{0}"})])
        .await;
    assert_eq!(nothing["ok"], true, "{nothing}");
    server.stop().await;
}
