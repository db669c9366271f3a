-- Living messages: edits, deletions, reactions and pins (DESIGN.md, "Living messages").
-- A message keeps its `seq`; each change gives it its room's next `rev` (`rooms.last_rev`, the
-- room's change counter), so a client that reconnects with the highest `rev` it has gets
-- every message changed since, once, in the order of the changes.

-- Who may edit or delete: the key of the owned name that wrote it (NULL for guests and for
-- messages stored before this version), unless the name was claimed afresh since.
ALTER TABLE messages ADD COLUMN author_key TEXT;
ALTER TABLE messages ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_ms INTEGER;
-- A deleted message keeps its row (`seq`, author, time) with an empty text.
ALTER TABLE messages ADD COLUMN deleted_ms INTEGER;
-- `[{"emoji": "👍", "by": [["name key", "Name"], …]}, …]`, NULL when none.
ALTER TABLE messages ADD COLUMN reactions TEXT;
ALTER TABLE messages ADD COLUMN pinned_by TEXT;
ALTER TABLE messages ADD COLUMN pinned_ms INTEGER;
CREATE INDEX messages_changed ON messages (room_id, rev) WHERE rev > 0;
CREATE INDEX messages_pinned ON messages (room_id, pinned_ms) WHERE pinned_ms IS NOT NULL;

ALTER TABLE rooms ADD COLUMN last_rev INTEGER NOT NULL DEFAULT 0;

-- Names claimed afresh: their messages from before `before_ms` were written by whoever had
-- the name then, and nobody may edit or delete them (one row per name, not a rewrite of
-- every message it wrote).
CREATE TABLE authors_forgotten (
    name_key TEXT PRIMARY KEY,
    before_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- Changes applied with a `clientId`, so that a retry is answered and not applied again.
-- Pruned with the messages they changed, and to the newest 10,000 of each room.
CREATE TABLE change_ids (
    room_id INTEGER NOT NULL,
    author_key TEXT NOT NULL,
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    PRIMARY KEY (room_id, author_key, client_id)
) WITHOUT ROWID;
CREATE INDEX change_ids_by_rev ON change_ids (room_id, rev);

-- An edited or deleted text leaves the search index (the next pass indexes the new text).
CREATE TRIGGER messages_reindex AFTER UPDATE OF text ON messages
BEGIN
    INSERT OR IGNORE INTO search_changes (row) VALUES (old.rowid);
END;
