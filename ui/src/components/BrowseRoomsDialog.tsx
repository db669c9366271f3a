// Browse rooms: the server's public rooms, most recently active first, with their topics and
// sizes; join one, or open one this name is in already.
import { useEffect, useState } from 'react';
import { api, toAppError } from '../api';
import { dayLabel, timeLabel } from '../lib/chatState';
import type { RoomEntered, RoomSummary } from '../types';
import { Dialog } from './Dialog';
import { FormError } from './FormError';

interface Props {
  onClose: () => void;
  onEntered: (entered: RoomEntered) => void;
  onOpen: (room: string) => void;
}

export function BrowseRoomsDialog({ onClose, onEntered, onOpen }: Props) {
  const [rooms, setRooms] = useState<RoomSummary[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    api.listRooms().then(
      (list) => !cancelled && setRooms(list.rooms),
      (e: unknown) => !cancelled && setError(toAppError(e).message),
    );
    return () => {
      cancelled = true;
    };
  }, []);

  const join = async (room: string) => {
    setBusy(room);
    setError(null);
    try {
      onEntered(await api.joinRoom(room));
    } catch (e) {
      setError(toAppError(e).message);
      setBusy(null);
    }
  };

  const q = filter.trim().replace(/^#/u, '').toLowerCase();
  const shown = (rooms ?? []).filter((r) => q === '' || r.room.includes(q) || r.topic.toLowerCase().includes(q));
  return (
    <Dialog title="Browse rooms" onClose={onClose} testId="browse-rooms">
      <input aria-label="Filter rooms" placeholder="Filter by name or topic" value={filter} onChange={(e) => setFilter(e.target.value)} data-autofocus />
      {rooms === null && !error ? <p className="hint" role="status">Loading rooms…</p> : null}
      {rooms !== null && shown.length === 0 ? <p className="hint">No rooms{q ? ' match' : ' yet'}.</p> : null}
      <ul className="room-list" aria-label="Rooms">
        {shown.map((r) => (
          <li key={r.room} data-room={r.room}>
            <div className="room-summary">
              <strong>#{r.room}</strong>
              <span className="hint">
                {r.members} member{r.members === 1 ? '' : 's'}
                {r.lastActivity ? ` · active ${dayLabel(r.lastActivity).toLowerCase()} ${timeLabel(r.lastActivity)}` : ''}
              </span>
              {r.topic ? <bdi className="topic">{r.topic}</bdi> : null}
            </div>
            {r.joined ? (
              <button type="button" aria-label={`Open ${r.room}`} onClick={() => onOpen(r.room)}>
                Open
              </button>
            ) : (
              <button type="button" aria-label={`Join ${r.room}`} disabled={busy !== null} onClick={() => void join(r.room)}>
                {busy === r.room ? 'Joining…' : 'Join'}
              </button>
            )}
          </li>
        ))}
      </ul>
      <FormError message={error} />
      <div className="actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
