//! When to ask for the user's attention: which messages notify (preferences, muted rooms,
//! mentions, DMs), and coalescing a burst in one conversation into one notification. Pure logic
//! (time is passed in), unit-tested; the counting is `counts`'.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use charla_client::settings::Preferences;
use charla_protocol::chat::{ChatMessage, GENERAL_ROOM};

use crate::counts::same_name;

/// Longest notification body, in characters.
const BODY_CHARS: usize = 140;
/// Messages arriving within this window become one notification.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(1500);

/// One desktop notification: plain text, never markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The conversation it opens when clicked.
    pub room: String,
    /// The author, or a summary of the burst.
    pub title: String,
    /// The text, shortened, with markup characters neutralised.
    pub body: String,
}

/// What is known of a message's conversation when it arrives.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Its room (`general`, a room, `dm:<n>`).
    pub room: &'a str,
    /// For a DM: the other person.
    pub dm_with: Option<&'a str>,
    /// The user muted this room.
    pub muted: bool,
    /// It mentions the user.
    pub mention: bool,
}

/// Most authors a burst remembers (its title says "from N+ people" beyond them).
const MAX_AUTHORS: usize = 10;

/// A burst in one conversation: how many, from whom, the last one.
#[derive(Debug)]
struct Batch {
    started: Instant,
    count: usize,
    /// The first authors, `MAX_AUTHORS` at most.
    authors: Vec<String>,
    /// Whether more authors wrote than `authors` holds.
    more_authors: bool,
    last_author: String,
    last_text: String,
    dm_with: Option<String>,
}

impl Batch {
    fn add(&mut self, message: &ChatMessage) {
        self.count += 1;
        if !self.authors.iter().any(|a| a == &message.username) {
            if self.authors.len() < MAX_AUTHORS {
                self.authors.push(message.username.clone());
            } else {
                self.more_authors = true;
            }
        }
        message.username.clone_into(&mut self.last_author);
        message.text.clone_into(&mut self.last_text);
    }
}

/// Notifications waiting to be shown, one batch per conversation.
#[derive(Debug, Default)]
pub struct Attention {
    batches: HashMap<String, Batch>,
}

/// Whether `text` mentions `username`: the name as a whole word (optionally after `@`),
/// case-insensitive. For the tutorial's server, whose messages carry no `mentions`.
#[must_use]
pub fn mentions(text: &str, username: &str) -> bool {
    let name = username.trim().to_lowercase();
    if name.is_empty() {
        return false;
    }
    let haystack = text.to_lowercase();
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-');
    haystack.match_indices(&name).any(|(at, found)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + found.len()..].chars().next();
        !is_word(before) && !is_word(after)
    })
}

/// Whether a message mentions `me`: the server's `mentions` when it gives them, the text
/// otherwise (the tutorial's server).
#[must_use]
pub fn mentions_me(message: &ChatMessage, me: &str) -> bool {
    if message.seq.is_some() {
        message.mentions.iter().any(|m| same_name(m, me))
    } else {
        mentions(&message.text, me)
    }
}

/// Whether a new unread message should notify: never with notifications off; a mention
/// always; in a muted room nothing else; a DM always; otherwise unless only mentions are
/// wanted.
#[must_use]
pub fn wanted(prefs: Preferences, context: Context<'_>) -> bool {
    if !prefs.notifications {
        return false;
    }
    if context.mention {
        return true;
    }
    if context.muted {
        return false;
    }
    context.dm_with.is_some() || !prefs.mentions_only
}

impl Attention {
    /// Adds an unread message that notifies to its conversation's batch. Returns when that
    /// batch is due if this message started it (the caller sets a timer then).
    pub fn on_message(
        &mut self,
        message: &ChatMessage,
        context: Context<'_>,
        now: Instant,
    ) -> Option<Instant> {
        let mut started = None;
        let batch = self
            .batches
            .entry(context.room.to_owned())
            .or_insert_with(|| {
                started = Some(now + COALESCE_WINDOW);
                Batch {
                    started: now,
                    count: 0,
                    authors: Vec::new(),
                    more_authors: false,
                    last_author: String::new(),
                    last_text: String::new(),
                    dm_with: context.dm_with.map(str::to_owned),
                }
            });
        batch.add(message);
        started
    }

    /// The conversation is in front of the user: nothing of it is left to notify.
    pub fn seen(&mut self, room: &str) {
        self.batches.remove(room);
    }

    /// When `room`'s batch should be shown, if it has one.
    #[must_use]
    pub fn due_at(&self, room: &str) -> Option<Instant> {
        self.batches.get(room).map(|b| b.started + COALESCE_WINDOW)
    }

    /// The notification for `room`'s batch, once its window has passed.
    pub fn take_due(&mut self, room: &str, now: Instant) -> Option<Notification> {
        if self.due_at(room).is_none_or(|due| now < due) {
            return None;
        }
        let batch = self.batches.remove(room)?;
        Some(summarize(room, &batch))
    }
}

fn summarize(room: &str, batch: &Batch) -> Notification {
    let place = match (room, &batch.dm_with) {
        (_, Some(_)) | (GENERAL_ROOM, _) => String::new(),
        (room, None) => format!(" in #{room}"),
    };
    let (title, body) = if batch.count <= 1 {
        (
            format!("{}{place}", plain(&batch.last_author)),
            shorten(&plain(&batch.last_text)),
        )
    } else {
        let title = match batch.authors.as_slice() {
            [one] if !batch.more_authors => {
                format!("{} new messages from {}{place}", batch.count, plain(one))
            }
            many => {
                let people = if batch.more_authors {
                    format!("{}+", many.len())
                } else {
                    many.len().to_string()
                };
                format!("{} new messages from {people} people{place}", batch.count)
            }
        };
        let body = format!("{}: {}", plain(&batch.last_author), plain(&batch.last_text));
        (title, shorten(&body))
    };
    Notification {
        room: room.to_owned(),
        title,
        body,
    }
}

/// Notification servers read a subset of HTML in bodies; this keeps text as text.
fn plain(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn shorten(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= BODY_CHARS {
        flat
    } else {
        let cut: String = flat.chars().take(BODY_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(username: &str, text: &str) -> ChatMessage {
        ChatMessage {
            id: format!("{username}-{text}"),
            username: username.into(),
            text: text.into(),
            timestamp: charla_protocol::timestamp::now_millis(),
            seq: None,
            client_id: None,
            guest: false,
            room: None,
            mentions: Vec::new(),
            thread: None,
            also_in_room: false,
            living: charla_protocol::chat::Living::default(),
        }
    }

    const ON: Preferences = Preferences {
        notifications: true,
        mentions_only: false,
        close_to_tray: true,
        start_on_login: false,
    };

    fn general() -> Context<'static> {
        Context {
            room: GENERAL_ROOM,
            dm_with: None,
            muted: false,
            mention: false,
        }
    }

    #[test]
    fn a_burst_becomes_one_notification_after_the_window() {
        let mut a = Attention::default();
        let t0 = Instant::now();
        let mut timers = 0;
        for (who, text) in [
            ("bob", "a"),
            ("carol", "b"),
            ("bob", "c"),
            ("dan", "d"),
            ("bob", "e"),
        ] {
            timers += usize::from(a.on_message(&msg(who, text), general(), t0).is_some());
        }
        assert_eq!(timers, 1, "one timer for the batch");
        assert_eq!(
            a.take_due(GENERAL_ROOM, t0 + Duration::from_millis(500)),
            None,
            "still gathering"
        );
        let n = a.take_due(GENERAL_ROOM, t0 + COALESCE_WINDOW).expect("due");
        assert_eq!(n.title, "5 new messages from 3 people");
        assert_eq!((n.body.as_str(), n.room.as_str()), ("bob: e", "general"));
        assert_eq!(
            a.take_due(GENERAL_ROOM, t0 + Duration::from_secs(10)),
            None,
            "shown once"
        );
    }

    #[test]
    fn each_conversation_has_its_own_batch_and_title() {
        let mut a = Attention::default();
        let t0 = Instant::now();
        let ops = Context {
            room: "ops",
            ..general()
        };
        let dm = Context {
            room: "dm:3",
            dm_with: Some("bob"),
            ..general()
        };
        assert!(a.on_message(&msg("bob", "deploy?"), ops, t0).is_some());
        assert!(a.on_message(&msg("bob", "psst"), dm, t0).is_some());
        assert!(a.on_message(&msg("bob", "lunch?"), dm, t0).is_none());
        let ops_n = a.take_due("ops", t0 + COALESCE_WINDOW).expect("ops");
        assert_eq!(
            (ops_n.title.as_str(), ops_n.body.as_str()),
            ("bob in #ops", "deploy?")
        );
        let dm_n = a.take_due("dm:3", t0 + COALESCE_WINDOW).expect("dm");
        assert_eq!(dm_n.title, "2 new messages from bob");
        a.on_message(&msg("bob", "again"), ops, t0);
        a.seen("ops");
        assert_eq!(
            a.take_due("ops", t0 + COALESCE_WINDOW),
            None,
            "seen: nothing to notify"
        );
    }

    #[test]
    fn a_crowd_is_counted_without_keeping_every_message() {
        let mut a = Attention::default();
        let t0 = Instant::now();
        for i in 0..50 {
            a.on_message(&msg(&format!("user{i}"), "hi"), general(), t0);
        }
        let n = a.take_due(GENERAL_ROOM, t0 + COALESCE_WINDOW).expect("due");
        assert_eq!(n.title, "50 new messages from 10+ people");
        assert_eq!(n.body, "user49: hi");
    }

    #[test]
    fn one_message_is_titled_by_its_author_and_shortened() {
        let mut a = Attention::default();
        let t0 = Instant::now();
        let long = "word ".repeat(60);
        a.on_message(&msg("bob", &long), general(), t0);
        let n = a.take_due(GENERAL_ROOM, t0 + COALESCE_WINDOW).expect("due");
        assert_eq!(n.title, "bob");
        assert_eq!(n.body.chars().count(), BODY_CHARS);
        assert!(n.body.ends_with('…'));
    }

    #[test]
    fn notifications_never_carry_markup() {
        let mut a = Attention::default();
        let t0 = Instant::now();
        a.on_message(
            &msg("<b>eve</b>", "<img src=x> & <a href='y'>click</a>"),
            general(),
            t0,
        );
        let n = a.take_due(GENERAL_ROOM, t0 + COALESCE_WINDOW).expect("due");
        assert!(!n.title.contains('<') && !n.body.contains('<'), "{n:?}");
        assert_eq!(
            n.body,
            "&lt;img src=x&gt; &amp; &lt;a href='y'&gt;click&lt;/a&gt;"
        );
    }

    #[test]
    fn which_messages_notify() {
        let off = Preferences {
            notifications: false,
            ..ON
        };
        let only = Preferences {
            mentions_only: true,
            ..ON
        };
        let mention = Context {
            mention: true,
            ..general()
        };
        let muted = Context {
            room: "noisy",
            muted: true,
            ..general()
        };
        let dm = Context {
            room: "dm:1",
            dm_with: Some("bob"),
            ..general()
        };
        assert!(wanted(ON, general()));
        assert!(!wanted(off, mention), "notifications off: nothing");
        assert!(!wanted(only, general()));
        assert!(
            wanted(only, mention) && wanted(only, dm),
            "mentions and DMs always"
        );
        assert!(!wanted(ON, muted), "a muted room");
        assert!(
            wanted(
                ON,
                Context {
                    mention: true,
                    ..muted
                }
            ),
            "a muted room's mention"
        );
        assert!(!wanted(ON, Context { muted: true, ..dm }), "a muted DM");
    }

    #[test]
    fn mentions_are_the_server_s_or_whole_names_in_the_text() {
        assert!(mentions("hey ana!", "Ana"));
        assert!(mentions("@ana: look", "ana"));
        assert!(mentions("ANA", "ana"));
        assert!(!mentions("banana bread", "ana"));
        assert!(!mentions("anabel", "ana"));
        assert!(!mentions("ana_b", "ana"));
        assert!(mentions("ping José.", "josé"));
        assert!(mentions("(ana)", "ana") && mentions("🙂ana🙂", "ana"));
        assert!(!mentions("ana-b and ana2", "ana"));
        assert!(!mentions("élodieé", "élodie") && mentions("hi ÉLODIE!", "élodie"));
        assert!(mentions("hi Mary Jane", " mary jane "));
        assert!(!mentions("anything", "  "));
        // Matches are looked for left to right without overlapping.
        assert!(!mentions("yx a x a x", "x a x"));
        let listed = ChatMessage {
            seq: Some(3),
            mentions: vec!["Ana".into()],
            ..msg("bob", "hi @ana")
        };
        assert!(mentions_me(&listed, "ana"));
        let unlisted = ChatMessage {
            seq: Some(4),
            ..msg("bob", "ana is not a member here")
        };
        assert!(
            !mentions_me(&unlisted, "ana"),
            "the server decides when it numbers messages"
        );
        assert!(
            mentions_me(&msg("bob", "ana?"), "ana"),
            "the tutorial's: the text"
        );
    }
}
