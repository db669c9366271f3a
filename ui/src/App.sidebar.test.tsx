// The sidebar: counts, muted rooms, guests; the quick switcher.
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, test } from 'vitest';
import { App } from './App';
import { roomState } from './test-fixtures';
import { installAppHooks, settings, setup, called, send, renderChat, message, SERVER, inRoom, nav, entry, header, seqsShown } from './test-app';

installAppHooks();

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
