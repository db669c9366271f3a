// Reading: the new-messages line, read markers sent, following the newest message.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import { App } from './App';
import { roomState } from './test-fixtures';
import { belowView, frames, layOutTimeline } from './test-layout';
import { installAppHooks, called, send, renderChat, message, inRoom, entry, tallTimeline } from './test-app';

installAppHooks();

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
