//! What a room operation answers, and where the answer goes.
//!
//! An answer decided under the room's lock keeps its place in the connection's queue at that
//! moment ([`crate::transport::Link::keep_reply_place`]), so the client reads it exactly where
//! the room decided it: a join's history before the first live message after it, a message's
//! ack after its own broadcast. The dispatcher ([`super::handlers`]) sends it a moment later,
//! outside the lock; nobody else answers.

use charla_protocol::chat::{ErrorCode, Refusal};
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::transport::{Link, ReplyPlace};

/// A room operation's answer.
pub enum Reply {
    /// Nothing to answer (`typing`, or a request that asked for no answer).
    Nothing,
    /// The answer, decided now, with its place among the connection's frames.
    Now(Placed),
    /// An answer that comes later: a page of old history once it has been read, a message's
    /// ack once a database over the network has stored it.
    Later(JoinHandle<Result<String, Refusal>>),
}

/// An answer, encoded, and the place it was given.
pub struct Placed {
    pub(crate) json: String,
    pub(crate) place: ReplyPlace,
}

impl Reply {
    /// The answer `value` for the request `link` made, placed now.
    ///
    /// # Errors
    /// An `unavailable` refusal if it cannot be encoded (a bug, never a peer's doing).
    pub fn now<T: Serialize + ?Sized>(link: &Link, value: &T) -> Result<Self, Refusal> {
        let json = encode(value)?;
        Ok(Self::Now(Placed {
            json,
            place: link.keep_reply_place(),
        }))
    }
}

/// Encodes an answer.
///
/// # Errors
/// An `unavailable` refusal if it cannot be encoded (a bug, never a peer's doing).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<String, Refusal> {
    serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "could not encode an answer");
        Refusal::later(
            ErrorCode::Unavailable,
            "the answer could not be encoded",
            1000,
        )
    })
}
