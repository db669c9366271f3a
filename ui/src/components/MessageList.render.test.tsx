// The footprint of a change to one message: on a 10,000-message timeline, a `messageUpdated`
// (a reaction, an edit) renders again only that message's row. Rows are counted by the author's
// name each message row renders (Name, counted here), the time by a React profiler.
import { act, cleanup, render } from '@testing-library/react';
import { Profiler } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { newConversation, updateMessage } from '../lib/conversations';
import type { TimelineItem } from '../lib/timeline';
import type { ChatMessage } from '../types';
import { MessageList } from './MessageList';

const counter = vi.hoisted(() => ({ rows: 0 }));
vi.mock('./Name', () => ({
  Name: ({ name }: { name: string }) => {
    counter.rows += 1;
    return <bdi className="name">{name}</bdi>;
  },
}));

afterEach(cleanup);

const MESSAGES = 10_000;
const noop = () => undefined;
const at = new Date('2026-12-01T10:00:00.000Z').getTime();
const message = (seq: number): ChatMessage => ({ id: `m${seq}`, username: seq % 2 ? 'bob' : 'ana', text: `message ${seq}`, timestamp: new Date(at + seq * 1000).toISOString(), seq, rev: 0 });

function list(timeline: TimelineItem[]) {
  return (
    <MessageList
      room="general"
      title="#general"
      timeline={timeline}
      outbox={[]}
      failedChanges={[]}
      editing={null}
      me="alice"
      dividerAfter={null}
      hasMore={false}
      newerMissing={false}
      loading={false}
      highlight={null}
      onHighlighted={noop}
      sent={0}
      onLeave={noop}
      onLoadOlder={noop}
      onLoadNewest={noop}
      onLoadGap={noop}
      onRetry={noop}
      onDiscard={noop}
      onReact={noop}
      onPick={noop}
      onEdit={noop}
      onSaveEdit={noop}
      onDelete={noop}
      onPin={noop}
      onCopy={noop}
    />
  );
}

describe('re-rendering', () => {
  test('a change to one message of 10,000 renders only its row again', () => {
    let c = newConversation('general', { lastSeq: MESSAGES, complete: true });
    c = { ...c, timeline: Array.from({ length: MESSAGES }, (_, i) => ({ kind: 'message' as const, key: `s${i + 1}`, message: message(i + 1) })) };
    let commitMs = 0;
    const tree = (timeline: TimelineItem[]) => (
      <Profiler id="timeline" onRender={(_id, _phase, actual) => (commitMs += actual)}>
        {list(timeline)}
      </Profiler>
    );
    const { container, rerender } = render(tree(c.timeline));
    const shown = [...container.querySelectorAll<HTMLElement>('[data-testid="message"]')];
    const rowsShown = shown.length;
    expect(rowsShown).toBeGreaterThan(0);
    expect(rowsShown).toBeLessThan(100);
    const seq = Number(shown[Math.floor(shown.length / 2)]?.dataset.seq);

    counter.rows = 0;
    commitMs = 0;
    const started = performance.now();
    const changed = updateMessage(c, { ...message(seq), rev: 1, reactions: [{ emoji: '👍', names: ['ana', 'alice'] }] });
    act(() => rerender(tree(changed.timeline)));
    const totalMs = performance.now() - started;

    expect(counter.rows).toBe(1);
    expect(container.querySelector(`[data-seq="${seq}"]`)?.textContent).toContain('👍');
    // The figure the commit reports (rows shown, rows rendered again, time).
    console.info(`messageUpdated on ${MESSAGES} messages: ${rowsShown} rows shown, ${counter.rows} rendered again; update + render ${totalMs.toFixed(1)} ms (React commit ${commitMs.toFixed(1)} ms)`);

    // A change to a message not on screen renders no row at all.
    counter.rows = 0;
    const away = MESSAGES / 2;
    expect(shown.some((el) => Number(el.dataset.seq) === away)).toBe(false);
    const offscreen = updateMessage(changed, { ...message(away), rev: 2, text: 'edited' });
    act(() => rerender(tree(offscreen.timeline)));
    expect(counter.rows).toBe(0);
  });
});
