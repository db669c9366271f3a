// One conversation (a room or a DM) as the window keeps it: what the server says of it, its
// counts, its timeline. Pure and unit-tested. The counting is the tray's (src-tauri/src/counts.rs):
// the server's numbers first (a join's room states, every read marker), then each message newer
// than the newest `seq` known (every message without a `seq`), not the user's own, in a
// conversation not in front of the user, adds one unread (and one mention when it names the
// user); both copies run rules.cases.json's counting cases. Whose a message is and whom it
// names the app says on each message (attention.ts). How much of a timeline is kept is
// bounds.ts's.
import type { ChatMessage, HistoryPage, ReadMarker, RoomInfo, RoomKind, RoomState } from '../types';
import { isOwn, mentionsMe } from './attention';
import { coverGaps, mergeAnchored, segmentStart, seqRange, type TimelineItem } from './timeline';

export const GENERAL = 'general';

export interface Conversation {
  room: string;
  kind: RoomKind;
  topic: string;
  members: string[];
  /** The newest `seq` known: messages up to it are counted already. */
  lastSeq: number;
  /** The read marker: the newest `seq` read. */
  read: number;
  unread: number;
  mentions: number;
  /** The read marker came from the server (a join's room states, a read marker, entering). */
  markerKnown: boolean;
  timeline: TimelineItem[];
  typing: string[];
  /** Older messages can be loaded. */
  hasMore: boolean;
  /** Nothing exists before the oldest loaded message. */
  complete: boolean;
  /** A page of older messages is on its way. */
  loading: boolean;
  /** Numbers the keys of lines and of messages without a `seq`. */
  nextLocal: number;
  /** The server's history started over while this was shown (its timeline has two numberings). */
  restarted: boolean;
  /**
   * Newer messages than the newest loaded exist but are not in the timeline (its newest end
   * was dropped to keep the bound while paging back): live ones are counted, not added, until
   * the newest page is loaded again.
   */
  newerMissing: boolean;
}

export function newConversation(room: string, from: Partial<Conversation> = {}): Conversation {
  return withFlags({
    room,
    kind: room.startsWith('dm:') ? 'dm' : 'room',
    topic: '',
    members: [],
    lastSeq: 0,
    read: 0,
    unread: 0,
    mentions: 0,
    markerKnown: false,
    timeline: [],
    typing: [],
    hasMore: false,
    complete: false,
    loading: false,
    nextLocal: 0,
    restarted: false,
    newerMissing: false,
    ...from,
  });
}

/** The conversation a message or an event names: `general` when it names none. */
export function roomOf(value: { room?: string | null }): string {
  return value.room ?? GENERAL;
}

/** Where the current numbering starts in the timeline (without looking when it never restarted). */
function start(c: Conversation): number {
  return c.restarted ? segmentStart(c.timeline) : 0;
}

/** Recomputes `hasMore` from the oldest loaded message, the newest known and `complete`. */
export function withFlags(c: Conversation): Conversation {
  const { oldest } = seqRange(c.timeline, start(c));
  const hasMore = !c.complete && (oldest !== undefined ? oldest > 1 : c.lastSeq > 0);
  return hasMore === c.hasMore ? c : { ...c, hasMore };
}

function messageKey(m: ChatMessage, generation: number): string {
  const local = `s${m.seq ?? 0}`;
  return generation === 0 ? local : `${generation}:${local}`;
}

/** Adds messages to the timeline, each once, in order; their authors stop typing. */
export function addMessages(c: Conversation, messages: ChatMessage[], generation: number): Conversation {
  if (messages.length === 0) return c;
  const anchored: TimelineItem[] = [];
  const unanchored: TimelineItem[] = [];
  let nextLocal = c.nextLocal;
  for (const message of messages) {
    // The tutorial's server gives no seq, never sends a message twice, and may give two
    // messages one id: those are all new, keyed by their arrival.
    if (message.seq === undefined) unanchored.push({ kind: 'message', key: `i${message.id}@${nextLocal++}`, message });
    else anchored.push({ kind: 'message', key: messageKey(message, generation), message });
  }
  let timeline = mergeAnchored(c.timeline, anchored, start(c));
  if (unanchored.length > 0) timeline = [...timeline, ...unanchored];
  if (timeline === c.timeline) return c;
  const authors = new Set(messages.map((m) => m.username));
  const typing = c.typing.some((u) => authors.has(u)) ? c.typing.filter((u) => !authors.has(u)) : c.typing;
  return withFlags({ ...c, timeline, typing, nextLocal });
}

/**
 * Counts a message that arrived (`seen`: its conversation is in front of the user). Only new
 * messages count: those after the newest `seq` known; one's own reads the conversation.
 */
export function countMessage(c: Conversation, message: ChatMessage, seen: boolean): Conversation {
  const own = isOwn(message);
  let { lastSeq, read, unread, mentions } = c;
  if (message.seq !== undefined) {
    const fresh = message.seq > lastSeq;
    lastSeq = Math.max(lastSeq, message.seq);
    if (!fresh) return lastSeq === c.lastSeq ? c : { ...c, lastSeq };
    if (own) read = Math.max(read, message.seq);
  }
  if (own || seen) {
    unread = 0;
    mentions = 0;
  } else {
    unread += 1;
    if (mentionsMe(message)) mentions += 1;
  }
  return { ...c, lastSeq, read, unread, mentions };
}

/** A gap the server reported: drawn once, where the messages were. */
export function addGap(c: Conversation, gap: { from: number; to: number; kept: boolean }, generation: number): Conversation {
  const key = `${generation === 0 ? '' : `${generation}:`}g${gap.from}-${gap.to}`;
  const item: TimelineItem = { kind: 'gap', key, ...gap, at: new Date().toISOString() };
  const timeline = mergeAnchored(c.timeline, [item], start(c));
  return timeline === c.timeline ? c : { ...c, timeline };
}

/** Adds a line (someone joined or left) at the end. */
export function addLine(c: Conversation, line: (key: string) => TimelineItem): Conversation {
  return { ...c, timeline: [...c.timeline, line(`l${c.nextLocal}`)], nextLocal: c.nextLocal + 1 };
}

/**
 * A page of messages before `before` arrived (oldest first). Gaps it fills shrink or go; when
 * it was the page before the oldest loaded message and the server has nothing older, the
 * conversation is complete.
 */
export function addPage(c: Conversation, before: number, page: HistoryPage, generation: number): Conversation {
  const messages = page.messages.map((m) => withRoom(m, c.room));
  const first = messages.find((m) => m.seq !== undefined)?.seq;
  const coveredFrom = page.more ? (first ?? before) : 1;
  const { oldest } = seqRange(c.timeline, start(c));
  const olderThanLoaded = oldest === undefined || before <= oldest;
  const covered = coverGaps(c.timeline, coveredFrom, before, start(c));
  const withPage = addMessages({ ...c, timeline: covered }, messages, generation);
  const newest = Math.max(0, ...messages.map((m) => m.seq ?? 0));
  return withFlags({
    ...withPage,
    lastSeq: Math.max(withPage.lastSeq, newest),
    // Nothing older, or nothing older came (a page that brings nothing new ends the paging).
    complete: withPage.complete || (olderThanLoaded && (!page.more || first === undefined || first >= before)),
    loading: false,
  });
}

/** The server's numbers and facts of a room (a join's room states, entering a room). */
export function applyRoomState(c: Conversation, state: RoomState): Conversation {
  return withFlags({
    ...c,
    kind: state.kind,
    topic: state.topic,
    members: state.members,
    lastSeq: state.lastSeq,
    read: state.read,
    unread: state.unread,
    mentions: state.mentions,
    markerKnown: true,
  });
}

/** A room was made, joined or given a topic: a room new here starts with nothing unread. */
export function applyRoomInfo(c: Conversation | undefined, info: RoomInfo): Conversation {
  if (!c) return newConversation(info.room, { kind: info.kind, topic: info.topic, members: info.members, lastSeq: info.lastSeq });
  return { ...c, kind: info.kind, topic: info.topic, members: info.members };
}

/** The conversation was read (here, up to `seq`, or on any device by the server's marker). */
export function markRead(c: Conversation, seq: number | null): Conversation {
  const read = seq === null ? c.read : Math.max(c.read, seq);
  if (read === c.read && c.unread === 0 && c.mentions === 0) return c;
  return { ...c, read, unread: 0, mentions: 0 };
}

/**
 * The server's read marker moved (on any device of the name): its counts, except while the
 * conversation is in front of the user (`seen`), where it stays read (the echo of our own
 * marker, sent a moment ago, must not bring back what has been read since).
 */
export function applyReadMarker(c: Conversation, marker: ReadMarker, seen: boolean): Conversation {
  return withFlags({
    ...c,
    read: Math.max(c.read, marker.read),
    lastSeq: Math.max(c.lastSeq, marker.read),
    unread: seen ? 0 : marker.unread,
    mentions: seen ? 0 : marker.mentions,
    markerKnown: true,
  });
}

/**
 * A page (the messages before `before`) replaces what was loaded: the newest page again after
 * they went missing (`before` was `lastSeq + 1` when it was asked for), or the page of a message
 * among them. Newer messages than the page's are missing: those from `before` on (live ones
 * that came meanwhile were not added).
 */
export function replaceWithPage(c: Conversation, before: number, page: HistoryPage, generation: number): Conversation {
  const emptied: Conversation = { ...c, timeline: [], complete: false, loading: false, newerMissing: false, restarted: false };
  const loaded = addMessages(emptied, page.messages.map((m) => withRoom(m, c.room)), generation);
  const newest = seqRange(loaded.timeline, 0).newest ?? 0;
  return withFlags({
    ...loaded,
    lastSeq: Math.max(loaded.lastSeq, newest),
    complete: !page.more,
    newerMissing: c.lastSeq >= before,
  });
}

/** The message as the conversation holds it: `room` set, except for `general`'s. */
export function withRoom(m: ChatMessage, room: string): ChatMessage {
  if (room === GENERAL) {
    if (m.room === undefined) return m;
    const { room: _room, ...rest } = m;
    return rest;
  }
  return m.room === room ? m : { ...m, room };
}

/**
 * A message as it is after a change (an edit, a deletion, a reaction, a pin): it replaces the
 * loaded copy of the same `seq` when its `rev` is newer. Only that item is new; every other
 * keeps its identity, so only its row renders again. A message not loaded is not added (it
 * comes as it is now with its page).
 */
export function updateMessage(c: Conversation, message: ChatMessage): Conversation {
  if (message.seq === undefined) return c;
  const from = start(c);
  // Changes are mostly to recent messages: look from the newest.
  for (let i = c.timeline.length - 1; i >= from; i -= 1) {
    const item = c.timeline[i] as TimelineItem;
    if (item.kind !== 'message' || item.message.seq !== message.seq) continue;
    if ((message.rev ?? 0) <= (item.message.rev ?? 0)) return c;
    const timeline = c.timeline.slice();
    timeline[i] = { ...item, message: withRoom(message, c.room) };
    return { ...c, timeline };
  }
  return c;
}

/** The newest `seq` loaded (what reading the conversation marks read). */
export function newestSeq(c: Conversation): number | undefined {
  return seqRange(c.timeline, start(c)).newest;
}

/** The oldest `seq` loaded, or where paging starts when nothing is loaded. */
export function pageBefore(c: Conversation): number {
  return seqRange(c.timeline, start(c)).oldest ?? c.lastSeq + 1;
}
