// The first screen, owned names and their link codes, the settings and desktop preferences.
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import { App } from './App';
import { timeLabel } from './lib/chatState';
import { installAppHooks, LINK_CODE, LINK_EXPIRES_AT, settings, setup, called, send, renderChat, message } from './test-app';

installAppHooks();

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
