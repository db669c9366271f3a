//! Messages accepted for sending and not yet acknowledged, persisted after every change so that
//! a killed process loses none; each keeps its `clientId`, so a resend is recognised by the
//! server and never shows twice.

use std::path::{Path, PathBuf};

use charla_protocol::chat::ErrorCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files;

/// Where an unsent message stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent: for a connection, for the previous message's ack, or for the wait a
    /// refusal that means *later* (rate limited, busy) asked for.
    Pending,
    /// Written to the server; waiting for its ack (or, on the tutorial's server, its echo).
    Sent,
    /// The server refused it for good (too long, empty, malformed); it stays until retried or
    /// discarded. A refusal that means *later* leaves it `Pending` instead.
    Failed {
        /// The server's reason, for programs.
        code: ErrorCode,
        /// The server's reason, for people.
        message: String,
    },
}

/// One unsent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// Idempotency key, sent as `clientId`.
    pub client_id: String,
    /// The text.
    pub text: String,
    /// The room it goes to; absent for `general`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub room: Option<String>,
    /// When the user sent it.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: OutboxState,
}

#[derive(Default, Serialize, Deserialize)]
struct OutboxFile {
    entries: Vec<OutboxEntry>,
}

/// The persisted outbox of one server + username.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    entries: Vec<OutboxEntry>,
}

impl Outbox {
    /// Loads the outbox at `path` (missing → empty; corrupt → set aside, empty). Messages that
    /// were `Sent` when the process stopped are `Pending` again: their ack may never have come.
    #[must_use]
    pub fn load(path: &Path) -> Self {
        let mut file: OutboxFile = files::read_json_or_default(path);
        for entry in &mut file.entries {
            if entry.state == OutboxState::Sent {
                entry.state = OutboxState::Pending;
            }
        }
        Self {
            path: path.to_owned(),
            entries: file.entries,
        }
    }

    /// Everything, oldest first.
    #[must_use]
    pub fn entries(&self) -> &[OutboxEntry] {
        &self.entries
    }

    /// Adds a message for `room` (`None`: `general`) and persists it before returning.
    ///
    /// # Errors
    /// When the outbox cannot be written; the message is then not added.
    pub fn add(&mut self, text: String, room: Option<String>) -> Result<OutboxEntry> {
        let entry = OutboxEntry {
            client_id: uuid::Uuid::new_v4().to_string(),
            text,
            room,
            created_at: charla_protocol::timestamp::now_millis(),
            state: OutboxState::Pending,
        };
        self.entries.push(entry.clone());
        if let Err(e) = self.save() {
            self.entries.pop();
            return Err(e);
        }
        Ok(entry)
    }

    /// Entries waiting to be sent, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.entries
            .iter()
            .filter(|e| e.state == OutboxState::Pending)
    }

    /// Marks an entry as written to the server (not persisted: after a crash it is resent).
    pub fn mark_sent(&mut self, client_id: &str) {
        if let Some(entry) = self.find_mut(client_id) {
            entry.state = OutboxState::Sent;
        }
    }

    /// Puts one `Sent` entry back to `Pending`: the server said *later* (rate limited, busy), so
    /// it goes again by itself. Not persisted: `Sent` is never saved as such. Returns whether the
    /// entry changed.
    pub fn unsend(&mut self, client_id: &str) -> bool {
        match self.find_mut(client_id) {
            Some(entry) if entry.state == OutboxState::Sent => {
                entry.state = OutboxState::Pending;
                true
            }
            _ => false,
        }
    }

    /// Puts every `Sent` entry back to `Pending` (the connection was lost before their acks).
    pub fn unsend_all(&mut self) {
        for entry in &mut self.entries {
            if entry.state == OutboxState::Sent {
                entry.state = OutboxState::Pending;
            }
        }
    }

    /// Removes an acknowledged entry. Returns whether it was there.
    ///
    /// # Errors
    /// When the outbox cannot be written.
    pub fn delivered(&mut self, client_id: &str) -> Result<bool> {
        let before = self.entries.len();
        self.entries.retain(|e| e.client_id != client_id);
        if self.entries.len() == before {
            return Ok(false);
        }
        self.save()?;
        Ok(true)
    }

    /// The oldest `Sent` entry with this text: how the tutorial's server (no acks) confirms a
    /// message, by echoing it back in order.
    #[must_use]
    pub fn sent_with_text(&self, text: &str) -> Option<&OutboxEntry> {
        self.entries
            .iter()
            .find(|e| e.state == OutboxState::Sent && e.text == text)
    }

    /// Marks an entry refused by the server.
    ///
    /// # Errors
    /// When the outbox cannot be written.
    pub fn fail(&mut self, client_id: &str, code: ErrorCode, message: String) -> Result<()> {
        if let Some(entry) = self.find_mut(client_id) {
            entry.state = OutboxState::Failed { code, message };
            self.save()?;
        }
        Ok(())
    }

    /// Puts a failed entry back in line.
    ///
    /// # Errors
    /// [`Error::UnknownMessage`] when no entry has that id, or the outbox cannot be written.
    pub fn retry(&mut self, client_id: &str) -> Result<()> {
        let entry = self
            .find_mut(client_id)
            .ok_or_else(|| Error::UnknownMessage(client_id.to_owned()))?;
        if matches!(entry.state, OutboxState::Failed { .. }) {
            entry.state = OutboxState::Pending;
        }
        self.save()
    }

    /// Drops an entry for good.
    ///
    /// # Errors
    /// [`Error::UnknownMessage`] when no entry has that id, or the outbox cannot be written.
    pub fn discard(&mut self, client_id: &str) -> Result<()> {
        if !self.delivered(client_id)? {
            return Err(Error::UnknownMessage(client_id.to_owned()));
        }
        Ok(())
    }

    fn find_mut(&mut self, client_id: &str) -> Option<&mut OutboxEntry> {
        self.entries.iter_mut().find(|e| e.client_id == client_id)
    }

    fn save(&self) -> Result<()> {
        files::write_json(
            &self.path,
            &OutboxFile {
                entries: self.entries.clone(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reload_with_sent_back_to_pending() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.json");
        let mut outbox = Outbox::load(&path);
        let a = outbox.add("a".into(), None).expect("adds");
        let b = outbox.add("b".into(), None).expect("adds");
        outbox.mark_sent(&a.client_id);
        outbox
            .fail(&b.client_id, ErrorCode::MessageTooLong, "too long".into())
            .expect("fails");

        let reloaded = Outbox::load(&path);
        let states: Vec<_> = reloaded.entries().iter().map(|e| e.state.clone()).collect();
        assert_eq!(
            states,
            [
                OutboxState::Pending,
                OutboxState::Failed {
                    code: ErrorCode::MessageTooLong,
                    message: "too long".into()
                }
            ]
        );
        assert_eq!(
            reloaded.entries()[0].client_id,
            a.client_id,
            "the same key is resent"
        );
    }

    #[test]
    fn retry_discard_and_delivery() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut outbox = Outbox::load(&dir.path().join("outbox.json"));
        let a = outbox.add("a".into(), None).expect("adds");
        outbox
            .fail(&a.client_id, ErrorCode::RateLimited, "slow down".into())
            .expect("fails");
        assert_eq!(outbox.pending().count(), 0);
        outbox.retry(&a.client_id).expect("retries");
        assert_eq!(outbox.pending().count(), 1);
        outbox.mark_sent(&a.client_id);
        assert_eq!(
            outbox.sent_with_text("a").map(|e| e.client_id.clone()),
            Some(a.client_id.clone())
        );
        assert!(outbox.delivered(&a.client_id).expect("saves"));
        assert!(outbox.discard(&a.client_id).is_err());
        assert!(outbox.entries().is_empty());
    }

    #[test]
    fn a_corrupt_outbox_is_set_aside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.json");
        std::fs::write(&path, "[1,2").expect("writes");
        assert!(Outbox::load(&path).entries().is_empty());
        assert!(files::bad_path(&path).exists());
    }
}
