//! Messages accepted for sending and not yet acknowledged, and changes made to messages (edits,
//! deletions, reactions, pins) not yet acknowledged, in one list in the order they were made,
//! persisted after every change so that a killed process loses none; each keeps its
//! `clientId`, so a resend is recognised by the server and never applied twice.
//!
//! One list, not two: what the user did goes in the order they did it, and a change to a
//! message still here comes after that message by construction (it waits for its `seq`). A
//! reply in a thread is a message that names its root ([`ThreadReply`]); one answering a
//! message still here waits for that message's `seq` too.

mod change;
mod reply;

use std::path::{Path, PathBuf};

use charla_protocol::chat::ErrorCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::files;

pub use change::{ChangeOp, ChangeTarget, OutboxChange};
pub use reply::ThreadReply;

/// Where an unsent message (or change) stands.
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
    /// A reply in a thread: the message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub thread: Option<ThreadReply>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: OutboxState,
}

impl OutboxEntry {
    /// Whether it is a reply waiting for the message `client_id` to be numbered.
    fn waits_for(&self, client_id: &str) -> bool {
        self.thread.as_ref().is_some_and(|t| t.waits_for(client_id))
    }
}

/// What waits in the outbox: a message, or a change to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Queued {
    /// A change. Read first: a message has no `change`, so it never reads as one, and an
    /// outbox written before changes existed reads as it did.
    Change(OutboxChange),
    /// A message.
    Message(OutboxEntry),
}

impl Queued {
    fn client_id(&self) -> &str {
        match self {
            Self::Change(change) => &change.client_id,
            Self::Message(entry) => &entry.client_id,
        }
    }

    fn state(&self) -> &OutboxState {
        match self {
            Self::Change(change) => &change.state,
            Self::Message(entry) => &entry.state,
        }
    }

    fn state_mut(&mut self) -> &mut OutboxState {
        match self {
            Self::Change(change) => &mut change.state,
            Self::Message(entry) => &mut entry.state,
        }
    }

    /// Whether it may be sent now: pending, and (a change, a reply) its message numbered.
    fn ready(&self) -> bool {
        *self.state() == OutboxState::Pending
            && match self {
                Self::Change(change) => matches!(change.target, ChangeTarget::Seq { .. }),
                Self::Message(entry) => {
                    entry.thread.as_ref().is_none_or(|t| t.root_seq().is_some())
                }
            }
    }

    /// Whether it waits for the message `client_id` to be numbered (a change to it, a reply
    /// to it).
    fn waits_for(&self, client_id: &str) -> bool {
        match self {
            Self::Change(change) => change.waits_for(client_id),
            Self::Message(entry) => entry.waits_for(client_id),
        }
    }
}

#[derive(Default, Deserialize)]
struct OutboxFile {
    entries: Vec<Queued>,
}

/// [`OutboxFile`] as it is written, without copying the list.
#[derive(Serialize)]
struct OutboxFileRef<'a> {
    entries: &'a [Queued],
}

/// The persisted outbox of one server + username.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    items: Vec<Queued>,
}

impl Outbox {
    /// Loads the outbox at `path` (missing → empty; corrupt → set aside, empty). What was
    /// `Sent` when the process stopped is `Pending` again: its ack may never have come.
    #[must_use]
    pub fn load(path: &Path) -> Self {
        let mut file: OutboxFile = files::read_json_or_default(path);
        for item in &mut file.entries {
            if *item.state() == OutboxState::Sent {
                *item.state_mut() = OutboxState::Pending;
            }
        }
        Self {
            path: path.to_owned(),
            items: file.entries,
        }
    }

    /// The messages, oldest first.
    pub fn messages(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.items.iter().filter_map(|item| match item {
            Queued::Message(entry) => Some(entry),
            Queued::Change(_) => None,
        })
    }

    /// The changes, oldest first.
    pub fn changes(&self) -> impl Iterator<Item = &OutboxChange> {
        self.items.iter().filter_map(|item| match item {
            Queued::Change(change) => Some(change),
            Queued::Message(_) => None,
        })
    }

    /// Adds a message for `room` (`None`: `general`) and persists it before returning.
    ///
    /// # Errors
    /// When the outbox cannot be written; the message is then not added.
    pub fn add(&mut self, text: String, room: Option<String>) -> Result<OutboxEntry> {
        let entry = OutboxEntry {
            client_id: new_client_id(),
            text,
            room,
            created_at: charla_protocol::timestamp::now_millis(),
            thread: None,
            state: OutboxState::Pending,
        };
        self.push(Queued::Message(entry.clone()))?;
        Ok(entry)
    }

    /// Adds a reply in the thread of `thread.root` of `room` (`None`: `general`) and persists
    /// it before returning. A reply to a message still here goes to that message's room,
    /// after it.
    ///
    /// # Errors
    /// [`Error::UnknownMessage`] when the root names a message that is not here, or the
    /// outbox cannot be written (the reply is then not added).
    pub fn add_reply(
        &mut self,
        text: String,
        room: Option<String>,
        thread: ThreadReply,
    ) -> Result<OutboxEntry> {
        let room = self.room_of(room, &thread.root)?;
        let entry = OutboxEntry {
            client_id: new_client_id(),
            text,
            room,
            created_at: charla_protocol::timestamp::now_millis(),
            thread: Some(thread),
            state: OutboxState::Pending,
        };
        self.push(Queued::Message(entry.clone()))?;
        Ok(entry)
    }

    /// The room of what `target` names: `room` for a `seq`, the unsent message's own room.
    fn room_of(&self, room: Option<String>, target: &ChangeTarget) -> Result<Option<String>> {
        match target {
            ChangeTarget::Seq { .. } => Ok(room),
            ChangeTarget::Unsent { client_id } => Ok(self
                .messages()
                .find(|e| &e.client_id == client_id)
                .ok_or_else(|| Error::UnknownMessage(client_id.clone()))?
                .room
                .clone()),
        }
    }

    /// Adds a change to the message `target` of `room` (`None`: `general`), made while the
    /// server's history was `epoch`, and persists it before returning. A change to a message
    /// still here goes to that message's room, after it.
    ///
    /// # Errors
    /// [`Error::UnknownMessage`] when `target` names a message that is not here, or the
    /// outbox cannot be written (the change is then not added).
    pub fn add_change(
        &mut self,
        room: Option<String>,
        target: ChangeTarget,
        change: ChangeOp,
        epoch: Option<String>,
    ) -> Result<OutboxChange> {
        let room = self.room_of(room, &target)?;
        let change = OutboxChange {
            client_id: new_client_id(),
            room,
            target,
            change,
            created_at: charla_protocol::timestamp::now_millis(),
            epoch,
            state: OutboxState::Pending,
        };
        self.push(Queued::Change(change.clone()))?;
        Ok(change)
    }

    fn push(&mut self, item: Queued) -> Result<()> {
        self.items.push(item);
        if let Err(e) = self.save() {
            self.items.pop();
            return Err(e);
        }
        Ok(())
    }

    /// The oldest item that may be sent now: pending, and not a change whose message has no
    /// `seq` yet (it follows that message, which comes before it here).
    pub(crate) fn next_ready(&self) -> Option<&Queued> {
        self.items.iter().find(|item| item.ready())
    }

    /// Marks an item as written to the server (not persisted: after a crash it is resent).
    pub fn mark_sent(&mut self, client_id: &str) {
        if let Some(item) = self.find_mut(client_id) {
            *item.state_mut() = OutboxState::Sent;
        }
    }

    /// Puts one `Sent` item back to `Pending`: the server said *later* (rate limited, busy), so
    /// it goes again by itself. Not persisted: `Sent` is never saved as such. Returns whether the
    /// item changed.
    pub fn unsend(&mut self, client_id: &str) -> bool {
        match self.find_mut(client_id) {
            Some(item) if *item.state() == OutboxState::Sent => {
                *item.state_mut() = OutboxState::Pending;
                true
            }
            _ => false,
        }
    }

    /// Puts every `Sent` item back to `Pending` (the connection was lost before their acks).
    pub fn unsend_all(&mut self) {
        for item in &mut self.items {
            if *item.state() == OutboxState::Sent {
                *item.state_mut() = OutboxState::Pending;
            }
        }
    }

    /// Removes an acknowledged item. A message's `seq` (from its ack, in the history `epoch`)
    /// is given to the changes that waited for it; a message confirmed without one (the
    /// tutorial's server echoes it back) leaves them nothing to name it by: they fail.
    /// Returns whether it was there.
    ///
    /// # Errors
    /// When the outbox cannot be written.
    pub fn delivered(
        &mut self,
        client_id: &str,
        seq: Option<u64>,
        epoch: Option<&str>,
    ) -> Result<bool> {
        let before = self.items.len();
        self.items.retain(|item| item.client_id() != client_id);
        if self.items.len() == before {
            return Ok(false);
        }
        for item in &mut self.items {
            if !item.waits_for(client_id) {
                continue;
            }
            let (target, epoch_of, state) = match item {
                Queued::Change(change) => {
                    (&mut change.target, &mut change.epoch, &mut change.state)
                }
                Queued::Message(entry) => {
                    let Some(thread) = entry.thread.as_mut() else {
                        continue;
                    };
                    (&mut thread.root, &mut thread.epoch, &mut entry.state)
                }
            };
            match seq {
                Some(seq) => {
                    *target = ChangeTarget::Seq { seq };
                    *epoch_of = epoch.map(str::to_owned);
                }
                None => {
                    *state = OutboxState::Failed {
                        code: ErrorCode::NoSuchMessage,
                        message: "the server gave that message no number to name it by".into(),
                    };
                }
            }
        }
        self.save()?;
        Ok(true)
    }

    /// The oldest `Sent` message with this text: how the tutorial's server (no acks) confirms a
    /// message, by echoing it back in order.
    #[must_use]
    pub fn sent_with_text(&self, text: &str) -> Option<&OutboxEntry> {
        self.messages()
            .find(|e| e.state == OutboxState::Sent && e.text == text)
    }

    /// Marks an item refused by the server.
    ///
    /// # Errors
    /// When the outbox cannot be written.
    pub fn fail(&mut self, client_id: &str, code: ErrorCode, message: String) -> Result<()> {
        if let Some(item) = self.find_mut(client_id) {
            *item.state_mut() = OutboxState::Failed { code, message };
            self.save()?;
        }
        Ok(())
    }

    /// Fails the pending changes and replies whose `seq` was given in another history than `epoch` (the
    /// server's started over: that `seq` is another message now). Returns whether any failed.
    ///
    /// # Errors
    /// When the outbox cannot be written.
    pub fn fail_other_epochs(&mut self, epoch: &str) -> Result<bool> {
        let mut failed = false;
        for item in &mut self.items {
            let (target, epoch_of, state) = match item {
                Queued::Change(change) => (&change.target, &change.epoch, &mut change.state),
                Queued::Message(entry) => match &entry.thread {
                    Some(thread) => (&thread.root, &thread.epoch, &mut entry.state),
                    None => continue,
                },
            };
            let stale = epoch_of.as_deref().is_some_and(|e| e != epoch)
                && matches!(target, ChangeTarget::Seq { .. })
                && *state == OutboxState::Pending;
            if stale {
                *state = OutboxState::Failed {
                    code: ErrorCode::NoSuchMessage,
                    message: "the server's history started over: that message is gone".into(),
                };
                failed = true;
            }
        }
        if failed {
            self.save()?;
        }
        Ok(failed)
    }

    /// Puts a failed item back in line.
    ///
    /// # Errors
    /// [`Error::UnknownMessage`] when nothing has that id, or the outbox cannot be written.
    pub fn retry(&mut self, client_id: &str) -> Result<()> {
        let item = self
            .find_mut(client_id)
            .ok_or_else(|| Error::UnknownMessage(client_id.to_owned()))?;
        if matches!(item.state(), OutboxState::Failed { .. }) {
            *item.state_mut() = OutboxState::Pending;
        }
        self.save()
    }

    /// Drops an item for good; what waits for it (changes to it, replies to it, and what waits
    /// for those) goes with it: it could never be sent.
    ///
    /// # Errors
    /// [`Error::UnknownMessage`] when nothing has that id, or the outbox cannot be written.
    pub fn discard(&mut self, client_id: &str) -> Result<()> {
        if !self.items.iter().any(|item| item.client_id() == client_id) {
            return Err(Error::UnknownMessage(client_id.to_owned()));
        }
        let mut gone = vec![client_id.to_owned()];
        while let Some(id) = gone.pop() {
            let (dropped, kept): (Vec<Queued>, Vec<Queued>) = std::mem::take(&mut self.items)
                .into_iter()
                .partition(|item| item.client_id() == id || item.waits_for(&id));
            self.items = kept;
            gone.extend(
                dropped
                    .iter()
                    .map(|item| item.client_id().to_owned())
                    .filter(|dropped_id| *dropped_id != id),
            );
        }
        self.save()
    }

    fn find_mut(&mut self, client_id: &str) -> Option<&mut Queued> {
        self.items.iter_mut().find(|e| e.client_id() == client_id)
    }

    fn save(&self) -> Result<()> {
        files::write_json(
            &self.path,
            &OutboxFileRef {
                entries: &self.items,
            },
        )
    }
}

/// A fresh idempotency key.
fn new_client_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(outbox: &Outbox) -> Vec<(String, OutboxState)> {
        outbox
            .items
            .iter()
            .map(|item| (item.client_id().to_owned(), item.state().clone()))
            .collect()
    }

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
        let states: Vec<_> = reloaded.messages().map(|e| e.state.clone()).collect();
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
            reloaded.messages().next().map(|e| e.client_id.clone()),
            Some(a.client_id),
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
        assert!(outbox.next_ready().is_none());
        outbox.retry(&a.client_id).expect("retries");
        assert!(outbox.next_ready().is_some());
        outbox.mark_sent(&a.client_id);
        assert_eq!(
            outbox.sent_with_text("a").map(|e| e.client_id.clone()),
            Some(a.client_id.clone())
        );
        assert!(outbox
            .delivered(&a.client_id, Some(1), None)
            .expect("saves"));
        assert!(outbox.discard(&a.client_id).is_err());
        assert_eq!(outbox.messages().count(), 0);
    }

    #[test]
    fn a_corrupt_outbox_is_set_aside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.json");
        std::fs::write(&path, "[1,2").expect("writes");
        assert!(Outbox::load(&path).items.is_empty());
        assert!(files::bad_path(&path).exists());
    }

    /// Messages and changes are kept in one list, in the order made, across a restart; an
    /// outbox written before changes existed reads as it did.
    #[test]
    fn changes_and_messages_reload_in_the_order_made() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.json");
        let mut outbox = Outbox::load(&path);
        let edit = outbox
            .add_change(
                Some("ops".into()),
                ChangeTarget::Seq { seq: 4 },
                ChangeOp::Edit {
                    text: "fixed".into(),
                },
                Some("e1".into()),
            )
            .expect("adds");
        let said = outbox.add("hello".into(), None).expect("adds");
        let pin = outbox
            .add_change(
                None,
                ChangeTarget::Seq { seq: 2 },
                ChangeOp::Pin { pinned: true },
                None,
            )
            .expect("adds");
        outbox.mark_sent(&edit.client_id);
        let reloaded = Outbox::load(&path);
        assert_eq!(
            states(&reloaded),
            [
                (edit.client_id.clone(), OutboxState::Pending),
                (said.client_id.clone(), OutboxState::Pending),
                (pin.client_id.clone(), OutboxState::Pending),
            ]
        );
        assert_eq!(reloaded.changes().next(), Some(&edit), "kept whole");

        let old = dir.path().join("old.json");
        std::fs::write(
            &old,
            r#"{"entries":[{"clientId":"c1","text":"hi","createdAt":"2026-01-01T00:00:00.000Z","state":"pending"}]}"#,
        )
        .expect("writes");
        let old = Outbox::load(&old);
        assert_eq!(
            old.messages().map(|e| e.text.as_str()).collect::<Vec<_>>(),
            ["hi"]
        );
        assert_eq!(old.changes().count(), 0);
    }

    /// A change to a message still in the outbox goes to that message's room, waits for its
    /// ack, and then names the `seq` the ack gave; discarding the message drops it too.
    #[test]
    fn a_change_to_an_unsent_message_waits_for_its_seq() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut outbox = Outbox::load(&dir.path().join("outbox.json"));
        let unknown = outbox.add_change(
            None,
            ChangeTarget::Unsent {
                client_id: "nope".into(),
            },
            ChangeOp::Delete,
            None,
        );
        assert!(matches!(unknown, Err(Error::UnknownMessage(_))));
        let said = outbox.add("hi".into(), Some("ops".into())).expect("adds");
        let unsent = ChangeTarget::Unsent {
            client_id: said.client_id.clone(),
        };
        let thumbs = ChangeOp::React {
            emoji: "👍".into(),
            on: true,
        };
        let react = outbox
            .add_change(None, unsent.clone(), thumbs.clone(), None)
            .expect("adds");
        assert_eq!(react.room.as_deref(), Some("ops"), "the message's room");
        let ready = |outbox: &Outbox| outbox.next_ready().map(|i| i.client_id().to_owned());
        assert_eq!(ready(&outbox), Some(said.client_id.clone()));
        outbox.mark_sent(&said.client_id);
        assert_eq!(
            ready(&outbox),
            None,
            "the reaction waits for the message's seq"
        );
        assert!(outbox
            .delivered(&said.client_id, Some(7), Some("e2"))
            .expect("saves"));
        let resolved = outbox.changes().next().cloned().expect("still here");
        assert_eq!(resolved.target, ChangeTarget::Seq { seq: 7 });
        assert_eq!(resolved.epoch.as_deref(), Some("e2"), "the seq's history");
        let request = resolved.request().expect("now it can go");
        assert_eq!(request.target.seq, 7);
        assert_eq!(request.target.room.as_deref(), Some("ops"));
        assert_eq!(
            request.target.client_id.as_deref(),
            Some(react.client_id.as_str())
        );
        assert_eq!(ready(&outbox), Some(react.client_id.clone()));

        let again = outbox.add("again".into(), None).expect("adds");
        let unsent = ChangeTarget::Unsent {
            client_id: again.client_id.clone(),
        };
        outbox
            .add_change(None, unsent.clone(), thumbs.clone(), None)
            .expect("adds");
        outbox.discard(&again.client_id).expect("discards");
        assert_eq!(
            outbox.changes().count(),
            1,
            "the change waiting for the discarded message went with it"
        );

        let echoed = outbox.add("echoed".into(), None).expect("adds");
        let unsent = ChangeTarget::Unsent {
            client_id: echoed.client_id.clone(),
        };
        let waiting = outbox.add_change(None, unsent, thumbs, None).expect("adds");
        outbox
            .delivered(&echoed.client_id, None, None)
            .expect("saves");
        let failed = outbox.changes().find(|c| c.client_id == waiting.client_id);
        assert!(
            matches!(failed.map(|c| &c.state), Some(OutboxState::Failed { .. })),
            "confirmed without a seq: nothing to name it by"
        );
    }

    /// A change made in one history of the server does not go to another one: its `seq` is
    /// another message there.
    #[test]
    fn changes_of_another_history_fail() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut outbox = Outbox::load(&dir.path().join("outbox.json"));
        for epoch in [Some("e1"), Some("e2"), None] {
            outbox
                .add_change(
                    None,
                    ChangeTarget::Seq { seq: 3 },
                    ChangeOp::Delete,
                    epoch.map(str::to_owned),
                )
                .expect("adds");
        }
        assert!(outbox.fail_other_epochs("e2").expect("saves"));
        let failed: Vec<bool> = outbox
            .changes()
            .map(|c| matches!(c.state, OutboxState::Failed { .. }))
            .collect();
        assert_eq!(failed, [true, false, false], "only the other history's");
        assert!(!outbox.fail_other_epochs("e2").expect("saves"), "once");
    }

    /// A reply to a message still in the outbox goes to its room, waits for its ack, then names
    /// the `seq` it gave; discarding the message drops the reply and what waits for the reply.
    #[test]
    fn a_reply_to_an_unsent_message_waits_for_its_seq() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.json");
        let mut outbox = Outbox::load(&path);
        let root = outbox.add("root".into(), Some("ops".into())).expect("adds");
        let unsent = |entry: &OutboxEntry| ChangeTarget::Unsent {
            client_id: entry.client_id.clone(),
        };
        let thread = |root| ThreadReply {
            root,
            also_in_room: true,
            epoch: None,
        };
        let reply = outbox
            .add_reply("yes".into(), None, thread(unsent(&root)))
            .expect("adds");
        assert_eq!(reply.room.as_deref(), Some("ops"), "the root's room");
        outbox.mark_sent(&root.client_id);
        assert!(outbox.next_ready().is_none(), "the reply waits for a seq");
        let reloaded = Outbox::load(&path);
        assert_eq!(
            reloaded.messages().nth(1).and_then(|e| e.thread.clone()),
            Some(thread(unsent(&root))),
            "kept across a restart"
        );
        outbox
            .delivered(&root.client_id, Some(9), Some("e1"))
            .expect("saves");
        let resolved = outbox.messages().next().and_then(|e| e.thread.clone());
        assert_eq!(resolved.as_ref().and_then(ThreadReply::root_seq), Some(9));
        assert_eq!(resolved.and_then(|t| t.epoch).as_deref(), Some("e1"));
        assert_eq!(
            outbox.next_ready().map(|i| i.client_id().to_owned()),
            Some(reply.client_id.clone())
        );

        let again = outbox.add("again".into(), None).expect("adds");
        let answer = outbox
            .add_reply("answer".into(), None, thread(unsent(&again)))
            .expect("adds");
        outbox
            .add_change(None, unsent(&answer), ChangeOp::Delete, None)
            .expect("adds");
        outbox.discard(&again.client_id).expect("discards");
        assert_eq!(outbox.messages().count(), 1, "the reply went with its root");
        assert_eq!(outbox.changes().count(), 0, "and the change to the reply");
    }
}
