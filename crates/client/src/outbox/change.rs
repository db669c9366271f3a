//! A change to a message waiting in the outbox (an edit, a deletion, a reaction, a pin): what it
//! does, to which message, and how it goes on the wire.
//!
//! A change may be made to a message that is itself still in the outbox: it names that message
//! by its `clientId` until the message's ack gives it a `seq` ([`ChangeTarget::Unsent`]), and
//! cannot go before then.

use charla_protocol::chat::{ChangeRequest, MessageChange, MessageRef};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::OutboxState;

/// The message a change is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum ChangeTarget {
    /// A message the server numbered: its `seq` in its room.
    Seq {
        /// Its place in the room.
        seq: u64,
    },
    /// A message still in this outbox, by its `clientId`: the change goes once it has a `seq`.
    Unsent {
        /// The message's outbox id.
        #[serde(rename = "clientId")]
        client_id: String,
    },
}

/// What a change does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum ChangeOp {
    /// The author's new text.
    Edit {
        /// The text that replaces the old one.
        text: String,
    },
    /// The author takes the message back.
    Delete,
    /// Adds (`on`) or takes back this name's `emoji`.
    React {
        /// One emoji.
        emoji: String,
        /// Add it (`true`) or take it back.
        on: bool,
    },
    /// Pins (`pinned`) or unpins the message in its room.
    Pin {
        /// Pin (`true`) or unpin.
        pinned: bool,
    },
}

impl ChangeOp {
    /// The change as the protocol names it.
    #[must_use]
    pub fn to_wire(&self) -> MessageChange {
        match self {
            Self::Edit { text } => MessageChange::Edit(text.clone()),
            Self::Delete => MessageChange::Delete,
            Self::React { emoji, on } => MessageChange::React {
                emoji: emoji.clone(),
                on: *on,
            },
            Self::Pin { pinned } => MessageChange::Pin { on: *pinned },
        }
    }
}

/// One change not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct OutboxChange {
    /// Idempotency key, sent as `clientId`: a retry is applied once.
    pub client_id: String,
    /// The message's room; absent for `general`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub room: Option<String>,
    /// The message.
    pub target: ChangeTarget,
    /// What to do to it.
    pub change: ChangeOp,
    /// When the user made it.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: DateTime<Utc>,
    /// The server's history epoch its `seq` belongs to, when known: a server whose history
    /// started over numbers other messages with it, so the change must not go there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub epoch: Option<String>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: OutboxState,
}

impl OutboxChange {
    /// The request that makes this change, once its message has a `seq` (`None` before).
    #[must_use]
    pub fn request(&self) -> Option<ChangeRequest> {
        let ChangeTarget::Seq { seq } = self.target else {
            return None;
        };
        Some(ChangeRequest {
            target: MessageRef {
                room: self.room.clone(),
                seq,
                client_id: Some(self.client_id.clone()),
            },
            change: self.change.to_wire(),
        })
    }

    /// Whether it waits for the message `client_id` to be numbered.
    #[must_use]
    pub fn waits_for(&self, client_id: &str) -> bool {
        matches!(&self.target, ChangeTarget::Unsent { client_id: id } if id == client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_and_ops_read_as_the_ui_writes_them() {
        let seq: ChangeTarget = serde_json::from_value(json!({"seq": 12})).expect("reads");
        assert_eq!(seq, ChangeTarget::Seq { seq: 12 });
        let unsent: ChangeTarget =
            serde_json::from_value(json!({"clientId": "c-1"})).expect("reads");
        assert_eq!(
            unsent,
            ChangeTarget::Unsent {
                client_id: "c-1".into()
            }
        );
        let op: ChangeOp =
            serde_json::from_value(json!({"op": "react", "emoji": "👍", "on": false}))
                .expect("reads");
        assert_eq!(
            op.to_wire(),
            MessageChange::React {
                emoji: "👍".into(),
                on: false
            }
        );
        assert_eq!(
            serde_json::to_value(ChangeOp::Pin { pinned: true }).expect("json"),
            json!({"op": "pin", "pinned": true})
        );
    }
}
