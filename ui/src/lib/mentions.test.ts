import { describe, expect, test } from 'vitest';
import { insertMention, mentionAt, mentionCandidates } from './mentions';

describe('mention autocomplete', () => {
  test('finds the @name being typed at the caret, not an email address', () => {
    expect(mentionAt('hi @bo', 6)).toEqual({ start: 3, query: 'bo' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('mail a@b.c', 10)).toBeNull();
    expect(mentionAt('hi @bob and more', 16)).toEqual({ start: 3, query: 'bob and more' });
    expect(mentionAt('@ bob', 5)).toBeNull();
    expect(mentionAt('@bob\nnext', 9)).toBeNull();
  });

  test('suggests names starting with the query, case-insensitive, names with spaces included', () => {
    const people = ['Bob', 'bobby', 'Mary Jane', 'carol'];
    expect(mentionCandidates('bo', people)).toEqual(['Bob', 'bobby']);
    expect(mentionCandidates('mary j', people)).toEqual(['Mary Jane']);
    expect(mentionCandidates('x', people)).toEqual([]);
  });

  test('inserts @name and a space, with the caret after it', () => {
    const text = 'hi @ma, there';
    const at = mentionAt(text, 6);
    expect(at).not.toBeNull();
    if (!at) return;
    expect(insertMention(text, 6, at, 'Mary Jane')).toEqual({ text: 'hi @Mary Jane , there', caret: 14 });
    expect(insertMention('@b', 2, { start: 0, query: 'b' }, 'bob')).toEqual({ text: '@bob ', caret: 5 });
  });
});
