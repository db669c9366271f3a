import { useState } from 'react';
import { api, toAppError } from '../api';
import { preferencesOf, type Config, type Preferences } from '../types';

const LABELS: Record<keyof Preferences, string> = {
  notifications: 'Desktop notifications for new messages',
  mentionsOnly: 'Only when my name is mentioned',
  closeToTray: 'Closing the window keeps Charla running in the tray',
  startOnLogin: 'Start Charla when I log in',
};

/** Notification and window preferences; each change is saved at once. */
export function PreferencesForm({ config, onSaved }: { config: Config; onSaved: (config: Config) => void }) {
  const [prefs, setPrefs] = useState<Preferences>(() => preferencesOf(config));
  const [error, setError] = useState<string | null>(null);

  const toggle = async (key: keyof Preferences) => {
    const next = { ...prefs, [key]: !prefs[key] };
    setPrefs(next);
    try {
      onSaved(await api.savePreferences(next));
      setError(null);
    } catch (e) {
      setPrefs(prefs);
      setError(toAppError(e).message);
    }
  };

  return (
    <fieldset className="preferences">
      <legend>Preferences</legend>
      {(Object.keys(LABELS) as (keyof Preferences)[]).map((key) => (
        <label key={key} className="check">
          <input
            type="checkbox"
            checked={prefs[key]}
            disabled={key === 'mentionsOnly' && !prefs.notifications}
            onChange={() => void toggle(key)}
          />
          {LABELS[key]}
        </label>
      ))}
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
