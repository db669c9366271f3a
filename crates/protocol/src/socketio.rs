//! Socket.IO v5 packets: the payload of an Engine.IO `message` packet.
//!
//! Wire form: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`, decoded with the same
//! rules as the reference `socket.io-parser` (4.2), so a frame is accepted or refused here exactly
//! as the tutorial's Node server accepts or refuses it.

use serde_json::Value;

use crate::error::{DecodeError, Result};

/// Events a client may never emit: the reference parser refuses them as event names.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `0`: join a namespace (client, with optional auth) or the server's acceptance.
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event `[name, ...args]`.
    Event,
    /// `3`: the answer to an event that carried an ack id.
    Ack,
    /// `4`: the server refused a namespace connection.
    ConnectError,
    /// `5`: an event with binary attachments (not supported by Charla).
    BinaryEvent,
    /// `6`: an ack with binary attachments (not supported by Charla).
    BinaryAck,
}

impl SocketKind {
    fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '0' => Self::Connect,
            '1' => Self::Disconnect,
            '2' => Self::Event,
            '3' => Self::Ack,
            '4' => Self::ConnectError,
            '5' => Self::BinaryEvent,
            '6' => Self::BinaryAck,
            _ => return None,
        })
    }

    fn as_char(self) -> char {
        match self {
            Self::Connect => '0',
            Self::Disconnect => '1',
            Self::Event => '2',
            Self::Ack => '3',
            Self::ConnectError => '4',
            Self::BinaryEvent => '5',
            Self::BinaryAck => '6',
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Disconnect => "disconnect",
            Self::Event => "event",
            Self::Ack => "ack",
            Self::ConnectError => "connect_error",
            Self::BinaryEvent => "binary event",
            Self::BinaryAck => "binary ack",
        }
    }

    /// Whether packets of this kind announce binary attachments that follow as binary frames.
    #[must_use]
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// One Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketPacket {
    /// The packet type.
    pub kind: SocketKind,
    /// The namespace, `/` when the frame names none.
    pub namespace: String,
    /// The ack id of an event that wants an answer, or of the answer itself.
    pub ack_id: Option<u64>,
    /// How many binary frames follow (binary kinds only).
    pub attachments: usize,
    /// The JSON payload, if any.
    pub data: Option<Value>,
}

impl SocketPacket {
    /// A `CONNECT` to the main namespace, with an optional auth payload.
    #[must_use]
    pub fn connect(auth: Option<Value>) -> Self {
        Self::new(SocketKind::Connect, None, auth)
    }

    /// An `EVENT` with the given name and arguments, optionally asking for an ack.
    #[must_use]
    pub fn event(name: &str, args: Vec<Value>, ack_id: Option<u64>) -> Self {
        let mut array = Vec::with_capacity(args.len() + 1);
        array.push(Value::String(name.to_owned()));
        array.extend(args);
        Self::new(SocketKind::Event, ack_id, Some(Value::Array(array)))
    }

    /// An `ACK` answering `ack_id` with the given arguments.
    #[must_use]
    pub fn ack(ack_id: u64, args: Vec<Value>) -> Self {
        Self::new(SocketKind::Ack, Some(ack_id), Some(Value::Array(args)))
    }

    fn new(kind: SocketKind, ack_id: Option<u64>, data: Option<Value>) -> Self {
        Self {
            kind,
            namespace: "/".to_owned(),
            ack_id,
            attachments: 0,
            data,
        }
    }

    /// Decodes the text after the Engine.IO `4`.
    ///
    /// # Errors
    /// Every rule of the reference parser: unknown type, bad attachment count, bad JSON, and a
    /// payload of the wrong shape for its type (an event that is not a non-reserved
    /// `[name, …]` array, a disconnect with a payload, …).
    pub fn decode(text: &str) -> Result<Self> {
        let mut chars = text.chars();
        let kind_char = chars.next().ok_or(DecodeError::EmptySocketPacket)?;
        let kind =
            SocketKind::from_char(kind_char).ok_or(DecodeError::UnknownSocketType(kind_char))?;
        let mut rest = chars.as_str();

        let mut attachments = 0;
        if kind.is_binary() {
            let (count, after) = rest
                .split_once('-')
                .ok_or(DecodeError::BadAttachmentCount)?;
            attachments = count.parse().map_err(|_| DecodeError::BadAttachmentCount)?;
            rest = after;
        }

        let mut namespace = "/".to_owned();
        if rest.starts_with('/') {
            let (nsp, after) = rest.split_once(',').unwrap_or((rest, ""));
            nsp.clone_into(&mut namespace);
            rest = after;
        }

        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let ack_id = if digits > 0 {
            Some(rest[..digits].parse().map_err(|_| DecodeError::BadAckId)?)
        } else {
            None
        };
        rest = &rest[digits..];

        let data = if rest.is_empty() {
            None
        } else {
            let value: Value =
                serde_json::from_str(rest).map_err(|e| DecodeError::BadJson(e.to_string()))?;
            check_payload(kind, &value)?;
            Some(value)
        };

        Ok(Self {
            kind,
            namespace,
            ack_id,
            attachments,
            data,
        })
    }

    /// Charla speaks text packets only: binary packets are recognized by [`decode`](Self::decode)
    /// and refused here, so callers can say why they dropped one.
    ///
    /// # Errors
    /// [`DecodeError::BinaryUnsupported`] for binary events and acks.
    pub fn require_text(self) -> Result<Self> {
        if self.kind.is_binary() {
            Err(DecodeError::BinaryUnsupported)
        } else {
            Ok(self)
        }
    }

    /// Encodes the packet (without the Engine.IO `4`).
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        out.push(self.kind.as_char());
        if self.kind.is_binary() {
            out.push_str(&self.attachments.to_string());
            out.push('-');
        }
        if self.namespace != "/" {
            out.push_str(&self.namespace);
            out.push(',');
        }
        if let Some(id) = self.ack_id {
            out.push_str(&id.to_string());
        }
        if let Some(data) = &self.data {
            out.push_str(&data.to_string());
        }
        out
    }

    /// For an event: its name and arguments. `None` for other packet types.
    #[must_use]
    pub fn event_parts(&self) -> Option<(EventName<'_>, &[Value])> {
        if !matches!(self.kind, SocketKind::Event | SocketKind::BinaryEvent) {
            return None;
        }
        let (first, args) = self.data.as_ref()?.as_array()?.split_first()?;
        let name = match first {
            Value::String(s) => EventName::Text(s),
            Value::Number(n) => EventName::Number(n.to_string()),
            _ => return None,
        };
        Some((name, args))
    }
}

/// An event's name: the reference parser also allows numbers, which no handler ever matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventName<'a> {
    /// The usual string name.
    Text(&'a str),
    /// A numeric name, kept as its JSON text.
    Number(String),
}

fn check_payload(kind: SocketKind, value: &Value) -> Result<()> {
    let invalid = |reason| DecodeError::InvalidPayload {
        packet: kind.name(),
        reason,
    };
    match kind {
        SocketKind::Connect if !value.is_object() => Err(invalid("auth must be an object")),
        SocketKind::Disconnect => Err(invalid("disconnect takes no payload")),
        SocketKind::ConnectError if !(value.is_string() || value.is_object()) => {
            Err(invalid("must be a string or an object"))
        }
        SocketKind::Event | SocketKind::BinaryEvent => {
            match value.as_array().and_then(|a| a.first()) {
                Some(Value::Number(_)) => Ok(()),
                Some(Value::String(name)) if !RESERVED_EVENTS.contains(&name.as_str()) => Ok(()),
                Some(Value::String(_)) => Err(invalid("reserved event name")),
                _ => Err(invalid("must be a [name, ...args] array")),
            }
        }
        SocketKind::Ack | SocketKind::BinaryAck if !value.is_array() => {
            Err(invalid("must be an array"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_with_namespace_and_ack_id_decodes() {
        let packet = SocketPacket::decode("2/admin,12[\"join\",\"bob\"]").expect("valid");
        assert_eq!(packet.kind, SocketKind::Event);
        assert_eq!(packet.namespace, "/admin");
        assert_eq!(packet.ack_id, Some(12));
        let (name, args) = packet.event_parts().expect("an event");
        assert_eq!(name, EventName::Text("join"));
        assert_eq!(args, [json!("bob")]);
    }

    #[test]
    fn built_packets_encode_like_socket_io() {
        assert_eq!(SocketPacket::connect(None).encode(), "0");
        assert_eq!(
            SocketPacket::connect(Some(json!({"token": "t"}))).encode(),
            "0{\"token\":\"t\"}"
        );
        let event = SocketPacket::event("join", vec![json!("a"), json!({"since": 3})], Some(4));
        assert_eq!(event.encode(), "24[\"join\",\"a\",{\"since\":3}]");
        assert_eq!(
            SocketPacket::ack(9, vec![json!({"ok": true})]).encode(),
            "39[{\"ok\":true}]"
        );
    }

    #[test]
    fn binary_packets_keep_their_attachment_count() {
        let packet =
            SocketPacket::decode("51-[\"join\",{\"_placeholder\":true,\"num\":0}]").expect("valid");
        assert_eq!(packet.kind, SocketKind::BinaryEvent);
        assert_eq!(packet.attachments, 1);
        assert_eq!(
            SocketPacket::decode("5x-[]"),
            Err(DecodeError::BadAttachmentCount)
        );
    }

    #[test]
    fn payload_shapes_are_checked_per_type() {
        assert!(SocketPacket::decode("2{\"a\":1}").is_err());
        assert!(SocketPacket::decode("2[]").is_err());
        assert!(SocketPacket::decode("2[\"disconnect\"]").is_err());
        assert!(SocketPacket::decode("2[1,2]").is_ok());
        assert!(SocketPacket::decode("1{}").is_err());
        assert!(SocketPacket::decode("0\"x\"").is_err());
        assert!(SocketPacket::decode("3{}").is_err());
    }
}
