// How much of each timeline is kept: in items, the open conversation included.
import { describe, expect, test } from 'vitest';
import type { ChatMessage, ClientEvent, HistoryPage } from '../types';
import { roomState } from '../test-fixtures';
import { KEEP_ITEMS, OPEN_ITEMS } from './bounds';
import { chatBatchReducer, chatReducer, initialChatState, type ChatAction, type ChatState } from './chatState';
import { newestSeq, type Conversation } from './conversations';

const m = (seq: number, username = 'bob'): ChatMessage => ({ id: `id${seq}`, username, text: `m${seq}`, timestamp: '2026-11-26T10:00:00.000Z', seq });
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => m(from + i));
const run = (state: ChatState, ...actions: ChatAction[]) => chatBatchReducer(state, actions);
const conv = (state: ChatState, room: string) => state.conversations[room] as Conversation;
const seqs = (c: Conversation) => c.timeline.flatMap((i) => (i.kind === 'message' && i.message.seq !== undefined ? [i.message.seq] : []));
const joined: ClientEvent = { event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: true, history: [] };
const page = (messages: ChatMessage[], more = true): HistoryPage => ({ ok: true, messages, more });

/** `ops` open, holding the `count` newest of its 8,000 messages. */
function opsOpen(count: number): ChatState {
  return run(initialChatState, joined, {
    event: 'local:entered',
    entered: { ok: true, room: roomState('ops', 8000, 8000, 0), messages: range(8001 - count, count), more: true },
  });
}

describe('bounds', () => {
  test('presence lines count toward a conversation not open, and are trimmed with it', () => {
    let state = run(initialChatState, joined, { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0)] }, { event: 'local:open', room: 'ops' });
    const comings: ChatAction[] = [];
    for (let i = 0; i < KEEP_ITEMS; i += 1) comings.push({ event: 'userJoined', username: `u${i}`, guest: false }, { event: 'userLeft', username: `u${i}` });
    state = run(state, ...comings);
    expect(conv(state, 'general').timeline.length).toBeLessThanOrEqual(KEEP_ITEMS);
    expect(conv(state, 'general').timeline.at(-1)).toMatchObject({ kind: 'presence', username: `u${KEEP_ITEMS - 1}`, joined: false });
    // A room's members coming and going too.
    const members: ChatAction[] = [];
    for (let i = 0; i < KEEP_ITEMS; i += 1) members.push({ event: 'memberJoined', room: 'general', username: 'x' }, { event: 'memberJoined', room: 'ops', username: `v${i}` });
    state = run(state, { event: 'local:open', room: 'general' }, ...members);
    expect(conv(state, 'ops').timeline.length).toBeLessThanOrEqual(KEEP_ITEMS);
  });

  test('the open conversation is bounded: new messages push the oldest out, and older ones can be paged back', () => {
    let state = opsOpen(OPEN_ITEMS - 10);
    state = run(state, ...range(8001, 100).map((message): ChatAction => ({ event: 'message', ...message, room: 'ops' })));
    const ops = conv(state, 'ops');
    expect(ops.timeline.length).toBeLessThanOrEqual(OPEN_ITEMS);
    expect(newestSeq(ops)).toBe(8100);
    expect(ops.hasMore).toBe(true);
    expect(ops.newerMissing).toBe(false);
  });

  test('paging back past the bound drops the newest end; they are loaded again by the newest page', () => {
    let state = opsOpen(OPEN_ITEMS - 100);
    const oldest = 8001 - (OPEN_ITEMS - 100);
    state = chatReducer(state, { event: 'local:history', room: 'ops', before: oldest, page: page(range(oldest - 200, 200)) });
    let ops = conv(state, 'ops');
    expect(ops.timeline).toHaveLength(OPEN_ITEMS);
    expect(seqs(ops)[0]).toBe(oldest - 200);
    expect(newestSeq(ops)).toBe(8000 - 100);
    expect(ops.newerMissing).toBe(true);

    // Meanwhile, live messages are counted, not added after the hole.
    state = run(state, { event: 'message', ...m(8001), room: 'ops' });
    ops = conv(state, 'ops');
    expect(newestSeq(ops)).toBe(7900);
    expect(ops.lastSeq).toBe(8001);

    state = chatReducer(state, { event: 'local:replace', room: 'ops', before: 8002, page: page(range(7952, 50)) });
    ops = conv(state, 'ops');
    expect(seqs(ops)).toEqual(range(7952, 50).map((x) => x.seq));
    expect(ops.newerMissing).toBe(false);
    expect(ops.hasMore).toBe(true);
    state = run(state, { event: 'message', ...m(8002), room: 'ops' });
    expect(newestSeq(conv(state, 'ops'))).toBe(8002);
  });

  test('a message that came while the newest page was on its way is missing still', () => {
    let state = opsOpen(OPEN_ITEMS);
    state = chatReducer(state, { event: 'local:history', room: 'ops', before: 8001 - OPEN_ITEMS, page: page(range(8001 - OPEN_ITEMS - 50, 50)) });
    state = run(state, { event: 'message', ...m(8001), room: 'ops' });
    expect(conv(state, 'ops').newerMissing).toBe(true);
    state = chatReducer(state, { event: 'local:replace', room: 'ops', before: 8001, page: page(range(7951, 50)) });
    expect(conv(state, 'ops').newerMissing).toBe(true);
  });

  test('left while its newest were missing, a conversation keeps nothing and loads its newest when opened', () => {
    let state = opsOpen(OPEN_ITEMS);
    state = chatReducer(state, { event: 'local:history', room: 'ops', before: 8001 - OPEN_ITEMS, page: page(range(8001 - OPEN_ITEMS - 50, 50)) });
    state = chatReducer(state, { event: 'local:open', room: 'general' });
    const ops = conv(state, 'ops');
    expect(ops.timeline).toEqual([]);
    expect(ops.newerMissing).toBe(false);
    expect(ops.hasMore).toBe(true);
  });
});

describe('what arrives', () => {
  test('a run of messages in one batch ends as the same conversation as one at a time', () => {
    const base = run(initialChatState, joined, { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 10, 10, 0)] });
    const events: ChatAction[] = [11, 12, 12, 13].map((seq) => ({ event: 'message', ...m(seq), room: 'ops' }));
    events.splice(2, 0, { event: 'message', ...m(11, 'alice'), room: 'ops' });
    const together = run(base, ...events);
    const oneByOne = events.reduce(chatReducer, base);
    expect(conv(together, 'ops')).toEqual(conv(oneByOne, 'ops'));
    expect(seqs(conv(together, 'ops'))).toEqual([11, 12, 13]);
  });

  test('a new message from someone else in the open conversation is announced; nothing else is', () => {
    let state = run(initialChatState, joined, { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 10, 10, 0)] });
    state = run(state, { event: 'message', ...m(1) }, { event: 'message', ...m(2) });
    expect(state.arrival).toMatchObject({ room: 'general', username: 'bob', text: 'm2' });
    const n = state.arrival?.n ?? 0;
    // Mine, another conversation's, a copy that came again, a page of history: not announced.
    state = run(state, { event: 'message', ...m(3, 'alice'), own: true }, { event: 'message', ...m(11), room: 'ops' }, { event: 'message', ...m(2) });
    state = chatReducer(state, { event: 'local:history', room: 'general', before: 1, page: page([]) });
    expect(state.arrival?.n).toBe(n);
    state = chatReducer(state, { event: 'local:open', room: 'ops' });
    expect(state.arrival).toBeNull();
  });
});
