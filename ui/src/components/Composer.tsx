import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { api, toAppError } from '../api';

const DRAFT_SAVE_MS = 300;
const TYPING_IDLE_MS = 3000;

/** Enter sends, Shift+Enter is a newline; the draft is saved as you type. */
export function Composer({ initialDraft, onError }: { initialDraft: string; onError: (message: string) => void }) {
  const [text, setText] = useState(initialDraft);
  const saveTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const typingTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const typing = useRef(false);
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    input.current?.focus();
    return () => {
      clearTimeout(saveTimer.current);
      clearTimeout(typingTimer.current);
    };
  }, []);

  const saveDraft = (value: string, delay = DRAFT_SAVE_MS) => {
    clearTimeout(saveTimer.current);
    saveTimer.current = setTimeout(() => {
      api.saveDraft(value).catch((e: unknown) => onError(`Draft not saved: ${toAppError(e).message}`));
    }, delay);
  };

  const setTyping = (now: boolean) => {
    clearTimeout(typingTimer.current);
    if (now) typingTimer.current = setTimeout(() => setTyping(false), TYPING_IDLE_MS);
    if (typing.current !== now) {
      typing.current = now;
      void api.setTyping(now).catch(() => undefined);
    }
  };

  const send = async () => {
    const value = text;
    if (value.trim() === '') return;
    setText('');
    setTyping(false);
    try {
      await api.sendMessage(value);
      saveDraft('', 0);
    } catch (e) {
      setText(value);
      onError(toAppError(e).message);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
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
      <textarea
        ref={input}
        aria-label="Message"
        placeholder="Write a message… (Enter to send, Shift+Enter for a new line)"
        rows={Math.min(6, Math.max(1, text.split('\n').length))}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          saveDraft(e.target.value);
          setTyping(e.target.value.length > 0);
        }}
        onKeyDown={onKeyDown}
      />
      <button type="submit" disabled={text.trim() === ''}>
        Send
      </button>
    </form>
  );
}
