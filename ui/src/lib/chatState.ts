// The chat as the UI shows it, folded from the client's events and the window's own actions
// (opening a conversation, a page of history, an answer to a command). Pure, so it is
// unit-tested; one conversation's rules are in conversations.ts.
import type { ClientEvent, ConnectionStatus, HistoryPage, OutboxEntry, RoomEntered } from '../types';
import {
  GENERAL,
  KEEP_MESSAGES,
  addGap,
  addLine,
  addMessages,
  addPage,
  applyRoomInfo,
  applyRoomState,
  countMessage,
  markRead,
  newConversation,
  roomOf,
  sameName,
  trim,
  withFlags,
  withRoom,
  type Conversation,
} from './conversations';
import type { TimelineItem } from './timeline';

export type { TimelineItem } from './timeline';

/** Where the "New messages" line goes: after `after`, the read marker when the conversation was opened. */
export interface Divider {
  room: string;
  after: number | null;
  /** The marker is not known yet: the line is placed when it comes. */
  pending: boolean;
}

export interface ChatState {
  status: ConnectionStatus;
  me: string | null;
  /** This device owns the name (guests have `general` only). */
  owned: boolean;
  users: string[];
  /** Who of `users` has a name nobody owns (anyone could use it). */
  guests: Set<string>;
  conversations: Readonly<Record<string, Conversation>>;
  /** The open conversation. */
  current: string;
  /** The window is focused and visible: the open conversation is being read. */
  attentive: boolean;
  divider: Divider;
  outbox: OutboxEntry[];
  lastError: string | null;
  /** Bumped when the server's history starts over, so old and new seqs never share a key. */
  generation: number;
  /** A join's room states have come (the rooms this name is in are known). */
  roomsKnown: boolean;
}

/** What the window itself does to the state. */
export type LocalAction =
  | { event: 'local:open'; room: string }
  | { event: 'local:attention'; attentive: boolean }
  /** A room was made, joined or a DM opened: its state and latest messages; it opens. */
  | { event: 'local:entered'; entered: RoomEntered }
  | { event: 'local:left'; room: string }
  | { event: 'local:history'; room: string; before: number; page: HistoryPage }
  | { event: 'local:loading'; room: string; loading: boolean }
  /** The open conversation was read up to `seq` (null: the tutorial's server, no seqs). */
  | { event: 'local:read'; room: string; seq: number | null }
  | { event: 'local:topic'; room: string; topic: string }
  | { event: 'local:dismissError' };

export type ChatAction = ClientEvent | LocalAction;

export const initialChatState: ChatState = {
  status: { state: 'connecting' },
  me: null,
  owned: true,
  users: [],
  guests: new Set(),
  conversations: { [GENERAL]: newConversation(GENERAL) },
  current: GENERAL,
  attentive: false,
  divider: { room: GENERAL, after: null, pending: true },
  outbox: [],
  lastError: null,
  generation: 0,
  roomsKnown: false,
};

type Rooms = Record<string, Conversation>;

function withConversation(state: ChatState, room: string, change: (c: Conversation | undefined) => Conversation | undefined): ChatState {
  const before = state.conversations[room];
  const after = change(before);
  if (after === before) return state;
  const conversations: Rooms = { ...state.conversations };
  if (after) conversations[room] = after;
  else delete conversations[room];
  const next = { ...state, conversations };
  return after || room !== state.current ? next : open(next, GENERAL);
}

/** The line's place when the conversation is opened: the marker then, if anything is unread. */
function snapshot(c: Conversation | undefined, room: string): Divider {
  if (!c?.markerKnown) return { room, after: null, pending: true };
  return { room, after: c.unread > 0 ? c.read : null, pending: false };
}

/**
 * Opens a conversation: the one left keeps only its newest messages; the line is placed (again,
 * with `replace`, when it is open already).
 */
function open(state: ChatState, room: string, replace = false): ChatState {
  const conversations: Rooms = { ...state.conversations };
  const left = conversations[state.current];
  if (left && state.current !== room) conversations[state.current] = trim(left);
  if (!conversations[room]) conversations[room] = newConversation(room);
  const stay = !replace && state.current === room && state.divider.room === room;
  const divider = stay ? state.divider : snapshot(conversations[room], room);
  const opened = conversations[room] as Conversation;
  if (state.attentive) conversations[room] = markRead(opened, null);
  return { ...state, conversations, current: room, divider };
}

function presence(state: ChatState, username: string, joined: boolean): ChatState {
  const users = joined
    ? [...state.users.filter((u) => u !== username), username].sort((a, b) => a.localeCompare(b))
    : state.users.filter((u) => u !== username);
  const next = { ...state, users };
  return withConversation(next, GENERAL, (c) => {
    const general = c ?? newConversation(GENERAL);
    const typing = joined ? general.typing : general.typing.filter((u) => u !== username);
    return addLine({ ...general, typing }, (key) => ({ kind: 'presence', key, username, joined, at: new Date().toISOString() }));
  });
}

function withGuest(guests: Set<string>, username: string, guest: boolean): Set<string> {
  if (guests.has(username) === guest) return guests;
  const next = new Set(guests);
  if (guest) next.add(username);
  else next.delete(username);
  return next;
}

/** A message arrived: counted (unless its conversation was unknown until now), then shown. */
function message(state: ChatState, incoming: Extract<ClientEvent, { event: 'message' }>): ChatState {
  const { event: _tag, ...m } = incoming;
  const room = roomOf(m);
  return withConversation(state, room, (c) => {
    // A room we had no numbers for (a join's replay): what it replays is history.
    const counted = c
      ? countMessage(c, m, state.me, room === state.current && state.attentive)
      : newConversation(room, { lastSeq: m.seq ?? 0 });
    const shown = addMessages(counted, [withRoom(m, room)], state.generation);
    return room === state.current ? shown : trimBusy(shown);
  });
}

/** A conversation that is not open keeps about KEEP_MESSAGES (trimmed in steps, not per message). */
function trimBusy(c: Conversation): Conversation {
  return c.timeline.length > KEEP_MESSAGES + 50 ? trim(c) : c;
}

function rooms(state: ChatState, list: Extract<ClientEvent, { event: 'rooms' }>['rooms']): ChatState {
  const conversations: Rooms = {};
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

function isMe(state: ChatState, username: string): boolean {
  return state.me !== null && sameName(state.me, username);
}

function localAction(state: ChatState, action: LocalAction): ChatState {
  switch (action.event) {
    case 'local:open':
      return open(state, action.room);
    case 'local:attention': {
      if (state.attentive === action.attentive) return state;
      let next: ChatState = { ...state, attentive: action.attentive };
      if (action.attentive) {
        // Back in front: the line moves to what was unread while away, then it is read.
        const c = next.conversations[next.current];
        if (c && c.markerKnown && c.unread > 0) next = { ...next, divider: { room: next.current, after: c.read, pending: false } };
        next = withConversation(next, next.current, (conv) => conv && markRead(conv, null));
      }
      return next;
    }
    case 'local:entered': {
      const { room: info, messages, more, gap } = action.entered;
      const room = info.room;
      const entered = withConversation(state, room, (c) => {
        const fresh = !c || c.timeline.length === 0;
        let conv = applyRoomState(c ?? newConversation(room), info);
        if (gap) conv = addGap(conv, { ...gap, kept: false }, state.generation);
        conv = addMessages(conv, messages.map((m) => withRoom(m, room)), state.generation);
        return withFlags({ ...conv, complete: conv.complete || (fresh && !more) });
      });
      return open(entered, room, true);
    }
    case 'local:left':
      return withConversation(state, action.room, () => undefined);
    case 'local:history':
      return withConversation(state, action.room, (c) => c && addPage(c, action.before, action.page, state.generation));
    case 'local:loading':
      return withConversation(state, action.room, (c) => (c && c.loading !== action.loading ? { ...c, loading: action.loading } : c));
    case 'local:read':
      return withConversation(state, action.room, (c) => c && markRead(c, action.seq));
    case 'local:topic':
      return withConversation(state, action.room, (c) => c && (c.topic === action.topic ? c : { ...c, topic: action.topic }));
    case 'local:dismissError':
      return state.lastError === null ? state : { ...state, lastError: null };
  }
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.event) {
    case 'status': {
      const { event: _tag, ...status } = action;
      // Offline, we do not know who is there or typing: that comes back with the next join.
      const online = status.state === 'connected' || status.state === 'connecting';
      if (online) return { ...state, status: status as ConnectionStatus };
      const conversations: Rooms = {};
      for (const [room, c] of Object.entries(state.conversations)) conversations[room] = c.typing.length ? { ...c, typing: [] } : c;
      return { ...state, status: status as ConnectionStatus, users: [], guests: new Set(), conversations };
    }
    case 'joined': {
      // Who is a guest comes with the `users` event that follows every join (it may come first).
      const next: ChatState = {
        ...state,
        me: action.username,
        owned: action.owned,
        users: action.users,
        guests: new Set([...state.guests].filter((g) => action.users.includes(g))),
      };
      // `general`'s history is known from here on: it counts nothing (the room states follow).
      return withConversation(next, GENERAL, (c) => {
        const general = c ?? newConversation(GENERAL);
        const newest = action.history.reduce((n, m) => Math.max(n, m.seq ?? 0), general.lastSeq);
        return addMessages({ ...general, lastSeq: newest }, action.history.map((m) => withRoom(m, GENERAL)), state.generation);
      });
    }
    case 'message':
      return message(state, action);
    case 'userJoined': {
      const guests = withGuest(state.guests, action.username, action.guest);
      if (state.users.includes(action.username)) return guests === state.guests ? state : { ...state, guests };
      return presence({ ...state, guests }, action.username, true);
    }
    case 'userLeft':
      return state.users.includes(action.username)
        ? presence({ ...state, guests: withGuest(state.guests, action.username, false) }, action.username, false)
        : state;
    case 'users':
      return { ...state, users: action.users, guests: new Set(action.guests) };
    case 'typing':
      return withConversation(state, roomOf(action), (c) => {
        if (!c) return c;
        const others = c.typing.filter((u) => u !== action.username);
        const typing = action.typing && !isMe(state, action.username) ? [...others, action.username] : others;
        return typing.length === c.typing.length && typing.every((u, i) => u === c.typing[i]) ? c : { ...c, typing };
      });
    case 'gap':
      // Messages not shown: said where they were, never skipped silently.
      return withConversation(state, roomOf(action), (c) => addGap(c ?? newConversation(roomOf(action)), action, state.generation));
    case 'historyReset': {
      // The server's history started over (its seqs mean other messages now): what was shown
      // is kept as text above a line, and nothing is taken for a duplicate of it.
      const generation = state.generation + 1;
      const conversations: Rooms = {};
      for (const [room, c] of Object.entries(state.conversations)) {
        const reset = { ...c, lastSeq: 0, read: 0, complete: false, restarted: true };
        const line: TimelineItem = { kind: 'notice', key: `r${generation}`, text: 'The server’s history started over', at: new Date().toISOString(), reset: true };
        conversations[room] = withFlags(c.timeline.length > 0 || room === GENERAL ? { ...reset, timeline: [...c.timeline, line] } : reset);
      }
      return { ...state, generation, conversations };
    }
    case 'rooms':
      return rooms(state, action.rooms);
    case 'roomUpdated': {
      const { event: _tag, ...info } = action;
      const mine = state.me === null || info.members.some((m) => isMe(state, m));
      return withConversation(state, info.room, (c) => (mine || info.room === GENERAL ? applyRoomInfo(c, info) : undefined));
    }
    case 'memberJoined':
      return withConversation(state, action.room, (c) => {
        // `general`'s arrivals are the online list's (userJoined).
        if (!c || action.room === GENERAL || c.members.some((m) => sameName(m, action.username))) return c;
        const members = [...c.members, action.username].sort((a, b) => a.localeCompare(b));
        return addLine({ ...c, members }, (key) => ({ kind: 'presence', key, username: action.username, joined: true, at: new Date().toISOString() }));
      });
    case 'memberLeft':
      return withConversation(state, action.room, (c) => {
        if (!c || action.room === GENERAL) return c;
        // This name left it (on another device): it is gone from here too.
        if (isMe(state, action.username) && action.room !== GENERAL) return undefined;
        const members = c.members.filter((m) => !sameName(m, action.username));
        const typing = c.typing.filter((u) => u !== action.username);
        return addLine({ ...c, members, typing }, (key) => ({ kind: 'presence', key, username: action.username, joined: false, at: new Date().toISOString() }));
      });
    case 'readMarker':
      return withConversation(state, action.room, (c) =>
        c
          ? withFlags({ ...c, read: action.read, unread: action.unread, mentions: action.mentions, lastSeq: Math.max(c.lastSeq, action.read), markerKnown: true })
          : c,
      );
    case 'outbox':
      return { ...state, outbox: action.entries };
    case 'error':
      return { ...state, lastError: action.message };
    default:
      return localAction(state, action);
  }
}

/** Applies a batch of actions in order (the UI renders once per batch). */
export function chatBatchReducer(state: ChatState, actions: ChatAction[]): ChatState {
  return actions.reduce(chatReducer, state);
}

/** "Tuesday, 3 March" style label for a day separator. */
export function dayLabel(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const day = (d: Date) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
  if (day(date) === day(now)) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (day(date) === day(yesterday)) return 'Yesterday';
  return date.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
}

export function timeLabel(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function itemDate(item: TimelineItem): string {
  return item.kind === 'message' ? item.message.timestamp : item.at;
}
