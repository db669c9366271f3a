// The code highlighter (lib/highlight.ts), loaded once, when the first code block with a
// language is shown: it is most of the Markdown's weight and most messages hold no code. Until
// it arrives the code is plain text; then it is highlighted (the same text, so the row keeps
// its height).
import { useEffect, useState } from 'react';
import type * as Highlighter from '../lib/highlight';

let loaded: typeof Highlighter | null = null;
let loading: Promise<typeof Highlighter | null> | null = null;

function load(): Promise<typeof Highlighter | null> {
  loading ??= import('../lib/highlight').then(
    (module) => (loaded = module),
    (error: unknown) => {
      console.warn('the code highlighter did not load; code stays plain', error);
      return null;
    },
  );
  return loading;
}

/** The highlighter once it is loaded (at once if it already was), when `wanted`. */
export function useHighlighter(wanted: boolean): typeof Highlighter | null {
  const [highlighter, setHighlighter] = useState(loaded);
  useEffect(() => {
    if (!wanted || highlighter) return;
    let live = true;
    void load().then((module) => {
      if (live && module) setHighlighter(module);
    });
    return () => {
      live = false;
    };
  }, [wanted, highlighter]);
  return wanted ? highlighter : null;
}
