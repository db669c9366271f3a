// The server's username rules (charla-protocol's rules.rs), checked before asking it. The server
// has the last word: what this accepts it may still refuse (unassigned characters, scripts not
// listed below), but this refuses nothing that the server accepts.
export const MAX_USERNAME_CHARS = 32;

/** Longest request looked at before normalizing (the server's MAX_REQUESTED_CHARS). */
const MAX_REQUESTED_CHARS = MAX_USERNAME_CHARS * 8;

const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
// Default_Ignorable_Code_Point, plus the Braille blank and the musical null notehead (drawn blank).
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800\u{1d159}]/u;
const WHITE_SPACE = /\p{White_Space}/u;
const MARK_STARTING_A_WORD = /(?:^| )\p{M}/u;
// Unassigned here may be a letter to the server, whose Unicode may be newer than this webview's.
const LETTER_OR_DIGIT = /[\p{Alphabetic}\p{N}\p{Cn}]/u;

/** The name the server will show: NFKC of the trimmed request (fullwidth ａｌｉｃｅ is alice). */
export function normalizeUsername(raw: string): string {
  return trim(raw).normalize('NFKC');
}

/** Trims White_Space as Rust's str::trim does; String.prototype.trim would also drop U+FEFF. */
function trim(raw: string): string {
  return raw.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
}

/** Why the server would refuse this username, in words for people; null when it looks fine. */
export function usernameProblem(raw: string): string | null {
  const trimmed = trim(raw);
  if (trimmed.length === 0) return 'Choose a username.';
  if ([...trimmed].length > MAX_REQUESTED_CHARS) return `At most ${MAX_USERNAME_CHARS} characters.`;
  const name = trimmed.normalize('NFKC');
  const chars = [...name];
  if (chars.length === 0) return 'Choose a username.';
  if (chars.length > MAX_USERNAME_CHARS) return `At most ${MAX_USERNAME_CHARS} characters.`;
  for (const c of chars) {
    const problem = characterProblem(c);
    if (problem) return problem;
  }
  if (name.startsWith(' ') || name.endsWith(' ')) return 'No space at the start or the end, please.';
  if (name.includes('  ')) return 'One space between words, please.';
  if (MARK_STARTING_A_WORD.test(name)) return 'An accent needs a letter before it.';
  if (!LETTER_OR_DIGIT.test(name)) return 'Use at least one letter or digit.';
  const scripts = mixedScripts(chars);
  if (scripts) {
    return scripts.length > 1 ? `Use letters of one script, not ${scripts.join(' and ')}.` : 'Use letters of one script.';
  }
  return null;
}

/** The code point as people look it up: U+202E. */
function codePoint(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function characterProblem(c: string): string | null {
  if (/\p{Cc}/u.test(c)) return 'No control characters, please.';
  if (BIDI_CONTROL.test(c)) return `No text-direction controls (${codePoint(c)}), please.`;
  if (INVISIBLE.test(c)) return `No invisible characters (${codePoint(c)}), please.`;
  if (/[\p{Zl}\p{Zp}]/u.test(c)) return `No line or paragraph separators (${codePoint(c)}), please.`;
  if (/\p{Cf}/u.test(c)) return `No formatting characters (${codePoint(c)}), please.`;
  if (/[\p{Co}\p{Cs}]/u.test(c)) return `No private-use characters (${codePoint(c)}), please.`;
  // Unassigned characters are left to the server: this webview's Unicode may be older than its.
  if (c !== ' ' && WHITE_SPACE.test(c)) return `Only plain spaces between words (not ${codePoint(c)}), please.`;
  return null;
}

// Mixed-script detection (UTS #39, resolved script set) over the scripts below; a letter of any
// other script is left to the server. Han goes with Hiragana and Katakana (Japanese), with Hangul
// (Korean) and with Bopomofo, as the server's augmented script sets do.
const SCRIPTS = [
  'Latin', 'Greek', 'Cyrillic', 'Armenian', 'Georgian', 'Hebrew', 'Arabic', 'Syriac', 'Thaana',
  'Devanagari', 'Bengali', 'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil', 'Telugu', 'Kannada',
  'Malayalam', 'Sinhala', 'Thai', 'Lao', 'Tibetan', 'Myanmar', 'Khmer', 'Ethiopic', 'Cherokee',
  'Mongolian', 'Han', 'Hiragana', 'Katakana', 'Hangul', 'Bopomofo', 'Yi',
].map((name) => ({ name, test: new RegExp(`\\p{Script_Extensions=${name}}`, 'u') }));
const ANY_SCRIPT = /[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]/u;
const AUGMENTED: Record<string, string[]> = {
  Han: ['Han+Bopomofo', 'Japanese', 'Korean'],
  Hiragana: ['Japanese'],
  Katakana: ['Japanese'],
  Hangul: ['Korean'],
  Bopomofo: ['Han+Bopomofo'],
};

/** The scripts of a name that mixes them (for the message), or null when it does not. */
function mixedScripts(chars: string[]): string[] | null {
  let common: Set<string> | null = null;
  const seen: string[] = [];
  for (const c of chars) {
    if (ANY_SCRIPT.test(c)) continue;
    const scripts = SCRIPTS.filter((s) => s.test.test(c)).map((s) => s.name);
    if (scripts.length === 0) continue;
    const set = new Set(scripts.flatMap((s) => [s, ...(AUGMENTED[s] ?? [])]));
    const first = scripts[0];
    if (first !== undefined && !seen.includes(first)) seen.push(first);
    const shared: Set<string> = common === null ? set : new Set([...common].filter((s) => set.has(s)));
    if (shared.size === 0) return seen;
    common = shared;
  }
  return null;
}
