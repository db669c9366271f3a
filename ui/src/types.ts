// The shapes that cross the IPC boundary, mirroring charla-client's serde output.

export interface ChatMessage {
  id: string;
  username: string;
  text: string;
  timestamp: string;
  seq?: number;
  clientId?: string;
}

export type OutboxState =
  | { state: 'pending' }
  | { state: 'sent' }
  | { state: 'failed'; code: string; message: string };

export type OutboxEntry = {
  clientId: string;
  text: string;
  createdAt: string;
} & OutboxState;

export type ConnectionStatus =
  | { state: 'connecting' }
  | { state: 'connected'; compat: boolean }
  | { state: 'reconnecting'; attempt: number; delayMs: number; reason: string }
  | { state: 'disconnected'; reason: string };

export type ClientEvent =
  | ({ event: 'status' } & ConnectionStatus)
  | { event: 'joined'; username: string; users: string[]; history: ChatMessage[] }
  | { event: 'gap'; from: number; to: number; kept: boolean }
  | { event: 'historyReset' }
  | ({ event: 'message' } & ChatMessage)
  | { event: 'userJoined'; username: string }
  | { event: 'userLeft'; username: string }
  | { event: 'users'; users: string[] }
  | { event: 'typing'; username: string; typing: boolean }
  | { event: 'outbox'; entries: OutboxEntry[] }
  | { event: 'error'; code: string; message: string };

export interface Config {
  username: string | null;
  serverUrl: string;
  notifications: { enabled: boolean; mentionsOnly: boolean };
  tray: { closeToTray: boolean; startOnLogin: boolean };
}

export interface Preferences {
  notifications: boolean;
  mentionsOnly: boolean;
  closeToTray: boolean;
  startOnLogin: boolean;
}

export function preferencesOf(config: Config): Preferences {
  return {
    notifications: config.notifications.enabled,
    mentionsOnly: config.notifications.mentionsOnly,
    closeToTray: config.tray.closeToTray,
    startOnLogin: config.tray.startOnLogin,
  };
}

export interface Settings {
  config: Config;
  draft: string;
}

export interface AppError {
  kind: string;
  message: string;
}

export function isAppError(value: unknown): value is AppError {
  return typeof value === 'object' && value !== null && 'kind' in value && 'message' in value;
}
