-- Several nodes on one database. Rooms changed by any node are announced to every node: each change to a room (made, topic,
-- a member in or out) raises its `version` and says so on `charla_rooms` (`<room_id>`); a
-- node whose copy of the room is older reads it again. Read markers moving are said on
-- `charla_markers` (`<room_id>:<seq>:<name_key>`) so the name's devices on other nodes hear
-- of it. Announcements go out only if the change commits.
ALTER TABLE rooms ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION charla_room_made() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('charla_rooms', NEW.room_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER room_made AFTER INSERT ON rooms
    FOR EACH ROW EXECUTE FUNCTION charla_room_made();

CREATE FUNCTION charla_room_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.topic IS DISTINCT FROM OLD.topic OR NEW.name IS DISTINCT FROM OLD.name THEN
        NEW.version := OLD.version + 1;
        PERFORM pg_notify('charla_rooms', NEW.room_id::text);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER room_renamed BEFORE UPDATE OF topic, name ON rooms
    FOR EACH ROW EXECUTE FUNCTION charla_room_renamed();

CREATE FUNCTION charla_members_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.room_id ELSE NEW.room_id END;
BEGIN
    UPDATE rooms SET version = version + 1 WHERE room_id = changed;
    PERFORM pg_notify('charla_rooms', changed::text);
    RETURN NULL;
END $$;
CREATE TRIGGER members_changed AFTER INSERT OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION charla_members_changed();

CREATE FUNCTION charla_marker_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.seq > OLD.seq THEN
        PERFORM pg_notify('charla_markers',
            NEW.room_id::text || ':' || NEW.seq::text || ':' || NEW.name_key);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER marker_moved AFTER INSERT OR UPDATE ON read_markers
    FOR EACH ROW EXECUTE FUNCTION charla_marker_moved();

-- Presence across nodes: each node says every second that it is alive (`nodes.seen_ms`, the
-- database's clock) and which names its connections hold (`presence`). A node silent for
-- long is gone: any node deletes it, and its names with it. A guest's name is held once in
-- the whole cluster (the partial unique index); an owned name by any of its devices, on any
-- node. Rows in or out are announced on `charla_presence` (no payload: nodes read the table).
CREATE TABLE nodes (
    node TEXT PRIMARY KEY,
    seen_ms BIGINT NOT NULL
);
CREATE TABLE presence (
    node TEXT NOT NULL REFERENCES nodes (node) ON DELETE CASCADE,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    guest BOOLEAN NOT NULL,
    PRIMARY KEY (node, name_key)
);
CREATE UNIQUE INDEX presence_one_guest ON presence (name_key) WHERE guest;

CREATE FUNCTION charla_presence_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('charla_presence', '');
    RETURN NULL;
END $$;
CREATE TRIGGER presence_changed AFTER INSERT OR DELETE ON presence
    FOR EACH ROW EXECUTE FUNCTION charla_presence_changed();
