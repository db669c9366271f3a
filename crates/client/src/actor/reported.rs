//! The highest `rev` reported of each message, so that a change is reported once, and only when
//! it is newer than what the owner was told: a live `message-updated`, a replay's changes and
//! a `changes` page overlap around a reconnect, and a message reported whole already carries
//! its changes.
//!
//! Bounded: past [`CAPACITY`] messages the half reported longest ago is forgotten. A change to
//! a forgotten message is reported again, which costs nothing wrong (the owner keeps the copy
//! with the higher `rev`), where remembering every message would grow without end.

use std::collections::HashMap;

/// Messages remembered at most.
const CAPACITY: usize = 10_000;

/// The `rev` reported of each message, by room and `seq`.
#[derive(Debug, Default)]
pub(crate) struct ReportedRevs {
    /// (room, seq) → (rev, when it was last raised, by `clock`).
    revs: HashMap<(String, u64), (u64, u64)>,
    clock: u64,
}

impl ReportedRevs {
    /// Whether `rev` of message `seq` of `room` is newer than any reported; records it if so.
    pub(crate) fn newer(&mut self, room: &str, seq: u64, rev: u64) -> bool {
        self.clock += 1;
        let key = (room.to_owned(), seq);
        match self.revs.get_mut(&key) {
            Some((known, _)) if *known >= rev => return false,
            Some(entry) => *entry = (rev, self.clock),
            None => {
                self.revs.insert(key, (rev, self.clock));
                if self.revs.len() > CAPACITY {
                    self.forget_older_half();
                }
            }
        }
        true
    }

    /// Forgets a room's messages (this name left it).
    pub(crate) fn forget_room(&mut self, room: &str) {
        self.revs.retain(|(r, _), _| r != room);
    }

    /// Forgets everything (the server's history started over: its `seq`s name other messages).
    pub(crate) fn clear(&mut self) {
        self.revs.clear();
    }

    fn forget_older_half(&mut self) {
        let mut stamps: Vec<u64> = self.revs.values().map(|(_, when)| *when).collect();
        let middle = stamps.len() / 2;
        let (_, cut, _) = stamps.select_nth_unstable(middle);
        let cut = *cut;
        self.revs.retain(|_, (_, when)| *when >= cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rev_is_reported_once_and_only_when_newer() {
        let mut reported = ReportedRevs::default();
        assert!(reported.newer("general", 3, 5));
        assert!(!reported.newer("general", 3, 5), "the same change again");
        assert!(!reported.newer("general", 3, 4), "an older state");
        assert!(reported.newer("ops", 3, 4), "another room's message 3");
        assert!(reported.newer("general", 3, 6));
        reported.forget_room("ops");
        assert!(reported.newer("ops", 3, 4), "forgotten with its room");
        reported.clear();
        assert!(reported.newer("general", 3, 6));
    }

    #[test]
    fn memory_is_bounded_and_keeps_the_newest() {
        let mut reported = ReportedRevs::default();
        let total = u64::try_from(CAPACITY).expect("fits") * 3;
        for seq in 1..=total {
            assert!(reported.newer("general", seq, seq));
        }
        assert!(reported.revs.len() <= CAPACITY, "{}", reported.revs.len());
        assert!(
            !reported.newer("general", total, total),
            "the newest remembered"
        );
    }
}
