import { useState, type FormEvent } from 'react';
import { usernameProblem } from '../lib/username';
import type { Config } from '../types';
import { api, toAppError } from '../api';

interface Props {
  initial: Config;
  title: string;
  submitLabel: string;
  onSaved: (config: Config) => void;
  onCancel?: () => void;
}

/** Username and server address: the first run, and the settings dialog. */
export function ProfileForm({ initial, title, submitLabel, onSaved, onCancel }: Props) {
  const [username, setUsername] = useState(initial.username ?? '');
  const [serverUrl, setServerUrl] = useState(initial.serverUrl);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = usernameProblem(username);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    try {
      onSaved(await api.saveProfile(username, serverUrl));
    } catch (err) {
      setError(toAppError(err).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="profile" onSubmit={(e) => void submit(e)} aria-labelledby="profile-title">
      <h1 id="profile-title">{title}</h1>
      <label>
        Username
        <input value={username} onChange={(e) => setUsername(e.target.value)} maxLength={64} autoFocus aria-invalid={error !== null} />
      </label>
      <label>
        Server
        <input value={serverUrl} onChange={(e) => setServerUrl(e.target.value)} />
      </label>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="actions">
        {onCancel ? (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
