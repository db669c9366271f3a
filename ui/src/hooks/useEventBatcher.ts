// Events that arrive together (a burst of messages, a reconnect's history, a busy room) are
// applied in one render: they are collected for one short window and handed over as a batch.
// Rendering once per message made a burst of 1,000 cost 1,000 renders of the whole list.
import { useCallback, useEffect, useRef } from 'react';

export function useEventBatcher<T>(apply: (batch: T[]) => void, windowMs = 16): (item: T) => void {
  const pending = useRef<T[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latest = useRef(apply);
  latest.current = apply;
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
    },
    [],
  );
  return useCallback(
    (item: T) => {
      pending.current.push(item);
      if (timer.current !== null) return;
      timer.current = setTimeout(() => {
        timer.current = null;
        const batch = pending.current;
        pending.current = [];
        latest.current(batch);
      }, windowMs);
    },
    [windowMs],
  );
}
