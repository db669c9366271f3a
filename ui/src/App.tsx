// The app's root: the first-run form, or the chat with the saved profile and drafts.
import { useEffect, useState } from 'react';
import { api, toAppError } from './api';
import { Chat } from './components/Chat';
import { ProfileForm } from './components/FirstRun';
import type { Config, Settings } from './types';

/**
 * First run asks for a profile; afterwards the chat. A new profile restarts the chat. The form
 * comes back, filled in, when the server refuses the name for good, and empty once this device
 * is forgotten (the saved config then has no name).
 */
export function App() {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [generation, setGeneration] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [nameRefused, setNameRefused] = useState<string | null>(null);

  useEffect(() => {
    api.loadSettings().then(setSettings, (e: unknown) => setError(toAppError(e).message));
  }, []);

  if (error) return <p role="alert">Charla could not start: {error}</p>;
  if (!settings) return null;
  // A new profile restarts the chat: its drafts are read again first (those typed in this
  // session were saved as typed; another server has its own).
  const saved = (config: Config) => {
    const restart = (drafts: Settings['drafts']) => {
      setSettings({ config, drafts });
      setNameRefused(null);
      setGeneration((g) => g + 1);
    };
    api.loadSettings().then(
      (loaded) => restart(loaded.drafts),
      () => restart(config.serverUrl === settings.config.serverUrl ? settings.drafts : {}),
    );
  };
  if (!settings.config.username || nameRefused) {
    return (
      <div className="welcome">
        <ProfileForm
          initial={settings.config}
          title={nameRefused ? 'Choose your name' : 'Welcome to Charla'}
          submitLabel="Start chatting"
          notice={nameRefused}
          withLinkCode
          onSaved={saved}
        />
      </div>
    );
  }
  // Preferences (and muted rooms) change nothing about the connection: no restart.
  const preferences = (config: Config) => setSettings({ ...settings, config });
  return (
    <Chat
      key={generation}
      config={settings.config}
      drafts={settings.drafts}
      onConfig={saved}
      onPreferences={preferences}
      onNameRefused={setNameRefused}
    />
  );
}
