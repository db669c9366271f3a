// Search: the dialog, results, and opening a message in its conversation.
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import { roomState } from './test-fixtures';
import { frames, layOutTimeline, measureRowsAgain } from './test-layout';
import { installAppHooks, setup, called, send, renderChat, inRoom, historyPage, entry, header, messageRowInView, tallTimeline } from './test-app';

installAppHooks();

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
