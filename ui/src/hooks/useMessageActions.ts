// What the window does to a message of the open conversation: react (the picker), edit in place,
// delete (after asking), pin, copy its text. Each change is handed to the app, which queues it
// in the outbox; what it becomes comes back as `messageUpdated` (or a failed change in the
// outbox). Failures to hand it over go to `onError` (the banner).
import { useState } from 'react';
import { api, toAppError } from '../api';
import { noteEmoji } from '../lib/living';
import type { ChatMessage } from '../types';
import type { MessageActions } from '../components/Message';

interface Options {
  /** The open conversation. */
  room: string;
  onError: (message: string) => void;
  /** The focus goes back to the composer (an edit ended, a message went). */
  onDone: () => void;
}

const targetOf = (m: ChatMessage) => ({ seq: m.seq ?? 0 });

export function useMessageActions({ room, onError, onDone }: Options) {
  const [editing, setEditing] = useState<{ room: string; seq: number } | null>(null);
  const [picking, setPicking] = useState<ChatMessage | null>(null);
  const [deleting, setDeleting] = useState<ChatMessage | null>(null);
  const fail = (e: unknown) => onError(toAppError(e).message);

  const react = (m: ChatMessage, emoji: string, on: boolean) => {
    if (on) noteEmoji(emoji);
    api.reactToMessage(room, targetOf(m), emoji, on).catch(fail);
  };

  const edit = (m: ChatMessage | null) => {
    if (m?.seq === undefined) {
      setEditing(null);
      onDone();
    } else setEditing({ room, seq: m.seq });
  };

  const actions: Omit<MessageActions, 'onRetry' | 'onDiscard'> = {
    onReact: react,
    onPick: setPicking,
    onEdit: edit,
    onSaveEdit: (m, text) => {
      edit(null);
      api.editMessage(room, targetOf(m), text).catch(fail);
    },
    onDelete: setDeleting,
    onPin: (m, pinned) => void api.pinMessage(room, targetOf(m), pinned).catch(fail),
    onCopy: (m) => {
      navigator.clipboard.writeText(m.text).catch(() => onError('The text could not be copied.'));
    },
  };

  return {
    actions,
    /** The `seq` being edited in the open conversation. */
    editing: editing?.room === room ? editing.seq : null,
    /** Edits this message (Up in an empty composer). */
    startEditing: (m: ChatMessage) => edit(m),
    picking,
    /** An emoji was chosen in the picker (null: closed without one). */
    picked: (emoji: string | null) => {
      const m = picking;
      setPicking(null);
      if (m && emoji) react(m, emoji, true);
    },
    deleting,
    /** The deletion was confirmed (true) or not. */
    confirmDelete: (yes: boolean) => {
      const m = deleting;
      setDeleting(null);
      if (!m || !yes) return;
      if (editing?.seq === m.seq) setEditing(null);
      api.deleteMessage(room, targetOf(m)).catch(fail);
      onDone();
    },
  };
}
