//! Event names on the wire.

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
