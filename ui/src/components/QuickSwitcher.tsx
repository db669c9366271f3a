// Ctrl+K: jump to a conversation by typing part of its name. Arrow keys move, Enter opens,
// Escape closes.
import { useId, useState, type KeyboardEvent } from 'react';
import { matchNames } from '../lib/switcher';
import { Dialog } from './Dialog';
import { Name } from './Name';

export interface SwitcherEntry {
  room: string;
  /** The room's name, or the other person's for a DM. */
  name: string;
  dm: boolean;
  unread: number;
  mentions: number;
}

export function QuickSwitcher({ entries, onChoose, onClose }: { entries: SwitcherEntry[]; onChoose: (room: string) => void; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const listId = useId();
  const shown = matchNames(query, entries);
  const selected = Math.min(active, shown.length - 1);

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (shown.length === 0) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((selected + step + shown.length) % shown.length);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const entry = shown[selected];
      if (entry) onChoose(entry.room);
    }
  };

  return (
    <Dialog title="Jump to conversation" onClose={onClose} testId="quick-switcher">
      <input
        role="combobox"
        aria-label="Conversation name"
        aria-expanded={shown.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={shown.length > 0 ? `${listId}-${selected}` : undefined}
        placeholder="Type a room or a person"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
        autoComplete="off"
        data-autofocus
      />
      <ul className="switcher-list" id={listId} role="listbox" aria-label="Conversations">
        {shown.map((entry, i) => (
          <li
            key={entry.room}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === selected}
            className={i === selected ? 'active' : undefined}
            data-room={entry.room}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => onChoose(entry.room)}
          >
            <span aria-hidden="true" className="entry-mark">
              {entry.dm ? '@' : '#'}
            </span>
            <Name name={entry.name} />
            {entry.mentions > 0 ? <span className="badge badge-mention">@{entry.mentions}</span> : entry.unread > 0 ? <span className="badge">{entry.unread}</span> : null}
          </li>
        ))}
      </ul>
      {shown.length === 0 ? <p className="hint">No conversation matches.</p> : null}
    </Dialog>
  );
}
