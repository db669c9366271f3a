//! History files from before the schema had versions (`user_version` 0 with a `messages`
//! table): recognised once by what they hold and brought up to the first version, after which
//! only numbered migrations change them.
//!
//! What each older kind lacks: the `guest` column (from before owned names: their messages are
//! marked as guests', nobody owned a name then), `mentions`, rooms (every message numbered in
//! one sequence: those become `general`'s, with the same `seq`s clients hold), the rooms'
//! `emptied_ms` (empty ones count from now), and an index kept inside the history file
//! (`messages_fts`; the index has a file of its own now and is made again there).

use chrono::Utc;
use rusqlite::Connection;

use super::schema::version_of;
use crate::error::Result;
use crate::store::migrate::SQLITE_HISTORY;
use crate::store::GENERAL;

/// Brings a history file from before versions up to the first version's tables (the runner
/// then records it); nothing for a new file or a versioned one.
///
/// # Errors
/// When the file cannot be read or changed (each step is its own transaction: one that failed
/// is tried again at the next start).
pub(super) fn bring_up(conn: &mut Connection) -> Result<()> {
    if version_of(conn)? != 0 || !has_table(conn, "messages")? {
        return Ok(());
    }
    tracing::info!("a history from before schema versions: bringing it up to date");
    // The tables it lacks, made as the first version makes them.
    let first = first_version_sql();
    conn.execute_batch(first)?;
    add_column(
        conn,
        "guest",
        "INTEGER NOT NULL DEFAULT 1",
        "history from before owned names: its messages are marked as guests'",
    )?;
    add_column(
        conn,
        "mentions",
        "TEXT",
        "history from before mentions: a mentions column is added",
    )?;
    move_to_rooms(conn)?;
    drop_inline_index(conn)?;
    note_empty_rooms(conn)?;
    Ok(())
}

fn first_version_sql() -> &'static str {
    SQLITE_HISTORY.first().map_or("", |m| m.sql)
}

fn has_table(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists([table])
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
        .exists([table, column])
}

fn add_column(conn: &Connection, column: &str, definition: &str, why: &str) -> Result<()> {
    if !has_column(conn, "messages", column)? {
        conn.execute_batch(&format!(
            "ALTER TABLE messages ADD COLUMN {column} {definition}"
        ))?;
        tracing::info!("{why}");
    }
    Ok(())
}

/// Every message of a history from before rooms becomes `general`'s, with its `seq`, in one
/// transaction.
fn move_to_rooms(conn: &mut Connection) -> Result<()> {
    if has_column(conn, "messages", "room_id")? {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute_batch("ALTER TABLE messages RENAME TO messages_before_rooms;")?;
    tx.execute_batch(first_version_sql())?;
    tx.execute_batch(&format!(
        "INSERT INTO messages (room_id, seq, id, username, text, timestamp, client_id, guest)
            SELECT {GENERAL}, seq, id, username, text, timestamp, client_id, guest
            FROM messages_before_rooms;
        DROP TABLE messages_before_rooms;"
    ))?;
    // The removal trigger went with the old table, if it had one: made again on the new one.
    tx.execute_batch(first_version_sql())?;
    let moved: i64 = tx.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?;
    tx.commit()?;
    tracing::info!(
        messages = moved,
        "history from before rooms: its messages are general's now"
    );
    Ok(())
}

/// Removes the index older versions kept inside the history file.
fn drop_inline_index(conn: &Connection) -> Result<()> {
    let inline: bool = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'")?
        .exists([])?;
    if inline {
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS messages_fts_delete;
             DROP TABLE IF EXISTS messages_fts;
             DELETE FROM meta WHERE key = 'fts_indexed';",
        )?;
        tracing::info!("the search index moved to a file of its own; it is made again there");
    }
    Ok(())
}

/// Rooms from before empty ones were removed get the column; those without members count as
/// empty from now.
fn note_empty_rooms(conn: &mut Connection) -> Result<()> {
    if !has_column(conn, "rooms", "emptied_ms")? {
        let tx = conn.transaction()?;
        tx.execute_batch(&format!(
            "ALTER TABLE rooms ADD COLUMN emptied_ms INTEGER;
             UPDATE rooms SET emptied_ms = {}
             WHERE room_id <> {GENERAL}
               AND NOT EXISTS (SELECT 1 FROM members m WHERE m.room_id = rooms.room_id);",
            Utc::now().timestamp_millis()
        ))?;
        tx.commit()?;
        tracing::info!("rooms nobody is in are removed after a while: empty ones count from now");
    }
    Ok(())
}
