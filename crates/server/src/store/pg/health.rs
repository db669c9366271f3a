//! Whether PostgreSQL answers this node, known ahead of any request: a connection of its own
//! asks it an empty query every half second, and one that gets no answer within
//! [`PROBE_DEADLINE`] (refused, failed, or silent: a network that drops everything) marks
//! the database unreachable until one is answered again.
//!
//! A node cut off from its database without being refused used to keep its clients waiting:
//! a message got no answer for the whole cut (the write waited for the network's timeouts),
//! and clients that knew other nodes stayed on this one. Knowing first, the chat refuses at
//! once and sends its clients away, so those with other addresses move to a healthy node.
//!
//! The probe itself runs on a thread of its own, which may wait for as long as the network
//! does (connecting's timeout covers the socket, not PostgreSQL's handshake after it); the
//! watcher waits for its answer at most the deadline, and asks no new one while it is out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use postgres::{Client, Config, NoTls};

use super::worker::pg_error;
use crate::error::Result;

/// How often the database is asked.
const PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long an answer may take before the database counts as unreachable.
pub(super) const PROBE_DEADLINE: Duration = Duration::from_millis(1500);

/// What the prober last found; the prober stops when this is dropped.
pub(super) struct Health {
    reachable: Arc<AtomicBool>,
    _stop: mpsc::SyncSender<()>,
}

impl Health {
    /// Starts the prober (reachable until it finds otherwise).
    ///
    /// # Errors
    /// When its threads cannot be started.
    pub(super) fn start(config: Config) -> Result<Self> {
        let reachable = Arc::new(AtomicBool::new(true));
        let (stop, stopped) = mpsc::sync_channel::<()>(0);
        let (ask, asked) = mpsc::sync_channel::<()>(1);
        let (answer, answers) = mpsc::sync_channel::<Result<()>>(1);
        std::thread::Builder::new()
            .name("charla-pg-probe".into())
            .spawn(move || {
                let mut client = None;
                for () in asked {
                    if answer.send(probe(&config, &mut client)).is_err() {
                        return;
                    }
                }
            })?;
        let told = reachable.clone();
        std::thread::Builder::new()
            .name("charla-pg-health".into())
            .spawn(move || watch(&ask, &answers, &told, &stopped))?;
        Ok(Self {
            reachable,
            _stop: stop,
        })
    }

    /// Whether the last probe was answered in time.
    pub(super) fn reachable(&self) -> bool {
        self.reachable.load(Ordering::Acquire)
    }
}

/// Asks for a probe every [`PROBE_EVERY`] (none while one is out) and notes whether it was
/// answered within [`PROBE_DEADLINE`], until `stopped`.
fn watch(
    ask: &mpsc::SyncSender<()>,
    answers: &mpsc::Receiver<Result<()>>,
    reachable: &AtomicBool,
    stopped: &mpsc::Receiver<()>,
) {
    let mut out_since: Option<Instant> = None;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(PROBE_EVERY) {
        if out_since.is_none() {
            if ask.send(()).is_err() {
                return;
            }
            out_since = Some(Instant::now());
        }
        let waited = out_since.map_or(Duration::ZERO, |since| since.elapsed());
        let answered = match answers.recv_timeout(PROBE_DEADLINE.saturating_sub(waited)) {
            Ok(answer) => {
                out_since = None;
                answer
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(crate::error::Error::Unreachable(format!(
                "no answer within {} ms",
                PROBE_DEADLINE.as_millis()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let was = reachable.swap(answered.is_ok(), Ordering::AcqRel);
        match (&answered, was) {
            (Err(e), true) => {
                tracing::warn!(error = %e, "PostgreSQL does not answer: refusing what needs it and sending clients to other nodes");
            }
            (Ok(()), false) => tracing::info!("PostgreSQL answers again"),
            _ => {}
        }
    }
}

/// One empty query, on the prober's connection (made first when there is none or it broke).
/// A connection whose query outlived the deadline is kept: its answer comes when the network
/// does.
fn probe(config: &Config, client: &mut Option<Client>) -> Result<()> {
    if client.as_ref().is_none_or(Client::is_closed) {
        *client = Some(config.connect(NoTls).map_err(pg_error)?);
    }
    let answered = match client {
        Some(client) => client.simple_query("").map(|_| ()).map_err(pg_error),
        None => Ok(()),
    };
    if client.as_ref().is_some_and(Client::is_closed) {
        // PostgreSQL restarted, or the network broke: the workers' connections are checked.
        super::worker::note_break();
    }
    answered
}
