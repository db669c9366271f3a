//! charla-protocol: the Engine.IO v4 / Socket.IO v5 text packet codec and Charla's chat payload
//! types. No I/O: bytes in, values out; "unknown packet" and "malformed" are values, never panics.
//!
//! Both the server and the client stand on this crate, and its tests replay the frames captured
//! from the tutorial's Node server (`tests/data/node-reference-transcripts.txt`).

pub mod chat;
pub mod engineio;
pub mod error;
pub mod inbound;
pub mod query;
pub mod rules;
pub mod socketio;
pub mod timestamp;

pub use engineio::{EnginePacket, OpenPayload};
pub use error::{DecodeError, Result};
pub use socketio::{EventName, SocketKind, SocketPacket};
