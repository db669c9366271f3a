// The counting rules the sidebar shares with the tray (src-tauri/src/counts.rs, notify.rs).
import { describe, expect, test } from 'vitest';
import type { ChatMessage, ClientEvent } from '../types';
import { roomState } from '../test-fixtures';
import { chatBatchReducer, initialChatState, type ChatAction, type ChatState } from './chatState';
import type { Conversation } from './conversations';

const m = (seq: number | undefined, text = `m${seq}`, extra: Partial<ChatMessage> = {}): ChatMessage => ({
  id: `id${seq}`,
  username: 'bob',
  text,
  timestamp: '2026-11-26T10:00:00.000Z',
  ...(seq === undefined ? {} : { seq }),
  ...extra,
});
const joined = (username = 'alice', owned = true): ClientEvent => ({ event: 'joined', username, users: [username, 'bob'], owned, history: [] });
const withRooms: ClientEvent = { event: 'rooms', rooms: [roomState('general', 0, 0, 0), roomState('ops', 10, 7, 3, 1)] };
const run = (...actions: ChatAction[]) => chatBatchReducer(initialChatState, actions);
const conv = (state: ChatState, room: string) => state.conversations[room] as Conversation;
const counts = (c: Conversation | undefined) => c && { read: c.read, unread: c.unread, mentions: c.mentions };

describe('counting', () => {
  test('a guest is not taken for an owner until the join says so', () => {
    expect(initialChatState.owned).toBe(false);
    expect(run(joined('alice', true)).owned).toBe(true);
  });

  test("own messages and mentions are the app's marks (src-tauri/src/whose.rs), not the names'", () => {
    let state = run(joined('Straße'), withRooms);
    state = chatBatchReducer(state, [
      { event: 'message', ...m(11, 'hey', { mentions: ['STRASSE'], mentionsMe: true }), room: 'ops' },
      { event: 'message', ...m(12, 'hey straße', { mentions: ['straße'] }), room: 'ops' },
    ]);
    expect(counts(conv(state, 'ops'))).toEqual({ read: 7, unread: 5, mentions: 2 });
    state = chatBatchReducer(state, [{ event: 'message', ...m(13, 'not mine', { username: 'straße' }), room: 'ops' }]);
    expect(counts(conv(state, 'ops'))).toEqual({ read: 7, unread: 6, mentions: 2 });
    state = chatBatchReducer(state, [{ event: 'message', ...m(14, 'mine', { username: 'STRASSE', own: true }), room: 'ops' }]);
    expect(counts(conv(state, 'ops'))).toEqual({ read: 14, unread: 0, mentions: 0 });
  });

  test('without a seq: every message of others counts, in a conversation unknown until then too', () => {
    const state = run(
      joined(),
      withRooms,
      { event: 'message', ...m(undefined, 'hi @Alice!', { mentionsMe: true }) },
      { event: 'message', ...m(undefined, 'malice') },
      { event: 'message', ...m(undefined, 'alice?', { mentionsMe: true }), room: 'elsewhere' },
      { event: 'message', ...m(undefined, 'me', { username: 'alice', own: true }), room: 'quiet' },
    );
    expect(counts(conv(state, 'general'))).toEqual({ read: 0, unread: 2, mentions: 1 });
    expect(counts(conv(state, 'elsewhere'))).toEqual({ read: 0, unread: 1, mentions: 1 });
    expect(counts(conv(state, 'quiet'))).toEqual({ read: 0, unread: 0, mentions: 0 });
  });

  test('a message with a seq of a room not among mine, once my rooms are known, is dropped (no phantom)', () => {
    const state = run(joined(), withRooms, { event: 'message', ...m(5), room: 'ghost' }, { event: 'gap', room: 'ghost', from: 1, to: 4, kept: true });
    expect(state.conversations.ghost).toBeUndefined();
    // A guest's, or before the room states: history of a room now known.
    const guest = run(joined('alice', false), withRooms, { event: 'message', ...m(5), room: 'other' });
    expect(counts(guest.conversations.other)).toEqual({ read: 0, unread: 0, mentions: 0 });
  });

  test('a room left is not made again by its messages still on their way', () => {
    const state = run(joined(), withRooms, { event: 'message', ...m(11), room: 'ops' }, { event: 'local:left', room: 'ops' }, { event: 'message', ...m(12), room: 'ops' });
    expect(state.conversations.ops).toBeUndefined();
  });

  test('a read marker: for a known conversation only; the read position never goes back', () => {
    let state = run(joined(), withRooms, { event: 'readMarker', room: 'nowhere', read: 3, unread: 1, mentions: 1 });
    expect(state.conversations.nowhere).toBeUndefined();
    state = chatBatchReducer(state, [{ event: 'readMarker', room: 'ops', read: 5, unread: 2, mentions: 0 }]);
    expect(counts(conv(state, 'ops'))).toEqual({ read: 7, unread: 2, mentions: 0 });
    state = chatBatchReducer(state, [{ event: 'readMarker', room: 'ops', read: 12, unread: 1, mentions: 1 }]);
    expect(counts(conv(state, 'ops'))).toEqual({ read: 12, unread: 1, mentions: 1 });
    expect(conv(state, 'ops').lastSeq).toBe(12);
  });

  test('the echo of our own marker does not bring the count back while the conversation is read', () => {
    let state = run(joined(), withRooms, { event: 'local:attention', attentive: true }, { event: 'local:open', room: 'ops' });
    state = chatBatchReducer(state, [
      { event: 'message', ...m(11), room: 'ops' },
      // Our throttled marker, sent at 9, comes back after 11 was read here.
      { event: 'readMarker', room: 'ops', read: 9, unread: 2, mentions: 1 },
    ]);
    expect(counts(conv(state, 'ops'))).toMatchObject({ unread: 0, mentions: 0 });
    // Not in front: the marker's counts.
    state = chatBatchReducer(state, [{ event: 'local:attention', attentive: false }, { event: 'readMarker', room: 'ops', read: 9, unread: 2, mentions: 1 }]);
    expect(counts(conv(state, 'ops'))).toMatchObject({ unread: 2, mentions: 1 });
  });

  test('general is never removed by its room update (the server lists no members for it)', () => {
    const state = run(joined(), withRooms, { event: 'roomUpdated', room: 'general', kind: 'room', topic: 'all', members: [], lastSeq: 0 });
    expect(conv(state, 'general').topic).toBe('all');
    const gone = chatBatchReducer(state, [{ event: 'roomUpdated', room: 'ops', kind: 'room', topic: '', members: ['bob'], lastSeq: 10 }]);
    expect(gone.conversations.ops).toBeUndefined();
  });
});
