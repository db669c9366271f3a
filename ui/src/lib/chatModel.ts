// The shape of the chat as the window keeps it: every conversation, the open one, and what
// the reducer (chatState.ts) and its steps (chatSteps.ts) both read and write.
import type { ConnectionStatus, OutboxChange, OutboxEntry } from '../types';
import type { Conversation } from './conversations';

/** Where the "New messages" line goes: after `after`, the read marker when the conversation was opened. */
export interface Divider {
  room: string;
  after: number | null;
  /** The marker is not known yet: the line is placed when it comes. */
  pending: boolean;
}

/** The newest message from someone else that arrived in the open conversation (announced). */
export interface Arrival {
  room: string;
  username: string;
  text: string;
  /** Counts arrivals, so the same words said twice are announced twice. */
  n: number;
}

export interface ChatState {
  status: ConnectionStatus;
  me: string | null;
  /** This device owns the name (guests have `general` only). Not until the join says so. */
  owned: boolean;
  users: string[];
  /** Who of `users` has a name nobody owns (anyone could use it). */
  guests: Set<string>;
  conversations: Readonly<Record<string, Conversation>>;
  /** The open conversation. */
  current: string;
  /** The window is focused and visible: the open conversation is being read. */
  attentive: boolean;
  divider: Divider;
  arrival: Arrival | null;
  outbox: OutboxEntry[];
  /** Changes to messages (edits, deletions, reactions, pins) not sent yet, or refused. */
  changes: OutboxChange[];
  lastError: string | null;
  /** Bumped when the server's history starts over, so old and new seqs never share a key. */
  generation: number;
  /** A join's room states have come (the rooms this name is in are known). */
  roomsKnown: boolean;
}

