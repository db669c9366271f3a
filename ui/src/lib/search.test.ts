import { describe, expect, test } from 'vitest';
import { highlightRuns, nextSearch } from './search';

describe('search results', () => {
  test('highlights are code point ranges, merged, clamped', () => {
    expect(highlightRuns('deploy the 🚀 rocket now', [[13, 19]])).toEqual([
      { text: 'deploy the 🚀 ', mark: false },
      { text: 'rocket', mark: true },
      { text: ' now', mark: false },
    ]);
    expect(highlightRuns('abcdef', [[4, 99], [0, 2], [1, 3]])).toEqual([
      { text: 'abc', mark: true },
      { text: 'd', mark: false },
      { text: 'ef', mark: true },
    ]);
    expect(highlightRuns('abc', [])).toEqual([{ text: 'abc', mark: false }]);
  });

  test('more results: by offset while the server has more, then before its cursor, then none', () => {
    const request = { query: 'deploy', limit: 20 };
    const hits = (n: number) => Array.from({ length: n }, (_, i) => ({ room: 'ops', seq: i, id: `${i}`, username: 'bob', timestamp: '', snippet: '', highlights: [] }));
    const second = nextSearch(request, { ok: true, results: hits(20), more: true });
    expect(second).toEqual({ query: 'deploy', limit: 20, offset: 20 });
    expect(nextSearch(second ?? request, { ok: true, results: hits(20), more: true })).toEqual({ query: 'deploy', limit: 20, offset: 40 });
    expect(nextSearch({ ...request, offset: 40 }, { ok: true, results: hits(3), more: false, next: 1200 })).toEqual({ query: 'deploy', limit: 20, before: 1200 });
    expect(nextSearch(request, { ok: true, results: hits(3), more: false })).toBeNull();
  });
});
