// The client's events for the component's lifetime; `onSubscribed` runs once listening, so a
// session started then misses nothing.
import { api } from '../api';
import type { ClientEvent } from '../types';
import { useTauriEvent } from './useTauriEvent';

export function useClientEvents(handler: (event: ClientEvent) => void, onSubscribed?: () => void): void {
  useTauriEvent(api.onClientEvent, handler, onSubscribed);
}
