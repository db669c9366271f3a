// Mention autocomplete in the composer: the `@name` being typed before the caret, the people who
// match it, and the text once one is chosen. Names may contain spaces, so what was typed may
// too, as long as someone's name still starts with it.
export interface MentionQuery {
  /** Where the `@` is. */
  start: number;
  /** What follows it, up to the caret. */
  query: string;
}

const MAX_QUERY = 32;

/** The mention being typed at `caret`, or null: an `@` at the start or after a space. */
export function mentionAt(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const at = before.lastIndexOf('@');
  if (at === -1) return null;
  if (at > 0 && !/\s/u.test(before[at - 1] ?? '')) return null;
  const query = before.slice(at + 1);
  if (query.length > MAX_QUERY || /[\n@]/u.test(query) || query.startsWith(' ')) return null;
  return { start: at, query };
}

/** The names starting with `query` (case-insensitive), at most `limit`, in the order given. */
export function mentionCandidates(query: string, names: readonly string[], limit = 8): string[] {
  const q = query.toLowerCase();
  return names.filter((n) => n.toLowerCase().startsWith(q)).slice(0, limit);
}

/** The text with the mention replaced by `@name ` and where the caret goes. */
export function insertMention(text: string, caret: number, mention: MentionQuery, name: string): { text: string; caret: number } {
  const inserted = `@${name} `;
  const after = text.slice(caret).replace(/^ /u, '');
  return { text: text.slice(0, mention.start) + inserted + after, caret: mention.start + inserted.length };
}
