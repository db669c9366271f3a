//! How `charla-cli` shows what the client reports: one JSON object per event with `--json`;
//! otherwise a line for people, the chat on stdout and the connection's state on stderr. Each
//! message line carries its `#seq`, what `/edit`, `/react`, `/reply` and the like name, and a
//! reply its root's (`↳#12`).
//!
//! Apart from `main.rs` so that the loop between stdin and the client reads on one page, and
//! each kind of event's wording is found by its name.

use std::collections::HashSet;

use charla_client::{ClientEvent, ConnectionStatus, OutboxChange, OutboxEntry, OutboxState};
use charla_protocol::chat::{ChatMessage, RoomInfo, RoomState, TopicChange};

use crate::changes::{label, Shown};

/// Prints what the client reports, remembering what it needs to word the next events.
pub struct Printer {
    json: bool,
    /// The refused messages and changes printed already: each is reported once, not on every
    /// later outbox change.
    reported: HashSet<String>,
    /// What was shown of the newest messages, to say what a change changed.
    shown: Shown,
}

impl Printer {
    /// A printer for people, or of JSON lines (`json`).
    pub fn new(json: bool) -> Self {
        Self {
            json,
            reported: HashSet::new(),
            shown: Shown::default(),
        }
    }

    /// Prints an event.
    pub fn print(&mut self, event: &ClientEvent) {
        if self.json {
            print_json(event);
            return;
        }
        match event {
            ClientEvent::Message(m) | ClientEvent::ThreadMessage(m) => self.message(m),
            ClientEvent::Joined {
                history,
                thread_replies,
                ..
            } => {
                let mut missed: Vec<&ChatMessage> = history.iter().chain(thread_replies).collect();
                missed.sort_by_key(|m| m.seq);
                for m in missed {
                    self.message(m);
                }
            }
            ClientEvent::MessageUpdated(m) => {
                for line in self.shown.lines(m) {
                    println!("{line}");
                }
            }
            ClientEvent::Outbox { entries, changes } => {
                print_refused(entries, changes, &mut self.reported);
            }
            other => print_other(other),
        }
    }

    /// A message line: `[12:03] #ops #12 ana: text`; a reply in a thread names its root
    /// (`[12:03] #ops #14 ↳#12 bo: looks good`).
    fn message(&mut self, m: &ChatMessage) {
        self.shown.note(m);
        let thread = m
            .thread
            .map_or_else(String::new, |root| format!("↳#{root} "));
        println!(
            "[{}] {}{}{thread}{}: {}",
            time(m),
            place(m.room.as_ref()),
            number(m),
            author(m),
            text_of(m)
        );
    }
}

/// The events whose line needs nothing remembered.
fn print_other(event: &ClientEvent) {
    match event {
        ClientEvent::Rooms { rooms } => println!("* your rooms: {}", your_rooms(rooms)),
        ClientEvent::RoomUpdated(info) => println!("{}", room_line(info)),
        ClientEvent::RoomTopic(change) => println!("{}", topic_line(change)),
        ClientEvent::MemberJoined(change) => {
            println!("* {} joined #{}", change.username, change.room);
        }
        ClientEvent::MemberLeft(change) => {
            println!("* {} left #{}", change.username, change.room);
        }
        ClientEvent::ReadMarker(marker) => {
            println!("* #{} read up to {}", marker.room, marker.read);
        }
        // Every join is followed by the presence snapshot, with who is a guest.
        ClientEvent::Users { users, guests } => println!("* here: {}", here(users, guests)),
        ClientEvent::Gap {
            room,
            from,
            to,
            kept,
        } => println!("{}", gap_line(room.as_ref(), *from, *to, *kept)),
        ClientEvent::HistoryReset => println!("* the server's history started over"),
        ClientEvent::UserJoined { username, guest } => {
            println!(
                "* {username}{} joined",
                if *guest { " (guest)" } else { "" }
            );
        }
        ClientEvent::UserLeft { username } => println!("* {username} left"),
        ClientEvent::Status(status) => print_status(status),
        ClientEvent::Error(error) => eprintln!("* error: {}", error.message),
        // Entering a room: the command that entered it says so. The rest is the printer's.
        ClientEvent::Typing { .. }
        | ClientEvent::RoomEntered(_)
        | ClientEvent::Message(_)
        | ClientEvent::ThreadMessage(_)
        | ClientEvent::Joined { .. }
        | ClientEvent::MessageUpdated(_)
        | ClientEvent::Outbox { .. } => {}
    }
}

/// `--json`: the event as the desktop app's UI receives it, on one line.
fn print_json(event: &ClientEvent) {
    match serde_json::to_string(event) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("charla-cli: cannot print an event: {e}"),
    }
}

/// The connection's changes that a person needs to know of, on stderr.
fn print_status(status: &ConnectionStatus) {
    match status {
        ConnectionStatus::Reconnecting { delay, reason, .. } => {
            eprintln!(
                "* offline ({reason}); retrying in {:.1} s",
                delay.as_secs_f64()
            );
        }
        ConnectionStatus::Disconnected { reason, .. } => eprintln!("* disconnected: {reason}"),
        ConnectionStatus::Connected { compat: true } => {
            eprintln!("* connected (tutorial server: no acks, no history)");
        }
        ConnectionStatus::Connecting | ConnectionStatus::Connected { compat: false } => {}
    }
}

/// The messages and changes refused for good that were not printed yet, on stderr.
fn print_refused(
    entries: &[OutboxEntry],
    changes: &[OutboxChange],
    reported: &mut HashSet<String>,
) {
    for entry in entries {
        if let OutboxState::Failed { message, .. } = &entry.state {
            if reported.insert(entry.client_id.clone()) {
                eprintln!("* not sent ({message}): {}", entry.text);
            }
        }
    }
    for change in changes {
        if let OutboxState::Failed { message, .. } = &change.state {
            if reported.insert(change.client_id.clone()) {
                eprintln!("* not done ({message}): {}", label(change));
            }
        }
    }
}

/// A message's time of day, in the local time zone.
fn time(m: &ChatMessage) -> String {
    m.timestamp
        .with_timezone(&chrono::Local)
        .format("%H:%M")
        .to_string()
}

/// A message's number in its room, as a prefix (`#12 `; nothing on the tutorial's server).
fn number(m: &ChatMessage) -> String {
    m.seq.map_or_else(String::new, |seq| format!("#{seq} "))
}

/// A message's text, marked when it was edited, or that it was deleted.
pub fn text_of(m: &ChatMessage) -> String {
    if m.living.deleted {
        "(deleted)".to_owned()
    } else if m.living.edited_at.is_some() {
        format!("{} (edited)", m.text)
    } else {
        m.text.clone()
    }
}

/// Where a message was said, as a prefix (nothing for `general`).
fn place(room: Option<&String>) -> String {
    room.map_or_else(String::new, |room| format!("#{room} "))
}

/// A message's author, marked when nobody owns the name.
fn author(m: &ChatMessage) -> String {
    if m.guest {
        format!("{} (guest)", m.username)
    } else {
        m.username.clone()
    }
}

/// This name's rooms, each with what is unread in it.
fn your_rooms(rooms: &[RoomState]) -> String {
    let names: Vec<String> = rooms
        .iter()
        .map(|r| match (r.unread, r.mentions) {
            (0, _) => r.room.clone(),
            (unread, 0) => format!("{} ({unread} unread)", r.room),
            (unread, mentions) => {
                format!("{} ({unread} unread, {mentions} mentions)", r.room)
            }
        })
        .collect();
    names.join(", ")
}

/// A room made or joined elsewhere: its name, topic and members.
fn room_line(info: &RoomInfo) -> String {
    if info.topic.is_empty() {
        format!("* #{}: {}", info.room, info.members.join(", "))
    } else {
        format!(
            "* #{} ({}): {}",
            info.room,
            info.topic,
            info.members.join(", ")
        )
    }
}

/// A topic set or cleared, and by whom when the server says.
fn topic_line(change: &TopicChange) -> String {
    let by = change
        .username
        .as_ref()
        .map(|name| format!("{name} set "))
        .unwrap_or_default();
    if change.topic.is_empty() {
        format!("* #{}: {by}no topic", change.room)
    } else {
        format!("* #{}: {by}the topic: {}", change.room, change.topic)
    }
}

/// Who is here, guests marked.
fn here(users: &[String], guests: &[String]) -> String {
    let here: Vec<String> = users
        .iter()
        .map(|u| {
            if guests.contains(u) {
                format!("{u} (guest)")
            } else {
                u.clone()
            }
        })
        .collect();
    here.join(", ")
}

/// Messages that will not be shown: not loaded (still on the server) or gone from it.
fn gap_line(room: Option<&String>, from: u64, to: u64, kept: bool) -> String {
    let count = to - from + 1;
    let room = place(room);
    if kept {
        format!("* {room}{count} missed message(s) not loaded (seq {from} to {to})")
    } else {
        format!("* {room}{count} older message(s) no longer available (seq {from} to {to})")
    }
}
