import { describe, expect, test } from 'vitest';
import { normalizeUsername, usernameProblem } from './username';

describe('usernameProblem', () => {
  test('the old rules hold: trimmed, 1–32 characters after NFKC, no control characters', () => {
    expect(usernameProblem('  ')).toBe('Choose a username.');
    expect(usernameProblem('é'.repeat(32))).toBeNull();
    expect(usernameProblem('e\u0301'.repeat(32))).toBeNull();
    expect(usernameProblem('x'.repeat(33))).toMatch('32');
    expect(usernameProblem('\ufb03'.repeat(11))).toMatch('32'); // ﬃ is three letters
    expect(usernameProblem('x'.repeat(10_000))).toMatch('32');
    expect(usernameProblem('a\u0007b')).toMatch('control');
    expect(usernameProblem('tab\tname')).toMatch('control');
  });

  test('fullwidth ａｌｉｃｅ is alice, as the server will show it', () => {
    expect(normalizeUsername(' ａｌｉｃｅ ')).toBe('alice');
    expect(usernameProblem('ａｌｉｃｅ')).toBeNull();
  });

  test('a Cyrillic а in alice is refused as mixed-script', () => {
    expect(usernameProblem('\u0430lice')).toBe('Use letters of one script, not Cyrillic and Latin.');
    expect(usernameProblem('alice \u03b1')).toMatch('one script');
  });

  test('invisible and blank characters are refused', () => {
    for (const name of [
      'ali\u200bce',
      '\u200balice',
      'ali\u200dce',
      'alice\u2060',
      '\ufeffalice',
      'ali\u00adce',
      'alice\ufe0f',
      'alice\u{e0041}',
      '\u115f',
      'alice\u3164',
      '\u3164',
      '\uffa0',
      'alice\u2800',
      '\u2800',
    ]) {
      expect(usernameProblem(name), JSON.stringify(name)).toMatch('invisible');
    }
    expect(usernameProblem('ali\u200bce')).toMatch('U+200B');
  });

  test('bidi controls, the RTL override among them, are refused', () => {
    for (const c of ['\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2069']) {
      expect(usernameProblem(`alice${c}ecila`)).toMatch('text-direction');
    }
    expect(usernameProblem('\u202eecila')).toMatch('U+202E');
  });

  test('line separators and odd spacing are refused', () => {
    expect(usernameProblem('alice\u2028bob')).toMatch('U+2028');
    expect(usernameProblem('alice\u2029bob')).toMatch('separator');
    expect(usernameProblem('alice\u1680bob')).toMatch('plain spaces');
    expect(usernameProblem('alice  bob')).toMatch('One space');
    expect(usernameProblem('alice\u00a0\u00a0bob')).toMatch('One space');
    expect(usernameProblem('alice\u00b4')).toMatch('accent'); // NFKC: ´ is a space and U+0301
    expect(usernameProblem('\u0301alice')).toMatch('accent');
  });

  test('format and private-use characters, and names without a letter or digit, are refused', () => {
    expect(usernameProblem('alice\ufff9')).toMatch('formatting');
    expect(usernameProblem('alice\ue000')).toMatch('private-use');
    expect(usernameProblem('-_-')).toMatch('letter or digit');
  });

  test('ordinary names in one script pass', () => {
    for (const name of [
      'alice',
      'Bob Smith',
      'José',
      'Zoë_92',
      'Иван',
      'Мария-Ивановна',
      '李雷',
      '山田たろう',
      '김민준',
      'Γιώργος',
      'محمد',
      'דוד',
      'राहुल',
      'สมชาย',
      "o'neil.dev",
      'R2-D2',
      'alice 🦀',
      '007',
    ]) {
      expect(usernameProblem(name), name).toBeNull();
      expect(normalizeUsername(name)).toBe(name);
    }
  });
});
