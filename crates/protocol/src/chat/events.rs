//! Event names on the wire.

/// client → server: a username (string, or `{username, since, epoch, key, link}`), optionally
/// `{since, epoch, key, link}` next.
pub const JOIN: &str = "join";
/// client → server: `{username, text, clientId?}`.
pub const CHAT_MESSAGE: &str = "chat-message";
/// both ways: `true`/`false` from a client, `{username, typing}` from the server.
pub const TYPING: &str = "typing";
/// server → client: one [`ChatMessage`](super::ChatMessage).
pub const MESSAGE: &str = "message";
/// server → client: a username, and `{guest: true}` for a name nobody owns.
pub const USER_JOINED: &str = "user-joined";
/// server → client: a username.
pub const USER_LEFT: &str = "user-left";
/// server → client: the presence snapshot, a list of usernames, and which of them nobody owns
/// when any: `{guests: [...]}`, or `{owned: [...]}` (all the others are guests) when that list
/// is the shorter.
pub const USERS: &str = "users";
/// server → client: a [`Refusal`](super::Refusal) for a request that asked for no ack.
pub const ERROR: &str = "error";
/// client → server, no arguments: a link code for another device, answered with a
/// [`DeviceLink`](super::DeviceLink).
pub const DEVICE_LINK: &str = "device-link";
/// client → server, no arguments: revoke this device's key, answered with
/// [`DeviceForgotten`](super::DeviceForgotten).
pub const DEVICE_FORGET: &str = "device-forget";
/// client → server: `{before, limit}`, answered with a [`HistoryPage`](super::HistoryPage).
pub const HISTORY: &str = "history";
