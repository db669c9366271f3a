// Settings: the profile (a change reconnects), preferences, a link code for another computer,
// and forgetting this device.
import type { Config } from '../types';
import { Dialog } from './Dialog';
import { ProfileForm } from './FirstRun';
import { ForgetDevice } from './ForgetDevice';
import { LinkCodeSection } from './LinkCodeSection';
import { PreferencesForm } from './PreferencesForm';

interface Props {
  config: Config;
  username: string;
  onClose: () => void;
  onConfig: (config: Config) => void;
  onPreferences: (config: Config) => void;
}

export function SettingsDialog({ config, username, onClose, onConfig, onPreferences }: Props) {
  return (
    <Dialog labelledBy="profile-title" onClose={onClose} className="dialog">
      <ProfileForm
        initial={config}
        title="Settings"
        submitLabel="Save and reconnect"
        withLinkCode
        onCancel={onClose}
        onSaved={(saved) => {
          onClose();
          onConfig(saved);
        }}
      />
      <PreferencesForm config={config} onSaved={onPreferences} />
      <LinkCodeSection username={username} />
      <ForgetDevice username={username} onForgotten={onConfig} />
    </Dialog>
  );
}
