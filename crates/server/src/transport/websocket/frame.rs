//! WebSocket framing (RFC 6455) as this server needs it: client frames parsed from a buffer
//! (masked, possibly fragmented, bounded in size), server frames' headers encoded. No I/O, no
//! extensions: the server negotiates none, so a frame with a reserved bit set is an error.
//!
//! Written here rather than taken from a WebSocket library so that the write side needs no
//! buffer of its own: a broadcast's bytes, shared by every receiver, go to each socket as they
//! are, behind a header of at most ten bytes. A library's write buffer keeps the capacity of
//! the largest burst it ever held, for the life of the connection.

use bytes::{Buf, Bytes, BytesMut};

/// A complete message from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A text message (valid UTF-8).
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// A ping, with its payload (to be echoed in a pong).
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The client is closing.
    Close,
}

/// Why a client's frames cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A reserved bit is set (no extension was negotiated).
    #[error("reserved bits set")]
    Reserved,
    /// A client frame without a mask.
    #[error("unmasked client frame")]
    Unmasked,
    /// An opcode RFC 6455 does not define.
    #[error("unknown opcode {0}")]
    Opcode(u8),
    /// A control frame that is fragmented or longer than 125 bytes.
    #[error("bad control frame")]
    Control,
    /// A continuation with nothing to continue, or a new message inside a fragmented one.
    #[error("bad fragmentation")]
    Fragmentation,
    /// A message larger than allowed.
    #[error("message too big")]
    TooBig,
    /// A text message that is not UTF-8.
    #[error("text is not UTF-8")]
    Utf8,
}

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Reads client messages out of a byte buffer, one at a time.
#[derive(Debug)]
pub struct Reader {
    max_message: usize,
    /// A fragmented message being assembled: whether it is text, and its bytes so far.
    partial: Option<(bool, BytesMut)>,
}

impl Reader {
    /// A reader refusing messages (and frames) longer than `max_message` bytes.
    #[must_use]
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            partial: None,
        }
    }

    /// Takes the next complete message out of `buf`; `Ok(None)` when more bytes are needed
    /// (then `buf` is left as it was, and [`Reader::wanted`] says how many at least).
    ///
    /// # Errors
    /// A frame that breaks the protocol or the size limit; the connection must close.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, FrameError> {
        loop {
            let Some(head) = Head::parse(buf)? else {
                return Ok(None);
            };
            let so_far = self.partial.as_ref().map_or(0, |(_, b)| b.len());
            if head.len > self.max_message as u64
                || so_far as u64 + head.len > self.max_message as u64
            {
                return Err(FrameError::TooBig);
            }
            // Bounded by the check above.
            let len = usize::try_from(head.len).map_err(|_| FrameError::TooBig)?;
            if buf.len() < head.size + len {
                return Ok(None);
            }
            buf.advance(head.size);
            let mut payload = buf.split_to(len);
            unmask(&mut payload, head.mask);
            if let Some(message) = self.frame(head.fin, head.opcode, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// Bytes `buf` must hold at least before [`Reader::next`] can make progress.
    #[must_use]
    pub fn wanted(buf: &[u8]) -> usize {
        match Head::parse(buf) {
            Ok(Some(head)) => head
                .size
                .saturating_add(usize::try_from(head.len).unwrap_or(usize::MAX)),
            _ => 14,
        }
    }

    fn frame(
        &mut self,
        fin: bool,
        opcode: u8,
        payload: BytesMut,
    ) -> Result<Option<Incoming>, FrameError> {
        match opcode {
            OP_PING | OP_PONG | OP_CLOSE if !fin || payload.len() > 125 => Err(FrameError::Control),
            OP_PING => Ok(Some(Incoming::Ping(payload.freeze()))),
            OP_PONG => Ok(Some(Incoming::Pong)),
            OP_CLOSE => Ok(Some(Incoming::Close)),
            OP_TEXT | OP_BINARY if self.partial.is_some() => Err(FrameError::Fragmentation),
            OP_TEXT | OP_BINARY if !fin => {
                self.partial = Some((opcode == OP_TEXT, payload));
                Ok(None)
            }
            OP_TEXT => text(payload).map(Some),
            OP_BINARY => Ok(Some(Incoming::Binary(payload.freeze()))),
            OP_CONTINUATION => {
                let (is_text, mut so_far) = self.partial.take().ok_or(FrameError::Fragmentation)?;
                so_far.extend_from_slice(&payload);
                if !fin {
                    self.partial = Some((is_text, so_far));
                    return Ok(None);
                }
                if is_text {
                    text(so_far).map(Some)
                } else {
                    Ok(Some(Incoming::Binary(so_far.freeze())))
                }
            }
            other => Err(FrameError::Opcode(other)),
        }
    }
}

fn text(bytes: BytesMut) -> Result<Incoming, FrameError> {
    String::from_utf8(bytes.to_vec())
        .map(Incoming::Text)
        .map_err(|_| FrameError::Utf8)
}

fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// A frame header as read.
struct Head {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    len: u64,
    /// Header bytes, mask included.
    size: usize,
}

impl Head {
    fn parse(buf: &[u8]) -> Result<Option<Self>, FrameError> {
        let [b0, b1, rest @ ..] = buf else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(FrameError::Reserved);
        }
        if b1 & 0x80 == 0 {
            return Err(FrameError::Unmasked);
        }
        let (len, extra) = match b1 & 0x7F {
            126 => match rest {
                [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
                _ => return Ok(None),
            },
            127 => match rest.get(..8) {
                Some(bytes) => {
                    let mut eight = [0u8; 8];
                    eight.copy_from_slice(bytes);
                    (u64::from_be_bytes(eight), 8)
                }
                None => return Ok(None),
            },
            short => (u64::from(short), 0),
        };
        let Some(key) = rest.get(extra..extra + 4) else {
            return Ok(None);
        };
        let mut mask = [0u8; 4];
        mask.copy_from_slice(key);
        Ok(Some(Self {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0F,
            mask,
            len,
            size: 2 + extra + 4,
        }))
    }
}

/// The header of an unmasked, unfragmented server frame: the bytes to write before a payload
/// of `len` bytes.
#[derive(Debug, Clone, Copy)]
pub struct ServerHead {
    bytes: [u8; 10],
    size: usize,
}

impl ServerHead {
    /// A text frame's header.
    #[must_use]
    pub fn text(len: usize) -> Self {
        Self::new(OP_TEXT, len)
    }

    /// A pong's header.
    #[must_use]
    pub fn pong(len: usize) -> Self {
        Self::new(OP_PONG, len)
    }

    fn new(opcode: u8, len: usize) -> Self {
        let mut bytes = [0u8; 10];
        bytes[0] = 0x80 | opcode;
        let size = if len < 126 {
            // Fits in seven bits.
            bytes[1] = u8::try_from(len).unwrap_or(125);
            2
        } else if let Ok(short) = u16::try_from(len) {
            bytes[1] = 126;
            bytes[2..4].copy_from_slice(&short.to_be_bytes());
            4
        } else {
            bytes[1] = 127;
            bytes[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        };
        Self { bytes, size }
    }

    /// The header bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.size]
    }
}

/// A close frame with status 1000 (normal closure).
pub const CLOSE_NORMAL: [u8; 4] = [0x88, 0x02, 0x03, 0xE8];

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
#[must_use]
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::{Digest, Sha1};
    let mut hasher = Sha1::new();
    hasher.update(key);
    hasher.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame as a browser sends it.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut frame = vec![if fin { 0x80 } else { 0 } | opcode];
        match (u8::try_from(payload.len()), u16::try_from(payload.len())) {
            (Ok(short), _) if short < 126 => frame.push(0x80 | short),
            (_, Ok(medium)) => {
                frame.push(0x80 | 0x7e);
                frame.extend_from_slice(&medium.to_be_bytes());
            }
            _ => {
                frame.push(0x80 | 0x7f);
                frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    #[test]
    fn the_rfc_accept_key_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn masked_messages_come_out_whole_in_any_split() {
        let long = "é".repeat(40_000);
        let mut wire = client_frame(true, OP_TEXT, b"Hello");
        wire.extend(client_frame(false, OP_TEXT, b"frag"));
        wire.extend(client_frame(true, OP_PING, b"p"));
        wire.extend(client_frame(true, OP_CONTINUATION, b"mented"));
        wire.extend(client_frame(true, OP_TEXT, long.as_bytes()));
        wire.extend(client_frame(true, OP_CLOSE, &[0x03, 0xE8]));
        for step in [1, 7, wire.len()] {
            let mut reader = Reader::new(100_000);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for chunk in wire.chunks(step) {
                buf.extend_from_slice(chunk);
                while let Some(message) = reader.next(&mut buf).expect("valid") {
                    got.push(message);
                }
            }
            assert_eq!(
                got,
                [
                    Incoming::Text("Hello".into()),
                    Incoming::Ping(Bytes::from_static(b"p")),
                    Incoming::Text("fragmented".into()),
                    Incoming::Text(long.clone()),
                    Incoming::Close,
                ],
                "split every {step} bytes"
            );
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn broken_or_oversized_frames_are_errors() {
        let cases: [(Vec<u8>, FrameError); 6] = [
            (vec![0x81, 0x01, b'x'], FrameError::Unmasked),
            (vec![0xC1, 0x80, 0, 0, 0, 0], FrameError::Reserved),
            (client_frame(true, 0x3, b""), FrameError::Opcode(3)),
            (client_frame(false, OP_PING, b""), FrameError::Control),
            (
                client_frame(true, OP_CONTINUATION, b"x"),
                FrameError::Fragmentation,
            ),
            (client_frame(true, OP_TEXT, &[0xff, 0xfe]), FrameError::Utf8),
        ];
        for (wire, error) in cases {
            let mut buf = BytesMut::from(&wire[..]);
            assert_eq!(Reader::new(1000).next(&mut buf), Err(error));
        }
        // Refused from the header alone, before the payload is buffered.
        let mut head = BytesMut::from(&client_frame(true, OP_TEXT, &[b'a'; 2000])[..8]);
        assert_eq!(Reader::new(1000).next(&mut head), Err(FrameError::TooBig));
        let mut pieces = BytesMut::new();
        pieces.extend(client_frame(false, OP_TEXT, &[b'a'; 600]));
        pieces.extend(client_frame(true, OP_CONTINUATION, &[b'a'; 600]));
        assert_eq!(Reader::new(1000).next(&mut pieces), Err(FrameError::TooBig));
    }

    #[test]
    fn server_headers_use_the_shortest_length() {
        assert_eq!(ServerHead::text(5).as_bytes(), [0x81, 5]);
        assert_eq!(ServerHead::text(300).as_bytes(), [0x81, 126, 1, 44]);
        assert_eq!(
            ServerHead::text(70_000).as_bytes(),
            [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]
        );
        assert_eq!(Reader::wanted(&[0x81, 0x85]), 14);
    }
}
