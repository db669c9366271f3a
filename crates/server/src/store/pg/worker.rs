//! One PostgreSQL connection on a thread of its own, doing one job at a time.
//!
//! The chat calls its store synchronously (a message is stored under the room's lock, as with
//! `SQLite`), from the async threads, where the blocking client (which runs a runtime of its
//! own) may not run. So each connection lives on a thread, and a call sends it a job and waits
//! for the answer. A connection that broke (PostgreSQL restarted, the network cut) is made
//! again by the next job; until it can be, jobs fail at once with the reason, and the chat
//! refuses what needed the store as `unavailable` (clients retry).
//!
//! Nothing waits for ever: connecting takes at most [`CONNECT_TIMEOUT`], a statement
//! [`STATEMENT_TIMEOUT`], a silent network [`NETWORK_TIMEOUT`] (TCP user timeout and
//! keepalives), and a caller [`ANSWER_TIMEOUT`].

use std::sync::mpsc;
use std::time::Duration;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use postgres::{Client, Config, NoTls, Statement};

use crate::error::{Error, Result};
use crate::throttle::Throttle;

/// Longest wait for a connection to be made.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a statement may run.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest the network may stay silent on a connection before it counts as broken.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a caller waits for its answer (a job queued behind a slow one included).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);
/// Jobs that may wait for the writer (flushes of the messages waiting in `batch.rs`, names'
/// presence, room changes, markers, typing); beyond that they are refused at once (and
/// logged), and clients retry.
pub(super) const WRITER_QUEUE: usize = 4096;
/// Jobs that may wait for the reader (pages, catch-ups, health checks).
pub(crate) const READER_QUEUE: usize = 256;
/// Searches that may wait for a searcher (the chat admits no more than there are searchers).
pub(crate) const SEARCHER_QUEUE: usize = 64;

type Job = Box<dyn FnOnce(&mut Link) + Send>;

/// A connection's thread.
pub(crate) struct Worker {
    jobs: mpsc::SyncSender<Job>,
    name: &'static str,
    /// How many jobs may wait.
    queue: usize,
    /// Refusals for a full queue, logged at most every few seconds.
    refusals: Throttle,
}

/// The connection a worker holds, made again when it broke, with the statements prepared on
/// it (a statement run for every message is parsed and planned once per connection).
pub(super) struct Link {
    config: Config,
    client: Option<Client>,
    prepared: HashMap<Arc<str>, Statement>,
    /// When it last answered: one unused for longer is checked before its next job.
    last_used: std::time::Instant,
    /// [`BREAKS`] when the connection was made or last checked: a connection older than the
    /// last break seen anywhere is checked before its next job.
    checked_at: u64,
}

/// Connections found broken by any worker of this process (PostgreSQL restarted, the network
/// cut). The blocking client learns that PostgreSQL closed a connection only when it next
/// sends on it, so after a restart the first job of every connection that had stayed idle
/// failed ("connection closed"), even after `/healthz`, whose connection had already been
/// made again, said 200. Once one connection is found broken, every other is checked (an
/// empty query) before its next job, and made again if it broke too. One count for the
/// process: a server talks to one database (tests that run several in one process only check
/// a little more often).
static BREAKS: AtomicU64 = AtomicU64::new(0);

/// Notes that a connection was found broken: every connection made before is checked before
/// its next job.
pub(super) fn note_break() {
    BREAKS.fetch_add(1, Ordering::AcqRel);
}

/// A connection unused this long is checked before its next job too (one killed alone, by a
/// firewall or an administrator, is found so).
const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(10);
/// How long that check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How a connection is made: the URL's settings, with this module's time limits.
///
/// # Errors
/// [`Error::Postgres`] when the URL is not a PostgreSQL one.
pub(crate) fn config(url: &str) -> Result<Config> {
    let mut config: Config = url
        .parse()
        .map_err(|e: postgres::Error| Error::Postgres(format!("the URL {url:?}: {e}")))?;
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(NETWORK_TIMEOUT)
        .tcp_user_timeout(NETWORK_TIMEOUT)
        .options(&format!(
            "-c statement_timeout={}",
            STATEMENT_TIMEOUT.as_millis()
        ));
    if config.get_application_name().is_none() {
        config.application_name("charla-server");
    }
    Ok(config)
}

impl Link {
    /// The connection, made again when it is missing or broke.
    ///
    /// # Errors
    /// [`Error::Postgres`] when PostgreSQL cannot be reached.
    pub(super) fn client(&mut self) -> Result<&mut Client> {
        let breaks = BREAKS.load(Ordering::Acquire);
        let suspect = breaks != self.checked_at || self.last_used.elapsed() > IDLE_BEFORE_CHECK;
        let broken = match self.client.as_mut() {
            None => true,
            Some(client) if client.is_closed() => true,
            Some(client) if suspect => client.is_valid(CHECK_TIMEOUT).is_err(),
            Some(_) => false,
        };
        if broken {
            if self.client.take().is_some() {
                note_break();
            }
            self.prepared.clear();
            let client = self.config.connect(NoTls).map_err(pg_error)?;
            self.client = Some(client);
        }
        // A connection made just now is newer than every break so far, its own included.
        self.checked_at = if broken {
            BREAKS.load(Ordering::Acquire)
        } else {
            breaks
        };
        self.last_used = std::time::Instant::now();
        self.client
            .as_mut()
            .ok_or_else(|| Error::Postgres("no connection".into()))
    }

    /// The connection and `sql` prepared on it (prepared now the first time).
    ///
    /// # Errors
    /// [`Error::Postgres`] when PostgreSQL cannot be reached or refuses the statement.
    pub(super) fn prepared(&mut self, sql: &Arc<str>) -> Result<(&mut Client, Statement)> {
        self.client()?;
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| Error::Postgres("no connection".into()))?;
        let statement = if let Some(statement) = self.prepared.get(sql) {
            statement.clone()
        } else {
            let statement = client.prepare(sql).map_err(pg_error)?;
            self.prepared.insert(Arc::clone(sql), statement.clone());
            statement
        };
        Ok((client, statement))
    }

    /// After a job: forgets the connection if it broke (and has the others checked).
    fn check(&mut self) {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
            self.prepared.clear();
            note_break();
        }
    }
}

impl Worker {
    /// Starts the thread `name` with a connection made from `config` (made now: a server
    /// that cannot reach its database says so at start).
    ///
    /// # Errors
    /// [`Error::Postgres`] when the connection cannot be made, [`Error::Io`] when the thread
    /// cannot be started.
    pub(crate) fn start(name: &'static str, config: Config, queue: usize) -> Result<Self> {
        Self::start_pool(name, config, queue, 1)
    }

    /// Starts `threads` threads `name`, each with a connection of its own, taking jobs from
    /// one queue: a job runs on whichever connection is free first.
    ///
    /// # Errors
    /// [`Error::Postgres`] when a connection cannot be made, [`Error::Io`] when a thread
    /// cannot be started.
    pub(crate) fn start_pool(
        name: &'static str,
        config: Config,
        queue: usize,
        threads: usize,
    ) -> Result<Self> {
        let (jobs, waiting) = mpsc::sync_channel::<Job>(queue);
        let waiting = Arc::new(std::sync::Mutex::new(waiting));
        for _ in 0..threads.max(1) {
            let mut link = Link {
                config: config.clone(),
                client: None,
                prepared: HashMap::new(),
                last_used: std::time::Instant::now(),
                checked_at: BREAKS.load(Ordering::Acquire),
            };
            let waiting = Arc::clone(&waiting);
            let (connected, first) = mpsc::sync_channel(1);
            std::thread::Builder::new()
                .name(format!("charla-pg-{name}"))
                .spawn(move || {
                    // Connected here, on the thread the connection lives on (the caller may
                    // be an async thread, where the blocking client may not run).
                    let made = link.client().map(|_| ());
                    let failed = made.is_err();
                    let _ = connected.send(made);
                    if failed {
                        return;
                    }
                    loop {
                        // The lock is held only to take the next job, never while it runs.
                        let next = waiting
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok(job) = next else {
                            return;
                        };
                        job(&mut link);
                        link.check();
                    }
                })?;
            first
                .recv()
                .map_err(|_| Error::Postgres(format!("the {name} connection's thread ended")))??;
        }
        Ok(Self {
            jobs,
            name,
            queue,
            refusals: Throttle::new(),
        })
    }

    /// Runs `job` on the connection and waits for its answer. Blocking.
    ///
    /// # Errors
    /// What `job` returns, [`Error::Postgres`] when the connection cannot be made, or when
    /// no answer comes in time.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Client) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.run_within(ANSWER_TIMEOUT, job)
    }

    /// Queues `job` and returns at once; `answer` gets its result on the connection's thread
    /// (jobs run in the order they were queued).
    ///
    /// # Errors
    /// [`Error::Postgres`] when the queue is full or the thread ended (then `answer` is not
    /// called).
    pub(crate) fn submit<T: Send + 'static>(
        &self,
        sql: Arc<str>,
        job: impl FnOnce(&mut Client, &Statement) -> Result<T> + Send + 'static,
        answer: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Result<()> {
        self.enqueue(Box::new(move |link: &mut Link| {
            answer(
                link.prepared(&sql)
                    .and_then(|(client, statement)| job(client, &statement)),
            );
        }))
    }

    /// Queues `job`, which is handed the connection itself (to prepare what it needs), and
    /// returns at once.
    ///
    /// # Errors
    /// [`Error::Postgres`] when the queue is full or the thread ended (then `job` never runs).
    pub(super) fn submit_on_link(
        &self,
        job: impl FnOnce(&mut Link) + Send + 'static,
    ) -> Result<()> {
        self.enqueue(Box::new(job))
    }

    /// Runs `job` with `sql` prepared on the connection and waits for its answer. Blocking.
    ///
    /// # Errors
    /// What `job` returns, [`Error::Postgres`] when the connection cannot be made, or when
    /// no answer comes in time.
    pub(crate) fn run_prepared<T: Send + 'static>(
        &self,
        sql: Arc<str>,
        job: impl FnOnce(&mut Client, &Statement) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = mpsc::sync_channel(1);
        self.submit(sql, job, move |result| {
            let _ = answer.send(result);
        })?;
        self.wait(&answered, ANSWER_TIMEOUT)
    }

    /// The answer of a queued job, waited for at most `within`.
    fn wait<T>(&self, answered: &mpsc::Receiver<Result<T>>, within: Duration) -> Result<T> {
        answered.recv_timeout(within).map_err(|_| {
            Error::Postgres(format!(
                "no answer from PostgreSQL ({} connection) in {} ms",
                self.name,
                within.as_millis()
            ))
        })?
    }

    /// [`Worker::run`], waiting at most `within` for the answer (the job still runs; its late
    /// answer is dropped).
    ///
    /// # Errors
    /// What `job` returns, [`Error::Postgres`] when the connection cannot be made, or when
    /// no answer comes in time.
    pub(crate) fn run_within<T: Send + 'static>(
        &self,
        within: Duration,
        job: impl FnOnce(&mut Client) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = mpsc::sync_channel(1);
        self.enqueue(Box::new(move |link: &mut Link| {
            let result = link.client().and_then(job);
            let _ = answer.send(result);
        }))?;
        self.wait(&answered, within)
    }

    /// Puts a job in the queue, or refuses it at once when the queue is full (logged).
    fn enqueue(&self, job: Job) -> Result<()> {
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => {
                self.refusals.warn(|suppressed| {
                    tracing::warn!(
                        connection = self.name,
                        waiting = self.queue,
                        suppressed,
                        "PostgreSQL is not keeping up: refusing work"
                    );
                });
                Error::Postgres(format!(
                    "{} requests already wait for the {} connection",
                    self.queue, self.name
                ))
            }
            mpsc::TrySendError::Disconnected(_) => {
                Error::Postgres(format!("the {} connection's thread ended", self.name))
            }
        })
    }
}

/// A driver error as the server's.
pub(crate) fn pg_error(e: postgres::Error) -> Error {
    // The server's own message (with its SQLSTATE) when there is one, else the driver's.
    let text = e.as_db_error().map_or_else(
        || e.to_string(),
        |db| format!("{} ({})", db.message(), db.code().code()),
    );
    Error::Postgres(text)
}
