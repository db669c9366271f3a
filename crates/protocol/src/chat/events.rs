//! Event names on the wire.

/// client → server: a username (string, or `{username, since, epoch, key, link}`), optionally
/// `{since, epoch, key, link}` next.
pub const JOIN: &str = "join";
/// client → server: `{username, text, clientId?, room?}`.
pub const CHAT_MESSAGE: &str = "chat-message";
/// both ways: `true`/`false` (or `{room, typing}`) from a client, `{username, typing, room?}`
/// from the server.
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
/// client → server: `{before, limit, room?}`, answered with a [`HistoryPage`](super::HistoryPage).
pub const HISTORY: &str = "history";
/// client → server: `{room, topic?}`, answered with a [`RoomEntered`](super::RoomEntered).
pub const ROOM_CREATE: &str = "room-create";
/// client → server: `{room, since?}`, answered with a [`RoomEntered`](super::RoomEntered).
pub const ROOM_JOIN: &str = "room-join";
/// client → server: `{room}`, answered with [`Done`](super::Done).
pub const ROOM_LEAVE: &str = "room-leave";
/// client → server, no arguments: the public rooms, a [`RoomList`](super::RoomList).
pub const ROOMS: &str = "rooms";
/// client → server: `{room, topic}`, answered with [`Done`](super::Done); server → client: a
/// [`TopicChange`](super::TopicChange), to the room's members.
pub const ROOM_TOPIC: &str = "room-topic";
/// client → server: `{username}`, answered with a [`RoomEntered`](super::RoomEntered).
pub const DM_OPEN: &str = "dm-open";
/// client → server: `{room, seq}`, answered with [`Done`](super::Done); the server then sends
/// `read-marker` to every device of the user.
pub const READ: &str = "read";
/// client → server: a [`SearchRequest`](super::SearchRequest), answered with
/// [`SearchResults`](super::SearchResults).
pub const SEARCH: &str = "search";
/// server → client: a [`MemberChange`](super::MemberChange), to the room's members.
pub const MEMBER_JOINED: &str = "member-joined";
/// server → client: a [`MemberChange`](super::MemberChange), to the room's members (and to the
/// one who left, on their other connections).
pub const MEMBER_LEFT: &str = "member-left";
/// server → client: a whole [`RoomInfo`](super::RoomInfo), to those who learn of a room: a
/// room made (the creator's other devices, a DM's other member), joined (the joiner's other
/// devices). Its members' comings and goings are `member-joined`/`member-left`, its topic
/// `room-topic`: never the whole member list to everyone.
pub const ROOM_UPDATED: &str = "room-updated";
/// server → client: a [`ReadMarker`](super::ReadMarker), to every device of its user.
pub const READ_MARKER: &str = "read-marker";
/// client → server: `{room?, seq, text, clientId?}`: the author's new text, answered with a
/// [`ChangeAck`](super::ChangeAck).
pub const MESSAGE_EDIT: &str = "message-edit";
/// client → server: `{room?, seq, clientId?}`: the author deletes the message, answered with
/// a [`ChangeAck`](super::ChangeAck).
pub const MESSAGE_DELETE: &str = "message-delete";
/// client → server: `{room?, seq, emoji, on?, clientId?}`: add (`on`, the default) or take
/// back a reaction, answered with a [`ChangeAck`](super::ChangeAck).
pub const REACTION: &str = "reaction";
/// client → server: `{room?, seq, pinned?, clientId?}`: pin (the default) or unpin, answered
/// with a [`ChangeAck`](super::ChangeAck).
pub const PIN: &str = "pin";
/// client → server: `{room?}`: the room's pinned messages, a [`PinList`](super::PinList).
pub const PINS: &str = "pins";
/// client → server: a [`ChangesRequest`](super::ChangesRequest), answered with a
/// [`ChangesPage`](super::ChangesPage).
pub const CHANGES: &str = "changes";
/// server → client: a [`ChatMessage`](super::ChatMessage) as it is after a change, to the
/// room's audience.
pub const MESSAGE_UPDATED: &str = "message-updated";
/// server → client: a [`ChatMessage`](super::ChatMessage) that is a reply in a thread and not
/// also sent to the room, to the room's audience (the tutorial's page never reads it).
pub const THREAD_MESSAGE: &str = "thread-message";
/// client → server: a [`ThreadRequest`](super::ThreadRequest), answered with a
/// [`ThreadPage`](super::ThreadPage).
pub const THREAD: &str = "thread";
/// client → server, no arguments: the threads the name follows, a
/// [`ThreadList`](super::ThreadList).
pub const THREADS: &str = "threads";
