//! Living messages: what changes a message after it was said (an edit, a deletion, a reaction,
//! a pin), the answers, and what a message carries of them.
//!
//! A message keeps its `seq` (its place in the room and in unread counts) for ever; each change
//! gives it the room's next `rev` (a second counter, of changes) and is sent to the room as
//! `message-updated` carrying the whole message as it is now. A client keeps, per room, the
//! highest `rev` it has seen, and a reconnect replays the messages changed after it
//! (DESIGN.md, "Living messages", says why changes are versions and not log entries).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::message::ChatMessage;
use super::payload::client_id_is_valid;
use super::refusal::Refusal;

/// Different emoji one message may carry.
pub const MAX_REACTIONS_PER_MESSAGE: usize = 20;
/// Messages one room may have pinned at once.
pub const MAX_PINS_PER_ROOM: usize = 100;
/// Longest emoji a reaction may be, in code points (a family with skin tones is 11).
pub const MAX_EMOJI_CHARS: usize = 16;
/// The most changed messages one `changes` answer (or a join's replay of one room) holds.
pub const MAX_CHANGES_PAGE: usize = 200;

/// One emoji on a message, and who put it there, in the order they did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reaction {
    /// The emoji.
    pub emoji: String,
    /// Who reacted with it (never empty: a reaction taken back by its last name is gone).
    pub names: Vec<String>,
}

/// Who pinned a message in its room, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Pinned {
    /// The member who pinned it.
    pub by: String,
    /// When.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: DateTime<Utc>,
}

/// What a change request names: a message of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    /// The room (default `general`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The message's `seq` in it.
    pub seq: u64,
    /// Idempotency key: a retry is answered again and not applied twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// A change to a message, as a client asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageChange {
    /// `message-edit`: the author's new text.
    Edit(String),
    /// `message-delete`: the author takes the message back.
    Delete,
    /// `reaction`: add (`on`) or take back one's own `emoji`.
    React {
        /// The emoji.
        emoji: String,
        /// Add it (`true`) or take it back.
        on: bool,
    },
    /// `pin`: pin (`on`) or unpin the message in its room.
    Pin {
        /// Pin (`true`) or unpin.
        on: bool,
    },
}

/// A change request: which message, and what to do to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRequest {
    /// The message.
    pub target: MessageRef,
    /// The change.
    pub change: MessageChange,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeBody {
    #[serde(default)]
    room: Option<String>,
    seq: u64,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    emoji: Option<String>,
    #[serde(default)]
    on: Option<bool>,
    #[serde(default)]
    pinned: Option<bool>,
}

impl ChangeRequest {
    /// Reads the first argument of the change event `name` (one of [`super::events`]'
    /// `MESSAGE_EDIT`, `MESSAGE_DELETE`, `REACTION`, `PIN`).
    ///
    /// # Errors
    /// `invalid_payload`, saying the shape expected.
    pub(crate) fn from_args(name: &str, args: &[Value]) -> Result<Self, Refusal> {
        use super::events;
        let shape = match name {
            events::MESSAGE_EDIT => "{room?, seq: number, text: string, clientId?}",
            events::MESSAGE_DELETE => "{room?, seq: number, clientId?}",
            events::REACTION => "{room?, seq: number, emoji: string, on?: boolean, clientId?}",
            _ => "{room?, seq: number, pinned?: boolean, clientId?}",
        };
        let wrong = || Refusal::invalid_payload(format!("{name}: expected {shape}"));
        let body = args
            .first()
            .and_then(|first| ChangeBody::deserialize(first).ok())
            .ok_or_else(wrong)?;
        if body
            .client_id
            .as_deref()
            .is_some_and(|id| !client_id_is_valid(id))
        {
            return Err(Refusal::invalid_payload(
                "clientId must be 1-64 characters of A-Z, a-z, 0-9, '-', '_', '.', ':'",
            ));
        }
        let change = match name {
            events::MESSAGE_EDIT => MessageChange::Edit(body.text.ok_or_else(wrong)?),
            events::MESSAGE_DELETE => MessageChange::Delete,
            events::REACTION => MessageChange::React {
                emoji: body.emoji.ok_or_else(wrong)?,
                on: body.on.unwrap_or(true),
            },
            _ => MessageChange::Pin {
                on: body.pinned.unwrap_or(true),
            },
        };
        Ok(Self {
            target: MessageRef {
                room: body.room,
                seq: body.seq,
                client_id: body.client_id,
            },
            change,
        })
    }

    /// The event's argument.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut body = serde_json::json!({ "seq": self.target.seq });
        if let Some(room) = &self.target.room {
            body["room"] = Value::from(room.as_str());
        }
        if let Some(id) = &self.target.client_id {
            body["clientId"] = Value::from(id.as_str());
        }
        match &self.change {
            MessageChange::Edit(text) => body["text"] = Value::from(text.as_str()),
            MessageChange::Delete => {}
            MessageChange::React { emoji, on } => {
                body["emoji"] = Value::from(emoji.as_str());
                body["on"] = Value::from(*on);
            }
            MessageChange::Pin { on } => body["pinned"] = Value::from(*on),
        }
        body
    }
}

/// The answer to a change: the message's `seq` and the `rev` the change gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChangeAck {
    /// Always `true`.
    pub ok: bool,
    /// The message changed.
    pub seq: u64,
    /// The room's change counter after it (the message's `rev`); the same as before when the
    /// change changed nothing (a reaction one had already).
    pub rev: u64,
}

/// `changes`: the messages of `room` changed after `after`, as they are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesRequest {
    /// The room (default `general`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The highest `rev` the client has.
    pub after: u64,
    /// Up to `seq` (the messages after it the client gets as messages): all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upto: Option<u64>,
}

/// Changed messages, oldest change first, and where the client now stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Changes {
    /// The messages, as they are now, in the order of their `rev`.
    pub changes: Vec<ChatMessage>,
    /// The `rev` the client has after these: the room's, unless `more`.
    pub rev: u64,
    /// More changed messages follow: ask `changes {after: rev}`.
    #[serde(default)]
    pub more: bool,
}

/// The answer to `changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChangesPage {
    /// Always `true`.
    pub ok: bool,
    /// What changed.
    #[serde(flatten)]
    pub changes: Changes,
}

/// The answer to `pins {room}`: the room's pinned messages, the most recently pinned first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PinList {
    /// Always `true`.
    pub ok: bool,
    /// The pinned messages, as they are now.
    pub messages: Vec<ChatMessage>,
}

/// Whether `emoji` may be a reaction: 1–[`MAX_EMOJI_CHARS`] code points that are not letters,
/// digits of other scripts, punctuation, spaces or controls; ASCII only as a keycap's digit,
/// `#` or `*` (`1️⃣`); joiners and variation selectors only inside one. Not a full emoji
/// table (new emoji would be refused until it was updated): a rule that keeps text out.
#[must_use]
pub fn emoji_is_valid(emoji: &str) -> bool {
    let count = emoji.chars().count();
    if count == 0 || count > MAX_EMOJI_CHARS {
        return false;
    }
    let mut pictographs = 0;
    for c in emoji.chars() {
        match c {
            // A keycap's character; joiners, variation selectors, tags, skin tones.
            '0'..='9'
            | '#'
            | '*'
            | '\u{200D}'
            | '\u{FE0F}'
            | '\u{20E3}'
            | '\u{E0020}'..='\u{E007F}'
            | '\u{1F3FB}'..='\u{1F3FF}' => {}
            '\u{00A9}'
            | '\u{00AE}'
            | '\u{203C}'
            | '\u{2049}'
            | '\u{2122}'
            | '\u{2139}'
            | '\u{2194}'..='\u{21AA}'
            | '\u{231A}'..='\u{23FF}'
            | '\u{24C2}'
            | '\u{25AA}'..='\u{27BF}'
            | '\u{2934}'
            | '\u{2935}'
            | '\u{2B05}'..='\u{2B55}'
            | '\u{3030}'
            | '\u{303D}'
            | '\u{3297}'
            | '\u{3299}'
            | '\u{1F000}'..='\u{1FAFF}' => {
                pictographs += 1;
            }
            _ => return false,
        }
    }
    pictographs > 0
        || (count >= 2
            && emoji.ends_with('\u{20E3}')
            && emoji
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '#' || c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::events;
    use serde_json::json;

    #[test]
    fn emoji_are_told_from_text() {
        for ok in ["👍", "❤️", "🎉", "👍🏽", "👨‍👩‍👧", "1️⃣", "🏳️‍🌈", "©️", "🇪🇸"]
        {
            assert!(emoji_is_valid(ok), "{ok} is an emoji");
        }
        for bad in [
            "",
            "a",
            "ok",
            ":+1:",
            " 👍",
            "👍 ",
            "1",
            "#",
            "\u{200D}",
            "👍\u{0}",
            "ä",
            "日",
        ] {
            assert!(!emoji_is_valid(bad), "{bad:?} is not");
        }
        assert!(!emoji_is_valid(&"👍".repeat(MAX_EMOJI_CHARS + 1)));
    }

    #[test]
    fn change_requests_read_back_as_written() {
        for (name, change) in [
            (events::MESSAGE_EDIT, MessageChange::Edit("fixed".into())),
            (events::MESSAGE_DELETE, MessageChange::Delete),
            (
                events::REACTION,
                MessageChange::React {
                    emoji: "👍".into(),
                    on: false,
                },
            ),
            (events::PIN, MessageChange::Pin { on: true }),
        ] {
            let request = ChangeRequest {
                target: MessageRef {
                    room: Some("ops".into()),
                    seq: 4,
                    client_id: Some("c-1".into()),
                },
                change,
            };
            let read = ChangeRequest::from_args(name, &[request.to_json()]).expect("reads");
            assert_eq!(read, request);
        }
    }

    #[test]
    fn wrong_shapes_are_refused() {
        assert!(ChangeRequest::from_args(events::MESSAGE_EDIT, &[json!({"seq": 1})]).is_err());
        assert!(ChangeRequest::from_args(events::REACTION, &[json!({"seq": "1"})]).is_err());
        assert!(ChangeRequest::from_args(events::PIN, &[]).is_err());
        let bad_id = json!({"seq": 1, "clientId": "a b"});
        assert!(ChangeRequest::from_args(events::MESSAGE_DELETE, &[bad_id]).is_err());
        let reaction =
            ChangeRequest::from_args(events::REACTION, &[json!({"seq": 2, "emoji": "🎉"})])
                .expect("on defaults to true");
        assert_eq!(
            reaction.change,
            MessageChange::React {
                emoji: "🎉".into(),
                on: true
            }
        );
    }
}
