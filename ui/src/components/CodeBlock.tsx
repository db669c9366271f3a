import { useMemo, type ReactNode } from 'react';
import { useHighlighter } from '../hooks/useHighlighter';
import type { Highlighted } from '../lib/highlight';

/**
 * A fenced code block of a message: its language named above it, the code highlighted when the
 * language is one the highlighter knows, left to right whatever the message's direction. It
 * scrolls sideways rather than widen the timeline, so it can take the focus (to scroll by
 * keyboard).
 */
export function CodeBlock({ code, language }: { code: string; language: string | null }) {
  const highlighter = useHighlighter(language !== null);
  const tree = useMemo(() => (language && highlighter ? highlighter.highlight(code, language) : null), [highlighter, code, language]);
  return (
    <div className="code-block" dir="ltr">
      {language ? <div className="code-language">{language}</div> : null}
      <pre tabIndex={0}>
        <code className={tree ? `hljs language-${language}` : undefined}>{tree ? spans(tree.children) : code}</code>
      </pre>
    </div>
  );
}

type Node = Highlighted['children'][number];

/** The highlighter's tree as spans and text nodes (it holds nothing else). */
function spans(nodes: readonly Node[]): ReactNode[] {
  return nodes.map((node, i) => {
    if (node.type === 'text') return node.value;
    if (node.type !== 'element') return null;
    const className = node.properties.className;
    return (
      <span key={i} className={Array.isArray(className) ? className.join(' ') : undefined}>
        {spans(node.children)}
      </span>
    );
  });
}
