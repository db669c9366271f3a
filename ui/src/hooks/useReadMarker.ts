// Reading the open conversation: while the window is in front, what is shown of it is read. The
// local counts clear at once; the server's marker (which every device of the name follows)
// moves at most once a second per conversation, the last position of a burst sent at its end.
import { useEffect, useRef } from 'react';
import { api } from '../api';
import { newestSeq, type Conversation } from '../lib/conversations';
import type { ChatAction } from '../lib/chatState';

const INTERVAL_MS = 1000;

type Throttle = { last: number; timer?: ReturnType<typeof setTimeout>; seq: number };

/** `serverMarkers`: the server keeps read markers (not the tutorial's server, not a guest). */
export function useReadMarker(
  conversation: Conversation | undefined,
  attentive: boolean,
  serverMarkers: boolean,
  dispatch: (actions: ChatAction[]) => void,
): void {
  const throttles = useRef(new Map<string, Throttle>());

  useEffect(
    () => () => {
      for (const t of throttles.current.values()) clearTimeout(t.timer);
    },
    [],
  );

  const room = conversation?.room;
  const read = conversation?.read ?? 0;
  const newest = conversation ? newestSeq(conversation) : undefined;

  useEffect(() => {
    if (!room || !attentive || newest === undefined || newest <= read) return;
    dispatch([{ event: 'local:read', room, seq: newest }]);
    if (!serverMarkers) return;
    const send = (seq: number) => void api.markRead(room, seq).catch(() => undefined);
    const t = throttles.current.get(room) ?? { last: -Infinity, seq: 0 };
    throttles.current.set(room, t);
    t.seq = Math.max(t.seq, newest);
    if (t.timer !== undefined) return;
    const wait = t.last + INTERVAL_MS - Date.now();
    if (wait <= 0) {
      t.last = Date.now();
      send(t.seq);
      return;
    }
    t.timer = setTimeout(() => {
      t.timer = undefined;
      t.last = Date.now();
      send(t.seq);
    }, wait);
  }, [room, read, newest, attentive, serverMarkers, dispatch]);
}
