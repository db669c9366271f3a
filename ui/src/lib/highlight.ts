// Code highlighting for the code blocks of messages: the languages people paste most, each by
// its name or usual alias (rs, js, ts, py, sh, yml, golang, c++, html…). Loaded on the first
// code block (its own chunk, see hooks/useHighlighter.ts). lowlight returns a tree of spans and
// text, never HTML, so code is shown as text like the rest of a message.
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import shell from 'highlight.js/lib/languages/shell';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { createLowlight } from 'lowlight';

const lowlight = createLowlight({ bash, c, cpp, css, diff, go, java, javascript, json, python, rust, shell, sql, typescript, xml, yaml });

/** Highlighted code: spans with highlight.js's class names, and text. */
export type Highlighted = ReturnType<typeof lowlight.highlight>;

/** `code` highlighted as `language` (a name or an alias), or null for a language not known here. */
export function highlight(code: string, language: string): Highlighted | null {
  return lowlight.registered(language) ? lowlight.highlight(language, code) : null;
}
