// "bob is typing…" under the timeline, for the open conversation; each name a bidi isolate, so
// a name written right to left (or holding an override) does not reorder the words around it.
import { Fragment } from 'react';
import { Name } from './Name';

export function TypingLine({ names }: { names: readonly string[] }) {
  return (
    <p className="typing" aria-live="polite">
      {names.length === 0
        ? '\u00a0'
        : names.map((name, i) => (
            <Fragment key={name}>
              {i > 0 ? ', ' : null}
              <Name name={name} />
            </Fragment>
          ))}
      {names.length === 1 ? ' is typing…' : names.length > 1 ? ' are typing…' : null}
    </p>
  );
}
