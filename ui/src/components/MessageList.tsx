// The open conversation's timeline, virtualized. It follows the newest message unless the
// reader scrolled up, loads older pages at the top without moving what is on screen, places the
// "New messages" line, scrolls to a message asked for (a search result) and remembers where the
// reader was when the conversation is left.
import { useVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { dayLabel, itemDate, type TimelineItem } from '../lib/chatState';
import { useScrollAnchor } from '../hooks/useScrollAnchor';
import { markPainted } from '../lib/perfMarks';
import type { OutboxEntry } from '../types';
import { TimelineRow, type Row, type RowActions } from './TimelineRow';

const NEAR_BOTTOM_PX = 48;
const NEAR_TOP_PX = 200;
const HIGHLIGHT_MS = 2500;

/** Where the reader was in a conversation: at the newest message, or at a row. */
export interface ScrollMemory {
  atBottom: boolean;
  /** The row at the top of the view, and how far into it the view started. */
  anchorKey?: string;
  delta?: number;
}

export interface RowOptions {
  /** The "New messages" line goes before the first message after this `seq`. */
  dividerAfter?: number | null;
  hasMore?: boolean;
  loading?: boolean;
}

/** Rows whose key stays with them: the place to hold on to (days, gaps and the top may go). */
function keepsItsPlace(row: Row): boolean {
  return row.kind === 'unsent' || (row.kind === 'item' && row.item.kind !== 'gap');
}

export function buildRows(timeline: readonly TimelineItem[], outbox: readonly OutboxEntry[], options: RowOptions = {}): Row[] {
  const rows: Row[] = [];
  if (options.loading || options.hasMore) rows.push({ kind: 'top', key: 'top', loading: options.loading ?? false });
  let lastDay = '';
  let divider = options.dividerAfter ?? null;
  for (const item of timeline) {
    const label = dayLabel(itemDate(item));
    if (label !== lastDay) {
      rows.push({ kind: 'day', key: `d-${item.key}`, label });
      lastDay = label;
    }
    if (divider !== null && item.kind === 'message' && item.message.seq !== undefined && item.message.seq > divider) {
      rows.push({ kind: 'divider', key: 'new' });
      divider = null;
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

interface Props extends RowActions {
  room: string;
  timeline: TimelineItem[];
  outbox: OutboxEntry[];
  me: string | null;
  dividerAfter: number | null;
  hasMore: boolean;
  loading: boolean;
  /** A message to scroll to and flash (`token` tells one request from the next). */
  highlight: { seq: number; token: number } | null;
  /** Where the reader was when they last left this conversation. */
  saved?: ScrollMemory;
  onLeave: (memory: ScrollMemory) => void;
}

export function MessageList({ room, timeline, outbox, me, dividerAfter, hasMore, loading, highlight, saved, onLeave, ...actions }: Props) {
  const rows = useMemo(() => buildRows(timeline, outbox, { dividerAfter, hasMore, loading }), [timeline, outbox, dividerAfter, hasMore, loading]);
  const scroller = useRef<HTMLDivElement>(null);
  const [atBottom, setAtBottom] = useState(saved?.atBottom ?? true);
  const bottom = useRef(atBottom);
  const [unseen, setUnseen] = useState(0);
  const [flash, setFlash] = useState<number | null>(null);
  const handled = useRef<number | null>(null);
  const previousLast = useRef(rows[rows.length - 1]?.key);
  const previousCount = useRef(rows.length);
  const previousOutbox = useRef(outbox.length);

  // Rows added or removed above the view (an older page, a gap filled) leave what is on screen
  // where it was.
  const rowKeys = useMemo(() => rows.map((r) => r.key), [rows]);
  const keys = useRef(rowKeys);
  keys.current = rowKeys;
  const rowsNow = useRef(rows);
  rowsNow.current = rows;
  const instance = useRef<Virtualizer<HTMLDivElement, Element> | null>(null);
  const anchor = useScrollAnchor(scroller, instance, keys, (index) => {
    const row = rowsNow.current[index];
    return row !== undefined && keepsItsPlace(row);
  });

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 56,
    overscan: 10,
    initialRect: { width: 800, height: 600 },
    getItemKey: (index) => rows[index]?.key ?? index,
    useFlushSync: false,
    onChange: anchor.onChange,
  });
  instance.current = virtualizer;
  const noted = anchor.anchor;

  const scrollToEnd = () => {
    if (rows.length > 0) virtualizer.scrollToIndex(rows.length - 1, { align: 'end' });
    setUnseen(0);
  };

  // Start where the reader left off, else at the "New messages" line, else at the newest.
  useLayoutEffect(() => {
    const index = saved && !saved.atBottom ? rows.findIndex((r) => r.key === saved.anchorKey) : -1;
    const start = index >= 0 ? virtualizer.measurementsCache[index]?.start : undefined;
    if (start !== undefined) {
      virtualizer.scrollToOffset(start + (saved?.delta ?? 0));
      return;
    }
    const divider = saved ? -1 : rows.findIndex((r) => r.kind === 'divider');
    if (divider >= 0) virtualizer.scrollToIndex(divider, { align: 'start' });
    else scrollToEnd();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Remember the place when the conversation is left.
  const leave = useRef(onLeave);
  leave.current = onLeave;
  useLayoutEffect(
    () => () => {
      const place = noted.current;
      leave.current({ atBottom: bottom.current, anchorKey: place?.key, delta: place?.delta ?? 0 });
    },
    [virtualizer, noted],
  );

  useLayoutEffect(() => {
    anchor.restore(!bottom.current);
    const last = rows[rows.length - 1]?.key;
    const grew = rows.length - previousCount.current;
    const appended = last !== previousLast.current ? Math.max(1, grew) : 0;
    const sentNow = outbox.length > previousOutbox.current;
    previousLast.current = last;
    previousCount.current = rows.length;
    previousOutbox.current = outbox.length;
    if (appended === 0) {
      // Rows above (an older page): a reader at the newest message stays there.
      if (bottom.current && grew !== 0) scrollToEnd();
      return;
    }
    if (bottom.current || sentNow) scrollToEnd();
    else setUnseen((n) => n + appended);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows]);

  useEffect(() => markPainted(rows.length), [rows.length]);

  // Too little to scroll: the older page comes without waiting for the reader to scroll up.
  const { onLoadOlder } = actions;
  useEffect(() => {
    const el = scroller.current;
    if (el && hasMore && !loading && el.scrollHeight <= el.clientHeight) onLoadOlder();
  }, [hasMore, loading, rows.length, onLoadOlder]);

  // A message asked for: scroll to it once it is loaded, and flash it.
  useEffect(() => {
    if (!highlight || handled.current === highlight.token) return undefined;
    const index = rows.findIndex((r) => r.kind === 'item' && r.item.kind === 'message' && r.item.message.seq === highlight.seq);
    if (index < 0) return undefined;
    handled.current = highlight.token;
    virtualizer.scrollToIndex(index, { align: 'center' });
    setFlash(highlight.seq);
    const timer = setTimeout(() => setFlash(null), HIGHLIGHT_MS);
    return () => clearTimeout(timer);
  }, [highlight, rows, virtualizer]);

  const lastTop = useRef<number | null>(null);
  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    bottom.current = nearBottom;
    setAtBottom(nearBottom);
    if (nearBottom) setUnseen(0);
    anchor.onScroll();
    // Scrolled up to the top (not merely placed there while the list is set up).
    const up = lastTop.current !== null && el.scrollTop < lastTop.current;
    lastTop.current = el.scrollTop;
    if (up && el.scrollTop < NEAR_TOP_PX && hasMore && !loading) onLoadOlder();
  };

  return (
    <div className="timeline-wrap">
      <div className="timeline" ref={scroller} onScroll={onScroll} role="log" aria-label="Messages" aria-live="polite" tabIndex={0} data-room={room}>
        {rows.length === 0 ? <p className="empty">No messages yet. Say hello!</p> : null}
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((v) => {
            const row = rows[v.index];
            if (!row) return null;
            const seq = row.kind === 'item' && row.item.kind === 'message' ? row.item.message.seq : undefined;
            return (
              <div
                key={v.key}
                data-index={v.index}
                ref={virtualizer.measureElement}
                className="row"
                style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${v.start}px)` }}
              >
                <TimelineRow row={row} room={room} me={me} highlighted={seq !== undefined && seq === flash} {...actions} />
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
