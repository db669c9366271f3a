// The chat window: the conversations (sidebar), the open one (header, timeline, composer), its
// people, and the dialogs (browse, new room, new message, jump to, search, leave, settings, the
// pinned messages, a reaction's picker, deleting a message).
import { useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { api, toAppError } from '../api';
import { useAttention } from '../hooks/useAttention';
import { useClientEvents } from '../hooks/useClientEvents';
import { useConversationActions } from '../hooks/useConversationActions';
import { useEventBatcher } from '../hooks/useEventBatcher';
import { useReadMarker } from '../hooks/useReadMarker';
import { useMessageActions } from '../hooks/useMessageActions';
import { useShortcuts } from '../hooks/useShortcuts';
import { useTauriEvent } from '../hooks/useTauriEvent';
import { sameName } from '../lib/attention';
import { chatBatchReducer, initialChatState, type ChatAction } from '../lib/chatState';
import { GENERAL, newConversation } from '../lib/conversations';
import { nameRefusalOf } from '../lib/joinRefusal';
import { lastEditable, pinnedCount } from '../lib/living';
import { dmCandidates } from '../lib/people';
import { markEvent } from '../lib/perfMarks';
import { displayName, mutedRooms, ordered, titleOf } from '../lib/rooms';
import type { ClientEvent, Config, RoomEntered } from '../types';
import { Arrivals } from './Arrivals';
import { Banner } from './Banner';
import { BrowseRoomsDialog } from './BrowseRoomsDialog';
import { Composer } from './Composer';
import { DeleteMessageDialog } from './DeleteMessageDialog';
import { LeaveDialog } from './LeaveDialog';
import { MessageList, type ScrollMemory } from './MessageList';
import { NewMessageDialog } from './NewMessageDialog';
import { NewRoomDialog } from './NewRoomDialog';
import { People } from './People';
import { PinnedDialog } from './PinnedDialog';
import { QuickSwitcher } from './QuickSwitcher';
import { ReactionPicker } from './ReactionPicker';
import { RoomHeader } from './RoomHeader';
import { SearchDialog } from './SearchDialog';
import { SettingsDialog } from './SettingsDialog';
import { Sidebar } from './Sidebar';
import { TypingLine } from './TypingLine';

type DialogKind = 'settings' | 'browse' | 'newRoom' | 'newMessage' | 'switcher' | 'search' | 'leave' | 'pinned';

const lastRoomKey = (serverUrl: string) => `charla:last-conversation:${serverUrl}`;

function lastRoom(serverUrl: string): string | null {
  try {
    return localStorage.getItem(lastRoomKey(serverUrl));
  } catch {
    return null;
  }
}

/**
 * `drafts`: the saved drafts, by room. `onConfig` takes a new profile (or, once this device is
 * forgotten, one without a name); `onPreferences` a config that changes nothing about the
 * connection; `onNameRefused` says why the server refused the name for good.
 */
export function Chat({
  config,
  drafts,
  onConfig,
  onPreferences,
  onNameRefused,
}: {
  config: Config;
  drafts: Partial<Record<string, string>>;
  onConfig: (c: Config) => void;
  onPreferences: (c: Config) => void;
  onNameRefused: (message: string) => void;
}) {
  const [state, dispatch] = useReducer(chatBatchReducer, initialChatState);
  const dispatchEvent = useEventBatcher<ChatAction>(dispatch);
  const stateRef = useRef(state);
  stateRef.current = state;
  const [notice, setNotice] = useState<string | null>(null);
  const [dialog, setDialog] = useState<DialogKind | null>(null);
  // The drafts while the window is open (each is saved to disk as it changes).
  const [draftsByRoom] = useState(() => new Map(Object.entries(drafts).flatMap(([room, text]) => (text ? [[room, text] as const] : []))));
  const scrolls = useRef(new Map<string, ScrollMemory>());
  const [sent, setSent] = useState(0);
  const [startRoom] = useState(() => lastRoom(config.serverUrl));
  const wanted = useRef(startRoom);
  const attentive = useAttention();
  const actions = useConversationActions({ state: stateRef, dispatch, enqueue: dispatchEvent, onError: setNotice, onConfig: onPreferences });
  const [composerFocus, setComposerFocus] = useState(0);
  const messageActions = useMessageActions({ room: state.current, onError: setNotice, onDone: () => setComposerFocus((n) => n + 1) });

  // Listen first, then start the session, so no event is missed.
  useClientEvents(
    (event: ClientEvent) => {
      markEvent(event);
      const refusal = nameRefusalOf(event, config.username ?? '');
      if (refusal) onNameRefused(refusal);
      dispatchEvent(event);
    },
    () => {
      api.startSession().catch((e: unknown) => setNotice(toAppError(e).message));
    },
  );

  const openRoom = (room: string) => {
    wanted.current = null;
    setDialog(null);
    void actions.open(room);
  };

  // A notification was clicked: its conversation opens.
  useTauriEvent(api.onOpenConversation, openRoom);

  useEffect(() => dispatch([{ event: 'local:attention', attentive }]), [attentive]);

  // The app counts and notifies for the conversations not shown; the next start opens this one.
  const { current: shown, conversations, roomsKnown, owned, me: joinedAs } = state;
  useEffect(() => {
    void api.showConversation(shown).catch(() => undefined);
    try {
      localStorage.setItem(lastRoomKey(config.serverUrl), shown);
    } catch {
      // No storage: the next start opens `general`.
    }
  }, [shown, config.serverUrl]);

  // The conversation open last time, once it is known to be one of this name's.
  useEffect(() => {
    const room = wanted.current;
    if (!room) return;
    if (conversations[room]) {
      wanted.current = null;
      if (room !== shown) dispatch([{ event: 'local:open', room }]);
    } else if (roomsKnown || (joinedAs !== null && !owned)) {
      // Not among this name's rooms, or joined as a guest (who has `general` only).
      wanted.current = null;
    }
  }, [conversations, roomsKnown, owned, joinedAs, shown]);

  const conversation = state.conversations[state.current] ?? newConversation(state.current);
  const serverMarkers = state.status.state === 'connected' && !state.status.compat && state.owned;
  useReadMarker({ conversation, attentive, serverMarkers, generation: state.generation, rooms: state.conversations, dispatch });

  const list = useMemo(() => ordered(state.conversations, state.me), [state.conversations, state.me]);
  const step = (by: 1 | -1) => {
    const at = list.findIndex((c) => c.room === state.current);
    const next = list[(at + by + list.length) % list.length];
    if (next && next.room !== state.current) openRoom(next.room);
  };
  useShortcuts({
    // Ctrl+K again closes the switcher; over another dialog it does nothing.
    switcher: () => setDialog((d) => (d === 'switcher' ? null : (d ?? 'switcher'))),
    search: () => setDialog((d) => (d === null ? 'search' : d)),
    step: (by) => dialog === null && step(by),
    hide: () => void api.hideWindow(),
  });

  const enteredFromDialog = (answer: RoomEntered) => {
    wanted.current = null;
    setDialog(null);
    actions.entered(answer);
  };

  const me = state.me ?? config.username;
  const muted = mutedRooms(config);
  const general = state.current === GENERAL;
  const online = new Set(state.users);
  const people = general || conversation.members.length === 0 ? state.users : conversation.members;
  const othersHere = people.filter((u) => me === null || !sameName(u, me));
  const typing = conversation.typing.filter((u) => u !== state.me);
  const title = titleOf(conversation, me);
  const outbox = useMemo(() => state.outbox.filter((entry) => (entry.room ?? GENERAL) === shown), [state.outbox, shown]);
  const failedChanges = useMemo(() => state.changes.filter((c) => c.state === 'failed' && (c.room ?? GENERAL) === shown), [state.changes, shown]);
  const pinned = useMemo(() => pinnedCount(conversation.timeline), [conversation.timeline]);
  const retry = (id: string) => void api.retryMessage(id).catch((e: unknown) => setNotice(toAppError(e).message));
  const discard = (id: string) => void api.discardMessage(id).catch((e: unknown) => setNotice(toAppError(e).message));
  const error = notice ?? state.lastError;

  return (
    <div className="chat">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span>Charla</span>
          <span className="server">{config.serverUrl}</span>
        </div>
        <div className="top-actions">
          <button type="button" onClick={() => setDialog('switcher')} title="Jump to a conversation (Ctrl+K)">
            Jump to…
          </button>
          <button type="button" onClick={() => void api.hideWindow()} title="Hide to the tray (Ctrl+W)">
            Hide
          </button>
          <button type="button" onClick={() => setDialog('settings')} aria-label="Settings">
            ⚙ Settings
          </button>
        </div>
      </header>
      <Banner status={state.status} onRetry={() => void api.reconnectNow()} />
      {error ? (
        <div className="banner banner-error" role="alert">
          <span>{error}</span>
          <button
            type="button"
            onClick={() => {
              setNotice(null);
              dispatch([{ event: 'local:dismissError' }]);
            }}
          >
            Dismiss
          </button>
        </div>
      ) : null}
      <div className="body">
        <Sidebar
          conversations={state.conversations}
          current={state.current}
          me={me}
          owned={state.owned}
          guest={state.me !== null && !state.owned}
          muted={muted}
          onOpen={openRoom}
          onBrowse={() => setDialog('browse')}
          onNewRoom={() => setDialog('newRoom')}
          onNewMessage={() => setDialog('newMessage')}
        />
        <main className="conversation" aria-labelledby="room-title">
          <RoomHeader
            conversation={conversation}
            me={me}
            owned={state.owned}
            people={people.length}
            muted={muted.has(state.current)}
            onSetTopic={(topic) => actions.setTopic(state.current, topic)}
            onToggleMute={() => actions.setMuted(state.current, !muted.has(state.current))}
            onLeave={() => setDialog('leave')}
            onSearch={() => setDialog('search')}
            pinned={pinned}
            onPinned={() => setDialog('pinned')}
          />
          {actions.jumpNotice ? (
            <p className="jump-notice" role="status" data-testid="jump-notice">
              {actions.jumpNotice}
            </p>
          ) : null}
          <MessageList
            key={`list:${state.current}`}
            room={state.current}
            title={title}
            timeline={conversation.timeline}
            outbox={outbox}
            failedChanges={failedChanges}
            editing={messageActions.editing}
            me={me}
            dividerAfter={state.divider.room === state.current ? state.divider.after : null}
            hasMore={conversation.hasMore}
            newerMissing={conversation.newerMissing}
            loading={conversation.loading}
            highlight={actions.highlight?.room === state.current ? actions.highlight : null}
            onHighlighted={actions.highlighted}
            sent={sent}
            saved={scrolls.current.get(state.current)}
            onLeave={(memory) => scrolls.current.set(conversation.room, memory)}
            onLoadOlder={actions.loadOlder}
            onLoadNewest={actions.loadNewest}
            onLoadGap={actions.loadGap}
            onRetry={retry}
            onDiscard={discard}
            {...messageActions.actions}
          />
          <Arrivals arrival={state.arrival} room={state.current} />
          <TypingLine names={typing} />
          <Composer
            key={`composer:${state.current}`}
            room={state.current}
            title={title}
            initialDraft={draftsByRoom.get(state.current) ?? ''}
            people={othersHere}
            onDraft={(room, text) => draftsByRoom.set(room, text)}
            onSent={() => setSent((n) => n + 1)}
            onError={setNotice}
            focusToken={composerFocus}
            onEditLast={() => {
              const last = lastEditable(conversation.timeline);
              if (last) messageActions.startEditing(last);
              return last !== null;
            }}
          />
        </main>
        <People
          title={general ? 'Online' : 'Members'}
          people={people}
          online={online}
          guests={state.guests}
          me={state.me}
          canMessage={state.owned}
          onMessage={(username) => {
            setDialog(null);
            api.openDm(username).then(actions.entered, (e: unknown) => setNotice(toAppError(e).message));
          }}
        />
      </div>
      {dialog === 'settings' ? (
        <SettingsDialog config={config} username={me ?? ''} onClose={() => setDialog(null)} onConfig={onConfig} onPreferences={onPreferences} />
      ) : null}
      {dialog === 'browse' ? <BrowseRoomsDialog onClose={() => setDialog(null)} onEntered={enteredFromDialog} onOpen={openRoom} /> : null}
      {dialog === 'newRoom' ? <NewRoomDialog onClose={() => setDialog(null)} onEntered={enteredFromDialog} /> : null}
      {dialog === 'newMessage' ? (
        <NewMessageDialog
          people={dmCandidates(state.conversations, state.users, state.guests, me)}
          onClose={() => setDialog(null)}
          onEntered={enteredFromDialog}
        />
      ) : null}
      {dialog === 'switcher' ? (
        <QuickSwitcher
          entries={list.map((c) => ({ room: c.room, name: displayName(c, me), dm: c.kind === 'dm', unread: c.unread, mentions: c.mentions }))}
          onChoose={openRoom}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog === 'search' ? (
        <SearchDialog
          current={state.current}
          nameOf={(room) => {
            const c = state.conversations[room];
            return c ? titleOf(c, me) : `#${room}`;
          }}
          onChoose={(hit) => {
            wanted.current = null;
            setDialog(null);
            void actions.jumpTo(hit);
          }}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {dialog === 'pinned' ? (
        <PinnedDialog
          room={state.current}
          title={title}
          onChoose={(message) => {
            setDialog(null);
            void actions.jumpTo(message);
          }}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {messageActions.picking ? <ReactionPicker onPick={messageActions.picked} /> : null}
      {messageActions.deleting ? <DeleteMessageDialog onAnswer={messageActions.confirmDelete} /> : null}
      {dialog === 'leave' ? (
        <LeaveDialog
          room={state.current}
          title={title}
          onClose={() => setDialog(null)}
          onLeft={(room) => {
            setDialog(null);
            actions.left(room);
          }}
        />
      ) : null}
    </div>
  );
}
