/**
 * A fenced code block of a message: its language named above it, left to right whatever the
 * message's direction. It scrolls sideways rather than widen the timeline, so it can take the
 * focus (to scroll by keyboard).
 */
export function CodeBlock({ code, language }: { code: string; language: string | null }) {
  return (
    <div className="code-block" dir="ltr">
      {language ? <div className="code-language">{language}</div> : null}
      <pre tabIndex={0}>
        <code>{code}</code>
      </pre>
    </div>
  );
}
