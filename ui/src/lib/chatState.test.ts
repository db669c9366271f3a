import { describe, expect, test } from 'vitest';
import { chatReducer, initialChatState } from './chatState';
import { splitLinks } from './links';
import { usernameProblem } from './username';

const m = (seq: number, text = `m${seq}`) => ({ id: `id${seq}`, username: 'bob', text, timestamp: '2026-11-26T10:00:00.000Z', seq });

describe('chatReducer', () => {
  test('history and live messages are shown once each, in order', () => {
    let state = chatReducer(initialChatState, { event: 'joined', username: 'alice', users: ['alice'], history: [m(1), m(2)] });
    state = chatReducer(state, { event: 'message', ...m(2) });
    state = chatReducer(state, { event: 'message', ...m(3) });
    expect(state.timeline.map((i) => (i.kind === 'message' ? i.message.seq : null))).toEqual([1, 2, 3]);
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
