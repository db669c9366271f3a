// A message's Markdown: each construct people type, what stays text (HTML, images, headings'
// size), which links are links and how they open, and code blocks highlighted.
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openableHref } from '../lib/links';
import { MessageText } from './MessageText';

let opened: string[] = [];

beforeEach(() => {
  opened = [];
  mockIPC((cmd, args) => {
    if (cmd === 'plugin:opener|open_url') opened.push(String((args as { url: string }).url));
    return null;
  });
});
afterEach(async () => {
  cleanup();
  await new Promise((r) => setTimeout(r, 0));
  clearMocks();
});

function shown(text: string): HTMLElement {
  const { container } = render(<MessageText text={text} />);
  return container.querySelector('bdi.text') as HTMLElement;
}

describe('plain text', () => {
  test('is one paragraph of text nodes in the bidi isolate, its line breaks and spaces kept', () => {
    const text = shown('hello  there\nsecond line');
    expect(text.tagName).toBe('BDI');
    expect(text.children).toHaveLength(1);
    const p = text.firstElementChild as HTMLElement;
    expect(p.tagName).toBe('P');
    expect(p.childElementCount).toBe(0);
    expect(p.textContent).toBe('hello  there\nsecond line');
  });

  test('characters Markdown would use, mid-word or alone, stay as typed', () => {
    const typed = 'snake_case_name, 2 * 3, ~5 min~, C# and #general, 1) and 2.';
    expect(shown(typed).textContent).toBe(typed);
  });
});

describe('the constructs people type', () => {
  test('bold, italic, strikethrough and inline code', () => {
    const text = shown('**bold** *italic* _also_ ~~gone~~ `x = 1`');
    expect(text.querySelector('strong')).toHaveTextContent(/^bold$/);
    expect([...text.querySelectorAll('em')].map((e) => e.textContent)).toEqual(['italic', 'also']);
    expect(text.querySelector('del')).toHaveTextContent(/^gone$/);
    expect(text.querySelector('p > code')).toHaveTextContent(/^x = 1$/);
  });

  test('a block quote, a bulleted list, a numbered one and a nested item', () => {
    const text = shown('> quoted\n\n- one\n- two\n  - inner\n\n1. first\n2. second');
    expect(text.querySelector('blockquote')).toHaveTextContent('quoted');
    expect([...text.querySelectorAll(':scope > ul > li')].map((li) => li.firstChild?.textContent)).toEqual(['one', 'two']);
    expect(text.querySelector('ul ul li')).toHaveTextContent('inner');
    expect([...text.querySelectorAll('ol > li')].map((li) => li.textContent)).toEqual(['first', 'second']);
  });

  test('a code block without a language: its text as typed, no language shown', () => {
    const text = shown('```\nlet a = <b>;\n  indented\n```');
    expect(text.querySelector('pre code')?.textContent).toBe('let a = <b>;\n  indented');
    expect(text.querySelector('.code-language')).toBeNull();
    expect(text.querySelector('b')).toBeNull();
  });

  test('a code block with a language: the language shown, the code highlighted, the text unchanged', async () => {
    const text = shown('```rust\nfn main() {\n    println!("hi");\n}\n```');
    expect(text.querySelector('.code-language')).toHaveTextContent(/^rust$/);
    const code = text.querySelector('pre code') as HTMLElement;
    await waitFor(() => expect(code).toHaveClass('hljs', 'language-rust'));
    expect(code.querySelector('.hljs-keyword')).toHaveTextContent(/^fn$/);
    expect(code.querySelector('.hljs-string')).toHaveTextContent('"hi"');
    expect(code.textContent).toBe('fn main() {\n    println!("hi");\n}');
  });

  test('a language named by its alias is highlighted; one not known here is named and left plain', async () => {
    const text = shown('```ts\nconst a: number = 1;\n```\n\n```cobol\nDISPLAY "HI".\n```');
    const [ts, cobol] = [...text.querySelectorAll('pre code')] as HTMLElement[];
    await waitFor(() => expect(ts?.querySelector('.hljs-keyword')).toHaveTextContent('const'));
    expect([...text.querySelectorAll('.code-language')].map((l) => l.textContent)).toEqual(['ts', 'cobol']);
    expect(cobol?.childElementCount).toBe(0);
    expect(cobol?.textContent).toBe('DISPLAY "HI".');
  });

  test('a code block scrolls by keyboard too: it can take the focus, and reads left to right', () => {
    const text = shown('```\nx\n```');
    expect(text.querySelector('pre')).toHaveAttribute('tabindex', '0');
    expect(text.querySelector('.code-block')).toHaveAttribute('dir', 'ltr');
  });

  test('a table sits in a box that scrolls sideways', () => {
    const text = shown('| a | b |\n|---|---|\n| 1 | 2 |');
    expect(text.querySelector('.table-scroll > table th')).toHaveTextContent('a');
    expect(text.querySelector('td')).toHaveTextContent('1');
  });
});

describe('what stays text', () => {
  test('HTML is shown as typed, never made into elements', () => {
    const html = '<img src=x onerror="alert(1)"><b>bold</b> <script>alert(2)</script>';
    const text = shown(`${html}\n\n<div>\n<iframe src="https://e.example"></iframe>\n</div>`);
    expect(text.querySelector('img, b, script, div, iframe')).toBeNull();
    expect(text.firstElementChild).toHaveTextContent(html);
    expect(text).toHaveTextContent('<iframe src="https://e.example"></iframe>');
  });

  test('an image is its link, never an image fetched', () => {
    const text = shown('![a cat](https://e.example/cat.png)');
    expect(text.querySelector('img')).toBeNull();
    expect(within(text).getByRole('link', { name: 'a cat' })).toHaveAttribute('href', 'https://e.example/cat.png');
  });

  test('a heading is a bold line, not a heading', () => {
    const text = shown('# Big news\nmore\n\n## smaller');
    expect(text.querySelector('h1, h2, h3, h4, h5, h6')).toBeNull();
    expect([...text.querySelectorAll('p > strong')].map((s) => s.textContent)).toEqual(['Big news', 'smaller']);
  });

  test('nothing typed vanishes: indented lines, task boxes, link definitions and footnotes stay text', () => {
    const typed = ['    four spaces', '- [ ] todo', '[1]: https://e.example/ref', 'see[^n]', '[^n]: the note'];
    const text = shown(typed.join('\n\n'));
    expect(text.querySelector('pre, input, sup, section')).toBeNull();
    expect(text).toHaveTextContent('four spaces');
    expect(text.querySelector('li')).toHaveTextContent(/^\[ \] todo$/);
    for (const line of typed.slice(2)) expect(text).toHaveTextContent(line);
  });
});

describe('links', () => {
  test('bare http(s) addresses and email addresses are links, trailing punctuation left out', () => {
    const text = shown('see https://e.example/a?b=1. or http://e.example/x), www.e.example and ana@e.example');
    expect(within(text).getAllByRole('link').map((a) => a.getAttribute('href'))).toEqual([
      'https://e.example/a?b=1',
      'http://e.example/x',
      'http://www.e.example/',
      'mailto:ana@e.example',
    ]);
  });

  test('http, https and mailto links open through the opener, in the system browser', async () => {
    const text = shown('[site](https://e.example/s) [plain](http://e.example/p) [mail](mailto:ana@e.example) <https://e.example/auto>');
    for (const link of within(text).getAllByRole('link')) fireEvent.click(link);
    await waitFor(() => expect(opened).toHaveLength(4));
    expect(opened).toEqual(['https://e.example/s', 'http://e.example/p', 'mailto:ana@e.example', 'https://e.example/auto']);
  });

  test('javascript:, data:, file:, relative and fragment links are their text, not links', async () => {
    const text = shown(
      '[a](javascript:alert(1)) [b](JavaScript:alert(1)) [c](data:text/html,<x>) [d](file:///etc/passwd) [e](/settings) [f](#top) [g](ftp://e.example) [h](vbscript:x)',
    );
    expect(within(text).queryAllByRole('link')).toHaveLength(0);
    expect(text.querySelector('a')).toBeNull();
    const spans = [...text.querySelectorAll('.not-a-link')];
    expect(spans.map((s) => s.textContent)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    for (const s of spans) fireEvent.click(s);
    await new Promise((r) => setTimeout(r, 0));
    expect(opened).toEqual([]);
  });

  test('the rule: absolute http(s) and mailto only, the scheme in lowercase', () => {
    expect(openableHref('HTTPS://E.example/a')).toBe('https://e.example/a');
    expect(openableHref('mailto:ana@e.example')).toBe('mailto:ana@e.example');
    for (const bad of ['javascript:alert(1)', 'java\tscript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'tel:123', '/relative', '#top', 'e.example', 'http://']) {
      expect(openableHref(bad), bad).toBeNull();
    }
  });
});

describe('in the timeline', () => {
  test('a formatted message keeps its one isolate: an override inside a code span ends with the message', () => {
    const text = shown('**look** `\u202Ehere`');
    expect(screen.getByText('\u202Ehere').closest('bdi')).toBe(text);
  });
});
