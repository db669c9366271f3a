// The chat as the UI shows it, folded from the client's events. Pure, so it is unit-tested.
import type { ChatMessage, ClientEvent, ConnectionStatus, OutboxEntry } from '../types';

export type TimelineItem =
  | { kind: 'message'; key: string; message: ChatMessage }
  | { kind: 'presence'; key: string; username: string; joined: boolean; at: string };

export interface ChatState {
  status: ConnectionStatus;
  me: string | null;
  users: string[];
  timeline: TimelineItem[];
  seen: Set<string>;
  outbox: OutboxEntry[];
  typing: string[];
  lastError: string | null;
}

export const initialChatState: ChatState = {
  status: { state: 'connecting' },
  me: null,
  users: [],
  timeline: [],
  seen: new Set(),
  outbox: [],
  typing: [],
  lastError: null,
};

function messageKey(m: ChatMessage): string {
  return m.seq !== undefined ? `s${m.seq}` : `i${m.id}`;
}

function addMessages(state: ChatState, messages: ChatMessage[]): ChatState {
  const fresh = messages.filter((m) => !state.seen.has(messageKey(m)));
  if (fresh.length === 0) return state;
  const seen = new Set(state.seen);
  for (const m of fresh) seen.add(messageKey(m));
  const items: TimelineItem[] = fresh.map((message) => ({ kind: 'message', key: messageKey(message), message }));
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

export function chatReducer(state: ChatState, event: ClientEvent): ChatState {
  switch (event.event) {
    case 'status': {
      const { event: _tag, ...status } = event;
      // Offline, we do not know who is there: the list comes back with the next join.
      const online = status.state === 'connected' || status.state === 'connecting';
      return { ...state, status: status as ConnectionStatus, users: online ? state.users : [], typing: online ? state.typing : [] };
    }
    case 'joined':
      return { ...addMessages(state, event.history), me: event.username, users: event.users };
    case 'message': {
      const { event: _tag, ...message } = event;
      return addMessages(state, [message]);
    }
    case 'userJoined':
      return state.users.includes(event.username) ? state : presence(state, event.username, true);
    case 'userLeft':
      return state.users.includes(event.username) ? presence(state, event.username, false) : state;
    case 'users':
      return { ...state, users: event.users };
    case 'typing': {
      const others = state.typing.filter((u) => u !== event.username);
      return { ...state, typing: event.typing && event.username !== state.me ? [...others, event.username] : others };
    }
    case 'outbox':
      return { ...state, outbox: event.entries };
    case 'error':
      return { ...state, lastError: event.message };
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
