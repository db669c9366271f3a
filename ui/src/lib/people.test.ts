import { expect, test } from 'vitest';
import { newConversation } from './conversations';
import { dmCandidates } from './people';

test('New message: owned names online first, then the members of my rooms and my DM peers, once each, not me, not guests', () => {
  const conversations = {
    general: newConversation('general'),
    ops: newConversation('ops', { members: ['alice', 'Bob', 'zed', 'carol'] }),
    'dm:1': newConversation('dm:1', { members: ['alice', 'dave'] }),
    'dm:2': newConversation('dm:2', { members: ['Alice', 'carol'] }),
  };
  const people = dmCandidates(conversations, ['tut', 'bob', 'alice', 'eve'], new Set(['tut']), 'ALICE');
  expect(people).toEqual([
    { name: 'bob', online: true },
    { name: 'eve', online: true },
    { name: 'carol', online: false },
    { name: 'dave', online: false },
    { name: 'zed', online: false },
  ]);
});
