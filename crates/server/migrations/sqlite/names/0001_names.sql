-- The name book (`history.names.db`): owned names, their devices' key hashes, and link codes.
CREATE TABLE IF NOT EXISTS names (
    name_key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    -- Never reused: a connection holding a released device's id must not find it again.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name_key TEXT NOT NULL REFERENCES names(name_key) ON DELETE CASCADE,
    key_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    UNIQUE (name_key, key_hash)
);
CREATE TABLE IF NOT EXISTS links (
    code_hash TEXT PRIMARY KEY,
    name_key TEXT NOT NULL REFERENCES names(name_key) ON DELETE CASCADE,
    expires_ms INTEGER NOT NULL
);
