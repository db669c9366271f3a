import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { App } from './App';
import type { ClientEvent, Config, OutboxEntry } from './types';

const baseConfig: Config = {
  username: 'alice',
  serverUrl: 'ws://localhost:3050',
  notifications: { enabled: true, mentionsOnly: false },
  tray: { closeToTray: true, startOnLogin: false },
};

type Call = { cmd: string; args: Record<string, unknown> };
let calls: Call[];
let settings: { config: Config; draft: string };

function setup(overrides: Partial<{ config: Partial<Config>; draft: string; fail: Record<string, unknown> }> = {}) {
  settings = { config: { ...baseConfig, ...overrides.config }, draft: overrides.draft ?? '' };
  calls = [];
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      const failure = overrides.fail?.[cmd];
      if (failure) throw failure;
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
        case 'send_message':
          return { clientId: 'c1', text: (args as { text: string }).text, createdAt: new Date().toISOString(), state: 'pending' };
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
}

const called = (cmd: string) => calls.filter((c) => c.cmd === cmd);

/** Emits a client event and waits out the UI's event batching window (16 ms). */
async function send(event: ClientEvent) {
  await act(async () => {
    await emit('client-event', event);
    await new Promise((resolve) => setTimeout(resolve, 40));
  });
}

async function renderChat() {
  render(<App />);
  await waitFor(() => expect(called('start_session')).toHaveLength(1));
  await send({ event: 'status', state: 'connected', compat: false });
  await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], history: [] });
}

const message = (seq: number, username: string, text: string) => ({
  id: `m${seq}`,
  username,
  text,
  timestamp: new Date().toISOString(),
  seq,
});

beforeEach(() => setup());
afterEach(async () => {
  cleanup();
  await new Promise((r) => setTimeout(r, 0));
  clearMocks();
});

describe('first run', () => {
  test('asks for a username, checks it, saves it and starts the chat', async () => {
    setup({ config: { username: null } });
    const user = userEvent.setup();
    render(<App />);
    const name = await screen.findByLabelText('Username');
    expect(screen.getByLabelText('Server')).toHaveValue('ws://localhost:3050');
    await user.click(screen.getByRole('button', { name: 'Start chatting' }));
    expect(screen.getByRole('alert')).toHaveTextContent('Choose a username.');
    expect(called('save_profile')).toHaveLength(0);
    await user.type(name, '  ana  ');
    await user.click(screen.getByRole('button', { name: 'Start chatting' }));
    await waitFor(() => expect(called('start_session')).toHaveLength(1));
    expect(called('save_profile')[0]?.args).toEqual({ username: '  ana  ', serverUrl: 'ws://localhost:3050' });
    expect(screen.getByLabelText('Message')).toBeInTheDocument();
  });

  test("shows the app's reason when the profile is refused", async () => {
    setup({ config: { username: null }, fail: { save_profile: { kind: 'invalidServer', message: 'the scheme must be http, https, ws or wss' } } });
    const user = userEvent.setup();
    render(<App />);
    await user.type(await screen.findByLabelText('Username'), 'ana');
    await user.click(screen.getByRole('button', { name: 'Start chatting' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('the scheme must be http, https, ws or wss');
  });
});

describe('sending', () => {
  test('Enter sends, Shift+Enter adds a line; pending then delivered', async () => {
    const user = userEvent.setup();
    await renderChat();
    const box = screen.getByLabelText('Message');
    await user.type(box, 'first line{Shift>}{Enter}{/Shift}second');
    expect(called('send_message')).toHaveLength(0);
    await user.keyboard('{Enter}');
    await waitFor(() => expect(called('send_message')).toHaveLength(1));
    expect(called('send_message')[0]?.args).toEqual({ text: 'first line\nsecond' });
    expect(box).toHaveValue('');

    const pending: OutboxEntry = { clientId: 'c1', text: 'first line\nsecond', createdAt: new Date().toISOString(), state: 'pending' };
    await send({ event: 'outbox', entries: [pending] });
    expect(screen.getByTestId('unsent')).toHaveAttribute('data-state', 'pending');
    expect(screen.getByTestId('unsent')).toHaveTextContent('Sending…');

    await send({ event: 'message', ...message(1, 'alice', 'first line\nsecond'), clientId: 'c1' });
    await send({ event: 'outbox', entries: [] });
    expect(screen.queryByTestId('unsent')).not.toBeInTheDocument();
    expect(screen.getAllByTestId('message')).toHaveLength(1);
  });

  test('a failed message shows the reason, and can be retried or discarded', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({
      event: 'outbox',
      entries: [{ clientId: 'c9', text: 'too much', createdAt: new Date().toISOString(), state: 'failed', code: 'message_too_long', message: 'messages are limited to 4000 characters' }],
    });
    const unsent = screen.getByTestId('unsent');
    expect(unsent).toHaveAttribute('data-state', 'failed');
    expect(within(unsent).getByRole('alert')).toHaveTextContent('messages are limited to 4000 characters');
    await user.click(within(unsent).getByRole('button', { name: 'Retry' }));
    await user.click(within(unsent).getByRole('button', { name: 'Discard' }));
    expect(called('retry_message')[0]?.args).toEqual({ clientId: 'c9' });
    expect(called('discard_message')[0]?.args).toEqual({ clientId: 'c9' });
  });

  test('the draft is restored and saved as you type', async () => {
    setup({ draft: 'half a thought' });
    const user = userEvent.setup();
    await renderChat();
    const box = screen.getByLabelText('Message');
    expect(box).toHaveValue('half a thought');
    await user.type(box, '!');
    await waitFor(() => expect(called('save_draft').at(-1)?.args).toEqual({ text: 'half a thought!' }), { timeout: 2000 });
  });
});

describe('connection banner', () => {
  test('reconnecting, retry now, bad token, and back to normal', async () => {
    const user = userEvent.setup();
    await renderChat();
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
    await send({ event: 'status', state: 'reconnecting', attempt: 2, delayMs: 4000, reason: 'the connection was lost' });
    const status = screen.getByRole('status');
    expect(status).toHaveTextContent('Offline: the connection was lost. Reconnecting in 4 s');
    expect(screen.getByRole('complementary', { name: 'People online' })).toHaveTextContent('Online · 0');
    await user.click(within(status).getByRole('button', { name: 'Retry now' }));
    expect(called('reconnect_now')).toHaveLength(1);

    await send({ event: 'status', state: 'disconnected', reason: 'the server refused the connection: invalid token', cause: { kind: 'invalidToken' } });
    expect(screen.getByRole('alert')).toHaveTextContent('This server needs an access token');
    // The sentence is for people: a refusal that merely mentions a token is not this one.
    await send({ event: 'status', state: 'disconnected', reason: 'token bucket empty', cause: { kind: 'connectRefused' } });
    expect(screen.getByRole('alert')).toHaveTextContent('Disconnected: token bucket empty.');

    await send({ event: 'status', state: 'connected', compat: false });
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });
});

describe('settings', () => {
  test('changing the server saves the profile and restarts the session', async () => {
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'Settings' }));
    const dialog = screen.getByRole('dialog');
    const server = within(dialog).getByLabelText('Server');
    await user.clear(server);
    await user.type(server, 'ws://chat.example.org:3050');
    await user.click(within(dialog).getByRole('button', { name: 'Save and reconnect' }));
    await waitFor(() => expect(called('start_session')).toHaveLength(2));
    expect(called('save_profile')[0]?.args).toEqual({ username: 'alice', serverUrl: 'ws://chat.example.org:3050' });
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(screen.getByText('ws://chat.example.org:3050')).toBeInTheDocument();
  });
});

describe('desktop preferences', () => {
  test('toggles are saved at once; Hide and Ctrl+W hide the window', async () => {
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'Settings' }));
    await user.click(screen.getByLabelText('Desktop notifications for new messages'));
    await waitFor(() => expect(called('save_preferences')).toHaveLength(1));
    expect(called('save_preferences')[0]?.args).toEqual({
      preferences: { notifications: false, mentionsOnly: false, closeToTray: true, startOnLogin: false },
    });
    expect(screen.getByLabelText('Only when my name is mentioned')).toBeDisabled();
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    await user.click(screen.getByRole('button', { name: 'Hide' }));
    await user.keyboard('{Control>}w{/Control}');
    expect(called('hide_window')).toHaveLength(2);
    expect(called('start_session')).toHaveLength(1);
  });
});

describe('large histories', () => {
  test('a 10,000-message history is shown at once, virtualized', async () => {
    render(<App />);
    await waitFor(() => expect(called('start_session')).toHaveLength(1));
    const history = Array.from({ length: 10_000 }, (_, i) => message(i + 1, i % 2 ? 'bob' : 'carol', `message number ${i + 1}`));
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob', 'carol'], history });
    const rendered = screen.getAllByTestId('message');
    expect(rendered.length).toBeGreaterThan(0);
    expect(rendered.length).toBeLessThan(100);
  });
});

describe('history the server no longer has', () => {
  test('a gap is a visible line where the messages were, and a reset says so', async () => {
    await renderChat();
    await send({ event: 'message', ...message(1, 'bob', 'before the break') });
    await send({ event: 'gap', from: 2, to: 13, kept: false });
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], history: [message(14, 'bob', 'after the break')] });
    const notes = await screen.findAllByRole('note');
    expect(notes.map((n) => n.textContent)).toEqual(['12 older messages are no longer available']);
    const texts = screen.getAllByTestId('message').map((m) => m.textContent ?? '');
    expect(texts.findIndex((t) => t.includes('before the break'))).toBeLessThan(texts.findIndex((t) => t.includes('after the break')));

    await send({ event: 'historyReset' });
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], history: [message(1, 'bob', 'a new first message')] });
    expect(await screen.findByText('The server’s history started over')).toBeInTheDocument();
    expect(await screen.findByText('a new first message')).toBeInTheDocument();
  });
});

describe('safety and people', () => {
  test('HTML-looking text stays text; only http(s) links are links', async () => {
    await renderChat();
    const nasty = '<img src=x onerror="alert(1)"><b>bold</b> javascript:alert(1) see https://example.com/a?b=1.';
    await send({ event: 'message', ...message(1, 'bob', nasty) });
    const shown = screen.getByTestId('message');
    expect(shown).toHaveTextContent(nasty);
    expect(shown.querySelector('img, b, script')).toBeNull();
    const links = within(shown).getAllByRole('link');
    expect(links).toHaveLength(1);
    expect(links[0]).toHaveAttribute('href', 'https://example.com/a?b=1');
    fireEvent.click(links[0] as HTMLElement);
    await waitFor(() => expect(called('plugin:opener|open_url')[0]?.args).toMatchObject({ url: 'https://example.com/a?b=1' }));
  });

  test('presence lines, the online list and who is typing', async () => {
    await renderChat();
    const people = screen.getByRole('complementary', { name: 'People online' });
    expect(people).toHaveTextContent('Online · 2');
    await send({ event: 'userJoined', username: 'carol' });
    expect(screen.getByText('carol joined')).toBeInTheDocument();
    expect(people).toHaveTextContent('carol');
    await send({ event: 'typing', username: 'carol', typing: true });
    expect(screen.getByText('carol is typing…')).toBeInTheDocument();
    await send({ event: 'userLeft', username: 'carol' });
    expect(screen.getByText('carol left')).toBeInTheDocument();
    expect(screen.queryByText('carol is typing…')).not.toBeInTheDocument();
  });
});
