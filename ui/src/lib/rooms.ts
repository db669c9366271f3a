// How conversations are named, ordered and described: the sidebar's sections, a DM shown as the
// other person, an entry's counts (in words and as it looks), the server's room-name rule, the
// muted rooms of the configured server.
import type { Config } from '../types';
import { sameName } from './attention';
import { GENERAL, type Conversation } from './conversations';

/** The server's rule for room names, once trimmed and lowercased. */
const ROOM_NAME = /^[a-z0-9_-]{1,32}$/;

/**
 * A room name as typed in the one form the server keeps (charla-protocol's
 * `normalize_room_name`, held to it by rules.cases.json): trimmed of White_Space, ASCII
 * lowercase, 1–32 of a-z, 0-9, `-`, `_`. Null when it cannot be one.
 */
export function normalizeRoomName(typed: string): string | null {
  const name = typed.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '').replace(/[A-Z]/g, (c) => c.toLowerCase());
  return ROOM_NAME.test(name) ? name : null;
}

/** Why the server would refuse this room name, in words for people; null when it looks fine. */
export function roomNameProblem(typed: string): string | null {
  if (normalizeRoomName(typed) !== null) return null;
  const name = typed.trim();
  if (name === '') return 'Choose a name for the room.';
  if (name.toLowerCase().startsWith('dm:')) return 'Names starting with “dm:” are for direct messages.';
  return 'Use up to 32 lowercase letters, digits, “-” or “_”.';
}

/** The other person of a DM (from its members, else from who wrote in it). */
export function dmPeer(c: Conversation, me: string | null): string {
  const other = (name: string) => me === null || !sameName(name, me);
  const member = c.members.find(other);
  if (member) return member;
  for (const item of c.timeline) {
    if (item.kind === 'message' && other(item.message.username)) return item.message.username;
  }
  return 'Direct message';
}

/** The name people know a conversation by: the room's, or the other person's. */
export function displayName(c: Conversation, me: string | null): string {
  return c.kind === 'dm' ? dmPeer(c, me) : c.room;
}

/** As a title: `#ops`, or the other person's name. */
export function titleOf(c: Conversation, me: string | null): string {
  return c.kind === 'dm' ? dmPeer(c, me) : `#${c.room}`;
}

/** Rooms (`general` first, then by name) and DMs (by the other person's name). */
export function sections(conversations: Readonly<Record<string, Conversation>>, me: string | null): { rooms: Conversation[]; dms: Conversation[] } {
  const all = Object.values(conversations);
  const rooms = all
    .filter((c) => c.kind !== 'dm')
    .sort((a, b) => (a.room === GENERAL ? -1 : b.room === GENERAL ? 1 : a.room.localeCompare(b.room)));
  const dms = all
    .filter((c) => c.kind === 'dm')
    .map((c) => ({ c, name: dmPeer(c, me) }))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }))
    .map(({ c }) => c);
  return { rooms, dms };
}

/** Every conversation in the sidebar's order. */
export function ordered(conversations: Readonly<Record<string, Conversation>>, me: string | null): Conversation[] {
  const { rooms, dms } = sections(conversations, me);
  return [...rooms, ...dms];
}

/** What a sidebar entry says after its name: ", 3 unread, 1 mention"; a muted room its mentions only. */
export function countsLabel(unread: number, mentions: number, muted: boolean): string {
  const parts: string[] = [];
  if (muted) {
    parts.push('muted');
    if (unread > 0) parts.push('new messages');
  } else if (unread > 0) {
    parts.push(`${unread} unread`);
  }
  if (mentions > 0) parts.push(`${mentions} mention${mentions === 1 ? '' : 's'}`);
  return parts.map((p) => `, ${p}`).join('');
}

/**
 * How a sidebar entry looks: bold when something unread is there for the user, which in a muted
 * room is a mention only (its name is dimmed otherwise, unread messages or not); its badge is
 * `@2` for mentions, else the unread count, which a muted room does not show.
 */
export function entryLook(unread: number, mentions: number, muted: boolean): { bold: boolean; dim: boolean; badge: string | null } {
  if (mentions > 0) return { bold: true, dim: false, badge: `@${mentions}` };
  if (muted) return { bold: false, dim: true, badge: null };
  return unread > 0 ? { bold: true, dim: false, badge: String(unread) } : { bold: false, dim: false, badge: null };
}

/** The rooms muted on the configured server. */
export function mutedRooms(config: Config): Set<string> {
  return new Set(config.muted[config.serverUrl] ?? []);
}
