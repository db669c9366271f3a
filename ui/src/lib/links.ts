// Which links in a message may be opened: absolute http(s) and mailto addresses only. Anything
// else (javascript:, data:, file:, a relative path, a fragment) stays text, never a link.
const OPENABLE = new Set(['http:', 'https:', 'mailto:']);

/**
 * The address to open for a link written in a message, or null when it is not one that may be
 * opened. Its scheme is written in lowercase, as the window's capability expects.
 */
export function openableHref(href: string): string | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null; // not absolute
  }
  return OPENABLE.has(url.protocol) ? url.href : null;
}
