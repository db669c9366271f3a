// New message: a direct message with someone, picked from the owned names online and those
// known from this user's rooms and DMs (online ones first, and marked), or typed.
import { useState, type FormEvent } from 'react';
import { api, toAppError } from '../api';
import type { Candidate } from '../lib/people';
import { matchNames } from '../lib/switcher';
import type { RoomEntered } from '../types';
import { Dialog } from './Dialog';
import { FormActions } from './FormActions';
import { FormError } from './FormError';
import { Name } from './Name';

interface Props {
  /** Who can be picked (owned names, not this user), online ones first. */
  people: Candidate[];
  onClose: () => void;
  onEntered: (entered: RoomEntered) => void;
}

export function NewMessageDialog({ people, onClose, onEntered }: Props) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const open = async (username: string) => {
    const who = username.trim();
    if (who === '') {
      setError('Type a name, or pick someone.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onEntered(await api.openDm(who));
    } catch (err) {
      setError(toAppError(err).message);
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void open(name);
  };

  const shown = matchNames(name, people);
  return (
    <Dialog title="New message" onClose={onClose} testId="new-message">
      <form className="dialog-form" onSubmit={submit}>
        <label>
          To
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={64} autoComplete="off" aria-invalid={error !== null} data-autofocus />
        </label>
        {shown.length > 0 ? (
          <ul className="pick-list" aria-label="People">
            {shown.map((p) => (
              <li key={p.name}>
                <button type="button" disabled={busy} onClick={() => void open(p.name)} data-online={p.online}>
                  <span className={p.online ? 'dot' : 'dot offline'} aria-hidden="true" />
                  <Name name={p.name} />
                  {p.online ? <span className="sr-only">, online</span> : null}
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <p className="hint">{people.length === 0 ? 'Nobody to suggest: type a name.' : 'Nobody known matches: open it by name.'}</p>
        )}
        <FormError message={error} />
        <FormActions submitLabel="Open" busy={busy} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
