//! The rules of living messages, in one place for every store: what an edit, a deletion, a
//! reaction or a pin does to a message's state, and when it is refused. Each store reads the
//! state of the message (locked, in its transaction), applies [`apply`], and writes back what
//! changed with the room's next `rev`; a change that changes nothing takes no `rev`.
//!
//! Reactions are kept on the message row as one JSON column ([`StoredReactions`]): a history
//! page reads them with the message, with no second table to join, and one row lock orders
//! two reactions to one message from two nodes. They are bounded by
//! [`MAX_REACTIONS_PER_MESSAGE`] emoji, each with at most one reaction per name.

use charla_protocol::chat::{
    ChatMessage, MessageChange, Pinned, Reaction, MAX_PINS_PER_ROOM, MAX_REACTIONS_PER_MESSAGE,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Member, NotStored};

/// One change, as the chat hands it to a store.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// Who makes it (an owned name).
    pub by: &'a Member,
    /// What it does.
    pub what: &'a MessageChange,
    /// For an edit: the members the new text mentions.
    pub mentions: &'a [Member],
    /// The client's idempotency key: a change already applied with it is not applied again.
    pub client_id: Option<&'a str>,
}

/// What a change came to.
#[derive(Debug, Clone)]
pub enum Changed {
    /// Applied: the message as it is now, with its new `rev`.
    Applied(ChatMessage),
    /// Nothing to do (a reaction the name had already, a second delete): the message as it is,
    /// with no new `rev`.
    Unchanged(ChatMessage),
    /// A retry of a change applied before with the same `clientId`: what it was answered.
    Retried {
        /// The message's `seq`.
        seq: u64,
        /// The `rev` the change got.
        rev: u64,
    },
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefused {
    /// No message of that `seq` is kept in the room.
    #[error("no such message")]
    NoSuchMessage,
    /// An edit or a deletion by someone other than the author.
    #[error("only its author may change this message")]
    NotAuthor,
    /// The message was deleted.
    #[error("the message was deleted")]
    Deleted,
    /// A new emoji on a message that has [`MAX_REACTIONS_PER_MESSAGE`] already.
    #[error("a message has at most {MAX_REACTIONS_PER_MESSAGE} different reactions")]
    TooManyReactions,
    /// A pin in a room that has [`MAX_PINS_PER_ROOM`] already.
    #[error("a room has at most {MAX_PINS_PER_ROOM} pinned messages")]
    TooManyPins,
    /// The store failed; nothing was changed.
    #[error(transparent)]
    NotStored(#[from] NotStored),
}

/// A message's state that changes can touch, as a store reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The author's name key, when this claim of the name wrote it (`None`: a guest, a message
    /// from before living messages, or a name claimed afresh since: nobody may edit it).
    pub author_key: Option<String>,
    /// The text.
    pub text: String,
    /// When it was last edited.
    pub edited_at: Option<DateTime<Utc>>,
    /// It was deleted.
    pub deleted: bool,
    /// Its reactions.
    pub reactions: StoredReactions,
    /// Who pinned it, and when.
    pub pinned: Option<(String, DateTime<Utc>)>,
}

/// What a change did, for the store to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing changed.
    Nothing,
    /// The text (and its mentions) changed.
    Text,
    /// The message was deleted: text, mentions, reactions and pin are gone.
    Deleted,
    /// The reactions changed.
    Reactions,
    /// The pin changed.
    Pin,
}

impl State {
    /// A message's state as its living fields show it, with its author and its reactions as
    /// the store keeps them.
    #[must_use]
    pub fn of(
        message: &ChatMessage,
        author_key: Option<String>,
        reactions: StoredReactions,
    ) -> Self {
        Self {
            author_key,
            text: message.text.clone(),
            edited_at: message.living.edited_at,
            deleted: message.living.deleted,
            reactions,
            pinned: message.living.pinned.as_ref().map(|p| (p.by.clone(), p.at)),
        }
    }
}

/// Applies `change` to `state`, made `at`. `pins` counts the room's pinned messages (asked
/// only to pin).
///
/// # Errors
/// The rule the change breaks; `state` is then unchanged.
pub fn apply(
    state: &mut State,
    change: &Change<'_>,
    at: DateTime<Utc>,
    pins: impl FnOnce() -> Result<usize, NotStored>,
) -> Result<Effect, ChangeRefused> {
    let by = change.by;
    let is_author = state.author_key.as_deref() == Some(by.key.as_str());
    match change.what {
        MessageChange::Edit(text) => {
            if !is_author {
                return Err(ChangeRefused::NotAuthor);
            }
            if state.deleted {
                return Err(ChangeRefused::Deleted);
            }
            if state.text == *text {
                return Ok(Effect::Nothing);
            }
            state.text.clone_from(text);
            state.edited_at = Some(at);
            Ok(Effect::Text)
        }
        MessageChange::Delete => {
            if !is_author {
                return Err(ChangeRefused::NotAuthor);
            }
            if state.deleted {
                return Ok(Effect::Nothing);
            }
            state.text.clear();
            state.deleted = true;
            state.reactions = StoredReactions::default();
            state.pinned = None;
            Ok(Effect::Deleted)
        }
        MessageChange::React { emoji, on } => {
            if state.deleted {
                return Err(ChangeRefused::Deleted);
            }
            let changed = if *on {
                state.reactions.add(emoji, by)?
            } else {
                state.reactions.take_back(emoji, &by.key)
            };
            Ok(if changed {
                Effect::Reactions
            } else {
                Effect::Nothing
            })
        }
        MessageChange::Pin { on } => {
            if state.deleted {
                return Err(ChangeRefused::Deleted);
            }
            match (on, &state.pinned) {
                (true, Some(_)) | (false, None) => Ok(Effect::Nothing),
                (true, None) => {
                    if pins()? >= MAX_PINS_PER_ROOM {
                        return Err(ChangeRefused::TooManyPins);
                    }
                    state.pinned = Some((by.name.clone(), at));
                    Ok(Effect::Pin)
                }
                (false, Some(_)) => {
                    state.pinned = None;
                    Ok(Effect::Pin)
                }
            }
        }
    }
}

/// A message's reactions as a store keeps them: each emoji with the names (key and name as
/// shown) that used it, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StoredReactions(Vec<StoredReaction>);

/// One emoji and who used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReaction {
    emoji: String,
    /// (name key, name as shown).
    by: Vec<(String, String)>,
}

impl StoredReactions {
    /// Reads the column (`None`, or empty: no reactions).
    ///
    /// # Errors
    /// When the column is not what [`Self::to_column`] writes.
    pub fn from_column(column: Option<&str>) -> serde_json::Result<Self> {
        match column {
            None | Some("") => Ok(Self::default()),
            Some(json) => serde_json::from_str(json),
        }
    }

    /// The column to write (`None` when there are none).
    #[must_use]
    pub fn to_column(&self) -> Option<String> {
        if self.0.is_empty() {
            None
        } else {
            serde_json::to_string(self).ok()
        }
    }

    /// As the wire carries them: names only.
    #[must_use]
    pub fn to_wire(&self) -> Vec<Reaction> {
        self.0
            .iter()
            .map(|r| Reaction {
                emoji: r.emoji.clone(),
                names: r.by.iter().map(|(_, name)| name.clone()).collect(),
            })
            .collect()
    }

    fn add(&mut self, emoji: &str, by: &Member) -> Result<bool, ChangeRefused> {
        if let Some(reaction) = self.0.iter_mut().find(|r| r.emoji == emoji) {
            if reaction.by.iter().any(|(key, _)| *key == by.key) {
                return Ok(false);
            }
            reaction.by.push((by.key.clone(), by.name.clone()));
            return Ok(true);
        }
        if self.0.len() >= MAX_REACTIONS_PER_MESSAGE {
            return Err(ChangeRefused::TooManyReactions);
        }
        self.0.push(StoredReaction {
            emoji: emoji.to_owned(),
            by: vec![(by.key.clone(), by.name.clone())],
        });
        Ok(true)
    }

    fn take_back(&mut self, emoji: &str, key: &str) -> bool {
        let Some(index) = self.0.iter().position(|r| r.emoji == emoji) else {
            return false;
        };
        let reaction = &mut self.0[index];
        let before = reaction.by.len();
        reaction.by.retain(|(k, _)| k != key);
        let changed = reaction.by.len() != before;
        if reaction.by.is_empty() {
            self.0.remove(index);
        }
        changed
    }
}

impl State {
    /// Writes this state into `message`'s text and living fields, with `rev`.
    pub fn show_on(&self, message: &mut ChatMessage, rev: u64) {
        message.text.clone_from(&self.text);
        if self.deleted {
            message.mentions.clear();
        }
        message.living.rev = rev;
        message.living.edited_at = self.edited_at;
        message.living.deleted = self.deleted;
        message.living.reactions = self.reactions.to_wire();
        message.living.pinned = self.pinned.as_ref().map(|(by, at)| Pinned {
            by: by.clone(),
            at: *at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str) -> Member {
        Member {
            key: name.to_lowercase(),
            name: name.to_owned(),
        }
    }

    fn change<'a>(by: &'a Member, what: &'a MessageChange) -> Change<'a> {
        Change {
            by,
            what,
            mentions: &[],
            client_id: None,
        }
    }

    fn authored_by(key: &str) -> State {
        State {
            author_key: Some(key.to_owned()),
            text: "helo".into(),
            ..State::default()
        }
    }

    #[allow(clippy::unnecessary_wraps)] // the shape `apply` asks for
    fn no_pins() -> Result<usize, NotStored> {
        Ok(0)
    }

    #[test]
    fn only_the_author_edits_or_deletes_and_a_deleted_message_stays_so() {
        let (ana, bo) = (member("Ana"), member("Bo"));
        let at = DateTime::<Utc>::default();
        let mut state = authored_by("ana");
        let edit = MessageChange::Edit("hello".into());
        assert_eq!(
            apply(&mut state, &change(&bo, &edit), at, no_pins),
            Err(ChangeRefused::NotAuthor)
        );
        assert_eq!(
            apply(&mut state, &change(&ana, &edit), at, no_pins),
            Ok(Effect::Text)
        );
        assert_eq!((state.text.as_str(), state.edited_at), ("hello", Some(at)));
        assert_eq!(
            apply(&mut state, &change(&ana, &edit), at, no_pins),
            Ok(Effect::Nothing),
            "the same text again changes nothing"
        );
        let thumbs = MessageChange::React {
            emoji: "👍".into(),
            on: true,
        };
        apply(&mut state, &change(&bo, &thumbs), at, no_pins).expect("a reaction");
        let delete = MessageChange::Delete;
        assert_eq!(
            apply(&mut state, &change(&bo, &delete), at, no_pins),
            Err(ChangeRefused::NotAuthor)
        );
        assert_eq!(
            apply(&mut state, &change(&ana, &delete), at, no_pins),
            Ok(Effect::Deleted)
        );
        assert_eq!(state.text, "");
        assert_eq!(state.reactions, StoredReactions::default());
        assert_eq!(
            apply(&mut state, &change(&ana, &delete), at, no_pins),
            Ok(Effect::Nothing)
        );
        for refused in [edit, thumbs, MessageChange::Pin { on: true }] {
            assert_eq!(
                apply(&mut state, &change(&ana, &refused), at, no_pins),
                Err(ChangeRefused::Deleted)
            );
        }
        let mut unknown_author = State::default();
        assert_eq!(
            apply(
                &mut unknown_author,
                &change(&ana, &MessageChange::Delete),
                at,
                no_pins
            ),
            Err(ChangeRefused::NotAuthor),
            "a message nobody is known to have written is nobody's to change"
        );
    }

    #[test]
    fn one_reaction_of_each_emoji_per_name_and_twenty_emoji_per_message() {
        let (ana, bo) = (member("Ana"), member("Bo"));
        let at = DateTime::<Utc>::default();
        let mut state = authored_by("ana");
        let react = |emoji: &str, on| MessageChange::React {
            emoji: emoji.into(),
            on,
        };
        let thumbs = react("👍", true);
        assert_eq!(
            apply(&mut state, &change(&ana, &thumbs), at, no_pins),
            Ok(Effect::Reactions)
        );
        assert_eq!(
            apply(&mut state, &change(&ana, &thumbs), at, no_pins),
            Ok(Effect::Nothing)
        );
        assert_eq!(
            apply(&mut state, &change(&bo, &thumbs), at, no_pins),
            Ok(Effect::Reactions)
        );
        assert_eq!(
            state.reactions.to_wire(),
            vec![Reaction {
                emoji: "👍".into(),
                names: vec!["Ana".into(), "Bo".into()]
            }]
        );
        let back = react("👍", false);
        assert_eq!(
            apply(&mut state, &change(&ana, &back), at, no_pins),
            Ok(Effect::Reactions)
        );
        assert_eq!(
            apply(&mut state, &change(&ana, &back), at, no_pins),
            Ok(Effect::Nothing)
        );
        assert_eq!(
            apply(&mut state, &change(&bo, &back), at, no_pins),
            Ok(Effect::Reactions)
        );
        assert!(
            state.reactions.to_wire().is_empty(),
            "the last name takes the emoji with it"
        );
        let emoji: Vec<String> = (0..=MAX_REACTIONS_PER_MESSAGE)
            .map(|i| {
                char::from_u32(0x1F600 + u32::try_from(i).expect("small"))
                    .expect("emoji")
                    .to_string()
            })
            .collect();
        for e in &emoji[..MAX_REACTIONS_PER_MESSAGE] {
            apply(&mut state, &change(&bo, &react(e, true)), at, no_pins).expect("room for it");
        }
        let one_more = react(&emoji[MAX_REACTIONS_PER_MESSAGE], true);
        assert_eq!(
            apply(&mut state, &change(&bo, &one_more), at, no_pins),
            Err(ChangeRefused::TooManyReactions)
        );
        assert_eq!(
            apply(
                &mut state,
                &change(&ana, &react(&emoji[0], true)),
                at,
                no_pins
            ),
            Ok(Effect::Reactions),
            "another name on an emoji already there is no new emoji"
        );
        let column = state.reactions.to_column();
        assert_eq!(
            StoredReactions::from_column(column.as_deref()).expect("reads back"),
            state.reactions
        );
    }

    #[test]
    fn pins_are_bounded_per_room() {
        let bo = member("Bo");
        let at = DateTime::<Utc>::default();
        let mut state = authored_by("ana");
        let pin = MessageChange::Pin { on: true };
        assert_eq!(
            apply(&mut state, &change(&bo, &pin), at, || Ok(MAX_PINS_PER_ROOM)),
            Err(ChangeRefused::TooManyPins)
        );
        assert_eq!(
            apply(&mut state, &change(&bo, &pin), at, no_pins),
            Ok(Effect::Pin)
        );
        assert_eq!(state.pinned, Some(("Bo".into(), at)));
        assert_eq!(
            apply(&mut state, &change(&bo, &pin), at, no_pins),
            Ok(Effect::Nothing)
        );
        let unpin = MessageChange::Pin { on: false };
        assert_eq!(
            apply(&mut state, &change(&bo, &unpin), at, no_pins),
            Ok(Effect::Pin)
        );
        assert_eq!(state.pinned, None);
    }
}
