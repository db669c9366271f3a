// The chat as the UI shows it, folded from the client's events. Pure, so it is unit-tested.
import type { ChatMessage, ClientEvent, ConnectionStatus, OutboxEntry } from '../types';

export type TimelineItem =
  | { kind: 'message'; key: string; message: ChatMessage }
  | { kind: 'presence'; key: string; username: string; joined: boolean; at: string }
  | { kind: 'notice'; key: string; text: string; at: string };

export interface ChatState {
  status: ConnectionStatus;
  me: string | null;
  users: string[];
  /** Who of `users` has a name nobody owns (anyone could use it). */
  guests: Set<string>;
  timeline: TimelineItem[];
  seen: Set<string>;
  outbox: OutboxEntry[];
  typing: string[];
  lastError: string | null;
  /** Bumped when the server's history starts over, so old and new seqs never share a key. */
  generation: number;
}

export const initialChatState: ChatState = {
  status: { state: 'connecting' },
  me: null,
  users: [],
  guests: new Set(),
  timeline: [],
  seen: new Set(),
  outbox: [],
  typing: [],
  lastError: null,
  generation: 0,
};

function messageKey(m: ChatMessage, generation: number): string {
  const local = m.seq !== undefined ? `s${m.seq}` : `i${m.id}`;
  return generation === 0 ? local : `${generation}:${local}`;
}

function addMessages(state: ChatState, messages: ChatMessage[]): ChatState {
  // The tutorial's server gives no seq, never sends a message twice, and may give two
  // messages one id (it makes them from the socket and the millisecond): those are all new,
  // and keyed by their place in the timeline.
  const key = (m: ChatMessage, i: number) =>
    m.seq !== undefined ? messageKey(m, state.generation) : `${messageKey(m, state.generation)}@${state.timeline.length + i}`;
  const fresh = messages.filter((m) => m.seq === undefined || !state.seen.has(key(m, 0)));
  if (fresh.length === 0) return state;
  const seen = new Set(state.seen);
  const items: TimelineItem[] = fresh.map((message, i) => {
    seen.add(key(message, i));
    return { kind: 'message', key: key(message, i), message };
  });
  const authors = new Set(fresh.map((m) => m.username));
  return { ...state, seen, timeline: [...state.timeline, ...items], typing: state.typing.filter((u) => !authors.has(u)) };
}

function presence(state: ChatState, username: string, joined: boolean): ChatState {
  const at = new Date().toISOString();
  const item: TimelineItem = { kind: 'presence', key: `p${state.timeline.length}-${username}-${at}`, username, joined, at };
  const users = joined
    ? [...state.users.filter((u) => u !== username), username].sort((a, b) => a.localeCompare(b))
    : state.users.filter((u) => u !== username);
  const typing = joined ? state.typing : state.typing.filter((u) => u !== username);
  return { ...state, users, typing, timeline: [...state.timeline, item] };
}

function withGuest(guests: Set<string>, username: string, guest: boolean): Set<string> {
  if (guests.has(username) === guest) return guests;
  const next = new Set(guests);
  if (guest) next.add(username);
  else next.delete(username);
  return next;
}

function notice(state: ChatState, key: string, text: string): ChatState {
  if (state.timeline.some((item) => item.key === key)) return state;
  const item: TimelineItem = { kind: 'notice', key, text, at: new Date().toISOString() };
  return { ...state, timeline: [...state.timeline, item] };
}

export function chatReducer(state: ChatState, event: ClientEvent): ChatState {
  switch (event.event) {
    case 'status': {
      const { event: _tag, ...status } = event;
      // Offline, we do not know who is there: the list comes back with the next join.
      const online = status.state === 'connected' || status.state === 'connecting';
      return {
        ...state,
        status: status as ConnectionStatus,
        users: online ? state.users : [],
        guests: online ? state.guests : new Set(),
        typing: online ? state.typing : [],
      };
    }
    case 'joined':
      // Who is a guest comes with the `users` event that follows every join (it may come first).
      return {
        ...addMessages(state, event.history),
        me: event.username,
        users: event.users,
        guests: new Set([...state.guests].filter((g) => event.users.includes(g))),
      };
    case 'message': {
      // This timeline is `general`'s; other rooms have no place in this window yet.
      if (event.room) return state;
      const { event: _tag, ...message } = event;
      return addMessages(state, [message]);
    }
    case 'userJoined': {
      const guests = withGuest(state.guests, event.username, event.guest);
      if (state.users.includes(event.username)) return guests === state.guests ? state : { ...state, guests };
      return presence({ ...state, guests }, event.username, true);
    }
    case 'userLeft':
      return state.users.includes(event.username)
        ? presence({ ...state, guests: withGuest(state.guests, event.username, false) }, event.username, false)
        : state;
    case 'users':
      return { ...state, users: event.users, guests: new Set(event.guests) };
    case 'typing': {
      if (event.room) return state;
      const others = state.typing.filter((u) => u !== event.username);
      return { ...state, typing: event.typing && event.username !== state.me ? [...others, event.username] : others };
    }
    case 'gap': {
      if (event.room) return state;
      // Messages the server no longer keeps: said where they were, never skipped silently.
      const count = event.to - event.from + 1;
      const text = event.kept
        ? `${count} missed message${count === 1 ? ' was' : 's were'} not loaded`
        : `${count} older message${count === 1 ? ' is' : 's are'} no longer available`;
      return notice(state, `g${event.from}-${event.to}`, text);
    }
    case 'historyReset':
      // The server's history started over (its seqs mean other messages now): what was shown
      // is kept as text above a line, and nothing new is taken for a duplicate of it.
      return notice({ ...state, seen: new Set(), generation: state.generation + 1 }, `r${state.generation + 1}`, 'The server’s history started over');
    case 'outbox':
      return { ...state, outbox: event.entries };
    case 'error':
      return { ...state, lastError: event.message };
    case 'rooms':
    case 'roomUpdated':
    case 'memberJoined':
    case 'memberLeft':
    case 'readMarker':
      return state;
  }
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

/** Applies a batch of events in order (the UI renders once per batch). */
export function chatBatchReducer(state: ChatState, events: ClientEvent[]): ChatState {
  return events.reduce(chatReducer, state);
}
