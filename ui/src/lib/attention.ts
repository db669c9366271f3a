// Whose a message is and whom it names are the app's to say (src-tauri/src/whose.rs): every
// message the window receives carries `own` and `mentionsMe`, decided by the rule the tray
// counts with. Names in lists (people, members, a DM's other person) compare by `nameKey`, the
// server's key as near as JavaScript comes, held to it by rules.cases.json (run by Rust too).
import type { ChatMessage } from '../types';

/**
 * One code point case-folded: lower, upper, lower again reaches the fold's class for all but
 * the dotless ı, which folds to itself (upper-casing would make it an I). One at a time, so no
 * final-sigma rule applies.
 */
function foldCodePoint(c: string): string {
  return c === 'ı' ? c : c.toLowerCase().toUpperCase().toLowerCase();
}

function fold(s: string): string {
  return Array.from(s, foldCodePoint).join('');
}

/**
 * The key under which names are one, as the server's `username_key` (compatibility caseless:
 * `Straße` and `STRASSE`, `ǅ` and `dž`, `ｂｏｂ` and `Bob`): NFD, fold, NFKD, fold, NFKC.
 */
export function nameKey(name: string): string {
  return fold(fold(name.normalize('NFD')).normalize('NFKD')).normalize('NFKC');
}

export function sameName(a: string, b: string): boolean {
  return a === b || nameKey(a) === nameKey(b);
}

/** Written by this user (the app marked it). */
export function isOwn(message: ChatMessage): boolean {
  return message.own === true;
}

/** Names this user (the app marked it). */
export function mentionsMe(message: ChatMessage): boolean {
  return message.mentionsMe === true;
}
