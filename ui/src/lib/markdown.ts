// The Markdown of a chat message: what people type in other chats (emphasis, strikethrough,
// code, fenced code blocks, quotes, lists, links, tables), and nothing that would make text
// typed in passing vanish or turn into something else.
import type { Options } from 'react-markdown';
import remarkGfm from 'remark-gfm';

/**
 * Constructs of CommonMark and GFM that stay text:
 * - HTML (`htmlFlow`, `htmlText`): never parsed, shown as typed.
 * - Images: `![alt](url)` is a `!` and a link, so no remote image is ever fetched.
 * - Indented code: four spaces at the start of a line are not a code block (fences are).
 * - Link reference definitions and footnotes: a line like `[1]: https://…` would vanish.
 * - Task list boxes: `- [ ] x` is a list item that reads `[ ] x`, not a form control.
 */
const TEXT_ONLY = [
  'htmlFlow',
  'htmlText',
  'labelStartImage',
  'codeIndented',
  'definition',
  'gfmFootnoteDefinition',
  'gfmFootnoteCall',
  'gfmPotentialFootnoteCall',
  'tasklistCheck',
];

/** Turns off the constructs above (micromark's `disable`, as remark's parser reads it). */
function chatMarkdown(this: { data(): object }) {
  const data = this.data() as { micromarkExtensions?: unknown[] };
  (data.micromarkExtensions ??= []).push({ disable: { null: TEXT_ONLY } });
}

/** The parser's plugins for a message. A single `~` strikes nothing ("~5 min"); `~~` does. */
export const MESSAGE_MARKDOWN: NonNullable<Options['remarkPlugins']> = [[remarkGfm, { singleTilde: false }], chatMarkdown];
