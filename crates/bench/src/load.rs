//! Driving traffic: connect receivers and senders, send for a while, drain, and judge.
//!
//! Senders either keep a window of messages in flight (a message is done when its own echo
//! comes back, which all three servers send) or send at a fixed rate, stamping each message
//! with its scheduled time so a server that falls behind shows as latency, not as a lower rate.
//! Every connection, senders included, keeps a [`Ledger`]; the run ends when every
//! connection has every message, or the drain timeout says something was lost.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt, TryStreamExt};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, Ws};
use crate::error::{BenchError, Result};
use crate::flavor::{is_refusal, Flavor};
use crate::ledger::{Ledger, Verdict};
use crate::marker::{self, Marker};
use crate::stats::Percentiles;

/// How senders pace themselves.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// Keep this many messages per sender in flight.
    Window(usize),
    /// Send this many messages per second in all, spread evenly over the senders.
    Rate(f64),
}

/// One load run.
#[derive(Debug, Clone, Serialize)]
pub struct LoadSpec {
    /// Connections that only listen.
    pub receivers: usize,
    /// Connections that send (and listen).
    pub senders: usize,
    /// How senders pace themselves.
    pub pace: Pace,
    /// Sending before the measurement starts.
    pub warmup: Duration,
    /// The measured stretch.
    pub measure: Duration,
    /// Whether latencies are collected.
    pub latency: bool,
}

/// What a load run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadResult {
    /// Deliveries per second during the measured stretch, over every connection.
    pub deliveries_per_sec: f64,
    /// Messages sent per second during the measured stretch.
    pub messages_per_sec: f64,
    /// Latency of messages sent during the measured stretch.
    pub latency: Percentiles,
    /// Whether anything was lost, repeated or reordered.
    pub verdict: Verdict,
}

/// State every task of a run shares.
struct Shared {
    clock: Instant,
    /// Text frames received (to see when setup traffic has settled).
    frames: AtomicU64,
    /// Deliveries of benchmark messages.
    delivered: AtomicU64,
    /// Latencies are kept for messages sent from here on (µs on `clock`).
    measure_from_us: AtomicU64,
    /// Messages sent, per sender.
    sent: Vec<AtomicU64>,
    /// Negative acks.
    refused: AtomicU64,
    /// Senders that have sent their last message (their next one would be past the deadline).
    finished: AtomicU64,
}

impl Shared {
    fn now_us(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn us_of(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.clock).as_micros()).unwrap_or(u64::MAX)
    }
}

/// The phases a run moves through, broadcast to every task.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Setup,
    /// Senders send until the deadline.
    Send {
        deadline: Instant,
    },
    /// Everyone stops and hands in their ledger.
    Stop,
}

/// How many connections are set up at once.
const SETUP_CONCURRENCY: usize = 64;
/// Setup traffic (presence) is over when no frame arrived for this long.
const SETTLED_AFTER: Duration = Duration::from_millis(300);
/// How long setup traffic may take to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);
/// How long deliveries may take to complete after the senders stop.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// Runs `spec` against the server at `addr`.
///
/// # Errors
/// When connections cannot be set up, or the server stops answering.
pub async fn run(addr: SocketAddr, flavor: Flavor, spec: &LoadSpec) -> Result<LoadResult> {
    run_between(addr, addr, flavor, spec).await
}

/// Runs `spec` with its senders on the server at `send_to` and its receivers on the one at
/// `receive_from` (two nodes of one cluster: the latency is the cross-node one).
///
/// # Errors
/// When connections cannot be set up, or a server stops answering.
pub async fn run_between(
    send_to: SocketAddr,
    receive_from: SocketAddr,
    flavor: Flavor,
    spec: &LoadSpec,
) -> Result<LoadResult> {
    let shared = Arc::new(Shared::new(spec.senders));
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let tasks = start_connections(send_to, receive_from, flavor, spec, &shared, &phase_rx).await?;
    settle(&shared).await?;
    let measured = measure(spec, &shared, &phase_tx).await;
    drain(spec, &shared).await;
    let _ = phase_tx.send(Phase::Stop);
    let mut ledgers = hand_in(tasks).await?;
    let sent: Vec<u64> = shared
        .sent
        .iter()
        .map(|s| s.load(Ordering::Relaxed))
        .collect();
    let verdict = Verdict::judge(&ledgers, &sent, shared.refused.load(Ordering::Relaxed));
    let mut latencies: Vec<u32> = ledgers
        .iter_mut()
        .flat_map(|l| std::mem::take(&mut l.latencies_us))
        .collect();
    let seconds = spec.measure.as_secs_f64();
    Ok(LoadResult {
        deliveries_per_sec: measured.delivered as f64 / seconds,
        messages_per_sec: measured.sent as f64 / seconds,
        latency: Percentiles::of(&mut latencies),
        verdict,
    })
}

impl Shared {
    fn new(senders: usize) -> Self {
        Self {
            clock: Instant::now(),
            frames: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            measure_from_us: AtomicU64::new(u64::MAX),
            sent: (0..senders).map(|_| AtomicU64::new(0)).collect(),
            refused: AtomicU64::new(0),
            finished: AtomicU64::new(0),
        }
    }
}

/// Connects and joins the receivers (on `receive_from`) and the senders (on `send_to`), and
/// starts a task for each that hands in its ledger at the end.
async fn start_connections(
    send_to: SocketAddr,
    receive_from: SocketAddr,
    flavor: Flavor,
    spec: &LoadSpec,
    shared: &Arc<Shared>,
    phase: &watch::Receiver<Phase>,
) -> Result<Vec<JoinHandle<Result<Ledger>>>> {
    let receivers = connect_all(receive_from, flavor, spec.receivers, "bench-r").await?;
    let senders = connect_all(send_to, flavor, spec.senders, "bench-s").await?;
    let mut tasks: Vec<JoinHandle<Result<Ledger>>> = Vec::new();
    for ws in receivers {
        tasks.push(tokio::spawn(listen(
            ws,
            spec.senders,
            shared.clone(),
            phase.clone(),
        )));
    }
    for (index, ws) in senders.into_iter().enumerate() {
        let sender = Sender {
            index,
            name: format!("bench-s{index}"),
            flavor,
            pace: per_sender_pace(spec.pace, spec.senders),
            senders: spec.senders,
        };
        tasks.push(tokio::spawn(sender.run(ws, shared.clone(), phase.clone())));
    }
    Ok(tasks)
}

/// Deliveries and messages sent during the measured stretch.
struct Measured {
    delivered: u64,
    sent: u64,
}

/// Tells the senders to send, lets the warmup pass, then counts over the measured stretch.
async fn measure(spec: &LoadSpec, shared: &Shared, phase: &watch::Sender<Phase>) -> Measured {
    let start = Instant::now();
    let measured_from = start + spec.warmup;
    let deadline = measured_from + spec.measure;
    if spec.latency {
        shared
            .measure_from_us
            .store(shared.us_of(measured_from), Ordering::Relaxed);
    }
    // A send watch only fails when every task has already ended; the drain below reports it.
    let _ = phase.send(Phase::Send { deadline });
    tokio::time::sleep_until(measured_from.into()).await;
    let delivered_before = shared.delivered.load(Ordering::Relaxed);
    let sent_before = total(&shared.sent);
    tokio::time::sleep_until(deadline.into()).await;
    Measured {
        delivered: shared.delivered.load(Ordering::Relaxed) - delivered_before,
        sent: total(&shared.sent) - sent_before,
    }
}

/// A sender whose turn came just before the deadline may not have sent yet: waits until
/// every sender has sent its last message, then until every connection (senders too) has
/// received everything that was sent, within [`DRAIN_LIMIT`] (what is missing then is lost,
/// which the ledgers show).
async fn drain(spec: &LoadSpec, shared: &Shared) {
    let connections = (spec.receivers + spec.senders) as u64;
    let drained_by = Instant::now() + DRAIN_LIMIT;
    while shared.finished.load(Ordering::Relaxed) < spec.senders as u64
        && Instant::now() < drained_by
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    loop {
        let expected = total(&shared.sent) * connections;
        if shared.delivered.load(Ordering::Relaxed) >= expected || Instant::now() > drained_by {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every connection's ledger, once told to stop; the first task that failed, if any did.
async fn hand_in(tasks: Vec<JoinHandle<Result<Ledger>>>) -> Result<Vec<Ledger>> {
    let mut ledgers = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(Ok(ledger)) => ledgers.push(ledger),
            Ok(Err(e)) => return Err(e),
            Err(e) => {
                return Err(BenchError::Handshake(format!(
                    "a connection task failed: {e}"
                )))
            }
        }
    }
    Ok(ledgers)
}

fn total(counters: &[AtomicU64]) -> u64 {
    counters.iter().map(|c| c.load(Ordering::Relaxed)).sum()
}

fn per_sender_pace(pace: Pace, senders: usize) -> Pace {
    match pace {
        Pace::Rate(total) => Pace::Rate(total / senders.max(1) as f64),
        window @ Pace::Window(_) => window,
    }
}

/// Opens and joins `count` connections named `prefix0`, `prefix1`, …, a few at a time.
///
/// # Errors
/// The first connection that fails.
pub async fn connect_all(
    addr: SocketAddr,
    flavor: Flavor,
    count: usize,
    prefix: &str,
) -> Result<Vec<Ws>> {
    futures_util::stream::iter(0..count)
        .map(|i| {
            let name = format!("{prefix}{i}");
            async move {
                let mut ws = conn::open(addr).await?;
                conn::join(&mut ws, flavor, &name).await?;
                Ok::<_, BenchError>(ws)
            }
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

/// Waits until setup traffic (presence updates to everyone) has stopped arriving.
async fn settle(shared: &Shared) -> Result<()> {
    let limit = Instant::now() + SETTLE_LIMIT;
    let mut last = shared.frames.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(SETTLED_AFTER).await;
        let now = shared.frames.load(Ordering::Relaxed);
        if now == last {
            return Ok(());
        }
        if Instant::now() > limit {
            return Err(BenchError::Timeout("setup traffic never settled".into()));
        }
        last = now;
    }
}

/// What a received frame means to its connection.
fn account(shared: &Shared, ledger: &mut Ledger, frame: &[u8]) -> Option<Marker> {
    shared.frames.fetch_add(1, Ordering::Relaxed);
    let m = marker::find(frame)?;
    shared.delivered.fetch_add(1, Ordering::Relaxed);
    ledger.measure_from(shared.measure_from_us.load(Ordering::Relaxed));
    ledger.record(m, shared.now_us());
    Some(m)
}

/// A receiver: records every delivery until told to stop.
///
/// The stop signal is one future kept across frames, so the per-frame cost is reading the
/// frame and finding its marker, nothing else.
async fn listen(
    mut ws: Ws,
    senders: usize,
    shared: Arc<Shared>,
    phase: watch::Receiver<Phase>,
) -> Result<Ledger> {
    let mut ledger = Ledger::new(senders, u64::MAX);
    let stop = stopped(phase);
    tokio::pin!(stop);
    let mut open = true;
    loop {
        tokio::select! {
            biased;
            frame = ws.next(), if open => match frame {
                Some(Ok(Message::Text(text))) => {
                    if !conn::answer_ping(&mut ws, &text).await? {
                        account(&shared, &mut ledger, text.as_bytes());
                    }
                }
                Some(Ok(_)) => {}
                // A connection the server closed keeps its ledger: what it missed is a drop.
                Some(Err(_)) | None => open = false,
            },
            () = &mut stop => return Ok(ledger),
        }
    }
}

/// Completes when the run enters [`Phase::Stop`] (or its coordinator is gone).
async fn stopped(mut phase: watch::Receiver<Phase>) {
    while *phase.borrow_and_update() != Phase::Stop {
        if phase.changed().await.is_err() {
            return;
        }
    }
}

/// A sending connection.
struct Sender {
    index: usize,
    name: String,
    flavor: Flavor,
    pace: Pace,
    senders: usize,
}

impl Sender {
    async fn run(
        self,
        mut ws: Ws,
        shared: Arc<Shared>,
        mut phase: watch::Receiver<Phase>,
    ) -> Result<Ledger> {
        let mut ledger = Ledger::new(self.senders, u64::MAX);
        // Until the run starts, a sender is just a listener.
        let deadline = loop {
            tokio::select! {
                changed = phase.changed() => {
                    match (changed, *phase.borrow()) {
                        (Ok(()), Phase::Send { deadline }) => break deadline,
                        (Ok(()), Phase::Setup) => {}
                        _ => return Ok(ledger),
                    }
                }
                frame = ws.next() => {
                    self.on_frame(&mut ws, frame, &shared, &mut ledger).await?;
                }
            }
        };
        let stop = stopped(phase);
        tokio::pin!(stop);
        match self.pace {
            Pace::Window(window) => {
                self.windowed(ws, window, deadline, &shared, ledger, stop)
                    .await
            }
            Pace::Rate(per_sec) => {
                self.paced(ws, per_sec, deadline, &shared, ledger, stop)
                    .await
            }
        }
    }

    /// Keeps `window` messages in flight until the deadline.
    async fn windowed(
        &self,
        mut ws: Ws,
        window: usize,
        deadline: Instant,
        shared: &Shared,
        mut ledger: Ledger,
        mut stop: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Ledger> {
        let mut in_flight = 0usize;
        let mut sending = true;
        loop {
            while sending && in_flight < window {
                if Instant::now() >= deadline {
                    sending = false;
                    shared.finished.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                self.send(&mut ws, shared, shared.now_us()).await?;
                in_flight += 1;
            }
            tokio::select! {
                () = stop.as_mut() => return Ok(ledger),
                frame = ws.next() => {
                    if let Some(m) = self.on_frame(&mut ws, frame, shared, &mut ledger).await? {
                        if m.sender as usize == self.index {
                            in_flight = in_flight.saturating_sub(1);
                        }
                    }
                }
            }
        }
    }

    /// Sends `per_sec` messages a second until the deadline. A tick that comes late (the timer's
    /// granularity is a millisecond) is sent at once; late ticks catch up in a burst, so the
    /// offered rate holds even when the generator or the server falls behind.
    async fn paced(
        &self,
        mut ws: Ws,
        per_sec: f64,
        deadline: Instant,
        shared: &Shared,
        mut ledger: Ledger,
        mut stop: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<Ledger> {
        let period = Duration::from_secs_f64(1.0 / per_sec.max(0.001));
        // Senders start spread over one period so their messages do not all coincide.
        let offset = period.mul_f64(self.index as f64 / self.senders.max(1) as f64);
        let mut ticks = tokio::time::interval_at((Instant::now() + offset).into(), period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut sending = true;
        loop {
            tokio::select! {
                () = stop.as_mut() => return Ok(ledger),
                due = ticks.tick(), if sending => {
                    if due.into_std() >= deadline {
                        sending = false;
                        shared.finished.fetch_add(1, Ordering::Relaxed);
                    } else {
                        self.send(&mut ws, shared, shared.now_us()).await?;
                    }
                }
                frame = ws.next() => {
                    self.on_frame(&mut ws, frame, shared, &mut ledger).await?;
                }
            }
        }
    }

    async fn send(&self, ws: &mut Ws, shared: &Shared, stamp_us: u64) -> Result<()> {
        let counter = &shared.sent[self.index];
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let text = Marker {
            sender: u32::try_from(self.index).unwrap_or(u32::MAX),
            n,
            sent_us: stamp_us,
        }
        .text();
        // Ack ids from 1; 0 was the join's.
        let frame = self.flavor.chat_frame(&self.name, &text, n + 1);
        ws.send(Message::text(frame)).await?;
        Ok(())
    }

    async fn on_frame(
        &self,
        ws: &mut Ws,
        frame: Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>,
        shared: &Shared,
        ledger: &mut Ledger,
    ) -> Result<Option<Marker>> {
        match frame {
            Some(Ok(Message::Text(text))) => {
                if conn::answer_ping(ws, &text).await? {
                    return Ok(None);
                }
                if is_refusal(text.as_bytes()) {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    eprintln!("charla-bench: {} was refused: {}", self.name, text.as_str());
                    return Ok(None);
                }
                Ok(account(shared, ledger, text.as_bytes()))
            }
            Some(Ok(_)) => Ok(None),
            Some(Err(e)) => Err(e.into()),
            None => Err(BenchError::Handshake(format!(
                "the server closed {}'s connection",
                self.name
            ))),
        }
    }
}
