// Reading the open conversation: while the window is in front, what is shown of it is read. The
// local counts clear at once; the server's marker (which every device of the name follows)
// moves at most once a second per conversation (lib/readThrottle.ts), to the newest message
// shown. A history reset (`generation`) starts the throttles over; those of conversations no
// longer in `rooms` are dropped.
import { useEffect, useState } from 'react';
import { api } from '../api';
import { newestSeq, type Conversation } from '../lib/conversations';
import type { ChatAction } from '../lib/chatState';
import { ReadThrottles } from '../lib/readThrottle';

interface Options {
  conversation: Conversation | undefined;
  attentive: boolean;
  /** The server keeps read markers (not the tutorial's server, not a guest). */
  serverMarkers: boolean;
  generation: number;
  rooms: Readonly<Record<string, unknown>>;
  dispatch: (actions: ChatAction[]) => void;
}

export function useReadMarker({ conversation, attentive, serverMarkers, generation, rooms, dispatch }: Options): void {
  const [throttles] = useState(() => new ReadThrottles((room, seq) => void api.markRead(room, seq).catch(() => undefined)));

  // A new history (and the end) drops every throttle; declared before the marking below, so
  // what the new history marks is not held back by the old one's.
  useEffect(() => () => throttles.reset(), [throttles, generation]);
  useEffect(() => throttles.keepOnly((room) => Object.hasOwn(rooms, room)), [throttles, rooms]);

  const room = conversation?.room;
  const read = conversation?.read ?? 0;
  const newest = conversation ? newestSeq(conversation) : undefined;

  useEffect(() => {
    if (!room || !attentive || newest === undefined || newest <= read) return;
    dispatch([{ event: 'local:read', room, seq: newest }]);
    if (serverMarkers) throttles.mark(room, newest);
  }, [room, read, newest, attentive, serverMarkers, dispatch, throttles]);
}
