// A message in the timeline as it is now: its text (or "message deleted"), "(edited)" with the
// time, a pinned mark, its reactions, a failed change with Retry and Discard, and a toolbar of
// what can be done to it (shown on hover and whenever focus is inside the message, so every
// action is a button reachable with Tab). Editing turns the text into a box in place.
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { isOwn, mentionsMe, sameName } from '../lib/attention';
import { timeLabel } from '../lib/dates';
import { changeLabel, reactionLabel } from '../lib/living';
import type { ChatMessage, OutboxChange } from '../types';
import { GuestMark } from './GuestMark';
import { MessageText } from './MessageText';
import { Name } from './Name';

/** What can be done to a message; the chat decides the room and talks to the app. */
export interface MessageActions {
  onReact: (m: ChatMessage, emoji: string, on: boolean) => void;
  /** Opens the emoji picker for the message. */
  onPick: (m: ChatMessage) => void;
  /** Starts editing the message (null: stops, nothing saved). */
  onEdit: (m: ChatMessage | null) => void;
  onSaveEdit: (m: ChatMessage, text: string) => void;
  /** Asks to delete it (a confirmation comes first). */
  onDelete: (m: ChatMessage) => void;
  onPin: (m: ChatMessage, pinned: boolean) => void;
  onCopy: (m: ChatMessage) => void;
  onRetry: (clientId: string) => void;
  onDiscard: (clientId: string) => void;
}

interface Props extends MessageActions {
  message: ChatMessage;
  room: string;
  me: string | null;
  highlighted: boolean;
  editing: boolean;
  /** A change to this message the server refused for good. */
  failure?: OutboxChange;
}

const fullTime = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function Message(props: Props) {
  const { message: m, room, me, highlighted, editing, failure } = props;
  const mention = mentionsMe(m);
  const own = isOwn(m);
  const deleted = m.deleted === true;
  // Changes need the message's number (the tutorial's server gives none, and changes nothing).
  const changeable = m.seq !== undefined && !deleted;
  return (
    <article
      className={`message${own ? ' own' : ''}${mention ? ' mention' : ''}${highlighted ? ' highlighted' : ''}${deleted ? ' deleted' : ''}`}
      data-testid="message"
      data-room={room}
      data-seq={m.seq}
      data-mention={mention ? 'true' : undefined}
      data-highlighted={highlighted ? 'true' : undefined}
    >
      <header>
        <strong className="author">
          <Name name={m.username} />
        </strong>
        {m.guest ? <GuestMark /> : null}
        <time dateTime={m.timestamp} className="meta">
          {timeLabel(m.timestamp)}
        </time>
        {m.editedAt && !deleted ? (
          <time dateTime={m.editedAt} className="meta edited" title={`Edited ${fullTime(m.editedAt)}`} data-testid="edited">
            (edited)
          </time>
        ) : null}
        {m.pinned && !deleted ? (
          <span className="meta pinned-mark" title={`Pinned by ${m.pinned.by}`} data-testid="pinned-mark">
            📌 pinned
          </span>
        ) : null}
      </header>
      {deleted ? (
        <p className="deleted-text" data-testid="deleted">
          message deleted
        </p>
      ) : editing ? (
        <EditBox message={m} onSave={props.onSaveEdit} onCancel={() => props.onEdit(null)} />
      ) : (
        <MessageText text={m.text} />
      )}
      {!deleted && m.reactions && m.reactions.length > 0 ? <Reactions message={m} me={me} onReact={props.onReact} /> : null}
      {failure && failure.state === 'failed' ? (
        <footer className="failure" data-testid="change-failure">
          <span role="alert">
            {changeLabel(failure.change)} failed: {failure.message}
          </span>
          <button type="button" onClick={() => props.onRetry(failure.clientId)}>
            Retry
          </button>
          <button type="button" onClick={() => props.onDiscard(failure.clientId)}>
            Discard
          </button>
        </footer>
      ) : null}
      {changeable && !editing ? <Toolbar {...props} own={own} /> : null}
    </article>
  );
}

function Toolbar({ message: m, own, onPick, onEdit, onDelete, onPin, onCopy }: Props & { own: boolean }) {
  return (
    <div className="message-actions" role="toolbar" aria-label="Message actions" data-testid="message-actions">
      <button type="button" onClick={() => onPick(m)} title="Add a reaction">
        React
      </button>
      {own ? (
        <button type="button" onClick={() => onEdit(m)}>
          Edit
        </button>
      ) : null}
      {own ? (
        <button type="button" onClick={() => onDelete(m)}>
          Delete
        </button>
      ) : null}
      <button type="button" onClick={() => onPin(m, !m.pinned)}>
        {m.pinned ? 'Unpin' : 'Pin'}
      </button>
      <button type="button" onClick={() => onCopy(m)}>
        Copy text
      </button>
    </div>
  );
}

/** The reactions under a message: each emoji with its count; pressed when one of them is yours. */
function Reactions({ message: m, me, onReact }: { message: ChatMessage; me: string | null; onReact: Props['onReact'] }) {
  return (
    <div className="reactions" role="group" aria-label="Reactions" data-testid="reactions">
      {(m.reactions ?? []).map((r) => {
        const mine = me !== null && r.names.some((n) => sameName(n, me));
        const label = reactionLabel(r);
        return (
          <button
            type="button"
            key={r.emoji}
            className="reaction"
            aria-pressed={mine}
            aria-label={label}
            title={label}
            data-tip={r.names.join(', ')}
            onClick={() => onReact(m, r.emoji, !mine)}
          >
            <span aria-hidden="true">{r.emoji}</span> <span aria-hidden="true">{r.names.length}</span>
          </button>
        );
      })}
    </div>
  );
}

/** The message's text in a box: Enter saves, Shift+Enter is a new line, Escape cancels. */
function EditBox({ message, onSave, onCancel }: { message: ChatMessage; onSave: Props['onSaveEdit']; onCancel: () => void }) {
  const [text, setText] = useState(message.text);
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = box.current;
    el?.focus();
    el?.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const save = () => {
    if (text.trim() === '') return;
    if (text === message.text) onCancel();
    else onSave(message, text);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      save();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
    }
  };
  return (
    <div className="edit-box">
      <textarea
        ref={box}
        aria-label="Edit message"
        title="Enter to save, Shift+Enter for a new line, Escape to cancel"
        rows={Math.min(8, Math.max(2, text.split('\n').length))}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="edit-actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" onClick={save} disabled={text.trim() === ''}>
          Save
        </button>
      </div>
    </div>
  );
}
