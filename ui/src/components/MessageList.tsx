// The open conversation's timeline, virtualized. It follows the newest message until the reader
// scrolls up (their input decides, not where a scroll landed; their own message brings them back),
// loads older pages at the top without moving what is on screen, places the "New messages" line,
// scrolls to a message asked for (a search result) and holds it there, and remembers where the
// reader was when the conversation is left. It is a log that is not read out as it changes
// (Arrivals announces new messages): history pages and re-renders would flood a screen reader.
import { useVirtualizer, type Virtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useReaderScroll } from '../hooks/useReaderScroll';
import { useScrollAnchor } from '../hooks/useScrollAnchor';
import { useViewPin, type Pin } from '../hooks/useViewPin';
import { dayLabeller, itemDate } from '../lib/dates';
import { markPainted } from '../lib/perfMarks';
import { messageCount, type TimelineItem } from '../lib/timeline';
import type { OutboxChange, OutboxEntry } from '../types';
import { ROW_ACTIONS, TimelineRow, type Row, type RowActions } from './TimelineRow';

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
  /** The newest messages are not loaded: the list ends with a way back to them. */
  newerMissing?: boolean;
  loading?: boolean;
}

/**
 * A row's height before it is measured: a one-line message measures 68 px in the window, a day
 * or a line about someone less. Only a first guess (the view is held where it belongs once
 * rows are measured), but a close one keeps that correction small.
 */
function estimatedHeight(row: Row | undefined): number {
  return row?.kind === 'unsent' || (row?.kind === 'item' && row.item.kind === 'message') ? 68 : 40;
}

/** Rows whose key stays with them: the place to hold on to (days, gaps and the ends may go). */
function keepsItsPlace(row: Row): boolean {
  return row.kind === 'unsent' || (row.kind === 'item' && row.item.kind !== 'gap');
}

export function buildRows(timeline: readonly TimelineItem[], outbox: readonly OutboxEntry[], options: RowOptions = {}): Row[] {
  const rows: Row[] = [];
  const loading = options.loading ?? false;
  if (loading || options.hasMore) rows.push({ kind: 'top', key: 'top', loading });
  const dayOf = dayLabeller();
  let lastDay = '';
  let divider = options.dividerAfter ?? null;
  for (const item of timeline) {
    const label = dayOf(itemDate(item));
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
  if (options.newerMissing) {
    rows.push({ kind: 'newer', key: 'newer', loading });
    return rows;
  }
  if (outbox.length === 0) return rows;
  // A message already in the conversation (its echo came back) is not shown twice while its
  // acknowledgement (sent once it is stored) is on the way.
  const shown = new Set<string>();
  for (const item of timeline) if (item.kind === 'message' && item.message.clientId) shown.add(item.message.clientId);
  for (const entry of outbox) {
    if (!shown.has(entry.clientId)) rows.push({ kind: 'unsent', key: `o-${entry.clientId}`, entry });
  }
  return rows;
}

/**
 * Where the list starts: at the "New messages" line when there is one (unread messages came
 * since the reader was here), else where they left off, else at the newest.
 */
export function startAt(rows: readonly Row[], saved: ScrollMemory | undefined): { index: number; delta: number } | 'end' {
  const divider = rows.findIndex((r) => r.kind === 'divider');
  if (divider >= 0) return { index: divider, delta: 0 };
  const index = saved && !saved.atBottom ? rows.findIndex((r) => r.key === saved.anchorKey) : -1;
  return index >= 0 ? { index, delta: saved?.delta ?? 0 } : 'end';
}

interface Props extends RowActions {
  room: string;
  /** How the conversation is called: `#ops`, `bob`. */
  title: string;
  timeline: TimelineItem[];
  outbox: OutboxEntry[];
  /** The conversation's changes to messages that the server refused for good. */
  failedChanges: OutboxChange[];
  /** The `seq` of the message being edited in place. */
  editing: number | null;
  me: string | null;
  dividerAfter: number | null;
  hasMore: boolean;
  newerMissing: boolean;
  loading: boolean;
  /** A message to scroll to and flash (`token` tells one request from the next). */
  highlight: { seq: number; token: number } | null;
  /** The message asked for was scrolled to: it is not asked for again. */
  onHighlighted: (token: number) => void;
  /** Counts the messages the reader sent: each brings the view to the newest. */
  sent: number;
  /** Where the reader was when they last left this conversation. */
  saved?: ScrollMemory;
  onLeave: (memory: ScrollMemory) => void;
}

export function MessageList(props: Props) {
  const { room, title, timeline, outbox, failedChanges, editing, me, dividerAfter, hasMore, newerMissing, loading, highlight, onHighlighted, sent, saved, onLeave, ...actions } = props;
  const rows = useMemo(
    () => buildRows(timeline, outbox, { dividerAfter, hasMore, newerMissing, loading }),
    [timeline, outbox, dividerAfter, hasMore, newerMissing, loading],
  );
  const messages = useMemo(() => messageCount(timeline), [timeline]);
  const failures = useMemo(() => {
    const bySeq = new Map<number, OutboxChange>();
    for (const change of failedChanges) if ('seq' in change.target) bySeq.set(change.target.seq, change);
    return bySeq;
  }, [failedChanges]);
  const scroller = useRef<HTMLDivElement>(null);
  /** The reader asked for the newest while they are not loaded: the list goes to the end when they come. */
  const wantNewest = useRef(false);
  /** Newest pages asked for by one request of the reader's (messages may come meanwhile). */
  const tries = useRef(0);
  const loadingSeen = useRef(false);
  const [unseen, setUnseen] = useState(0);
  const [flash, setFlash] = useState<number | null>(null);
  const flashTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const handled = useRef<number | null>(null);
  const previousLast = useRef(rows[rows.length - 1]?.key);
  const previousCount = useRef(rows.length);
  const sentSeen = useRef(sent);

  // Rows added or removed above the view (an older page, a gap filled) leave what is on screen
  // where it was.
  const rowsNow = useRef(rows);
  rowsNow.current = rows;
  const instance = useRef<Virtualizer<HTMLDivElement, Element> | null>(null);
  const anchor = useScrollAnchor(scroller, instance, rowsNow, (index) => {
    const row = rowsNow.current[index];
    return row !== undefined && keepsItsPlace(row);
  });

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: (index) => estimatedHeight(rowsNow.current[index]),
    overscan: 10,
    initialRect: { width: 800, height: 600 },
    getItemKey: (index) => rowsNow.current[index]?.key ?? index,
    useFlushSync: false,
    onChange: anchor.onChange,
  });
  instance.current = virtualizer;
  const noted = anchor.anchor;

  // After the virtualizer: its layout effect writes the offset it knows when it starts, and the
  // pin's, run after it, puts the view where it belongs.
  const [startPin] = useState<Pin>(() => (startAt(rows, saved) === 'end' ? 'end' : null));
  const view = useViewPin(scroller, instance, rowsNow, startPin, !newerMissing);
  /** Pins the view (or lets it go). A row held in place as rows came above gives way to a pin. */
  const { release } = anchor;
  const { set: setPin } = view;
  const pinTo = useCallback(
    (pin: Pin) => {
      if (pin !== null) release();
      setPin(pin);
    },
    [release, setPin],
  );
  const readerScrolled = useReaderScroll(scroller, {
    onUp: () => pinTo(null),
    // A message asked for is held until the reader moves the view.
    onInput: () => {
      if (view.pin.current !== 'end') pinTo(null);
    },
  });

  const scrollToEnd = () => {
    pinTo('end');
    setUnseen(0);
  };

  const toNewest = () => {
    if (!newerMissing) {
      scrollToEnd();
      return;
    }
    wantNewest.current = true;
    tries.current = 1;
    loadingSeen.current = false;
    setUnseen(0);
    actions.onLoadNewest();
  };

  useLayoutEffect(() => {
    const start = startAt(rows, saved);
    if (start === 'end') return;
    if (rows[start.index]?.kind === 'divider') virtualizer.scrollToIndex(start.index, { align: 'start' });
    else virtualizer.scrollToOffset((virtualizer.measurementsCache[start.index]?.start ?? 0) + start.delta);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Remember the place when the conversation is left.
  const leave = useRef(onLeave);
  leave.current = onLeave;
  useLayoutEffect(
    () => () => {
      const place = noted.current;
      leave.current({ atBottom: view.pin.current === 'end', anchorKey: place?.key, delta: place?.delta ?? 0 });
    },
    [virtualizer, noted, view.pin],
  );

  useLayoutEffect(() => {
    // Only a view nothing holds keeps its rows in place (a pinned one goes where it is pinned).
    anchor.restore(view.pin.current === null);
    const last = rows[rows.length - 1];
    const grew = rows.length - previousCount.current;
    const appended = last?.key !== previousLast.current && (last?.kind === 'item' || last?.kind === 'unsent') ? Math.max(1, grew) : 0;
    previousLast.current = last?.key;
    previousCount.current = rows.length;
    if (wantNewest.current) {
      if (!newerMissing) {
        wantNewest.current = false;
        scrollToEnd();
      } else if (loading) {
        loadingSeen.current = true;
      } else if (loadingSeen.current) {
        // The newest page came, but messages came meanwhile (not in it): again, a few times.
        loadingSeen.current = false;
        tries.current += 1;
        if (tries.current <= 3) actions.onLoadNewest();
        else wantNewest.current = false;
      }
      return;
    }
    // Followed, new messages are in view (the pin holds the end); otherwise they are counted.
    if (appended > 0 && view.pin.current !== 'end') setUnseen((n) => n + appended);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows]);

  // The reader's own message always brings the view to the newest (loaded first when older
  // messages are shown). Told by the composer, not read from the rows: its echo may come in
  // the same batch as its outbox entry, which then never shows.
  useLayoutEffect(() => {
    if (sent === sentSeen.current) return;
    sentSeen.current = sent;
    if (!wantNewest.current) toNewest();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sent]);

  // How many messages the open conversation holds, once painted (the footprint benchmark).
  useEffect(() => markPainted(messages), [messages]);

  // Too little to scroll: the older page comes without waiting for the reader to scroll up.
  const { onLoadOlder } = actions;
  useEffect(() => {
    const el = scroller.current;
    if (el && hasMore && !loading && el.scrollHeight <= el.clientHeight) onLoadOlder();
  }, [hasMore, loading, rows.length, onLoadOlder]);

  // A message asked for: scroll to it once it is loaded, flash it, and say it was done (so it
  // is not done again when the conversation is opened later: its place is restored then).
  useEffect(() => () => clearTimeout(flashTimer.current), []);
  useEffect(() => {
    if (!highlight || handled.current === highlight.token) return;
    const index = rows.findIndex((r) => r.kind === 'item' && r.item.kind === 'message' && r.item.message.seq === highlight.seq);
    if (index < 0) return;
    handled.current = highlight.token;
    const key = rows[index]?.key;
    if (key !== undefined) pinTo({ key });
    setFlash(highlight.seq);
    // Not tied to the rows: a message arriving meanwhile does not leave the flash on.
    clearTimeout(flashTimer.current);
    flashTimer.current = setTimeout(() => setFlash(null), HIGHLIGHT_MS);
    onHighlighted(highlight.token);
  }, [highlight, rows, pinTo, onHighlighted]);

  // A message being edited that is not on screen (Up in the composer edits the last one of the
  // user's, which may be far up) is brought into view and held there.
  useEffect(() => {
    if (editing === null) return;
    const index = rows.findIndex((r) => r.kind === 'item' && r.item.kind === 'message' && r.item.message.seq === editing);
    const key = rows[index]?.key;
    if (key === undefined || virtualizer.getVirtualItems().some((v) => v.index === index)) return;
    pinTo({ key });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [editing]);

  const lastTop = useRef<number | null>(null);
  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const up = lastTop.current !== null && el.scrollTop < lastTop.current;
    lastTop.current = el.scrollTop;
    // The reader came back down to the newest: the list follows it again. (A scroll of the
    // list's own never decides this: it may land short of an end that measuring moved. Nor does
    // one of theirs going up, still near the end as it starts.)
    const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    const reader = readerScrolled(up);
    if (reader && !up && nearBottom && !newerMissing && view.pin.current !== 'end') scrollToEnd();
    anchor.onScroll();
    // Scrolled up to the top (not merely placed there while the list is set up).
    if (up && el.scrollTop < NEAR_TOP_PX && hasMore && !loading) onLoadOlder();
  };

  // Stable for the rows (which re-render only when what they show changes); they call the
  // latest handlers.
  const latest = useRef({ ...actions, onLoadNewest: toNewest });
  latest.current = { ...actions, onLoadNewest: toNewest };
  const rowActions = useMemo(() => {
    const forward: Record<string, unknown> = {};
    for (const k of ROW_ACTIONS) forward[k] = (...args: unknown[]) => (latest.current[k] as (...a: unknown[]) => void)(...args);
    return forward as unknown as RowActions;
  }, []);
  const jump = newerMissing ? 'Jump to newest ↓' : unseen > 0 && !view.following ? `${unseen} new message${unseen === 1 ? '' : 's'} ↓` : null;
  return (
    <div className="timeline-wrap">
      <div
        className="timeline"
        ref={scroller}
        onScroll={onScroll}
        role="log"
        aria-label={`Messages in ${title}`}
        aria-live="off"
        tabIndex={0}
        data-room={room}
      >
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
                <TimelineRow
                  row={row}
                  room={room}
                  me={me}
                  highlighted={seq !== undefined && seq === flash}
                  editing={seq !== undefined && seq === editing}
                  failure={seq !== undefined ? failures.get(seq) : undefined}
                  {...rowActions}
                />
              </div>
            );
          })}
        </div>
      </div>
      {jump ? (
        <button type="button" className="jump" onClick={toNewest} disabled={newerMissing && loading}>
          {jump}
        </button>
      ) : null}
    </div>
  );
}
