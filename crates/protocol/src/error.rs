//! The codec's error type: every way a frame can fail to decode, as a value.

/// Why a frame could not be decoded. Each variant is a reason a server closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame had no bytes at all.
    #[error("empty frame")]
    Empty,
    /// The first character is not a known Engine.IO packet type.
    #[error("unknown Engine.IO packet type {0:?}")]
    UnknownEngineType(char),
    /// An Engine.IO `message` packet carried nothing.
    #[error("empty Socket.IO packet")]
    EmptySocketPacket,
    /// The first character of the message is not a known Socket.IO packet type.
    #[error("unknown Socket.IO packet type {0:?}")]
    UnknownSocketType(char),
    /// The attachment count of a binary packet is missing or not a number.
    #[error("malformed attachment count")]
    BadAttachmentCount,
    /// The ack id is too large to be one.
    #[error("malformed ack id")]
    BadAckId,
    /// The payload is not valid JSON.
    #[error("payload is not valid JSON: {0}")]
    BadJson(String),
    /// The payload is valid JSON but not the shape this packet type requires.
    #[error("invalid payload for {packet}: {reason}")]
    InvalidPayload {
        /// The packet type whose rules were broken.
        packet: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
    /// A binary WebSocket frame: Charla speaks text packets only.
    #[error("binary frames are not supported")]
    BinaryUnsupported,
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, DecodeError>;
