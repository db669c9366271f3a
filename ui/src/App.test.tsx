import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { App } from './App';
import { OPEN_ITEMS } from './lib/bounds';
import { timeLabel } from './lib/chatState';
import * as perfMarks from './lib/perfMarks';
import type { ChatMessage, ClientEvent, Config, OutboxEntry, RoomState } from './types';
import { roomState } from './test-fixtures';
import { belowView, frames, layOutTimeline, measureRowsAgain, VIEW_PX } from './test-layout';

const baseConfig: Config = {
  username: 'alice',
  serverUrl: 'ws://localhost:3050',
  notifications: { enabled: true, mentionsOnly: false },
  tray: { closeToTray: true, startOnLogin: false },
  muted: {},
};

const LINK_CODE = '7K2M-QD9R-X4TB-E1HW';
const LINK_EXPIRES_AT = new Date(Date.now() + 10 * 60_000).toISOString();

type Call = { cmd: string; args: Record<string, unknown> };
type Handler = (args: Record<string, unknown>) => unknown;
let calls: Call[];
let settings: { config: Config; drafts: Record<string, string> };

function setup(
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

const called = (cmd: string) => calls.filter((c) => c.cmd === cmd);
/** A line of text (a paragraph), whatever elements its words are in (names are isolated in their own). */
const line = (text: string) => screen.queryByText((_, el) => el?.tagName === 'P' && el.textContent === text);

/** Emits a client event and waits out the UI's event batching window (16 ms). */
async function send(event: ClientEvent | ClientEvent[]) {
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

const message = (seq: number, username: string, text: string, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id: `m${seq}`,
  username,
  text,
  timestamp: new Date().toISOString(),
  seq,
  ...extra,
});

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
      message(3, 'alice', 'mine', { own: true }),
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

    const people = screen.getByRole('complementary', { name: 'People' });
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
    expect(called('send_message')[0]?.args).toEqual({ room: 'general', text: 'first line\nsecond' });
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
    setup({ drafts: { general: 'half a thought' } });
    const user = userEvent.setup();
    await renderChat();
    const box = screen.getByLabelText('Message');
    expect(box).toHaveValue('half a thought');
    await user.type(box, '!');
    await waitFor(() => expect(called('save_draft').at(-1)?.args).toEqual({ room: 'general', text: 'half a thought!' }), { timeout: 2000 });
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
    expect(screen.getByRole('complementary', { name: 'People' })).toHaveTextContent('Online · 0');
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

  test("Save and reconnect reads the drafts again: the other server's are shown, not the first load's", async () => {
    setup({ drafts: { general: 'for the first server' } });
    const user = userEvent.setup();
    await renderChat();
    expect(screen.getByLabelText('Message')).toHaveValue('for the first server');
    await user.click(screen.getByRole('button', { name: 'Settings' }));
    const server = within(screen.getByRole('dialog')).getByLabelText('Server');
    await user.clear(server);
    await user.type(server, 'ws://chat.example.org:3050');
    settings.drafts = { general: 'for the other server' };
    await user.click(screen.getByRole('button', { name: 'Save and reconnect' }));
    await waitFor(() => expect(called('start_session')).toHaveLength(2));
    expect(called('load_settings')).toHaveLength(2);
    expect(screen.getByLabelText('Message')).toHaveValue('for the other server');
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

  test("others' text is isolated: a right-to-left override in a name, topic, message or result reorders nothing around it", async () => {
    const RLO = '\u202E';
    const eve = `eve${RLO}`;
    const topic = `deploys ${RLO}today`;
    const text = `look ${RLO}here`;
    const snippet = `old ${RLO}deploy`;
    const theirs = new Set([eve, topic, text, snippet]);
    setup({ handlers: { search: () => ({ ok: true, results: [{ room: 'ops', seq: 1, id: 'm1', username: eve, timestamp: new Date().toISOString(), snippet, highlights: [[0, 3]] }], more: false }) } });
    // Every piece of text holding the override is alone in its isolate (a <bdi>, or an element
    // with dir): the override ends there, whatever the words around it.
    const isolates = () => {
      const found: { where: Element | null; isolate: string | null }[] = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.textContent?.includes(RLO)) continue;
        found.push({ where: n.parentElement, isolate: n.parentElement?.closest('bdi, [dir]')?.textContent ?? null });
      }
      return found;
    };
    const where = (found: ReturnType<typeof isolates>, selector: string) => found.filter((f) => f.where?.closest(selector)).length;
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'userJoined', username: eve, guest: false });
    expect(where(isolates(), '.presence')).toBe(1); // "eve joined", in general
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0, 0, { topic, members: ['alice', eve] }), roomState('dm:1', 0, 0, 0, 0, { members: ['alice', eve] })] });
    await user.click(entry('ops'));
    await send([{ event: 'message', ...message(1, eve, text), room: 'ops' }, { event: 'typing', username: eve, typing: true, room: 'ops' }]);
    await user.type(screen.getByLabelText('Message'), '@e');

    let found = isolates();
    for (const f of found) expect(theirs.has(f.isolate ?? '')).toBe(true);
    expect(where(found, 'nav')).toBe(1); // the DM, shown as eve
    expect(where(found, 'aside.people')).toBe(1);
    expect(where(found, '[data-testid="room-topic"]')).toBe(1);
    expect(where(found, '[data-testid="message"] header')).toBe(1);
    expect(where(found, '[data-testid="message"] .text')).toBe(1);
    expect(where(found, '.typing')).toBe(1);
    expect(where(found, '.mention-list')).toBe(1);
    expect(where(found, '[data-testid="arrivals"]')).toBe(2); // "eve: look here", read out

    await user.keyboard('{Escape}');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await user.type(screen.getByLabelText('Search messages'), 'old{Enter}');
    await screen.findByTestId('search-result');
    found = isolates();
    for (const f of found) expect(theirs.has(f.isolate ?? '')).toBe(true);
    expect(where(found, '[data-testid="search-result"]')).toBe(2); // the author and the snippet
  });

  test('a name is one element wherever it appears (sidebar, header, people, author), whole in its title', async () => {
    const long = 'bartholomew_the_third_of_many';
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'userJoined', username: long, guest: false });
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('dm:7', 0, 0, 0, 0, { members: ['alice', long] })] });
    await user.click(entry('dm:7'));
    await send({ event: 'message', ...message(1, long, 'hello'), room: 'dm:7' });
    const names = [...document.querySelectorAll('.name')].filter((el) => el.textContent === long);
    const places = ['nav', '[data-testid="room-header"] h1', 'aside.people', '[data-testid="message"] .author'];
    for (const place of places) {
      const el = names.find((n) => n.closest(place));
      // The class gives it one line and an ellipsis (styles.css); the title shows it whole.
      expect(el, place).toBeDefined();
      expect(el).toHaveAttribute('title', long);
    }
  });

  test('presence lines, the online list and who is typing', async () => {
    await renderChat();
    const people = screen.getByRole('complementary', { name: 'People' });
    expect(people).toHaveTextContent('Online · 2');
    await send({ event: 'userJoined', username: 'carol', guest: false });
    expect(line('carol joined')).toBeInTheDocument();
    expect(people).toHaveTextContent('carol');
    await send({ event: 'typing', username: 'carol', typing: true });
    expect(line('carol is typing…')).toBeInTheDocument();
    await send({ event: 'userLeft', username: 'carol' });
    expect(line('carol left')).toBeInTheDocument();
    expect(line('carol is typing…')).not.toBeInTheDocument();
  });

  test('the timeline is a log not read out as it changes; new messages from others are announced, the last one', async () => {
    await renderChat();
    const log = screen.getByRole('log', { name: 'Messages in #general' });
    expect(log).toHaveAttribute('aria-live', 'off');
    const heard = screen.getByTestId('arrivals');
    expect(heard).toHaveAttribute('aria-live', 'polite');
    expect(heard).toHaveClass('sr-only');
    await send({ event: 'message', ...message(1, 'bob', 'hello') });
    expect(heard).toHaveTextContent(/^bob: hello$/);
    await send([
      { event: 'message', ...message(2, 'bob', 'one') },
      { event: 'message', ...message(3, 'carol', 'two') },
    ]);
    expect(heard).toHaveTextContent(/^carol: two$/);
    await send({ event: 'message', ...message(4, 'alice', 'mine', { own: true }) });
    expect(heard).toHaveTextContent(/^carol: two$/);
  });

  test('the footprint mark counts the messages the open conversation holds', async () => {
    const painted = vi.spyOn(perfMarks, 'markPainted');
    await renderChat();
    await send([{ event: 'message', ...message(1, 'bob', 'a') }, { event: 'userJoined', username: 'carol', guest: false }, { event: 'message', ...message(2, 'bob', 'b') }]);
    expect(painted).toHaveBeenLastCalledWith(2);
  });
});

// ---- Conversations: rooms and direct messages ----

const SERVER = 'ws://localhost:3050';


const inRoom = (room: string, seqs: number[], username = 'bob', extra: Partial<ChatMessage> = {}): ClientEvent[] =>
  seqs.map((seq) => ({ event: 'message', ...message(seq, username, `${room} message ${seq}`, extra), room }));

/** A page of `load_history`: the `limit` messages before `before`, oldest first. */
function historyPage(room: string) {
  return (a: Record<string, unknown>) => {
    const before = a.before as number;
    const limit = a.limit as number;
    const from = Math.max(1, before - limit);
    const seqs = Array.from({ length: before - from }, (_, i) => from + i);
    return { ok: true, messages: seqs.map((seq) => ({ ...message(seq, 'bob', `${room} message ${seq}`), room })), more: from > 1 };
  };
}

const nav = () => screen.getByRole('navigation', { name: 'Conversations' });
const entry = (room: string) => {
  const found = nav().querySelector<HTMLElement>(`[data-room="${room}"]`);
  if (!found) throw new Error(`no sidebar entry for ${room}`);
  return found;
};
const header = () => screen.getByTestId('room-header');
const seqsShown = () => screen.queryAllByTestId('message').map((m) => m.getAttribute('data-seq'));

/** Whether message `seq` is rendered and its row (placed by the virtualizer) is in the laid-out view. */
function messageRowInView(seq: number): boolean {
  const row = document.querySelector(`[data-testid="message"][data-seq="${seq}"]`)?.closest<HTMLElement>('[data-index]');
  if (!row) return false;
  const top = Number(/translateY\((-?[\d.]+)px\)/u.exec(row.style.transform)?.[1] ?? Number.NaN);
  const log = screen.getByRole('log');
  return top >= log.scrollTop - 8 && top <= log.scrollTop + VIEW_PX - 8;
}

/** Makes the timeline taller than its view, as a long conversation is (jsdom lays nothing out). */
function tallTimeline() {
  vi.spyOn(Element.prototype, 'scrollHeight', 'get').mockReturnValue(100_000);
}

const entered = (state: RoomState, messages: ChatMessage[] = []) => ({ ok: true, room: state, messages, more: false });

describe('sidebar', () => {
  test('counts come from the join, then new messages and read markers; my own message clears them', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({
      event: 'rooms',
      rooms: [roomState('general', 0, 0, 0), roomState('ops', 10, 7, 3, 1), roomState('dm:4', 2, 2, 0, 0, { kind: 'dm' })],
    });
    const ops = entry('ops');
    expect(ops).toHaveAttribute('data-unread', '3');
    expect(ops).toHaveAttribute('data-mentions', '1');
    expect(ops).toHaveClass('unread');
    expect(ops).toHaveTextContent('@1');
    expect(within(nav()).getByRole('button', { name: 'ops, 3 unread, 1 mention' })).toBe(ops);
    expect(entry('general')).toHaveAttribute('aria-current', 'page');
    // A DM is shown as the other person, under its own heading.
    expect(within(nav()).getByRole('button', { name: 'bob' })).toBe(entry('dm:4'));
    expect(within(nav()).getByRole('heading', { name: 'Direct messages' })).toBeInTheDocument();

    await send(inRoom('ops', [10, 11]));
    expect(ops).toHaveAttribute('data-unread', '4');
    await send({ event: 'readMarker', room: 'ops', read: 11, unread: 0, mentions: 0 });
    expect(ops).toHaveAttribute('data-unread', '0');
    expect(ops).toHaveAttribute('data-mentions', '0');
    expect(ops).not.toHaveClass('unread');
    expect(ops).toHaveAccessibleName('ops');

    await send(inRoom('dm:4', [3]));
    expect(entry('dm:4')).toHaveAccessibleName('bob, 1 unread');
    await send(inRoom('dm:4', [4], 'alice', { own: true }));
    expect(entry('dm:4')).toHaveAttribute('data-unread', '0');

    await user.click(ops);
    expect(within(header()).getByRole('heading', { name: '#ops' })).toBeInTheDocument();
    expect(ops).toHaveAttribute('aria-current', 'page');
    expect(entry('general')).not.toHaveAttribute('aria-current');
    expect(called('show_conversation').map((c) => c.args.room)).toEqual(['general', 'ops']);
    expect(seqsShown()).toEqual(['10', '11']);
    expect(screen.getAllByTestId('message').every((m) => m.getAttribute('data-room') === 'ops')).toBe(true);
  });

  test('a muted room shows a mark and counts only its mentions; Mute toggles it', async () => {
    setup({
      config: { muted: { [SERVER]: ['ops'] } },
      handlers: { set_room_muted: (a) => ({ ...settings.config, muted: a.muted ? { [SERVER]: ['ops'] } : {} }) },
    });
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 10, 7, 3, 1)] });
    const ops = entry('ops');
    expect(ops).toHaveClass('muted');
    expect(ops).toHaveClass('unread');
    expect(ops).toHaveAccessibleName('ops, muted, new messages, 1 mention');
    expect(within(ops).getByText('@1')).toBeInTheDocument();
    expect(within(ops).queryByText('3')).not.toBeInTheDocument();

    await user.click(ops);
    const mute = within(header()).getByRole('button', { name: 'Mute' });
    expect(mute).toHaveAttribute('aria-pressed', 'true');
    await user.click(mute);
    expect(called('set_room_muted')[0]?.args).toEqual({ room: 'ops', muted: false });
    await waitFor(() => expect(mute).toHaveAttribute('aria-pressed', 'false'));
    expect(ops).toHaveAccessibleName('ops, 3 unread, 1 mention');
  });

  test('a muted room with unread messages but no mention is dimmed, not bold, and shows no count', async () => {
    setup({ config: { muted: { [SERVER]: ['ops'] } } });
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 10, 7, 3, 0)] });
    const ops = entry('ops');
    expect(ops).not.toHaveClass('unread');
    expect(ops).toHaveClass('dim');
    expect(within(ops).queryByText('3')).not.toBeInTheDocument();
    expect(ops).toHaveAccessibleName('ops, muted, new messages');
    await send({ event: 'message', ...message(11, 'bob', 'hey', { mentions: ['alice'], mentionsMe: true }), room: 'ops' });
    expect(ops).toHaveClass('unread');
    expect(within(ops).getByText('@1')).toBeInTheDocument();
  });

  test('guests have general only, and are told why', async () => {
    render(<App />);
    await waitFor(() => expect(called('start_session')).toHaveLength(1));
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: false, history: [] });
    expect(within(nav()).getByText('Own your name to use rooms and direct messages')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Browse rooms' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'New message' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Message bob' })).not.toBeInTheDocument();
    expect(within(header()).queryByRole('button', { name: 'Edit topic' })).not.toBeInTheDocument();
  });

  test('the conversation open last time opens again once the rooms are known', async () => {
    localStorage.setItem(`charla:last-conversation:${SERVER}`, 'ops');
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0)] });
    expect(within(header()).getByRole('heading', { name: '#ops' })).toBeInTheDocument();
    expect(called('show_conversation').at(-1)?.args).toEqual({ room: 'ops' });
  });

  test('a clicked notification opens its conversation', async () => {
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0)] });
    await act(async () => {
      await emit('open-conversation', { room: 'ops' });
    });
    expect(within(header()).getByRole('heading', { name: '#ops' })).toBeInTheDocument();
  });
});

describe('quick switcher', () => {
  test('Ctrl+K filters by name (prefix first), arrows move, Enter opens, Escape closes and gives focus back', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({
      event: 'rooms',
      rooms: ['general', 'ops', 'design', 'dev-ops'].map((r) => roomState(r, 0, 0, 0)).concat(roomState('dm:4', 0, 0, 0, 0, { kind: 'dm', members: ['alice', 'Oscar'] })),
    });
    const box = screen.getByLabelText('Message');
    expect(box).toHaveFocus();
    await user.keyboard('{Control>}k{/Control}');
    const dialog = screen.getByRole('dialog', { name: 'Jump to conversation' });
    const input = within(dialog).getByRole('combobox');
    expect(input).toHaveFocus();
    await user.type(input, 'o');
    const names = () => within(dialog).getAllByRole('option').map((o) => o.textContent);
    expect(names()).toEqual(['#ops', '@Oscar', '#dev-ops']);
    expect(within(dialog).getAllByRole('option')[0]).toHaveAttribute('aria-selected', 'true');
    await user.keyboard('{ArrowDown}{ArrowDown}');
    expect(within(dialog).getAllByRole('option')[2]).toHaveAttribute('aria-selected', 'true');
    await user.keyboard('{Enter}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(within(header()).getByRole('heading', { name: '#dev-ops' })).toBeInTheDocument();

    await user.keyboard('{Control>}k{/Control}');
    expect(screen.getByRole('dialog', { name: 'Jump to conversation' })).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Message')).toHaveFocus();
  });

  test('Tab stays inside a dialog', async () => {
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'New room' }));
    const dialog = screen.getByRole('dialog', { name: 'New room' });
    for (let i = 0; i < 8; i += 1) {
      await user.tab();
      expect(dialog).toContainElement(document.activeElement as HTMLElement);
    }
    await user.tab({ shift: true });
    expect(dialog).toContainElement(document.activeElement as HTMLElement);
  });
});

describe('composer', () => {
  test('@ suggests the members; Enter or Tab inserts the name and does not send; Escape closes', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0, 0, { members: ['alice', 'bob', 'Mary Jane', 'marco'] })] });
    await user.click(entry('ops'));
    const box = screen.getByRole('combobox', { name: 'Message' });
    expect(box).toHaveAttribute('aria-expanded', 'false');
    await user.type(box, 'hi @ma');
    const list = screen.getByRole('listbox', { name: 'People to mention' });
    expect(box).toHaveAttribute('aria-expanded', 'true');
    expect(box).toHaveAttribute('aria-controls', list.id);
    expect(within(list).getAllByRole('option').map((o) => o.textContent)).toEqual(['@Mary Jane', '@marco']);
    await user.keyboard('{ArrowDown}{Enter}');
    expect(box).toHaveValue('hi @marco ');
    expect(called('send_message')).toHaveLength(0);
    expect(screen.queryByRole('listbox')).not.toBeInTheDocument();

    await user.type(box, 'and @mary j');
    await user.keyboard('{Tab}');
    expect(box).toHaveValue('hi @marco and @Mary Jane ');
    await user.type(box, '@b');
    expect(screen.getByRole('listbox')).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('listbox')).not.toBeInTheDocument();
    await user.keyboard('{Enter}');
    await waitFor(() => expect(called('send_message')).toHaveLength(1));
    expect(called('send_message')[0]?.args).toEqual({ room: 'ops', text: 'hi @marco and @Mary Jane @b' });
    expect(called('set_typing')[0]?.args).toEqual({ room: 'ops', typing: true });
  });

  test("in general the online people are suggested; messages that mention me are marked", async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'users', users: ['alice', 'bob', 'bea'], guests: [] });
    await user.type(screen.getByLabelText('Message'), '@b');
    expect(within(screen.getByRole('listbox')).getAllByRole('option').map((o) => o.textContent)).toEqual(['@bob', '@bea']);
    await send({ event: 'message', ...message(1, 'bob', 'hey @alice', { mentions: ['alice'], mentionsMe: true }) });
    await send({ event: 'message', ...message(2, 'bob', 'hey all', { mentions: [] }) });
    const [mention, plain] = screen.getAllByTestId('message') as [HTMLElement, HTMLElement];
    expect(mention).toHaveClass('mention');
    expect(mention).toHaveAttribute('data-mention', 'true');
    expect(plain).not.toHaveAttribute('data-mention');
  });

  test('each conversation keeps its own draft; save_draft names the room', async () => {
    setup({ drafts: { general: 'for everyone', ops: 'for ops' } });
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: ['general', 'ops', 'design'].map((r) => roomState(r, 0, 0, 0)) });
    expect(screen.getByLabelText('Message')).toHaveValue('for everyone');
    await user.click(entry('ops'));
    expect(screen.getByLabelText('Message')).toHaveValue('for ops');
    await user.type(screen.getByLabelText('Message'), '!');
    await user.click(entry('design'));
    // Leaving a conversation saves its draft at once.
    expect(called('save_draft').at(-1)?.args).toEqual({ room: 'ops', text: 'for ops!' });
    expect(screen.getByLabelText('Message')).toHaveValue('');
    await user.type(screen.getByLabelText('Message'), 'x');
    await waitFor(() => expect(called('save_draft').at(-1)?.args).toEqual({ room: 'design', text: 'x' }), { timeout: 2000 });
    await user.click(entry('general'));
    expect(screen.getByLabelText('Message')).toHaveValue('for everyone');
    await user.click(entry('ops'));
    expect(screen.getByLabelText('Message')).toHaveValue('for ops!');
    await user.click(entry('design'));
    expect(screen.getByLabelText('Message')).toHaveValue('x');
  });

  test("unsent messages are shown in their own conversation", async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: ['general', 'ops'].map((r) => roomState(r, 0, 0, 0)) });
    await send({ event: 'outbox', entries: [{ clientId: 'c7', room: 'ops', text: 'to ops', createdAt: new Date().toISOString(), state: 'pending' }] });
    expect(screen.queryByTestId('unsent')).not.toBeInTheDocument();
    await user.click(entry('ops'));
    expect(screen.getByTestId('unsent')).toHaveTextContent('to ops');
  });
});

describe('reading', () => {
  test('the "New messages" line sits at the read marker as it was when the room was opened', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 5, 3, 2)] });
    await send(inRoom('ops', [1, 2, 3, 4, 5]));
    await user.click(entry('ops'));
    const order = () =>
      Array.from(screen.getByRole('log').querySelectorAll('[data-testid="new-divider"], [data-testid="message"]')).map((el) =>
        el.getAttribute('data-testid') === 'new-divider' ? 'new' : el.getAttribute('data-seq'),
      );
    expect(order()).toEqual(['1', '2', '3', 'new', '4', '5']);
    expect(screen.getByTestId('new-divider')).toHaveAttribute('role', 'separator');
    // Read elsewhere meanwhile: the line stays while the room is open.
    await send({ event: 'readMarker', room: 'ops', read: 5, unread: 0, mentions: 0 });
    await send(inRoom('ops', [6]));
    expect(order()).toEqual(['1', '2', '3', 'new', '4', '5', '6']);
    await user.click(entry('general'));
    await send({ event: 'readMarker', room: 'ops', read: 6, unread: 0, mentions: 0 });
    await user.click(entry('ops'));
    expect(screen.queryByTestId('new-divider')).not.toBeInTheDocument();
  });

  test('the open room is marked read while the window is in front, at most once a second', async () => {
    const focused = vi.spyOn(document, 'hasFocus').mockReturnValue(true);
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 3, 1, 2)] });
    await send(inRoom('ops', [1, 2, 3]));
    expect(entry('ops')).toHaveAttribute('data-unread', '2');
    await user.click(entry('ops'));
    await waitFor(() => expect(called('mark_read')).toHaveLength(1));
    expect(called('mark_read')[0]?.args).toEqual({ room: 'ops', seq: 3 });
    expect(entry('ops')).toHaveAttribute('data-unread', '0');

    // In front: new messages are read as they come; the marker follows within a second.
    await send(inRoom('ops', [4]));
    await send(inRoom('ops', [5]));
    expect(entry('ops')).toHaveAttribute('data-unread', '0');
    await waitFor(() => expect(called('mark_read').at(-1)?.args).toEqual({ room: 'ops', seq: 5 }), { timeout: 2000 });
    expect(called('mark_read').length).toBeLessThanOrEqual(3);

    // Not in front: counted, not marked; back in front: marked.
    focused.mockReturnValue(false);
    act(() => {
      window.dispatchEvent(new Event('blur'));
    });
    const marks = called('mark_read').length;
    await send(inRoom('ops', [6]));
    expect(entry('ops')).toHaveAttribute('data-unread', '1');
    await new Promise((r) => setTimeout(r, 1100));
    expect(called('mark_read')).toHaveLength(marks);
    focused.mockReturnValue(true);
    act(() => {
      window.dispatchEvent(new Event('focus'));
    });
    await waitFor(() => expect(called('mark_read').at(-1)?.args).toEqual({ room: 'ops', seq: 6 }), { timeout: 2000 });
    expect(entry('ops')).toHaveAttribute('data-unread', '0');
  });

  test('the tutorial server keeps no markers: reading only clears the counts here', async () => {
    vi.spyOn(document, 'hasFocus').mockReturnValue(true);
    render(<App />);
    await waitFor(() => expect(called('start_session')).toHaveLength(1));
    await send({ event: 'status', state: 'connected', compat: true });
    await send({ event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: false, history: [] });
    await send({ event: 'message', id: 'x', username: 'bob', text: 'hi', timestamp: new Date().toISOString() });
    expect(entry('general')).toHaveAttribute('data-unread', '0');
    expect(called('mark_read')).toHaveLength(0);
  });
});

describe('following the newest message', () => {
  // jsdom lays nothing out: tallTimeline() makes the list 100,000 px tall, 600 px in view, so its
  // end is at 99,400 whatever the rows' estimates say (as real rows measure otherwise than estimated).
  const END = 99_400;
  const general = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ event: 'message' as const, ...message(from + i, 'bob', `line ${from + i}`) }));
  const newMessagesButton = () => screen.queryByRole('button', { name: /new messages? ↓/ });

  test('rows measuring taller than estimated: a burst of 35 lines in a room just opened is followed to its last line', async () => {
    layOutTimeline();
    await renderChat();
    const log = screen.getByRole('log');
    // A burst comes in several batches, a frame or so apart.
    for (let from = 1; from <= 35; from += 7) {
      await send(general(from, 7));
      await frames(1);
    }
    await frames();
    expect(belowView(log)).toBeLessThanOrEqual(1);
    expect(newMessagesButton()).toBeNull();
    await send(general(36, 35));
    await frames();
    expect(belowView(log)).toBeLessThanOrEqual(1);
    expect(newMessagesButton()).toBeNull();
  });

  test.each<[string, (log: HTMLElement) => void]>([
    ['the wheel', (log) => fireEvent.wheel(log, { deltaY: -120 })],
    ['a key (PageUp)', (log) => fireEvent.keyDown(log, { key: 'PageUp' })],
    ['a touch', (log) => {
      fireEvent.touchStart(log, { touches: [{ clientY: 100 }] });
      fireEvent.touchMove(log, { touches: [{ clientY: 300 }] });
    }],
    ['the scrollbar', (log) => fireEvent.pointerDown(log)],
  ])("only the reader stops it: not a scroll of the list's own that lands short, but %s; back at the end, it follows again", async (_, scrollUp) => {
    tallTimeline();
    await renderChat();
    await send(general(1, 40));
    const log = screen.getByRole('log');
    // The list's own scroll, landing short of the end (as one to an estimated end does).
    fireEvent.scroll(log, { target: { scrollTop: 90_000 } });
    await send(general(41, 35));
    expect(log.scrollTop).toBe(END);
    expect(newMessagesButton()).toBeNull();

    // The reader scrolls up: the view stays where they put it; new messages are counted.
    scrollUp(log);
    fireEvent.scroll(log, { target: { scrollTop: 5000 } });
    fireEvent.pointerUp(window);
    await send(general(76, 3));
    expect(log.scrollTop).toBe(5000);
    expect(newMessagesButton()).toHaveTextContent('3 new messages ↓');

    // Back down to the end, by the reader: followed again.
    fireEvent.wheel(log, { deltaY: 120 });
    fireEvent.scroll(log, { target: { scrollTop: END - 10 } });
    await send(general(79, 1));
    expect(log.scrollTop).toBe(END);
    expect(newMessagesButton()).toBeNull();
  });

  test('my own message brings the view to the newest, even when its echo comes with its outbox entry', async () => {
    tallTimeline();
    const user = userEvent.setup();
    await renderChat();
    await send(general(1, 40));
    const log = screen.getByRole('log');
    fireEvent.wheel(log, { deltaY: -120 });
    fireEvent.scroll(log, { target: { scrollTop: 5000 } });
    await send(general(41, 2));
    expect(log.scrollTop).toBe(5000);
    // Sent, and its echo arrives in the same batch as its outbox entry left: no unsent row shows.
    await user.type(screen.getByLabelText('Message'), 'back to the newest{Enter}');
    await waitFor(() => expect(called('send_message')).toHaveLength(1));
    await send({ event: 'message', ...message(43, 'alice', 'back to the newest', { clientId: 'c1' }) });
    expect(log.scrollTop).toBe(END);
    expect(newMessagesButton()).toBeNull();
  });
});

describe('history', () => {
  test('scrolling to the top loads the page before the oldest message', async () => {
    tallTimeline();
    setup({ handlers: { load_history: historyPage('ops') } });
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 1000, 1000, 0)] });
    await send(inRoom('ops', Array.from({ length: 50 }, (_, i) => 951 + i)));
    await user.click(entry('ops'));
    expect(called('load_history')).toHaveLength(0);
    const log = screen.getByRole('log');
    fireEvent.scroll(log, { target: { scrollTop: 0 } });
    await waitFor(() => expect(called('load_history')).toHaveLength(1));
    expect(called('load_history')[0]?.args).toEqual({ room: 'ops', before: 951, limit: 50 });
    // Reading down a little, then up to the top again.
    await act(() => new Promise((r) => setTimeout(r, 20)));
    fireEvent.scroll(log, { target: { scrollTop: 3000 } });
    fireEvent.scroll(log, { target: { scrollTop: 0 } });
    await waitFor(() => expect(called('load_history')).toHaveLength(2));
    expect(called('load_history')[1]?.args).toEqual({ room: 'ops', before: 901, limit: 50 });
  });

  test('paging back past the bound drops the newest; Jump to newest loads them again', async () => {
    tallTimeline();
    setup({ handlers: { load_history: historyPage('ops') } });
    const user = userEvent.setup();
    await renderChat();
    const last = 2 * OPEN_ITEMS;
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', last, last, 0)] });
    await user.click(entry('ops'));
    await send(inRoom('ops', Array.from({ length: OPEN_ITEMS }, (_, i) => last - OPEN_ITEMS + 1 + i)));
    expect(screen.queryByRole('button', { name: /Jump to newest/ })).not.toBeInTheDocument();
    const log = screen.getByRole('log');
    fireEvent.scroll(log, { target: { scrollTop: 50_000 } });
    fireEvent.scroll(log, { target: { scrollTop: 0 } });
    await waitFor(() => expect(called('load_history')).toHaveLength(1));
    const jump = await screen.findByRole('button', { name: 'Jump to newest ↓' });
    // Meanwhile, the newest are counted, not shown after the hole.
    await send(inRoom('ops', [last + 1]));
    expect(document.querySelector(`[data-testid="message"][data-seq="${last + 1}"]`)).toBeNull();
    await user.click(jump);
    await waitFor(() => expect(screen.queryByRole('button', { name: /Jump to newest/ })).not.toBeInTheDocument());
    expect(called('load_history').slice(1).map((c) => c.args)).toEqual([{ room: 'ops', before: last + 2, limit: 50 }]);
    expect(document.querySelector(`[data-testid="message"][data-seq="${last + 1}"]`)).not.toBeNull();
  });

  test("a room's gap is a line, and its missed messages can be loaded", async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 252, 252, 0)] });
    await send([...inRoom('ops', [1, 2]), { event: 'gap', room: 'ops', from: 3, to: 250, kept: true }, { event: 'gap', room: 'ops', from: 251, to: 251, kept: false }, ...inRoom('ops', [252])]);
    await user.click(entry('ops'));
    expect(screen.getAllByRole('note').map((n) => n.textContent)).toEqual(['248 missed messages were not loaded', '1 older message is no longer available']);
    await user.click(screen.getByRole('button', { name: 'Load them' }));
    expect(called('load_history')[0]?.args).toEqual({ room: 'ops', before: 251, limit: 200 });
  });
});

describe('search', () => {
  test('results mark the matched words; More results pages; choosing one loads older pages until it is there', async () => {
    tallTimeline();
    const hit = (seq: number, snippet: string, highlights: [number, number][]) => ({ room: 'ops', seq, id: `m${seq}`, username: 'bob', timestamp: new Date().toISOString(), snippet, highlights });
    setup({
      handlers: {
        load_history: historyPage('ops'),
        search: (a) => {
          const request = a.request as { offset?: number };
          return request.offset
            ? { ok: true, results: [hit(20, 'rocket science', [[0, 6]])], more: false }
            : { ok: true, results: [hit(500, 'deploy the 🚀 rocket', [[13, 19]])], more: true };
        },
      },
    });
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 1000, 1000, 0)] });
    await send(inRoom('ops', Array.from({ length: 50 }, (_, i) => 951 + i)));

    await user.keyboard('{Control>}f{/Control}');
    const dialog = screen.getByRole('dialog', { name: 'Search' });
    const input = within(dialog).getByLabelText('Search messages');
    expect(input).toHaveFocus();
    await user.type(input, 'rocket{Enter}');
    expect(called('search')[0]?.args).toEqual({ request: { query: 'rocket', limit: 20 } });
    const first = await within(dialog).findByTestId('search-result');
    expect(first).toHaveAttribute('data-room', 'ops');
    expect(first).toHaveAttribute('data-seq', '500');
    expect(first.querySelector('mark')).toHaveTextContent(/^rocket$/);
    expect(first).toHaveTextContent('deploy the 🚀 rocket');

    await user.click(within(dialog).getByRole('button', { name: 'More results' }));
    await waitFor(() => expect(within(dialog).getAllByTestId('search-result')).toHaveLength(2));
    expect(called('search')[1]?.args).toEqual({ request: { query: 'rocket', limit: 20, offset: 1 } });
    expect(within(dialog).queryByRole('button', { name: 'More results' })).not.toBeInTheDocument();

    await user.click(first);
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    await waitFor(() => expect(document.querySelector('[data-testid="message"][data-seq="500"]')).toHaveAttribute('data-highlighted', 'true'));
    // (Pages of 50 may follow as the list is scrolled near its top: not the jump's.)
    expect(called('load_history').map((c) => c.args).filter((a) => a.limit === 200)).toEqual([
      { room: 'ops', before: 951, limit: 200 },
      { room: 'ops', before: 751, limit: 200 },
      { room: 'ops', before: 551, limit: 200 },
    ]);
    expect(within(header()).getByRole('heading', { name: '#ops' })).toBeInTheDocument();
  });

  test('a jump goes to its message when the reader had scrolled up: the rows held in place as its page came above give way', async () => {
    layOutTimeline();
    const found = { room: 'ops', seq: 61, id: 'm61', username: 'bob', timestamp: new Date().toISOString(), snippet: 'quarterly', highlights: [] };
    setup({ handlers: { load_history: historyPage('ops'), search: () => ({ ok: true, results: [found], more: false }) } });
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 211, 211, 0)] });
    await send(inRoom('ops', Array.from({ length: 50 }, (_, i) => 162 + i)));
    await user.click(entry('ops'));
    await frames();
    // The reader scrolls up a little: what they see is held in place when rows come above it.
    const log = screen.getByRole('log');
    fireEvent.wheel(log, { deltaY: -120 });
    fireEvent.scroll(log, { target: { scrollTop: 2000 } });
    await frames();
    const writes = vi.mocked(HTMLElement.prototype.scrollTo).mock.calls.length;
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await user.type(screen.getByLabelText('Search messages'), 'quarterly{Enter}');
    await user.click(await screen.findByTestId('search-result'));
    // The page came and the view was sent towards the message (a write far above the held rows)...
    const towardsIt = () =>
      vi
        .mocked(HTMLElement.prototype.scrollTo)
        .mock.calls.slice(writes)
        .some((call) => {
          const options = call[0] as ScrollToOptions | number | undefined;
          return typeof options === 'object' && (options.top ?? Number.POSITIVE_INFINITY) < 6000;
        });
    await waitFor(() => expect(towardsIt()).toBe(true));
    // ...and before its scroll is reported, the rows on screen are measured again.
    measureRowsAgain(70);
    await frames();
    expect(messageRowInView(61)).toBe(true);
    await frames();
    expect(messageRowInView(61)).toBe(true);
  });

  test("the jump's flash goes though messages arrive, and coming back later does not jump again", async () => {
    tallTimeline();
    setup({
      handlers: {
        load_history: historyPage('ops'),
        search: () => ({ ok: true, results: [{ room: 'ops', seq: 960, id: 'm960', username: 'bob', timestamp: new Date().toISOString(), snippet: 'x', highlights: [] }], more: false }),
      },
    });
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 1000, 1000, 0)] });
    await send(inRoom('ops', Array.from({ length: 50 }, (_, i) => 951 + i)));
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await user.type(screen.getByLabelText('Search messages'), 'x{Enter}');
    await user.click(await screen.findByTestId('search-result'));
    const hit = () => document.querySelector('[data-testid="message"][data-seq="960"]');
    await waitFor(() => expect(hit()).toHaveAttribute('data-highlighted', 'true'));
    await send(inRoom('ops', [1001]));
    await waitFor(() => expect(document.querySelector('[data-highlighted]')).toBeNull(), { timeout: 4000 });
    await user.click(entry('general'));
    await user.click(entry('ops'));
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(document.querySelector('[data-highlighted]')).toBeNull();
  });

  test('a message too far back is not loaded forever: a notice says so', async () => {
    setup({
      handlers: {
        load_history: historyPage('ops'),
        search: () => ({ ok: true, results: [{ room: 'ops', seq: 5, id: 'm5', username: 'bob', timestamp: new Date().toISOString(), snippet: 'old', highlights: [] }], more: false }),
      },
    });
    tallTimeline();
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 5000, 5000, 0)] });
    await send(inRoom('ops', [5000]));
    await user.click(screen.getByRole('button', { name: 'Search' }));
    await user.type(screen.getByLabelText('Search messages'), 'old{Enter}');
    await user.click(await screen.findByTestId('search-result'));
    expect(await screen.findByTestId('jump-notice')).toHaveTextContent('too far back');
    expect(called('load_history').filter((c) => c.args.limit === 200)).toHaveLength(10);
  });
});

describe('rooms and direct messages', () => {
  test('a new room: lowercase name, refusals shown in the dialog, then it opens', async () => {
    let attempts = 0;
    setup({
      handlers: {
        create_room: (a) => {
          attempts += 1;
          if (attempts === 1) throw { kind: 'refused', message: 'a room with that name exists' };
          return entered(roomState(a.room as string, 0, 0, 0, 0, { topic: a.topic as string, members: ['alice'] }));
        },
      },
    });
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'New room' }));
    const dialog = screen.getByRole('dialog', { name: 'New room' });
    const name = within(dialog).getByLabelText('Name');
    expect(name).toHaveFocus();
    await user.type(name, 'Bad Name');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(within(dialog).getByRole('alert')).toHaveTextContent('lowercase letters');
    expect(called('create_room')).toHaveLength(0);
    await user.clear(name);
    await user.type(name, 'OPS');
    expect(name).toHaveValue('ops');
    await user.type(within(dialog).getByLabelText('Topic'), 'deploys');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('a room with that name exists');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(called('create_room').at(-1)?.args).toEqual({ room: 'ops', topic: 'deploys' });
    expect(within(header()).getByRole('heading', { name: '#ops' })).toBeInTheDocument();
    expect(within(header()).getByTestId('room-topic')).toHaveTextContent('deploys');
    expect(entry('ops')).toHaveAttribute('aria-current', 'page');
  });

  test('browse rooms lists them; Join opens the room', async () => {
    setup({
      handlers: {
        list_rooms: () => ({ ok: true, rooms: [{ room: 'ops', topic: 'deploys', members: 3, joined: false }, { room: 'random', topic: '', members: 1, joined: true }] }),
        join_room: (a) => entered(roomState(a.room as string, 1, 1, 0, 0, { topic: 'deploys', members: ['alice', 'bob', 'carol'] }), [{ ...message(1, 'bob', 'welcome'), room: 'ops' }]),
      },
    });
    const user = userEvent.setup();
    await renderChat();
    await user.click(screen.getByRole('button', { name: 'Browse rooms' }));
    const dialog = screen.getByRole('dialog', { name: 'Browse rooms' });
    expect(await within(dialog).findByText('deploys')).toBeInTheDocument();
    expect(within(dialog).getByText('3 members')).toBeInTheDocument();
    expect(within(dialog).getByRole('button', { name: 'Open random' })).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'Join ops' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(called('join_room')[0]?.args).toEqual({ room: 'ops' });
    expect(within(header()).getByRole('heading', { name: '#ops' })).toBeInTheDocument();
    expect(screen.getByText('welcome')).toBeInTheDocument();
    const people = screen.getByRole('complementary', { name: 'People' });
    expect(people).toHaveTextContent('Members · 3');
    expect(within(people).getByRole('button', { name: 'Message carol' })).toBeInTheDocument();
  });

  test("a person's Message button opens the DM, shown as their name", async () => {
    setup({ handlers: { open_dm: (a) => entered(roomState('dm:7', 0, 0, 0, 0, { kind: 'dm', members: ['alice', a.username as string] })) } });
    const user = userEvent.setup();
    await renderChat();
    await user.click(within(screen.getByRole('complementary', { name: 'People' })).getByRole('button', { name: 'Message bob' }));
    expect(called('open_dm')[0]?.args).toEqual({ username: 'bob' });
    await waitFor(() => expect(within(header()).getByRole('heading', { name: 'bob' })).toBeInTheDocument());
    expect(entry('dm:7')).toHaveAttribute('aria-current', 'page');
    expect(within(header()).queryByRole('button', { name: 'Edit topic' })).not.toBeInTheDocument();
  });

  test('New message offers the owned names online first, then those of my rooms and DMs (not me, not guests)', async () => {
    setup({ handlers: { open_dm: (a) => entered(roomState('dm:8', 0, 0, 0, 0, { kind: 'dm', members: ['alice', a.username as string] })) } });
    const user = userEvent.setup();
    await renderChat();
    await send({
      event: 'rooms',
      rooms: [
        roomState('general', 0, 0, 0, 0, { members: [] }),
        roomState('ops', 0, 0, 0, 0, { members: ['alice', 'Bob', 'carol', 'tut'] }),
        roomState('dm:4', 0, 0, 0, 0, { kind: 'dm', members: ['alice', 'dave'] }),
      ],
    });
    await send({ event: 'users', users: ['alice', 'bob', 'tut'], guests: ['tut'] });
    await user.click(screen.getByRole('button', { name: 'New message' }));
    const dialog = screen.getByRole('dialog', { name: 'New message' });
    const picks = within(within(dialog).getByRole('list', { name: 'People' })).getAllByRole('button');
    expect(picks.map((b) => b.textContent)).toEqual(['bob, online', 'carol', 'dave']);
    expect(picks[0]).toHaveAccessibleName('bob, online');
    await user.type(within(dialog).getByLabelText('To'), 'ca');
    expect(within(dialog).getAllByRole('button', { name: /^carol/ })).toHaveLength(1);
    await user.click(within(dialog).getByRole('button', { name: 'carol' }));
    expect(called('open_dm')[0]?.args).toEqual({ username: 'carol' });
    await waitFor(() => expect(within(header()).getByRole('heading', { name: 'carol' })).toBeInTheDocument());
  });

  test('the topic is edited in place; Leave asks, then goes back to general', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({ event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0, 0, { topic: 'deploys' })] });
    await user.click(entry('ops'));
    expect(within(header()).getByTestId('room-topic')).toHaveTextContent('deploys');
    await user.click(within(header()).getByRole('button', { name: 'Edit topic' }));
    const topic = within(header()).getByLabelText('Topic');
    await user.clear(topic);
    await user.type(topic, 'on call{Enter}');
    expect(called('set_topic')[0]?.args).toEqual({ room: 'ops', topic: 'on call' });
    await waitFor(() => expect(within(header()).getByTestId('room-topic')).toHaveTextContent('on call'));
    const edit = within(header()).getByRole('button', { name: 'Edit topic' });
    expect(edit).toHaveFocus();
    // Escape and Cancel give the focus back too.
    await user.click(edit);
    await user.keyboard('{Escape}');
    expect(within(header()).getByRole('button', { name: 'Edit topic' })).toHaveFocus();
    await user.click(within(header()).getByRole('button', { name: 'Edit topic' }));
    await user.click(within(header()).getByRole('button', { name: 'Cancel' }));
    expect(within(header()).getByRole('button', { name: 'Edit topic' })).toHaveFocus();

    await user.click(within(header()).getByRole('button', { name: 'Leave' }));
    const dialog = screen.getByRole('dialog', { name: 'Leave #ops?' });
    expect(within(dialog).getByRole('button', { name: 'Stay' })).toHaveFocus();
    await user.click(within(dialog).getByRole('button', { name: 'Leave' }));
    await waitFor(() => expect(within(header()).getByRole('heading', { name: '#general' })).toBeInTheDocument());
    expect(called('leave_room')[0]?.args).toEqual({ room: 'ops' });
    expect(nav().querySelector('[data-room="ops"]')).toBeNull();
    expect(within(header()).queryByRole('button', { name: 'Leave' })).not.toBeInTheDocument();
  });
});
