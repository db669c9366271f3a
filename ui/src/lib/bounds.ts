// How much of each conversation's timeline the window keeps, counted in items (messages and
// lines alike, presence lines included): the open conversation at most OPEN_ITEMS, the others
// their newest KEEP_ITEMS. In the open one, what arrives at the newest end pushes the oldest
// out (they can be paged back in); a page of older messages past the bound pushes the newest
// out, and they are marked missing (the newest page is loaded again to return to them). Pure.
import { withFlags, type Conversation } from './conversations';
import { keepNewest, keepOldest } from './timeline';

export const OPEN_ITEMS = 3000;
export const KEEP_ITEMS = 500;
/** What arrives trims in steps of this many items, not once per message (each trim copies). */
const STEP = 50;

function dropOldest(c: Conversation, keep: number): Conversation {
  return withFlags({ ...c, timeline: keepNewest(c.timeline, keep), complete: false });
}

/** Something was added at the newest end (`open`: of the open conversation). */
export function boundNewest(c: Conversation, open: boolean): Conversation {
  const limit = open ? OPEN_ITEMS : KEEP_ITEMS;
  return c.timeline.length <= limit ? c : dropOldest(c, limit - STEP);
}

/** A page of older messages was added (`open`: to the open conversation). */
export function boundOlderPage(c: Conversation, open: boolean): Conversation {
  if (!open) return c.timeline.length <= KEEP_ITEMS ? c : dropOldest(c, KEEP_ITEMS);
  if (c.timeline.length <= OPEN_ITEMS) return c;
  return { ...c, timeline: keepOldest(c.timeline, OPEN_ITEMS), newerMissing: true };
}

/**
 * The conversation is no longer open: it keeps its newest KEEP_ITEMS. One whose newest were
 * missing keeps nothing: opened again, it loads its newest page.
 */
export function boundLeft(c: Conversation): Conversation {
  if (c.newerMissing) return emptied(c);
  return c.timeline.length <= KEEP_ITEMS ? c : dropOldest(c, KEEP_ITEMS);
}

/** Nothing loaded (the counts and facts stay). */
export function emptied(c: Conversation): Conversation {
  return withFlags({ ...c, timeline: [], newerMissing: false, complete: false, restarted: false });
}
