// The composer: mention suggestions, drafts per conversation, unsent messages.
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import { roomState } from './test-fixtures';
import { installAppHooks, setup, called, send, renderChat, message, entry } from './test-app';

installAppHooks();

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
    await send({ event: 'outbox', entries: [{ clientId: 'c7', room: 'ops', text: 'to ops', createdAt: new Date().toISOString(), state: 'pending' }], changes: [] });
    expect(screen.queryByTestId('unsent')).not.toBeInTheDocument();
    await user.click(entry('ops'));
    expect(screen.getByTestId('unsent')).toHaveTextContent('to ops');
  });
});
