import { describe, expect, test } from 'vitest';
import type { TimelineItem } from '../lib/chatState';
import type { OutboxEntry } from '../types';
import { buildRows, startAt } from './MessageList';

const message = (clientId: string | undefined, text: string): TimelineItem => ({
  kind: 'message',
  key: `m-${text}`,
  message: { id: `id-${text}`, username: 'ana', text, timestamp: '2026-11-26T10:00:00.000Z', seq: 1, clientId },
});
const unsent = (clientId: string, text: string): OutboxEntry => ({ clientId, text, createdAt: '2026-11-26T10:00:00.000Z', state: 'sent' }) as OutboxEntry;

describe('buildRows', () => {
  test('a message whose echo is in the conversation is not shown again as unsent', () => {
    const rows = buildRows([message('c1', 'hello')], [unsent('c1', 'hello'), unsent('c2', 'still waiting')]);
    const unsentRows = rows.filter((r) => r.kind === 'unsent');
    expect(unsentRows.map((r) => (r.kind === 'unsent' ? r.entry.clientId : ''))).toEqual(['c2']);
    expect(rows.filter((r) => r.kind === 'item')).toHaveLength(1);
  });
});

describe('buildRows: the lines around the messages', () => {
  const at = (seq: number): TimelineItem => ({
    kind: 'message',
    key: `s${seq}`,
    message: { id: `id-${seq}`, username: 'ana', text: `m${seq}`, timestamp: '2026-11-26T10:00:00.000Z', seq },
  });
  const kinds = (rows: ReturnType<typeof buildRows>) => rows.map((r) => (r.kind === 'item' ? r.key : r.kind));

  test('"New messages" goes before the first message after the marker; none when all was read', () => {
    const timeline = [at(1), at(2), at(3)];
    expect(kinds(buildRows(timeline, [], { dividerAfter: 1 }))).toEqual(['day', 's1', 'divider', 's2', 's3']);
    expect(kinds(buildRows(timeline, [], { dividerAfter: 3 }))).toEqual(['day', 's1', 's2', 's3']);
    expect(kinds(buildRows(timeline, [], { dividerAfter: null }))).toEqual(['day', 's1', 's2', 's3']);
  });

  test('older messages to load (or loading) put a row at the top', () => {
    expect(kinds(buildRows([at(5)], [], { hasMore: true }))).toEqual(['top', 'day', 's5']);
    expect(buildRows([at(5)], [], { loading: true })[0]).toEqual({ kind: 'top', key: 'top', loading: true });
  });
});

describe('where the list starts', () => {
  const at = (seq: number): TimelineItem => ({
    kind: 'message',
    key: `s${seq}`,
    message: { id: `id-${seq}`, username: 'ana', text: `m${seq}`, timestamp: '2026-11-26T10:00:00.000Z', seq },
  });
  const timeline = [at(1), at(2), at(3)];

  test('unread messages came since: at the "New messages" line, even with a place saved', () => {
    const rows = buildRows(timeline, [], { dividerAfter: 2 });
    expect(startAt(rows, { atBottom: false, anchorKey: 's1', delta: 10 })).toEqual({ index: rows.findIndex((r) => r.kind === 'divider'), delta: 0 });
    expect(startAt(rows, undefined)).toEqual({ index: rows.findIndex((r) => r.kind === 'divider'), delta: 0 });
  });

  test('nothing new: where the reader left off, else at the newest', () => {
    const rows = buildRows(timeline, [], { dividerAfter: null });
    expect(startAt(rows, { atBottom: false, anchorKey: 's2', delta: 10 })).toEqual({ index: 2, delta: 10 });
    expect(startAt(rows, { atBottom: true })).toBe('end');
    expect(startAt(rows, { atBottom: false, anchorKey: 'gone' })).toBe('end');
    expect(startAt(rows, undefined)).toBe('end');
  });

  test('while the newest are not loaded, the list ends with a way back to them (and no unsent messages)', () => {
    const rows = buildRows(timeline, [{ clientId: 'c9', text: 'x', createdAt: '2026-11-26T10:00:00.000Z', state: 'pending' } as OutboxEntry], { newerMissing: true });
    expect(rows.at(-1)).toEqual({ kind: 'newer', key: 'newer', loading: false });
  });
});
