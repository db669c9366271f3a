// Performance marks for the desktop footprint script (scripts/footprint.sh reads them through
// WebDriver): when a join's history reached the page, and when rows were painted. Marks are
// diagnostics kept by the webview only, never sent anywhere; where the environment lacks the
// User Timing API (a test DOM), nothing happens.
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

/** Notes, at the next frame, that `rows` rows are on screen. */
export function markPainted(rows: number): void {
  if (rows === 0 || typeof requestAnimationFrame !== 'function') return;
  requestAnimationFrame(() => mark(ROWS_PAINTED, rows));
}
