// A search result's snippet with the matched words marked, a bidi isolate (someone else's text).
import { highlightRuns } from '../lib/search';

export function SearchSnippet({ snippet, highlights }: { snippet: string; highlights: ReadonlyArray<readonly [number, number]> }) {
  return (
    <bdi className="snippet">
      {highlightRuns(snippet, highlights).map((run, i) => (run.mark ? <mark key={i}>{run.text}</mark> : <span key={i}>{run.text}</span>))}
    </bdi>
  );
}
