//! A room's newest messages, oldest first, bounded in count and in bytes: what the chat holds
//! of each room in memory, and all that a store kept in memory keeps.

use std::collections::VecDeque;

use charla_protocol::chat::ChatMessage;

use super::message_size;

/// What a window holds: a message, with whatever its keeper adds to it.
pub trait Held {
    /// The message.
    fn message(&self) -> &ChatMessage;
}

impl Held for ChatMessage {
    fn message(&self) -> &ChatMessage {
        self
    }
}

/// The newest messages, oldest first; never more than its bounds, never fewer than one when
/// any was pushed.
pub struct Window<T> {
    items: VecDeque<T>,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
}

impl<T: Held> Window<T> {
    /// An empty window of at most `max_items` (at least one) and `max_bytes` (as
    /// [`message_size`] counts them).
    #[must_use]
    pub fn new(max_items: usize, max_bytes: usize) -> Self {
        Self {
            items: VecDeque::new(),
            bytes: 0,
            max_items: max_items.max(1),
            max_bytes,
        }
    }

    /// Adds the newest message, dropping the oldest ones past the bounds (never the newest).
    pub fn push(&mut self, item: T) {
        self.bytes += message_size(item.message());
        self.items.push_back(item);
        while self.items.len() > self.max_items
            || (self.bytes > self.max_bytes && self.items.len() > 1)
        {
            self.pop_front();
        }
    }

    /// Drops the oldest message; false when there was none.
    pub fn pop_front(&mut self) -> bool {
        match self.items.pop_front() {
            Some(old) => {
                self.bytes = self.bytes.saturating_sub(message_size(old.message()));
                true
            }
            None => false,
        }
    }

    /// Changes the message of `seq` with `change`, when it is held (false when not); its size
    /// is counted again, and the oldest ones go if it grew past the bounds (never the newest).
    pub fn update(&mut self, seq: u64, change: impl FnOnce(&mut T)) -> bool {
        let index = self
            .items
            .partition_point(|item| item.message().seq < Some(seq));
        let Some(item) = self
            .items
            .get_mut(index)
            .filter(|item| item.message().seq == Some(seq))
        else {
            return false;
        };
        let before = message_size(item.message());
        change(item);
        let after = message_size(item.message());
        self.bytes = (self.bytes + after).saturating_sub(before);
        while self.bytes > self.max_bytes && self.items.len() > 1 {
            self.pop_front();
        }
        true
    }

    /// The message of `seq`, when it is held.
    #[must_use]
    pub fn get(&self, seq: u64) -> Option<&T> {
        let index = self
            .items
            .partition_point(|item| item.message().seq < Some(seq));
        self.items
            .get(index)
            .filter(|item| item.message().seq == Some(seq))
    }

    /// Drops the messages below `seq`.
    pub fn drop_below(&mut self, seq: u64) {
        while self
            .items
            .front()
            .is_some_and(|item| item.message().seq < Some(seq))
        {
            self.pop_front();
        }
    }

    /// Everything held, oldest first.
    #[must_use]
    pub fn messages(&self) -> &VecDeque<T> {
        &self.items
    }

    /// Everything held, to change what its keeper added (never the messages' sizes).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.items.iter_mut()
    }

    /// The `seq` of the oldest message held, if any.
    #[must_use]
    pub fn front_seq(&self) -> Option<u64> {
        self.items.front().and_then(|item| item.message().seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, text: &str) -> ChatMessage {
        serde_json::from_value(serde_json::json!({
            "id": format!("m-{seq}"), "username": "ana", "text": text,
            "timestamp": "2026-11-30T10:00:00.000Z", "seq": seq
        }))
        .expect("a message")
    }

    #[test]
    fn the_oldest_go_past_either_bound_but_never_the_newest() {
        let mut window = Window::new(3, usize::MAX);
        for seq in 1..=5 {
            window.push(message(seq, "x"));
        }
        assert_eq!(window.front_seq(), Some(3));
        let mut small = Window::new(10, 300);
        small.push(message(1, "a"));
        small.push(message(2, &"b".repeat(1000)));
        assert_eq!(
            small.messages().len(),
            1,
            "only the newest, though it is too big"
        );
        assert_eq!(small.front_seq(), Some(2));
        assert!(small.update(2, |m| m.text = "c".into()));
        assert!(!small.update(1, |m| m.text = "gone".into()), "not held");
        assert_eq!(small.get(2).map(|m| m.text.as_str()), Some("c"));
        let mut bounded = Window::new(10, 400);
        bounded.push(message(1, "a"));
        bounded.push(message(2, "b"));
        assert!(bounded.update(2, |m| m.text = "d".repeat(250)));
        assert_eq!(
            bounded.front_seq(),
            Some(2),
            "a message that grew pushes the oldest out"
        );
        small.drop_below(3);
        assert!(small.messages().is_empty());
        assert!(!small.pop_front());
    }
}
