// The people matching an `@` being typed in the composer. Focus stays in the composer (the
// options are its active descendant); a click chooses too.
import { Name } from './Name';

interface Props {
  id: string;
  names: string[];
  active: number;
  onChoose: (name: string) => void;
  onHover: (index: number) => void;
}

export function MentionList({ id, names, active, onChoose, onHover }: Props) {
  return (
    <ul className="mention-list" id={id} role="listbox" aria-label="People to mention">
      {names.map((name, i) => (
        <li
          key={name}
          id={`${id}-${i}`}
          role="option"
          aria-selected={i === active}
          className={i === active ? 'active' : undefined}
          onMouseDown={(e) => e.preventDefault()}
          onMouseEnter={() => onHover(i)}
          onClick={() => onChoose(name)}
        >
          <span>
            @<Name name={name} />
          </span>
        </li>
      ))}
    </ul>
  );
}
