// Living messages as the window shows them: how a reaction and a change are named, which
// message Up in an empty composer edits, how many are pinned, and the emoji used recently
// (kept on this device). Pure, except the recent list's storage.
import type { ChangeOp, ChatMessage, Reaction } from '../types';
import { isOwn } from './attention';
import type { TimelineItem } from './timeline';

/** "👍 2: ana, bo": what a reaction's button says on hover and to a screen reader. */
export function reactionLabel(r: Reaction): string {
  return `${r.emoji} ${r.names.length}: ${r.names.join(', ')}`;
}

/** What a change was, for the line that says it failed. */
export function changeLabel(change: ChangeOp): string {
  switch (change.op) {
    case 'edit':
      return 'Edit';
    case 'delete':
      return 'Delete';
    case 'react':
      return change.on ? `Reaction ${change.emoji}` : `Taking back ${change.emoji}`;
    case 'pin':
      return change.pinned ? 'Pin' : 'Unpin';
  }
}

/** The user's newest message that can still be edited (Up in an empty composer edits it). */
export function lastEditable(timeline: readonly TimelineItem[]): ChatMessage | null {
  for (let i = timeline.length - 1; i >= 0; i -= 1) {
    const item = timeline[i];
    if (item?.kind === 'message' && item.message.seq !== undefined && isOwn(item.message) && !item.message.deleted) return item.message;
  }
  return null;
}

/** How many of the loaded messages are pinned. */
export function pinnedCount(timeline: readonly TimelineItem[]): number {
  let n = 0;
  for (const item of timeline) if (item.kind === 'message' && item.message.pinned && !item.message.deleted) n += 1;
  return n;
}

const RECENT_KEY = 'charla:recent-emoji';
const RECENT_MAX = 16;
/** Shown until enough have been used. */
export const DEFAULT_EMOJI = ['👍', '❤️', '😂', '🎉', '👀', '🙏', '✅', '😮'];

/** The emoji used most recently, newest first, filled up with the defaults. */
export function recentEmoji(limit = 8): string[] {
  let stored: string[] = [];
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    if (Array.isArray(raw)) stored = raw.filter((e): e is string => typeof e === 'string');
  } catch {
    // Nothing kept, or storage refused: the defaults.
  }
  const out = [...stored];
  for (const e of DEFAULT_EMOJI) if (!out.includes(e)) out.push(e);
  return out.slice(0, limit);
}

/** Notes an emoji as used now. */
export function noteEmoji(emoji: string): void {
  let stored: string[] = [];
  try {
    const raw: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    if (Array.isArray(raw)) stored = raw.filter((e): e is string => typeof e === 'string');
    localStorage.setItem(RECENT_KEY, JSON.stringify([emoji, ...stored.filter((e) => e !== emoji)].slice(0, RECENT_MAX)));
  } catch {
    // No storage: the list is not kept.
  }
}
