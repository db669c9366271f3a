-- A changed message leaves the search index only when its text changed: a reaction or a pin
-- rewrites the row (its `text` among the columns set) but not the text, and must not send
-- the message through the index again.
DROP TRIGGER IF EXISTS messages_reindex;
CREATE TRIGGER messages_reindex AFTER UPDATE OF text ON messages
WHEN old.text IS NOT new.text
BEGIN
    INSERT OR IGNORE INTO search_changes (row) VALUES (old.rowid);
END;
