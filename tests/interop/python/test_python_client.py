"""The real python-socketio client against a real charla-server process.

Proves that a native Python client with default options (no custom headers, no tuning) can
join, send a message and get its ack and broadcast, and receive another client's burst of 50
messages complete and in seq order: WebSocket-only, with default transports (HTTP
long-polling, then the upgrade to WebSocket, which must succeed), and polling only (where each
poll must hold at most 16 packets, the most python-engineio accepts). The server runs on a free
port on 127.0.0.1 with in-memory history and its default rate limit (the burst is 50 messages
from a fresh connection: exactly the default allowance of 10/s for five seconds), and must
exit 0 on SIGTERM. Owned names use rooms and a DM the same way.
"""

import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
from pathlib import Path

import socketio

REPO = Path(__file__).resolve().parents[3]
SERVER_BIN = os.environ.get('CHARLA_SERVER_BIN', str(REPO / 'target' / 'debug' / 'charla-server'))
TIMEOUT = 5.0
BURST = 50


def setUpModule():
    # requests (python-engineio's polling) would send even 127.0.0.1 through a proxy named in
    # the environment; this test's traffic stays on this machine.
    os.environ['no_proxy'] = ','.join(filter(None, [os.environ.get('no_proxy'), '127.0.0.1']))


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class Server:
    """One charla-server process: started on a free port, stopped by its PID with SIGTERM."""

    def __init__(self):
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        # A file, not a pipe: nobody reads stderr while the test runs, and a full pipe would
        # stall the server.
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [SERVER_BIN, '--port', str(self.port), '--db', ':memory:'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log)

    def wait_healthy(self):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f'charla-server exited with {self.process.returncode}:\n{self.log()}')
            try:
                with opener.open(f'{self.url}/healthz', timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass  # not listening yet
            time.sleep(0.05)
        raise AssertionError(f'charla-server did not answer /healthz within {TIMEOUT} s:\n{self.log()}')

    def stop(self):
        """Sends SIGTERM and returns the exit code (killing it if it does not exit in time)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=TIMEOUT)
                raise AssertionError(f'charla-server ignored SIGTERM for {TIMEOUT} s:\n{self.log()}')
        return self.process.returncode

    def log(self):
        """The end of what the server wrote to stderr."""
        self._log.seek(0)
        return self._log.read().decode('utf-8', 'replace')[-4000:]

    def close(self):
        self._log.close()


class Inbox:
    """What one client received: `message` events in arrival order, and why it disconnected."""

    def __init__(self):
        self._changed = threading.Condition()
        self.messages = []
        self.disconnects = []

    def on_message(self, message):
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def on_disconnect(self, reason=None):
        with self._changed:
            self.disconnects.append(reason)
            self._changed.notify_all()

    def wait_for(self, predicate, timeout=TIMEOUT):
        """Waits until `predicate(messages)` holds; says whether it did within `timeout`."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.messages), timeout)


class Cases:
    """The cases every transport mode must pass; subclasses choose `TRANSPORTS`."""

    TRANSPORTS = None
    TAG = ''

    def setUp(self):
        self.server = Server()
        self.addCleanup(self.server.close)
        self.addCleanup(self.stop_server)
        self.server.wait_healthy()

    def stop_server(self):
        code = self.server.stop()
        self.assertEqual(code, 0, f'charla-server exits cleanly on SIGTERM{self.server_log()}')

    def connect(self):
        """A connected `socketio.Client()` with default options and its inbox."""
        client = socketio.Client()
        inbox = Inbox()
        client.on('message', inbox.on_message)
        client.on('disconnect', inbox.on_disconnect)
        # Cleanups run last-in first-out: clients go before the server is stopped.
        self.addCleanup(client.shutdown)
        client.connect(self.server.url, transports=self.TRANSPORTS, wait_timeout=TIMEOUT)
        return client, inbox

    def join(self, client, username):
        answer = client.call('join', username, timeout=TIMEOUT)
        self.assertIs(answer.get('ok'), True, answer)
        return answer

    def context(self, client, inbox):
        return f'transport {client.transport()!r}, disconnects {inbox.disconnects}'

    def server_log(self):
        log = self.server.log()
        return f'\nserver log:\n{log}' if log else ''

    def test_join_answers_username_users_and_history(self):
        """`join` with an ack answers {ok: true, username, users, history}."""
        client, _ = self.connect()
        username = f'py-{self.TAG}'
        answer = self.join(client, username)
        self.assertEqual(answer['username'], username)
        self.assertIn(username, answer['users'])
        self.assertIsInstance(answer['history'], list)

    def test_owned_names_claim_refuse_and_link(self):
        """A key claims a free name; without it the name is refused `name_owned`; a link code
        from the owner lets a second device (its own key) in, listed once, as the owner."""
        owner, _ = self.connect()
        name = f'py-owner-{self.TAG}'
        claimed = owner.call('join', (name, {'key': secrets.token_hex(32)}), timeout=TIMEOUT)
        self.assertIs(claimed.get('owned'), True, claimed)
        stranger, _ = self.connect()
        refused = stranger.call('join', name, timeout=TIMEOUT)
        self.assertEqual(refused.get('error', {}).get('code'), 'name_owned', refused)
        link = owner.call('device-link', timeout=TIMEOUT)
        self.assertRegex(link.get('code', ''), r'^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$', link)
        second, _ = self.connect()
        linked = second.call('join', (name, {'key': secrets.token_hex(32), 'link': link['code']}), timeout=TIMEOUT)
        self.assertIs(linked.get('owned'), True, linked)
        self.assertEqual(linked['users'].count(name), 1, linked)

    def test_a_room_and_a_direct_message(self):
        """Owned names make and join a room, talk in it (a third client does not hear it), open
        a DM the third cannot read, move a read marker (every connection is told), and search."""
        names = [f'py-{who}-{self.TAG}' for who in ('ana', 'bo', 'eve')]
        clients = []
        for name in names:
            client, inbox = self.connect()
            joined = client.call('join', (name, {'key': secrets.token_hex(32)}), timeout=TIMEOUT)
            self.assertIs(joined.get('owned'), True, joined)
            self.assertEqual(joined['rooms'][0]['room'], 'general', joined)
            clients.append((client, inbox))
        (ana, _), (bo, bo_inbox), (eve, eve_inbox) = clients
        room = f'py-{self.TAG}'
        made = ana.call('room-create', {'room': room, 'topic': 'from python'}, timeout=TIMEOUT)
        self.assertEqual(made['room']['members'], [names[0]], made)
        entered = bo.call('room-join', {'room': room}, timeout=TIMEOUT)
        self.assertEqual(entered['room']['members'], names[:2], entered)
        sent = ana.call('chat-message', {'text': 'ship the wheel', 'room': room}, timeout=TIMEOUT)
        self.assertEqual((sent.get('ok'), sent.get('seq'), sent.get('room')), (True, 1, room), sent)
        heard = bo_inbox.wait_for(lambda messages: any(m.get('room') == room for m in messages))
        self.assertTrue(heard, f'bo got {bo_inbox.messages}{self.server_log()}')
        dm = eve.call('dm-open', {'username': names[0]}, timeout=TIMEOUT)
        self.assertEqual(dm['room']['kind'], 'dm', dm)
        eve.call('chat-message', {'text': 'a secret', 'room': dm['room']['room']}, timeout=TIMEOUT)
        refused = bo.call('history', {'room': dm['room']['room'], 'before': 10}, timeout=TIMEOUT)
        self.assertEqual(refused.get('error', {}).get('code'), 'no_such_room', refused)
        markers = []
        bo.on('read-marker', markers.append)
        self.assertEqual(bo.call('read', {'room': room, 'seq': 1}, timeout=TIMEOUT), {'ok': True})
        deadline = time.monotonic() + TIMEOUT
        while not markers and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(markers, [{'room': room, 'read': 1, 'unread': 0, 'mentions': 0}])
        time.sleep(1.5)  # messages are indexed for search once a second
        found = bo.call('search', {'query': 'wheel'}, timeout=TIMEOUT)
        self.assertEqual([(r['room'], r['seq']) for r in found['results']], [(room, 1)], found)
        self.assertEqual(bo.call('search', {'query': 'secret'}, timeout=TIMEOUT)['results'], [])
        self.assertFalse(any(m.get('room') == room for m in eve_inbox.messages), 'eve is not in the room')

    def test_chat_message_acks_and_echoes_same_id_and_seq(self):
        """`chat-message` is acked with {ok, id, seq, timestamp} and comes back with that id and seq."""
        client, inbox = self.connect()
        username = f'py-{self.TAG}'
        self.join(client, username)
        client_id = f'py-{self.TAG}-hola'
        ack = client.call('chat-message', {'text': 'hola', 'clientId': client_id}, timeout=TIMEOUT)
        self.assertIs(ack.get('ok'), True, ack)
        for key in ('id', 'seq', 'timestamp'):
            self.assertIn(key, ack)
        echoed = inbox.wait_for(lambda messages: any(m.get('id') == ack['id'] for m in messages))
        self.assertTrue(echoed, f'no message with id {ack["id"]}: {self.context(client, inbox)}{self.server_log()}')
        message = next(m for m in inbox.messages if m['id'] == ack['id'])
        self.assertEqual(message['seq'], ack['seq'])
        self.assertEqual(message['username'], username)
        self.assertEqual(message['text'], 'hola')
        self.assertEqual(message.get('clientId'), client_id)

    def test_burst_from_another_client_arrives_complete_and_in_order(self):
        """50 messages another client sends back to back all arrive, in order, with increasing seq."""
        receiver, inbox = self.connect()
        self.join(receiver, f'py-{self.TAG}')
        sender, sender_inbox = self.connect()
        sender_name = f'py-{self.TAG}-burst'
        self.join(sender, sender_name)

        # emit with a callback, not call: the 50 go out without waiting for acks, so the
        # server broadcasts them back to back and the receiver gets them in as few frames or
        # polling responses as the server chooses.
        acks = []
        acked = threading.Condition()

        def on_ack(answer):
            with acked:
                acks.append(answer)
                acked.notify_all()

        texts = [f'burst {i:02}' for i in range(BURST)]
        for i, text in enumerate(texts):
            sender.emit('chat-message', {'text': text, 'clientId': f'py-{self.TAG}-{i}'}, callback=on_ack)
        with acked:
            all_acked = acked.wait_for(lambda: len(acks) == BURST, TIMEOUT)

        def from_sender(messages):
            return [m for m in messages if m.get('username') == sender_name]

        complete = inbox.wait_for(lambda messages: len(from_sender(messages)) >= BURST)
        got = from_sender(inbox.messages)
        self.assertTrue(all_acked and complete,
                        f'the sender got {len(acks)} of {BURST} acks ({self.context(sender, sender_inbox)}); '
                        f'the receiver got {len(got)} of {BURST} messages ({self.context(receiver, inbox)})'
                        f'{self.server_log()}')
        refused = [a for a in acks if a.get('ok') is not True]
        self.assertEqual(refused, [], 'every message of the burst is accepted')
        self.assertEqual([m['text'] for m in got], texts, 'in the order sent')
        seqs = [m['seq'] for m in got]
        self.assertTrue(all(a < b for a, b in zip(seqs, seqs[1:])), f'seq strictly increasing: {seqs}')
        self.assertEqual(sorted(seqs), sorted(a['seq'] for a in acks), 'the seqs the sender was acked')


class WebSocketOnly(Cases, unittest.TestCase):
    """python-socketio with `transports=['websocket']`: websocket-client connects directly."""

    TRANSPORTS = ['websocket']
    TAG = 'ws'


class DefaultTransports(Cases, unittest.TestCase):
    """python-socketio with default transports: HTTP long-polling, then the upgrade."""

    TRANSPORTS = None
    TAG = 'default'

    def test_upgrades_to_websocket(self):
        """A default client that starts on polling ends on WebSocket."""
        client, inbox = self.connect()
        deadline = time.monotonic() + TIMEOUT
        while client.transport() != 'websocket' and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(client.transport(), 'websocket',
                         f'the upgrade succeeds: {self.context(client, inbox)}{self.server_log()}')


class PollingOnly(Cases, unittest.TestCase):
    """python-socketio with `transports=['polling']`: it never upgrades, so the burst arrives
    over polls, each of which python-engineio refuses if it holds more than 16 packets."""

    TRANSPORTS = ['polling']
    TAG = 'polling'


if __name__ == '__main__':
    unittest.main()
