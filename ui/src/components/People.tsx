import { GuestMark } from './GuestMark';

/** Who is online; names nobody owns are marked as guests. */
export function People({ users, guests, me }: { users: string[]; guests: Set<string>; me: string | null }) {
  return (
    <aside className="people" aria-label="People online">
      <h2>Online · {users.length}</h2>
      <ul>
        {users.map((u) => (
          <li key={u}>
            <span className="dot" aria-hidden="true" />
            {u}
            {guests.has(u) ? <GuestMark /> : null}
            {u === me ? <span className="you"> (you)</span> : null}
          </li>
        ))}
      </ul>
    </aside>
  );
}
