// The server's username rules (charla-protocol's rules.rs), checked before asking it.
export const MAX_USERNAME_CHARS = 32;

export function usernameProblem(raw: string): string | null {
  const name = raw.trim();
  const chars = [...name].length;
  if (chars === 0) return 'Choose a username.';
  if (chars > MAX_USERNAME_CHARS) return `At most ${MAX_USERNAME_CHARS} characters.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/u.test(name)) return 'No control characters, please.';
  return null;
}
