// Shapes the tests build events from, shared by the reducer's and the app's tests.
import type { RoomState } from './types';

/** A room as a join reports it (a `dm:` name is a DM between alice and bob). */
export const roomState = (room: string, lastSeq: number, read: number, unread: number, mentions = 0, extra: Partial<RoomState> = {}): RoomState => ({
  room,
  kind: room.startsWith('dm:') ? 'dm' : 'room',
  topic: '',
  members: ['alice', 'bob'],
  lastSeq,
  read,
  unread,
  mentions,
  ...extra,
});
