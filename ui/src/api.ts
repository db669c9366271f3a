// The only module that talks to Tauri: every command and event, typed. Every command that
// fails rejects with an `AppError`, whatever Tauri rejected with.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { openUrl } from '@tauri-apps/plugin-opener';
import type {
  AppErrorKind,
  ChangeTarget,
  ClientEvent,
  Config,
  DeviceLink,
  Done,
  HistoryPage,
  OutboxChange,
  OutboxEntry,
  PinList,
  Preferences,
  RoomEntered,
  RoomList,
  SearchRequest,
  SearchResults,
  Settings,
  ThreadList,
  ThreadPage,
} from './types';

export const CLIENT_EVENT = 'client-event';
/** A desktop notification was clicked: the window opens its conversation. */
export const OPEN_CONVERSATION = 'open-conversation';

/**
 * A command's failure: the app's own (`kind` from the Rust `AppError`), or `ipc` when Tauri
 * itself refused the call (an unknown command, arguments of the wrong shape).
 */
export class AppError extends Error {
  readonly kind: AppErrorKind | 'ipc';

  constructor(kind: AppErrorKind | 'ipc', message: string) {
    super(message);
    this.name = 'AppError';
    this.kind = kind;
  }
}

/** Any rejection as an `AppError`. */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (typeof e === 'object' && e !== null && 'kind' in e && 'message' in e) {
    const { kind, message } = e as { kind: unknown; message: unknown };
    if (typeof kind === 'string' && typeof message === 'string') return new AppError(kind as AppErrorKind, message);
  }
  if (e instanceof Error) return new AppError('ipc', e.message);
  return new AppError('ipc', String(e));
}

function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  return invoke<T>(command, args).catch((e: unknown) => {
    throw toAppError(e);
  });
}

export const api = {
  loadSettings: () => call<Settings>('load_settings'),
  /** `linkCode`: from another computer that owns the name, or null. */
  saveProfile: (username: string, serverUrl: string, linkCode: string | null) =>
    call<Config>('save_profile', { username, serverUrl, linkCode }),
  startSession: () => call<void>('start_session'),
  saveDraft: (room: string, text: string) => call<void>('save_draft', { room, text }),
  savePreferences: (preferences: Preferences) => call<Config>('save_preferences', { preferences }),
  hideWindow: () => call<void>('hide_window'),
  sendMessage: (room: string, text: string) => call<OutboxEntry>('send_message', { room, text }),
  /** Puts a failed message or change (by its `clientId`) back in line. */
  retryMessage: (clientId: string) => call<void>('retry_message', { clientId }),
  /** Drops an unsent message (with the changes made to it) or change. */
  discardMessage: (clientId: string) => call<void>('discard_message', { clientId }),
  /**
   * Changes to a message of `room`, queued in the outbox like messages (they resolve once
   * queued; what they did arrives as a `messageUpdated` event, a refusal as a failed entry of the
   * next `outbox` event's `changes`). `target`: `{ seq }`, or `{ clientId }` of an unsent message.
   */
  editMessage: (room: string, target: ChangeTarget, text: string) => call<OutboxChange>('edit_message', { room, target, text }),
  deleteMessage: (room: string, target: ChangeTarget) => call<OutboxChange>('delete_message', { room, target }),
  /** Adds (`on`) or takes back the user's `emoji`. */
  reactToMessage: (room: string, target: ChangeTarget, emoji: string, on: boolean) =>
    call<OutboxChange>('react_to_message', { room, target, emoji, on }),
  pinMessage: (room: string, target: ChangeTarget, pinned: boolean) => call<OutboxChange>('pin_message', { room, target, pinned }),
  /** The room's pinned messages as they are now, the most recently pinned first. */
  listPins: (room: string) => call<PinList>('list_pins', { room }),
  /**
   * Queues a reply in the thread of `root` (`{seq}`, or `{clientId}` of a message still unsent)
   * in `room`, to the room's timeline too with `alsoInRoom`. It comes back as a `threadMessage`
   * event (a `message` with `thread` when also in the room), its root's new count as
   * `messageUpdated`.
   */
  sendReply: (room: string, root: ChangeTarget, text: string, alsoInRoom: boolean) =>
    call<OutboxEntry>('send_reply', { room, root, text, alsoInRoom }),
  /** A page of the thread of `root`: the root as it is now, its newest replies before `before`, oldest first. */
  loadThread: (room: string, root: number, before: number | null, limit: number) =>
    call<ThreadPage>('load_thread', { room, root, before, limit }),
  /** The threads the user follows, the most recently answered first, with their unread replies. */
  listThreads: () => call<ThreadList>('list_threads'),
  markThreadRead: (room: string, root: number, seq: number) => call<Done>('mark_thread_read', { room, root, seq }),
  setTyping: (room: string, typing: boolean) => call<void>('set_typing', { room, typing }),
  reconnectNow: () => call<void>('reconnect_now'),
  linkCode: () => call<DeviceLink>('link_code'),
  /** Stops the session and gives up the name here; the returned config has no username. */
  forgetDevice: () => call<Config>('forget_device'),
  /** The public rooms, most recently active first. */
  listRooms: () => call<RoomList>('list_rooms'),
  createRoom: (room: string, topic: string) => call<RoomEntered>('create_room', { room, topic }),
  joinRoom: (room: string) => call<RoomEntered>('join_room', { room }),
  leaveRoom: (room: string) => call<Done>('leave_room', { room }),
  setTopic: (room: string, topic: string) => call<Done>('set_topic', { room, topic }),
  openDm: (username: string) => call<RoomEntered>('open_dm', { username }),
  /** Messages with `seq < before`, oldest first (at most `limit`, at most 200). */
  loadHistory: (room: string, before: number, limit: number) => call<HistoryPage>('load_history', { room, before, limit }),
  markRead: (room: string, seq: number) => call<Done>('mark_read', { room, seq }),
  search: (request: SearchRequest) => call<SearchResults>('search', { request }),
  /** Which conversation the window shows: the app notifies and counts the others only. */
  showConversation: (room: string) => call<void>('show_conversation', { room }),
  setRoomMuted: (room: string, muted: boolean) => call<Config>('set_room_muted', { room, muted }),
  openLink: (url: string) => openUrl(url),
  onClientEvent: (handler: (event: ClientEvent) => void): Promise<UnlistenFn> =>
    // The app sends the events that were waiting together as one array, in order.
    listen<ClientEvent | ClientEvent[]>(CLIENT_EVENT, (e) => {
      for (const event of Array.isArray(e.payload) ? e.payload : [e.payload]) handler(event);
    }),
  onOpenConversation: (handler: (room: string) => void): Promise<UnlistenFn> =>
    listen<{ room: string }>(OPEN_CONVERSATION, (e) => handler(e.payload.room)),
};
