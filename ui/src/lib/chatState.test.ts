import { describe, expect, test } from 'vitest';
import { chatReducer, initialChatState } from './chatState';
import { splitLinks } from './links';
import { usernameProblem } from './username';

const m = (seq: number, text = `m${seq}`) => ({ id: `id${seq}`, username: 'bob', text, timestamp: '2026-11-26T10:00:00.000Z', seq });

describe('chatReducer', () => {
  test('history and live messages are shown once each, in order', () => {
    let state = chatReducer(initialChatState, { event: 'joined', username: 'alice', users: ['alice'], owned: true, history: [m(1), m(2)] });
    state = chatReducer(state, { event: 'message', ...m(2) });
    state = chatReducer(state, { event: 'message', ...m(3) });
    expect(state.timeline.map((i) => (i.kind === 'message' ? i.message.seq : null))).toEqual([1, 2, 3]);
  });

  test("another room's messages, typing and gaps stay out of general's timeline", () => {
    let state = chatReducer(initialChatState, { event: 'joined', username: 'alice', users: ['alice', 'bob'], owned: true, history: [m(1)] });
    state = chatReducer(state, { event: 'message', ...m(1, 'in ops'), room: 'ops' });
    state = chatReducer(state, { event: 'typing', username: 'bob', typing: true, room: 'ops' });
    state = chatReducer(state, { event: 'gap', room: 'ops', from: 1, to: 4, kept: true });
    state = chatReducer(state, { event: 'memberJoined', room: 'ops', username: 'bob' });
    expect(state.timeline.map((i) => (i.kind === 'message' ? i.message.text : i.kind))).toEqual(['m1']);
    expect(state.typing).toEqual([]);
  });

  test('a gap the server reports is a visible line, once', () => {
    let state = chatReducer(initialChatState, { event: 'gap', from: 3, to: 7, kept: false });
    state = chatReducer(state, { event: 'gap', from: 3, to: 7, kept: false });
    state = chatReducer(state, { event: 'joined', username: 'alice', users: ['alice'], owned: true, history: [m(8)] });
    expect(state.timeline.map((i) => i.kind)).toEqual(['notice', 'message']);
    const line = state.timeline[0];
    expect(line?.kind === 'notice' ? line.text : '').toBe('5 older messages are no longer available');
  });

  test('after a history reset, new messages with old seqs are shown, below a line', () => {
    let state = chatReducer(initialChatState, { event: 'joined', username: 'alice', users: ['alice'], owned: true, history: [m(1, 'before')] });
    state = chatReducer(state, { event: 'historyReset' });
    state = chatReducer(state, { event: 'joined', username: 'alice', users: ['alice'], owned: true, history: [m(1, 'after')] });
    expect(state.timeline.map((i) => (i.kind === 'message' ? i.message.text : i.kind))).toEqual(['before', 'notice', 'after']);
    expect(new Set(state.timeline.map((i) => i.key)).size).toBe(3);
  });

  test('messages without seq (the tutorial server) sharing an id are both shown', () => {
    const tick = (text: string) => ({ id: 'sock-1795626522787', username: 'bob', text, timestamp: '2026-11-26T10:00:00.000Z' });
    let state = chatReducer(initialChatState, { event: 'message', ...tick('one') });
    state = chatReducer(state, { event: 'message', ...tick('two') });
    expect(state.timeline.map((i) => (i.kind === 'message' ? i.message.text : ''))).toEqual(['one', 'two']);
    expect(new Set(state.timeline.map((i) => i.key)).size).toBe(2);
  });

  test('guests are known from the join, the list and each arrival, and forgotten when they leave', () => {
    // The snapshot with the guests may come before the join is reported (while catching up).
    let state = chatReducer(initialChatState, { event: 'users', users: ['alice', 'bob', 'tut'], guests: ['tut'] });
    state = chatReducer(state, { event: 'joined', username: 'alice', users: ['alice', 'bob', 'tut'], owned: true, history: [] });
    expect([...state.guests]).toEqual(['tut']);
    state = chatReducer(state, { event: 'userJoined', username: 'cli', guest: true });
    state = chatReducer(state, { event: 'userJoined', username: 'carol', guest: false });
    expect([...state.guests].sort()).toEqual(['cli', 'tut']);
    state = chatReducer(state, { event: 'userLeft', username: 'cli' });
    expect([...state.guests]).toEqual(['tut']);
    state = chatReducer(state, { event: 'users', users: ['alice', 'bob'], guests: ['bob'] });
    expect([...state.guests]).toEqual(['bob']);
    state = chatReducer(state, { event: 'status', state: 'reconnecting', attempt: 1, delayMs: 1000, reason: 'lost' });
    expect(state.guests.size).toBe(0);
  });

  test('a message from someone clears their typing state', () => {
    let state = chatReducer(initialChatState, { event: 'typing', username: 'bob', typing: true });
    expect(state.typing).toEqual(['bob']);
    state = chatReducer(state, { event: 'message', ...m(1) });
    expect(state.typing).toEqual([]);
  });
});

describe('rules shared with the server', () => {
  test('usernames', () => {
    expect(usernameProblem('  ')).toBe('Choose a username.');
    expect(usernameProblem('é'.repeat(32))).toBeNull();
    expect(usernameProblem('x'.repeat(33))).toMatch('32');
    expect(usernameProblem('a\u0007b')).toMatch('control');
  });

  test('links: http(s) only, trailing punctuation left out', () => {
    expect(splitLinks('go to https://a.example/x). or ftp://no')).toEqual([
      { kind: 'text', text: 'go to ' },
      { kind: 'link', text: 'https://a.example/x', href: 'https://a.example/x' },
      { kind: 'text', text: '). or ftp://no' },
    ]);
  });
});
