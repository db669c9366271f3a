-- Living messages: edits, deletions, reactions and pins (DESIGN.md, "Living messages").
-- A message keeps its `seq`; each change gives it its room's next `rev` (`rooms.last_rev`,
-- raised in the transaction that changes the message, whose row lock orders two nodes'
-- changes), and says so on `charla_changes` (`<room_id>:<rev>`) so other nodes deliver it.

ALTER TABLE messages ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN edited_ms BIGINT;
-- A deleted message keeps its row (`seq`, author, time) with an empty text and no words.
ALTER TABLE messages ADD COLUMN deleted_ms BIGINT;
-- `[{"emoji": "👍", "by": [["name key", "Name"], …]}, …]`, NULL when none.
ALTER TABLE messages ADD COLUMN reactions TEXT;
ALTER TABLE messages ADD COLUMN pinned_by TEXT;
ALTER TABLE messages ADD COLUMN pinned_ms BIGINT;
CREATE INDEX messages_changed ON messages (room_id, rev) WHERE rev > 0;
CREATE INDEX messages_pinned ON messages (room_id, pinned_ms) WHERE pinned_ms IS NOT NULL;

ALTER TABLE rooms ADD COLUMN last_rev BIGINT NOT NULL DEFAULT 0;

-- Names claimed afresh: their messages from before `before_ms` were written by whoever had
-- the name then, and nobody may edit or delete them (one row per name, not a rewrite of
-- every message it wrote). Guests' messages are nobody's either (`messages.guest`).
CREATE TABLE authors_forgotten (
    name_key TEXT PRIMARY KEY,
    before_ms BIGINT NOT NULL
);

-- Changes applied with a `clientId`, so that a retry sent to any node is answered and not
-- applied again. Pruned with the messages they changed, and to the newest 10,000 of a room.
CREATE TABLE change_ids (
    room_id BIGINT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    author_key TEXT NOT NULL,
    client_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    rev BIGINT NOT NULL,
    PRIMARY KEY (room_id, author_key, client_id)
);
CREATE INDEX change_ids_by_rev ON change_ids (room_id, rev);
