//! Rooms, their members, read markers and mentions, in the history database beside the
//! messages: what a restart must find again.
//!
//! Members and markers refer to names by their uniqueness key (the name book's). A name that is
//! claimed afresh (its owner released it, or it went idle) belongs to someone else: its rooms,
//! DMs and markers are forgotten first ([`SqliteStore::forget_name`]).

use charla_protocol::chat::{ChatMessage, RoomKind, GENERAL_ROOM};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Transaction};

use super::{last_seq_of, newest, parts_to_message, row_to_parts, SqliteStore};
use super::{Member, RoomId, StoredRoom, EXPIRE_BATCH, GENERAL, MESSAGE_FIELDS, RETIRED_PREFIX};
use crate::error::{Error, Result};

fn kind_text(kind: RoomKind) -> &'static str {
    match kind {
        RoomKind::Room => "room",
        RoomKind::Dm => "dm",
    }
}

impl SqliteStore {
    /// Makes a room with its first members, in one transaction; a DM (`name` `None`) is named
    /// `dm:<its number>`. Returns the number and the name.
    ///
    /// # Errors
    /// When the database cannot be written (or the name is taken: the chat checks first).
    pub fn create_room(
        &self,
        name: Option<&str>,
        kind: RoomKind,
        topic: &str,
        members: &[Member],
        at: DateTime<Utc>,
    ) -> Result<(RoomId, String)> {
        let mut writer = self.write();
        let tx = writer.conn.transaction()?;
        let creator = members.first().map_or("", |m| m.key.as_str());
        // A placeholder that no room name can be (`:`), replaced by the real one below.
        let pending = format!("pending:{}", rand::random::<u64>());
        // Past every room that ever was: a retired room's number is never given again (its
        // messages may still be in the search index for a moment).
        tx.prepare_cached(
            "INSERT INTO rooms (room_id, name, kind, topic, creator, created_ms)
             VALUES (max(coalesce((SELECT max(room_id) FROM rooms), 0),
                         coalesce((SELECT CAST(value AS INTEGER) FROM meta
                                   WHERE key = 'last_room_id'), 0)) + 1,
                     ?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            pending,
            kind_text(kind),
            topic,
            creator,
            at.timestamp_millis()
        ])?;
        let id = tx.last_insert_rowid();
        let name = name.map_or_else(|| format!("dm:{id}"), str::to_owned);
        tx.prepare_cached("UPDATE rooms SET name = ?1 WHERE room_id = ?2")?
            .execute(params![name, id])?;
        for member in members {
            insert_member(&tx, id, member, at)?;
        }
        tx.commit()?;
        Ok((id, name))
    }

    /// Adds a member (nothing when it is one already).
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn add_member(&self, room: RoomId, member: &Member, at: DateTime<Utc>) -> Result<()> {
        let mut writer = self.write();
        let tx = writer.conn.transaction()?;
        insert_member(&tx, room, member, at)?;
        tx.prepare_cached("UPDATE rooms SET emptied_ms = NULL WHERE room_id = ?1")?
            .execute([room])?;
        tx.commit()?;
        Ok(())
    }

    /// Removes a member and its read marker of the room; a room left without members is noted
    /// as empty since `at`.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn remove_member(&self, room: RoomId, key: &str, at: DateTime<Utc>) -> Result<()> {
        let mut writer = self.write();
        let tx = writer.conn.transaction()?;
        tx.prepare_cached("DELETE FROM members WHERE room_id = ?1 AND name_key = ?2")?
            .execute(params![room, key])?;
        tx.prepare_cached("DELETE FROM read_markers WHERE room_id = ?1 AND name_key = ?2")?
            .execute(params![room, key])?;
        note_empty(&tx, room, at)?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets every membership, marker and mention of a name claimed afresh: the person who
    /// claims it is not the one who had it. Rooms left without members are noted as empty
    /// since `at`.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn forget_name(&self, key: &str, at: DateTime<Utc>) -> Result<()> {
        let mut writer = self.write();
        let tx = writer.conn.transaction()?;
        let rooms: Vec<RoomId> = tx
            .prepare_cached("SELECT room_id FROM members WHERE name_key = ?1")?
            .query_map([key], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for table in ["members", "read_markers", "mentions", "thread_follows"] {
            tx.execute(&format!("DELETE FROM {table} WHERE name_key = ?1"), [key])?;
        }
        tx.execute(
            "INSERT INTO authors_forgotten (name_key, before_ms) VALUES (?1, ?2)
             ON CONFLICT (name_key) DO UPDATE SET before_ms = excluded.before_ms",
            params![key, at.timestamp_millis()],
        )?;
        for room in rooms {
            note_empty(&tx, room, at)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Retires a room that has had no members since before `emptied_before`: renamed (its
    /// name free), its members, markers and mentions gone, its number recorded so that no
    /// room is ever given it again (the search index still holds its messages for a moment).
    /// False, doing nothing, when it is not so empty.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn retire_room(&self, room: RoomId, emptied_before: DateTime<Utc>) -> Result<bool> {
        if room == GENERAL {
            return Ok(false);
        }
        let mut writer = self.write();
        let tx = writer.conn.transaction()?;
        let retired =
            tx.prepare_cached(
                "UPDATE rooms SET name = ?1 || room_id
                 WHERE room_id = ?2 AND name NOT LIKE ?1 || '%'
                   AND emptied_ms IS NOT NULL AND emptied_ms < ?3
                   AND NOT EXISTS (SELECT 1 FROM members WHERE room_id = ?2)",
            )?
            .execute(params![
                RETIRED_PREFIX,
                room,
                emptied_before.timestamp_millis()
            ])? > 0;
        if retired {
            for table in [
                "members",
                "read_markers",
                "mentions",
                "thread_follows",
                "change_ids",
            ] {
                tx.execute(&format!("DELETE FROM {table} WHERE room_id = ?1"), [room])?;
            }
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES ('last_room_id', ?1)
                 ON CONFLICT (key) DO UPDATE
                 SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            )?
            .execute([room])?;
        }
        tx.commit()?;
        Ok(retired)
    }

    /// Removes at most [`EXPIRE_BATCH`] messages of a retired room, then the room; true when
    /// nothing of it is left.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn purge_retired(&self, room: RoomId) -> Result<bool> {
        let mut writer = self.write();
        let writer = &mut *writer;
        let tx = writer.conn.transaction()?;
        let removed = tx
            .prepare_cached(
                "DELETE FROM messages WHERE rowid IN
                     (SELECT rowid FROM messages WHERE room_id = ?1 LIMIT ?2)",
            )?
            .execute(params![room, EXPIRE_BATCH])?;
        let done = u64::try_from(removed).unwrap_or(u64::MAX) < EXPIRE_BATCH;
        if done {
            tx.prepare_cached("DELETE FROM room_seqs WHERE room_id = ?1")?
                .execute([room])?;
            tx.prepare_cached("DELETE FROM rooms WHERE room_id = ?1 AND name LIKE ?2 || '%'")?
                .execute(params![room, RETIRED_PREFIX])?;
        }
        tx.commit()?;
        writer.next_seq.remove(&room);
        Ok(done)
    }

    /// Sets a room's topic.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn set_topic(&self, room: RoomId, topic: &str) -> Result<()> {
        self.write()
            .conn
            .prepare_cached("UPDATE rooms SET topic = ?1 WHERE room_id = ?2")?
            .execute(params![topic, room])?;
        Ok(())
    }

    /// Writes read markers (name key, room, seq), in one transaction; a marker never moves
    /// back.
    ///
    /// # Errors
    /// When the database cannot be written.
    pub fn save_markers(&self, markers: &[(String, RoomId, u64)]) -> Result<()> {
        let mut writer = self.write();
        let tx = writer.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO read_markers (name_key, room_id, seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name_key, room_id) DO UPDATE SET seq = max(seq, excluded.seq)",
            )?;
            for (key, room, seq) in markers {
                upsert.execute(params![key, room, seq])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Notes `room` as empty since `at` if it has no member left (and was not noted before).
fn note_empty(tx: &Transaction<'_>, room: RoomId, at: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "UPDATE rooms SET emptied_ms = ?2 WHERE room_id = ?1 AND room_id <> 1
             AND emptied_ms IS NULL
             AND NOT EXISTS (SELECT 1 FROM members WHERE room_id = ?1)",
    )?
    .execute(params![room, at.timestamp_millis()])?;
    Ok(())
}

fn insert_member(
    tx: &Transaction<'_>,
    room: RoomId,
    member: &Member,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO members (room_id, name_key, name, joined_ms) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![room, member.key, member.name, at.timestamp_millis()])?;
    Ok(())
}

/// Forgets the mentions, and the follows of threads, of messages retention removed (`seq`
/// below `keep_from`).
pub(super) fn drop_mentions_before(
    tx: &Transaction<'_>,
    room: RoomId,
    keep_from: u64,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM mentions WHERE room_id = ?1 AND seq < ?2")?
        .execute(params![room, keep_from])?;
    tx.prepare_cached("DELETE FROM thread_follows WHERE room_id = ?1 AND root < ?2")?
        .execute(params![room, keep_from])?;
    Ok(())
}

/// Records who a stored message mentions (inside its transaction).
pub(super) fn insert_mentions(
    tx: &Transaction<'_>,
    room: RoomId,
    seq: u64,
    keys: &[String],
) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO mentions (name_key, room_id, seq) VALUES (?1, ?2, ?3)",
    )?;
    for key in keys {
        insert.execute(params![key, room, seq])?;
    }
    Ok(())
}

/// Every room but `general`, with its members and newest `recent` messages.
pub(super) fn load(conn: &Connection, recent: usize) -> Result<Vec<StoredRoom>> {
    let mut rooms = Vec::new();
    let mut statement = conn
        .prepare("SELECT room_id, name, kind, topic, emptied_ms FROM rooms WHERE room_id <> ?1")?;
    let rows = statement.query_map([GENERAL], |row| {
        Ok((
            row.get::<_, RoomId>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, Option<i64>>(4)?,
        ))
    })?;
    let mut members = conn.prepare(
        "SELECT name_key, name FROM members WHERE room_id = ?1 ORDER BY joined_ms, name_key",
    )?;
    for row in rows {
        let (id, name, kind, topic, emptied_ms) = row?;
        let kind = match kind.as_str() {
            "room" => RoomKind::Room,
            "dm" => RoomKind::Dm,
            other => return Err(Error::Corrupt(format!("room {id}: kind {other:?}"))),
        };
        let members = members
            .query_map([id], |row| {
                Ok(Member {
                    key: row.get(0)?,
                    name: row.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let last_seq = last_seq_of(conn, id)?;
        let last_rev: u64 = conn
            .prepare_cached("SELECT last_rev FROM rooms WHERE room_id = ?1")?
            .query_row([id], |row| row.get(0))?;
        let oldest: Option<u64> = conn
            .prepare_cached("SELECT min(seq) FROM messages WHERE room_id = ?1")?
            .query_row([id], |row| row.get(0))?;
        rooms.push(StoredRoom {
            id,
            name,
            kind,
            topic,
            members,
            recent: newest(conn, id, recent, false)?,
            last_seq,
            last_rev,
            oldest_seq: oldest.unwrap_or(last_seq + 1),
            version: 0,
            emptied_at: emptied_ms.and_then(DateTime::from_timestamp_millis),
        });
    }
    Ok(rooms)
}

/// Every read marker: (name key, room, seq).
pub(super) fn load_markers(conn: &Connection) -> Result<Vec<(String, RoomId, u64)>> {
    let mut statement = conn.prepare("SELECT name_key, room_id, seq FROM read_markers")?;
    let markers = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(markers)
}

/// The newest `limit` messages with a `clientId`, of every room, oldest first, each with its
/// room's name (but `general`'s) and without its text (only the ids are remembered).
pub(super) fn recent_ids(conn: &Connection, limit: usize) -> Result<Vec<ChatMessage>> {
    let mut statement = conn.prepare(&format!(
        "SELECT {MESSAGE_FIELDS}, (SELECT name FROM rooms r WHERE r.room_id = m.room_id)
         FROM messages m WHERE client_id IS NOT NULL ORDER BY rowid DESC LIMIT ?1"
    ))?;
    let rows = statement.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
        Ok((row_to_parts(row)?, row.get::<_, Option<String>>(8)?))
    })?;
    let mut messages = Vec::new();
    for row in rows {
        let (parts, room) = row?;
        let mut message = parts_to_message(parts)?;
        message.text = String::new();
        message.room = room.filter(|name| name != GENERAL_ROOM);
        messages.push(message);
    }
    messages.reverse();
    Ok(messages)
}
