import { describe, expect, test } from 'vitest';
import type { TimelineItem } from '../lib/chatState';
import type { OutboxEntry } from '../types';
import { buildRows } from './MessageList';

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
