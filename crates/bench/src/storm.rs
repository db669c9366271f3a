//! A reaction storm beside message fan-out, on one server: `members` owned names in one room;
//! `senders` of them send messages at `rate` each for `seconds`, then, after a pause, add and
//! take back reactions on one message at the same rate for as long. Every receiver counts both
//! kinds of delivery and checks that the message's `message-updated` events come in rising
//! `rev` order, each once. The figures: deliveries a second of each, and the server's CPU time
//! per delivery of each (read from `/proc`), which says what a reaction costs the server beside
//! what a message costs even when the generator, not the server, is what limits the rate.

use std::cell::RefCell;
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
use crate::error::{BenchError, Result};

/// The room of the storm.
const ROOM: &str = "storm";
/// A receiver stops once nothing came for this long after the last phase.
const QUIET: Duration = Duration::from_secs(2);

/// What is run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spec {
    /// Members of the room (each a connection).
    pub members: usize,
    /// Members that send (at most 20: one emoji each on one message).
    pub senders: usize,
    /// Messages, then reactions, a second each sender sends.
    pub rate: f64,
    /// How long each phase lasts.
    pub seconds: f64,
}

/// One phase as the receivers saw it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Phase {
    /// Messages or reactions sent.
    pub sent: u64,
    /// Deliveries expected (each to every member, the sender included).
    pub expected: u64,
    /// Deliveries that arrived.
    pub delivered: u64,
    /// `message-updated` events of the target that came with a `rev` not above the last one.
    pub out_of_order: u64,
    /// Deliveries per second of the phase.
    pub deliveries_per_sec: f64,
    /// The server's CPU time during the phase (and its drain), per delivery, in µs.
    pub server_cpu_us_per_delivery: f64,
}

/// What was seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// The messages' phase.
    pub messages: Phase,
    /// The reactions' phase.
    pub reactions: Phase,
}

impl Outcome {
    /// Whether every delivery of both phases arrived, the changes in order.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        [&self.messages, &self.reactions]
            .iter()
            .all(|p| p.delivered == p.expected && p.out_of_order == 0)
    }

    /// Reactions' deliveries a second over messages'.
    #[must_use]
    pub fn ratio(&self) -> f64 {
        self.reactions.deliveries_per_sec / self.messages.deliveries_per_sec.max(f64::MIN_POSITIVE)
    }

    /// The server's CPU per reaction delivery over per message delivery.
    #[must_use]
    pub fn cpu_ratio(&self) -> f64 {
        self.reactions.server_cpu_us_per_delivery
            / self
                .messages
                .server_cpu_us_per_delivery
                .max(f64::MIN_POSITIVE)
    }
}

#[derive(Default)]
struct Tally {
    messages: u64,
    updates: u64,
    out_of_order: u64,
}

/// What a member's writer sends.
enum Out {
    Pong,
    Frame(String),
}

/// Runs the storm against a Charla server at `addr`, process `pid`.
///
/// # Errors
/// Connections, joins or room requests that fail; the server's CPU time unreadable.
pub async fn run(addr: SocketAddr, pid: u32, spec: Spec) -> Result<Outcome> {
    if spec.senders == 0 || spec.senders > 20 || spec.senders > spec.members {
        return Err(BenchError::Handshake(
            "the storm needs 1 to 20 senders, no more than members".into(),
        ));
    }
    let (sockets, target) = seat(addr, spec).await?;
    let tally = Rc::new(RefCell::new(Tally::default()));
    let local = tokio::task::LocalSet::new();
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for ws in sockets {
        let (sink, stream) = ws.split();
        let (out, to_send) = tokio::sync::mpsc::unbounded_channel::<Out>();
        local.spawn_local(write(sink, to_send));
        readers.push(local.spawn_local(read(stream, out.clone(), target, tally.clone())));
        writers.push(out);
    }
    let phase = Duration::from_secs_f64(spec.seconds);
    let cpu = || crate::proc::cpu_time(pid);
    let started = cpu()?;
    let (sent, between) = local
        .run_until(async {
            let messages = pace(
                &writers[..spec.senders],
                spec,
                |_, n| json!(["chat-message", {"room": ROOM, "text": format!("storm {n}")}]),
            )
            .await;
            // The last messages delivered before the reactions start.
            tokio::time::sleep(QUIET).await;
            let between = cpu();
            let reactions = pace(&writers[..spec.senders], spec, |sender, n| {
                let emoji = char::from_u32(0x1F600 + u32::try_from(sender).unwrap_or(0))
                    .unwrap_or('👍')
                    .to_string();
                json!(["reaction", {"room": ROOM, "seq": target, "emoji": emoji, "on": n % 2 == 0}])
            })
            .await;
            ((messages, reactions), between)
        })
        .await;
    let between = between?;
    drop(writers);
    for reader in readers {
        let _ = local.run_until(reader).await;
    }
    let ended = cpu()?;
    #[allow(clippy::cast_precision_loss)]
    let per_delivery = |cpu: Duration, n: u64| cpu.as_secs_f64() * 1e6 / (n.max(1) as f64);
    let tally = std::mem::take(&mut *tally.borrow_mut());
    let members = spec.members as u64;
    #[allow(clippy::cast_precision_loss)]
    let per_sec = |n: u64| n as f64 / phase.as_secs_f64();
    Ok(Outcome {
        messages: Phase {
            sent: sent.0,
            expected: sent.0 * members,
            delivered: tally.messages,
            out_of_order: 0,
            deliveries_per_sec: per_sec(tally.messages),
            server_cpu_us_per_delivery: per_delivery(
                between.saturating_sub(started),
                tally.messages,
            ),
        },
        reactions: Phase {
            sent: sent.1,
            expected: sent.1 * members,
            delivered: tally.updates,
            out_of_order: tally.out_of_order,
            deliveries_per_sec: per_sec(tally.updates),
            server_cpu_us_per_delivery: per_delivery(ended.saturating_sub(between), tally.updates),
        },
    })
}

/// Connects every member into the room; the first says the message the storm reacts to.
async fn seat(addr: SocketAddr, spec: Spec) -> Result<(Vec<Ws>, u64)> {
    let mut sockets = Vec::with_capacity(spec.members);
    for member in 0..spec.members {
        let mut ws = conn::open(addr).await?;
        let key = format!("{:064x}", member + 0x5707);
        conn::expect_ok(
            &mut ws,
            0,
            "join",
            &json!({"username": format!("s{member}"), "key": key}),
        )
        .await?;
        let enter = if member == 0 {
            "room-create"
        } else {
            "room-join"
        };
        conn::expect_ok(&mut ws, 1, enter, &json!({"room": ROOM})).await?;
        sockets.push(ws);
    }
    let said = conn::request(
        &mut sockets[0],
        2,
        "chat-message",
        &json!({"room": ROOM, "text": "react to this"}),
    )
    .await?;
    let target = said["seq"]
        .as_u64()
        .ok_or_else(|| BenchError::Handshake(format!("no seq in {said}")))?;
    Ok((sockets, target))
}

/// `senders` frames a second each, for the phase's length, spread over the period.
async fn pace(
    writers: &[UnboundedSender<Out>],
    spec: Spec,
    frame: impl Fn(usize, u64) -> Value,
) -> u64 {
    let per_frame = Duration::from_secs_f64(1.0 / spec.rate.max(0.001));
    let until = Instant::now() + Duration::from_secs_f64(spec.seconds);
    let mut ticks: Vec<tokio::time::Interval> = (0..writers.len())
        .map(|sender| {
            #[allow(clippy::cast_precision_loss)]
            let offset = per_frame.mul_f64(sender as f64 / writers.len() as f64);
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + offset, per_frame);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick
        })
        .collect();
    let mut sent = 0u64;
    let mut counts = vec![0u64; writers.len()];
    while Instant::now() < until {
        let ready = futures_util::future::select_all(ticks.iter_mut().map(|t| Box::pin(t.tick())));
        let (_, sender, _) = ready.await;
        let text = format!("42{}", frame(sender, counts[sender]));
        if writers[sender].send(Out::Frame(text)).is_ok() {
            counts[sender] += 1;
            sent += 1;
        }
    }
    sent
}

/// A member's writer: frames and pongs, until every sender is done.
async fn write(mut sink: SplitSink<Ws, Message>, mut to_send: UnboundedReceiver<Out>) {
    while let Some(out) = to_send.recv().await {
        let text = match out {
            Out::Pong => "3".to_owned(),
            Out::Frame(frame) => frame,
        };
        if sink.send(Message::text(text)).await.is_err() {
            break;
        }
    }
}

/// A member's reader: counts the room's messages and the target's changes, each change's
/// `rev` above the last, until the line has been quiet for [`QUIET`] after the storm.
async fn read(
    mut stream: SplitStream<Ws>,
    pongs: UnboundedSender<Out>,
    target: u64,
    tally: Rc<RefCell<Tally>>,
) {
    let mut last_rev = 0;
    let wait = Duration::from_secs(30);
    let mut idle = wait;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(idle, stream.next()).await {
        let Message::Text(text) = frame else {
            continue;
        };
        if text == "2" {
            let _ = pongs.send(Out::Pong);
            continue;
        }
        let Some(Ok(Value::Array(parts))) =
            text.strip_prefix("42").map(serde_json::from_str::<Value>)
        else {
            continue;
        };
        let body = parts.get(1).unwrap_or(&Value::Null);
        let mut tally = tally.borrow_mut();
        match parts.first().and_then(Value::as_str) {
            Some("message")
                if body["room"] == ROOM
                    && body["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("storm ")) =>
            {
                tally.messages += 1;
            }
            Some("message-updated") if body["seq"].as_u64() == Some(target) => {
                let rev = body["rev"].as_u64().unwrap_or_default();
                if rev <= last_rev {
                    tally.out_of_order += 1;
                }
                last_rev = last_rev.max(rev);
                tally.updates += 1;
                // Past the first phase: the storm ends with quiet.
                idle = QUIET.max(Duration::from_secs(3));
            }
            _ => {}
        }
    }
}
