//! Living messages on PostgreSQL: a message's changes read and written, the rules being
//! [`crate::store::living`]'s.
//!
//! A change is one transaction on the writer's connection: the room's row locked first (so two
//! nodes' changes to one room take their `rev`s, and commit, one after the other), the retry
//! check (`change_ids`), the message's state, the rule, the room's next `rev`, the row (its
//! words for search too, so search follows at once), its mentions, and the announcement on
//! [`CHANGES_CHANNEL`] (`<room>:<rev>`), delivered only if it commits.

use charla_protocol::chat::{ChatMessage, Living, Pinned};
use chrono::{DateTime, Utc};
use postgres::Row;

use super::worker::pg_error;
use super::{message, to_i64, to_u64, PgStore, FIELDS};
use crate::error::{Error, Result};
use crate::store::living::{self, Change, ChangeRefused, Changed, Effect, State, StoredReactions};
use crate::store::{NotStored, RoomId, Selection};

/// The channel a change is announced on: `<room>:<rev>`.
pub const CHANGES_CHANNEL: &str = "charla_changes";

/// The columns of what changed, after [`FIELDS`], in [`whole`]'s order.
pub(super) const LIVING: &str = "rev, edited_ms, deleted_ms, reactions, pinned_by, pinned_ms, \
     replies, last_reply_ms, thread_root, also_in_room";

/// Change ids kept per room (older ones are pruned as new ones come).
const KEPT_CHANGE_IDS: i64 = 10_000;

/// A whole message from a row of `{FIELDS}, {LIVING}`.
pub(super) fn whole(row: &Row) -> Result<ChatMessage> {
    let mut m = message(row)?;
    let reactions = reactions_of(row)?;
    let pinned_by: Option<String> = row.try_get(12).map_err(pg_error)?;
    let pinned_ms: Option<i64> = row.try_get(13).map_err(pg_error)?;
    m.living = Living {
        rev: to_u64(row.try_get(8).map_err(pg_error)?),
        edited_at: row
            .try_get::<_, Option<i64>>(9)
            .map_err(pg_error)?
            .and_then(DateTime::from_timestamp_millis),
        deleted: row
            .try_get::<_, Option<i64>>(10)
            .map_err(pg_error)?
            .is_some(),
        reactions: reactions.to_wire(),
        pinned: pinned_by
            .zip(pinned_ms.and_then(DateTime::from_timestamp_millis))
            .map(|(by, at)| Pinned { by, at }),
        replies: to_u64(row.try_get(14).map_err(pg_error)?),
        last_reply_at: row
            .try_get::<_, Option<i64>>(15)
            .map_err(pg_error)?
            .and_then(DateTime::from_timestamp_millis),
    };
    m.thread = row
        .try_get::<_, Option<i64>>(16)
        .map_err(pg_error)?
        .map(to_u64);
    m.also_in_room = row.try_get(17).map_err(pg_error)?;
    Ok(m)
}

fn reactions_of(row: &Row) -> Result<StoredReactions> {
    let column: Option<String> = row.try_get(11).map_err(pg_error)?;
    StoredReactions::from_column(column.as_deref())
        .map_err(|e| Error::Corrupt(format!("reactions {column:?}: {e}")))
}

impl PgStore {
    /// Messages of `room` as [`Selection`] chooses them, on the reader's connection.
    pub(super) fn read_messages(&self, room: RoomId, which: Selection) -> Result<Vec<ChatMessage>> {
        self.reader.run(move |client| {
            let (condition, order, a, b, limit) = match which {
                Selection::Before { before, limit } => (
                    "seq < $2::bigint AND $3::bigint = 0 AND (thread_root IS NULL OR also_in_room)",
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
                    "thread_root = $2::bigint AND seq < $3::bigint",
                    "seq DESC",
                    root,
                    before,
                    limit,
                ),
                Selection::Seq(seq) => ("seq = $2::bigint AND $3::bigint = 0", "seq", seq, 0, 1),
                Selection::ChangedAfter { rev, upto, limit } => (
                    "rev > $2::bigint AND seq <= $3::bigint",
                    "rev",
                    rev,
                    upto,
                    limit,
                ),
                Selection::Pinned => (
                    "pinned_ms IS NOT NULL AND $2::bigint = 0 AND $3::bigint = 0",
                    "pinned_ms DESC",
                    0,
                    0,
                    charla_protocol::chat::MAX_PINS_PER_ROOM,
                ),
            };
            let rows = client
                .query(
                    &format!(
                        "SELECT {FIELDS}, {LIVING} FROM messages
                         WHERE room_id = $1 AND {condition} ORDER BY {order} LIMIT $4"
                    ),
                    &[&room, &to_i64(a), &to_i64(b), &to_i64(limit as u64)],
                )
                .map_err(pg_error)?;
            let mut messages = rows.iter().map(whole).collect::<Result<Vec<_>>>()?;
            if matches!(which, Selection::Before { .. } | Selection::Thread { .. }) {
                messages.reverse();
            }
            Ok(messages)
        })
    }

    /// Applies a change (see the module's description) on the writer's connection. Blocking,
    /// over the network: never call it under the chat's lock.
    pub(super) fn change(
        &self,
        room: RoomId,
        seq: u64,
        change: &Change<'_>,
        at: DateTime<Utc>,
    ) -> std::result::Result<Changed, ChangeRefused> {
        let owned = OwnedChange {
            by: change.by.clone(),
            what: change.what.clone(),
            mentions: change.mentions.to_vec(),
            client_id: change.client_id.map(str::to_owned),
        };
        let outcome = self.writer.run(move |client| {
            let mut tx = client.transaction().map_err(pg_error)?;
            let outcome = change_in(&mut tx, room, seq, &owned, at)?;
            if matches!(outcome, Ok(Changed::Applied(_))) {
                tx.commit().map_err(pg_error)?;
            }
            Ok(outcome)
        });
        outcome.unwrap_or_else(|e| {
            tracing::error!(error = %e, room, seq, "could not change a message; refusing the change");
            Err(ChangeRefused::NotStored(NotStored(e.to_string())))
        })
    }
}

/// A [`Change`] that can be sent to the writer's thread.
struct OwnedChange {
    by: crate::store::Member,
    what: charla_protocol::chat::MessageChange,
    mentions: Vec<crate::store::Member>,
    client_id: Option<String>,
}

/// The change in `tx`: `Err` for a failure of the database, `Ok(Err)` for a rule it breaks.
fn change_in(
    tx: &mut postgres::Transaction<'_>,
    room: RoomId,
    seq: u64,
    owned: &OwnedChange,
    at: DateTime<Utc>,
) -> Result<std::result::Result<Changed, ChangeRefused>> {
    let change = Change {
        by: &owned.by,
        what: &owned.what,
        mentions: &owned.mentions,
        client_id: owned.client_id.as_deref(),
    };
    if tx
        .query_opt(
            "SELECT 1 FROM rooms WHERE room_id = $1 FOR UPDATE",
            &[&room],
        )
        .map_err(pg_error)?
        .is_none()
    {
        return Ok(Err(ChangeRefused::NoSuchMessage));
    }
    if let Some(client_id) = change.client_id {
        let applied = tx
            .query_opt(
                "SELECT seq, rev FROM change_ids
                 WHERE room_id = $1 AND author_key = $2 AND client_id = $3",
                &[&room, &change.by.key, &client_id],
            )
            .map_err(pg_error)?;
        if let Some(row) = applied {
            return Ok(Ok(Changed::Retried {
                seq: to_u64(row.get(0)),
                rev: to_u64(row.get(1)),
            }));
        }
    }
    let Some((mut message, mut state)) = read_for_change(tx, room, seq)? else {
        return Ok(Err(ChangeRefused::NoSuchMessage));
    };
    let pins = tx
        .query_one(
            "SELECT count(*) FROM messages WHERE room_id = $1 AND pinned_ms IS NOT NULL",
            &[&room],
        )
        .map_err(pg_error)?
        .get::<_, i64>(0);
    let effect = match living::apply(&mut state, &change, at, || {
        Ok(usize::try_from(pins).unwrap_or(usize::MAX))
    }) {
        Ok(effect) => effect,
        Err(refused) => return Ok(Err(refused)),
    };
    if effect == Effect::Nothing {
        let rev = message.living.rev;
        state.show_on(&mut message, rev);
        return Ok(Ok(Changed::Unchanged(message)));
    }
    let rev: i64 = tx
        .query_one(
            "UPDATE rooms SET last_rev = last_rev + 1 WHERE room_id = $1 RETURNING last_rev",
            &[&room],
        )
        .map_err(pg_error)?
        .get(0);
    state.show_on(&mut message, to_u64(rev));
    if effect == Effect::Text {
        message.mentions = change.mentions.iter().map(|m| m.name.clone()).collect();
    }
    write_change(
        tx,
        (room, seq, rev),
        (&state, effect),
        &message,
        &change,
        at,
    )?;
    Ok(Ok(Changed::Applied(message)))
}

/// Message `seq` of `room` read whole, with the state [`living::apply`] changes (its author
/// only when this claim of an owned name wrote it); `None` when it is not kept.
fn read_for_change(
    tx: &mut postgres::Transaction<'_>,
    room: RoomId,
    seq: u64,
) -> Result<Option<(ChatMessage, State)>> {
    let Some(row) = tx
        .query_opt(
            &format!(
                "SELECT {FIELDS}, {LIVING}, author_key, guest,
                     (SELECT before_ms FROM authors_forgotten f WHERE f.name_key = m.author_key)
                 FROM messages m WHERE room_id = $1 AND seq = $2"
            ),
            &[&room, &to_i64(seq)],
        )
        .map_err(pg_error)?
    else {
        return Ok(None);
    };
    let message = whole(&row)?;
    let guest: bool = row.get(19);
    let forgotten_before: Option<i64> = row.get(20);
    let written_by_this_claim =
        forgotten_before.is_none_or(|before| message.timestamp.timestamp_millis() >= before);
    let author_key = Some(row.get::<_, String>(18)).filter(|_| !guest && written_by_this_claim);
    let state = State::of(&message, author_key, reactions_of(&row)?);
    Ok(Some((message, state)))
}

/// Writes a change that took `rev`: the row (and its words), its mentions, the `clientId`, and
/// the announcement.
fn write_change(
    tx: &mut postgres::Transaction<'_>,
    (room, seq, rev): (RoomId, u64, i64),
    (state, effect): (&State, Effect),
    message: &ChatMessage,
    change: &Change<'_>,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.execute(
        "UPDATE messages SET text = $3, mentions = $4, words = to_tsvector('charla', $3),
             rev = $5, edited_ms = $6, deleted_ms = coalesce(deleted_ms, $7), reactions = $8,
             pinned_by = $9, pinned_ms = $10
         WHERE room_id = $1 AND seq = $2",
        &[
            &room,
            &to_i64(seq),
            &state.text,
            &message.mentions,
            &rev,
            &state.edited_at.map(|t| t.timestamp_millis()),
            &state.deleted.then(|| at.timestamp_millis()),
            &state.reactions.to_column(),
            &state.pinned.as_ref().map(|(by, _)| by.clone()),
            &state.pinned.as_ref().map(|(_, t)| t.timestamp_millis()),
        ],
    )
    .map_err(pg_error)?;
    if matches!(effect, Effect::Text | Effect::Deleted) {
        tx.execute(
            "DELETE FROM mentions WHERE room_id = $1 AND seq = $2",
            &[&room, &to_i64(seq)],
        )
        .map_err(pg_error)?;
    }
    if effect == Effect::Text {
        let keys: Vec<String> = change.mentions.iter().map(|m| m.key.clone()).collect();
        tx.execute(
            "INSERT INTO mentions (name_key, room_id, seq)
             SELECT unnest($3::text[]), $1, $2 ON CONFLICT DO NOTHING",
            &[&room, &to_i64(seq), &keys],
        )
        .map_err(pg_error)?;
    }
    if let Some(client_id) = change.client_id {
        tx.execute(
            "INSERT INTO change_ids (room_id, author_key, client_id, seq, rev)
             VALUES ($1, $2, $3, $4, $5)",
            &[&room, &change.by.key, &client_id, &to_i64(seq), &rev],
        )
        .map_err(pg_error)?;
        tx.execute(
            "DELETE FROM change_ids WHERE room_id = $1 AND rev <= $2",
            &[&room, &(rev - KEPT_CHANGE_IDS)],
        )
        .map_err(pg_error)?;
    }
    tx.execute(
        &format!(
            "SELECT pg_notify('{CHANGES_CHANNEL}', $1::bigint::text || ':' || $2::bigint::text)"
        ),
        &[&room, &rev],
    )
    .map_err(pg_error)?;
    Ok(())
}
