// The open room's pinned messages (asked of the server as they are now, the most recently
// pinned first); choosing one jumps to it in the timeline, as a search result does.
import { useEffect, useState } from 'react';
import { api, toAppError } from '../api';
import type { ChatMessage } from '../types';
import { AuthorTime } from './AuthorTime';
import { Dialog } from './Dialog';
import { FormError } from './FormError';

const SNIPPET = 200;

interface Props {
  room: string;
  title: string;
  onChoose: (message: { room: string; seq: number }) => void;
  onClose: () => void;
}

export function PinnedDialog({ room, title, onChoose, onClose }: Props) {
  const [pins, setPins] = useState<ChatMessage[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.listPins(room).then(
      (list) => live && setPins(list.messages),
      (e: unknown) => live && setError(toAppError(e).message),
    );
    return () => {
      live = false;
    };
  }, [room]);

  return (
    <Dialog title={`Pinned in ${title}`} onClose={onClose} testId="pinned" className="dialog-panel dialog-wide">
      <p className="hint" role="status">
        {pins === null ? (error ? '' : 'Loading…') : pins.length === 0 ? 'No pinned messages.' : `${pins.length} pinned message${pins.length === 1 ? '' : 's'}`}
      </p>
      {pins && pins.length > 0 ? (
        <ul className="search-results" aria-label="Pinned messages">
          {pins.map((m) => (
            <li key={m.seq ?? m.id}>
              <button
                type="button"
                className="search-result"
                data-testid="pinned-message"
                data-seq={m.seq}
                disabled={m.seq === undefined}
                onClick={() => m.seq !== undefined && onChoose({ room, seq: m.seq })}
              >
                <span className="meta">
                  <AuthorTime username={m.username} timestamp={m.timestamp} />
                  {m.pinned ? ` · pinned by ${m.pinned.by}` : ''}
                </span>
                <bdi className="snippet">{m.text.length > SNIPPET ? `${m.text.slice(0, SNIPPET)}…` : m.text}</bdi>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <FormError message={error} />
      <div className="actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
