/** Who is online. */
export function People({ users, me }: { users: string[]; me: string | null }) {
  return (
    <aside className="people" aria-label="People online">
      <h2>Online · {users.length}</h2>
      <ul>
        {users.map((u) => (
          <li key={u}>
            <span className="dot" aria-hidden="true" />
            {u}
            {u === me ? <span className="you"> (you)</span> : null}
          </li>
        ))}
      </ul>
    </aside>
  );
}
