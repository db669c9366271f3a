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
        assert.equal(await joined, `bob-${tag}`);

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
