//! What the finisher (see [`super::queued`]) is handed for each message queued for a store
//! over the network: its write's answer to come, what the chat knew of it, and where its
//! sender's ack goes.

use std::time::Instant;

use charla_protocol::chat::Refusal;
use tokio::sync::oneshot;

use crate::store::{QueuedAppend, RoomId};

/// What the chat knew of a message when it queued its write.
pub(in crate::chat) struct Queued {
    pub(in crate::chat) room: RoomId,
    /// (author's name key, `clientId`), when it has one.
    pub(in crate::chat) dedupe_key: Option<(String, String)>,
    /// The author's name key.
    pub(in crate::chat) name_key: String,
    pub(in crate::chat) guest: bool,
    pub(in crate::chat) started: Instant,
}

/// A message handed to the finisher.
pub(in crate::chat) struct Finish {
    pub(in crate::chat) answer: QueuedAppend,
    pub(in crate::chat) queued: Queued,
    pub(in crate::chat) reply: oneshot::Sender<Result<String, Refusal>>,
}
