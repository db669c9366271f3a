//! Many rooms at once: `rooms` owned names, each the maker and only sender of one room and a
//! member of the next `members - 1` rooms (so every room has `members` members), each sending
//! `rate` messages a second into its room. Every delivery is checked: each receiver gets each of
//! its rooms' messages once, in `seq` order with no gap, and nothing of a room it is not in.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, Ws};
use crate::error::Result;
use crate::stats::Percentiles;

/// What is run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spec {
    /// Rooms (and users: one sender per room).
    pub rooms: usize,
    /// Members per room.
    pub members: usize,
    /// Messages a second each sender sends.
    pub rate: f64,
    /// How long they send.
    pub seconds: f64,
}

/// What was seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Messages sent.
    pub sent: u64,
    /// Deliveries expected (each message to each member of its room, the sender included).
    pub expected: u64,
    /// Deliveries that arrived, in order.
    pub verified: u64,
    /// Deliveries of a room to someone not in it.
    pub crossed: u64,
    /// Deliveries out of `seq` order, repeated, or after a gap.
    pub out_of_order: u64,
    /// Deliveries per second while sending.
    pub deliveries_per_sec: f64,
    /// Send-to-receive latency.
    pub latency: Percentiles,
}

impl Outcome {
    /// Whether every delivery arrived once, in order, to its room's members only.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.crossed == 0 && self.out_of_order == 0 && self.verified == self.expected
    }
}

/// What one receiver checks: for each of its rooms, the next `seq` it expects.
struct Checker {
    next_seq: HashMap<String, u64>,
    outcome: Rc<RefCell<Tally>>,
    started: Instant,
}

#[derive(Default)]
struct Tally {
    verified: u64,
    crossed: u64,
    out_of_order: u64,
    latencies: Vec<u32>,
}

fn key(user: usize) -> String {
    format!("{:064x}", user + 1)
}

fn room(owner: usize) -> String {
    format!("r{owner}")
}

/// Runs the scenario against a Charla server at `addr`.
///
/// # Errors
/// Connections, joins or room requests that fail.
pub async fn run(addr: SocketAddr, spec: Spec) -> Result<Outcome> {
    let (sockets, member_of) = seat(addr, spec).await?;
    let tally = Rc::new(RefCell::new(Tally::default()));
    let started = Instant::now();
    let pace = Pace {
        started,
        until: started + Duration::from_secs_f64(spec.seconds),
        per_message: Duration::from_secs_f64(1.0 / spec.rate.max(0.001)),
        users: spec.rooms,
    };
    let local = tokio::task::LocalSet::new();
    let sent = Rc::new(RefCell::new(0u64));
    let mut readers = Vec::new();
    for ((user, ws), rooms) in sockets.into_iter().enumerate().zip(member_of) {
        let (sink, stream) = ws.split();
        // The server's pings arrive on the reader's half; the pongs go out on the writer's.
        let (pongs, to_pong) = tokio::sync::mpsc::unbounded_channel::<()>();
        let checker = Checker {
            next_seq: rooms.into_iter().map(|r| (r, 1)).collect(),
            outcome: tally.clone(),
            started,
        };
        readers.push(local.spawn_local(read_deliveries(stream, checker, pace.until, pongs)));
        local.spawn_local(send_messages(user, pace, sink, to_pong, sent.clone()));
    }
    local.await;
    for reader in readers {
        let _ = reader.await;
    }
    let sent = *sent.borrow();
    let tally = std::mem::take(&mut *tally.borrow_mut());
    Ok(tally.outcome(spec, sent))
}

/// When the senders send: from `started` until `until`, one message every `per_message` each,
/// the `users` senders spread evenly over that period.
#[derive(Clone, Copy)]
struct Pace {
    started: Instant,
    until: Instant,
    per_message: Duration,
    users: usize,
}

/// Connects every user, each making its room and joining the next `members - 1`; their
/// sockets, and the rooms each is a member of.
async fn seat(addr: SocketAddr, spec: Spec) -> Result<(Vec<Ws>, Vec<Vec<String>>)> {
    let users = spec.rooms;
    let mut sockets = Vec::with_capacity(users);
    for user in 0..users {
        let mut ws = conn::open(addr).await?;
        conn::expect_ok(
            &mut ws,
            0,
            "join",
            &json!({"username": format!("u{user}"), "key": key(user)}),
        )
        .await?;
        conn::expect_ok(&mut ws, 1, "room-create", &json!({"room": room(user)})).await?;
        sockets.push(ws);
    }
    let mut member_of: Vec<Vec<String>> = Vec::with_capacity(users);
    for (user, ws) in sockets.iter_mut().enumerate() {
        let mut rooms = vec![room(user)];
        for k in 1..spec.members {
            let other = room((user + k) % users);
            conn::expect_ok(ws, 1 + k as u64, "room-join", &json!({"room": other})).await?;
            rooms.push(other);
        }
        member_of.push(rooms);
    }
    Ok((sockets, member_of))
}

/// One user's reader: every delivery checked, the server's pings handed to the writer, until
/// the line has been quiet for a while after the senders stopped.
async fn read_deliveries(
    mut stream: SplitStream<Ws>,
    mut checker: Checker,
    until: Instant,
    pongs: UnboundedSender<()>,
) {
    let quiet = Duration::from_secs(2);
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(
        if Instant::now() < until {
            Duration::from_secs(30)
        } else {
            quiet
        },
        stream.next(),
    )
    .await
    {
        if let Message::Text(text) = frame {
            if text == "2" {
                let _ = pongs.send(());
            } else {
                checker.on_frame(&text);
            }
        }
    }
}

/// One user's writer: a message into its room at the pace asked, pongs in between, then open
/// (still answering pings) while the last deliveries drain.
async fn send_messages(
    user: usize,
    pace: Pace,
    mut sink: SplitSink<Ws, Message>,
    mut to_pong: UnboundedReceiver<()>,
    sent: Rc<RefCell<u64>>,
) {
    let my_room = room(user);
    let mut n = 0u64;
    // Senders spread evenly over the period: a thousand ticking at the same instant is a
    // burst the server drains one commit at a time, not the steady rate asked for.
    #[allow(clippy::cast_precision_loss)]
    let offset = pace.per_message.mul_f64(user as f64 / pace.users as f64);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, pace.per_message);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while Instant::now() < pace.until {
        tokio::select! {
            _ = tick.tick() => {}
            Some(()) = to_pong.recv() => {
                if sink.send(Message::text("3")).await.is_err() {
                    break;
                }
                continue;
            }
        }
        let micros = pace.started.elapsed().as_micros();
        let text = format!("{user} {n} {micros}");
        let frame = format!(
            "42{}",
            json!(["chat-message", {"text": text, "room": my_room}])
        );
        if sink.send(Message::text(frame)).await.is_err() {
            break;
        }
        n += 1;
        *sent.borrow_mut() += 1;
    }
    // Open while the last deliveries drain (the reader stops after 2 quiet seconds).
    let drained = tokio::time::sleep(Duration::from_secs(3));
    tokio::pin!(drained);
    loop {
        tokio::select! {
            () = &mut drained => break,
            Some(()) = to_pong.recv() => {
                let _ = sink.send(Message::text("3")).await;
            }
        }
    }
}

impl Tally {
    /// What every receiver saw, against the `sent` messages of `spec`.
    fn outcome(self, spec: Spec, sent: u64) -> Outcome {
        let mut latencies = self.latencies;
        Outcome {
            sent,
            expected: sent * spec.members as u64,
            verified: self.verified,
            crossed: self.crossed,
            out_of_order: self.out_of_order,
            #[allow(clippy::cast_precision_loss)]
            deliveries_per_sec: self.verified as f64 / spec.seconds,
            latency: Percentiles::of(&mut latencies),
        }
    }
}

impl Checker {
    fn on_frame(&mut self, frame: &str) {
        let Some(body) = frame.strip_prefix("42") else {
            return;
        };
        let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(body) else {
            return;
        };
        if parts.first().and_then(Value::as_str) != Some("message") {
            return;
        }
        let Some(message) = parts.get(1) else {
            return;
        };
        let mut tally = self.outcome.borrow_mut();
        let room = message["room"].as_str().unwrap_or("general");
        let Some(next) = self.next_seq.get_mut(room) else {
            tally.crossed += 1;
            return;
        };
        let seq = message["seq"].as_u64().unwrap_or_default();
        if seq != *next {
            tally.out_of_order += 1;
            *next = seq + 1;
            return;
        }
        *next += 1;
        tally.verified += 1;
        let sent_at = message["text"]
            .as_str()
            .and_then(|t| t.rsplit(' ').next())
            .and_then(|m| m.parse::<u128>().ok());
        if let Some(sent_at) = sent_at {
            let micros = self.started.elapsed().as_micros().saturating_sub(sent_at);
            tally
                .latencies
                .push(u32::try_from(micros).unwrap_or(u32::MAX));
        }
    }
}
