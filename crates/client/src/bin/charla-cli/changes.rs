//! Changes to messages as a person reads them: what a change did to a message since it was last
//! shown (an edit, a deletion, its reactions, a pin), one line each, and what a queued change
//! will do.
//!
//! The client reports a changed message whole; saying *what* changed needs what was shown of
//! it before, which is kept here for the newest messages shown. A message not kept is shown as
//! it is now, in one line.

use std::collections::{HashMap, VecDeque};

use charla_client::{ChangeOp, ChangeTarget, OutboxChange};
use charla_protocol::chat::{ChatMessage, Living, GENERAL_ROOM};

/// Messages whose last shown state is kept.
const KEPT: usize = 2_000;

/// What was last shown of the newest messages, by room and `seq`.
#[derive(Default)]
pub struct Shown {
    messages: HashMap<(String, u64), (String, Living)>,
    /// Oldest first, each message once: which to forget first.
    order: VecDeque<(String, u64)>,
}

impl Shown {
    /// A message was shown as it is.
    pub fn note(&mut self, message: &ChatMessage) {
        let Some(key) = key_of(message) else {
            return;
        };
        let state = (message.text.clone(), message.living.clone());
        if self.messages.insert(key.clone(), state).is_none() {
            self.order.push_back(key);
            if self.order.len() > KEPT {
                if let Some(oldest) = self.order.pop_front() {
                    self.messages.remove(&oldest);
                }
            }
        }
    }

    /// The lines that say what changed in `message` since it was shown (now it is shown so).
    pub fn lines(&mut self, message: &ChatMessage) -> Vec<String> {
        let before = key_of(message).and_then(|key| self.messages.get(&key).cloned());
        let lines = match before {
            Some((text, living)) => what_changed(&text, &living, message),
            None => vec![as_it_is(message)],
        };
        self.note(message);
        lines
    }
}

fn key_of(message: &ChatMessage) -> Option<(String, u64)> {
    let room = message.room.as_deref().unwrap_or(GENERAL_ROOM).to_owned();
    Some((room, message.seq?))
}

/// `#12`, or `#12 in ops`.
fn place_of(seq: Option<u64>, room: Option<&str>) -> String {
    let seq = seq.map_or_else(|| "a message".to_owned(), |seq| format!("#{seq}"));
    match room {
        Some(room) => format!("{seq} in {room}"),
        None => seq,
    }
}

/// One line per thing that changed from (`text`, `living`) to `now`.
fn what_changed(text: &str, living: &Living, now: &ChatMessage) -> Vec<String> {
    let at = place_of(now.seq, now.room.as_deref());
    if now.living.deleted {
        return if living.deleted {
            Vec::new()
        } else {
            vec![format!("* {at} deleted")]
        };
    }
    let mut lines = Vec::new();
    if now.text != text {
        lines.push(format!("* {} edited {at}: {}", now.username, now.text));
    }
    if now.living.reactions != living.reactions {
        lines.push(format!("* reactions on {at}: {}", reactions(&now.living)));
    }
    match (&living.pinned, &now.living.pinned) {
        (None, Some(pinned)) => lines.push(format!("* {} pinned {at}", pinned.by)),
        (Some(_), None) => lines.push(format!("* {at} unpinned")),
        _ => {}
    }
    if now.living.replies != living.replies {
        lines.push(format!("* {at}: {} replies", now.living.replies));
    }
    lines
}

/// A message not shown before, as it is now: `* #12 now: text (edited) · 👍 ana · pinned by bo`.
fn as_it_is(message: &ChatMessage) -> String {
    let at = place_of(message.seq, message.room.as_deref());
    if message.living.deleted {
        return format!("* {at} deleted");
    }
    let mut parts = vec![format!("{}: {}", message.username, message.text)];
    if message.living.edited_at.is_some() {
        parts[0].push_str(" (edited)");
    }
    if !message.living.reactions.is_empty() {
        parts.push(reactions(&message.living));
    }
    if let Some(pinned) = &message.living.pinned {
        parts.push(format!("pinned by {}", pinned.by));
    }
    if message.living.replies > 0 {
        parts.push(format!("{} replies", message.living.replies));
    }
    format!("* {at} now: {}", parts.join(" · "))
}

/// `👍 ana, bo; 🎉 cy`, or `none`.
fn reactions(living: &Living) -> String {
    if living.reactions.is_empty() {
        return "none".to_owned();
    }
    let each: Vec<String> = living
        .reactions
        .iter()
        .map(|r| format!("{} {}", r.emoji, r.names.join(", ")))
        .collect();
    each.join("; ")
}

/// What a queued change does: `edit of #12`, `👍 on #12 in ops`.
pub fn label(change: &OutboxChange) -> String {
    let target = match &change.target {
        ChangeTarget::Seq { seq } => place_of(Some(*seq), change.room.as_deref()),
        ChangeTarget::Unsent { .. } => place_of(None, change.room.as_deref()),
    };
    match &change.change {
        ChangeOp::Edit { .. } => format!("edit of {target}"),
        ChangeOp::Delete => format!("deletion of {target}"),
        ChangeOp::React { emoji, on: true } => format!("{emoji} on {target}"),
        ChangeOp::React { emoji, on: false } => format!("{emoji} taken back from {target}"),
        ChangeOp::Pin { pinned: true } => format!("pin of {target}"),
        ChangeOp::Pin { pinned: false } => format!("unpin of {target}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charla_protocol::chat::{Pinned, Reaction};

    fn message(seq: u64, text: &str) -> ChatMessage {
        ChatMessage {
            id: format!("m{seq}"),
            username: "ana".into(),
            text: text.into(),
            timestamp: charla_protocol::timestamp::now_millis(),
            seq: Some(seq),
            client_id: None,
            guest: false,
            room: None,
            mentions: Vec::new(),
            thread: None,
            also_in_room: false,
            living: Living::default(),
        }
    }

    #[test]
    fn each_change_is_said_in_its_own_line() {
        let mut shown = Shown::default();
        let said = message(12, "helo");
        shown.note(&said);
        let mut now = said.clone();
        now.text = "hello".into();
        now.living.rev = 1;
        assert_eq!(shown.lines(&now), ["* ana edited #12: hello"]);
        now.living.reactions = vec![Reaction {
            emoji: "👍".into(),
            names: vec!["ana".into(), "bo".into()],
        }];
        now.living.pinned = Some(Pinned {
            by: "bo".into(),
            at: now.timestamp,
        });
        assert_eq!(
            shown.lines(&now),
            ["* reactions on #12: 👍 ana, bo", "* bo pinned #12"]
        );
        now.living.reactions.clear();
        now.living.pinned = None;
        assert_eq!(
            shown.lines(&now),
            ["* reactions on #12: none", "* #12 unpinned"]
        );
        now.living.deleted = true;
        now.text.clear();
        assert_eq!(shown.lines(&now), ["* #12 deleted"]);
    }

    #[test]
    fn a_message_not_shown_before_is_shown_as_it_is() {
        let mut shown = Shown::default();
        let mut now = message(3, "fixed");
        now.room = Some("ops".into());
        now.living.edited_at = Some(now.timestamp);
        now.living.reactions = vec![Reaction {
            emoji: "🎉".into(),
            names: vec!["cy".into()],
        }];
        assert_eq!(
            shown.lines(&now),
            ["* #3 in ops now: ana: fixed (edited) · 🎉 cy"]
        );
        for seq in 0..=u64::try_from(KEPT).expect("fits") {
            shown.note(&message(100 + seq, "x"));
        }
        assert!(shown.messages.len() <= KEPT, "bounded");
    }
}
