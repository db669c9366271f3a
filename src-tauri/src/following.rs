//! The threads the user follows, as far as this app has seen, pure: the server's rule (whoever
//! wrote the root, replied, or was named in a reply follows the thread) applied to the
//! messages that pass, and the server's own list (`threads`) when the window asks for it.
//!
//! A reply only in its thread counts as unread in its room and notifies only when the user
//! follows that thread; the window is told so with each reply (`followed`). Bounded: the
//! newest [`KEPT`] threads are kept, the oldest forgotten first.

use std::collections::{HashSet, VecDeque};

use charla_protocol::chat::{ChatMessage, ThreadList};

use crate::counts::room_of;
use crate::whose::Whose;

/// Threads kept at most.
const KEPT: usize = 10_000;

/// The threads (room, root `seq`) the user follows.
#[derive(Debug, Default)]
pub struct Following {
    threads: HashSet<(String, u64)>,
    /// Oldest first: which to forget first.
    order: VecDeque<(String, u64)>,
}

impl Following {
    /// Whether the user follows the thread of `root` in `room`.
    #[must_use]
    pub fn follows(&self, room: &str, root: u64) -> bool {
        self.threads.contains(&(room.to_owned(), root))
    }

    /// Whether `message` is a reply in a thread the user follows.
    #[must_use]
    pub fn in_followed(&self, message: &ChatMessage) -> bool {
        message
            .thread
            .is_some_and(|root| self.follows(room_of(message.room.as_deref()), root))
    }

    /// Learns from a message (`whose` it is, as decided for the user): a message the user wrote
    /// is a thread it follows once answered; a reply it wrote or that names it makes it follow
    /// that thread.
    pub fn learn(&mut self, message: &ChatMessage, whose: Whose) {
        let room = room_of(message.room.as_deref());
        match (message.thread, message.seq) {
            (Some(root), _) if whose.own || whose.mentions_me => self.follow(room, root),
            (None, Some(seq)) if whose.own => self.follow(room, seq),
            _ => {}
        }
    }

    /// Learns the server's list of the threads the user follows.
    pub fn learn_list(&mut self, list: &ThreadList) {
        for thread in &list.threads {
            if let Some(root) = thread.root.seq {
                self.follow(&thread.room, root);
            }
        }
    }

    /// Forgets every thread of `room` (the user left it), or all (`None`: a new session).
    pub fn forget(&mut self, room: Option<&str>) {
        self.order
            .retain(|(r, _)| room.is_some_and(|room| room != r));
        self.threads
            .retain(|(r, _)| room.is_some_and(|room| room != r));
    }

    fn follow(&mut self, room: &str, root: u64) {
        let key = (room.to_owned(), root);
        if self.threads.insert(key.clone()) {
            self.order.push_back(key);
            if self.order.len() > KEPT {
                if let Some(oldest) = self.order.pop_front() {
                    self.threads.remove(&oldest);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charla_protocol::chat::{FollowedThread, Living};

    fn msg(seq: u64, thread: Option<u64>, room: Option<&str>) -> ChatMessage {
        ChatMessage {
            id: seq.to_string(),
            username: "bo".into(),
            text: "hi".into(),
            timestamp: charla_protocol::timestamp::now_millis(),
            seq: Some(seq),
            client_id: None,
            guest: false,
            room: room.map(str::to_owned),
            mentions: Vec::new(),
            thread,
            also_in_room: false,
            living: Living::default(),
        }
    }

    const OWN: Whose = Whose {
        own: true,
        mentions_me: false,
        followed: false,
    };
    const NAMED: Whose = Whose {
        own: false,
        mentions_me: true,
        followed: false,
    };

    #[test]
    fn the_user_follows_what_it_wrote_answered_or_was_named_in() {
        let mut following = Following::default();
        following.learn(&msg(1, None, None), OWN);
        following.learn(&msg(2, None, None), Whose::default());
        following.learn(&msg(5, Some(3), Some("ops")), OWN);
        following.learn(&msg(6, Some(4), Some("ops")), NAMED);
        following.learn(&msg(7, Some(8), Some("ops")), Whose::default());
        assert!(following.follows("general", 1), "its own message");
        assert!(!following.follows("general", 2), "another's");
        assert!(following.follows("ops", 3), "a thread it answered");
        assert!(following.follows("ops", 4), "a thread that named it");
        assert!(!following.follows("ops", 8), "a reply of others");
        assert!(following.in_followed(&msg(9, Some(1), None)));
        assert!(!following.in_followed(&msg(9, None, None)), "not a reply");

        following.learn_list(&ThreadList {
            ok: true,
            threads: vec![FollowedThread {
                room: "dev".into(),
                root: msg(12, None, Some("dev")),
                read: 0,
                unread: 2,
            }],
        });
        assert!(following.follows("dev", 12), "the server's list");
        following.forget(Some("ops"));
        assert!(!following.follows("ops", 3) && following.follows("dev", 12));
        following.forget(None);
        assert!(!following.follows("dev", 12), "a new session");
    }
}
