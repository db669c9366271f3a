import { expect, test } from 'vitest';
import { newConversation } from './conversations';
import { entryLabel, roomNameProblem, sections } from './rooms';

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
  expect(entryLabel('ops', 3, 1, false)).toBe('ops, 3 unread, 1 mention');
  expect(entryLabel('ops', 0, 0, false)).toBe('ops');
  expect(entryLabel('ops', 5, 2, true)).toBe('ops, muted, new messages, 2 mentions');
});

test("room names follow the server's rule", () => {
  expect(roomNameProblem('ops-2_b')).toBeNull();
  expect(roomNameProblem('')).not.toBeNull();
  expect(roomNameProblem('Ops')).not.toBeNull();
  expect(roomNameProblem('x'.repeat(33))).not.toBeNull();
  expect(roomNameProblem('dm:3')).not.toBeNull();
});
