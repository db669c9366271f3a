// The people of the open conversation: for `general` who is online, for a room or a DM its
// members (with who of them is online). Names nobody owns are marked as guests; any other
// owned name can be sent a direct message.
import { sameName } from '../lib/attention';
import { GuestMark } from './GuestMark';
import { Name } from './Name';

interface Props {
  /** The heading: "Online" for `general`, "Members" otherwise. */
  title: string;
  people: string[];
  online: Set<string>;
  guests: Set<string>;
  me: string | null;
  /** Direct messages can be opened (this device owns its name). */
  canMessage: boolean;
  onMessage: (username: string) => void;
}

export function People({ title, people, online, guests, me, canMessage, onMessage }: Props) {
  return (
    <aside className="people" aria-label="People">
      <h2>
        {title} · {people.length}
      </h2>
      <ul>
        {people.map((u) => {
          const mine = me !== null && sameName(u, me);
          const here = online.has(u);
          return (
            <li key={u} className={here ? undefined : 'away'}>
              <span className={here ? 'dot' : 'dot offline'} aria-hidden="true" />
              <Name className="person" name={u} />
              {here ? null : <span className="sr-only"> (offline)</span>}
              {guests.has(u) ? <GuestMark /> : null}
              {mine ? <span className="you"> (you)</span> : null}
              {canMessage && !mine && !guests.has(u) ? (
                <button type="button" className="small" aria-label={`Message ${u}`} onClick={() => onMessage(u)}>
                  Message
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
