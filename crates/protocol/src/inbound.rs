//! What a Socket.IO server does with each frame a client sends, decided as the reference Node
//! server (engine.io 6 + socket.io-parser 4) decides it: hand the packet on, ignore it, wait for
//! binary attachments, or close the connection.
//!
//! This is the rulebook the malformed frames in the captured transcripts are checked against; it
//! keeps state because the same frame means different things before and after `40`.

use std::collections::HashSet;

use crate::engineio::EnginePacket;
use crate::error::DecodeError;
use crate::socketio::{SocketKind, SocketPacket};

/// One WebSocket data frame as received.
#[derive(Debug, Clone, Copy)]
pub enum Frame<'a> {
    /// A text frame.
    Text(&'a str),
    /// A binary frame.
    Binary(&'a [u8]),
}

/// Why a connection is closed.
#[derive(Debug, Clone, PartialEq)]
pub enum CloseReason {
    /// The frame does not decode.
    Malformed(DecodeError),
    /// A packet only a server may send (`2` ping over WebSocket in v4, `44` `connect_error`).
    ServerOnlyPacket,
    /// An event or ack before the namespace was joined with `40` (or after leaving it with `41`).
    NotConnected,
    /// A binary frame nobody announced, or a text frame while attachments were awaited.
    UnexpectedFrame,
}

/// The verdict on one frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A Socket.IO packet to act on (connect, disconnect, event, ack).
    Dispatch(SocketPacket),
    /// A packet that needs no action (pong, noop, upgrade, a client's `0`, a repeated `40`, and
    /// `1`, which Node's WebSocket transport ignores: the client closes the socket itself).
    Ignore,
    /// A binary packet's header: its attachments must follow as binary frames.
    AwaitAttachments(usize),
    /// The server closes this connection.
    Close(CloseReason),
}

/// Per-connection state of the classification.
///
/// A namespace counts as joined only once the server accepts it
/// ([`InboundSession::accept_namespace`]): a client asking for namespaces the server refuses
/// must not make it remember each of them.
#[derive(Debug, Default)]
pub struct InboundSession {
    connected: HashSet<String>,
    awaiting: usize,
    pending: Option<SocketPacket>,
}

impl InboundSession {
    /// A fresh connection that has seen the handshake and nothing else.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Classifies the next frame and updates the connection state.
    pub fn classify(&mut self, frame: Frame<'_>) -> Verdict {
        match frame {
            Frame::Binary(_) => self.binary_frame(),
            Frame::Text(_) if self.awaiting > 0 => Verdict::Close(CloseReason::UnexpectedFrame),
            Frame::Text(text) => match EnginePacket::decode(text) {
                Err(e) => Verdict::Close(CloseReason::Malformed(e)),
                Ok(packet) => self.engine_packet(packet),
            },
        }
    }

    /// Records that the server accepted the client into `namespace`: events for it are
    /// dispatched from now on.
    pub fn accept_namespace(&mut self, namespace: &str) {
        self.connected.insert(namespace.to_owned());
    }

    fn binary_frame(&mut self) -> Verdict {
        if self.awaiting == 0 {
            return Verdict::Close(CloseReason::UnexpectedFrame);
        }
        self.awaiting -= 1;
        match (self.awaiting, self.pending.take()) {
            (0, Some(packet)) => Verdict::Dispatch(packet),
            (_, pending) => {
                self.pending = pending;
                Verdict::Ignore
            }
        }
    }

    fn engine_packet(&mut self, packet: EnginePacket) -> Verdict {
        match packet {
            EnginePacket::Open(_)
            | EnginePacket::Close
            | EnginePacket::Pong(_)
            | EnginePacket::Upgrade
            | EnginePacket::Noop => Verdict::Ignore,
            EnginePacket::Ping(_) => Verdict::Close(CloseReason::ServerOnlyPacket),
            EnginePacket::Message(text) => match SocketPacket::decode(&text) {
                Err(e) => Verdict::Close(CloseReason::Malformed(e)),
                Ok(packet) => self.socket_packet(packet),
            },
        }
    }

    fn socket_packet(&mut self, packet: SocketPacket) -> Verdict {
        match packet.kind {
            SocketKind::Connect if self.connected.contains(&packet.namespace) => Verdict::Ignore,
            // The server accepts (`40`, then [`InboundSession::accept_namespace`]) or refuses
            // (`44`): that answer is its to give.
            SocketKind::Connect => Verdict::Dispatch(packet),
            SocketKind::ConnectError => Verdict::Close(CloseReason::ServerOnlyPacket),
            _ if !self.connected.contains(&packet.namespace) => {
                Verdict::Close(CloseReason::NotConnected)
            }
            SocketKind::Disconnect => {
                self.connected.remove(&packet.namespace);
                Verdict::Dispatch(packet)
            }
            SocketKind::BinaryEvent | SocketKind::BinaryAck if packet.attachments > 0 => {
                self.awaiting = packet.attachments;
                let count = packet.attachments;
                self.pending = Some(packet);
                Verdict::AwaitAttachments(count)
            }
            _ => Verdict::Dispatch(packet),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_need_a_connected_namespace() {
        let mut session = InboundSession::new();
        let early = session.classify(Frame::Text("42[\"join\",\"early\"]"));
        assert_eq!(early, Verdict::Close(CloseReason::NotConnected));

        let mut session = InboundSession::new();
        assert!(matches!(
            session.classify(Frame::Text("40")),
            Verdict::Dispatch(_)
        ));
        assert_eq!(
            session.classify(Frame::Text("42[\"a\"]")),
            Verdict::Close(CloseReason::NotConnected),
            "not before the server accepts the namespace"
        );
        session.accept_namespace("/");
        assert!(matches!(
            session.classify(Frame::Text("42[\"a\"]")),
            Verdict::Dispatch(_)
        ));
        assert!(matches!(
            session.classify(Frame::Text("41")),
            Verdict::Dispatch(_)
        ));
        assert_eq!(
            session.classify(Frame::Text("42[\"a\"]")),
            Verdict::Close(CloseReason::NotConnected)
        );
    }

    #[test]
    fn attachments_complete_a_binary_event() {
        let mut session = InboundSession::new();
        session.classify(Frame::Text("40"));
        session.accept_namespace("/");
        let header = session.classify(Frame::Text("451-[\"f\",{\"_placeholder\":true,\"num\":0}]"));
        assert_eq!(header, Verdict::AwaitAttachments(1));
        assert!(matches!(
            session.classify(Frame::Binary(&[1])),
            Verdict::Dispatch(_)
        ));
        assert_eq!(
            session.classify(Frame::Binary(&[1])),
            Verdict::Close(CloseReason::UnexpectedFrame)
        );
    }
}
