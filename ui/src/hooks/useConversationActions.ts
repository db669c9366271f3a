// What the window asks of the app about conversations, and how each answer lands in the chat
// state: opening one (joining it first when it is not here yet), older pages, a gap's messages,
// the newest page again, jumping to a search result, topic, mute and leave. Failures go to
// `onError` (the banner); dialogs show their own.
import { useCallback, useRef, useState, type RefObject } from 'react';
import { api, toAppError } from '../api';
import type { ChatAction, ChatState } from '../lib/chatState';
import { newestSeq, pageBefore, type Conversation } from '../lib/conversations';
import type { Config, RoomEntered, SearchHit } from '../types';

/** A page when scrolling back. */
const PAGE = 50;
/** A page when looking for a message. */
const JUMP_PAGE = 200;
/** How many pages a jump loads at most. */
const JUMP_PAGES = 10;

export interface Highlight {
  room: string;
  seq: number;
  token: number;
}

interface Options {
  state: RefObject<ChatState>;
  dispatch: (actions: ChatAction[]) => void;
  /** Applies an action after the client's events already waiting (see useEventBatcher). */
  enqueue: (action: ChatAction) => void;
  onError: (message: string) => void;
  onConfig: (config: Config) => void;
}

const hasSeq = (c: Conversation | undefined, seq: number) =>
  c?.timeline.some((item) => item.kind === 'message' && item.message.seq === seq) ?? false;

export function useConversationActions({ state, dispatch, enqueue, onError, onConfig }: Options) {
  const [highlight, setHighlight] = useState<Highlight | null>(null);
  const [jumpNotice, setJumpNotice] = useState<string | null>(null);
  const inFlight = useRef(new Map<string, number>());
  const fail = useRef(onError);
  fail.current = onError;
  const report = useCallback((e: unknown) => fail.current(toAppError(e).message), []);

  const entered = useCallback((answer: RoomEntered) => dispatch([{ event: 'local:entered', entered: answer }]), [dispatch]);

  const open = useCallback(
    async (room: string) => {
      setJumpNotice(null);
      if (state.current.conversations[room]) {
        dispatch([{ event: 'local:open', room }]);
        return true;
      }
      try {
        entered(await api.joinRoom(room));
        return true;
      } catch (e) {
        report(e);
        return false;
      }
    },
    [dispatch, entered, report, state],
  );

  /**
   * Loads the page before `before` (null: before the oldest loaded message; skipped while one
   * is on its way). A jump's pages (`force`) go anyway: a page that comes twice is shown once.
   * With `replace`, the page replaces what was loaded (see `local:replace`).
   */
  const page = useCallback(
    async (room: string, before: number | null, limit: number, { force = false, replace = false } = {}) => {
      const c = state.current.conversations[room];
      const from = before ?? (c ? pageBefore(c) : null);
      if (from === null || (inFlight.current.has(room) && !force)) return null;
      inFlight.current.set(room, (inFlight.current.get(room) ?? 0) + 1);
      dispatch([{ event: 'local:loading', room, loading: true }]);
      try {
        const answer = await api.loadHistory(room, from, limit);
        dispatch([{ event: replace ? 'local:replace' : 'local:history', room, before: from, page: answer }]);
        return { answer, before: from };
      } catch (e) {
        dispatch([{ event: 'local:loading', room, loading: false }]);
        report(e);
        return null;
      } finally {
        const left = (inFlight.current.get(room) ?? 1) - 1;
        if (left > 0) inFlight.current.set(room, left);
        else inFlight.current.delete(room);
      }
    },
    [dispatch, report, state],
  );

  const loadOlder = useCallback(() => {
    const room = state.current.current;
    if (state.current.conversations[room]?.hasMore) void page(room, null, PAGE);
  }, [page, state]);

  /** The newest page again, for a conversation whose newest were dropped (paging back past its bound). */
  const loadNewest = useCallback(() => {
    const room = state.current.current;
    const c = state.current.conversations[room];
    if (c?.newerMissing) void page(room, c.lastSeq + 1, PAGE, { force: true, replace: true });
  }, [page, state]);

  const loadGap = useCallback(
    (gap: { from: number; to: number }) => void page(state.current.current, gap.to + 1, Math.min(JUMP_PAGE, gap.to - gap.from + 1)),
    [page, state],
  );

  /** Opens the message's conversation (a search result, a pinned message) and loads pages until it is there. */
  const jumpTo = useCallback(
    async (hit: Pick<SearchHit, 'room' | 'seq'>) => {
      if (!(await open(hit.room))) return;
      let c = state.current.conversations[hit.room];
      let found = hasSeq(c, hit.seq);
      const oldest = c ? pageBefore(c) : hit.seq + 1;
      if (!found && hit.seq >= oldest) {
        // Between loaded messages (a gap not loaded), or among the newest, not loaded while
        // older ones are shown: the page that ends with it (instead of what is loaded, then).
        const replace = c !== undefined && c.newerMissing && hit.seq > (newestSeq(c) ?? 0);
        const got = await page(hit.room, hit.seq + 1, JUMP_PAGE, { force: true, replace });
        found = got?.answer.messages.some((m) => m.seq === hit.seq) ?? false;
      }
      let before = oldest;
      for (let i = 0; !found && i < JUMP_PAGES && before > 1 && hit.seq < before; i += 1) {
        if (state.current.current !== hit.room) return;
        const got = await page(hit.room, before, JUMP_PAGE, { force: true });
        if (!got) break;
        found = got.answer.messages.some((m) => m.seq === hit.seq);
        const first = got.answer.messages[0]?.seq;
        if (!got.answer.more || first === undefined || first >= before) break;
        before = first;
      }
      // Gone elsewhere meanwhile: coming back later restores the place, not this jump.
      if (state.current.current !== hit.room) return;
      c = state.current.conversations[hit.room];
      if (found || hasSeq(c, hit.seq)) setHighlight({ room: hit.room, seq: hit.seq, token: Date.now() });
      else setJumpNotice('That message is too far back to show here.');
    },
    [open, page, state],
  );

  const setTopic = useCallback(
    async (room: string, topic: string) => {
      try {
        await api.setTopic(room, topic);
        dispatch([{ event: 'local:topic', room, topic }]);
        return true;
      } catch (e) {
        report(e);
        return false;
      }
    },
    [dispatch, report],
  );

  const setMuted = useCallback(
    (room: string, muted: boolean) => {
      api.setRoomMuted(room, muted).then(onConfig, report);
    },
    [onConfig, report],
  );

  // After the events already waiting: messages of the room queued before it was left must not
  // make it again.
  const left = useCallback((room: string) => enqueue({ event: 'local:left', room }), [enqueue]);

  /** The list scrolled to the message asked for: it is not asked for again (coming back restores the place). */
  const highlighted = useCallback((token: number) => setHighlight((h) => (h?.token === token ? null : h)), []);

  return { highlight, highlighted, jumpNotice, entered, open, loadOlder, loadNewest, loadGap, jumpTo, setTopic, setMuted, left };
}
