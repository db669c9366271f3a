// The real JavaScript client (socket.io-client 4, the tutorial's browser client library)
// against a real charla-server process: with default transports (HTTP long-polling, then the
// upgrade to WebSocket) as the tutorial's page connects, and WebSocket-only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import { connected, once, startServer } from './harness.mjs';

const TUTORIAL_ORIGIN = 'http://localhost:5175';

let server;
before(async () => { server = await startServer(); });
after(async () => {
  const code = await server.stop();
  assert.equal(code, 0, 'the server exits cleanly on SIGTERM');
});

function client(options) {
  return io(server.url, { forceNew: true, reconnection: false, extraHeaders: { origin: TUTORIAL_ORIGIN }, ...options });
}

for (const [name, options] of [
  ['default transports (polling, then upgrade)', {}],
  ['websocket only', { transports: ['websocket'] }],
]) {
  describe(name, () => {
    test('join, user-joined, chat-message to all, acks, duplicate refused', async () => {
      const alice = client(options);
      const bob = client(options);
      const firstTransport = alice.io.engine.transport.name;
      try {
        await Promise.all([connected(alice), connected(bob)]);
        if (!options.transports) {
          assert.equal(firstTransport, 'polling', 'the tutorial page starts on polling');
          if (alice.io.engine.transport.name !== 'websocket') await once(alice.io.engine, 'upgrade');
          assert.equal(alice.io.engine.transport.name, 'websocket', 'and upgrades');
        }
        const tag = name.startsWith('default') ? 'p' : 'w';

        const aliceJoin = await alice.emitWithAck('join', `alice-${tag}`);
        assert.equal(aliceJoin.ok, true);
        assert.deepEqual(aliceJoin.users, [`alice-${tag}`]);

        const joined = once(alice, 'user-joined');
        bob.emit('join', `bob-${tag}`); // the tutorial's exact form: no ack
        // The tutorial's handler reads the first argument; the second marks a name nobody owns.
        assert.deepEqual(await joined, [`bob-${tag}`, { guest: true }]);

        const toAlice = once(alice, 'message');
        const toBob = once(bob, 'message');
        const ack = await alice.emitWithAck('chat-message', { username: `alice-${tag}`, text: 'hola', clientId: `c-${tag}` });
        assert.equal(ack.ok, true);
        for (const message of [await toAlice, await toBob]) {
          assert.equal(message.username, `alice-${tag}`);
          assert.equal(message.text, 'hola');
          assert.equal(message.id, ack.id);
          assert.equal(message.seq, ack.seq);
          assert.match(message.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          assert.equal(new Date(message.timestamp).toISOString(), message.timestamp, 'what JS Date serializes to');
        }

        const impostor = client(options);
        try {
          await connected(impostor);
          const refused = await impostor.emitWithAck('join', `ALICE-${tag}`);
          assert.deepEqual([refused.ok, refused.error.code], [false, 'username_taken']);
        } finally {
          impostor.close();
        }

        const left = once(alice, 'user-left');
        bob.close();
        assert.equal(await left, `bob-${tag}`);
      } finally {
        alice.close();
        bob.close();
      }
    });
  });
}

// The server has two transports: direct WebSocket connections are its own, polling (and
// upgraded polling) ones go through socketioxide. One room, one order, whichever way in.
test('polling, upgraded and websocket-only clients share one room and one order', async () => {
  const clients = {
    polling: client({ transports: ['polling'] }),
    upgraded: client({}),
    websocket: client({ transports: ['websocket'] }),
  };
  const all = Object.entries(clients);
  try {
    await Promise.all(all.map(([, c]) => connected(c)));
    if (clients.upgraded.io.engine.transport.name !== 'websocket') await once(clients.upgraded.io.engine, 'upgrade');
    for (const [name, c] of all) assert.equal((await c.emitWithAck('join', `mix-${name}`)).ok, true);
    const seen = Object.fromEntries(all.map(([name]) => [name, []]));
    for (const [name, c] of all) c.on('message', (m) => seen[name].push(`${m.seq}:${m.text}`));
    const acks = [];
    for (let i = 0; i < 20; i += 1) {
      for (const [name, c] of all) acks.push(c.emitWithAck('chat-message', { text: `${name} ${i}`, clientId: `mix-${name}-${i}` }));
    }
    for (const ack of await Promise.all(acks)) assert.equal(ack.ok, true);
    const until = Date.now() + 5000;
    while (Object.values(seen).some((s) => s.length < 60) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.polling.length, 60, 'the polling client got every message');
    assert.deepEqual(seen.upgraded, seen.polling, 'the upgraded client saw the same order');
    assert.deepEqual(seen.websocket, seen.polling, 'the websocket client saw the same order');
    const seqs = seen.polling.map((s) => Number(s.split(':')[0]));
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
  } finally {
    for (const [, c] of all) c.close();
  }
});

test('a page from another origin is refused, on polling and on websocket', async () => {
  for (const transports of [['polling'], ['websocket']]) {
    const evil = io(server.url, { forceNew: true, reconnection: false, transports, extraHeaders: { origin: 'http://evil.example' } });
    try {
      await assert.rejects(connected(evil), undefined, `origin refused over ${transports}`);
    } finally {
      evil.close();
    }
  }
});

// Rooms and a direct message, as any Socket.IO client uses them: owned names (a device key in
// the join), a room made and joined, its messages to its members only, a DM the third person
// cannot open, read markers, and search. One client on polling, one upgraded, one on websocket.
test('a room and a direct message, with read markers and search', async () => {
  const key = (c) => c.repeat(64);
  const ana = client({ transports: ['polling'] });
  const bo = client({});
  const eve = client({ transports: ['websocket'] });
  try {
    await Promise.all([connected(ana), connected(bo), connected(eve)]);
    for (const [c, name, k] of [[ana, 'ana-r', 'a'], [bo, 'bo-r', 'b'], [eve, 'eve-r', 'e']]) {
      const joined = await c.emitWithAck('join', name, { key: key(k) });
      assert.equal(joined.owned, true, `${name} owns its name`);
      assert.equal(joined.rooms[0].room, 'general');
    }
    const made = await ana.emitWithAck('room-create', { room: 'Interop', topic: 'from node' });
    assert.deepEqual([made.ok, made.room.room, made.room.members], [true, 'interop', ['ana-r']]);
    const memberJoined = once(ana, 'member-joined');
    const entered = await bo.emitWithAck('room-join', { room: 'interop' });
    assert.deepEqual(entered.room.members, ['ana-r', 'bo-r']);
    assert.deepEqual(await memberJoined, { room: 'interop', username: 'bo-r' });

    const eveGot = [];
    eve.on('message', (m) => eveGot.push(m));
    const toBo = once(bo, 'message');
    const sent = await ana.emitWithAck('chat-message', { text: 'hi @bo-r, release at 5', room: 'interop', clientId: 'r1' });
    assert.deepEqual([sent.ok, sent.seq, sent.room], [true, 1, 'interop']);
    const got = await toBo;
    assert.deepEqual([got.room, got.seq, got.mentions], ['interop', 1, ['bo-r']]);

    const dm = await eve.emitWithAck('dm-open', { username: 'ana-r' });
    assert.equal(dm.room.kind, 'dm');
    const secret = await eve.emitWithAck('chat-message', { text: 'psst', room: dm.room.room });
    assert.equal(secret.ok, true);
    const refused = await bo.emitWithAck('history', { room: dm.room.room, before: 10 });
    assert.deepEqual([refused.ok, refused.error.code], [false, 'no_such_room']);

    const marker = once(bo, 'read-marker');
    assert.deepEqual(await bo.emitWithAck('read', { room: 'interop', seq: 1 }), { ok: true });
    assert.deepEqual(await marker, { room: 'interop', read: 1, unread: 0, mentions: 0 });

    await new Promise((r) => setTimeout(r, 1500)); // indexed once a second
    const found = await bo.emitWithAck('search', { query: 'release' });
    assert.deepEqual(found.results.map((r) => [r.room, r.seq]), [['interop', 1]]);
    const none = await bo.emitWithAck('search', { query: 'psst' });
    assert.deepEqual(none.results, [], 'a DM of others is never found');
    assert.deepEqual(eveGot.filter((m) => m.room === 'interop'), [], 'eve is not in the room');
  } finally {
    for (const c of [ana, bo, eve]) c.close();
  }
});
