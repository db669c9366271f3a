// The open conversation's header: its name, its topic (editable in place by its members), how
// many are in it, and its actions: mute, leave, the pinned messages (with their count), search. Done editing (saved, cancelled,
// Escape), the focus goes back to "Edit topic".
import { useEffect, useRef, useState } from 'react';
import { GENERAL, type Conversation } from '../lib/conversations';
import { titleOf } from '../lib/rooms';
import { Name } from './Name';
import { MutedIcon } from './Sidebar';

interface Props {
  conversation: Conversation;
  me: string | null;
  owned: boolean;
  /** Shown as the count: `general`'s is who is online. */
  people: number;
  muted: boolean;
  onSetTopic: (topic: string) => Promise<boolean>;
  onToggleMute: () => void;
  onLeave: () => void;
  onSearch: () => void;
  /** How many of the loaded messages are pinned. */
  pinned: number;
  onPinned: () => void;
}

export function RoomHeader({ conversation: c, me, owned, people, muted, onSetTopic, onToggleMute, onLeave, onSearch, pinned, onPinned }: Props) {
  const [editing, setEditing] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  const dm = c.kind === 'dm';
  const general = c.room === GENERAL;

  const stopEditing = () => {
    refocus.current = true;
    setEditing(null);
  };

  useEffect(() => {
    if (editing !== null || !refocus.current) return;
    refocus.current = false;
    editButton.current?.focus();
  }, [editing]);

  const save = async () => {
    if (editing === null) return;
    setBusy(true);
    const saved = await onSetTopic(editing.trim());
    setBusy(false);
    if (saved) stopEditing();
  };

  return (
    <header className="room-header" data-testid="room-header" data-room={c.room}>
      <div className="room-title">
        <h1 id="room-title">
          <Name name={titleOf(c, me)} />
        </h1>
        {muted ? <MutedIcon /> : null}
        {dm ? null : <span className="room-count">{general ? `${people} online` : `${people} member${people === 1 ? '' : 's'}`}</span>}
      </div>
      {editing !== null ? (
        <div className="topic-edit">
          <input
            aria-label="Topic"
            value={editing}
            maxLength={200}
            autoFocus
            disabled={busy}
            onChange={(e) => setEditing(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                void save();
              } else if (e.key === 'Escape') {
                e.preventDefault();
                e.stopPropagation();
                stopEditing();
              }
            }}
          />
          <button type="button" onClick={() => void save()} disabled={busy}>
            Save
          </button>
          <button type="button" onClick={stopEditing} disabled={busy}>
            Cancel
          </button>
        </div>
      ) : (
        <p className="topic" data-testid="room-topic" title={c.topic || undefined}>
          {c.topic ? <bdi>{c.topic}</bdi> : dm ? 'Direct message' : 'No topic'}
        </p>
      )}
      <div className="room-actions">
        {!dm && owned && editing === null ? (
          <button type="button" ref={editButton} onClick={() => setEditing(c.topic)}>
            Edit topic
          </button>
        ) : null}
        <button type="button" aria-pressed={muted} onClick={onToggleMute} title={muted ? 'Notifications and counts for mentions only' : undefined}>
          Mute
        </button>
        {/* The server keeps everyone in general and both people in a DM. */}
        {!general && !dm && owned ? (
          <button type="button" onClick={onLeave}>
            Leave
          </button>
        ) : null}
        <button type="button" onClick={onPinned} data-testid="pinned-button" aria-label={pinned > 0 ? `Pinned messages: ${pinned}` : 'Pinned messages'}>
          Pinned{pinned > 0 ? <span className="pin-count"> {pinned}</span> : null}
        </button>
        <button type="button" onClick={onSearch} title="Search messages (Ctrl+F)">
          Search
        </button>
      </div>
    </header>
  );
}
