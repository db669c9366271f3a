import { expect, test } from 'vitest';
import { matchNames } from './switcher';

const entries = ['general', 'ops', 'dev-ops', 'design', 'Oscar', 'random'].map((name) => ({ name }));
const names = (query: string) => matchNames(query, entries).map((e) => e.name);

test('names starting with the query come first, then names containing it; case does not matter', () => {
  expect(names('o')).toEqual(['ops', 'Oscar', 'dev-ops', 'random']);
  expect(names('OPS')).toEqual(['ops', 'dev-ops']);
  expect(names('de')).toEqual(['dev-ops', 'design']);
});

test('an empty query lists everything in order; a leading # or @ is ignored; no match is empty', () => {
  expect(names('  ')).toEqual(entries.map((e) => e.name));
  expect(names('#gen')).toEqual(['general']);
  expect(names('@osc')).toEqual(['Oscar']);
  expect(names('zzz')).toEqual([]);
});
