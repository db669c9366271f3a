//! Replays the frames captured from the tutorial's Node server (and from socketioxide) through
//! the codec: every server frame decodes and re-encodes byte for byte, and every frame a client
//! sent is classified as the Node server treated it (kept or closed), malformed ones included.

use charla_protocol::chat::ChatMessage;
use charla_protocol::inbound::{Frame, InboundSession, Verdict};
use charla_protocol::{EnginePacket, SocketPacket};

const TRANSCRIPTS: &str = include_str!("data/node-reference-transcripts.txt");

/// One captured line that carries a frame.
#[derive(Debug)]
struct Captured<'a> {
    section: &'a str,
    at_ms: u64,
    actor: &'a str,
    from_client: bool,
    text: &'a str,
}

enum Line<'a> {
    Frame(Captured<'a>),
    /// `<actor> ** ws closed …` at a time.
    Closed {
        actor: &'a str,
        at_ms: u64,
    },
    /// `readyState after …=3` or `state=3`: the last connection was found closed.
    FoundClosed,
    /// Anything else: comments, upgrades, readyState=1.
    Other,
}

fn parse_line<'a>(section: &'a str, line: &'a str) -> Line<'a> {
    let trimmed = line.trim_start();
    if trimmed.starts_with("readyState after") || trimmed.starts_with("state=") {
        return if trimmed.ends_with("=3") || trimmed.contains("=3 ") {
            Line::FoundClosed
        } else {
            Line::Other
        };
    }
    let Some((time, rest)) = trimmed.split_once("ms ") else {
        return Line::Other;
    };
    let Ok(at_ms) = time.parse() else {
        return Line::Other;
    };
    let Some((actor, rest)) = rest.split_once(' ') else {
        return Line::Other;
    };
    if rest.starts_with("** ws closed") {
        return Line::Closed { actor, at_ms };
    }
    let (from_client, text) = if let Some(text) = rest.strip_prefix("-> ") {
        (true, text)
    } else if rest == "->" {
        (true, "")
    } else if let Some(text) = rest.strip_prefix("<- ") {
        (false, text)
    } else {
        return Line::Other;
    };
    Line::Frame(Captured {
        section,
        at_ms,
        actor,
        from_client,
        text,
    })
}

fn lines() -> Vec<Line<'static>> {
    let mut section = "";
    let mut out = Vec::new();
    for line in TRANSCRIPTS.lines() {
        if let Some(name) = line.strip_prefix("=================== ") {
            section = name.trim();
            continue;
        }
        out.push(parse_line(section, line));
    }
    out
}

fn is_binary(text: &str) -> bool {
    text.starts_with("<binary ")
}

fn is_truncated(text: &str) -> bool {
    text.ends_with(" chars)")
}

#[test]
fn every_server_frame_decodes_and_reencodes_exactly() {
    let mut checked = 0;
    for line in lines() {
        let Line::Frame(frame) = line else { continue };
        if frame.from_client || is_binary(frame.text) || is_truncated(frame.text) {
            continue;
        }
        let packet = EnginePacket::decode(frame.text)
            .unwrap_or_else(|e| panic!("{}: {:?} does not decode: {e}", frame.section, frame.text));
        assert_eq!(
            packet.encode(),
            frame.text,
            "{}: engine re-encode",
            frame.section
        );
        match &packet {
            EnginePacket::Open(_) => {
                let open = packet.open_payload().expect("handshake parses");
                assert!(open.ping_interval > 0 && !open.sid.is_empty());
            }
            EnginePacket::Message(body) => {
                let socket = SocketPacket::decode(body)
                    .unwrap_or_else(|e| panic!("{}: {body:?} does not decode: {e}", frame.section));
                assert_eq!(
                    &socket.encode(),
                    body,
                    "{}: socket re-encode",
                    frame.section
                );
                if let Some((_, [payload])) = socket
                    .event_parts()
                    .filter(|(n, _)| *n == charla_protocol::EventName::Text("message"))
                {
                    let message: ChatMessage =
                        serde_json::from_value(payload.clone()).expect("a chat message");
                    assert_eq!(
                        &serde_json::to_value(&message).expect("serializes"),
                        payload
                    );
                }
            }
            _ => {}
        }
        checked += 1;
    }
    assert!(
        checked >= 80,
        "only {checked} server frames found: did the transcript format change?"
    );
}

/// Replays each Node connection's client frames through [`InboundSession`] and compares with
/// what the Node server did: closed the connection within 50 ms of the frame, or kept it.
#[test]
fn every_client_frame_is_classified_as_the_node_server_did() {
    let node_sections = [
        "main.txt",
        "ping.txt",
        "defaultping.txt",
        "badframes.txt",
        "extra.txt",
        "nsp.txt",
    ];
    let all = lines();
    let mut checked = 0;
    let mut closes = 0;
    let mut sessions: std::collections::HashMap<(&str, &str), (InboundSession, bool)> =
        std::collections::HashMap::default();
    for (index, line) in all.iter().enumerate() {
        let Line::Frame(frame) = line else { continue };
        if !frame.from_client || !node_sections.contains(&frame.section) || is_truncated(frame.text)
        {
            continue;
        }
        // A new connection starts at each handshake the server sends to this actor.
        let key = (frame.section, frame.actor);
        let opened_since = all[..index].iter().rev().take_while(|l| !matches!(l, Line::Frame(f) if f.actor == frame.actor && f.from_client)).any(|l| matches!(l, Line::Frame(f) if f.actor == frame.actor && !f.from_client && f.text.starts_with("0{")));
        if opened_since {
            sessions.insert(key, (InboundSession::new(), false));
        }
        let (session, closed) = sessions
            .entry(key)
            .or_insert_with(|| (InboundSession::new(), false));
        if *closed {
            continue; // frames sent into a socket Node had already closed say nothing
        }
        let verdict = if is_binary(frame.text) {
            session.classify(Frame::Binary(&[1, 2, 3]))
        } else {
            session.classify(Frame::Text(frame.text))
        };
        let node_closed = all[index + 1..]
            .iter()
            .take_while(|l| !matches!(l, Line::Frame(f) if f.from_client))
            .any(|l| match l {
                Line::Closed { actor, at_ms } => *actor == frame.actor && at_ms - frame.at_ms <= 50,
                Line::FoundClosed => true,
                _ => false,
            });
        // `socket.disconnect(true)` in a server handler sends `41` first: that close is the
        // application's doing, not the frame's.
        let kicked = all[index + 1..]
            .iter()
            .take_while(|l| !matches!(l, Line::Frame(f) if f.from_client))
            .any(|l| matches!(l, Line::Frame(f) if f.actor == frame.actor && f.text == "41"));
        if kicked {
            *closed = true;
            continue;
        }
        // Node's server accepts the main namespace and refuses the others.
        if let Verdict::Dispatch(packet) = &verdict {
            if packet.kind == charla_protocol::SocketKind::Connect && packet.namespace == "/" {
                session.accept_namespace("/");
            }
        }
        let we_close = matches!(verdict, Verdict::Close(_));
        assert_eq!(
            we_close,
            node_closed,
            "{} {}: {:?} → {verdict:?}, but Node {} it",
            frame.section,
            frame.actor,
            frame.text,
            if node_closed { "closed" } else { "kept" }
        );
        *closed = we_close;
        checked += 1;
        closes += usize::from(we_close);
    }
    assert!(
        checked >= 40 && closes >= 12,
        "checked {checked} frames, {closes} closes"
    );
}
