//! Living messages on `SQLite`: a message's changes read and written on the history's one
//! connection, under the chat's lock like a message's append (so `rev` order is the order the
//! room sees), the rules being [`crate::store::living`]'s.
//!
//! A change is one transaction: the retry check (`change_ids`), the message's state, the rule,
//! the room's next `rev` (`rooms.last_rev`), the row, its mentions. An edited or deleted text
//! leaves the search index by the `messages_reindex` trigger (the next pass indexes the new
//! text), as a removed one does.

use charla_protocol::chat::{ChatMessage, Living, MessageChange, Pinned};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Transaction};

use super::{parts_to_message, rooms, row_to_parts, SqliteStore, MESSAGE_FIELDS};
use crate::error::{Error, Result};
use crate::store::living::{self, Change, ChangeRefused, Changed, Effect, State, StoredReactions};
use crate::store::{NotStored, RoomId, Selection};

/// The columns of what changed, after [`MESSAGE_FIELDS`], in [`living_of`]'s order.
pub(super) const LIVING_FIELDS: &str = "rev, edited_ms, deleted_ms, reactions, pinned_by, \
     pinned_ms, replies, last_reply_ms, thread_root, also_in_room";

/// Change ids kept per room (older ones are pruned as new ones come).
const KEPT_CHANGE_IDS: u64 = 10_000;

/// A whole message from a row of `{MESSAGE_FIELDS}, {LIVING_FIELDS}`.
pub(super) fn row_to_message(row: &rusqlite::Row<'_>) -> Result<ChatMessage> {
    let mut message = parts_to_message(row_to_parts(row)?)?;
    message.living = living_of(row, 8)?;
    message.thread = row.get(16)?;
    message.also_in_room = row.get(17)?;
    Ok(message)
}

fn millis(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

/// The living fields from the columns of [`LIVING_FIELDS`], starting at `first`.
fn living_of(row: &rusqlite::Row<'_>, first: usize) -> Result<Living> {
    let reactions: Option<String> = row.get(first + 3)?;
    let reactions = StoredReactions::from_column(reactions.as_deref())
        .map_err(|e| Error::Corrupt(format!("reactions {reactions:?}: {e}")))?;
    let pinned_by: Option<String> = row.get(first + 4)?;
    let pinned_at = millis(row.get(first + 5)?);
    Ok(Living {
        rev: row.get(first)?,
        edited_at: millis(row.get(first + 1)?),
        deleted: row.get::<_, Option<i64>>(first + 2)?.is_some(),
        reactions: reactions.to_wire(),
        pinned: pinned_by.zip(pinned_at).map(|(by, at)| Pinned { by, at }),
        replies: row.get(first + 6)?,
        last_reply_at: millis(row.get(first + 7)?),
    })
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl SqliteStore {
    /// Messages of `room` as [`Selection`] chooses them. Blocking: call it off the async
    /// threads.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn read(&self, room: RoomId, which: Selection) -> Result<Vec<ChatMessage>> {
        let writer = self.write();
        let (condition, order, a, b, limit) = match which {
            Selection::Before { before, limit } => (
                "seq < ?2 AND ?3 = 0 AND (thread_root IS NULL OR also_in_room)",
                "seq DESC",
                before,
                0,
                limit,
            ),
            Selection::Thread {
                root,
                before,
                limit,
            } => (
                "thread_root = ?2 AND seq < ?3",
                "seq DESC",
                root,
                before,
                limit,
            ),
            Selection::Seq(seq) => ("seq = ?2 AND ?3 = 0", "seq", seq, 0, 1),
            Selection::ChangedAfter { rev, upto, limit } => {
                // `rev > 0` spelled out: the partial index on changed messages serves it.
                (
                    "rev > 0 AND rev > ?2 AND seq <= ?3",
                    "rev",
                    rev,
                    upto,
                    limit,
                )
            }
            Selection::Pinned => (
                "pinned_ms IS NOT NULL AND ?2 = 0 AND ?3 = 0",
                "pinned_ms DESC",
                0,
                0,
                charla_protocol::chat::MAX_PINS_PER_ROOM,
            ),
        };
        let mut statement = writer.conn.prepare_cached(&format!(
            "SELECT {MESSAGE_FIELDS}, {LIVING_FIELDS} FROM messages
             WHERE room_id = ?1 AND {condition} ORDER BY {order} LIMIT ?4"
        ))?;
        let rows = statement.query_map(
            params![room, to_i64(a), to_i64(b), to_i64(limit as u64)],
            |row| Ok(row_to_message(row)),
        )?;
        let mut messages = rows
            .map(|row| row.map_err(Error::from).and_then(|m| m))
            .collect::<Result<Vec<_>>>()?;
        if matches!(which, Selection::Before { .. } | Selection::Thread { .. }) {
            messages.reverse();
        }
        Ok(messages)
    }

    /// Applies `change` to message `seq` of `room` (see the module's description). Call it
    /// under the room's lock, so that `rev` order is publishing order.
    ///
    /// # Errors
    /// The rule the change breaks, or the write's failure (then nothing changed).
    pub fn change_message(
        &self,
        room: RoomId,
        seq: u64,
        change: &Change<'_>,
        at: DateTime<Utc>,
    ) -> std::result::Result<Changed, ChangeRefused> {
        let mut writer = self.write();
        let tx = writer.conn.transaction().map_err(not_stored)?;
        let outcome = change_in(&tx, room, seq, change, at)?;
        tx.commit().map_err(not_stored)?;
        drop(writer);
        if matches!(change.what, MessageChange::Edit(_) | MessageChange::Delete)
            && matches!(outcome, Changed::Applied(_))
        {
            // Busy indexing already, or stopping: the next pass takes it.
            let _ = self.background.try_send(());
        }
        Ok(outcome)
    }
}

fn not_stored(e: impl std::fmt::Display) -> ChangeRefused {
    tracing::error!(error = %e, "could not change a message; refusing the change");
    ChangeRefused::NotStored(NotStored(e.to_string()))
}

fn change_in(
    tx: &Transaction<'_>,
    room: RoomId,
    seq: u64,
    change: &Change<'_>,
    at: DateTime<Utc>,
) -> std::result::Result<Changed, ChangeRefused> {
    if let Some(client_id) = change.client_id {
        let applied: Option<(u64, u64)> = tx
            .prepare_cached(
                "SELECT seq, rev FROM change_ids
                 WHERE room_id = ?1 AND author_key = ?2 AND client_id = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![room, change.by.key, client_id], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()
            })
            .map_err(not_stored)?;
        if let Some((seq, rev)) = applied {
            return Ok(Changed::Retried { seq, rev });
        }
    }
    let found = tx
        .prepare_cached(&format!(
            "SELECT {MESSAGE_FIELDS}, {LIVING_FIELDS}, author_key FROM messages
             WHERE room_id = ?1 AND seq = ?2"
        ))
        .and_then(|mut s| {
            s.query_row(params![room, to_i64(seq)], |row| Ok(read_for_change(row)))
                .optional()
        })
        .map_err(not_stored)?;
    let Some(read) = found else {
        return Err(ChangeRefused::NoSuchMessage);
    };
    let (mut message, mut state) = read.map_err(not_stored)?;
    if let Some(key) = &state.author_key {
        let forgotten_before: Option<i64> = tx
            .prepare_cached("SELECT before_ms FROM authors_forgotten WHERE name_key = ?1")
            .and_then(|mut s| s.query_row([key], |row| row.get(0)).optional())
            .map_err(not_stored)?;
        if forgotten_before.is_some_and(|before| message.timestamp.timestamp_millis() < before) {
            state.author_key = None;
        }
    }
    let effect = living::apply(&mut state, change, at, || {
        tx.query_row(
            "SELECT count(*) FROM messages WHERE room_id = ?1 AND pinned_ms IS NOT NULL",
            [room],
            |row| row.get::<_, usize>(0),
        )
        .map_err(|e| NotStored(e.to_string()))
    })?;
    if effect == Effect::Nothing {
        let rev = message.living.rev;
        state.show_on(&mut message, rev);
        return Ok(Changed::Unchanged(message));
    }
    let rev: u64 = tx
        .prepare_cached(
            "UPDATE rooms SET last_rev = last_rev + 1 WHERE room_id = ?1 RETURNING last_rev",
        )
        .and_then(|mut s| s.query_row([room], |row| row.get(0)))
        .map_err(not_stored)?;
    state.show_on(&mut message, rev);
    if effect == Effect::Text {
        message.mentions = change.mentions.iter().map(|m| m.name.clone()).collect();
    }
    write_state(tx, (room, seq, rev), &state, &message, at).map_err(not_stored)?;
    if matches!(effect, Effect::Text | Effect::Deleted) {
        tx.prepare_cached("DELETE FROM mentions WHERE room_id = ?1 AND seq = ?2")
            .and_then(|mut s| s.execute(params![room, to_i64(seq)]))
            .map_err(not_stored)?;
        let keys: Vec<String> = change.mentions.iter().map(|m| m.key.clone()).collect();
        if effect == Effect::Text {
            rooms::insert_mentions(tx, room, seq, &keys).map_err(not_stored)?;
        }
    }
    if let Some(client_id) = change.client_id {
        remember(tx, room, change.by.key.as_str(), client_id, seq, rev).map_err(not_stored)?;
    }
    Ok(Changed::Applied(message))
}

/// A message read whole, and the state [`living::apply`] changes, from a row of
/// `{MESSAGE_FIELDS}, {LIVING_FIELDS}, author_key`.
fn read_for_change(row: &rusqlite::Row<'_>) -> Result<(ChatMessage, State)> {
    let message = row_to_message(row)?;
    let reactions: Option<String> = row.get(11)?;
    let reactions = StoredReactions::from_column(reactions.as_deref())
        .map_err(|e| Error::Corrupt(format!("reactions {reactions:?}: {e}")))?;
    let state = State::of(&message, row.get(18)?, reactions);
    Ok((message, state))
}

fn write_state(
    tx: &Transaction<'_>,
    (room, seq, rev): (RoomId, u64, u64),
    state: &State,
    message: &ChatMessage,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let mentioned = (!message.mentions.is_empty()).then(|| message.mentions.join("\n"));
    tx.prepare_cached(
        "UPDATE messages SET text = ?3, mentions = ?4, rev = ?5, edited_ms = ?6,
             deleted_ms = coalesce(deleted_ms, ?7), reactions = ?8, pinned_by = ?9,
             pinned_ms = ?10
         WHERE room_id = ?1 AND seq = ?2",
    )?
    .execute(params![
        room,
        to_i64(seq),
        state.text,
        mentioned,
        to_i64(rev),
        state.edited_at.map(|at| at.timestamp_millis()),
        state.deleted.then(|| at.timestamp_millis()),
        state.reactions.to_column(),
        state.pinned.as_ref().map(|(by, _)| by.as_str()),
        state.pinned.as_ref().map(|(_, at)| at.timestamp_millis()),
    ])?;
    Ok(())
}

/// Records a change's `clientId`, and forgets the room's oldest past [`KEPT_CHANGE_IDS`].
fn remember(
    tx: &Transaction<'_>,
    room: RoomId,
    key: &str,
    client_id: &str,
    seq: u64,
    rev: u64,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO change_ids (room_id, author_key, client_id, seq, rev)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![room, key, client_id, to_i64(seq), to_i64(rev)])?;
    if rev > KEPT_CHANGE_IDS {
        tx.prepare_cached("DELETE FROM change_ids WHERE room_id = ?1 AND rev <= ?2")?
            .execute(params![room, to_i64(rev - KEPT_CHANGE_IDS)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use charla_protocol::chat::MessageChange;
    use chrono::Utc;

    use crate::store::{Change, Draft, Member, GENERAL};

    #[test]
    fn only_a_changed_text_goes_through_the_search_index_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::super::open_for_test(&dir);
        let ana = Member {
            key: "ana".into(),
            name: "ana".into(),
        };
        let draft = Draft {
            id_prefix: "s".into(),
            username: "ana".into(),
            text: "hello".into(),
            client_id: None,
            guest: false,
            author_key: Some("ana".into()),
            thread: None,
            also_in_room: false,
            mentions: Vec::new(),
        };
        store.append(GENERAL, draft, Utc::now()).expect("stored");
        let noted = || -> i64 {
            store
                .write()
                .conn
                .query_row("SELECT count(*) FROM search_changes", [], |row| row.get(0))
                .expect("counts")
        };
        let change = |what: &MessageChange| {
            let asked = Change {
                by: &ana,
                what,
                mentions: &[],
                client_id: None,
            };
            store
                .change_message(GENERAL, 1, &asked, Utc::now())
                .expect("changed");
        };
        change(&MessageChange::React {
            emoji: "👍".into(),
            on: true,
        });
        change(&MessageChange::Pin { on: true });
        assert_eq!(noted(), 0, "a reaction and a pin leave the index alone");
    }
}
