// The UI's copies of the app's rules against the one table both run (rules.cases.json; the Rust
// side is src-tauri/src/cases.rs): names compared as one, room names and usernames as typed, one
// conversation's counts.
import { describe, expect, test } from 'vitest';
import { roomState } from '../test-fixtures';
import type { ChatMessage } from '../types';
import { sameName } from './attention';
import { applyReadMarker, applyRoomState, countMessage, newConversation } from './conversations';
import cases from './rules.cases.json';
import { normalizeRoomName } from './rooms';
import { normalizeUsername, usernameProblem } from './username';

interface Step {
  message?: { seq?: number; own?: boolean; mentionsMe?: boolean; seen?: boolean };
  marker?: { read: number; unread: number; mentions: number; seen?: boolean };
  expect: { unread: number; mentions: number };
}

describe('rules.cases.json', () => {
  test.each(cases.sameName as [string, string, boolean][])('%s and %s are one name: %s', (a, b, same) => {
    expect(sameName(a, b)).toBe(same);
    expect(sameName(b, a)).toBe(same);
  });

  test.each(cases.roomName as [string, string | null][])('room name %j is kept as %j', (typed, kept) => {
    expect(normalizeRoomName(typed)).toBe(kept);
  });

  test.each(cases.username as [string, string | null][])('username %j is shown as %j', (typed, shown) => {
    if (shown === null) expect(usernameProblem(typed)).not.toBeNull();
    else expect({ problem: usernameProblem(typed), name: normalizeUsername(typed) }).toEqual({ problem: null, name: shown });
  });

  test.each(cases.counting.map((c) => [c.what, c] as const))('counting: %s', (_what, { room, steps }) => {
    let c = applyRoomState(newConversation('r'), roomState('r', room.lastSeq, room.lastSeq - room.unread, room.unread, room.mentions));
    (steps as Step[]).forEach((step, i) => {
      if (step.message) {
        const { seen = false, ...marks } = step.message;
        const message: ChatMessage = { id: `m${i}`, username: 'bob', text: '', timestamp: '2026-11-26T10:00:00.000Z', ...marks };
        c = countMessage(c, message, seen);
      }
      if (step.marker) {
        const { seen = false, ...marker } = step.marker;
        c = applyReadMarker(c, { room: 'r', ...marker }, seen);
      }
      expect({ step: i + 1, unread: c.unread, mentions: c.mentions }).toEqual({ step: i + 1, ...step.expect });
    });
  });
});
