// Writing in the open conversation: Enter sends, Shift+Enter is a newline; the draft is the
// conversation's own and saved as you type; typing is announced; `@` suggests people to mention
// (the box is a combobox over that list, as the quick switcher's). Up in the empty box edits
// the user's last message.
import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { api, toAppError } from '../api';
import { insertMention, mentionAt, mentionCandidates, type MentionQuery } from '../lib/mentions';
import { MentionList } from './MentionList';

const DRAFT_SAVE_MS = 300;
const TYPING_IDLE_MS = 3000;

interface Props {
  room: string;
  /** How the conversation is called in the placeholder: `#ops`, `bob`. */
  title: string;
  initialDraft: string;
  /** Who can be mentioned here. */
  people: string[];
  /** Keeps the draft while another conversation is open (saved to disk separately). */
  onDraft: (room: string, text: string) => void;
  /** A message was handed to the app to send (the timeline goes to the newest). */
  onSent: () => void;
  onError: (message: string) => void;
  /** Up in an empty box: edits the user's last message (false: there is none). */
  onEditLast?: () => boolean;
  /** Changes when the focus should come back to the box (an edit ended). */
  focusToken?: number;
}

export function Composer({ room, title, initialDraft, people, onDraft, onSent, onError, onEditLast, focusToken = 0 }: Props) {
  const [text, setText] = useState(initialDraft);
  const [caret, setCaret] = useState(initialDraft.length);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<number | null>(null);
  const saveTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const pendingSave = useRef<string | null>(null);
  const typingTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const typing = useRef(false);
  const input = useRef<HTMLTextAreaElement>(null);
  /** Where the caret goes once the text holding it is on screen (a mention was just put in). */
  const caretAfterRender = useRef<number | null>(null);
  const listId = useId();

  const mention: MentionQuery | null = mentionAt(text, caret);
  const candidates = mention && mention.start !== dismissed ? mentionCandidates(mention.query, people) : [];
  const open = candidates.length > 0;
  const selected = Math.min(active, candidates.length - 1);

  const flushDraft = () => {
    clearTimeout(saveTimer.current);
    const value = pendingSave.current;
    pendingSave.current = null;
    if (value !== null) {
      api.saveDraft(room, value).catch((e: unknown) => onError(`Draft not saved: ${toAppError(e).message}`));
    }
  };
  const flush = useRef(flushDraft);
  flush.current = flushDraft;

  // Right after the render that holds the new text, before the browser handles another key: set
  // on a later frame, the caret would move back into what was typed meanwhile and scramble it.
  useLayoutEffect(() => {
    const at = caretAfterRender.current;
    if (at === null) return;
    caretAfterRender.current = null;
    input.current?.setSelectionRange(at, at);
  });

  useEffect(() => {
    const box = input.current;
    box?.focus();
    box?.setSelectionRange(box.value.length, box.value.length);
    return () => {
      // Leaving the conversation: its draft is saved now, and typing in it stops.
      flush.current();
      clearTimeout(typingTimer.current);
      if (typing.current) void api.setTyping(room, false).catch(() => undefined);
    };
  }, [room]);

  useEffect(() => {
    if (focusToken > 0) input.current?.focus();
  }, [focusToken]);

  const saveDraft = (value: string, delay = DRAFT_SAVE_MS) => {
    onDraft(room, value);
    pendingSave.current = value;
    clearTimeout(saveTimer.current);
    saveTimer.current = setTimeout(() => flush.current(), delay);
  };

  const setTyping = (now: boolean) => {
    clearTimeout(typingTimer.current);
    if (now) typingTimer.current = setTimeout(() => setTyping(false), TYPING_IDLE_MS);
    if (typing.current !== now) {
      typing.current = now;
      void api.setTyping(room, now).catch(() => undefined);
    }
  };

  const change = (value: string, at: number) => {
    setText(value);
    setCaret(at);
    setActive(0);
    if (mentionAt(value, at) === null) setDismissed(null);
    saveDraft(value);
    setTyping(value.length > 0);
  };

  const send = async () => {
    const value = text;
    if (value.trim() === '') return;
    change('', 0);
    setTyping(false);
    try {
      await api.sendMessage(room, value);
      onSent();
      saveDraft('', 0);
    } catch (e) {
      change(value, value.length);
      onError(toAppError(e).message);
    }
  };

  const choose = (name: string) => {
    if (!mention) return;
    const next = insertMention(text, caret, mention, name);
    caretAfterRender.current = next.caret;
    change(next.text, next.caret);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setActive((selected + step + candidates.length) % candidates.length);
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey && !e.nativeEvent.isComposing) {
        e.preventDefault();
        const name = candidates[selected];
        if (name) choose(name);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setDismissed(mention?.start ?? null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    } else if (e.key === 'ArrowUp' && text === '' && !e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey && onEditLast?.()) {
      e.preventDefault();
    }
  };

  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      {open ? <MentionList id={listId} names={candidates} active={selected} onChoose={choose} onHover={setActive} /> : null}
      <textarea
        ref={input}
        aria-label="Message"
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open ? `${listId}-${selected}` : undefined}
        placeholder={`Message ${title}`}
        title="Enter to send, Shift+Enter for a new line"
        rows={Math.min(6, Math.max(1, text.split('\n').length))}
        value={text}
        onChange={(e) => change(e.target.value, e.target.selectionStart)}
        onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
        onKeyDown={onKeyDown}
      />
      <button type="submit" disabled={text.trim() === ''}>
        Send
      </button>
    </form>
  );
}
