// Ctrl+F: search the messages of every conversation (or the open one). Enter searches; each
// result shows where, who, when and the words that matched; choosing one opens it there.
import { useState, type FormEvent } from 'react';
import { api, toAppError } from '../api';
import { nextSearch } from '../lib/search';
import type { SearchHit, SearchRequest } from '../types';
import { AuthorTime } from './AuthorTime';
import { Dialog } from './Dialog';
import { FormError } from './FormError';
import { Name } from './Name';
import { SearchSnippet } from './SearchSnippet';

const PAGE = 20;

interface Props {
  /** The open conversation (searched alone when asked) and how to name any conversation. */
  current: string;
  nameOf: (room: string) => string;
  onChoose: (hit: SearchHit) => void;
  onClose: () => void;
}

export function SearchDialog({ current, nameOf, onChoose, onClose }: Props) {
  const [query, setQuery] = useState('');
  const [scope, setScope] = useState<'all' | 'here'>('all');
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [next, setNext] = useState<SearchRequest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (request: SearchRequest, more: boolean) => {
    setBusy(true);
    setError(null);
    try {
      const page = await api.search(request);
      setHits((shown) => [...(more ? (shown ?? []) : []), ...page.results]);
      setNext(nextSearch(request, page));
    } catch (e) {
      setError(toAppError(e).message);
    } finally {
      setBusy(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const q = query.trim();
    if (q === '') return;
    const request: SearchRequest = scope === 'here' ? { query: q, room: current, limit: PAGE } : { query: q, limit: PAGE };
    void run(request, false);
  };

  return (
    <Dialog title="Search" onClose={onClose} testId="search" className="dialog-panel dialog-wide">
      <form className="search-form" onSubmit={submit} role="search">
        <input type="search" aria-label="Search messages" placeholder="Search messages" value={query} onChange={(e) => setQuery(e.target.value)} data-autofocus />
        <select aria-label="Where" value={scope} onChange={(e) => setScope(e.target.value === 'here' ? 'here' : 'all')}>
          <option value="all">All conversations</option>
          <option value="here">Only {nameOf(current)}</option>
        </select>
        <button type="submit" disabled={busy || query.trim() === ''}>
          Search
        </button>
      </form>
      <p className="hint" role="status">
        {busy ? 'Searching…' : hits === null ? '' : hits.length === 0 ? 'No messages found.' : `${hits.length}${next ? '+' : ''} result${hits.length === 1 ? '' : 's'}`}
      </p>
      {hits && hits.length > 0 ? (
        <ul className="search-results" aria-label="Results">
          {hits.map((hit) => (
            <li key={`${hit.room}-${hit.seq}`}>
              <button type="button" className="search-result" data-testid="search-result" data-room={hit.room} data-seq={hit.seq} onClick={() => onChoose(hit)}>
                <span className="meta">
                  <Name className="where" name={nameOf(hit.room)} /> · <AuthorTime username={hit.username} timestamp={hit.timestamp} />
                </span>
                <SearchSnippet snippet={hit.snippet} highlights={hit.highlights} />
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <FormError message={error} />
      <div className="actions">
        {next ? (
          <button type="button" disabled={busy} onClick={() => void run(next, true)}>
            More results
          </button>
        ) : null}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
