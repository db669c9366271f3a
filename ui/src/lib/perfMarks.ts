// Performance marks for the desktop footprint script (scripts/footprint.sh reads them through
// WebDriver): when a join's history reached the page (its size), and when the open
// conversation's messages were painted (how many it holds: at most bounds.ts's OPEN_ITEMS,
// whatever arrived). Marks are diagnostics kept by the webview only, never sent anywhere; where
// the environment lacks the User Timing API (a test DOM), nothing happens.
import type { ClientEvent } from '../types';

export const HISTORY_RECEIVED = 'charla:history-received';
export const ROWS_PAINTED = 'charla:rows-painted';

function mark(name: string, detail: number): void {
  try {
    performance.mark(name, { detail });
  } catch {
    // No User Timing here: the marks are optional.
  }
}

/** Notes the arrival of a join's history (its size in `detail`). */
export function markEvent(event: ClientEvent): void {
  if (event.event === 'joined') mark(HISTORY_RECEIVED, event.history.length);
}

/** Notes, at the next frame, that the open conversation's list holding `messages` is painted. */
export function markPainted(messages: number): void {
  if (messages === 0 || typeof requestAnimationFrame !== 'function') return;
  requestAnimationFrame(() => mark(ROWS_PAINTED, messages));
}
