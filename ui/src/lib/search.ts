// Search results as the UI shows them: a snippet split into plain and highlighted runs (the
// server's ranges count Unicode code points), and the request for the next page of results.
import type { SearchRequest, SearchResults } from '../types';

export type SnippetRun = { text: string; mark: boolean };

/** Splits `snippet` at the `[start, end)` ranges (code points); overlapping ranges merge. */
export function highlightRuns(snippet: string, ranges: ReadonlyArray<readonly [number, number]>): SnippetRun[] {
  const chars = Array.from(snippet);
  const sorted = ranges
    .map(([a, b]) => [Math.max(0, Math.min(a, chars.length)), Math.max(0, Math.min(b, chars.length))] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const runs: SnippetRun[] = [];
  let at = 0;
  for (const [a, b] of sorted) {
    const from = Math.max(a, at);
    if (b <= from) continue;
    if (from > at) runs.push({ text: chars.slice(at, from).join(''), mark: false });
    const last = runs[runs.length - 1];
    if (last?.mark && from === at) last.text += chars.slice(from, b).join('');
    else runs.push({ text: chars.slice(from, b).join(''), mark: true });
    at = b;
  }
  if (at < chars.length) runs.push({ text: chars.slice(at).join(''), mark: false });
  return runs;
}

/**
 * The request for the results after `page`: the next ones of the same search by offset while
 * the server has `more`, then, when it gives a `next` cursor, the same search among older
 * messages; null when there is nothing after.
 */
export function nextSearch(request: SearchRequest, page: SearchResults): SearchRequest | null {
  if (page.more) return { ...request, offset: (request.offset ?? 0) + page.results.length };
  if (page.next !== undefined && page.next !== null) {
    const { offset: _offset, ...rest } = request;
    return { ...rest, before: page.next };
  }
  return null;
}
