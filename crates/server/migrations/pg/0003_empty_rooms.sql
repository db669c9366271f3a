-- Rooms nobody is a member of are removed after a while (`--room-idle-days`): each room notes
-- since when it has had no members. Rooms empty already count from now.
ALTER TABLE rooms ADD COLUMN emptied_ms BIGINT;
UPDATE rooms SET emptied_ms = (extract(epoch FROM now()) * 1000)::BIGINT
WHERE room_id <> 1
  AND NOT EXISTS (SELECT 1 FROM members m WHERE m.room_id = rooms.room_id);
