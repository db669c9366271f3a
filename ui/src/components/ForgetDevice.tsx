import { useEffect, useRef, useState } from 'react';
import { api, toAppError } from '../api';
import type { Config } from '../types';
import { FormError } from './FormError';

/** Settings: give up the name on this computer, after a confirmation, and go back to first run. */
export function ForgetDevice({ username, onForgotten }: { username: string; onForgotten: (config: Config) => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const forgetButton = useRef<HTMLButtonElement>(null);
  const keepButton = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);

  // Focus follows the question: to its safe answer when asked, back to the button when answered.
  useEffect(() => {
    if (confirming) keepButton.current?.focus();
    else if (asked.current) forgetButton.current?.focus();
    asked.current = confirming;
  }, [confirming]);

  const forget = async () => {
    setBusy(true);
    try {
      onForgotten(await api.forgetDevice());
    } catch (e) {
      setError(toAppError(e).message);
      setConfirming(false);
      setBusy(false);
    }
  };

  return (
    <section className="settings-section" aria-labelledby="forget-device-title">
      <h2 id="forget-device-title">This computer</h2>
      {confirming ? (
        <>
          <p>
            This computer stops using “{username}” and Charla goes back to its first screen. If no other computer of yours uses the name,
            anyone can take it.
          </p>
          <div className="actions">
            <button type="button" ref={keepButton} onClick={() => setConfirming(false)} disabled={busy}>
              No, keep it
            </button>
            <button type="button" className="danger" onClick={() => void forget()} disabled={busy}>
              Yes, forget this device
            </button>
          </div>
        </>
      ) : (
        <div className="actions">
          <button
            type="button"
            ref={forgetButton}
            onClick={() => {
              setError(null);
              setConfirming(true);
            }}
          >
            Forget this device
          </button>
        </div>
      )}
      <FormError message={error} />
    </section>
  );
}
