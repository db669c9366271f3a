//! The chat itself: one room, its rules, and the one place requests are answered.
//!
//! - [`handlers`]: reads each event into a request, applies it to the room, and answers it (the
//!   only code that sends an ack or an `error` event).
//! - [`room`]: the ordered log, presence and identity behind one lock; each operation returns
//!   what to answer ([`Reply`]) or why it refused ([`Refusal`](charla_protocol::chat::Refusal)).
//! - [`reply`]: what an operation answers, and where the answer goes among the frames the
//!   connection reads.
//! - [`rate_limit`]: token buckets per name and per address.
//!
//! The chat sees connections only as [`crate::transport::Link`].

pub(crate) mod handlers;
mod rate_limit;
mod reply;
mod room;

pub(crate) use reply::Reply;
pub(crate) use room::{Room, MIN_REMEMBERED_CLIENT_IDS};
