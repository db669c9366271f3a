// Reads out, politely, the newest message from someone else in the open conversation ("bob:
// hello"). The timeline is not a live region (its history pages and re-renders would be read
// out too): this visually hidden line is.
import type { Arrival } from '../lib/chatState';

export function Arrivals({ arrival, room }: { arrival: Arrival | null; room: string }) {
  const heard = arrival?.room === room ? arrival : null;
  return (
    <div className="sr-only" aria-live="polite" aria-atomic="true" data-testid="arrivals">
      {/* A new element each time, so the same words said twice are read twice. */}
      {heard ? (
        <span key={heard.n}>
          <bdi>{heard.username}</bdi>: <bdi>{heard.text}</bdi>
        </span>
      ) : null}
    </div>
  );
}
