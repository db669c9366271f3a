//! (test) The rules the UI applies too, run against one table of cases in JSON
//! (`ui/src/lib/rules.cases.json`), which Vitest runs against the UI's copies: names compared
//! as one, room names and usernames as typed, and one conversation's counts.

use charla_protocol::chat::{normalize_room_name, ReadMarker, RoomKind, RoomState};
use charla_protocol::rules::normalize_username;
use serde::Deserialize;

use crate::counts::{same_name, Counts, Totals};

const CASES: &str = include_str!("../../ui/src/lib/rules.cases.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cases {
    same_name: Vec<(String, String, bool)>,
    room_name: Vec<(String, Option<String>)>,
    username: Vec<(String, Option<String>)>,
    counting: Vec<Counting>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Counting {
    what: String,
    room: Numbers,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Numbers {
    last_seq: u64,
    unread: u64,
    mentions: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Step {
    message: Option<Message>,
    marker: Option<Marker>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    seq: Option<u64>,
    #[serde(default)]
    own: bool,
    #[serde(default)]
    mentions_me: bool,
    #[serde(default)]
    seen: bool,
}

#[derive(Deserialize)]
struct Marker {
    read: u64,
    unread: u64,
    mentions: u64,
    #[serde(default)]
    seen: bool,
}

#[derive(Deserialize, Debug, PartialEq, Eq)]
struct Expect {
    unread: u64,
    mentions: u64,
}

fn cases() -> Cases {
    serde_json::from_str(CASES).expect("rules.cases.json is the table's shape")
}

#[test]
fn names_are_one_by_the_table() {
    let cases = cases().same_name;
    assert!(cases.len() > 10);
    for (a, b, same) in cases {
        assert_eq!(same_name(&a, &b), same, "{a:?} and {b:?}");
        assert_eq!(same_name(&b, &a), same, "{b:?} and {a:?}");
    }
}

#[test]
fn room_names_are_kept_in_the_table_s_form() {
    let cases = cases().room_name;
    assert!(cases.len() > 10);
    for (typed, kept) in cases {
        assert_eq!(normalize_room_name(&typed), kept, "{typed:?}");
    }
}

#[test]
fn usernames_are_shown_or_refused_by_the_table() {
    let cases = cases().username;
    assert!(cases.len() > 10);
    for (typed, shown) in cases {
        assert_eq!(normalize_username(&typed).ok(), shown, "{typed:?}");
    }
}

#[test]
fn one_conversation_counts_by_the_table() {
    const ROOM: &str = "r";
    for case in cases().counting {
        let mut counts = Counts::default();
        counts.set_rooms(&[RoomState {
            room: ROOM.into(),
            kind: RoomKind::Room,
            topic: String::new(),
            members: Vec::new(),
            last_seq: case.room.last_seq,
            read: case.room.last_seq.saturating_sub(case.room.unread),
            unread: case.room.unread,
            mentions: case.room.mentions,
        }]);
        for (i, step) in case.steps.iter().enumerate() {
            if let Some(m) = &step.message {
                // As the notifier passes it: a mention only of others' messages.
                counts.on_message(ROOM, m.seq, m.own, !m.own && m.mentions_me, m.seen);
            }
            if let Some(m) = &step.marker {
                let marker = ReadMarker {
                    room: ROOM.into(),
                    read: m.read,
                    unread: m.unread,
                    mentions: m.mentions,
                };
                counts.read_marker(&marker, m.seen);
            }
            let Totals { unread, mentions } = counts.totals();
            assert_eq!(
                Expect { unread, mentions },
                step.expect,
                "{}: step {}",
                case.what,
                i + 1
            );
        }
    }
}
