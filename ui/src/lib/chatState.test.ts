import { describe, expect, test } from 'vitest';
import type { ChatMessage, ClientEvent } from '../types';
import { chatBatchReducer, chatReducer, initialChatState, type ChatAction, type ChatState } from './chatState';
import { KEEP_ITEMS } from './bounds';
import type { Conversation } from './conversations';
import { usernameProblem } from './username';
import { roomState } from '../test-fixtures';

const m = (seq: number, text = `m${seq}`, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id: `id${seq}`,
  username: 'bob',
  text,
  timestamp: '2026-11-26T10:00:00.000Z',
  seq,
  ...extra,
});
const joined = (history: ChatMessage[] = []): ClientEvent => ({ event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: true, history });
const run = (...actions: ChatAction[]) => chatBatchReducer(initialChatState, actions);
const conv = (state: ChatState, room: string) => state.conversations[room] as Conversation;
const texts = (c: Conversation) => c.timeline.map((i) => (i.kind === 'message' ? i.message.text : i.kind));
const counts = (c: Conversation) => ({ read: c.read, unread: c.unread, mentions: c.mentions });

describe('one conversation', () => {
  test('history and live messages are shown once each, in order', () => {
    const state = run(joined([m(1), m(2)]), { event: 'message', ...m(2) }, { event: 'message', ...m(3) });
    expect(conv(state, 'general').timeline.map((i) => (i.kind === 'message' ? i.message.seq : null))).toEqual([1, 2, 3]);
  });

  test("each room's messages, typing and gaps go to its own conversation", () => {
    const state = run(
      joined([m(1)]),
      { event: 'rooms', rooms: [roomState('general', 1, 1, 0), roomState('ops', 0, 0, 0)] },
      { event: 'message', ...m(1, 'in ops'), room: 'ops' },
      { event: 'typing', username: 'bob', typing: true, room: 'ops' },
      { event: 'gap', room: 'ops', from: 2, to: 4, kept: true },
    );
    expect(texts(conv(state, 'general'))).toEqual(['m1']);
    expect(conv(state, 'general').typing).toEqual([]);
    expect(texts(conv(state, 'ops'))).toEqual(['in ops', 'gap']);
    expect(conv(state, 'ops').typing).toEqual(['bob']);
  });

  test('a gap the server reports is a visible line where the messages were, once', () => {
    let state = run({ event: 'gap', from: 3, to: 7, kept: false }, { event: 'gap', from: 3, to: 7, kept: false }, joined([m(8)]));
    expect(texts(conv(state, 'general'))).toEqual(['gap', 'm8']);
    // A page of older messages goes above the line, not below it.
    state = chatReducer(state, { event: 'local:history', room: 'general', before: 3, page: { ok: true, messages: [m(1), m(2)], more: false } });
    expect(texts(conv(state, 'general'))).toEqual(['m1', 'm2', 'gap', 'm8']);
  });

  test('after a history reset, new messages with old seqs are shown, below a line', () => {
    const state = run(joined([m(1, 'before')]), { event: 'historyReset' }, joined([m(1, 'after')]));
    expect(texts(conv(state, 'general'))).toEqual(['before', 'notice', 'after']);
    expect(new Set(conv(state, 'general').timeline.map((i) => i.key)).size).toBe(3);
  });

  test('messages without seq (the tutorial server) sharing an id are both shown', () => {
    const tick = (text: string) => ({ id: 'sock-1795626522787', username: 'bob', text, timestamp: '2026-11-26T10:00:00.000Z' });
    const state = run({ event: 'message', ...tick('one') }, { event: 'message', ...tick('two') });
    expect(texts(conv(state, 'general'))).toEqual(['one', 'two']);
    expect(new Set(conv(state, 'general').timeline.map((i) => i.key)).size).toBe(2);
  });

  test('guests are known from the join, the list and each arrival, and forgotten when they leave', () => {
    // The snapshot with the guests may come before the join is reported (while catching up).
    let state = run({ event: 'users', users: ['alice', 'bob', 'tut'], guests: ['tut'] }, { event: 'joined', username: 'alice', users: ['alice', 'bob', 'tut'], owned: true, history: [] });
    expect([...state.guests]).toEqual(['tut']);
    state = chatBatchReducer(state, [
      { event: 'userJoined', username: 'cli', guest: true },
      { event: 'userJoined', username: 'carol', guest: false },
    ]);
    expect([...state.guests].sort()).toEqual(['cli', 'tut']);
    state = chatReducer(state, { event: 'userLeft', username: 'cli' });
    expect([...state.guests]).toEqual(['tut']);
    state = chatReducer(state, { event: 'users', users: ['alice', 'bob'], guests: ['bob'] });
    expect([...state.guests]).toEqual(['bob']);
    state = chatReducer(state, { event: 'status', state: 'reconnecting', attempt: 1, delayMs: 1000, reason: 'lost' });
    expect(state.guests.size).toBe(0);
  });

  test('a message from someone clears their typing state', () => {
    let state = run({ event: 'typing', username: 'bob', typing: true });
    expect(conv(state, 'general').typing).toEqual(['bob']);
    state = chatReducer(state, { event: 'message', ...m(1) });
    expect(conv(state, 'general').typing).toEqual([]);
  });
});

describe('counting', () => {
  const base = () =>
    run(joined([m(1), m(2)]), {
      event: 'rooms',
      rooms: [roomState('general', 2, 2, 0), roomState('ops', 10, 7, 3, 1), roomState('dm:4', 5, 5, 0, 0, { kind: 'dm' })],
    });

  test("the server's numbers first; then new messages of others count, mentions of me too", () => {
    let state = base();
    expect(counts(conv(state, 'ops'))).toEqual({ read: 7, unread: 3, mentions: 1 });
    // A replay of what the numbers include counts nothing.
    state = chatReducer(state, { event: 'message', ...m(10), room: 'ops' });
    expect(counts(conv(state, 'ops'))).toEqual({ read: 7, unread: 3, mentions: 1 });
    state = chatBatchReducer(state, [
      { event: 'message', ...m(11, 'hey @Alice', { mentions: ['ALICE'], mentionsMe: true }), room: 'ops' },
      { event: 'message', ...m(12), room: 'ops' },
      { event: 'message', ...m(6, 'dm', { username: 'carol' }), room: 'dm:4' },
    ]);
    expect(counts(conv(state, 'ops'))).toEqual({ read: 7, unread: 5, mentions: 2 });
    expect(conv(state, 'ops').lastSeq).toBe(12);
    expect(counts(conv(state, 'dm:4'))).toEqual({ read: 5, unread: 1, mentions: 0 });
  });

  test('my own message (as the app marks it) reads the conversation; another under my name does not', () => {
    let state = chatReducer(base(), { event: 'message', ...m(11, 'a guest', { username: 'alice', guest: true }), room: 'ops' });
    expect(conv(state, 'ops').unread).toBe(4);
    state = chatReducer(state, { event: 'message', ...m(12, 'mine', { username: 'Alice', own: true }), room: 'ops' });
    expect(counts(conv(state, 'ops'))).toEqual({ read: 12, unread: 0, mentions: 0 });
  });

  test('a room this device enters: its replay is history, what follows counts', () => {
    const state = run(
      joined(),
      { event: 'rooms', rooms: [roomState('general', 0, 0, 0)] },
      { event: 'roomEntered', ...roomState('ops', 3, 2, 1) },
      { event: 'message', ...m(2), room: 'ops' },
      { event: 'message', ...m(3), room: 'ops' },
      { event: 'message', ...m(4), room: 'ops' },
    );
    expect(counts(conv(state, 'ops'))).toEqual({ read: 2, unread: 2, mentions: 0 });
    expect(texts(conv(state, 'ops'))).toEqual(['m2', 'm3', 'm4']);
  });

  test('a read marker (from any device) sets the counts', () => {
    const state = chatReducer(base(), { event: 'readMarker', room: 'ops', read: 10, unread: 0, mentions: 0 });
    expect(counts(conv(state, 'ops'))).toEqual({ read: 10, unread: 0, mentions: 0 });
  });

  test('the open conversation, in front of the user, counts nothing; reading it clears', () => {
    let state = chatBatchReducer(base(), [{ event: 'local:attention', attentive: true }]);
    state = chatReducer(state, { event: 'message', ...m(3), room: undefined });
    expect(counts(conv(state, 'general'))).toEqual({ read: 2, unread: 0, mentions: 0 });
    // Opening one clears its counts too (the marker follows when it is read).
    state = chatReducer(state, { event: 'local:open', room: 'ops' });
    expect(conv(state, 'ops').unread).toBe(0);
    state = chatReducer(state, { event: 'local:read', room: 'ops', seq: 10 });
    expect(counts(conv(state, 'ops'))).toEqual({ read: 10, unread: 0, mentions: 0 });
  });

  test('a room unknown until its messages arrive (a replay before the room states) counts them as history', () => {
    const state = run(joined([m(1)]), { event: 'message', ...m(1), room: 'new' }, { event: 'message', ...m(2), room: 'new' });
    expect(conv(state, 'new').unread).toBe(1);
    expect(texts(conv(state, 'new'))).toEqual(['m1', 'm2']);
    expect(conv(state, 'new').kind).toBe('room');
  });

  test("joined: general's history is known, not counted", () => {
    const state = run(joined([m(1), m(2), m(3)]));
    expect(conv(state, 'general').unread).toBe(0);
    expect(conv(state, 'general').lastSeq).toBe(3);
  });

  test('the tutorial server: messages without seq count unless mine', () => {
    const state = run(
      { event: 'local:open', room: 'general' },
      { event: 'message', id: 'a', username: 'bob', text: 'hi alice', timestamp: '2026-11-26T10:00:00.000Z' },
      { event: 'message', id: 'b', username: 'bob', text: 'hi', timestamp: '2026-11-26T10:00:00.000Z' },
    );
    expect(state.conversations.general?.unread).toBe(2);
    expect(state.conversations.general?.mentions).toBe(0);
  });
});

describe('rooms and DMs', () => {
  test('roomUpdated adds a room (nothing unread), updates it, and removes it when I am no longer in it', () => {
    let state = run(joined(), { event: 'roomUpdated', room: 'dm:9', kind: 'dm', topic: '', members: ['alice', 'carol'], lastSeq: 0 });
    expect(conv(state, 'dm:9').kind).toBe('dm');
    state = chatReducer(state, { event: 'message', ...m(1, 'hi', { username: 'carol' }), room: 'dm:9' });
    expect(conv(state, 'dm:9').unread).toBe(1);
    state = chatBatchReducer(state, [
      { event: 'roomUpdated', room: 'ops', kind: 'room', topic: 'deploys', members: ['alice'], lastSeq: 40 },
      { event: 'roomUpdated', room: 'ops', kind: 'room', topic: 'on call', members: ['alice'], lastSeq: 41 },
    ]);
    expect(conv(state, 'ops')).toMatchObject({ topic: 'on call', lastSeq: 40, unread: 0, hasMore: true });
    state = chatBatchReducer(state, [{ event: 'local:open', room: 'ops' }, { event: 'roomUpdated', room: 'ops', kind: 'room', topic: '', members: ['bob'], lastSeq: 41 }]);
    expect(state.conversations.ops).toBeUndefined();
    expect(state.current).toBe('general');
  });

  test('roomTopic changes the topic of a room here, and makes no room it does not know', () => {
    let state = run(joined(), { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0)] });
    state = chatReducer(state, { event: 'roomTopic', room: 'ops', topic: 'v2 ships friday', username: 'bob' });
    expect(conv(state, 'ops').topic).toBe('v2 ships friday');
    state = chatReducer(state, { event: 'roomTopic', room: 'elsewhere', topic: 'x' });
    expect(state.conversations.elsewhere).toBeUndefined();
  });

  test('members join and leave a room; this name leaving (on another device) removes it', () => {
    let state = run(joined(), { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0)] });
    state = chatReducer(state, { event: 'memberJoined', room: 'ops', username: 'carol' });
    expect(conv(state, 'ops').members).toEqual(['alice', 'bob', 'carol']);
    state = chatReducer(state, { event: 'memberLeft', room: 'ops', username: 'bob' });
    expect(conv(state, 'ops').members).toEqual(['alice', 'carol']);
    expect(texts(conv(state, 'ops'))).toEqual(['presence', 'presence']);
    state = chatReducer(state, { event: 'memberLeft', room: 'ops', username: 'alice' });
    expect(state.conversations.ops).toBeUndefined();
  });

  test('a join lists every room this name is in: the others are gone', () => {
    let state = run(joined(), { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 0, 0, 0)] }, { event: 'local:open', room: 'ops' });
    state = chatReducer(state, { event: 'rooms', rooms: [roomState('general', 0, 0, 0)] });
    expect(Object.keys(state.conversations)).toEqual(['general']);
    expect(state.current).toBe('general');
  });

  test('entering a room takes its state and messages and opens it', () => {
    const state = run(joined(), {
      event: 'local:entered',
      entered: { ok: true, room: roomState('ops', 3, 3, 0), messages: [m(2), m(3)], more: true, gap: { from: 1, to: 1 } },
    });
    expect(state.current).toBe('ops');
    expect(texts(conv(state, 'ops'))).toEqual(['gap', 'm2', 'm3']);
    expect(conv(state, 'ops').timeline.every((i) => i.kind !== 'message' || i.message.room === 'ops')).toBe(true);
  });
});

describe('the "New messages" line', () => {
  test('is placed at the marker as it was when the conversation was opened, and stays', () => {
    let state = run(joined(), { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 12, 9, 3)] }, { event: 'local:open', room: 'ops' });
    expect(state.divider).toEqual({ room: 'ops', after: 9, pending: false });
    state = chatReducer(state, { event: 'readMarker', room: 'ops', read: 12, unread: 0, mentions: 0 });
    expect(state.divider.after).toBe(9);
    // Back again with nothing unread: no line.
    state = chatBatchReducer(state, [{ event: 'local:open', room: 'general' }, { event: 'local:open', room: 'ops' }]);
    expect(state.divider).toEqual({ room: 'ops', after: null, pending: false });
  });

  test('waits for the marker when the conversation opened before it was known', () => {
    const state = run(joined([m(1), m(2), m(3)]), { event: 'rooms', rooms: [roomState('general', 3, 1, 2)] });
    expect(state.divider).toEqual({ room: 'general', after: 1, pending: false });
  });
});

describe('history pages', () => {
  const withOps = (messages: ChatMessage[], lastSeq: number) =>
    run(joined(), { event: 'local:entered', entered: { ok: true, room: roomState('ops', lastSeq, lastSeq, 0), messages, more: true } });

  test('a page goes before what is loaded, each message once; hasMore follows the server', () => {
    let state = withOps([m(51), m(52)], 52);
    expect(conv(state, 'ops').hasMore).toBe(true);
    const page = Array.from({ length: 50 }, (_, i) => m(i + 2));
    state = chatReducer(state, { event: 'local:history', room: 'ops', before: 51, page: { ok: true, messages: page, more: true } });
    expect(conv(state, 'ops').timeline.map((i) => (i.kind === 'message' ? i.message.seq : 0))).toEqual(Array.from({ length: 51 }, (_, i) => i + 2));
    expect(conv(state, 'ops').hasMore).toBe(true);
    state = chatReducer(state, { event: 'local:history', room: 'ops', before: 2, page: { ok: true, messages: [m(1)], more: false } });
    expect(conv(state, 'ops').hasMore).toBe(false);
    expect(conv(state, 'ops').timeline).toHaveLength(52);
  });

  test('hasMore: the oldest loaded is after the first, or messages exist and none is loaded', () => {
    expect(withOps([m(1), m(2)], 2).conversations.ops?.hasMore).toBe(false);
    const empty = run(joined(), { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 30, 30, 0), roomState('quiet', 0, 0, 0)] });
    expect(empty.conversations.ops?.hasMore).toBe(true);
    expect(empty.conversations.quiet?.hasMore).toBe(false);
  });

  test('a page that fills part of a missed-messages gap shrinks it', () => {
    let state = run(joined([m(1), m(2)]), { event: 'gap', from: 3, to: 300, kept: true }, { event: 'message', ...m(301) });
    state = chatReducer(state, { event: 'local:history', room: 'general', before: 301, page: { ok: true, messages: Array.from({ length: 200 }, (_, i) => m(i + 101)), more: true } });
    const gap = conv(state, 'general').timeline.find((i) => i.kind === 'gap');
    expect(gap).toMatchObject({ from: 3, to: 100 });
    expect(conv(state, 'general').timeline.findIndex((i) => i.kind === 'gap')).toBe(2);
  });

  test(`a conversation that is not open keeps its newest ${KEEP_ITEMS} items`, () => {
    const many = Array.from({ length: 800 }, (_, i) => m(i + 1));
    let state = run(joined(), { event: 'local:entered', entered: { ok: true, room: roomState('ops', 800, 800, 0), messages: many, more: false } });
    expect(conv(state, 'ops').timeline).toHaveLength(800);
    state = chatReducer(state, { event: 'local:open', room: 'general' });
    expect(conv(state, 'ops').timeline).toHaveLength(KEEP_ITEMS);
    expect(conv(state, 'ops').hasMore).toBe(true);
    const first = conv(state, 'ops').timeline[0];
    expect(first?.kind === 'message' ? first.message.seq : 0).toBe(301);
  });
});

describe('rules shared with the server', () => {
  test('usernames', () => {
    expect(usernameProblem('  ')).toBe('Choose a username.');
    expect(usernameProblem('é'.repeat(32))).toBeNull();
    expect(usernameProblem('x'.repeat(33))).toMatch('32');
    expect(usernameProblem('a\u0007b')).toMatch('control');
  });
});

describe('room names that are also property names', () => {
  test('"constructor" and "__proto__" are rooms like any other', () => {
    const state = run(
      joined(),
      { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('constructor', 1, 1, 0), roomState('__proto__', 1, 1, 0)] },
      { event: 'message', ...m(2), room: 'constructor' },
      { event: 'message', ...m(2), room: '__proto__' },
    );
    expect(Object.keys(state.conversations).sort()).toEqual(['__proto__', 'constructor', 'general']);
    expect(counts(conv(state, 'constructor')).unread).toBe(1);
    expect(counts(conv(state, '__proto__')).unread).toBe(1);
    const unknown = run(joined(), { event: 'rooms', rooms: [roomState('general', 0, 0, 0)] }, { event: 'message', ...m(1), room: 'constructor' });
    expect(unknown.conversations['constructor']).toBeUndefined();
  });
});

describe('living messages', () => {
  const updated = (seq: number, rev: number, extra: Partial<ChatMessage> = {}): ChatAction => ({ event: 'messageUpdated', ...m(seq), rev, ...extra });

  test('a newer copy replaces the loaded message; only its item changes identity', () => {
    const before = run(joined([m(1), m(2), m(3)]));
    const after = chatReducer(before, updated(2, 5, { text: 'fixed', editedAt: '2026-11-26T10:01:00.000Z' }));
    expect(texts(conv(after, 'general'))).toEqual(['m1', 'fixed', 'm3']);
    const [a, b, c] = conv(before, 'general').timeline;
    const [a2, b2, c2] = conv(after, 'general').timeline;
    expect(a2).toBe(a);
    expect(c2).toBe(c);
    expect(b2).not.toBe(b);
    expect(b2?.key).toBe(b?.key);
  });

  test('an older or equal rev is ignored, and the state is the same object', () => {
    const state = chatReducer(run(joined([m(1)])), updated(1, 5, { text: 'five' }));
    expect(chatReducer(state, updated(1, 4, { text: 'four' }))).toBe(state);
    expect(chatReducer(state, updated(1, 5, { text: 'again' }))).toBe(state);
    expect(texts(conv(state, 'general'))).toEqual(['five']);
  });

  test('a change counts nothing unread and adds no message that is not loaded', () => {
    const state = run(joined([m(1)]), { event: 'rooms', rooms: [roomState('general', 1, 1, 0), roomState('ops', 3, 1, 0)] });
    const after = chatBatchReducer(state, [updated(1, 2, { room: 'ops', reactions: [{ emoji: '👍', names: ['bob'] }] }), updated(7, 3)]);
    expect(counts(conv(after, 'ops'))).toEqual(counts(conv(state, 'ops')));
    expect(conv(after, 'ops')).toBe(conv(state, 'ops'));
    expect(texts(conv(after, 'general'))).toEqual(['m1']);
  });

  test('a deletion, reactions and a pin land on the message of their room', () => {
    const state = run(
      joined([m(1)]),
      { event: 'rooms', rooms: [roomState('general', 1, 1, 0), roomState('ops', 1, 1, 0)] },
      { event: 'message', ...m(1, 'in ops'), room: 'ops' },
      updated(1, 1, { room: 'ops', reactions: [{ emoji: '🎉', names: ['ana', 'bob'] }], pinned: { by: 'ana', at: '2026-11-26T10:02:00.000Z' } }),
      updated(1, 2, { text: '', deleted: true }),
    );
    const ops = conv(state, 'ops').timeline[0];
    expect(ops?.kind === 'message' && ops.message.reactions).toEqual([{ emoji: '🎉', names: ['ana', 'bob'] }]);
    expect(ops?.kind === 'message' && ops.message.room).toBe('ops');
    const general = conv(state, 'general').timeline[0];
    expect(general?.kind === 'message' && general.message.deleted).toBe(true);
  });

  test("the outbox event's changes are kept beside its entries", () => {
    const change = { clientId: 'c1', target: { seq: 1 }, change: { op: 'delete' as const }, createdAt: '2026-11-26T10:00:00.000Z', state: 'failed' as const, code: 'not_author' as const, message: 'no' };
    const state = run({ event: 'outbox', entries: [], changes: [change] });
    expect(state.changes).toEqual([change]);
  });
});
