//! Hearing what other nodes store: a connection of its own that `LISTEN`s on
//! [`super::MESSAGES_CHANNEL`] (`<room>:<seq>`), [`ROOMS_CHANNEL`] (`<room>`: made, topic or
//! members changed), [`MARKERS_CHANNEL`] (`<room>:<seq>:<name key>`, a read marker moved) and
//! [`PRESENCE_CHANNEL`] (names taken or let go on some node) and [`TYPING_CHANNEL`] (someone
//! on another node typing)
//! and passes on each announcement, plus a tick
//! every second and a word after each reconnection, so the chat can read from the table
//! whatever it has not delivered yet. A lost or late notification costs nothing but that
//! second: the chat reads by `seq`, not by notification.
//!
//! The thread reconnects by itself (PostgreSQL restarted, the network cut), waiting a little
//! longer each time up to [`MAX_BACKOFF`]; it ends when the chat stops listening.

use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::Config;
use tokio::sync::mpsc::Sender;

use std::sync::Arc;

use super::{CHANGES_CHANNEL, MESSAGES_CHANNEL};
use crate::store::{Heard, RoomId};

/// Where the schema's triggers announce a room made or changed (`migrations/pg/0002_…`).
const ROOMS_CHANNEL: &str = "charla_rooms";
/// Where they announce a read marker moving.
const MARKERS_CHANNEL: &str = "charla_markers";
/// Where they announce names taken or let go on any node.
const PRESENCE_CHANNEL: &str = "charla_presence";
/// Where a node announces typing: `<node>:<room>:<1|0>:<name>` (its own are not passed on).
pub(super) const TYPING_CHANNEL: &str = "charla_typing";

/// The announcement that `name` on `node` started or stopped typing in `room`.
pub(super) fn typing_payload(node: &str, room: RoomId, name: &str, typing: bool) -> String {
    format!("{node}:{room}:{}:{name}", u8::from(typing))
}

/// How often the chat is told to look anyway.
const TICK: Duration = Duration::from_secs(1);
/// Longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Starts the listening thread; what it hears goes to `heard`.
///
/// # Errors
/// When the thread cannot be started.
pub fn start(config: Config, node: Arc<str>, heard: Sender<Heard>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("charla-pg-listen".into())
        .spawn(move || listen(&config, &node, &heard))
        .map(|_| ())
}

fn listen(config: &Config, node: &str, heard: &Sender<Heard>) {
    let mut backoff = Duration::from_millis(100);
    let mut cut_logged = false;
    loop {
        if heard.is_closed() {
            return;
        }
        let mut client = match config.connect(postgres::NoTls) {
            Ok(client) => client,
            Err(e) => {
                if !cut_logged {
                    tracing::warn!(error = %e, "cannot listen to PostgreSQL; retrying");
                    cut_logged = true;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if let Err(e) = client.batch_execute(&format!(
            "LISTEN {MESSAGES_CHANNEL}; LISTEN {ROOMS_CHANNEL}; LISTEN {MARKERS_CHANNEL}; \
             LISTEN {PRESENCE_CHANNEL}; LISTEN {TYPING_CHANNEL}; LISTEN {CHANGES_CHANNEL}"
        )) {
            tracing::warn!(error = %e, "LISTEN failed; reconnecting");
            std::thread::sleep(backoff);
            continue;
        }
        if std::mem::take(&mut cut_logged) {
            tracing::info!("listening to PostgreSQL again; catching up");
        }
        backoff = Duration::from_millis(100);
        // Whatever was stored while nobody listened.
        if heard.blocking_send(Heard::Look).is_err() {
            return;
        }
        let mut notifications = client.notifications();
        let mut looked = Instant::now();
        'listening: loop {
            let mut waiting = notifications.timeout_iter(TICK);
            loop {
                let next = waiting.next();
                // A second's look even under a stream of announcements: a room whose own
                // announcement was lost is read within a second all the same.
                if looked.elapsed() >= TICK {
                    looked = Instant::now();
                    if heard.blocking_send(Heard::Look).is_err() {
                        return;
                    }
                }
                match next {
                    Ok(Some(note)) => {
                        if let Some(stored) = parse(node, note.channel(), note.payload()) {
                            if heard.blocking_send(stored).is_err() {
                                return;
                            }
                        }
                    }
                    // A quiet second: wait again.
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the PostgreSQL listener's connection broke; reconnecting");
                        cut_logged = true;
                        break 'listening;
                    }
                }
            }
        }
    }
}

/// An announcement on `channel`; `None` for one this server does not read, and for this
/// node's (`node`) own typing.
fn parse(node: &str, channel: &str, payload: &str) -> Option<Heard> {
    match channel {
        MESSAGES_CHANNEL => {
            let (room, seq) = payload.split_once(':')?;
            Some(Heard::Stored {
                room: room.parse().ok()?,
                seq: seq.parse().ok()?,
            })
        }
        CHANGES_CHANNEL => {
            let (room, rev) = payload.split_once(':')?;
            Some(Heard::Changed {
                room: room.parse().ok()?,
                rev: rev.parse().ok()?,
            })
        }
        ROOMS_CHANNEL => Some(Heard::Room(payload.parse().ok()?)),
        PRESENCE_CHANNEL => Some(Heard::Presence),
        TYPING_CHANNEL => {
            let mut parts = payload.splitn(4, ':');
            let (from, room, typing, name) =
                (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            if from == node {
                return None;
            }
            Some(Heard::Typing {
                room: room.parse().ok()?,
                name: name.to_owned(),
                typing: match typing {
                    "1" => true,
                    "0" => false,
                    _ => return None,
                },
            })
        }
        MARKERS_CHANNEL => {
            let (room, rest) = payload.split_once(':')?;
            let (seq, key) = rest.split_once(':')?;
            Some(Heard::Marker {
                room: room.parse().ok()?,
                seq: seq.parse().ok()?,
                key: key.to_owned(),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What this node (`me`) makes of an announcement.
    fn heard(channel: &str, payload: &str) -> Option<Heard> {
        parse("me", channel, payload)
    }

    #[test]
    fn announcements_are_read_and_others_ignored() {
        let messages = |payload| heard(MESSAGES_CHANNEL, payload);
        assert_eq!(messages("3:41"), Some(Heard::Stored { room: 3, seq: 41 }));
        assert_eq!(messages("3"), None);
        assert_eq!(messages("x:1"), None);
        assert_eq!(messages("1:-2"), None);
        assert_eq!(heard(ROOMS_CHANNEL, "7"), Some(Heard::Room(7)));
        assert_eq!(
            heard(CHANGES_CHANNEL, "7:3"),
            Some(Heard::Changed { room: 7, rev: 3 })
        );
        assert_eq!(heard(CHANGES_CHANNEL, "7"), None);
        assert_eq!(heard(ROOMS_CHANNEL, "7:1"), None);
        assert_eq!(
            heard(MARKERS_CHANNEL, "7:12:ana:b"),
            Some(Heard::Marker {
                room: 7,
                seq: 12,
                key: "ana:b".into()
            })
        );
        assert_eq!(heard(MARKERS_CHANNEL, "7:12"), None);
        assert_eq!(heard(PRESENCE_CHANNEL, ""), Some(Heard::Presence));
        assert_eq!(heard("other", "3:41"), None);
        assert_eq!(
            heard(TYPING_CHANNEL, &typing_payload("them", 4, "ana:b", true)),
            Some(Heard::Typing {
                room: 4,
                name: "ana:b".into(),
                typing: true
            })
        );
        assert_eq!(
            heard(TYPING_CHANNEL, &typing_payload("me", 4, "ana", true)),
            None
        );
        assert_eq!(heard(TYPING_CHANNEL, "them:4:2:ana"), None);
    }
}
