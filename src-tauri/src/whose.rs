//! Whose a message is and whether it names the user, decided once, here, for the tray's counts,
//! the notifications and the window. Every message the window receives (a `message` or
//! `messageUpdated` event, a join's history, a history page, a room's replay and its changes,
//! the pinned list) carries the answer as `own` and `mentionsMe`; the UI reads them and never
//! compares names to decide it again.

use charla_client::ClientEvent;
use charla_protocol::chat::{
    ChatMessage, HistoryPage, PinList, RoomEntered, ThreadList, ThreadPage,
};
use serde::Serialize;
use serde_json::Value;

use crate::attention::mentions_me;
use crate::counts::same_name;

/// What the app decided of one message for this user. Absent fields are false.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Whose {
    /// Written under the user's name by its owner (a guest using the name is someone else:
    /// this app always joins with its key).
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub own: bool,
    /// It names the user: the server's `mentions` when it numbers messages, the name as a
    /// whole word in the text otherwise (the tutorial's server).
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub mentions_me: bool,
    /// A reply in a thread the user follows (`following.rs`): one only in its thread counts as
    /// unread in its room and notifies like a mention; one the user does not follow does
    /// neither. Set on the replies the window receives as events.
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub followed: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

/// `message` as `me` sees it (`me` empty: before any join, nothing is anyone's).
#[must_use]
pub fn whose(message: &ChatMessage, me: &str) -> Whose {
    if me.is_empty() {
        return Whose::default();
    }
    Whose {
        own: !message.guest && same_name(&message.username, me),
        mentions_me: mentions_me(message, me),
        followed: false,
    }
}

/// What the window receives with its messages marked: a client event, a history page, a room
/// entered (made, joined, a DM opened).
pub trait ForWindow {
    /// The JSON the window receives, each message in it marked for `me`.
    ///
    /// # Errors
    /// When it cannot be written as JSON (it always can: string keys only).
    fn for_window(&self, me: &str) -> serde_json::Result<Value>;
}

impl ForWindow for ClientEvent {
    fn for_window(&self, me: &str) -> serde_json::Result<Value> {
        let mut value = serde_json::to_value(self)?;
        match self {
            Self::Message(message)
            | Self::ThreadMessage(message)
            | Self::MessageUpdated(message) => {
                mark(&mut value, message, me)?;
            }
            Self::Joined {
                history,
                thread_replies,
                ..
            } => {
                mark_each(&mut value, "history", history, me)?;
                mark_each(&mut value, "threadReplies", thread_replies, me)?;
            }
            _ => {}
        }
        Ok(value)
    }
}

impl ForWindow for HistoryPage {
    fn for_window(&self, me: &str) -> serde_json::Result<Value> {
        let mut value = serde_json::to_value(self)?;
        mark_each(&mut value, "messages", &self.messages, me)?;
        Ok(value)
    }
}

impl ForWindow for RoomEntered {
    fn for_window(&self, me: &str) -> serde_json::Result<Value> {
        let mut value = serde_json::to_value(self)?;
        mark_each(&mut value, "messages", &self.replay.messages, me)?;
        if let (Some(changes), Some(written)) = (&self.replay.changes, value.get_mut("changes")) {
            mark_each(written, "changes", &changes.changes, me)?;
        }
        Ok(value)
    }
}

impl ForWindow for PinList {
    fn for_window(&self, me: &str) -> serde_json::Result<Value> {
        let mut value = serde_json::to_value(self)?;
        mark_each(&mut value, "messages", &self.messages, me)?;
        Ok(value)
    }
}

impl ForWindow for ThreadPage {
    fn for_window(&self, me: &str) -> serde_json::Result<Value> {
        let mut value = serde_json::to_value(self)?;
        if let Some(root) = value.get_mut("root") {
            mark(root, &self.root, me)?;
        }
        mark_each(&mut value, "replies", &self.replies, me)?;
        Ok(value)
    }
}

impl ForWindow for ThreadList {
    fn for_window(&self, me: &str) -> serde_json::Result<Value> {
        let mut value = serde_json::to_value(self)?;
        if let Some(Value::Array(written)) = value.get_mut("threads") {
            for (json, thread) in written.iter_mut().zip(&self.threads) {
                if let Some(root) = json.get_mut("root") {
                    mark(root, &thread.root, me)?;
                }
            }
        }
        Ok(value)
    }
}

/// A command's answer, its messages marked for the user as Tauri writes it.
pub struct Marked<T> {
    answer: T,
    me: String,
}

impl<T> Marked<T> {
    /// `answer`, to be marked for `me`.
    #[must_use]
    pub fn new(answer: T, me: String) -> Self {
        Self { answer, me }
    }
}

impl<T: ForWindow> Serialize for Marked<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.answer
            .for_window(&self.me)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

/// Adds `message`'s marks to its JSON object.
fn mark(value: &mut Value, message: &ChatMessage, me: &str) -> serde_json::Result<()> {
    if let (Some(object), Value::Object(marks)) = (
        value.as_object_mut(),
        serde_json::to_value(whose(message, me))?,
    ) {
        object.extend(marks);
    }
    Ok(())
}

/// Marks each of `messages`, written in order as the array under `key` of `value`.
fn mark_each(
    value: &mut Value,
    key: &str,
    messages: &[ChatMessage],
    me: &str,
) -> serde_json::Result<()> {
    let Some(Value::Array(written)) = value.as_object_mut().and_then(|o| o.get_mut(key)) else {
        return Ok(());
    };
    for (json, message) in written.iter_mut().zip(messages) {
        mark(json, message, me)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use charla_protocol::chat::{Changes, RoomKind, RoomReplay, RoomState};

    /// The marks of one message's JSON: `(own, mentionsMe)`.
    fn marks(value: &Value) -> (bool, bool) {
        let get = |key| value.get(key).and_then(Value::as_bool).unwrap_or(false);
        (get("own"), get("mentionsMe"))
    }

    fn msg(username: &str, text: &str, seq: Option<u64>, mentions: &[&str]) -> ChatMessage {
        ChatMessage {
            id: format!("{username}-{text}"),
            username: username.into(),
            text: text.into(),
            timestamp: charla_protocol::timestamp::now_millis(),
            seq,
            client_id: None,
            guest: false,
            room: None,
            mentions: mentions.iter().map(|m| (*m).to_owned()).collect(),
            thread: None,
            also_in_room: false,
            living: charla_protocol::chat::Living::default(),
        }
    }

    #[test]
    fn names_compare_by_the_server_s_key_and_a_guest_is_never_me() {
        let mine = msg("STRASSE", "hi", Some(1), &[]);
        assert_eq!(
            whose(&mine, "Straße"),
            Whose {
                own: true,
                mentions_me: false,
                followed: false,
            }
        );
        let guest = ChatMessage {
            guest: true,
            ..mine.clone()
        };
        assert!(!whose(&guest, "Straße").own, "a guest using my name");
        assert_eq!(whose(&mine, ""), Whose::default(), "before any join");
        let named = msg("bo", "hi", Some(2), &["ＳＴＲＡẞＥ"]);
        assert!(whose(&named, "straße").mentions_me, "the server's mentions");
        let tutorial = msg("bo", "ping Straße!", None, &[]);
        assert!(
            whose(&tutorial, "straße").mentions_me,
            "the text, unnumbered"
        );
    }

    #[test]
    fn every_message_the_window_receives_is_marked() {
        let own = msg("Ána", "mine", Some(1), &[]);
        let other = msg("bo", "hi", Some(2), &["ána"]);
        let event = ClientEvent::Message(own.clone())
            .for_window("ána")
            .expect("json");
        assert_eq!(marks(&event), (true, false));
        assert_eq!(event["event"], "message");
        assert_eq!(event["username"], "Ána");
        let changed = ClientEvent::MessageUpdated(other.clone())
            .for_window("ána")
            .expect("json");
        assert_eq!(
            marks(&changed),
            (false, true),
            "a change is marked as messages are"
        );
        assert_eq!(changed["event"], "messageUpdated");
        let pins = PinList {
            ok: true,
            messages: vec![own.clone(), other.clone()],
        };
        let pins = serde_json::to_value(Marked::new(pins, "ána".into())).expect("json");
        assert_eq!(marks(&pins["messages"][0]), (true, false));
        assert_eq!(marks(&pins["messages"][1]), (false, true));
        let joined = ClientEvent::Joined {
            username: "ána".into(),
            users: vec![],
            owned: true,
            history: vec![own.clone(), other.clone()],
            thread_replies: vec![other.clone()],
        };
        let joined = joined.for_window("ána").expect("json");
        assert_eq!(marks(&joined["history"][0]), (true, false));
        assert_eq!(marks(&joined["history"][1]), (false, true));
        assert_eq!(marks(&joined["threadReplies"][0]), (false, true));
        let page = HistoryPage {
            ok: true,
            messages: vec![other.clone(), own.clone()],
            more: false,
        };
        let page = serde_json::to_value(Marked::new(page, "ána".into())).expect("json");
        assert_eq!(marks(&page["messages"][0]), (false, true));
        assert_eq!(marks(&page["messages"][1]), (true, false));
        let entered = RoomEntered {
            ok: true,
            room: RoomState {
                room: "ops".into(),
                kind: RoomKind::Room,
                topic: String::new(),
                members: vec!["ána".into(), "bo".into()],
                last_seq: 2,
                read: 2,
                unread: 0,
                mentions: 0,
            },
            replay: RoomReplay {
                messages: vec![own.clone(), other.clone()],
                more: false,
                gap: None,
                changes: Some(Changes {
                    changes: vec![other, own],
                    rev: 2,
                    more: false,
                }),
            },
        };
        let entered = entered.for_window("ána").expect("json");
        assert_eq!(marks(&entered["messages"][0]), (true, false));
        assert_eq!(marks(&entered["messages"][1]), (false, true));
        assert_eq!(marks(&entered["changes"]["changes"][0]), (false, true));
        assert_eq!(marks(&entered["changes"]["changes"][1]), (true, false));
        assert_eq!(entered["room"]["room"], "ops");
    }
}
