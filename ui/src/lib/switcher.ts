// The quick switcher's matching: names starting with what was typed first, then names
// containing it, each group in the order given; case-insensitive; a leading `#` or `@` is the
// way people write names, not part of them.
export function matchNames<T extends { name: string }>(query: string, entries: readonly T[]): T[] {
  const q = query.trim().replace(/^[#@]/u, '').toLowerCase();
  if (q === '') return [...entries];
  const prefix: T[] = [];
  const inside: T[] = [];
  for (const entry of entries) {
    const name = entry.name.toLowerCase();
    if (name.startsWith(q)) prefix.push(entry);
    else if (name.includes(q)) inside.push(entry);
  }
  return [...prefix, ...inside];
}
