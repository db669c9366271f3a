//! The chat's wire layer (DESIGN.md, "Wire protocol"): the tutorial's four events kept exactly,
//! and Charla's additions, as types.
//!
//! - [`ClientRequest`]: what a client asks (`join`, `chat-message`, `typing`, `history`).
//! - [`ServerEvent`]: what the server sends unasked (`message`, presence, `typing`, `error`).
//! - The payloads and answers ([`JoinAck`], [`SendAck`], [`HistoryPage`]) in `payload`.
//! - [`Refusal`]: the one way a request is refused, as an ack or as the `error` event.
//!
//! Server, client and load generator all read and write events through these, so an event's
//! name and shape are written down once.

mod event;
mod payload;
mod refusal;
mod request;

pub use event::ServerEvent;
pub use payload::{
    client_id_is_valid, ChatMessage, Gap, HistoryPage, HistoryRequest, JoinAck, JoinRequest,
    OutgoingMessage, SendAck, TypingNotice, MAX_CLIENT_ID_CHARS, MAX_HISTORY_PAGE,
};
pub use refusal::{parse_ack, ErrorCode, Refusal};
pub use request::ClientRequest;

/// Event names on the wire.
pub mod events {
    /// client → server: a username (string, or `{username, since}`), optionally `{since}` next.
    pub const JOIN: &str = "join";
    /// client → server: `{username, text, clientId?}`.
    pub const CHAT_MESSAGE: &str = "chat-message";
    /// both ways: `true`/`false` from a client, `{username, typing}` from the server.
    pub const TYPING: &str = "typing";
    /// server → client: one [`ChatMessage`](super::ChatMessage).
    pub const MESSAGE: &str = "message";
    /// server → client: a username.
    pub const USER_JOINED: &str = "user-joined";
    /// server → client: a username.
    pub const USER_LEFT: &str = "user-left";
    /// server → client: the presence snapshot, a list of usernames.
    pub const USERS: &str = "users";
    /// server → client: a [`Refusal`](super::Refusal) for a request that asked for no ack.
    pub const ERROR: &str = "error";
    /// client → server: `{before, limit}`, answered with a [`HistoryPage`](super::HistoryPage).
    pub const HISTORY: &str = "history";
}
