// Whose a message is and whom it names are the app's to say (src-tauri/src/whose.rs): every
// message the window receives carries `own` and `mentionsMe`, decided by the rule the tray
// counts with. Names in lists (people, members, a DM's other person) compare by `sameName`.
import type { ChatMessage } from '../types';

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Written by this user (the app marked it). */
export function isOwn(message: ChatMessage): boolean {
  return message.own === true;
}

/** Names this user (the app marked it). */
export function mentionsMe(message: ChatMessage): boolean {
  return message.mentionsMe === true;
}
