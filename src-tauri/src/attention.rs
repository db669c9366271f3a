//! When to ask for the user's attention: the unread count, mention matching, and coalescing a
//! burst of messages into one notification. Pure logic (time is passed in), unit-tested.

use std::time::{Duration, Instant};

use charla_client::settings::Preferences;
use charla_protocol::chat::ChatMessage;

/// Longest notification body, in characters.
const BODY_CHARS: usize = 140;
/// Messages arriving within this window become one notification.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(1500);

/// One desktop notification: plain text, never markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The author, or a summary of the burst.
    pub title: String,
    /// The text, shortened, with markup characters neutralised.
    pub body: String,
}

/// Unread messages and notifications waiting to be shown.
#[derive(Debug, Default)]
pub struct Attention {
    unread: usize,
    batch: Vec<ChatMessage>,
    batch_started: Option<Instant>,
}

/// Whether `text` mentions `username`: the name as a whole word (optionally after `@`),
/// case-insensitive.
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

impl Attention {
    /// Messages from others that arrived while the window was not in front.
    #[must_use]
    pub fn unread(&self) -> usize {
        self.unread
    }

    /// Takes note of a message. Returns whether the unread count changed. Own messages, and
    /// messages while the window is focused, count for nothing.
    pub fn on_message(
        &mut self,
        message: &ChatMessage,
        me: &str,
        focused: bool,
        prefs: Preferences,
        now: Instant,
    ) -> bool {
        // A guest's message under my name is someone else's (the app always joins with its key).
        if focused || (message.username.eq_ignore_ascii_case(me) && !message.guest) {
            return false;
        }
        self.unread += 1;
        let wanted = prefs.notifications && (!prefs.mentions_only || mentions(&message.text, me));
        if wanted {
            if self.batch.is_empty() {
                self.batch_started = Some(now);
            }
            self.batch.push(message.clone());
        }
        true
    }

    /// The window came to the front: everything is read, nothing more to notify.
    pub fn focused(&mut self) {
        self.unread = 0;
        self.batch.clear();
        self.batch_started = None;
    }

    /// When the pending batch should be shown, if there is one.
    #[must_use]
    pub fn due_at(&self) -> Option<Instant> {
        self.batch_started.map(|t| t + COALESCE_WINDOW)
    }

    /// The notification for the batch, once its window has passed.
    pub fn take_due(&mut self, now: Instant) -> Option<Notification> {
        if self.due_at().is_none_or(|due| now < due) {
            return None;
        }
        self.batch_started = None;
        let batch = std::mem::take(&mut self.batch);
        summarize(&batch)
    }
}

fn summarize(batch: &[ChatMessage]) -> Option<Notification> {
    match batch {
        [] => None,
        [one] => Some(Notification {
            title: plain(&one.username),
            body: shorten(&plain(&one.text)),
        }),
        many => {
            let mut people: Vec<&str> = Vec::new();
            for m in many {
                if !people.contains(&m.username.as_str()) {
                    people.push(&m.username);
                }
            }
            let title = if people.len() == 1 {
                format!("{} new messages from {}", many.len(), plain(people[0]))
            } else {
                format!("{} new messages from {} people", many.len(), people.len())
            };
            let last = many.last()?;
            Some(Notification {
                title,
                body: shorten(&format!("{}: {}", plain(&last.username), plain(&last.text))),
            })
        }
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
        }
    }

    const ON: Preferences = Preferences {
        notifications: true,
        mentions_only: false,
        close_to_tray: true,
        start_on_login: false,
    };

    #[test]
    fn counts_only_others_messages_while_unfocused_and_clears_on_focus() {
        let mut a = Attention::default();
        let now = Instant::now();
        assert!(!a.on_message(&msg("ana", "mine"), "ana", false, ON, now));
        assert!(!a.on_message(&msg("bob", "seen"), "ana", true, ON, now));
        assert!(a.on_message(&msg("bob", "one"), "ana", false, ON, now));
        assert!(a.on_message(&msg("carol", "two"), "ana", false, ON, now));
        let impostor = ChatMessage {
            guest: true,
            ..msg("ana", "a guest using my name")
        };
        assert!(
            a.on_message(&impostor, "ana", false, ON, now),
            "a guest under my name is someone else"
        );
        assert_eq!(a.unread(), 3);
        a.focused();
        assert_eq!(a.unread(), 0);
        assert_eq!(
            a.take_due(now + COALESCE_WINDOW),
            None,
            "nothing left to notify once read"
        );
    }

    #[test]
    fn a_burst_becomes_one_notification_after_the_window() {
        let mut a = Attention::default();
        let t0 = Instant::now();
        for (who, text) in [
            ("bob", "a"),
            ("carol", "b"),
            ("bob", "c"),
            ("dan", "d"),
            ("bob", "e"),
        ] {
            a.on_message(
                &msg(who, text),
                "ana",
                false,
                ON,
                t0 + Duration::from_millis(100),
            );
        }
        assert_eq!(
            a.take_due(t0 + Duration::from_millis(500)),
            None,
            "still gathering"
        );
        let n = a
            .take_due(t0 + Duration::from_millis(100) + COALESCE_WINDOW)
            .expect("due");
        assert_eq!(n.title, "5 new messages from 3 people");
        assert_eq!(n.body, "bob: e");
        assert_eq!(a.take_due(t0 + Duration::from_secs(10)), None, "shown once");
        assert_eq!(a.unread(), 5, "the count stays until the window is focused");
    }

    #[test]
    fn one_message_is_titled_by_its_author_and_shortened() {
        let mut a = Attention::default();
        let t0 = Instant::now();
        let long = "word ".repeat(60);
        a.on_message(&msg("bob", &long), "ana", false, ON, t0);
        let n = a.take_due(t0 + COALESCE_WINDOW).expect("due");
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
            "ana",
            false,
            ON,
            t0,
        );
        let n = a.take_due(t0 + COALESCE_WINDOW).expect("due");
        assert!(!n.title.contains('<') && !n.body.contains('<'), "{n:?}");
        assert_eq!(
            n.body,
            "&lt;img src=x&gt; &amp; &lt;a href='y'&gt;click&lt;/a&gt;"
        );
    }

    #[test]
    fn mute_and_mentions_only() {
        let t0 = Instant::now();
        let mut muted = Attention::default();
        muted.on_message(
            &msg("bob", "hi"),
            "ana",
            false,
            Preferences {
                notifications: false,
                ..ON
            },
            t0,
        );
        assert_eq!(muted.unread(), 1, "muted still counts unread");
        assert_eq!(muted.take_due(t0 + COALESCE_WINDOW), None);

        let prefs = Preferences {
            mentions_only: true,
            ..ON
        };
        let mut a = Attention::default();
        a.on_message(&msg("bob", "lunch?"), "ana", false, prefs, t0);
        a.on_message(&msg("bob", "@Ana are you there"), "ana", false, prefs, t0);
        let n = a.take_due(t0 + COALESCE_WINDOW).expect("the mention");
        assert_eq!(n.body, "@Ana are you there");
    }

    #[test]
    fn mentions_match_whole_names_only() {
        assert!(mentions("hey ana!", "Ana"));
        assert!(mentions("@ana: look", "ana"));
        assert!(mentions("ANA", "ana"));
        assert!(!mentions("banana bread", "ana"));
        assert!(!mentions("anabel", "ana"));
        assert!(!mentions("ana_b", "ana"));
        assert!(mentions("ping José.", "josé"));
        assert!(!mentions("anything", "  "));
    }
}
