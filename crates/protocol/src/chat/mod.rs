//! The chat's wire layer (DESIGN.md, "Wire protocol"): the tutorial's four events kept exactly,
//! and Charla's additions, as types.
//!
//! - [`ClientRequest`]: what a client asks (`join`, `chat-message`, `typing`, `history`,
//!   `device-link`, `device-forget`).
//! - [`ServerEvent`]: what the server sends unasked (`message`, presence, `typing`, `error`).
//! - The payloads and answers ([`JoinAck`], [`SendAck`], [`HistoryPage`]) in `payload`.
//! - [`Refusal`]: the one way a request is refused, as an ack or as the `error` event.
//!
//! Server, client and load generator all read and write events through these, so an event's
//! name and shape are written down once.

mod change;
mod device;
mod event;
pub mod events;
mod message;
mod payload;
mod refusal;
mod request;
mod rooms;
mod thread;

pub use change::{
    emoji_is_valid, ChangeAck, ChangeRequest, Changes, ChangesPage, ChangesRequest, MessageChange,
    MessageRef, PinList, Pinned, Reaction, MAX_CHANGES_PAGE, MAX_EMOJI_CHARS, MAX_PINS_PER_ROOM,
    MAX_REACTIONS_PER_MESSAGE,
};
pub use device::{
    device_key_is_valid, format_link_code, normalize_link_code, DeviceForgotten, DeviceLink,
    DEVICE_KEY_HEX_DIGITS, LINK_CODE_CHARS,
};
pub use event::ServerEvent;
pub use message::{ChatMessage, Gap, Living};
pub use payload::{
    client_id_is_valid, HistoryPage, HistoryRequest, JoinAck, JoinRequest, OutgoingMessage,
    SendAck, TypingNotice, MAX_CLIENT_ID_CHARS, MAX_HISTORY_PAGE,
};
pub use refusal::{parse_ack, ErrorCode, Refusal};
pub use request::{ClientRequest, DmOpen, ReadUpTo, RoomJoin, RoomOrGeneral, RoomRef, RoomTopic};
pub use rooms::{
    dm_number, invalid_room, normalize_room_name, Done, MemberChange, ReadMarker, RoomEntered,
    RoomInfo, RoomKind, RoomList, RoomReplay, RoomState, RoomSummary, SearchHit, SearchRequest,
    SearchResults, TopicChange, DM_PREFIX, GENERAL_ROOM, MAX_QUERY_CHARS, MAX_ROOM_NAME_CHARS,
    MAX_SEARCH_RESULTS, MAX_TOPIC_CHARS,
};
pub use thread::{
    FollowedThread, ThreadList, ThreadPage, ThreadRequest, MAX_THREADS_LISTED, MAX_THREAD_PAGE,
};

/// The `connect_error` message of a server whose access token was missing or wrong (the only
/// refusal of the handshake a client can fix by itself, so it is matched exactly).
pub const INVALID_TOKEN: &str = "invalid token";
