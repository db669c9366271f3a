//! What one abusive user costs everyone else, measured from outside:
//!
//! - **search flood**: a big history, then one owned name sending expensive searches back to
//!   back on several connections (one-letter prefixes, and every word's first two letters)
//!   while a bystander sends messages at a steady rate and `/healthz` is asked five times a
//!   second: the bystander's ack round trips before and during the flood, and the health
//!   answers;
//! - **room churn**: a room of many members, one of whom loops `room-leave`, `room-join` and
//!   `room-topic` as fast as the server answers: what another member receives meanwhile,
//!   events and bytes a second.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::archive;
use crate::conn::{self, Ws};
use crate::error::{BenchError, Result};
use crate::stats::Percentiles;

/// A search flood's size.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FloodSpec {
    /// Messages stored first.
    pub messages: u64,
    /// Connections of the flooding name.
    pub flooders: usize,
    /// Seconds of the bystander's baseline, and again of the flood.
    pub seconds: f64,
    /// Messages a second the bystander sends.
    pub rate: f64,
}

/// What a search flood cost the others.
#[derive(Debug, Clone, Serialize)]
pub struct FloodOutcome {
    /// Messages stored.
    pub messages: u64,
    /// The bystander's ack round trips without the flood.
    pub baseline: Percentiles,
    /// The same during the flood.
    pub flooded: Percentiles,
    /// Searches answered with results (or none).
    pub answered: u64,
    /// Searches refused `rate_limited` (too many at once).
    pub busy: u64,
    /// Searches stopped at the time budget (`search_too_broad`).
    pub too_broad: u64,
    /// Other answers (none expected).
    pub other: u64,
    /// `/healthz` answers during the flood, and those that were not `200`.
    pub health_checks: u64,
    /// Of those, not `200` (or no answer within 5 s).
    pub health_failures: u64,
    /// The slowest `/healthz` answer, in milliseconds.
    pub health_max_ms: f64,
}

/// Stores the history, then measures the bystander alone and then beside the flood.
///
/// # Errors
/// Connections or requests that fail, or a bystander message refused.
pub async fn search_flood(addr: SocketAddr, spec: FloodSpec) -> Result<FloodOutcome> {
    let mut rng = StdRng::seed_from_u64(29);
    let (owner, _, _) = archive::stored(addr, spec.messages, &mut rng).await?;
    drop(owner);
    let mut bystander = joined(addr, "bystander", 11).await?;
    let period = Duration::from_secs_f64(1.0 / spec.rate.max(0.1));
    let length = Duration::from_secs_f64(spec.seconds);
    let baseline = steady_messages(&mut bystander, period, length, 0).await?;

    let queries = flood_queries();
    let stop = Instant::now() + length;
    let mut flooders = Vec::new();
    for n in 0..spec.flooders {
        let ws = joined(addr, "flooder", 13).await?;
        flooders.push(tokio::spawn(flood(ws, queries.clone(), stop, n)));
    }
    let health = tokio::spawn(watch_health(addr, stop));
    let flooded = steady_messages(&mut bystander, period, length, 1_000_000).await?;
    let mut outcome = FloodOutcome {
        messages: spec.messages,
        baseline,
        flooded,
        answered: 0,
        busy: 0,
        too_broad: 0,
        other: 0,
        health_checks: 0,
        health_failures: 0,
        health_max_ms: 0.0,
    };
    for flooder in flooders {
        let counts = flooder
            .await
            .map_err(|e| BenchError::Handshake(e.to_string()))??;
        outcome.answered += counts[0];
        outcome.busy += counts[1];
        outcome.too_broad += counts[2];
        outcome.other += counts[3];
    }
    let (checks, failures, slowest) = health
        .await
        .map_err(|e| BenchError::Handshake(e.to_string()))?;
    outcome.health_checks = checks;
    outcome.health_failures = failures;
    outcome.health_max_ms = slowest;
    Ok(outcome)
}

/// A connection joined as the owner of `name` (device key `key`).
async fn joined(addr: SocketAddr, name: &str, key: u64) -> Result<Ws> {
    let mut ws = conn::open(addr).await?;
    conn::expect_ok(
        &mut ws,
        0,
        "join",
        &json!({"username": name, "key": format!("{key:064x}")}),
    )
    .await?;
    Ok(ws)
}

/// The reviewer's query (one-letter prefixes, 200 characters) and every vocabulary word's
/// first two letters as prefixes, all required.
fn flood_queries() -> Vec<String> {
    let letters: Vec<String> = ('a'..='z')
        .cycle()
        .take(66)
        .map(|c| format!("{c}*"))
        .collect();
    let prefixes: Vec<String> = archive::words()
        .iter()
        .map(|w| format!("{}*", w.chars().take(2).collect::<String>()))
        .collect();
    vec![letters.join(" "), prefixes.join(" ")]
}

/// Sends searches back to back until `stop`; counts answers: [answered, busy, too broad,
/// other].
async fn flood(mut ws: Ws, queries: Vec<String>, stop: Instant, n: usize) -> Result<[u64; 4]> {
    let mut counts = [0u64; 4];
    for (id, query) in (10u64..).zip(queries.iter().cycle().skip(n)) {
        if Instant::now() >= stop {
            break;
        }
        let answer = conn::request(&mut ws, id, "search", &json!({"query": query})).await?;
        let slot = match (answer.get("ok"), answer["error"]["code"].as_str()) {
            (Some(serde_json::Value::Bool(true)), _) => 0,
            (_, Some("rate_limited")) => 1,
            (_, Some("search_too_broad")) => 2,
            _ => 3,
        };
        counts[slot] += 1;
        if slot == 1 {
            // A refusal says when to come back; a flood does not wait long.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(counts)
}

/// Sends a message every `period` for `length`, each acked before the next: the round trips,
/// in microseconds. Ack ids start at `first_id`.
async fn steady_messages(
    ws: &mut Ws,
    period: Duration,
    length: Duration,
    first_id: u64,
) -> Result<Percentiles> {
    let started = Instant::now();
    let mut next = started;
    let mut samples = Vec::new();
    let mut id = first_id;
    while started.elapsed() < length {
        tokio::time::sleep_until(next.into()).await;
        next += period;
        let asked = Instant::now();
        let answer = conn::request(
            ws,
            id,
            "chat-message",
            &json!({"text": format!("steady {id}")}),
        )
        .await?;
        if answer.get("ok") != Some(&serde_json::Value::Bool(true)) {
            return Err(BenchError::Handshake(format!(
                "the bystander's message was refused: {answer}"
            )));
        }
        samples.push(u32::try_from(asked.elapsed().as_micros()).unwrap_or(u32::MAX));
        id += 1;
    }
    Ok(Percentiles::of(&mut samples))
}

/// Asks `/healthz` five times a second until `stop`: (checks, not 200, slowest ms).
async fn watch_health(addr: SocketAddr, stop: Instant) -> (u64, u64, f64) {
    let (mut checks, mut failures, mut slowest) = (0, 0, 0.0f64);
    while Instant::now() < stop {
        let asked = Instant::now();
        let healthy = tokio::time::timeout(Duration::from_secs(5), health(addr))
            .await
            .is_ok_and(|answer| answer.is_ok_and(|status| status.starts_with("HTTP/1.1 200")));
        slowest = slowest.max(asked.elapsed().as_secs_f64() * 1000.0);
        checks += 1;
        if !healthy {
            failures += 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (checks, failures, slowest)
}

async fn health(addr: SocketAddr) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer)
}

/// A room churn's size.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ChurnSpec {
    /// Members of the room (the churner and the observer among them).
    pub members: usize,
    /// Seconds the churner loops.
    pub seconds: f64,
}

/// What one member's churn cost another.
#[derive(Debug, Clone, Serialize)]
pub struct ChurnOutcome {
    /// The churner's requests, and those refused `rate_limited`.
    pub requests: u64,
    /// Of those, refused.
    pub refused: u64,
    /// Events one other member received a second, on average over the churn.
    pub events_per_sec: f64,
    /// Their bytes a second (the frames' text).
    pub bytes_per_sec: f64,
}

/// A room of `members`, then one of them churning while another counts what it receives.
///
/// # Errors
/// Connections or requests that fail.
pub async fn room_churn(addr: SocketAddr, spec: ChurnSpec) -> Result<ChurnOutcome> {
    let mut owner = joined(addr, "host", 101).await?;
    conn::expect_ok(&mut owner, 1, "room-create", &json!({"room": "busy"})).await?;
    let mut members = vec![owner];
    for n in 1..spec.members.max(3) {
        let mut ws = joined(addr, &format!("member{n}"), 1000 + n as u64).await?;
        conn::expect_ok(&mut ws, 1, "room-join", &json!({"room": "busy"})).await?;
        members.push(ws);
    }
    let (Some(mut churner), Some(mut observer)) = (members.pop(), members.pop()) else {
        return Err(BenchError::Handshake("too few members".into()));
    };
    let length = Duration::from_secs_f64(spec.seconds);
    let stop = Instant::now() + length;
    let counting = tokio::spawn(async move {
        let (mut events, mut bytes) = (0u64, 0u64);
        while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(stop.into(), observer.next()).await
        {
            if let Message::Text(text) = frame {
                if text.as_str() == "2" {
                    let _ = observer.send(Message::text("3")).await;
                } else if text.starts_with("42") {
                    events += 1;
                    bytes += text.len() as u64;
                }
            }
        }
        (events, bytes)
    });
    let (mut requests, mut refused) = (0u64, 0u64);
    let mut id = 10u64;
    while Instant::now() < stop {
        let (event, payload) = match id % 3 {
            0 => ("room-leave", json!({"room": "busy"})),
            1 => ("room-join", json!({"room": "busy"})),
            _ => (
                "room-topic",
                json!({"room": "busy", "topic": format!("churn {id}")}),
            ),
        };
        let answer = conn::request(&mut churner, id, event, &payload).await?;
        id += 1;
        requests += 1;
        if answer["error"]["code"].as_str() == Some("rate_limited") {
            refused += 1;
        }
    }
    let (events, bytes) = counting
        .await
        .map_err(|e| BenchError::Handshake(e.to_string()))?;
    let seconds = length.as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    Ok(ChurnOutcome {
        requests,
        refused,
        events_per_sec: events as f64 / seconds,
        bytes_per_sec: bytes as f64 / seconds,
    })
}
