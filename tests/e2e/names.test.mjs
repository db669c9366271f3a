// Owned names end to end, with two real app windows on two "computers" (each its own config
// and data folders, and its own D-Bus session, so the single-instance guard sees two machines):
// the first claims "ana" at first run; the second is refused the same name, is linked with the
// code the first shows in Settings, and chats as the same person; a tutorial-style client's
// messages carry the guest mark; the second then forgets itself and is back at the first screen.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { io } from 'socket.io-client';
import { freePort } from '../interop/harness.mjs';
import { eventually, openApp, screenshot, startDisplay, startDriver, startServer, stopAll, tempDirs, track } from './harness.mjs';

let display;
let serverPort;
let first;
let second;
let bob;

/** A D-Bus session bus of its own (a second computer's), stopped with the others. */
function startBus() {
  const bus = track(spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'pipe'] }), 'dbus-daemon');
  return new Promise((resolve, reject) => {
    let out = '';
    bus.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('unix:'));
      if (line) resolve(line.trim());
    });
    bus.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code})`)));
  });
}

function computer(dirs, extra = {}) {
  return { DISPLAY: display, CHARLA_CONFIG_DIR: dirs.config, CHARLA_DATA_DIR: dirs.data, XDG_CONFIG_HOME: join(dirs.base, 'xdg'), WEBKIT_DISABLE_COMPOSITING_MODE: '1', ...extra };
}

before(async () => {
  display = await startDisplay();
  const one = tempDirs();
  const two = tempDirs();
  serverPort = await freePort();
  await startServer(serverPort, one.db);
  first = await startDriver(computer(one));
  second = await startDriver(computer(two, { DBUS_SESSION_BUS_ADDRESS: await startBus() }));
});

after(async () => {
  bob?.close();
  await stopAll();
});

const field = (b, label) => b.$(`//label[contains(., "${label}")]//input`);
const composer = (b) => b.$('textarea[aria-label="Message"]');
async function messageTexts(b) {
  const out = [];
  for (const m of await b.$$('[data-testid="message"]')) out.push(await m.getText());
  return out;
}

async function firstRun(b, username) {
  const name = await field(b, 'Username');
  await name.waitForDisplayed({ timeout: 20000 });
  await name.setValue(username);
  const server = await field(b, 'Server');
  await server.clearValue();
  await server.setValue(`ws://127.0.0.1:${serverPort}`);
  await (await b.$('button=Start chatting')).click();
}

test('a name is owned: refused elsewhere, linked with a code, one person on two computers', { timeout: 240_000 }, async () => {
  const laptop = await openApp(first.port);
  const desktop = await openApp(second.port);
  try {
    // The first computer claims "ana" just by choosing it.
    await firstRun(laptop, 'ana');
    await (await composer(laptop)).waitForDisplayed({ timeout: 20000 });
    const probe = io(`http://127.0.0.1:${serverPort}`, { transports: ['websocket'] });
    const refused = await probe.emitWithAck('join', 'ana');
    probe.close();
    assert.equal(refused.error?.code, 'name_owned', 'the tutorial form cannot take an owned name');

    // The second computer is refused the same name.
    await firstRun(desktop, 'ana');
    const notice = await desktop.$('[data-testid="name-refused"]');
    await notice.waitForDisplayed({ timeout: 20000 });
    assert.match(await notice.getText(), /belongs to someone else/);
    await screenshot(desktop, 'names-01-second-computer-refused');

    // The first shows a link code in Settings.
    await (await laptop.$('button[aria-label="Settings"]')).click();
    await (await laptop.$('//button[normalize-space()="Show a link code"]')).click();
    const codeElement = await laptop.$('[data-testid="link-code"]');
    await codeElement.waitForDisplayed({ timeout: 10000 });
    await codeElement.scrollIntoView();
    const code = (await codeElement.getText()).trim();
    assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    await screenshot(laptop, 'names-02-link-code');
    await (await laptop.$('button=Cancel')).click().catch(() => laptop.keys('Escape'));

    // The second types it and joins as ana.
    assert.equal(await (await field(desktop, 'Username')).getValue(), 'ana', 'the form comes back filled in');
    await (await field(desktop, 'Link code')).setValue(code.toLowerCase());
    await (await desktop.$('button=Start chatting')).click();
    await (await composer(desktop)).waitForDisplayed({ timeout: 20000 });

    // One person on two computers: listed once, each sees what the other sends as its own.
    bob = io(`http://127.0.0.1:${serverPort}`, { transports: ['websocket'] });
    bob.on('connect', () => bob.emit('join', 'bob'));
    const seen = [];
    bob.on('message', (m) => seen.push(m));
    await eventually(async () => (await (await desktop.$('aside')).getText()).includes('bob'), 'bob online on the second computer');
    const people = [];
    for (const item of await desktop.$$('aside li')) people.push(await item.getText());
    assert.equal(people.filter((p) => p.startsWith('ana')).length, 1, `ana listed once: ${people}`);
    assert.equal(people.length, 2, `ana and bob: ${people}`);

    await (await composer(desktop)).setValue('from the second computer');
    await desktop.keys('Enter');
    await eventually(() => seen.find((m) => m.text === 'from the second computer' && m.username === 'ana'), 'bob gets it from ana');
    const own = await eventually(async () => {
      for (const m of await laptop.$$('[data-testid="message"]')) {
        if ((await m.getText()).includes('from the second computer')) return m;
      }
      return null;
    }, 'the laptop shows it');
    assert.match(await own.getAttribute('class'), /\bown\b/, 'shown as her own message, not someone else\'s');

    // bob joined the tutorial's way: nobody owns his name, and his messages say so.
    bob.emit('chat-message', { username: 'bob', text: 'hello, I am a guest' });
    const guestMessage = await eventually(async () => {
      for (const m of await desktop.$$('[data-testid="message"]')) {
        if ((await m.getText()).includes('hello, I am a guest')) return m;
      }
      return null;
    }, 'the guest message shows');
    assert.ok(await (await guestMessage.$('.guest-mark')).isExisting(), 'a guest mark on bob\'s message');
    assert.ok((await messageTexts(laptop)).some((t) => t.includes('hello, I am a guest')));
    await screenshot(desktop, 'names-03-linked-and-chatting');

    // The second computer forgets itself: back to the first screen; the name stays the laptop's.
    await (await desktop.$('button[aria-label="Settings"]')).click();
    const forget = await desktop.$('//button[normalize-space()="Forget this device"]');
    await forget.scrollIntoView();
    await forget.click();
    await (await desktop.$('//button[normalize-space()="Yes, forget this device"]')).click();
    // Looked up inside the wait: the page is being replaced, and a handle taken too early can
    // go stale before its text is read (seen once, on a warm run).
    await eventually(
      async () => (await (await desktop.$('h1#profile-title')).getText()) === 'Welcome to Charla',
      'back to the first screen',
    );
    assert.equal(await (await field(desktop, 'Username')).getValue(), '', 'no name saved any more');
    await eventually(async () => {
      const items = [];
      for (const item of await laptop.$$('aside li')) items.push(await item.getText());
      return items.some((i) => i.startsWith('ana')) && items.length === 2;
    }, 'ana still online on the laptop, with bob');
    await screenshot(desktop, 'names-04-forgotten');
  } finally {
    await laptop.deleteSession().catch((e) => console.error(`closing the first app: ${e.message}`));
    await desktop.deleteSession().catch((e) => console.error(`closing the second app: ${e.message}`));
  }
});
