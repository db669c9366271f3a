import { describe, expect, test } from 'vitest';
import type { TimelineItem } from '../lib/timeline';
import { sameRow, type Row } from './TimelineRow';

const item: TimelineItem = { kind: 'message', key: 's1', message: { id: 'a', username: 'bob', text: 'hi', timestamp: '2026-11-30T10:00:00.000Z', seq: 1 } };

describe('rows re-render only when what they show changed', () => {
  test('a row rebuilt around the same item is the same; another item, label or state is not', () => {
    const row: Row = { kind: 'item', key: 's1', item };
    expect(sameRow(row, { kind: 'item', key: 's1', item })).toBe(true);
    expect(sameRow(row, { kind: 'item', key: 's1', item: { ...item } })).toBe(false);
    expect(sameRow({ kind: 'day', key: 'd', label: 'Today' }, { kind: 'day', key: 'd', label: 'Yesterday' })).toBe(false);
    expect(sameRow({ kind: 'top', key: 'top', loading: false }, { kind: 'top', key: 'top', loading: true })).toBe(false);
    expect(sameRow({ kind: 'divider', key: 'new' }, { kind: 'divider', key: 'new' })).toBe(true);
  });
});
