// Subscribes to the client's events for the component's lifetime. The latest handler is kept
// in a ref, so re-renders do not resubscribe (and miss events); unsubscribing is safe even when
// the component unmounts before `listen` has resolved.
import { useEffect, useRef } from 'react';
import { api } from '../api';
import type { ClientEvent } from '../types';

export function useClientEvents(handler: (event: ClientEvent) => void, onSubscribed?: () => void): void {
  const latest = useRef(handler);
  latest.current = handler;
  const subscribed = useRef(onSubscribed);
  subscribed.current = onSubscribed;
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let cancelled = false;
    void api.onClientEvent((event) => latest.current(event)).then((stop) => {
      if (cancelled) {
        stop();
      } else {
        unlisten = stop;
        subscribed.current?.();
      }
    });
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, []);
}
