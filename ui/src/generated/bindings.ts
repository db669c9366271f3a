// Generated from the Rust types by `cargo test -p charla-desktop bindings`; do not edit.
// `CHARLA_BLESS_BINDINGS=1 cargo test -p charla-desktop bindings` rewrites it.

export type Whose = { own?: boolean, mentionsMe?: boolean, followed?: boolean, };

export type Reaction = { emoji: string, names: Array<string>, };

export type Pinned = { by: string, at: string, };

export type ChatMessage = { id: string, username: string, text: string, timestamp: string, seq?: number, clientId?: string, guest?: boolean, room?: string, mentions?: Array<string>, thread?: number, alsoInRoom?: boolean, rev?: number, editedAt?: string, deleted?: boolean, reactions?: Array<Reaction>, pinned?: Pinned, replies?: number, lastReplyAt?: string, } & Whose;

export type Changes = { changes: Array<ChatMessage>, rev: number, more: boolean, };

export type ErrorCode = "invalid_payload" | "invalid_username" | "username_taken" | "name_owned" | "invalid_link" | "not_owned" | "name_released" | "not_joined" | "already_joined" | "empty_message" | "message_too_long" | "rate_limited" | "unavailable" | "unknown_event" | "invalid_room" | "room_exists" | "no_such_room" | "not_member" | "no_such_user" | "limit_reached" | "search_too_broad" | "no_such_message" | "not_author" | "message_deleted" | "invalid_emoji" | "unknown";

export type Refusal = { code: ErrorCode, message: string, retryAfterMs?: number, };

export type DeviceLink = { ok: boolean, code: string, expiresAt: string, };

export type OutboxState = { "state": "pending" } | { "state": "sent" } | { "state": "failed", code: ErrorCode, message: string, };

export type ChangeTarget = { seq: number, } | { clientId: string, };

export type ThreadReply = { root: ChangeTarget, alsoInRoom: boolean, };

export type OutboxEntry = { clientId: string, text: string, room?: string, createdAt: string, thread?: ThreadReply, } & ({ "state": "pending" } | { "state": "sent" } | { "state": "failed", code: ErrorCode, message: string, });

export type ChangeOp = { "op": "edit", text: string, } | { "op": "delete" } | { "op": "react", emoji: string, on: boolean, } | { "op": "pin", pinned: boolean, };

export type OutboxChange = { clientId: string, room?: string, target: ChangeTarget, change: ChangeOp, createdAt: string, } & ({ "state": "pending" } | { "state": "sent" } | { "state": "failed", code: ErrorCode, message: string, });

export type DisconnectReason = { "kind": "stopped" } | { "kind": "invalidToken" } | { "kind": "connectRefused" } | { "kind": "joinRefused", code: ErrorCode, };

export type ConnectionStatus = { "state": "connecting" } | { "state": "connected", compat: boolean, } | { "state": "reconnecting", attempt: number, delayMs: number, reason: string, } | { "state": "disconnected", reason: string, cause: DisconnectReason, };

export type RoomKind = "room" | "dm";

export type RoomInfo = { room: string, kind: RoomKind, topic: string, members: Array<string>, lastSeq: number, };

export type RoomState = { room: string, kind: RoomKind, topic: string, members: Array<string>, lastSeq: number, read: number, unread: number, mentions: number, };

export type MemberChange = { room: string, username: string, };

export type TopicChange = { room: string, topic: string, username?: string, };

export type ReadMarker = { room: string, read: number, unread: number, mentions: number, };

export type Gap = { from: number, to: number, };

export type RoomSummary = { room: string, topic: string, members: number, lastActivity?: string, joined: boolean, };

export type RoomList = { ok: boolean, rooms: Array<RoomSummary>, };

export type RoomEntered = { ok: boolean, room: RoomState, messages: Array<ChatMessage>, more: boolean, gap?: Gap, changes?: Changes, };

export type Done = { ok: boolean, };

export type HistoryPage = { ok: boolean, messages: Array<ChatMessage>, more: boolean, };

export type PinList = { ok: boolean, messages: Array<ChatMessage>, };

export type ThreadPage = { ok: boolean, root: ChatMessage, replies: Array<ChatMessage>, more: boolean, };

export type FollowedThread = { room: string, root: ChatMessage, read: number, unread: number, };

export type ThreadList = { ok: boolean, threads: Array<FollowedThread>, };

export type SearchRequest = { query: string, room?: string, before?: number, limit: number, offset?: number, };

export type SearchHit = { room: string, seq: number, id: string, username: string, timestamp: string, snippet: string, highlights: Array<[number, number]>, };

export type SearchResults = { ok: boolean, results: Array<SearchHit>, more: boolean, next?: number, };

export type ClientEvent = { "event": "status" } & ConnectionStatus | { "event": "joined", username: string, users: Array<string>, owned: boolean, history: Array<ChatMessage>, threadReplies?: Array<ChatMessage>, } | { "event": "gap", room?: string, from: number, to: number, kept: boolean, } | { "event": "historyReset" } | { "event": "message" } & ChatMessage | { "event": "threadMessage" } & ChatMessage | { "event": "messageUpdated" } & ChatMessage | { "event": "userJoined", username: string, guest: boolean, } | { "event": "userLeft", username: string, } | { "event": "users", users: Array<string>, guests: Array<string>, } | { "event": "typing", username: string, typing: boolean, room?: string, } | { "event": "rooms", rooms: Array<RoomState>, } | { "event": "roomEntered" } & RoomState | { "event": "roomUpdated" } & RoomInfo | { "event": "roomTopic" } & TopicChange | { "event": "memberJoined" } & MemberChange | { "event": "memberLeft" } & MemberChange | { "event": "readMarker" } & ReadMarker | { "event": "outbox", entries: Array<OutboxEntry>, changes: Array<OutboxChange>, } | { "event": "error" } & Refusal;

export type NotificationSettings = { enabled: boolean, mentionsOnly: boolean, };

export type TraySettings = { closeToTray: boolean, startOnLogin: boolean, };

export type Config = { username: string | null, serverUrl: string, notifications: NotificationSettings, tray: TraySettings, muted: { [key in string]: Array<string> }, };

export type Preferences = { notifications: boolean, mentionsOnly: boolean, closeToTray: boolean, startOnLogin: boolean, };

export type Settings = { config: Config, drafts: { [key in string]: string }, };

export type AppErrorKind = "invalidUsername" | "invalidServer" | "notConfigured" | "emptyMessage" | "unknownMessage" | "invalidEmoji" | "storage" | "noSession" | "invalidLinkCode" | "offline" | "refused";

export type AppErrorBody = { kind: AppErrorKind, message: string, };
