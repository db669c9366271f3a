// Where the timeline's view is held: at the end (the list follows the newest message), on one
// row (a message asked for, centred), or nowhere (where the reader put it). It is held again
// after every render, so rows measured taller or shorter than estimated, rows added, and a
// window or composer resized all leave it where it is pinned: one scroll to an estimated end
// lands short, and holding is what gets it there.
import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import type { Virtualizer } from '@tanstack/react-virtual';

export type Pin = 'end' | { key: string } | null;

export function useViewPin(
  scroller: RefObject<HTMLElement | null>,
  virtualizer: RefObject<Virtualizer<HTMLDivElement, Element> | null>,
  rows: RefObject<readonly { key: string }[]>,
  initial: Pin,
  /** The end of the list is the newest message (false while the newest are not loaded). */
  endIsNewest: boolean,
) {
  const pin = useRef<Pin>(initial);
  const [following, setFollowing] = useState(initial === 'end');
  const newest = useRef(endIsNewest);
  newest.current = endIsNewest;

  const hold = useCallback(() => {
    const el = scroller.current;
    const v = virtualizer.current;
    const p = pin.current;
    if (!el || !v || p === null) return;
    const max = el.scrollHeight - el.clientHeight;
    let want: number;
    if (p === 'end') {
      if (!newest.current) return;
      want = max;
    } else {
      const index = rows.current.findIndex((r) => r.key === p.key);
      const offset = index >= 0 ? v.getOffsetForIndex(index, 'center') : undefined;
      if (!offset) return;
      want = offset[0];
    }
    want = Math.round(Math.max(0, Math.min(max, want)));
    if (Math.abs(el.scrollTop - want) > 1) el.scrollTo({ top: want });
  }, [scroller, virtualizer, rows]);

  const set = useCallback(
    (next: Pin) => {
      pin.current = next;
      setFollowing(next === 'end');
      hold();
    },
    [hold],
  );

  useLayoutEffect(() => {
    const el = scroller.current;
    // Nothing to scroll: the reader sees the newest, and the list follows it as it grows.
    if (pin.current === null && el && newest.current && el.scrollHeight <= el.clientHeight) set('end');
    else hold();
  });

  return { pin, following, set };
}
