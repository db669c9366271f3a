import { expect, test } from 'vitest';
import type { ChatMessage } from '../types';
import { isOwn, mentionsMe } from './attention';

const msg = (extra: Partial<ChatMessage>): ChatMessage => ({ id: 'a', username: 'bob', text: '', timestamp: '2026-11-26T10:00:00.000Z', ...extra });

test("whose a message is and whom it names are the app's marks, whatever the names and text say", () => {
  expect(isOwn(msg({ username: 'alice', own: true }))).toBe(true);
  expect(isOwn(msg({ username: 'alice' }))).toBe(false);
  expect(mentionsMe(msg({ text: 'hi alice', mentions: ['alice'], mentionsMe: true }))).toBe(true);
  expect(mentionsMe(msg({ text: 'hi alice', mentions: ['alice'] }))).toBe(false);
  expect(mentionsMe(msg({ text: 'hi', mentionsMe: false }))).toBe(false);
});
