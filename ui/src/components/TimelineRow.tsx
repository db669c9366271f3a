// One row of the timeline: a message (or one still being sent), a day, the "New messages"
// line, a gap, a line about someone, the top of the list (older messages loading) or its bottom
// while the newest messages are not loaded (they are loaded again from there).
import { memo } from 'react';
import type { TimelineItem } from '../lib/timeline';
import type { OutboxChange, OutboxEntry } from '../types';
import { Message, type MessageActions } from './Message';
import { MessageText } from './MessageText';
import { Name } from './Name';

export type Row =
  | { kind: 'top'; key: string; loading: boolean }
  | { kind: 'newer'; key: string; loading: boolean }
  | { kind: 'day'; key: string; label: string }
  | { kind: 'divider'; key: string }
  | { kind: 'item'; key: string; item: TimelineItem }
  | { kind: 'unsent'; key: string; entry: OutboxEntry };

export interface RowActions extends MessageActions {
  onLoadOlder: () => void;
  onLoadNewest: () => void;
  onLoadGap: (gap: { from: number; to: number }) => void;
}

interface Props extends RowActions {
  row: Row;
  room: string;
  me: string | null;
  highlighted: boolean;
  /** The message is being edited in place. */
  editing: boolean;
  /** A change to the message the server refused for good. */
  failure?: OutboxChange;
}

/** Every action a row is given: stable functions (see MessageList), compared one by one. */
export const ROW_ACTIONS = [
  'onRetry',
  'onDiscard',
  'onLoadOlder',
  'onLoadNewest',
  'onLoadGap',
  'onReact',
  'onPick',
  'onEdit',
  'onSaveEdit',
  'onDelete',
  'onPin',
  'onCopy',
] as const satisfies readonly (keyof RowActions)[];

export function gapText(count: number, kept: boolean): string {
  return kept
    ? `${count} missed message${count === 1 ? ' was' : 's were'} not loaded`
    : `${count} older message${count === 1 ? ' is' : 's are'} no longer available`;
}

/** Whether two rows show the same thing (rows are rebuilt with each batch; their items are kept). */
export function sameRow(a: Row, b: Row): boolean {
  if (a.kind !== b.kind || a.key !== b.key) return false;
  switch (a.kind) {
    case 'item':
      return b.kind === 'item' && a.item === b.item;
    case 'unsent':
      return b.kind === 'unsent' && a.entry === b.entry;
    case 'day':
      return b.kind === 'day' && a.label === b.label;
    case 'top':
    case 'newer':
      return (b.kind === 'top' || b.kind === 'newer') && a.loading === b.loading;
    case 'divider':
      return true;
  }
}

/** A row re-renders only when what it shows changed (the list re-renders with every batch). */
export const TimelineRow = memo(
  RowView,
  (a, b) =>
    sameRow(a.row, b.row) &&
    a.room === b.room &&
    a.me === b.me &&
    a.highlighted === b.highlighted &&
    a.editing === b.editing &&
    a.failure === b.failure &&
    ROW_ACTIONS.every((k) => a[k] === b[k]),
);

function RowView({ row, room, me, highlighted, editing, failure, ...actions }: Props) {
  const { onRetry, onDiscard, onLoadOlder, onLoadNewest, onLoadGap } = actions;
  switch (row.kind) {
    case 'top':
      return row.loading ? (
        <p className="presence" role="status">
          Loading older messages…
        </p>
      ) : (
        <div className="load-older">
          <button type="button" onClick={onLoadOlder}>
            Load older messages
          </button>
        </div>
      );
    case 'newer':
      return (
        <div className="load-older">
          <button type="button" onClick={onLoadNewest} disabled={row.loading}>
            Jump to newest
          </button>
        </div>
      );
    case 'day':
      return (
        <div className="day" role="separator">
          <span>{row.label}</span>
        </div>
      );
    case 'divider':
      return (
        <div className="new-divider" role="separator" aria-label="New messages" data-testid="new-divider">
          <span aria-hidden="true">New messages</span>
        </div>
      );
    case 'unsent':
      return <Unsent entry={row.entry} me={me} onRetry={onRetry} onDiscard={onDiscard} />;
    case 'item':
      break;
  }
  const { item } = row;
  switch (item.kind) {
    case 'notice':
      return (
        <p className="notice" role="note" data-testid="notice">
          {item.text}
        </p>
      );
    case 'gap': {
      const count = item.to - item.from + 1;
      return (
        <div className="gap-line">
          <p className="notice" role="note" data-testid="notice" data-gap={`${item.from}-${item.to}`}>
            {gapText(count, item.kept)}
          </p>
          {item.kept ? (
            <button type="button" onClick={() => onLoadGap({ from: item.from, to: item.to })}>
              Load them
            </button>
          ) : null}
        </div>
      );
    }
    case 'presence':
      return (
        <p className="presence">
          <Name name={item.username} /> {item.joined ? 'joined' : 'left'}
        </p>
      );
    case 'message':
      break;
  }
  return (
    <Message
      message={item.message}
      room={room}
      me={me}
      highlighted={highlighted}
      editing={editing}
      failure={failure}
      {...actions}
    />
  );
}

function Unsent({ entry, me, onRetry, onDiscard }: { entry: OutboxEntry; me: string | null; onRetry: (id: string) => void; onDiscard: (id: string) => void }) {
  const failed = entry.state === 'failed';
  return (
    <article className={`message own ${failed ? 'failed' : 'pending'}`} data-testid="unsent" data-state={entry.state}>
      <header>
        <strong>{me ?? 'me'}</strong>
        <span className="meta">{failed ? 'Not sent' : 'Sending…'}</span>
      </header>
      <MessageText text={entry.text} />
      {entry.state === 'failed' ? (
        <footer className="failure">
          <span role="alert">{entry.message}</span>
          <button type="button" onClick={() => onRetry(entry.clientId)}>
            Retry
          </button>
          <button type="button" onClick={() => onDiscard(entry.clientId)}>
            Discard
          </button>
        </footer>
      ) : null}
    </article>
  );
}
