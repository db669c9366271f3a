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
  /** Why the form is back (the server refused the name), shown above the fields. */
  notice?: string | null;
  /** Offers the link code field: to use a name this person owns on another computer. */
  withLinkCode?: boolean;
}

/** A failure to show: a bad link code next to its field, anything else under the form. */
type FormError = { message: string; field: 'linkCode' | 'profile' };

/** Username, server address and, at first run, a link code: the first run and the settings dialog. */
export function ProfileForm({ initial, title, submitLabel, onSaved, onCancel, notice = null, withLinkCode = false }: Props) {
  const [username, setUsername] = useState(initial.username ?? '');
  const [serverUrl, setServerUrl] = useState(initial.serverUrl);
  const [linkCode, setLinkCode] = useState('');
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = usernameProblem(username);
    if (problem) {
      setError({ message: problem, field: 'profile' });
      return;
    }
    setBusy(true);
    try {
      onSaved(await api.saveProfile(username, serverUrl, linkCode.trim() || null));
    } catch (err) {
      const failure = toAppError(err);
      setError({ message: failure.message, field: failure.kind === 'invalidLinkCode' ? 'linkCode' : 'profile' });
    } finally {
      setBusy(false);
    }
  };

  const profileError = error?.field === 'profile' ? error.message : null;
  const linkCodeError = error?.field === 'linkCode' ? error.message : null;
  return (
    <form className="profile" onSubmit={(e) => void submit(e)} aria-labelledby="profile-title">
      <h1 id="profile-title">{title}</h1>
      {notice ? (
        <p className="form-notice" role="alert" data-testid="name-refused">
          {notice}
        </p>
      ) : null}
      <label>
        Username
        <input value={username} onChange={(e) => setUsername(e.target.value)} maxLength={64} autoFocus aria-invalid={profileError !== null} />
      </label>
      <label>
        Server
        <input value={serverUrl} onChange={(e) => setServerUrl(e.target.value)} />
      </label>
      {withLinkCode ? (
        <div className="field">
          <label>
            Link code
            <input
              value={linkCode}
              onChange={(e) => setLinkCode(e.target.value)}
              maxLength={64}
              autoComplete="off"
              autoCapitalize="characters"
              spellCheck={false}
              className="code-input"
              aria-invalid={linkCodeError !== null}
              aria-describedby={linkCodeError ? 'link-code-hint link-code-error' : 'link-code-hint'}
            />
          </label>
          <p className="hint" id="link-code-hint">
            Optional. From Settings → Use this name on another computer, on a computer that already uses the name.
          </p>
          {linkCodeError ? (
            <p className="form-error" id="link-code-error" role="alert">
              {linkCodeError}
            </p>
          ) : null}
        </div>
      ) : null}
      {profileError ? (
        <p className="form-error" role="alert">
          {profileError}
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
