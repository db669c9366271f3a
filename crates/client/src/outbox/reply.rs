//! A message that answers another in its thread: which message (its root), whether the reply
//! goes to the room too, and the history its `seq` belongs to.
//!
//! Like a change, a reply may answer a message still in the outbox: it names that message by
//! its `clientId` ([`super::ChangeTarget::Unsent`]) until the message's ack gives it a `seq`,
//! and cannot go before then.

use serde::{Deserialize, Serialize};

use super::ChangeTarget;

/// The thread an outbox message answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ThreadReply {
    /// The message answered: its `seq`, or an unsent message's `clientId`.
    pub root: ChangeTarget,
    /// The reply is sent to the room's timeline too.
    #[serde(default)]
    pub also_in_room: bool,
    /// The server's history epoch the root's `seq` belongs to, when known: a server whose
    /// history started over numbers another message with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub epoch: Option<String>,
}

impl ThreadReply {
    /// The root's `seq`, once it has one.
    #[must_use]
    pub fn root_seq(&self) -> Option<u64> {
        match self.root {
            ChangeTarget::Seq { seq } => Some(seq),
            ChangeTarget::Unsent { .. } => None,
        }
    }

    /// Whether it waits for the message `client_id` to be numbered.
    #[must_use]
    pub fn waits_for(&self, client_id: &str) -> bool {
        matches!(&self.root, ChangeTarget::Unsent { client_id: id } if id == client_id)
    }
}
