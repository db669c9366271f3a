import { expect, test } from 'vitest';
import { newConversation } from './conversations';
import { countsLabel, entryLook, roomNameProblem, sections } from './rooms';

test("sidebar sections: general first then by name; DMs by the other person's name", () => {
  const conversations = {
    zed: newConversation('zed'),
    general: newConversation('general'),
    ops: newConversation('ops'),
    'dm:2': newConversation('dm:2', { members: ['alice', 'zoe'] }),
    'dm:1': newConversation('dm:1', { members: ['Bob', 'alice'] }),
  };
  const { rooms, dms } = sections(conversations, 'alice');
  expect(rooms.map((c) => c.room)).toEqual(['general', 'ops', 'zed']);
  expect(dms.map((c) => c.room)).toEqual(['dm:1', 'dm:2']);
});

test('accessible names carry the counts; a muted room its mentions only', () => {
  expect(countsLabel(3, 1, false)).toBe(', 3 unread, 1 mention');
  expect(countsLabel(0, 0, false)).toBe('');
  expect(countsLabel(5, 2, true)).toBe(', muted, new messages, 2 mentions');
  expect(countsLabel(0, 0, true)).toBe(', muted');
});

test('a muted room is dimmed, bold only for mentions, and shows its mentions only', () => {
  expect(entryLook(3, 0, false)).toEqual({ bold: true, dim: false, badge: '3' });
  expect(entryLook(3, 1, false)).toEqual({ bold: true, dim: false, badge: '@1' });
  expect(entryLook(0, 0, false)).toEqual({ bold: false, dim: false, badge: null });
  expect(entryLook(3, 0, true)).toEqual({ bold: false, dim: true, badge: null });
  expect(entryLook(3, 2, true)).toEqual({ bold: true, dim: false, badge: '@2' });
});

test('a refused room name says why in words; which names are refused is rules.cases.json\'s', () => {
  expect(roomNameProblem(' Ops-2_b ')).toBeNull();
  expect(roomNameProblem('  ')).toBe('Choose a name for the room.');
  expect(roomNameProblem('dm:3')).toBe('Names starting with “dm:” are for direct messages.');
  expect(roomNameProblem('x'.repeat(33))).toBe('Use up to 32 lowercase letters, digits, “-” or “_”.');
});
