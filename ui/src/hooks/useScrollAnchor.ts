// Keeps what the reader sees in place when rows are added or removed above it (an older page
// arrives, a gap is filled): the first row in view whose key stays with it is noted, and when it
// moves, the list scrolls so that it is where it was, and holds it there while the new rows
// above are measured (their real heights replace the estimates a moment later). It reads the
// rows' keys where they are (no copy of them per render).
import { useCallback, useRef, type RefObject } from 'react';
import type { Virtualizer } from '@tanstack/react-virtual';

export interface Anchor {
  key: string;
  index: number;
  /** How far into the row the view starts. */
  delta: number;
}

/** How long a moved row is held in place while sizes settle, unless the reader scrolls. */
const HOLD_MS = 1000;

export function useScrollAnchor(
  scroller: RefObject<HTMLElement | null>,
  virtualizer: RefObject<Virtualizer<HTMLDivElement, Element> | null>,
  rows: RefObject<readonly { key: string }[]>,
  keepsItsPlace: (index: number) => boolean,
) {
  const indexOf = (key: string) => rows.current.findIndex((r) => r.key === key);

  const anchor = useRef<Anchor | null>(null);
  const held = useRef<{ key: string; delta: number; until: number; wrote: number | null } | null>(null);

  const record = () => {
    const v = virtualizer.current;
    const top = scroller.current?.scrollTop ?? 0;
    anchor.current = null;
    if (!v) return;
    // From the layout of every row, not the rows rendered: those may not have caught up yet.
    const first = v.getVirtualItemForOffset(top);
    for (let index = first?.index ?? rows.current.length; index < rows.current.length; index += 1) {
      const at = v.measurementsCache[index];
      const key = rows.current[index]?.key;
      if (!at || key === undefined) return;
      if (at.end <= top || !keepsItsPlace(index)) continue;
      anchor.current = { key, index, delta: top - at.start };
      return;
    }
  };

  const hold = () => {
    const h = held.current;
    const v = virtualizer.current;
    const el = scroller.current;
    if (!h || !v || !el) return;
    if (Date.now() > h.until) {
      held.current = null;
      v.shouldAdjustScrollPositionOnItemSizeChange = undefined;
      return;
    }
    const index = indexOf(h.key);
    const at = index >= 0 ? v.measurementsCache[index] : undefined;
    if (!at) return;
    const want = Math.max(0, Math.round(at.start + h.delta));
    if (Math.abs(el.scrollTop - want) > 1) {
      h.wrote = want;
      el.scrollTop = want;
    }
  };

  /** After the rows changed: puts the noted row back where it was if it moved. */
  const restore = (active: boolean) => {
    const a = anchor.current;
    const v = virtualizer.current;
    if (active && a && v && rows.current[a.index]?.key !== a.key) {
      const index = indexOf(a.key);
      if (index >= 0) {
        held.current = { key: a.key, delta: a.delta, until: Date.now() + HOLD_MS, wrote: null };
        // While held, this is the only thing that moves the view.
        v.shouldAdjustScrollPositionOnItemSizeChange = () => false;
        hold();
      }
    }
    record();
  };

  /** Lets go of a held row: the view is to go elsewhere (a message asked for, the newest). */
  const release = useCallback(() => {
    held.current = null;
    if (virtualizer.current) virtualizer.current.shouldAdjustScrollPositionOnItemSizeChange = undefined;
  }, [virtualizer]);

  /** The list scrolled: the reader's own scroll lets go of a held row. */
  const onScroll = () => {
    const h = held.current;
    const el = scroller.current;
    if (h && el && (h.wrote === null || Math.abs(el.scrollTop - h.wrote) > 1)) release();
    if (!held.current) record();
  };

  return { anchor, restore, release, onScroll, onChange: hold };
}
