import type { ReactNode } from 'react';
import Markdown, { type Components, type ExtraProps } from 'react-markdown';
import { api } from '../api';
import { openableHref } from '../lib/links';
import { MESSAGE_MARKDOWN } from '../lib/markdown';
import { CodeBlock } from './CodeBlock';

/**
 * Message text, its Markdown formatted (lib/markdown.ts says which). The text is never parsed as
 * HTML: what looks like HTML is shown as typed. Only http(s) and mailto links are links, opened
 * in the system browser; a link to anything else is its text. It is a bidi isolate: a
 * right-to-left override in it ends where the message does.
 */
export function MessageText({ text }: { text: string }) {
  return (
    <bdi className="text">
      <Markdown remarkPlugins={MESSAGE_MARKDOWN} components={COMPONENTS} urlTransform={openableOrNothing}>
        {text}
      </Markdown>
    </bdi>
  );
}

/** A link's address as it will be opened, or '' (then it is shown as text: see `a` below). */
function openableOrNothing(url: string): string {
  return openableHref(url) ?? '';
}

/** A heading is a bold line: a `# ` in a chat does not shout. */
function Heading({ children }: { children?: ReactNode }) {
  return (
    <p className="heading">
      <strong>{children}</strong>
    </p>
  );
}

type Element = NonNullable<ExtraProps['node']>;

/** A `pre`'s code and the language its fence names (`language-rust` → rust). */
function codeOf(pre: Element | undefined): { code: string; language: string | null } {
  const code = pre?.children[0];
  if (code?.type !== 'element') return { code: '', language: null };
  const classes = code.properties.className;
  const named = Array.isArray(classes) ? classes.find((c) => String(c).startsWith('language-')) : undefined;
  const text = code.children.map((child) => (child.type === 'text' ? child.value : '')).join('');
  return { code: text.replace(/\n$/u, ''), language: named === undefined ? null : String(named).slice('language-'.length) };
}

const COMPONENTS: Components = {
  a: ({ href, children }) =>
    href ? (
      <a
        href={href}
        onClick={(e) => {
          e.preventDefault();
          void api.openLink(href);
        }}
      >
        {children}
      </a>
    ) : (
      <span className="not-a-link">{children}</span>
    ),
  pre: ({ node }) => <CodeBlock {...codeOf(node)} />,
  table: ({ children }) => (
    <div className="table-scroll" tabIndex={0}>
      <table>{children}</table>
    </div>
  ),
  h1: Heading,
  h2: Heading,
  h3: Heading,
  h4: Heading,
  h5: Heading,
  h6: Heading,
};
