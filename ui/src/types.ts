// The shapes that cross the IPC boundary. They are generated from the Rust types
// (`generated/bindings.ts`, checked by `cargo test -p charla-desktop bindings`): change the Rust
// type, never these.
import type { Config, Preferences } from './generated/bindings';

export type {
  AppErrorBody,
  AppErrorKind,
  ChangeOp,
  ChangeTarget,
  Changes,
  ChatMessage,
  ClientEvent,
  Config,
  ConnectionStatus,
  DeviceLink,
  DisconnectReason,
  Done,
  ErrorCode,
  FollowedThread,
  Gap,
  HistoryPage,
  MemberChange,
  OutboxChange,
  OutboxEntry,
  OutboxState,
  Pinned,
  PinList,
  Preferences,
  Reaction,
  ReadMarker,
  Refusal,
  RoomEntered,
  RoomInfo,
  RoomKind,
  RoomList,
  RoomState,
  RoomSummary,
  SearchHit,
  SearchRequest,
  SearchResults,
  Settings,
  ThreadList,
  ThreadPage,
  ThreadReply,
} from './generated/bindings';

export function preferencesOf(config: Config): Preferences {
  return {
    notifications: config.notifications.enabled,
    mentionsOnly: config.notifications.mentionsOnly,
    closeToTray: config.tray.closeToTray,
    startOnLogin: config.tray.startOnLogin,
  };
}
