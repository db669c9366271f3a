// The chat as the UI shows it, folded from the client's events and the window's own actions
// (opening a conversation, a page of history, an answer to a command). Pure, so it is
// unit-tested. This file is the state and which step each action takes (chatSteps.ts); one
// conversation's rules are in conversations.ts, how much of it is kept in bounds.ts, whose a
// message is and whom it names in attention.ts.
import type { ChatMessage, ClientEvent, ConnectionStatus, HistoryPage, RoomEntered } from '../types';
import type { ChatState } from './chatModel';
import { sameName } from './attention';
import { boundNewest, boundOlderPage } from './bounds';
import { arrive, entered, historyReset, isMe, messageOf, open, phantom, presence, presenceLine, rooms, withConversation, withGuest, withLine } from './chatSteps';
import {
  GENERAL,
  addGap,
  addMessages,
  addPage,
  applyReadMarker,
  applyRoomInfo,
  applyRoomState,
  markRead,
  newConversation,
  replaceWithPage,
  roomOf,
  updateMessage,
  withRoom,
  type Conversation,
} from './conversations';
import { roomMap } from './roomMap';

export type { TimelineItem } from './timeline';
export { dayLabel, itemDate, timeLabel } from './dates';

export type { Arrival, ChatState, Divider } from './chatModel';

/** What the window itself does to the state. */
export type LocalAction =
  | { event: 'local:open'; room: string }
  | { event: 'local:attention'; attentive: boolean }
  /** A room was made, joined or a DM opened: its state and latest messages; it opens. */
  | { event: 'local:entered'; entered: RoomEntered }
  | { event: 'local:left'; room: string }
  | { event: 'local:history'; room: string; before: number; page: HistoryPage }
  /**
   * A page (the messages before `before`) instead of what was loaded: the newest again after
   * they went missing, or the page of a message among them.
   */
  | { event: 'local:replace'; room: string; before: number; page: HistoryPage }
  | { event: 'local:loading'; room: string; loading: boolean }
  /** The open conversation was read up to `seq` (null: the tutorial's server, no seqs). */
  | { event: 'local:read'; room: string; seq: number | null }
  | { event: 'local:topic'; room: string; topic: string }
  | { event: 'local:dismissError' };

export type ChatAction = ClientEvent | LocalAction;

export const initialChatState: ChatState = {
  status: { state: 'connecting' },
  me: null,
  owned: false,
  users: [],
  guests: new Set(),
  conversations: roomMap({ [GENERAL]: newConversation(GENERAL) }),
  current: GENERAL,
  attentive: false,
  divider: { room: GENERAL, after: null, pending: true },
  arrival: null,
  outbox: [],
  changes: [],
  lastError: null,
  generation: 0,
  roomsKnown: false,
};

function localAction(state: ChatState, action: LocalAction): ChatState {
  const isOpen = 'room' in action && action.room === state.current;
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
    case 'local:entered':
      return entered(state, action.entered);
    case 'local:left':
      return withConversation(state, action.room, () => undefined);
    case 'local:history':
      return withConversation(state, action.room, (c) => c && boundOlderPage(addPage(c, action.before, action.page, state.generation), isOpen));
    case 'local:replace':
      return withConversation(state, action.room, (c) => c && replaceWithPage(c, action.before, action.page, state.generation));
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
      const conversations: Record<string, Conversation> = roomMap();
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
        const history = general.newerMissing ? action.history.filter((m) => m.seq === undefined) : action.history;
        const added = addMessages({ ...general, lastSeq: newest }, history.map((m) => withRoom(m, GENERAL)), state.generation);
        return boundNewest(added, state.current === GENERAL);
      });
    }
    case 'message':
      return arrive(state, roomOf(action), [messageOf(action)]);
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
    case 'gap': {
      // Messages not shown: said where they were, never skipped silently.
      const room = roomOf(action);
      if (phantom(state, room)) return state;
      return withConversation(state, room, (c) => {
        const conv = c ?? newConversation(room);
        return conv.newerMissing ? c : boundNewest(addGap(conv, action, state.generation), room === state.current);
      });
    }
    case 'historyReset':
      return historyReset(state);
    case 'rooms':
      return rooms(state, action.rooms);
    case 'roomEntered': {
      // This device entered it (the answer follows, and what it replays comes first): the
      // server's numbers, which the replayed messages are counted against.
      const { event: _tag, ...info } = action;
      return withConversation(state, info.room, (c) => applyRoomState(c ?? newConversation(info.room), info));
    }
    case 'roomUpdated': {
      const { event: _tag, ...info } = action;
      // `general` is everyone's (the server lists no members for it).
      const mine = info.room === GENERAL || state.me === null || info.members.some((m) => isMe(state, m));
      return withConversation(state, info.room, (c) => (mine ? applyRoomInfo(c, info) : undefined));
    }
    case 'roomTopic':
      // Only a conversation already here changes; its topic is all the event carries.
      return withConversation(state, action.room, (c) => c && (c.topic === action.topic ? c : { ...c, topic: action.topic }));
    case 'memberJoined':
      return withConversation(state, action.room, (c) => {
        // `general`'s arrivals are the online list's (userJoined).
        if (!c || action.room === GENERAL || c.members.some((m) => sameName(m, action.username))) return c;
        const members = [...c.members, action.username].sort((a, b) => a.localeCompare(b));
        return withLine(state, action.room, { ...c, members }, presenceLine(action.username, true));
      });
    case 'memberLeft':
      return withConversation(state, action.room, (c) => {
        if (!c || action.room === GENERAL) return c;
        // This name left it (on another device): it is gone from here too.
        if (isMe(state, action.username)) return undefined;
        const members = c.members.filter((m) => !sameName(m, action.username));
        const typing = c.typing.filter((u) => u !== action.username);
        return withLine(state, action.room, { ...c, members, typing }, presenceLine(action.username, false));
      });
    case 'readMarker': {
      const { event: _tag, ...marker } = action;
      const seen = marker.room === state.current && state.attentive;
      // A conversation not known here has no count to set.
      return withConversation(state, marker.room, (c) => c && applyReadMarker(c, marker, seen));
    }
    case 'outbox':
      return { ...state, outbox: action.entries, changes: action.changes ?? [] };
    case 'messageUpdated': {
      // A change to a message (edit, deletion, reaction, pin): the newer copy replaces the
      // loaded one. It is not a new message: it counts nothing.
      const { event: _tag, ...message } = action;
      return withConversation(state, roomOf(message), (c) => c && updateMessage(c, message));
    }
    case 'threadMessage':
      // A reply only in its thread: not part of the room's timeline; the thread panel is not
      // there yet.
      return state;
    case 'error':
      return { ...state, lastError: action.message };
    default:
      return localAction(state, action);
  }
}

/**
 * Applies a batch of actions in order (the UI renders once per batch). A run of messages of
 * one conversation is applied together: counted one by one, added to its timeline at once.
 */
export function chatBatchReducer(state: ChatState, actions: readonly ChatAction[]): ChatState {
  let next = state;
  let i = 0;
  while (i < actions.length) {
    const action = actions[i] as ChatAction;
    if (action.event !== 'message') {
      next = chatReducer(next, action);
      i += 1;
      continue;
    }
    const room = roomOf(action);
    const run: ChatMessage[] = [];
    for (let a = actions[i]; a?.event === 'message' && roomOf(a) === room; a = actions[++i]) run.push(messageOf(a));
    next = arrive(next, room, run);
  }
  return next;
}
