// Which ends of a session send the user back to choosing a name, and what to tell them. Other
// refusals stay in the chat's banner, with its Retry.
import type { ClientEvent, ErrorCode } from '../types';

/** What to say when the server refused the name for good; null when the chat can carry on. */
export function nameRefusalMessage(code: ErrorCode, username: string): string | null {
  switch (code) {
    case 'name_owned':
      return `“${username}” belongs to someone else. Pick another name, or link this computer with a code from one of your other computers.`;
    case 'invalid_link':
      return 'That link code is wrong, used already or expired.';
    case 'name_released':
      return 'An operator released this name. Pick a name to join again.';
    default:
      return null;
  }
}

/** The message for an event that ends the session over the name, or null for any other event. */
export function nameRefusalOf(event: ClientEvent, username: string): string | null {
  if (event.event !== 'status' || event.state !== 'disconnected' || event.cause.kind !== 'joinRefused') return null;
  return nameRefusalMessage(event.cause.code, username);
}
