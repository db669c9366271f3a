-- Charla on PostgreSQL, version 1: what one SQLite node keeps (history, rooms, members, read
-- markers, mentions, owned names and their devices and link codes), shared by every node.
-- Times are milliseconds since 1970 (as in SQLite), names are referred to by their key.

-- Search matches words without case or accents (`cafe` finds `Café`): the `simple` parser and
-- dictionary (no stemming: messages are in any language), after `unaccent` (a trusted
-- extension: the database's owner may add it).
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION charla (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION charla
    ALTER MAPPING FOR asciihword, asciiword, hword, hword_asciipart, hword_part, word
    WITH unaccent, simple;

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A room's `last_seq` is its counter: the next message takes `last_seq + 1` in the
-- transaction that stores it (the row lock orders commits by `seq`; a rollback leaves no gap).
CREATE TABLE rooms (
    room_id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL DEFAULT '',
    creator TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0
);
INSERT INTO rooms (room_id, name, kind, topic, creator, created_ms)
    VALUES (1, 'general', 'room', '', '', 0);
SELECT setval('rooms_room_id_seq', 1);

-- `pos` numbers every message of every room in the order stored (search pages by it); `seq`
-- is the room's own order.
CREATE TABLE messages (
    pos BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    room_id BIGINT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    username TEXT NOT NULL,
    author_key TEXT NOT NULL,
    text TEXT NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    client_id TEXT,
    guest BOOLEAN NOT NULL,
    mentions TEXT[] NOT NULL DEFAULT '{}',
    words TSVECTOR NOT NULL,
    PRIMARY KEY (room_id, seq),
    -- A retry sent to any node finds the stored message instead of making a second one.
    UNIQUE (room_id, author_key, client_id)
);
CREATE INDEX messages_words ON messages USING GIN (words);
CREATE INDEX messages_with_ids ON messages (pos) WHERE client_id IS NOT NULL;

CREATE TABLE members (
    room_id BIGINT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    joined_ms BIGINT NOT NULL,
    PRIMARY KEY (room_id, name_key)
);
CREATE INDEX members_by_name ON members (name_key);

CREATE TABLE read_markers (
    name_key TEXT NOT NULL,
    room_id BIGINT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    PRIMARY KEY (name_key, room_id)
);

CREATE TABLE mentions (
    name_key TEXT NOT NULL,
    room_id BIGINT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    PRIMARY KEY (name_key, room_id, seq)
);

CREATE TABLE names (
    name_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

-- Never reused: a connection holding a released device's id must not find it again.
CREATE TABLE devices (
    id BIGSERIAL PRIMARY KEY,
    name_key TEXT NOT NULL REFERENCES names (name_key) ON DELETE CASCADE,
    key_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    UNIQUE (name_key, key_hash)
);

CREATE TABLE links (
    code_hash TEXT PRIMARY KEY,
    name_key TEXT NOT NULL REFERENCES names (name_key) ON DELETE CASCADE,
    expires_ms BIGINT NOT NULL
);
