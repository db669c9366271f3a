-- The history database (`history.db`): messages, rooms, members, read markers and mentions.
-- Written with IF NOT EXISTS: a database from before versions ran this too, then the checks of
-- `store/sqlite/before_versions.rs` brought its older tables up to it.

-- One order per room, `(room_id, seq)` unique. Rows stay in a rowid table (appended in commit
-- order) with a small index beside it: clustered on `(room_id, seq)` (WITHOUT ROWID), whole
-- messages sat in the key's B-tree on 1 KiB pages and fan-out measured about 10 % lower. The
-- rowid is also what the search index refers to.
CREATE TABLE IF NOT EXISTS messages (
    room_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    username TEXT NOT NULL,
    text TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    client_id TEXT,
    guest INTEGER NOT NULL DEFAULT 0,
    mentions TEXT,
    UNIQUE (room_id, seq)
);
-- The history's epoch, and what older versions noted.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- A room's highest `seq`, recorded when retention empties it (so `seq`s never start over).
CREATE TABLE IF NOT EXISTS room_seqs (room_id INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS rooms (
    room_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL DEFAULT '',
    creator TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    -- Since when it has had no members (NULL: it has some).
    emptied_ms INTEGER
);
INSERT OR IGNORE INTO rooms (room_id, name, kind, topic, creator, created_ms)
    VALUES (1, 'general', 'room', '', '', 0);
-- Names are referred to by their uniqueness key (the name book's).
CREATE TABLE IF NOT EXISTS members (
    room_id INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    joined_ms INTEGER NOT NULL,
    PRIMARY KEY (room_id, name_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_name ON members (name_key);
CREATE TABLE IF NOT EXISTS read_markers (
    name_key TEXT NOT NULL,
    room_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (name_key, room_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mentions (
    name_key TEXT NOT NULL,
    room_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (name_key, room_id, seq)
) WITHOUT ROWID;

-- Removed messages, until the search index (a file of its own) has forgotten them.
CREATE TABLE IF NOT EXISTS search_changes (row INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS messages_unindex AFTER DELETE ON messages
BEGIN
    INSERT OR IGNORE INTO search_changes (row) VALUES (old.rowid);
END;
