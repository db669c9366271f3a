// The server's read marker moves at most once per interval per conversation: the first position
// of a burst is sent at once, the newest one shown at the burst's end. When the server's history
// starts over every throttle starts over too (its seqs mean other messages now), and the
// conversations that are gone are forgotten.
type Throttle = { last: number; seq: number; timer?: ReturnType<typeof setTimeout> };

export class ReadThrottles {
  private readonly rooms = new Map<string, Throttle>();

  constructor(
    private readonly send: (room: string, seq: number) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** `room` is read up to `seq`, the newest message shown. */
  mark(room: string, seq: number): void {
    let t = this.rooms.get(room);
    if (!t) {
      t = { last: -Infinity, seq };
      this.rooms.set(room, t);
    }
    t.seq = seq;
    if (t.timer !== undefined) return;
    const wait = t.last + this.intervalMs - this.now();
    if (wait <= 0) {
      t.last = this.now();
      this.send(room, seq);
      return;
    }
    const throttle = t;
    throttle.timer = setTimeout(() => {
      throttle.timer = undefined;
      throttle.last = this.now();
      this.send(room, throttle.seq);
    }, wait);
  }

  /** Forgets every conversation, sending nothing more (the history started over, or the end). */
  reset(): void {
    for (const t of this.rooms.values()) clearTimeout(t.timer);
    this.rooms.clear();
  }

  /** Forgets the conversations `keep` says no to (left, gone). */
  keepOnly(keep: (room: string) => boolean): void {
    for (const [room, t] of this.rooms) {
      if (keep(room)) continue;
      clearTimeout(t.timer);
      this.rooms.delete(room);
    }
  }

  /** The conversations with a throttle (for tests). */
  get size(): number {
    return this.rooms.size;
  }
}
