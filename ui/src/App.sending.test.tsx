// Sending: the composer's keys, pending and failed messages, drafts; the connection banner.
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import type { OutboxEntry } from './types';
import { installAppHooks, setup, called, send, renderChat, message } from './test-app';

installAppHooks();

describe('sending', () => {
  test('Enter sends, Shift+Enter adds a line; pending then delivered', async () => {
    const user = userEvent.setup();
    await renderChat();
    const box = screen.getByLabelText('Message');
    await user.type(box, 'first line{Shift>}{Enter}{/Shift}second');
    expect(called('send_message')).toHaveLength(0);
    await user.keyboard('{Enter}');
    await waitFor(() => expect(called('send_message')).toHaveLength(1));
    expect(called('send_message')[0]?.args).toEqual({ room: 'general', text: 'first line\nsecond' });
    expect(box).toHaveValue('');

    const pending: OutboxEntry = { clientId: 'c1', text: 'first line\nsecond', createdAt: new Date().toISOString(), state: 'pending' };
    await send({ event: 'outbox', entries: [pending], changes: [] });
    expect(screen.getByTestId('unsent')).toHaveAttribute('data-state', 'pending');
    expect(screen.getByTestId('unsent')).toHaveTextContent('Sending…');

    await send({ event: 'message', ...message(1, 'alice', 'first line\nsecond'), clientId: 'c1' });
    await send({ event: 'outbox', entries: [], changes: [] });
    expect(screen.queryByTestId('unsent')).not.toBeInTheDocument();
    expect(screen.getAllByTestId('message')).toHaveLength(1);
  });

  test('a failed message shows the reason, and can be retried or discarded', async () => {
    const user = userEvent.setup();
    await renderChat();
    await send({
      event: 'outbox',
      entries: [{ clientId: 'c9', text: 'too much', createdAt: new Date().toISOString(), state: 'failed', code: 'message_too_long', message: 'messages are limited to 4000 characters' }],
      changes: [],
    });
    const unsent = screen.getByTestId('unsent');
    expect(unsent).toHaveAttribute('data-state', 'failed');
    expect(within(unsent).getByRole('alert')).toHaveTextContent('messages are limited to 4000 characters');
    await user.click(within(unsent).getByRole('button', { name: 'Retry' }));
    await user.click(within(unsent).getByRole('button', { name: 'Discard' }));
    expect(called('retry_message')[0]?.args).toEqual({ clientId: 'c9' });
    expect(called('discard_message')[0]?.args).toEqual({ clientId: 'c9' });
  });

  test('the draft is restored and saved as you type', async () => {
    setup({ drafts: { general: 'half a thought' } });
    const user = userEvent.setup();
    await renderChat();
    const box = screen.getByLabelText('Message');
    expect(box).toHaveValue('half a thought');
    await user.type(box, '!');
    await waitFor(() => expect(called('save_draft').at(-1)?.args).toEqual({ room: 'general', text: 'half a thought!' }), { timeout: 2000 });
  });
});

describe('connection banner', () => {
  test('reconnecting, retry now, bad token, and back to normal', async () => {
    const user = userEvent.setup();
    await renderChat();
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
    await send({ event: 'status', state: 'reconnecting', attempt: 2, delayMs: 4000, reason: 'the connection was lost' });
    const status = screen.getByRole('status');
    expect(status).toHaveTextContent('Offline: the connection was lost. Reconnecting in 4 s');
    expect(screen.getByRole('complementary', { name: 'People' })).toHaveTextContent('Online · 0');
    await user.click(within(status).getByRole('button', { name: 'Retry now' }));
    expect(called('reconnect_now')).toHaveLength(1);

    await send({ event: 'status', state: 'disconnected', reason: 'the server refused the connection: invalid token', cause: { kind: 'invalidToken' } });
    expect(screen.getByRole('alert')).toHaveTextContent('This server needs an access token');
    // The sentence is for people: a refusal that merely mentions a token is not this one.
    await send({ event: 'status', state: 'disconnected', reason: 'token bucket empty', cause: { kind: 'connectRefused' } });
    expect(screen.getByRole('alert')).toHaveTextContent('Disconnected: token bucket empty.');

    await send({ event: 'status', state: 'connected', compat: false });
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });
});
