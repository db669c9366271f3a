import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { App } from './App';
import { timeLabel } from './lib/chatState';
import type { ClientEvent, Config, OutboxEntry } from './types';

const baseConfig: Config = {
  username: 'alice',
  serverUrl: 'ws://localhost:3050',
  notifications: { enabled: true, mentionsOnly: false },
  tray: { closeToTray: true, startOnLogin: false },
};

const LINK_CODE = '7K2M-QD9R-X4TB-E1HW';
const LINK_EXPIRES_AT = new Date(Date.now() + 10 * 60_000).toISOString();

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
        case 'link_code':
          return { ok: true, code: LINK_CODE, expiresAt: LINK_EXPIRES_AT };
        case 'forget_device':
          return { ...settings.config, username: null };
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
  await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: true, history: [] });
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
    expect(called('save_profile')[0]?.args).toEqual({ username: '  ana  ', serverUrl: 'ws://localhost:3050', linkCode: null });
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

describe('owned names', () => {
  test('a link code typed at first run goes to save_profile; a malformed one is explained next to it', async () => {
    setup({ config: { username: null } });
    const user = userEvent.setup();
    render(<App />);
    await user.type(await screen.findByLabelText('Username'), 'alice');
    await user.type(screen.getByLabelText('Link code'), ' 7k2m-qd9r-x4tb-e1hw ');
    await user.click(screen.getByRole('button', { name: 'Start chatting' }));
    await waitFor(() => expect(called('start_session')).toHaveLength(1));
    expect(called('save_profile')[0]?.args).toEqual({ username: 'alice', serverUrl: 'ws://localhost:3050', linkCode: '7k2m-qd9r-x4tb-e1hw' });
    cleanup();

    const refusal = 'that is not a link code: it is 16 letters and digits, like 7K2M-QD9R-X4TB-E1HW';
    setup({ config: { username: null }, fail: { save_profile: { kind: 'invalidLinkCode', message: refusal } } });
    render(<App />);
    await user.type(await screen.findByLabelText('Username'), 'alice');
    await user.type(screen.getByLabelText('Link code'), 'nope');
    await user.click(screen.getByRole('button', { name: 'Start chatting' }));
    const field = screen.getByLabelText('Link code');
    await waitFor(() => expect(field).toHaveAttribute('aria-invalid', 'true'));
    expect(field).toHaveAccessibleDescription(expect.stringContaining(refusal));
    expect(screen.getByLabelText('Username')).toHaveAttribute('aria-invalid', 'false');
  });

  test('a name owned by someone else brings back the filled-in form with why, and a link code retries', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'status', state: 'disconnected', reason: 'the name belongs to someone else', cause: { kind: 'joinRefused', code: 'name_owned' } });
    expect(await screen.findByTestId('name-refused')).toHaveTextContent(
      '“alice” belongs to someone else. Pick another name, or link this computer with a code from one of your other computers.',
    );
    expect(screen.queryByLabelText('Message')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Username')).toHaveValue('alice');
    await user.type(screen.getByLabelText('Link code'), LINK_CODE);
    await user.click(screen.getByRole('button', { name: 'Start chatting' }));
    await waitFor(() => expect(called('start_session')).toHaveLength(2));
    expect(called('save_profile')[0]?.args).toEqual({ username: 'alice', serverUrl: 'ws://localhost:3050', linkCode: LINK_CODE });
    expect(screen.getByLabelText('Message')).toBeInTheDocument();
    expect(screen.queryByTestId('name-refused')).not.toBeInTheDocument();
  });

  test('other refusals stay in the chat, with the banner', async () => {
    await renderChat();
    await send({ event: 'status', state: 'disconnected', reason: 'that name is taken', cause: { kind: 'joinRefused', code: 'username_taken' } });
    expect(screen.getByRole('alert')).toHaveTextContent('Disconnected: that name is taken.');
    expect(screen.getByLabelText('Message')).toBeInTheDocument();
  });

  test('names nobody owns are marked as guests, in messages and in the people list', async () => {
    render(<App />);
    await waitFor(() => expect(called('start_session')).toHaveLength(1));
    const history = [
      message(1, 'bob', 'from an owned name'),
      { ...message(2, 'tut', 'from a guest'), guest: true },
      message(3, 'alice', 'mine'),
      { ...message(4, 'alice', 'a guest using my name'), guest: true },
    ];
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob', 'tut'], owned: true, history });
    await send({ event: 'users', users: ['alice', 'bob', 'tut'], guests: ['tut'] });
    const title = 'Nobody owns this name: anyone could use it';
    const [owned, guest, mine, impostor] = screen.getAllByTestId('message') as [HTMLElement, HTMLElement, HTMLElement, HTMLElement];
    expect(within(guest).getByTitle(title)).toHaveTextContent('guest');
    expect(within(owned).queryByTitle(title)).not.toBeInTheDocument();
    expect(mine).toHaveClass('own');
    expect(impostor).not.toHaveClass('own');
    expect(within(impostor).getByTitle(title)).toBeInTheDocument();

    const people = screen.getByRole('complementary', { name: 'People online' });
    const row = (name: string) => within(people).getByText(name).closest('li') as HTMLElement;
    expect(within(row('tut')).getByTitle(title)).toBeInTheDocument();
    expect(within(row('bob')).queryByTitle(title)).not.toBeInTheDocument();
    expect(within(row('alice')).queryByTitle(title)).not.toBeInTheDocument();
    await send({ event: 'userJoined', username: 'cli', guest: true });
    expect(within(row('cli')).getByTitle(title)).toBeInTheDocument();
    await send({ event: 'userLeft', username: 'tut' });
    expect(within(people).getAllByTitle(title)).toHaveLength(1);
  });

  test('Settings shows a link code to copy, and says when it cannot', async () => {
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'Settings' }));
    const section = screen.getByRole('region', { name: 'Use this name on another computer' });
    await user.click(within(section).getByRole('button', { name: 'Show a link code' }));
    expect(await within(section).findByTestId('link-code')).toHaveTextContent(new RegExp(`^${LINK_CODE}$`));
    expect(called('link_code')).toHaveLength(1);
    expect(section).toHaveTextContent(`Works once, until ${timeLabel(LINK_EXPIRES_AT)}`);
    await user.click(within(section).getByRole('button', { name: 'Copy' }));
    expect(await within(section).findByText('Copied.')).toBeInTheDocument();
    await expect(navigator.clipboard.readText()).resolves.toBe(LINK_CODE);
    cleanup();

    setup({ fail: { link_code: { kind: 'offline', message: 'not connected to the chat; try again when it is back' } } });
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'Settings' }));
    await user.click(screen.getByRole('button', { name: 'Show a link code' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('not connected to the chat; try again when it is back');
    expect(screen.queryByTestId('link-code')).not.toBeInTheDocument();
  });

  test('forgetting this device asks first, then goes back to the first screen', async () => {
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'Settings' }));
    await user.click(screen.getByRole('button', { name: 'Forget this device' }));
    expect(screen.getByRole('button', { name: 'No, keep it' })).toHaveFocus();
    await user.click(screen.getByRole('button', { name: 'No, keep it' }));
    expect(screen.getByRole('button', { name: 'Forget this device' })).toHaveFocus();
    expect(called('forget_device')).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Forget this device' }));
    await user.click(screen.getByRole('button', { name: 'Yes, forget this device' }));
    expect(await screen.findByRole('heading', { name: 'Welcome to Charla' })).toBeInTheDocument();
    expect(called('forget_device')).toHaveLength(1);
    expect(screen.getByLabelText('Username')).toHaveValue('');
    expect(screen.getByLabelText('Link code')).toBeInTheDocument();
    expect(screen.queryByLabelText('Message')).not.toBeInTheDocument();
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
    expect(called('save_profile')[0]?.args).toEqual({ username: 'alice', serverUrl: 'ws://chat.example.org:3050', linkCode: null });
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
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob', 'carol'], owned: true, history });
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
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: true, history: [message(14, 'bob', 'after the break')] });
    const notes = await screen.findAllByRole('note');
    expect(notes.map((n) => n.textContent)).toEqual(['12 older messages are no longer available']);
    const texts = screen.getAllByTestId('message').map((m) => m.textContent ?? '');
    expect(texts.findIndex((t) => t.includes('before the break'))).toBeLessThan(texts.findIndex((t) => t.includes('after the break')));

    await send({ event: 'historyReset' });
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: true, history: [message(1, 'bob', 'a new first message')] });
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
    await send({ event: 'userJoined', username: 'carol', guest: false });
    expect(screen.getByText('carol joined')).toBeInTheDocument();
    expect(people).toHaveTextContent('carol');
    await send({ event: 'typing', username: 'carol', typing: true });
    expect(screen.getByText('carol is typing…')).toBeInTheDocument();
    await send({ event: 'userLeft', username: 'carol' });
    expect(screen.getByText('carol left')).toBeInTheDocument();
    expect(screen.queryByText('carol is typing…')).not.toBeInTheDocument();
  });
});
