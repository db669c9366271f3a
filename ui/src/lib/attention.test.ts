import { expect, test } from 'vitest';
import type { ChatMessage } from '../types';
import { isOwn, mentionsMe, mentionsName, sameName } from './attention';

const msg = (extra: Partial<ChatMessage>): ChatMessage => ({ id: 'a', username: 'bob', text: '', timestamp: '2026-11-26T10:00:00.000Z', ...extra });

test('names compare Unicode-lowercased on both sides', () => {
  expect(sameName('Élodie', 'éLODIE')).toBe(true);
  expect(sameName('ΣΟΦΙΑ', 'σοφια')).toBe(true);
  expect(sameName('ana', 'anna')).toBe(false);
  expect(isOwn(msg({ username: 'ÉLODIE' }), 'élodie')).toBe(true);
  expect(isOwn(msg({ username: 'élodie', guest: true }), 'élodie')).toBe(false);
});

test("without a seq, a mention is the name as a whole word in the text (Rust's attention::mentions)", () => {
  expect(mentionsName('hi Alice', 'alice')).toBe(true);
  expect(mentionsName('@alice: look', 'alice')).toBe(true);
  expect(mentionsName('(alice)', 'alice')).toBe(true);
  expect(mentionsName('malice', 'alice')).toBe(false);
  expect(mentionsName('alice_b and alice-b and alice2', 'alice')).toBe(false);
  expect(mentionsName('élodieé', 'élodie')).toBe(false);
  expect(mentionsName('hi ÉLODIE!', 'élodie')).toBe(true);
  expect(mentionsName('🙂alice🙂', 'alice')).toBe(true);
  expect(mentionsName('hi Mary Jane', ' mary jane ')).toBe(true);
  expect(mentionsName('anything', '  ')).toBe(false);
  // Matches are looked for without overlapping, as Rust's `match_indices`.
  expect(mentionsName('yx a x a x', 'x a x')).toBe(false);
});

test('with a seq, a mention is what the server says; without one, the text only', () => {
  expect(mentionsMe(msg({ seq: 1, text: 'hi alice', mentions: [] }), 'alice')).toBe(false);
  expect(mentionsMe(msg({ seq: 1, text: 'hi', mentions: ['ALICE'] }), 'alice')).toBe(true);
  expect(mentionsMe(msg({ seq: 1, text: 'hi alice' }), 'alice')).toBe(false);
  expect(mentionsMe(msg({ text: 'hi', mentions: ['alice'] }), 'alice')).toBe(false);
  expect(mentionsMe(msg({ text: 'hi alice' }), 'alice')).toBe(true);
  expect(mentionsMe(msg({ text: 'hi alice' }), null)).toBe(false);
});
