//! A big history: `messages` messages stored through the server (ten rooms, sentences drawn
//! from a fixed vocabulary, so some words are common and some rare), then the time a client
//! waits for a page of 50 old messages (`history`, read from disk) and for a search, each
//! measured as the round trip of its request.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, Ws};
use crate::error::{BenchError, Result};
use crate::stats::Percentiles;

/// Rooms the messages are spread over.
const ROOMS: usize = 10;
/// Messages in flight per writer while filling.
const WINDOW: u64 = 64;
/// Words sentences are made of: the first are common, the last rare.
const WORDS: [&str; 40] = [
    "the",
    "deploy",
    "is",
    "on",
    "we",
    "ship",
    "today",
    "build",
    "green",
    "red",
    "test",
    "review",
    "merge",
    "branch",
    "release",
    "friday",
    "monday",
    "lunch",
    "coffee",
    "meeting",
    "bug",
    "fix",
    "server",
    "client",
    "database",
    "index",
    "latency",
    "rollback",
    "incident",
    "pager",
    "kubernetes",
    "terraform",
    "postgres",
    "sqlite",
    "websocket",
    "tauri",
    "webview",
    "gnome",
    "wayland",
    "zeppelin",
];

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Messages stored.
    pub messages: u64,
    /// How long storing them took (through the server, acked one by one in windows).
    pub fill_seconds: f64,
    /// How long after the last ack the last message could be found (the index is filled in
    /// the background).
    pub indexed_after: f64,
    /// Round trips of `history {limit: 50}` at random depths.
    pub history: Percentiles,
    /// Round trips of `search` for one or two words.
    pub search: Percentiles,
    /// Results the searches found, on average.
    pub mean_results: f64,
}

/// One sentence of 4–12 words, common words more likely (a Zipf-like draw).
fn sentence(rng: &mut StdRng) -> String {
    let count = rng.random_range(4..=12);
    (0..count)
        .map(|_| {
            let r: f64 = rng.random();
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let index = ((r * r * r) * WORDS.len() as f64) as usize;
            WORDS[index.min(WORDS.len() - 1)]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fills the server at `addr` with `messages` messages, then measures `queries` pages and
/// `queries` searches.
///
/// # Errors
/// Connections or requests that fail.
pub async fn run(addr: SocketAddr, messages: u64, queries: usize) -> Result<Outcome> {
    let mut rng = StdRng::seed_from_u64(13);
    let (mut owner, fill_seconds, indexed_after) = stored(addr, messages, &mut rng).await?;

    let per_room = messages / ROOMS as u64;
    let mut pages = Vec::with_capacity(queries);
    let mut id = 1000;
    for _ in 0..queries {
        let room = format!("a{}", rng.random_range(0..ROOMS));
        let before = rng.random_range(1..=per_room.max(1));
        let asked = Instant::now();
        let page = conn::expect_ok(
            &mut owner,
            id,
            "history",
            &json!({"room": room, "before": before, "limit": 50}),
        )
        .await?;
        pages.push(micros(asked));
        id += 1;
        let got = page["messages"].as_array().map_or(0, Vec::len);
        if before > 50 && got != 50 {
            return Err(BenchError::Handshake(format!(
                "a page of {got} before {before}"
            )));
        }
    }
    let mut searches = Vec::with_capacity(queries);
    let mut found = 0usize;
    for q in 0..queries {
        // Alternately one word (any) and two words (one common, one rarer).
        let query = if q % 2 == 0 {
            WORDS[rng.random_range(0..WORDS.len())].to_owned()
        } else {
            format!(
                "{} {}",
                WORDS[rng.random_range(0..10)],
                WORDS[rng.random_range(20..WORDS.len())]
            )
        };
        let asked = Instant::now();
        let answer = conn::expect_ok(
            &mut owner,
            id,
            "search",
            &json!({"query": query, "limit": 20}),
        )
        .await?;
        searches.push(micros(asked));
        id += 1;
        found += answer["results"].as_array().map_or(0, Vec::len);
    }
    #[allow(clippy::cast_precision_loss)]
    let mean_results = found as f64 / queries.max(1) as f64;
    Ok(Outcome {
        messages,
        fill_seconds,
        indexed_after,
        history: Percentiles::of(&mut pages),
        search: Percentiles::of(&mut searches),
        mean_results,
    })
}

/// Joins as the archivist, makes the ten rooms and stores `messages` messages over them, all
/// searchable at the end; returns the connection, how long storing took and how long after
/// the last ack the last message could be found (seconds).
///
/// # Errors
/// Connections or requests that fail.
pub async fn stored(addr: SocketAddr, messages: u64, rng: &mut StdRng) -> Result<(Ws, f64, f64)> {
    let mut owner = conn::open(addr).await?;
    conn::expect_ok(
        &mut owner,
        0,
        "join",
        &json!({"username": "archivist", "key": format!("{:064x}", 7)}),
    )
    .await?;
    for r in 0..ROOMS {
        conn::expect_ok(
            &mut owner,
            1 + r as u64,
            "room-create",
            &json!({"room": format!("a{r}")}),
        )
        .await?;
    }
    let started = Instant::now();
    fill(&mut owner, messages, rng).await?;
    let fill_seconds = started.elapsed().as_secs_f64();
    let indexed_after = wait_until_searchable(&mut owner).await?;
    Ok((owner, fill_seconds, indexed_after))
}

/// The words sentences are made of (common first).
pub fn words() -> &'static [&'static str] {
    &WORDS
}

/// The last message stored is one word nobody else says: searches for it until it is found
/// (at most two minutes); returns how long that took.
async fn wait_until_searchable(ws: &mut Ws) -> Result<f64> {
    let started = Instant::now();
    let word = "zeppelinlast";
    conn::expect_ok(
        ws,
        900,
        "chat-message",
        &json!({"text": word, "room": "a0"}),
    )
    .await?;
    let mut id = 901;
    while started.elapsed() < Duration::from_secs(120) {
        let answer = conn::expect_ok(ws, id, "search", &json!({"query": word})).await?;
        id += 1;
        if answer["results"].as_array().is_some_and(|r| !r.is_empty()) {
            return Ok(started.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(BenchError::Timeout(
        "the last message never became searchable".into(),
    ))
}

fn micros(since: Instant) -> u32 {
    u32::try_from(since.elapsed().as_micros()).unwrap_or(u32::MAX)
}

/// Sends `messages` messages round-robin over the rooms, `WINDOW` acks outstanding.
async fn fill(ws: &mut Ws, messages: u64, rng: &mut StdRng) -> Result<()> {
    let mut sent = 0u64;
    let mut acked = 0u64;
    while acked < messages {
        while sent < messages && sent - acked < WINDOW {
            let room = format!("a{}", sent % ROOMS as u64);
            let frame = format!(
                "42{}{}",
                100_000 + sent,
                json!(["chat-message", {"text": sentence(rng), "room": room}])
            );
            ws.send(Message::text(frame)).await?;
            sent += 1;
        }
        let frame = match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
            _ => {
                return Err(BenchError::Timeout(format!(
                    "acks after {acked} of {messages}"
                )))
            }
        };
        if conn::answer_ping(ws, &frame).await? {
            continue;
        }
        if frame.starts_with("43") {
            if !frame.contains("\"ok\":true") {
                return Err(BenchError::Handshake(format!("a message refused: {frame}")));
            }
            acked += 1;
        }
    }
    Ok(())
}
