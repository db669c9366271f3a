// Long and broken histories: large ones, gaps the server no longer has, paging back.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import { App } from './App';
import { OPEN_ITEMS } from './lib/bounds';
import { roomState } from './test-fixtures';
import { installAppHooks, setup, called, send, renderChat, message, inRoom, historyPage, entry, tallTimeline } from './test-app';

installAppHooks();

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
