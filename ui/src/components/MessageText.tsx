import { api } from '../api';
import { splitLinks } from '../lib/links';

/**
 * Message text as text nodes; http(s) links open in the system browser. It is a bidi isolate: a
 * right-to-left override in it ends where the message does.
 */
export function MessageText({ text }: { text: string }) {
  return (
    <bdi className="text">
      {splitLinks(text).map((run, i) =>
        run.kind === 'text' ? (
          <span key={i}>{run.text}</span>
        ) : (
          <a
            key={i}
            href={run.href}
            onClick={(e) => {
              e.preventDefault();
              void api.openLink(run.href);
            }}
          >
            {run.text}
          </a>
        ),
      )}
    </bdi>
  );
}
