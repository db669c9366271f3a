-- The search index (`history.search.db`): a copy of each message's fields and its full-text
-- index, filled from the history in batches. An index of another history (its epoch in `meta`)
-- is emptied and filled again.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    row INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    username TEXT NOT NULL,
    text TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    client_id TEXT,
    guest INTEGER NOT NULL,
    mentions TEXT
);
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(
    text, room_id UNINDEXED,
    content = 'entries', content_rowid = 'row',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS entries_indexed AFTER INSERT ON entries
BEGIN
    INSERT INTO entries_fts (rowid, text, room_id) VALUES (new.row, new.text, new.room_id);
END;
CREATE TRIGGER IF NOT EXISTS entries_unindexed AFTER DELETE ON entries
BEGIN
    INSERT INTO entries_fts (entries_fts, rowid, text, room_id)
        VALUES ('delete', old.row, old.text, old.room_id);
END;
