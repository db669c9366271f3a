// Whose a message is and whom it names, by the tray's rules (src-tauri/src/attention.rs and
// counts.rs): names compare Unicode-lowercased on both sides; a message with a `seq` names
// whom the server's `mentions` say, one without (the tutorial's server) whoever's name stands
// in its text as a whole word.
import type { ChatMessage } from '../types';

export function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Written by this user: their name, and not a guest using it. */
export function isOwn(message: ChatMessage, me: string | null): boolean {
  return me !== null && !message.guest && sameName(message.username, me);
}

/** Whether a message names `me`: the server's `mentions` when it has a `seq`, else its text. */
export function mentionsMe(message: ChatMessage, me: string | null): boolean {
  if (!me) return false;
  if (message.seq !== undefined) return (message.mentions ?? []).some((m) => sameName(m, me));
  return mentionsName(message.text, me);
}

/** Rust's `char::is_alphanumeric`, `_` and `-`: what a name may not touch to be a word. */
const WORD = /^[\p{Alphabetic}\p{N}_-]$/u;

function isWord(char: string | undefined): boolean {
  return char !== undefined && WORD.test(char);
}

/**
 * `username` as a whole word in `text`, case-insensitively (`@name` too): as Rust's
 * `attention::mentions`, matches are looked for left to right without overlapping.
 */
export function mentionsName(text: string, username: string): boolean {
  const name = username.trim().toLowerCase();
  if (name === '') return false;
  const haystack = text.toLowerCase();
  for (let at = haystack.indexOf(name); at !== -1; at = haystack.indexOf(name, at + name.length)) {
    const end = at + name.length;
    // Two code units hold the code point on either side, whether or not it is a surrogate pair.
    const before = Array.from(haystack.slice(Math.max(0, at - 2), at)).pop();
    const after = Array.from(haystack.slice(end, end + 2))[0];
    if (!isWord(before) && !isWord(after)) return true;
  }
  return false;
}
