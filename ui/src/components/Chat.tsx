import { useEffect, useReducer, useState } from 'react';
import { api, toAppError } from '../api';
import { useClientEvents } from '../hooks/useClientEvents';
import { useEventBatcher } from '../hooks/useEventBatcher';
import { chatBatchReducer, initialChatState } from '../lib/chatState';
import { nameRefusalOf } from '../lib/joinRefusal';
import type { Config } from '../types';
import { Banner } from './Banner';
import { Composer } from './Composer';
import { ProfileForm } from './FirstRun';
import { ForgetDevice } from './ForgetDevice';
import { LinkCodeSection } from './LinkCodeSection';
import { MessageList } from './MessageList';
import { People } from './People';
import { PreferencesForm } from './PreferencesForm';
import { markEvent } from '../lib/perfMarks';

function describe(e: unknown): string {
  return toAppError(e).message;
}

/**
 * The chat window: banner, conversation, people, composer. `onConfig` takes a new profile (or,
 * once this device is forgotten, one without a name); `onNameRefused` says why the server
 * refused the name for good.
 */
export function Chat({
  config,
  draft,
  onConfig,
  onPreferences,
  onNameRefused,
}: {
  config: Config;
  draft: string;
  onConfig: (c: Config) => void;
  onPreferences: (c: Config) => void;
  onNameRefused: (message: string) => void;
}) {
  const [state, dispatchBatch] = useReducer(chatBatchReducer, initialChatState);
  const dispatch = useEventBatcher(dispatchBatch);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);

  // Listen first, then start the session, so no event is missed.
  useClientEvents((event) => {
    markEvent(event);
    const refusal = nameRefusalOf(event, config.username ?? '');
    if (refusal) onNameRefused(refusal);
    dispatch(event);
  }, () => {
    api.startSession().catch((e: unknown) => setNotice(describe(e)));
  });

  // Ctrl+W (Cmd+W) hides the window to the tray, as chat apps do; the chat keeps running.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'w') {
        e.preventDefault();
        void api.hideWindow();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const typing = state.typing.filter((u) => u !== state.me);
  const name = state.me ?? config.username ?? '';
  return (
    <div className="chat">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span>Charla</span>
          <span className="server">{config.serverUrl}</span>
        </div>
        <div className="top-actions">
          <button type="button" onClick={() => void api.hideWindow()} title="Hide to the tray (Ctrl+W)">
            Hide
          </button>
          <button type="button" onClick={() => setEditing(true)} aria-label="Settings">
            ⚙ Settings
          </button>
        </div>
      </header>
      <Banner status={state.status} onRetry={() => void api.reconnectNow()} />
      {notice || state.lastError ? (
        <div className="banner banner-error" role="alert">
          <span>{notice ?? state.lastError}</span>
          <button type="button" onClick={() => setNotice(null)}>
            Dismiss
          </button>
        </div>
      ) : null}
      <div className="body">
        <main className="conversation">
          <MessageList
            timeline={state.timeline}
            outbox={state.outbox}
            me={state.me ?? config.username}
            onRetry={(id) => void api.retryMessage(id).catch((e: unknown) => setNotice(describe(e)))}
            onDiscard={(id) => void api.discardMessage(id).catch((e: unknown) => setNotice(describe(e)))}
          />
          <p className="typing" aria-live="polite">
            {typing.length === 1 ? `${typing[0]} is typing…` : typing.length > 1 ? `${typing.join(', ')} are typing…` : '\u00a0'}
          </p>
          <Composer initialDraft={draft} onError={setNotice} />
        </main>
        <People users={state.users} guests={state.guests} me={state.me} />
      </div>
      {editing ? (
        <div className="dialog-backdrop">
          <div className="dialog" role="dialog" aria-modal="true" aria-labelledby="profile-title">
            <ProfileForm
              initial={config}
              title="Settings"
              submitLabel="Save and reconnect"
              withLinkCode
              onCancel={() => setEditing(false)}
              onSaved={(saved) => {
                setEditing(false);
                onConfig(saved);
              }}
            />
            <PreferencesForm config={config} onSaved={onPreferences} />
            <LinkCodeSection username={name} />
            <ForgetDevice username={name} onForgotten={onConfig} />
          </div>
        </div>
      ) : null}
    </div>
  );
}
