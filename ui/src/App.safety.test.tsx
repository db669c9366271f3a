// Others' text kept as text, names as one element, presence, and what is announced.
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import * as perfMarks from './lib/perfMarks';
import { roomState } from './test-fixtures';
import { installAppHooks, setup, called, line, send, renderChat, message, entry } from './test-app';

installAppHooks();

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
