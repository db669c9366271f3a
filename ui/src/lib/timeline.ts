// One conversation's timeline: messages in `seq` order, with the lines between them (gaps,
// presence, the server's history starting over). Pure: merging a page of older messages, a
// replay or a live message keeps the order and shows each message once.
import type { ChatMessage } from '../types';

export type TimelineItem =
  | { kind: 'message'; key: string; message: ChatMessage }
  | { kind: 'presence'; key: string; username: string; joined: boolean; at: string }
  /** Messages `from..=to` not shown: still on the server (`kept`, they can be loaded) or gone. */
  | { kind: 'gap'; key: string; from: number; to: number; kept: boolean; at: string }
  /** A line of text; `reset` marks where the server's history started over. */
  | { kind: 'notice'; key: string; text: string; at: string; reset?: boolean };

/** Where an item sits in `seq` order; null for lines that stay where they were added. */
function anchorOf(item: TimelineItem): number | null {
  if (item.kind === 'message') return item.message.seq ?? null;
  // A gap sits between the message before `from` and the one at `from`.
  if (item.kind === 'gap') return item.from - 0.5;
  return null;
}

/** The first index of the current history (after the last "started over" line). */
export function segmentStart(timeline: readonly TimelineItem[]): number {
  for (let i = timeline.length - 1; i >= 0; i -= 1) {
    const item = timeline[i];
    if (item?.kind === 'notice' && item.reset) return i + 1;
  }
  return 0;
}

/**
 * The oldest and newest `seq` of the current history's messages. `start`: where the current
 * history starts, when known (0 when the history never started over), to save looking for it.
 */
export function seqRange(timeline: readonly TimelineItem[], start = segmentStart(timeline)): { oldest?: number; newest?: number } {
  let oldest: number | undefined;
  let newest: number | undefined;
  for (let i = start; i < timeline.length; i += 1) {
    const item = timeline[i];
    if (item?.kind === 'message' && item.message.seq !== undefined) {
      oldest = item.message.seq;
      break;
    }
  }
  for (let i = timeline.length - 1; i >= start; i -= 1) {
    const item = timeline[i];
    if (item?.kind === 'message' && item.message.seq !== undefined) {
      newest = item.message.seq;
      break;
    }
  }
  return { oldest, newest };
}

/**
 * Adds anchored items (messages with a `seq`, gaps) to the current history in order, leaving
 * out messages already there and gaps already drawn. Lines without an anchor stay after the
 * item they followed (or, at the start, before the item they preceded).
 */
export function mergeAnchored(timeline: readonly TimelineItem[], fresh: readonly TimelineItem[], start = segmentStart(timeline)): TimelineItem[] {
  if (fresh.length === 0) return timeline as TimelineItem[];
  const incoming = [...fresh].sort((a, b) => (anchorOf(a) ?? 0) - (anchorOf(b) ?? 0));
  const keys = new Set<string>();
  if (incoming.some((item) => item.kind === 'gap')) {
    for (let i = start; i < timeline.length; i += 1) {
      const item = timeline[i];
      if (item && item.kind === 'gap') keys.add(item.key);
    }
  }

  // The common case, a live message: everything new comes after the newest anchored item.
  let lastAnchor = -Infinity;
  for (let i = timeline.length - 1; i >= start; i -= 1) {
    const a = anchorOf(timeline[i] as TimelineItem);
    if (a !== null) {
      lastAnchor = a;
      break;
    }
  }
  const unique = dedupe(incoming).filter((item) => !keys.has(item.key));
  if (unique.length === 0) return timeline as TimelineItem[];
  if ((anchorOf(unique[0] as TimelineItem) ?? 0) > lastAnchor) return [...timeline, ...unique];

  // Otherwise a merge: each unanchored line takes the anchor of the item before it.
  const segment = timeline.slice(start);
  const effective = effectiveAnchors(segment);
  const out: TimelineItem[] = timeline.slice(0, start);
  let j = 0;
  segment.forEach((item, i) => {
    const at = effective[i] ?? -Infinity;
    while (j < unique.length && (anchorOf(unique[j] as TimelineItem) ?? 0) < at) out.push(unique[j++] as TimelineItem);
    if (item.kind === 'message' && item.message.seq !== undefined) {
      // Already shown: the copy that came again is dropped.
      while (j < unique.length) {
        const next = unique[j] as TimelineItem;
        if (next.kind === 'message' && next.message.seq === item.message.seq) j += 1;
        else break;
      }
    }
    out.push(item);
  });
  while (j < unique.length) out.push(unique[j++] as TimelineItem);
  return out;
}

function dedupe(sorted: TimelineItem[]): TimelineItem[] {
  const out: TimelineItem[] = [];
  for (const item of sorted) {
    const last = out[out.length - 1];
    if (last && last.key === item.key) continue;
    out.push(item);
  }
  return out;
}

function effectiveAnchors(segment: readonly TimelineItem[]): number[] {
  const own = segment.map(anchorOf);
  const next: (number | null)[] = new Array<number | null>(segment.length).fill(null);
  let following: number | null = null;
  for (let i = segment.length - 1; i >= 0; i -= 1) {
    next[i] = following;
    const a = own[i];
    if (a !== null && a !== undefined) following = a;
  }
  let previous: number | null = null;
  return own.map((a, i) => {
    if (a !== null && a !== undefined) {
      previous = a;
      return a;
    }
    return previous ?? next[i] ?? -Infinity;
  });
}

/**
 * A page of older messages arrived, covering `coveredFrom..before` (`before` exclusive): gaps of
 * messages still on the server shrink to what the page did not cover, or go. Apply it before
 * merging the page, so the page's messages find the gaps' new places.
 */
export function coverGaps(timeline: readonly TimelineItem[], coveredFrom: number, before: number, start = segmentStart(timeline)): TimelineItem[] {
  let changed = false;
  const out: TimelineItem[] = [];
  timeline.forEach((item, i) => {
    if (i < start || item.kind !== 'gap' || !item.kept || item.to < coveredFrom || item.from >= before) {
      out.push(item);
      return;
    }
    changed = true;
    if (item.from < coveredFrom) out.push({ ...item, to: coveredFrom - 1 });
    if (item.to >= before) out.push({ ...item, key: `${item.key}+`, from: before });
  });
  return changed ? out : (timeline as TimelineItem[]);
}

/** The newest `limit` items (messages and lines alike). */
export function keepNewest(timeline: readonly TimelineItem[], limit: number): TimelineItem[] {
  return timeline.length <= limit ? (timeline as TimelineItem[]) : timeline.slice(timeline.length - limit);
}

/** The oldest `limit` items (messages and lines alike). */
export function keepOldest(timeline: readonly TimelineItem[], limit: number): TimelineItem[] {
  return timeline.length <= limit ? (timeline as TimelineItem[]) : timeline.slice(0, limit);
}

export function messageCount(timeline: readonly TimelineItem[]): number {
  let n = 0;
  for (const item of timeline) if (item.kind === 'message') n += 1;
  return n;
}
