// What the App's tests share (one file per feature: App.*.test.tsx): the mocked commands and
// what they were called with, sending client events, rendering the chat, message and
// conversation helpers, and the hooks each file installs.
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { App } from './App';
import type { ChatMessage, ClientEvent, Config, RoomState } from './types';
import { VIEW_PX } from './test-layout';

export const baseConfig: Config = {
  username: 'alice',
  serverUrl: 'ws://localhost:3050',
  notifications: { enabled: true, mentionsOnly: false },
  tray: { closeToTray: true, startOnLogin: false },
  muted: {},
};

export const LINK_CODE = '7K2M-QD9R-X4TB-E1HW';
export const LINK_EXPIRES_AT = new Date(Date.now() + 10 * 60_000).toISOString();

type Call = { cmd: string; args: Record<string, unknown> };
type Handler = (args: Record<string, unknown>) => unknown;
export let calls: Call[];
export let settings: { config: Config; drafts: Record<string, string> };

export function setup(
  overrides: Partial<{ config: Partial<Config>; drafts: Record<string, string>; fail: Record<string, unknown>; handlers: Record<string, Handler> }> = {},
) {
  settings = { config: { ...baseConfig, ...overrides.config }, drafts: overrides.drafts ?? {} };
  calls = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const failure = overrides.fail?.[cmd];
      if (failure) throw failure;
      const handler = overrides.handlers?.[cmd];
      if (handler) return handler(a);
      switch (cmd) {
        case 'load_settings':
          return settings;
        case 'save_profile': {
          const a = args as { username: string; serverUrl: string };
          return { ...settings.config, username: a.username.trim(), serverUrl: a.serverUrl };
        }
        case 'save_preferences': {
          const p = (args as { preferences: { notifications: boolean; mentionsOnly: boolean; closeToTray: boolean; startOnLogin: boolean } }).preferences;
          return { ...settings.config, notifications: { enabled: p.notifications, mentionsOnly: p.mentionsOnly }, tray: { closeToTray: p.closeToTray, startOnLogin: p.startOnLogin } };
        }
        case 'link_code':
          return { ok: true, code: LINK_CODE, expiresAt: LINK_EXPIRES_AT };
        case 'forget_device':
          return { ...settings.config, username: null };
        case 'send_message': {
          const { room, text } = a as { room: string; text: string };
          return { clientId: 'c1', text, ...(room === 'general' ? {} : { room }), createdAt: new Date().toISOString(), state: 'pending' };
        }
        case 'load_history':
          return { ok: true, messages: [], more: false };
        case 'list_rooms':
          return { ok: true, rooms: [] };
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
}

export const called = (cmd: string) => calls.filter((c) => c.cmd === cmd);
/** A line of text (a paragraph), whatever elements its words are in (names are isolated in their own). */
export const line = (text: string) => screen.queryByText((_, el) => el?.tagName === 'P' && el.textContent === text);

/** Emits a client event and waits out the UI's event batching window (16 ms). */
export async function send(event: ClientEvent | ClientEvent[]) {
  await act(async () => {
    await emit('client-event', event);
    await new Promise((resolve) => setTimeout(resolve, 40));
  });
}

export async function renderChat() {
  render(<App />);
  await waitFor(() => expect(called('start_session')).toHaveLength(1));
  await send({ event: 'status', state: 'connected', compat: false });
  await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: true, history: [] });
}

export const message = (seq: number, username: string, text: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id: `m${seq}`,
  username,
  text,
  timestamp: new Date().toISOString(),
  seq,
  ...extra,
});

/**
 * Registers what every App test file runs: fresh mocks, no focus, cleanup; and a longer budget
 * per test. Each file's first test renders the whole app cold (React, jsdom and the app's modules
 * warming up): alone in App.test.tsx that cost came once, split per feature it comes once per
 * file, and on a busy machine it took one test past Vitest's 5 s default.
 */
export function installAppHooks() {
  vi.setConfig({ testTimeout: 15_000 });
  beforeEach(() => {
    setup();
    localStorage.clear();
    // Not in front of the user unless a test says so (jsdom calls a document with focus "focused").
    vi.spyOn(document, 'hasFocus').mockReturnValue(false);
  });
  afterEach(async () => {
    cleanup();
    await new Promise((r) => setTimeout(r, 0));
    clearMocks();
    vi.restoreAllMocks();
    vi.unstubAllGlobals();
  });
}

export const SERVER = 'ws://localhost:3050';

export const inRoom = (room: string, seqs: number[], username = 'bob', extra: Partial<ChatMessage> = {}): ClientEvent[] =>
  seqs.map((seq) => ({ event: 'message', ...message(seq, username, `${room} message ${seq}`, extra), room }));

/** A page of `load_history`: the `limit` messages before `before`, oldest first. */
export function historyPage(room: string) {
  return (a: Record<string, unknown>) => {
    const before = a.before as number;
    const limit = a.limit as number;
    const from = Math.max(1, before - limit);
    const seqs = Array.from({ length: before - from }, (_, i) => from + i);
    return { ok: true, messages: seqs.map((seq) => ({ ...message(seq, 'bob', `${room} message ${seq}`), room })), more: from > 1 };
  };
}

export const nav = () => screen.getByRole('navigation', { name: 'Conversations' });
export const entry = (room: string) => {
  const found = nav().querySelector<HTMLElement>(`[data-room="${room}"]`);
  if (!found) throw new Error(`no sidebar entry for ${room}`);
  return found;
};
export const header = () => screen.getByTestId('room-header');
export const seqsShown = () => screen.queryAllByTestId('message').map((m) => m.getAttribute('data-seq'));

/** Whether message `seq` is rendered and its row (placed by the virtualizer) is in the laid-out view. */
export function messageRowInView(seq: number): boolean {
  const row = document.querySelector(`[data-testid="message"][data-seq="${seq}"]`)?.closest<HTMLElement>('[data-index]');
  if (!row) return false;
  const top = Number(/translateY\((-?[\d.]+)px\)/u.exec(row.style.transform)?.[1] ?? Number.NaN);
  const log = screen.getByRole('log');
  return top >= log.scrollTop - 8 && top <= log.scrollTop + VIEW_PX - 8;
}

/** Makes the timeline taller than its view, as a long conversation is (jsdom lays nothing out). */
export function tallTimeline() {
  vi.spyOn(Element.prototype, 'scrollHeight', 'get').mockReturnValue(100_000);
}

export const entered = (state: RoomState, messages: ChatMessage[] = []) => ({ ok: true, room: state, messages, more: false });
