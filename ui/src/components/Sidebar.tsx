// The conversations: rooms (`general` first) and direct messages, each with its counts, and the
// actions that add one. A guest has `general` only, and is told why (once the join says so).
import type { Conversation } from '../lib/conversations';
import { countsLabel, dmPeer, entryLook, sections } from '../lib/rooms';
import { Name } from './Name';

interface Props {
  conversations: Readonly<Record<string, Conversation>>;
  current: string;
  me: string | null;
  owned: boolean;
  /** The join said this name is a guest's (until the join, nobody is told anything). */
  guest: boolean;
  muted: Set<string>;
  onOpen: (room: string) => void;
  onBrowse: () => void;
  onNewRoom: () => void;
  onNewMessage: () => void;
}

export function Sidebar({ conversations, current, me, owned, guest, muted, onOpen, onBrowse, onNewRoom, onNewMessage }: Props) {
  const { rooms, dms } = sections(conversations, me);
  const entry = (c: Conversation) => (
    <li key={c.room}>
      <Entry conversation={c} name={c.kind === 'dm' ? dmPeer(c, me) : c.room} current={c.room === current} muted={muted.has(c.room)} onOpen={onOpen} />
    </li>
  );
  return (
    <nav className="sidebar" aria-label="Conversations">
      <h2 id="rooms-heading">Rooms</h2>
      <ul aria-labelledby="rooms-heading">{(owned ? rooms : rooms.filter((c) => c.room === 'general')).map(entry)}</ul>
      {owned ? (
        <div className="sidebar-actions">
          <button type="button" onClick={onBrowse}>
            Browse rooms
          </button>
          <button type="button" onClick={onNewRoom}>
            New room
          </button>
        </div>
      ) : null}
      <h2 id="dms-heading">Direct messages</h2>
      {owned ? (
        <>
          {dms.length > 0 ? <ul aria-labelledby="dms-heading">{dms.map(entry)}</ul> : null}
          <div className="sidebar-actions">
            <button type="button" onClick={onNewMessage}>
              New message
            </button>
          </div>
        </>
      ) : guest ? (
        <p className="hint" data-testid="guest-rooms-hint">
          Own your name to use rooms and direct messages
        </p>
      ) : null}
    </nav>
  );
}

function Entry({ conversation: c, name, current, muted, onOpen }: { conversation: Conversation; name: string; current: boolean; muted: boolean; onOpen: (room: string) => void }) {
  const { bold, dim, badge } = entryLook(c.unread, c.mentions, muted);
  return (
    <button
      type="button"
      className={`entry${bold ? ' unread' : ''}${dim ? ' dim' : ''}${muted ? ' muted' : ''}`}
      data-room={c.room}
      data-unread={c.unread}
      data-mentions={c.mentions}
      aria-current={current ? 'page' : undefined}
      onClick={() => onOpen(c.room)}
    >
      <span className="entry-mark" aria-hidden="true">
        {c.kind === 'dm' ? '@' : '#'}
      </span>
      {/* The accessible name is the name and the counts in words: "ops, 3 unread, 1 mention". */}
      <Name className="entry-name" name={name} />
      <span className="sr-only">{countsLabel(c.unread, c.mentions, muted)}</span>
      {muted ? <MutedIcon /> : null}
      {badge ? (
        <span className={`badge${c.mentions > 0 ? ' badge-mention' : ''}`} aria-hidden="true">
          {badge}
        </span>
      ) : null}
    </button>
  );
}

/** A bell with a line through it. */
export function MutedIcon() {
  return (
    <svg className="muted-icon" width="14" height="14" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      <path d="M8 2a4 4 0 0 0-4 4v2.5L2.5 11h11L12 8.5V6a4 4 0 0 0-4-4Zm-1.5 10.5a1.5 1.5 0 0 0 3 0" fill="none" stroke="currentColor" strokeWidth="1.4" />
      <path d="M2 2l12 12" stroke="currentColor" strokeWidth="1.4" />
    </svg>
  );
}
