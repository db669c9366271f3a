//! History persistence: an SQLite file written by one thread, off the broadcast path.
//!
//! Accepted messages are queued to the writer, which commits them in batches (one transaction
//! per batch, WAL, `synchronous=NORMAL`: durable against a killed process) and only then runs
//! each message's callback, which acknowledges it to the sender. An acknowledged message is
//! therefore on disk, and a burst costs one commit, not one per message.

use std::path::Path;

use charla_protocol::chat::ChatMessage;
use rusqlite::{params, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::config::Storage;
use crate::error::{Error, Result};

/// Runs once the job is durable (`true`) or has failed to be written (`false`).
pub type AfterWrite = Box<dyn FnOnce(bool) + Send>;

/// Most messages written in one transaction.
const MAX_BATCH: usize = 512;

enum Job {
    Append(ChatMessage, Option<AfterWrite>),
    After(AfterWrite),
    Flush(oneshot::Sender<()>),
}

/// Where accepted messages go to be kept: the writer thread's queue, or nothing (in memory,
/// callbacks run at once).
#[derive(Clone)]
pub struct StoreHandle {
    writer: Option<mpsc::UnboundedSender<Job>>,
}

/// What a store holds at start.
pub struct Loaded {
    /// The most recent messages, oldest first.
    pub history: Vec<ChatMessage>,
    /// The highest `seq` ever given, 0 when none.
    pub last_seq: u64,
}

/// Opens the store and reads back its most recent `limit` messages.
///
/// # Errors
/// When the database cannot be created, opened or read.
pub fn open(storage: &Storage, limit: usize) -> Result<(StoreHandle, Loaded)> {
    match storage {
        Storage::Memory => Ok((
            StoreHandle { writer: None },
            Loaded {
                history: Vec::new(),
                last_seq: 0,
            },
        )),
        Storage::Sqlite(path) => {
            let conn = connect(path)?;
            let loaded = load(&conn, limit)?;
            let (tx, rx) = mpsc::unbounded_channel();
            let keep = limit.max(1);
            std::thread::Builder::new()
                .name("charla-store".into())
                .spawn(move || {
                    run_as_background_work();
                    write_loop(conn, rx, keep);
                })?;
            Ok((StoreHandle { writer: Some(tx) }, loaded))
        }
    }
}

impl StoreHandle {
    /// Queues a message to be kept; `after` runs once it is durable.
    pub fn append(&self, message: ChatMessage, after: Option<AfterWrite>) {
        match &self.writer {
            None => {
                if let Some(after) = after {
                    after(true);
                }
            }
            Some(tx) => {
                if let Err(mpsc::error::SendError(Job::Append(_, Some(after)))) =
                    tx.send(Job::Append(message, after))
                {
                    after(false);
                }
            }
        }
    }

    /// Runs `after` once everything queued before it is durable.
    pub fn after_pending(&self, after: AfterWrite) {
        match &self.writer {
            None => after(true),
            Some(tx) => {
                if let Err(mpsc::error::SendError(Job::After(after))) = tx.send(Job::After(after)) {
                    after(false);
                }
            }
        }
    }

    /// Waits until everything queued so far is written.
    pub async fn flush(&self) {
        if let Some(tx) = &self.writer {
            let (done, wait) = oneshot::channel();
            if tx.send(Job::Flush(done)).is_ok() {
                // An error means the writer has stopped, having written what it could.
                let _ = wait.await;
            }
        }
    }
}

fn connect(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::StoreDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS messages (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL,
            username TEXT NOT NULL,
            text TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            client_id TEXT
        );",
    )?;
    Ok(conn)
}

fn load(conn: &Connection, limit: usize) -> Result<Loaded> {
    let last_seq: Option<u64> =
        conn.query_row("SELECT max(seq) FROM messages", [], |row| row.get(0))?;
    let mut statement = conn.prepare(
        "SELECT seq, id, username, text, timestamp, client_id FROM messages ORDER BY seq DESC LIMIT ?1",
    )?;
    let rows = statement.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
        Ok((
            row.get::<_, u64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut history = Vec::new();
    for row in rows {
        let (seq, id, username, text, timestamp, client_id) = row?;
        let timestamp = chrono::DateTime::parse_from_rfc3339(&timestamp)
            .map_err(|e| Error::Corrupt(format!("seq {seq}: timestamp {timestamp:?}: {e}")))?
            .with_timezone(&chrono::Utc);
        history.push(ChatMessage {
            id,
            username,
            text,
            timestamp,
            seq: Some(seq),
            client_id,
        });
    }
    history.reverse();
    Ok(Loaded {
        history,
        last_seq: last_seq.unwrap_or(0),
    })
}

/// Marks the writer thread as batch work for the scheduler: it runs as much as before, but a
/// message handed to it no longer preempts the thread that is delivering that message.
#[cfg(target_os = "linux")]
fn run_as_background_work() {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    use thread_priority::ThreadPriority;
    let batch = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
    if let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, batch) {
        tracing::debug!(error = ?e, "could not make the history writer a batch thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn run_as_background_work() {}

fn write_loop(mut conn: Connection, mut rx: mpsc::UnboundedReceiver<Job>, keep: usize) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(job) = rx.blocking_recv() {
        batch.push(job);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let written = match write_batch(&mut conn, &batch, keep) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, messages = batch.len(), "could not write history");
                false
            }
        };
        for job in batch.drain(..) {
            match job {
                Job::Append(_, Some(after)) | Job::After(after) => after(written),
                Job::Append(_, None) => {}
                Job::Flush(done) => {
                    // The waiter may have given up; nothing to do then.
                    let _ = done.send(());
                }
            }
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[Job], keep: usize) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let mut last = None;
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO messages (seq, id, username, text, timestamp, client_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for job in batch {
            if let Job::Append(m, _) = job {
                let seq = m.seq.unwrap_or_default();
                insert.execute(params![
                    seq,
                    m.id,
                    m.username,
                    m.text,
                    charla_protocol::timestamp::format(&m.timestamp),
                    m.client_id
                ])?;
                last = Some(seq);
            }
        }
    }
    if let Some(last) = last {
        let oldest_kept = last.saturating_sub(keep as u64);
        tx.execute("DELETE FROM messages WHERE seq <= ?1", [oldest_kept])?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64) -> ChatMessage {
        ChatMessage {
            id: format!("m{seq}"),
            username: "alice".into(),
            text: format!("text {seq}"),
            timestamp: charla_protocol::timestamp::now_millis(),
            seq: Some(seq),
            client_id: Some(format!("c{seq}")),
        }
    }

    #[tokio::test]
    async fn keeps_the_newest_messages_across_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = Storage::Sqlite(dir.path().join("sub/history.db"));
        let (store, loaded) = open(&storage, 3).expect("opens");
        assert_eq!(loaded.last_seq, 0);
        for seq in 1..=5 {
            store.append(message(seq), None);
        }
        store.flush().await;
        drop(store);

        let (_, loaded) = open(&storage, 3).expect("reopens");
        assert_eq!(loaded.last_seq, 5);
        let seqs: Vec<_> = loaded.history.iter().filter_map(|m| m.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(
            loaded.history[2],
            message(5).clone_with_timestamp(loaded.history[2].timestamp)
        );
    }

    trait WithTimestamp {
        fn clone_with_timestamp(self, at: chrono::DateTime<chrono::Utc>) -> Self;
    }
    impl WithTimestamp for ChatMessage {
        fn clone_with_timestamp(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
            self.timestamp = at;
            self
        }
    }
}
