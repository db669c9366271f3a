// Living messages in the window: edits, deletions, reactions and pins as they arrive, the
// message toolbar, editing in place, the reaction picker, the pinned panel and failed changes.
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import axe from 'axe-core';
import { describe, expect, test, vi } from 'vitest';
import type { ChatMessage, ClientEvent } from './types';
import { called, installAppHooks, message, messageRowInView, renderChat, send, setup } from './test-app';
import { frames, layOutTimeline } from './test-layout';

installAppHooks();

const updated = (m: ChatMessage): ClientEvent => ({ event: 'messageUpdated', ...m });
const row = (seq: number) => {
  const el = document.querySelector<HTMLElement>(`[data-testid="message"][data-seq="${seq}"]`);
  if (!el) throw new Error(`no message ${seq}`);
  return el;
};
/** jsdom has none; the picker's grid measures its rows with one. */
const stubResizeObserver = () =>
  vi.stubGlobal(
    'ResizeObserver',
    class {
      observe() {}
      unobserve() {}
      disconnect() {}
    },
  );
const history = async (...messages: ChatMessage[]) => {
  for (const m of messages) await send({ event: 'message', ...m });
};

describe('living messages', () => {
  test('an edit shows the new text and "(edited)" with its time; an older copy changes nothing', async () => {
    await renderChat();
    await history(message(1, 'bob', 'helo'));
    await send(updated({ ...message(1, 'bob', 'hello'), rev: 3, editedAt: '2026-12-01T10:05:00.000Z' }));
    expect(row(1)).toHaveTextContent('hello');
    const edited = within(row(1)).getByTestId('edited');
    expect(edited).toHaveTextContent('(edited)');
    expect(edited.getAttribute('title')).toMatch(/^Edited /);
    await send(updated({ ...message(1, 'bob', 'stale'), rev: 2 }));
    expect(row(1)).toHaveTextContent('hello');
  });

  test('a deleted message says so where it was, with no text, reactions or toolbar', async () => {
    await renderChat();
    await history(message(1, 'bob', 'secret'), message(2, 'bob', 'after'));
    await send(updated({ ...message(1, 'bob', ''), rev: 1, deleted: true }));
    expect(within(row(1)).getByTestId('deleted')).toHaveTextContent('message deleted');
    expect(row(1)).not.toHaveTextContent('secret');
    expect(within(row(1)).queryByRole('toolbar')).not.toBeInTheDocument();
    expect(screen.getAllByTestId('message').map((m) => m.dataset.seq)).toEqual(['1', '2']);
  });

  test('reactions show counts, who on hover and focus, pressed when yours; a click toggles yours', async () => {
    const user = userEvent.setup();
    await renderChat();
    await history(message(1, 'bob', 'lunch?'));
    await send(updated({ ...message(1, 'bob', 'lunch?'), rev: 1, reactions: [{ emoji: '👍', names: ['ana', 'alice'] }, { emoji: '🎉', names: ['bob'] }] }));
    const thumbs = within(row(1)).getByRole('button', { name: '👍 2: ana, alice' });
    expect(thumbs).toHaveAttribute('aria-pressed', 'true');
    expect(thumbs).toHaveAttribute('title', '👍 2: ana, alice');
    expect(thumbs).toHaveTextContent('👍 2');
    const party = within(row(1)).getByRole('button', { name: '🎉 1: bob' });
    expect(party).toHaveAttribute('aria-pressed', 'false');
    await user.click(thumbs);
    await user.click(party);
    expect(called('react_to_message').map((c) => c.args)).toEqual([
      { room: 'general', target: { seq: 1 }, emoji: '👍', on: false },
      { room: 'general', target: { seq: 1 }, emoji: '🎉', on: true },
    ]);
  });

  test('the toolbar offers Edit and Delete on your own messages only, each a named button', async () => {
    await renderChat();
    await history(message(1, 'bob', 'theirs'), message(2, 'alice', 'mine', { own: true }));
    const theirs = within(row(1)).getByRole('toolbar', { name: 'Message actions' });
    expect(within(theirs).getAllByRole('button').map((b) => b.textContent)).toEqual(['React', 'Pin', 'Copy text']);
    const mine = within(row(2)).getByRole('toolbar', { name: 'Message actions' });
    expect(within(mine).getAllByRole('button').map((b) => b.textContent)).toEqual(['React', 'Edit', 'Delete', 'Pin', 'Copy text']);
  });

  test('Pin, Unpin and Copy text', async () => {
    const user = userEvent.setup();
    await renderChat();
    await history(message(1, 'bob', 'the *plan*'));
    await user.click(within(row(1)).getByRole('button', { name: 'Pin' }));
    expect(called('pin_message')[0]?.args).toEqual({ room: 'general', target: { seq: 1 }, pinned: true });
    await send(updated({ ...message(1, 'bob', 'the *plan*'), rev: 1, pinned: { by: 'alice', at: new Date().toISOString() } }));
    expect(within(row(1)).getByTestId('pinned-mark')).toHaveAttribute('title', 'Pinned by alice');
    await user.click(within(row(1)).getByRole('button', { name: 'Unpin' }));
    expect(called('pin_message')[1]?.args).toEqual({ room: 'general', target: { seq: 1 }, pinned: false });
    await user.click(within(row(1)).getByRole('button', { name: 'Copy text' }));
    expect(await navigator.clipboard.readText()).toBe('the *plan*');
  });

  test('Delete asks first; keeping it sends nothing, deleting sends the change', async () => {
    const user = userEvent.setup();
    await renderChat();
    await history(message(1, 'alice', 'oops', { own: true }));
    await user.click(within(row(1)).getByRole('button', { name: 'Delete' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete this message?' });
    expect(within(dialog).getByRole('button', { name: 'Keep it' })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(called('delete_message')).toHaveLength(0);
    await user.click(within(row(1)).getByRole('button', { name: 'Delete' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
    expect(called('delete_message')[0]?.args).toEqual({ room: 'general', target: { seq: 1 } });
    await waitFor(() => expect(screen.getByLabelText('Message')).toHaveFocus());
  });

  test('Edit turns the text into a box: Enter saves, Shift+Enter a new line, Escape cancels', async () => {
    const user = userEvent.setup();
    await renderChat();
    await history(message(1, 'alice', 'teh plan', { own: true }));
    await user.click(within(row(1)).getByRole('button', { name: 'Edit' }));
    const box = within(row(1)).getByRole('textbox', { name: 'Edit message' });
    expect(box).toHaveFocus();
    expect(box).toHaveValue('teh plan');
    await user.keyboard('{Escape}');
    expect(within(row(1)).queryByRole('textbox')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Message')).toHaveFocus();
    expect(called('edit_message')).toHaveLength(0);

    await user.click(within(row(1)).getByRole('button', { name: 'Edit' }));
    await user.clear(within(row(1)).getByRole('textbox', { name: 'Edit message' }));
    await user.keyboard('the plan{Shift>}{Enter}{/Shift}v2{Enter}');
    expect(called('edit_message')[0]?.args).toEqual({ room: 'general', target: { seq: 1 }, text: 'the plan\nv2' });
    expect(within(row(1)).queryByRole('textbox')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Message')).toHaveFocus();
  });

  test('Up in an empty composer edits your last message that is not deleted', async () => {
    const user = userEvent.setup();
    await renderChat();
    await history(message(1, 'alice', 'older', { own: true }), message(2, 'alice', 'gone', { own: true }), message(3, 'bob', 'theirs'));
    await send(updated({ ...message(2, 'alice', '', { own: true }), rev: 1, deleted: true }));
    await user.click(screen.getByLabelText('Message'));
    await user.keyboard('x{ArrowUp}');
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).not.toBeInTheDocument();
    await user.keyboard('{Backspace}{ArrowUp}');
    expect(within(row(1)).getByRole('textbox', { name: 'Edit message' })).toHaveFocus();
  });

  test('the picker offers recently used emoji first, and remembers the one chosen', async () => {
    stubResizeObserver();
    const user = userEvent.setup();
    await renderChat();
    await history(message(1, 'bob', 'ship it'));
    await user.click(within(row(1)).getByRole('button', { name: 'React' }));
    let dialog = screen.getByRole('dialog', { name: 'Add a reaction' });
    const recent = within(dialog).getByRole('group', { name: 'Recently used' });
    await user.click(within(recent).getByRole('button', { name: 'React with 🎉' }));
    expect(called('react_to_message')[0]?.args).toEqual({ room: 'general', target: { seq: 1 }, emoji: '🎉', on: true });
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(within(row(1)).getByRole('button', { name: 'React' })).toHaveFocus();

    await user.click(within(row(1)).getByRole('button', { name: 'React' }));
    dialog = screen.getByRole('dialog', { name: 'Add a reaction' });
    expect(within(within(dialog).getByRole('group', { name: 'Recently used' })).getAllByRole('button')[0]).toHaveAccessibleName('React with 🎉');
    // The full picker loads on first open: a search box with a label.
    expect(await within(dialog).findByRole('searchbox', { name: 'Search emoji' }, { timeout: 5000 })).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  test('the header counts pinned messages; the Pinned panel lists them and jumps to one', async () => {
    const user = userEvent.setup();
    const pinned = { by: 'bob', at: new Date().toISOString() };
    setup({ handlers: { list_pins: () => ({ ok: true, messages: [message(2, 'bob', 'the plan', { pinned })] }) } });
    await renderChat();
    await history(message(1, 'bob', 'one'), message(2, 'bob', 'the plan'));
    expect(screen.getByTestId('pinned-button')).toHaveAccessibleName('Pinned messages');
    await send(updated({ ...message(2, 'bob', 'the plan'), rev: 1, pinned }));
    expect(screen.getByTestId('pinned-button')).toHaveAccessibleName('Pinned messages: 1');
    await user.click(screen.getByTestId('pinned-button'));
    const dialog = screen.getByRole('dialog', { name: 'Pinned in #general' });
    const item = await within(dialog).findByTestId('pinned-message');
    expect(item).toHaveTextContent('the plan');
    expect(item).toHaveTextContent('pinned by bob');
    expect(called('list_pins')[0]?.args).toEqual({ room: 'general' });
    await user.click(item);
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    await waitFor(() => expect(row(2)).toHaveAttribute('data-highlighted', 'true'));
  });

  test('a change refused for good shows on its message with Retry and Discard', async () => {
    const user = userEvent.setup();
    await renderChat();
    await history(message(1, 'bob', 'theirs'));
    await send({
      event: 'outbox',
      entries: [],
      changes: [
        { clientId: 'x1', target: { seq: 1 }, change: { op: 'edit', text: 'mine now' }, createdAt: new Date().toISOString(), state: 'failed', code: 'not_author', message: 'only the author can edit a message' },
      ],
    });
    const failure = within(row(1)).getByTestId('change-failure');
    expect(within(failure).getByRole('alert')).toHaveTextContent('Edit failed: only the author can edit a message');
    await user.click(within(failure).getByRole('button', { name: 'Retry' }));
    await user.click(within(failure).getByRole('button', { name: 'Discard' }));
    expect(called('retry_message')[0]?.args).toEqual({ clientId: 'x1' });
    expect(called('discard_message')[0]?.args).toEqual({ clientId: 'x1' });
  });
});

describe('editing a message far up', () => {
  test('Up brings your last message into view to edit it', async () => {
    layOutTimeline();
    const user = userEvent.setup();
    await renderChat();
    await history(message(1, 'alice', 'mine, long ago', { own: true }), ...Array.from({ length: 60 }, (_, i) => message(i + 2, 'bob', `chatter ${i + 2}`)));
    await frames();
    expect(messageRowInView(61)).toBe(true);
    expect(document.querySelector('[data-seq="1"]')).toBeNull();
    await user.click(screen.getByLabelText('Message'));
    await user.keyboard('{ArrowUp}');
    await frames();
    await waitFor(() => expect(within(row(1)).getByRole('textbox', { name: 'Edit message' })).toHaveFocus());
    expect(messageRowInView(1)).toBe(true);
  });
});

describe('accessibility', () => {
  /** axe's serious and critical findings in jsdom (contrast is checked in the real window). */
  const findings = async () => {
    const result = await axe.run(document.body, { resultTypes: ['violations'], rules: { 'color-contrast': { enabled: false }, region: { enabled: false } } });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  };

  test('edited, deleted, pinned and reacted messages, the toolbar, an edit box and the picker', async () => {
    stubResizeObserver();
    const user = userEvent.setup();
    await renderChat();
    const pinned = { by: 'bob', at: new Date().toISOString() };
    await history(message(1, 'alice', 'mine', { own: true }), message(2, 'bob', 'theirs'), message(3, 'bob', 'gone'));
    await send([
      updated({ ...message(1, 'alice', 'mine, fixed', { own: true }), rev: 1, editedAt: new Date().toISOString(), pinned }),
      updated({ ...message(2, 'bob', 'theirs'), rev: 2, reactions: [{ emoji: '👍', names: ['alice', 'bob'] }] }),
      updated({ ...message(3, 'bob', ''), rev: 3, deleted: true }),
    ]);
    expect(await findings()).toEqual([]);
    await user.click(within(row(1)).getByRole('button', { name: 'Edit' }));
    expect(await findings()).toEqual([]);
    await user.keyboard('{Escape}');
    await user.click(within(row(2)).getByRole('button', { name: 'React' }));
    await screen.findByRole('searchbox', { name: 'Search emoji' }, { timeout: 5000 });
    // Once its emoji are loaded (a grid is not read while it has no rows).
    await waitFor(() => expect(screen.queryByText('Loading emoji…')).not.toBeInTheDocument(), { timeout: 5000 });
    expect(await findings()).toEqual([]);
  });
});
