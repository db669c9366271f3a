import { afterEach, describe, expect, test } from 'vitest';
import type { ChatMessage } from '../types';
import { loadEmojiData } from './emojiData';
import { DEFAULT_EMOJI, changeLabel, lastEditable, noteEmoji, pinnedCount, reactionLabel, recentEmoji } from './living';
import type { TimelineItem } from './timeline';

const item = (seq: number, extra: Partial<ChatMessage> = {}): TimelineItem => ({
  kind: 'message',
  key: `s${seq}`,
  message: { id: `m${seq}`, username: 'alice', text: `m${seq}`, timestamp: '2026-12-01T10:00:00.000Z', seq, ...extra },
});

afterEach(() => localStorage.clear());

describe('living messages as the window shows them', () => {
  test('a reaction says its emoji, count and who, in order', () => {
    expect(reactionLabel({ emoji: '👍', names: ['ana', 'bo'] })).toBe('👍 2: ana, bo');
  });

  test('a failed change is named by what it did', () => {
    expect(changeLabel({ op: 'edit', text: 'x' })).toBe('Edit');
    expect(changeLabel({ op: 'react', emoji: '🎉', on: false })).toBe('Taking back 🎉');
    expect(changeLabel({ op: 'pin', pinned: false })).toBe('Unpin');
  });

  test("Up edits the newest of one's own messages that is not deleted and has a seq", () => {
    const timeline = [item(1, { own: true }), item(2, { own: true, deleted: true }), item(3), item(4, { own: true, seq: undefined })];
    expect(lastEditable(timeline)?.seq).toBe(1);
    expect(lastEditable([item(3)])).toBeNull();
  });

  test('the pinned count is of loaded messages pinned and not deleted', () => {
    const pinned = { by: 'bo', at: '2026-12-01T10:00:00.000Z' };
    expect(pinnedCount([item(1, { pinned }), item(2), item(3, { pinned, deleted: true })])).toBe(1);
  });

  test('the emoji used lately come first, once each, then the defaults', () => {
    expect(recentEmoji()).toEqual(DEFAULT_EMOJI.slice(0, 8));
    noteEmoji('🦀');
    noteEmoji('👍');
    noteEmoji('🦀');
    expect(recentEmoji().slice(0, 3)).toEqual(['🦀', '👍', '❤️']);
    localStorage.setItem('charla:recent-emoji', '{not json');
    expect(recentEmoji()).toEqual(DEFAULT_EMOJI.slice(0, 8));
  });

  test("the picker's emoji: no components or regional letters, none newer than 15.1, labelled", async () => {
    const data = await loadEmojiData();
    expect(data.emojis.length).toBeGreaterThan(1500);
    expect(data.emojis.every((e) => e.version <= 15.1 && e.category !== 2 && e.label !== '')).toBe(true);
    expect(data.emojis.find((e) => e.emoji === '🎉')?.label).toBe('Party popper');
    expect(data.categories.map((c) => c.label)).toContain('Smileys & emotion');
  });
});
