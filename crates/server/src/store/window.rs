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
        small.drop_below(3);
        assert!(small.messages().is_empty());
        assert!(!small.pop_front());
    }
}
