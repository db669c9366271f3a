import { useState } from 'react';
import { api, toAppError } from '../api';
import { timeLabel } from '../lib/chatState';
import type { DeviceLink } from '../types';
import { FormError } from './FormError';

type Copied = 'yes' | 'failed' | null;

/** Copies text; false when the webview has no clipboard or refuses (the code stays selectable). */
async function copyText(text: string): Promise<boolean> {
  try {
    if (!navigator.clipboard) return false;
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Settings: a one-time code that lets another computer use this name. */
export function LinkCodeSection({ username }: { username: string }) {
  const [link, setLink] = useState<DeviceLink | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState<Copied>(null);

  const show = async () => {
    setBusy(true);
    setCopied(null);
    try {
      setLink(await api.linkCode());
      setError(null);
    } catch (e) {
      setLink(null);
      setError(toAppError(e).message);
    } finally {
      setBusy(false);
    }
  };

  const copy = async (code: string) => setCopied((await copyText(code)) ? 'yes' : 'failed');

  return (
    <section className="settings-section" aria-labelledby="link-code-title">
      <h2 id="link-code-title">Use this name on another computer</h2>
      <p className="hint">On the other computer, enter the name “{username}” and a link code on Charla’s first screen.</p>
      <div className="actions">
        <button type="button" onClick={() => void show()} disabled={busy}>
          Show a link code
        </button>
      </div>
      {link ? (
        <div className="link-code-box">
          <code className="link-code" data-testid="link-code">
            {link.code}
          </code>
          <button type="button" onClick={() => void copy(link.code)}>
            Copy
          </button>
          <p className="hint">Works once, until {timeLabel(link.expiresAt)}.</p>
          <p className="hint" role="status">
            {copied === 'yes' ? 'Copied.' : copied === 'failed' ? 'Could not copy: select the code and copy it instead.' : ''}
          </p>
        </div>
      ) : null}
      <FormError message={error} />
    </section>
  );
}
