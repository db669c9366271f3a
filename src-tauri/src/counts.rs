//! Unread messages and mentions per conversation, for the tray, the window title and the
//! launcher badge. Pure (no Tauri), unit-tested; the window's sidebar counts by the same rule
//! (`ui/src/lib/conversations.ts`), both held to `ui/src/lib/rules.cases.json` (`cases`).
//!
//! The server's numbers come first (each join's room states, a room entered, every
//! `read-marker`); between
//! them a message counts when it is newer than the newest `seq` known for its room, is not the
//! user's own, and its conversation is not the one in front of the user. A muted room counts
//! only its mentions in the totals.

use std::collections::{HashMap, HashSet};

use charla_protocol::chat::{ReadMarker, RoomInfo, RoomState, GENERAL_ROOM};
use charla_protocol::rules::username_key;

/// Whether two names are one (the server's rule: compatibility caseless).
#[must_use]
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || username_key(a) == username_key(b)
}

/// What the tray shows: unread messages (muted rooms' mentions only) and, of them, mentions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Unread messages.
    pub unread: u64,
    /// Unread messages that mention the user.
    pub mentions: u64,
}

impl Totals {
    /// "3 mentions, 12 unread", "1 unread", or nothing when all is read.
    #[must_use]
    pub fn describe(&self) -> Option<String> {
        match (self.unread, self.mentions) {
            (0, 0) => None,
            (unread, 0) => Some(format!("{unread} unread")),
            (unread, 1) => Some(format!("1 mention, {unread} unread")),
            (unread, mentions) => Some(format!("{mentions} mentions, {unread} unread")),
        }
    }
}

/// How a message was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// New and unread: it may be announced.
    Unread,
    /// Already known (a join's replay, a message the server's numbers include), the user's
    /// own, or seen as it arrived: nothing to announce.
    Not,
}

#[derive(Debug, Clone, Copy, Default)]
struct RoomCount {
    last_seq: u64,
    unread: u64,
    mentions: u64,
}

/// Counts per conversation.
#[derive(Debug, Default)]
pub struct Counts {
    rooms: HashMap<String, RoomCount>,
    muted: HashSet<String>,
}

impl Counts {
    /// A join's room states: the server's counts replace ours; rooms not listed are gone.
    pub fn set_rooms(&mut self, rooms: &[RoomState]) {
        self.rooms = rooms
            .iter()
            .map(|r| {
                let count = RoomCount {
                    last_seq: r.last_seq,
                    unread: r.unread,
                    mentions: r.mentions,
                };
                (r.room.clone(), count)
            })
            .collect();
    }

    /// Joined: `general` is known from its replayed history on (a guest gets no room states;
    /// an owned name's follow and replace this).
    pub fn joined(&mut self, general_last_seq: u64) {
        let count = self.rooms.entry(GENERAL_ROOM.to_owned()).or_default();
        count.last_seq = count.last_seq.max(general_last_seq);
    }

    /// This device entered a room: the server's numbers for it.
    pub fn room_entered(&mut self, room: &RoomState) {
        let count = RoomCount {
            last_seq: room.last_seq,
            unread: room.unread,
            mentions: room.mentions,
        };
        self.rooms.insert(room.room.clone(), count);
    }

    /// A room was made, joined, left or renamed its topic: a room new to us starts with
    /// nothing unread (what it held is history); one `me` is no longer in is forgotten
    /// (`general` never: everyone is in it, and the server lists no members for it).
    pub fn room_updated(&mut self, info: &RoomInfo, me: &str) {
        if info.room != GENERAL_ROOM && !info.members.iter().any(|m| same_name(m, me)) {
            self.forget(&info.room);
            return;
        }
        self.rooms
            .entry(info.room.clone())
            .or_insert_with(|| RoomCount {
                last_seq: info.last_seq,
                ..RoomCount::default()
            });
    }

    /// The server's counts after a read marker moved (on any device of the name), for a room
    /// we know. `seen`: the room is in front of the user, so it stays read (the marker may be
    /// the echo of one sent a moment ago, before the newest messages).
    pub fn read_marker(&mut self, marker: &ReadMarker, seen: bool) {
        let Some(count) = self.rooms.get_mut(&marker.room) else {
            return;
        };
        count.last_seq = count.last_seq.max(marker.read);
        if seen {
            count.unread = 0;
            count.mentions = 0;
        } else {
            count.unread = marker.unread;
            count.mentions = marker.mentions;
        }
    }

    /// The user left `room` (here or on another device).
    pub fn forget(&mut self, room: &str) {
        if room != GENERAL_ROOM {
            self.rooms.remove(room);
        }
    }

    /// A new session (another name or server): nothing known.
    pub fn reset(&mut self) {
        self.rooms.clear();
    }

    /// The server's history started over: every `seq` known means nothing now.
    pub fn history_reset(&mut self) {
        for count in self.rooms.values_mut() {
            count.last_seq = 0;
        }
    }

    /// Which rooms are muted.
    pub fn set_muted(&mut self, muted: &[String]) {
        self.muted = muted.iter().cloned().collect();
    }

    /// Whether `room` is muted.
    #[must_use]
    pub fn is_muted(&self, room: &str) -> bool {
        self.muted.contains(room)
    }

    /// Takes note of a message in `room` (`seq` absent from the tutorial's server, whose
    /// messages are all new). `own`: the user wrote it (it reads the room). `seen`: its
    /// conversation is in front of the user.
    pub fn on_message(
        &mut self,
        room: &str,
        seq: Option<u64>,
        own: bool,
        mention: bool,
        seen: bool,
    ) -> Counted {
        let known = self.rooms.contains_key(room);
        let count = self.rooms.entry(room.to_owned()).or_default();
        if let Some(seq) = seq {
            let new = known && seq > count.last_seq;
            count.last_seq = count.last_seq.max(seq);
            if !new {
                // A room we had no numbers for (entered a moment ago): what it replays is
                // its history, read by definition.
                return Counted::Not;
            }
        }
        if own || seen {
            count.unread = 0;
            count.mentions = 0;
            return Counted::Not;
        }
        count.unread += 1;
        count.mentions += u64::from(mention);
        Counted::Unread
    }

    /// The conversation is read here (in front of the user; the marker follows).
    pub fn clear(&mut self, room: &str) {
        if let Some(count) = self.rooms.get_mut(room) {
            count.unread = 0;
            count.mentions = 0;
        }
    }

    /// The totals, muted rooms counting their mentions only.
    #[must_use]
    pub fn totals(&self) -> Totals {
        self.rooms
            .iter()
            .fold(Totals::default(), |mut totals, (room, count)| {
                totals.unread += if self.muted.contains(room) {
                    count.mentions
                } else {
                    count.unread
                };
                totals.mentions += count.mentions;
                totals
            })
    }
}

/// The room a message belongs to (`general` when it names none).
#[must_use]
pub fn room_of(room: Option<&str>) -> &str {
    room.unwrap_or(GENERAL_ROOM)
}

#[cfg(test)]
mod tests {
    use super::*;
    use charla_protocol::chat::RoomKind;

    fn state(room: &str, last_seq: u64, unread: u64, mentions: u64) -> RoomState {
        RoomState {
            room: room.into(),
            kind: RoomKind::Room,
            topic: String::new(),
            members: vec!["ana".into()],
            last_seq,
            read: last_seq - unread,
            unread,
            mentions,
        }
    }

    #[test]
    fn the_server_s_numbers_then_new_messages_of_others() {
        let mut c = Counts::default();
        c.set_rooms(&[state("general", 10, 2, 0), state("ops", 5, 1, 1)]);
        assert_eq!(
            c.totals(),
            Totals {
                unread: 3,
                mentions: 1
            }
        );
        // A join's replay of what the numbers include counts nothing.
        assert_eq!(
            c.on_message("ops", Some(5), false, true, false),
            Counted::Not
        );
        assert_eq!(
            c.on_message("ops", Some(6), false, true, false),
            Counted::Unread
        );
        assert_eq!(
            c.on_message("general", Some(11), false, false, false),
            Counted::Unread
        );
        assert_eq!(
            c.totals(),
            Totals {
                unread: 5,
                mentions: 2
            }
        );
        assert_eq!(
            c.on_message("general", Some(12), false, false, true),
            Counted::Not
        );
        assert_eq!(
            c.totals(),
            Totals {
                unread: 2,
                mentions: 2
            },
            "seen: general read"
        );
        assert_eq!(
            c.on_message("ops", Some(7), true, false, false),
            Counted::Not
        );
        assert_eq!(c.totals(), Totals::default(), "writing reads the room");
        assert_eq!(
            Totals {
                unread: 12,
                mentions: 3
            }
            .describe()
            .as_deref(),
            Some("3 mentions, 12 unread")
        );
        assert_eq!(
            Totals {
                unread: 4,
                mentions: 1
            }
            .describe()
            .as_deref(),
            Some("1 mention, 4 unread")
        );
        assert_eq!(Totals::default().describe(), None);
    }

    #[test]
    fn read_markers_from_any_device_set_the_counts() {
        let mut c = Counts::default();
        c.set_rooms(&[state("ops", 5, 3, 1)]);
        c.read_marker(
            &ReadMarker {
                room: "ops".into(),
                read: 5,
                unread: 0,
                mentions: 0,
            },
            false,
        );
        assert_eq!(c.totals(), Totals::default());
        assert_eq!(
            c.on_message("ops", Some(5), false, false, false),
            Counted::Not
        );
        let echo = |read, unread| ReadMarker {
            room: "ops".into(),
            read,
            unread,
            mentions: 0,
        };
        c.on_message("ops", Some(6), false, false, false);
        c.read_marker(&echo(5, 1), true);
        assert_eq!(
            c.totals(),
            Totals::default(),
            "in front: the echo keeps it read"
        );
        c.read_marker(&echo(5, 1), false);
        assert_eq!(c.totals().unread, 1);
        c.read_marker(
            &ReadMarker {
                room: "gone".into(),
                ..echo(1, 4)
            },
            false,
        );
        assert_eq!(c.totals().unread, 1, "a room we do not know is not counted");
    }

    #[test]
    fn general_stays_whatever_its_updates_list() {
        let mut c = Counts::default();
        c.set_rooms(&[state("general", 3, 2, 0)]);
        let general = RoomInfo {
            room: "general".into(),
            kind: RoomKind::Room,
            topic: "hello".into(),
            members: Vec::new(),
            last_seq: 3,
        };
        c.room_updated(&general, "ana");
        c.forget("general");
        assert_eq!(
            c.totals().unread,
            2,
            "a topic change of general forgets nothing"
        );
        assert!(same_name("ÁLICE", "álice") && same_name("Straße", "STRASSE"));
        assert!(!same_name("ana", "anna"));
    }

    #[test]
    fn a_room_entered_now_starts_read_and_a_left_one_is_forgotten() {
        let mut c = Counts::default();
        c.set_rooms(&[state("general", 1, 0, 0)]);
        // Entering a room: the client reports it, then what it replays.
        c.room_entered(&state("ops", 3, 0, 0));
        assert_eq!(
            c.on_message("dev", Some(9), false, false, false),
            Counted::Not,
            "a room not reported yet"
        );
        for seq in 1..=3 {
            assert_eq!(
                c.on_message("ops", Some(seq), false, false, false),
                Counted::Not,
                "replayed history"
            );
        }
        assert_eq!(
            c.on_message("ops", Some(4), false, false, false),
            Counted::Unread
        );
        let info = |members: Vec<String>| RoomInfo {
            room: "dm:1".into(),
            kind: RoomKind::Dm,
            topic: String::new(),
            members,
            last_seq: 0,
        };
        c.room_updated(&info(vec!["Ána".into(), "bo".into()]), "ána");
        assert_eq!(
            c.on_message("dm:1", Some(1), false, false, false),
            Counted::Unread,
            "a DM opened by the other"
        );
        assert_eq!(c.totals().unread, 2);
        c.room_updated(&info(vec!["bo".into()]), "ana");
        assert_eq!(c.totals().unread, 1, "left");
    }

    #[test]
    fn muted_rooms_count_their_mentions_only() {
        let mut c = Counts::default();
        c.set_rooms(&[state("noisy", 1, 0, 0), state("general", 1, 0, 0)]);
        c.set_muted(&["noisy".into()]);
        for seq in 2..=6 {
            c.on_message("noisy", Some(seq), false, seq == 6, false);
        }
        c.on_message("general", Some(2), false, false, false);
        assert_eq!(
            c.totals(),
            Totals {
                unread: 2,
                mentions: 1
            }
        );
        assert!(c.is_muted("noisy") && !c.is_muted("general"));
    }

    #[test]
    fn a_guest_s_general_counts_from_its_join() {
        let mut c = Counts::default();
        c.joined(4);
        assert_eq!(
            c.on_message("general", Some(4), false, false, false),
            Counted::Not
        );
        assert_eq!(
            c.on_message("general", Some(5), false, false, false),
            Counted::Unread
        );
    }

    #[test]
    fn the_tutorial_s_messages_have_no_seq_and_are_all_new() {
        let mut c = Counts::default();
        assert_eq!(
            c.on_message("general", None, false, false, false),
            Counted::Unread
        );
        assert_eq!(
            c.on_message("general", None, false, false, false),
            Counted::Unread
        );
        c.clear("general");
        assert_eq!(c.totals(), Totals::default());
    }
}
