// The only module that talks to Tauri: every command and the one event, typed.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { openUrl } from '@tauri-apps/plugin-opener';
import type { ClientEvent, Config, OutboxEntry, Preferences, Settings } from './types';

export const CLIENT_EVENT = 'client-event';

export const api = {
  loadSettings: () => invoke<Settings>('load_settings'),
  saveProfile: (username: string, serverUrl: string) => invoke<Config>('save_profile', { username, serverUrl }),
  startSession: () => invoke<void>('start_session'),
  saveDraft: (text: string) => invoke<void>('save_draft', { text }),
  savePreferences: (preferences: Preferences) => invoke<Config>('save_preferences', { preferences }),
  hideWindow: () => invoke<void>('hide_window'),
  sendMessage: (text: string) => invoke<OutboxEntry>('send_message', { text }),
  retryMessage: (clientId: string) => invoke<void>('retry_message', { clientId }),
  discardMessage: (clientId: string) => invoke<void>('discard_message', { clientId }),
  setTyping: (typing: boolean) => invoke<void>('set_typing', { typing }),
  reconnectNow: () => invoke<void>('reconnect_now'),
  openLink: (url: string) => openUrl(url),
  onClientEvent: (handler: (event: ClientEvent) => void): Promise<UnlistenFn> =>
    // The app sends the events that were waiting together as one array, in order.
    listen<ClientEvent | ClientEvent[]>(CLIENT_EVENT, (e) => {
      for (const event of Array.isArray(e.payload) ? e.payload : [e.payload]) handler(event);
    }),
};
