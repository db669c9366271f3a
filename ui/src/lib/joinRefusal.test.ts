import { describe, expect, test } from 'vitest';
import { nameRefusalMessage, nameRefusalOf } from './joinRefusal';

describe('name refusals', () => {
  test('the three that send the user back to the name form say why; others do not', () => {
    expect(nameRefusalMessage('invalid_link', 'ana')).toBe('That link code is wrong, used already or expired.');
    expect(nameRefusalMessage('name_released', 'ana')).toBe('An operator released this name. Pick a name to join again.');
    expect(nameRefusalMessage('name_owned', 'ana')).toMatch(/^“ana” belongs to someone else\./);
    expect(nameRefusalMessage('username_taken', 'ana')).toBeNull();
  });

  test('only a join refused for good counts', () => {
    const refused = { event: 'status', state: 'disconnected', reason: 'x', cause: { kind: 'joinRefused', code: 'name_released' } } as const;
    expect(nameRefusalOf(refused, 'ana')).toMatch('operator');
    expect(nameRefusalOf({ ...refused, cause: { kind: 'connectRefused' } }, 'ana')).toBeNull();
    expect(nameRefusalOf({ event: 'error', code: 'name_owned', message: 'x' }, 'ana')).toBeNull();
  });
});
