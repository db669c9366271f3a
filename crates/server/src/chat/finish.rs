//! What the finisher (see [`super::queued`]) is handed for each message queued for a store
//! over the network: its write's answer to come, what the chat knew of it, and where its
//! sender's ack goes.

use std::time::Instant;

use charla_protocol::chat::Refusal;
use tokio::sync::oneshot;

use crate::store::{QueuedAppend, RoomId};

/// What the chat knew of a message when it queued its write.
pub(super) struct Queued {
    pub(super) room: RoomId,
    /// (author's name key, `clientId`), when it has one.
    pub(super) dedupe_key: Option<(String, String)>,
    /// The author's name key.
    pub(super) name_key: String,
    pub(super) guest: bool,
    pub(super) started: Instant,
}

/// A message handed to the finisher.
pub(super) struct Finish {
    pub(super) answer: QueuedAppend,
    pub(super) queued: Queued,
    pub(super) reply: oneshot::Sender<Result<String, Refusal>>,
}
