// The emoji the picker offers, from Emojibase's English data shipped with the app (a chunk of its
// own, loaded when the picker first opens: nothing is fetched from the network, which the
// window's content policy forbids anyway). Emoji newer than the system's emoji fonts commonly
// draw (Emoji 15.1) are left out, as are the skin-tone components and the regional letters.
import type { EmojiData } from 'frimousse';

/** The newest Emoji version offered. */
const NEWEST = 15.1;
/** Emojibase's "component" group (skin tones, hair styles on their own). */
const COMPONENTS = 2;

let loading: Promise<EmojiData> | null = null;

export function loadEmojiData(): Promise<EmojiData> {
  loading ??= Promise.all([import('emojibase-data/en/data.json'), import('emojibase-data/en/messages.json')]).then(
    ([{ default: emojis }, { default: messages }]) => ({
      locale: 'en',
      categories: messages.groups.filter((g) => g.order !== COMPONENTS).map((g) => ({ index: g.order, label: capitalized(g.message) })),
      emojis: emojis
        .filter((e) => e.group !== undefined && e.group !== COMPONENTS && e.version <= NEWEST)
        .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
        .map((e) => ({ emoji: e.emoji, category: e.group ?? 0, label: capitalized(e.label), version: e.version, tags: e.tags ?? [] })),
      skinTones: { light: '🏻', 'medium-light': '🏼', medium: '🏽', 'medium-dark': '🏾', dark: '🏿' },
    }),
  );
  return loading;
}

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
