-- Threads: replies kept in the room with their root, with their own `seq` (a thread's order is
-- the room's). A root counts its replies and says when the newest came; each reply raises the
-- room's `rev` and gives it to the root, so the root's change reaches every client as any
-- change does. All of it in the reply's own transaction, by the triggers below.
ALTER TABLE messages ADD COLUMN thread_root INTEGER;
ALTER TABLE messages ADD COLUMN also_in_room INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN replies INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN last_reply_ms INTEGER;
CREATE INDEX messages_in_thread ON messages (room_id, thread_root, seq)
    WHERE thread_root IS NOT NULL;

-- Who follows a thread: its root's author, whoever replied, whoever a reply mentioned; with
-- the `seq` up to which each has read its replies.
CREATE TABLE thread_follows (
    room_id INTEGER NOT NULL,
    root INTEGER NOT NULL,
    name_key TEXT NOT NULL,
    read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, root, name_key)
) WITHOUT ROWID;
CREATE INDEX thread_follows_by_name ON thread_follows (name_key);

CREATE TRIGGER messages_replied AFTER INSERT ON messages
WHEN new.thread_root IS NOT NULL
BEGIN
    UPDATE rooms SET last_rev = last_rev + 1 WHERE room_id = new.room_id;
    UPDATE messages SET replies = replies + 1,
        last_reply_ms = CAST(strftime('%s', new.timestamp) AS INTEGER) * 1000
            + CAST(substr(new.timestamp, 21, 3) AS INTEGER),
        rev = (SELECT last_rev FROM rooms WHERE room_id = new.room_id)
    WHERE room_id = new.room_id AND seq = new.thread_root;
    INSERT OR IGNORE INTO thread_follows (room_id, root, name_key, read_seq)
    SELECT new.room_id, new.thread_root, new.author_key, new.seq
    WHERE new.author_key IS NOT NULL;
    INSERT OR IGNORE INTO thread_follows (room_id, root, name_key)
    SELECT room_id, seq, author_key FROM messages
    WHERE room_id = new.room_id AND seq = new.thread_root AND author_key IS NOT NULL;
    UPDATE thread_follows SET read_seq = max(read_seq, new.seq)
    WHERE room_id = new.room_id AND root = new.thread_root AND name_key = new.author_key;
END;

CREATE TRIGGER mentions_follow AFTER INSERT ON mentions
BEGIN
    INSERT OR IGNORE INTO thread_follows (room_id, root, name_key)
    SELECT room_id, thread_root, new.name_key FROM messages
    WHERE room_id = new.room_id AND seq = new.seq AND thread_root IS NOT NULL;
END;
