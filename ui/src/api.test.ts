import { afterEach, describe, expect, it } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { api, AppError, toAppError } from './api';

afterEach(() => {
  clearMocks();
});

describe('every rejection becomes an AppError', () => {
  it("keeps the app's own kind and message", async () => {
    mockIPC(() => {
      throw { kind: 'invalidServer', message: 'the scheme must be http, https, ws or wss' };
    });
    const error = await api.saveProfile('ana', 'ftp://x', null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ kind: 'invalidServer', message: 'the scheme must be http, https, ws or wss' });
  });

  it("marks Tauri's own refusals as ipc, whether a string or an Error", () => {
    expect(toAppError('command send_mesage not found')).toMatchObject({ kind: 'ipc', message: 'command send_mesage not found' });
    expect(toAppError(new Error('invalid args'))).toMatchObject({ kind: 'ipc', message: 'invalid args' });
    expect(toAppError({ kind: 5 })).toMatchObject({ kind: 'ipc' });
  });
});
