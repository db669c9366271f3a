// Maps by room name. Room names are the server's (`[a-z0-9_-]`), so `constructor` and
// `__proto__` are rooms too: these maps have no prototype, so every key is only itself.

/** A map by room name, with `from`'s entries. */
export function roomMap<T>(from?: Readonly<Record<string, T>>): Record<string, T> {
  const map = Object.create(null) as Record<string, T>;
  if (from) Object.assign(map, from);
  return map;
}
