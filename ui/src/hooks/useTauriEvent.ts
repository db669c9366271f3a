// Subscribes to one of the app's events (through `api`) for the component's lifetime. The
// latest handler is kept in a ref, so re-renders do not resubscribe (and miss events);
// unsubscribing is safe even when the component unmounts before `listen` has resolved.
import { useEffect, useRef } from 'react';

type Unlisten = () => void;

export function useTauriEvent<T>(
  subscribe: (handler: (payload: T) => void) => Promise<Unlisten>,
  handler: (payload: T) => void,
  onSubscribed?: () => void,
): void {
  const latest = useRef(handler);
  latest.current = handler;
  const subscribed = useRef(onSubscribed);
  subscribed.current = onSubscribed;
  const source = useRef(subscribe);
  useEffect(() => {
    let unlisten: Unlisten | undefined;
    let cancelled = false;
    void source.current((payload) => latest.current(payload)).then((stop) => {
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
