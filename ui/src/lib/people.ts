// Whom "New message" offers a direct message with: the owned names online first, then the
// names known from this user's conversations (the members of its rooms, its DM peers), each
// once whatever its case (the server's key), never this user nor a guest (a name nobody owns).
import { nameKey, sameName } from './attention';
import { GENERAL, type Conversation } from './conversations';

export interface Candidate {
  name: string;
  online: boolean;
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { sensitivity: 'base' });

export function dmCandidates(
  conversations: Readonly<Record<string, Conversation>>,
  users: readonly string[],
  guests: ReadonlySet<string>,
  me: string | null,
): Candidate[] {
  const guestKeys = new Set([...guests].map(nameKey));
  const taken = new Set<string>();
  const out: Candidate[] = [];
  const add = (name: string, online: boolean) => {
    const key = nameKey(name);
    if (taken.has(key) || guestKeys.has(key) || (me !== null && sameName(name, me))) return;
    taken.add(key);
    out.push({ name, online });
  };
  for (const name of [...users].sort(byName)) add(name, true);
  // `general` lists no members (everyone is in it): who is in it is the online list.
  const known = Object.values(conversations).flatMap((c) => (c.room === GENERAL ? [] : c.members));
  for (const name of known.sort(byName)) add(name, false);
  return out;
}
