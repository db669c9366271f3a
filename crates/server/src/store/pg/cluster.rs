//! What the PostgreSQL store does for the chat besides keeping history ([`Cluster`]): other
//! nodes' messages and rooms read back, names held per node, typing relayed, and what the
//! database announces heard.

use std::sync::Arc;

use charla_protocol::chat::ChatMessage;
use chrono::{DateTime, Utc};

use super::changes::{whole, LIVING};
use super::worker::{self, pg_error};
use super::{listen, presence, stored_room, to_i64, to_u64, PgStore, FIELDS};
use crate::error::Result;
use crate::store::{Cluster, Draft, Heard, HeldName, QueuedAppend, RoomHead, RoomId, StoredRoom};

impl Cluster for PgStore {
    fn append_queued(&self, room: RoomId, draft: Draft, at: DateTime<Utc>) -> QueuedAppend {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.batcher.push(&self.writer, room, draft, at, answer);
        answered
    }

    fn is_reachable(&self) -> bool {
        self.health.reachable()
    }

    fn page_after(&self, room: RoomId, after: u64, limit: usize) -> Result<Vec<ChatMessage>> {
        self.reader.run(move |client| {
            let rows = client
                .query(
                    &format!(
                        "SELECT {FIELDS}, {LIVING} FROM messages WHERE room_id = $1 AND seq > $2
                         ORDER BY seq LIMIT $3"
                    ),
                    &[&room, &to_i64(after), &to_i64(limit as u64)],
                )
                .map_err(pg_error)?;
            rows.iter().map(whole).collect()
        })
    }

    fn heads(&self) -> Result<Vec<RoomHead>> {
        self.reader.run(|client| {
            let rows = client
                .query(
                    "SELECT room_id, last_seq, version, last_rev FROM rooms",
                    &[],
                )
                .map_err(pg_error)?;
            Ok(rows
                .iter()
                .map(|row| RoomHead {
                    room: row.get(0),
                    last_seq: to_u64(row.get(1)),
                    version: to_u64(row.get(2)),
                    last_rev: to_u64(row.get(3)),
                })
                .collect())
        })
    }

    fn hold_name(&self, held: &HeldName) -> Result<bool> {
        let (node, held) = (self.node.clone(), held.clone());
        self.writer
            .run(move |client| presence::hold(client, &node, &held))
    }

    fn sync_presence(&self, held: &[HeldName]) -> Result<Vec<HeldName>> {
        let (node, held) = (self.node.clone(), held.to_vec());
        self.writer
            .run(move |client| presence::sync(client, &node, &held))
    }

    fn announce_typing(&self, room: RoomId, name: &str, typing: bool) {
        let payload = listen::typing_payload(&self.node, room, name, typing);
        let queued = self.writer.submit_on_link(move |link| {
            if let Err(e) = link.client().and_then(|client| {
                client
                    .execute(
                        "SELECT pg_notify($1, $2)",
                        &[&listen::TYPING_CHANNEL, &payload],
                    )
                    .map_err(worker::pg_error)
            }) {
                tracing::debug!(error = %e, "could not tell other nodes of typing");
            }
        });
        if let Err(e) = queued {
            tracing::debug!(error = %e, "could not tell other nodes of typing");
        }
    }

    fn leave_presence(&self) -> Result<()> {
        let node = self.node.clone();
        self.writer
            .run(move |client| presence::leave(client, &node))
    }

    fn changed_room(&self, room: RoomId, recent: usize) -> Result<Option<StoredRoom>> {
        self.reader
            .run(move |client| stored_room(client, room, recent))
    }

    fn listen(&self, heard: tokio::sync::mpsc::Sender<Heard>) -> Result<()> {
        listen::start(self.config.clone(), Arc::clone(&self.node), heard)?;
        Ok(())
    }
}
