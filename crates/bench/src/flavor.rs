//! How each server under test is spoken to: Charla's join with an ack, or the tutorial's
//! fire-and-forget events (which the raw floor server understands too).

use charla_protocol::chat::{ClientRequest, JoinRequest, OutgoingMessage};
use charla_protocol::{EnginePacket, SocketPacket};
use serde::Serialize;

/// The dialect of the server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// charla-server: `join` and `chat-message` with acks and `clientId`s.
    Charla,
    /// The tutorial's Node server, and the raw floor: no acks.
    Tutorial,
}

impl Flavor {
    /// Whether a join is answered with an ack the client must wait for.
    #[must_use]
    pub fn acks_joins(self) -> bool {
        self == Self::Charla
    }

    /// The frame that joins as `name`; `ack_id` is used when the flavor acks.
    #[must_use]
    pub fn join_frame(self, name: &str, ack_id: u64) -> String {
        let join = ClientRequest::Join(JoinRequest {
            username: name.to_owned(),
            ..JoinRequest::default()
        });
        self.frame(&join, ack_id)
    }

    /// The frame that sends `text` as `name`. Charla's asks for an ack and carries a
    /// `clientId`, as the real client does, so de-duplication is on the measured path.
    #[must_use]
    pub fn chat_frame(self, name: &str, text: &str, ack_id: u64) -> String {
        let message = ClientRequest::ChatMessage(OutgoingMessage {
            username: Some(name.to_owned()),
            text: text.to_owned(),
            client_id: self.acks_joins().then(|| format!("{name}-{ack_id}")),
            room: None,
            thread: None,
            also_in_room: false,
        });
        self.frame(&message, ack_id)
    }

    /// `request` as an Engine.IO frame, asking for an ack on Charla's server.
    fn frame(self, request: &ClientRequest, ack_id: u64) -> String {
        let ack = self.acks_joins().then_some(ack_id);
        let packet = SocketPacket::event(request.name(), request.encode(), ack);
        EnginePacket::Message(packet.encode()).encode()
    }
}

/// Whether an ack frame refuses (`43…[{"ok":false…}]`).
#[must_use]
pub fn is_refusal(frame: &[u8]) -> bool {
    frame.starts_with(b"43") && memchr::memmem::find(frame, b"\"ok\":false").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_valid_socket_io() {
        for flavor in [Flavor::Charla, Flavor::Tutorial] {
            for frame in [
                flavor.join_frame("bench-r1", 1),
                flavor.chat_frame("bench-s1", "b1.2.3", 7),
            ] {
                let body = frame.strip_prefix('4').expect("engine.io message");
                let packet = SocketPacket::decode(body).expect("decodes");
                assert!(packet.event_parts().is_some(), "{frame}");
            }
        }
        assert!(Flavor::Charla.chat_frame("a", "t", 7).starts_with("427["));
    }

    #[test]
    fn refusals_are_recognised() {
        assert!(is_refusal(
            br#"437[{"ok":false,"error":{"code":"rate_limited"}}]"#
        ));
        assert!(!is_refusal(br#"437[{"ok":true,"seq":3}]"#));
    }
}
