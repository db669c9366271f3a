-- Threads: replies kept in the room with their root, with their own `seq` (a thread's order is
-- the room's). A root counts its replies and says when the newest came; each reply raises the
-- room's `rev`, gives it to the root and announces it on `charla_changes`, so the root's
-- change reaches every node as any change does. All of it in the reply's own transaction (a
-- batch of messages included), by the triggers below.
ALTER TABLE messages ADD COLUMN thread_root BIGINT;
ALTER TABLE messages ADD COLUMN also_in_room BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN replies BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN last_reply_ms BIGINT;
CREATE INDEX messages_in_thread ON messages (room_id, thread_root, seq)
    WHERE thread_root IS NOT NULL;

-- Who follows a thread: its root's author, whoever replied, whoever a reply mentioned; with
-- the `seq` up to which each has read its replies.
CREATE TABLE thread_follows (
    room_id BIGINT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    root BIGINT NOT NULL,
    name_key TEXT NOT NULL,
    read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, root, name_key)
);
CREATE INDEX thread_follows_by_name ON thread_follows (name_key);

CREATE FUNCTION charla_replied() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_rev BIGINT;
BEGIN
    UPDATE rooms SET last_rev = last_rev + 1 WHERE room_id = NEW.room_id
        RETURNING last_rev INTO next_rev;
    UPDATE messages SET replies = replies + 1, last_reply_ms = NEW.timestamp_ms, rev = next_rev
        WHERE room_id = NEW.room_id AND seq = NEW.thread_root;
    IF NOT NEW.guest THEN
        INSERT INTO thread_follows (room_id, root, name_key, read_seq)
            VALUES (NEW.room_id, NEW.thread_root, NEW.author_key, NEW.seq)
            ON CONFLICT (room_id, root, name_key)
            DO UPDATE SET read_seq = greatest(thread_follows.read_seq, NEW.seq);
    END IF;
    INSERT INTO thread_follows (room_id, root, name_key)
        SELECT room_id, seq, author_key FROM messages
        WHERE room_id = NEW.room_id AND seq = NEW.thread_root AND NOT guest
        ON CONFLICT DO NOTHING;
    PERFORM pg_notify('charla_changes', NEW.room_id::text || ':' || next_rev::text);
    RETURN NULL;
END $$;
CREATE TRIGGER messages_replied AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.thread_root IS NOT NULL) EXECUTE FUNCTION charla_replied();

CREATE FUNCTION charla_mention_follows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO thread_follows (room_id, root, name_key)
        SELECT room_id, thread_root, NEW.name_key FROM messages
        WHERE room_id = NEW.room_id AND seq = NEW.seq AND thread_root IS NOT NULL
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER mentions_follow AFTER INSERT ON mentions
    FOR EACH ROW EXECUTE FUNCTION charla_mention_follows();
