//! Engine.IO v4 packets over the WebSocket transport: one packet per text frame.

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, Result};

/// The handshake a server sends first (`0{…}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenPayload {
    /// Engine.IO session id.
    pub sid: String,
    /// Transports the client may upgrade to (empty on a WebSocket).
    #[serde(default)]
    pub upgrades: Vec<String>,
    /// Milliseconds between server pings.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// Largest payload the server accepts, in bytes.
    #[serde(default)]
    pub max_payload: u64,
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnginePacket {
    /// `0` + handshake JSON (server → client). A client sending `0` is ignored by servers.
    Open(Option<String>),
    /// `1`: close the session.
    Close,
    /// `2` (+ optional probe text).
    Ping(Option<String>),
    /// `3` (+ optional probe text).
    Pong(Option<String>),
    /// `4` + a Socket.IO packet, still encoded.
    Message(String),
    /// `5`: transport upgrade.
    Upgrade,
    /// `6`: no-op.
    Noop,
}

impl EnginePacket {
    /// Decodes one text frame.
    ///
    /// # Errors
    /// [`DecodeError::Empty`] for an empty frame, [`DecodeError::UnknownEngineType`] when the
    /// first character is not `0`–`6`.
    pub fn decode(frame: &str) -> Result<Self> {
        let mut chars = frame.chars();
        let kind = chars.next().ok_or(DecodeError::Empty)?;
        let rest = chars.as_str();
        let optional = || (!rest.is_empty()).then(|| rest.to_owned());
        Ok(match kind {
            '0' => Self::Open(optional()),
            '1' => Self::Close,
            '2' => Self::Ping(optional()),
            '3' => Self::Pong(optional()),
            '4' => Self::Message(rest.to_owned()),
            '5' => Self::Upgrade,
            '6' => Self::Noop,
            other => return Err(DecodeError::UnknownEngineType(other)),
        })
    }

    /// Encodes the packet as one text frame.
    #[must_use]
    pub fn encode(&self) -> String {
        let with = |c: char, body: &Option<String>| match body {
            Some(b) => format!("{c}{b}"),
            None => c.to_string(),
        };
        match self {
            Self::Open(body) => with('0', body),
            Self::Close => "1".to_owned(),
            Self::Ping(body) => with('2', body),
            Self::Pong(body) => with('3', body),
            Self::Message(body) => format!("4{body}"),
            Self::Upgrade => "5".to_owned(),
            Self::Noop => "6".to_owned(),
        }
    }

    /// Parses the handshake carried by an `Open` packet.
    ///
    /// # Errors
    /// [`DecodeError::InvalidPayload`] when this is not an `Open` packet with a body, and
    /// [`DecodeError::BadJson`] when the body is not a handshake.
    pub fn open_payload(&self) -> Result<OpenPayload> {
        match self {
            Self::Open(Some(body)) => {
                serde_json::from_str(body).map_err(|e| DecodeError::BadJson(e.to_string()))
            }
            _ => Err(DecodeError::InvalidPayload {
                packet: "open",
                reason: "no handshake",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips() {
        for frame in [
            "0{\"sid\":\"x\"}",
            "1",
            "2",
            "2probe",
            "3",
            "3probe",
            "42[\"a\"]",
            "4",
            "5",
            "6",
        ] {
            let packet = EnginePacket::decode(frame).expect("valid frame");
            assert_eq!(packet.encode(), frame);
        }
    }

    #[test]
    fn unknown_types_and_empty_frames_are_errors() {
        assert_eq!(EnginePacket::decode(""), Err(DecodeError::Empty));
        assert_eq!(
            EnginePacket::decode("7"),
            Err(DecodeError::UnknownEngineType('7'))
        );
        assert_eq!(
            EnginePacket::decode("hello"),
            Err(DecodeError::UnknownEngineType('h'))
        );
    }
}
