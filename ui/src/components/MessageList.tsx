import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { dayLabel, itemDate, timeLabel, type TimelineItem } from '../lib/chatState';
import type { OutboxEntry } from '../types';
import { GuestMark } from './GuestMark';
import { MessageText } from './MessageText';
import { markPainted } from '../lib/perfMarks';

type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'item'; key: string; item: TimelineItem }
  | { kind: 'unsent'; key: string; entry: OutboxEntry };

const NEAR_BOTTOM_PX = 48;

export function buildRows(timeline: TimelineItem[], outbox: OutboxEntry[]): Row[] {
  const rows: Row[] = [];
  let lastDay = '';
  for (const item of timeline) {
    const label = dayLabel(itemDate(item));
    if (label !== lastDay) {
      rows.push({ kind: 'day', key: `d-${item.key}`, label });
      lastDay = label;
    }
    rows.push({ kind: 'item', key: item.key, item });
  }
  // A message already in the conversation (its echo came back) is not shown twice while its
  // acknowledgement (sent once it is stored) is on the way.
  const shown = new Set(timeline.flatMap((item) => (item.kind === 'message' && item.message.clientId ? [item.message.clientId] : [])));
  for (const entry of outbox) {
    if (!shown.has(entry.clientId)) rows.push({ kind: 'unsent', key: `o-${entry.clientId}`, entry });
  }
  return rows;
}

interface Props {
  timeline: TimelineItem[];
  outbox: OutboxEntry[];
  me: string | null;
  onRetry: (clientId: string) => void;
  onDiscard: (clientId: string) => void;
}

/** The conversation, virtualized; follows the newest message unless the reader scrolled up. */
export function MessageList({ timeline, outbox, me, onRetry, onDiscard }: Props) {
  const rows = useMemo(() => buildRows(timeline, outbox), [timeline, outbox]);
  const scroller = useRef<HTMLDivElement>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [unseen, setUnseen] = useState(0);
  const previousCount = useRef(rows.length);
  const previousOutbox = useRef(outbox.length);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 56,
    overscan: 10,
    initialRect: { width: 800, height: 600 },
    getItemKey: (index) => rows[index]?.key ?? index,
    useFlushSync: false,
  });

  const scrollToEnd = () => {
    if (rows.length > 0) virtualizer.scrollToIndex(rows.length - 1, { align: 'end' });
    setUnseen(0);
  };

  useLayoutEffect(() => {
    const added = rows.length - previousCount.current;
    const sentNow = outbox.length > previousOutbox.current;
    previousCount.current = rows.length;
    previousOutbox.current = outbox.length;
    if (added <= 0) return;
    if (atBottom || sentNow) scrollToEnd();
    else setUnseen((n) => n + added);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows.length, outbox.length]);

  useEffect(() => markPainted(rows.length), [rows.length]);

  useEffect(() => {
    scrollToEnd(); // start at the newest
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    setAtBottom(bottom);
    if (bottom) setUnseen(0);
  };

  return (
    <div className="timeline-wrap">
      <div className="timeline" ref={scroller} onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite">
        {rows.length === 0 ? <p className="empty">No messages yet. Say hello!</p> : null}
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((v) => {
            const row = rows[v.index];
            if (!row) return null;
            return (
              <div
                key={v.key}
                data-index={v.index}
                ref={virtualizer.measureElement}
                className="row"
                style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${v.start}px)` }}
              >
                <RowView row={row} me={me} onRetry={onRetry} onDiscard={onDiscard} />
              </div>
            );
          })}
        </div>
      </div>
      {unseen > 0 && !atBottom ? (
        <button type="button" className="jump" onClick={scrollToEnd}>
          {unseen} new message{unseen === 1 ? '' : 's'} ↓
        </button>
      ) : null}
    </div>
  );
}

function RowView({ row, me, onRetry, onDiscard }: { row: Row; me: string | null; onRetry: (id: string) => void; onDiscard: (id: string) => void }) {
  if (row.kind === 'day') {
    return (
      <div className="day" role="separator">
        <span>{row.label}</span>
      </div>
    );
  }
  if (row.kind === 'unsent') {
    const { entry } = row;
    const failed = entry.state === 'failed';
    return (
      <article className={`message own ${failed ? 'failed' : 'pending'}`} data-testid="unsent" data-state={entry.state}>
        <header>
          <strong>{me ?? 'me'}</strong>
          <span className="meta">{failed ? 'Not sent' : 'Sending…'}</span>
        </header>
        <MessageText text={entry.text} />
        {entry.state === 'failed' ? (
          <footer className="failure">
            <span role="alert">{entry.message}</span>
            <button type="button" onClick={() => onRetry(entry.clientId)}>
              Retry
            </button>
            <button type="button" onClick={() => onDiscard(entry.clientId)}>
              Discard
            </button>
          </footer>
        ) : null}
      </article>
    );
  }
  const { item } = row;
  if (item.kind === 'notice') {
    return (
      <p className="notice" role="note" data-testid="notice">
        {item.text}
      </p>
    );
  }
  if (item.kind === 'presence') {
    return (
      <p className="presence">
        {item.username} {item.joined ? 'joined' : 'left'}
      </p>
    );
  }
  const m = item.message;
  return (
    // A guest's message under my name is not mine: this app always joins with its key.
    <article className={`message${m.username === me && !m.guest ? ' own' : ''}`} data-testid="message">
      <header>
        <strong>{m.username}</strong>
        {m.guest ? <GuestMark /> : null}
        <time dateTime={m.timestamp} className="meta">
          {timeLabel(m.timestamp)}
        </time>
      </header>
      <MessageText text={m.text} />
    </article>
  );
}
