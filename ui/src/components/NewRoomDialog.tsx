// New room: a name (the server's rule, checked first; typed in lowercase) and a topic. The
// server's refusal (a taken name, a bad one) is shown here.
import { useState, type FormEvent } from 'react';
import { api, toAppError } from '../api';
import { normalizeRoomName, roomNameProblem } from '../lib/rooms';
import type { RoomEntered } from '../types';
import { Dialog } from './Dialog';
import { FormActions } from './FormActions';
import { FormError } from './FormError';

export function NewRoomDialog({ onClose, onEntered }: { onClose: () => void; onEntered: (entered: RoomEntered) => void }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const room = normalizeRoomName(name);
    if (room === null) {
      setError(roomNameProblem(name));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onEntered(await api.createRoom(room, topic.trim()));
    } catch (err) {
      setError(toAppError(err).message);
      setBusy(false);
    }
  };

  return (
    <Dialog title="New room" onClose={onClose} testId="new-room">
      <form className="dialog-form" onSubmit={(e) => void submit(e)}>
        <label>
          Name
          <input
            value={name}
            onChange={(e) => setName(e.target.value.toLowerCase())}
            maxLength={32}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={error !== null}
            aria-describedby="new-room-hint"
            data-autofocus
          />
        </label>
        <p className="hint" id="new-room-hint">
          Lowercase letters, digits, “-” and “_”; up to 32.
        </p>
        <label>
          Topic
          <input value={topic} onChange={(e) => setTopic(e.target.value)} maxLength={200} />
        </label>
        <FormError message={error} />
        <FormActions submitLabel="Create" busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
