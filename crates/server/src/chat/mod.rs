//! The chat itself: its rooms, their rules, and the one place requests are answered.
//!
//! - [`handlers`]: reads each event into a request, applies it to the chat, and answers it (the
//!   only code that sends an ack or an `error` event).
//! - [`state`]: the state behind the one lock (connections, names, rooms, limits) and how an
//!   event reaches a room's audience; each operation returns what to answer ([`Reply`]) or why
//!   it refused ([`Refusal`]).
//! - [`identity`]: `join`, owned names' devices, names an operator released.
//! - [`messages`]: `chat-message`, `typing`, `history`, retention by age.
//! - [`changes`]: living messages: edits, deletions, reactions, pins, and their replay.
//! - [`threads`]: replies' roots, `thread` pages, the threads a name follows.
//! - [`rooms`]: rooms, direct messages, read markers.
//! - [`search`]: `search`, with snippets.
//! - [`log`]: one room's log in memory (window, markers, replay), and every room by name.
//! - [`mentions`]: `@name` in a text.
//! - [`reply`]: what an operation answers, and where the answer goes among the frames the
//!   connection reads.
//! - [`limits`]: every limit per name and per address, and why; [`rate_limit`]: the token
//!   buckets they are made of.
//! - [`cluster`]: what the chat does only with several nodes on one PostgreSQL (other nodes'
//!   messages, rooms and presence; messages stored over the network). With one node none of
//!   it runs.
//!
//! The chat sees connections only as [`crate::transport::Link`].

use std::time::Duration;

use charla_protocol::chat::{ErrorCode, Refusal};

use crate::transport::Link;

mod changes;
mod cluster;
pub(crate) mod handlers;
mod identity;
mod limits;
mod log;
mod mentions;
mod messages;
mod rate_limit;
mod reply;
mod rooms;
mod search;
mod state;
mod threads;

pub(crate) use reply::Reply;
pub(crate) use state::{Chat, MIN_REMEMBERED_CLIENT_IDS, ROOM_WINDOW_BYTES, ROOM_WINDOW_MESSAGES};

/// The refusal for a connection the chat does not hold: one it has just cut is told to try
/// again (it will, after reconnecting), anything else to join first.
fn missing(link: &Link) -> Refusal {
    if link.is_closing() {
        gone()
    } else {
        not_joined()
    }
}

fn not_joined() -> Refusal {
    Refusal::new(ErrorCode::NotJoined, "join the chat first")
}

fn gone() -> Refusal {
    Refusal::later(ErrorCode::Unavailable, "the connection is closing", 1000)
}

/// `unavailable`: the database does not answer this node.
fn database_unreachable() -> Refusal {
    Refusal::later(
        ErrorCode::Unavailable,
        "this server cannot reach its database for now; try again, or another server",
        1000,
    )
}

/// A limiter's wait, as a refusal's `retryAfterMs` (at least 1).
fn wait_ms(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `rate_limited`: too many of `what`; try again after `wait`.
fn too_many(what: &str, wait: Duration) -> Refusal {
    let ms = wait_ms(wait);
    Refusal::later(
        ErrorCode::RateLimited,
        format!("too many {what}; retry in {ms} ms"),
        ms,
    )
}
