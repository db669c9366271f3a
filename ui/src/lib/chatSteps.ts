// The steps the chat reducer (chatState.ts) takes: changing one conversation, opening one,
// messages arriving (counted, then shown), presence lines, a join's room states, entering a room,
// the server's history starting over. Pure.
import type { ChatMessage, ClientEvent, RoomEntered } from '../types';
import { isOwn, sameName } from './attention';
import { boundLeft, boundNewest, emptied } from './bounds';
import type { ChatState, Divider } from './chatModel';
import {
  GENERAL,
  addGap,
  addLine,
  addMessages,
  applyRoomState,
  countMessage,
  markRead,
  newConversation,
  withFlags,
  withRoom,
  type Conversation,
} from './conversations';
import type { TimelineItem } from './timeline';
import { roomMap } from './roomMap';

type Rooms = Record<string, Conversation>;

export function withConversation(state: ChatState, room: string, change: (c: Conversation | undefined) => Conversation | undefined): ChatState {
  const before = state.conversations[room];
  const after = change(before);
  if (after === before) return state;
  const conversations: Rooms = roomMap(state.conversations);
  if (after) conversations[room] = after;
  else delete conversations[room];
  const next = { ...state, conversations };
  return after || room !== state.current ? next : open(next, GENERAL);
}

/**
 * A conversation not known here, once the rooms this name is in are known, is none of its
 * own: what comes of it (with a `seq`) is not made into a conversation. `general` is everyone's.
 */
export function phantom(state: ChatState, room: string): boolean {
  return state.owned && state.roomsKnown && room !== GENERAL && !state.conversations[room];
}

/** The line's place when the conversation is opened: the marker then, if anything is unread. */
export function snapshot(c: Conversation | undefined, room: string): Divider {
  if (!c?.markerKnown) return { room, after: null, pending: true };
  return { room, after: c.unread > 0 ? c.read : null, pending: false };
}

/**
 * Opens a conversation: the one left keeps only its newest items; the line is placed (again,
 * with `replace`, when it is open already).
 */
export function open(state: ChatState, room: string, replace = false): ChatState {
  const conversations: Rooms = roomMap(state.conversations);
  const left = conversations[state.current];
  if (left && state.current !== room) conversations[state.current] = boundLeft(left);
  if (!conversations[room]) conversations[room] = newConversation(room);
  const stay = !replace && state.current === room && state.divider.room === room;
  const divider = stay ? state.divider : snapshot(conversations[room], room);
  const opened = conversations[room] as Conversation;
  if (state.attentive) conversations[room] = markRead(opened, null);
  const arrival = state.current === room ? state.arrival : null;
  return { ...state, conversations, current: room, divider, arrival };
}

/** A line at the end of a conversation, within its bound (none while its newest are missing). */
export function withLine(state: ChatState, room: string, c: Conversation, line: (key: string) => TimelineItem): Conversation {
  return c.newerMissing ? c : boundNewest(addLine(c, line), room === state.current);
}

export function presenceLine(username: string, joined: boolean): (key: string) => TimelineItem {
  return (key) => ({ kind: 'presence', key, username, joined, at: new Date().toISOString() });
}

export function presence(state: ChatState, username: string, joined: boolean): ChatState {
  const users = joined
    ? [...state.users.filter((u) => u !== username), username].sort((a, b) => a.localeCompare(b))
    : state.users.filter((u) => u !== username);
  const next = { ...state, users };
  return withConversation(next, GENERAL, (c) => {
    const general = c ?? newConversation(GENERAL);
    const typing = joined ? general.typing : general.typing.filter((u) => u !== username);
    return withLine(next, GENERAL, { ...general, typing }, presenceLine(username, joined));
  });
}

export function withGuest(guests: Set<string>, username: string, guest: boolean): Set<string> {
  if (guests.has(username) === guest) return guests;
  const next = new Set(guests);
  if (guest) next.add(username);
  else next.delete(username);
  return next;
}

/**
 * Messages of one conversation arrived (one or a run of them, in order): each is counted, then
 * they are shown together (one copy of the timeline, not one per message).
 */
export function arrive(state: ChatState, room: string, incoming: readonly ChatMessage[]): ChatState {
  const isOpen = room === state.current;
  const seen = isOpen && state.attentive;
  let c = state.conversations[room];
  const shown: ChatMessage[] = [];
  let heard: ChatMessage | undefined;
  for (const m of incoming) {
    const fresh = c !== undefined && (m.seq === undefined || m.seq > c.lastSeq);
    if (c) c = countMessage(c, m, seen);
    // Without a seq (the tutorial's server) a message is always new, wherever it is.
    else if (m.seq === undefined) c = countMessage(newConversation(room), m, seen);
    else if (phantom(state, room)) continue;
    // A room we had no numbers for (a join's replay): what it replays is history.
    else c = newConversation(room, { lastSeq: m.seq });
    // While a conversation's newest are missing, its messages come with its newest page.
    if (c.newerMissing && m.seq !== undefined) continue;
    shown.push(withRoom(m, room));
    if ((fresh || m.seq === undefined) && !isOwn(m)) heard = m;
  }
  if (!c) return state;
  const added = boundNewest(addMessages(c, shown, state.generation), isOpen);
  const next = withConversation(state, room, () => added);
  if (!isOpen || !heard) return next;
  return { ...next, arrival: { room, username: heard.username, text: heard.text, n: (state.arrival?.n ?? 0) + 1 } };
}

export function messageOf(incoming: Extract<ClientEvent, { event: 'message' }>): ChatMessage {
  const { event: _tag, ...m } = incoming;
  return m;
}

export function rooms(state: ChatState, list: Extract<ClientEvent, { event: 'rooms' }>['rooms']): ChatState {
  const conversations: Rooms = roomMap();
  for (const info of list) {
    conversations[info.room] = applyRoomState(state.conversations[info.room] ?? newConversation(info.room), info);
  }
  // Rooms not listed were left (on another device, while this one was away); `general` stays.
  conversations[GENERAL] ??= state.conversations[GENERAL] ?? newConversation(GENERAL);
  let next: ChatState = { ...state, conversations, roomsKnown: true };
  if (!conversations[state.current]) next = open(next, GENERAL);
  else if (next.divider.pending && next.divider.room === next.current) {
    next = { ...next, divider: snapshot(conversations[next.current], next.current) };
    if (next.attentive) next = withConversation(next, next.current, (c) => c && markRead(c, null));
  }
  return next;
}

export function isMe(state: ChatState, username: string): boolean {
  return state.me !== null && sameName(state.me, username);
}

export function entered(state: ChatState, { room: info, messages, more, gap }: RoomEntered): ChatState {
  const room = info.room;
  const withRoomState = withConversation(state, room, (c) => {
    // Entering again while its newest were missing: the answer's messages are the newest.
    const known = c?.newerMissing ? emptied(c) : c;
    const fresh = !known || known.timeline.length === 0;
    let conv = applyRoomState(known ?? newConversation(room), info);
    if (gap) conv = addGap(conv, { ...gap, kept: false }, state.generation);
    conv = addMessages(conv, messages.map((m) => withRoom(m, room)), state.generation);
    return boundNewest(withFlags({ ...conv, complete: conv.complete || (fresh && !more) }), true);
  });
  return open(withRoomState, room, true);
}

export function historyReset(state: ChatState): ChatState {
  // The server's history started over (its seqs mean other messages now): what was shown is
  // kept as text above a line, and nothing is taken for a duplicate of it.
  const generation = state.generation + 1;
  const conversations: Rooms = roomMap();
  for (const [room, loaded] of Object.entries(state.conversations)) {
    const c = loaded.newerMissing ? emptied(loaded) : loaded;
    const reset = { ...c, lastSeq: 0, read: 0, complete: false, restarted: true };
    const line: TimelineItem = { kind: 'notice', key: `r${generation}`, text: 'The server’s history started over', at: new Date().toISOString(), reset: true };
    const marked = c.timeline.length > 0 || room === GENERAL ? { ...reset, timeline: [...c.timeline, line] } : reset;
    conversations[room] = boundNewest(withFlags(marked), room === state.current);
  }
  return { ...state, generation, conversations };
}

